"""The core stays UI-free, and short CLI paths stay light."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _modules(pkg: str) -> list[str]:
    return [f"{pkg}.{m.name}" for m in pkgutil.iter_modules([os.path.join(ROOT, pkg)])]


def _imported_after(code: str) -> set[str]:
    r = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return set(r.stdout.split())


def test_inspectors_and_actions_never_import_textual():
    mods = _modules("inspectors") + _modules("actions")
    assert "inspectors.snapshot" in mods
    code = "\n".join(f"import {m}" for m in mods)
    loaded = _imported_after(code)
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_cli_parsing_imports_no_heavy_modules():
    loaded = _imported_after("from tui.cli import build_parser\nbuild_parser()")
    heavy = {"textual", "docker", "pyroute2", "psutil", "requests"}
    assert not (heavy & {m.split(".")[0] for m in loaded})


def test_the_textual_hygiene_check_can_fail():
    """The check above really sees Textual when something imports it."""
    loaded = _imported_after("import textual.app")
    assert "textual" in loaded


def test_the_consoles_start_up_parses_without_the_sub_commands_or_a_metadata_scan():
    """`dockscope` (no command) parses its options with the top-level parser only,
    and --version is looked up only when asked (bench/startup: ~90 ms of a first
    frame of ~250 ms); a command still gets the full parser."""
    code = (
        "import tui.cli\n"
        "def fake_run(args):\n"
        "    print('COMMAND', args.command, args.host, args.read_only)\n"
        "    return 0\n"
        "tui.cli._run = fake_run\n"
        "tui.cli.main(['-H', 'unix:///nowhere.sock', '--read-only'])\n"
    )
    loaded = _imported_after(code)
    assert not {m for m in loaded if m.startswith("tui.cli_") and m != "tui.cli_cluster"}
    assert "importlib.metadata" not in loaded
    loaded = _imported_after(code.replace("'--read-only'", "'--read-only', 'doctor'"))
    assert "tui.cli_doctor" in loaded


_ALLOC_PROBE = (
    "import os, sys\n"
    "from tui.cli import console_allocator\n"
    "print('start', flush=True)\n"
    "console_allocator()\n"
    "sys._debugmallocstats()\n"  # pymalloc's arenas on stderr; nothing of them on malloc
    "env = open('/proc/self/environ', 'rb').read().split(b'\\0')\n"
    "print(os.environ.get('PYTHONMALLOC'), os.environ.get('MALLOC_ARENA_MAX'),\n"
    "      os.environ.get('DOCKSCOPE_CONSOLE_ALLOCATOR'), b'PYTHONMALLOC=malloc' in env)\n"
)


def _alloc_probe(**env: str) -> tuple[list[str], str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONMALLOC", "MALLOC_ARENA_MAX", "DOCKSCOPE_CONSOLE_ALLOCATOR")
    }
    r = subprocess.run(
        [sys.executable, "-c", _ALLOC_PROBE],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines(), r.stderr


def test_the_console_runs_on_the_c_allocator_and_gives_the_environment_back():
    """console_allocator (tui/cli.py, called by main() for the console): one re-exec
    of the same interpreter and argv with PYTHONMALLOC=malloc, MALLOC_ARENA_MAX=2; the
    new process runs on malloc (no pymalloc arenas) and its children get the user's
    environment (the variables are gone from os.environ)."""
    out, err = _alloc_probe()
    assert out == ["start", "start", "None None None True"]  # ran twice: one re-exec
    assert "arenas allocated" not in err
    # the user's MALLOC_ARENA_MAX is theirs: kept, not replaced
    out, _ = _alloc_probe(MALLOC_ARENA_MAX="4")
    assert out[-1] == "None 4 None True"
    # a PYTHONMALLOC the user set wins: no re-exec, pymalloc's arenas, nothing removed
    out, err = _alloc_probe(PYTHONMALLOC="pymalloc")
    assert out == ["start", "pymalloc None None False"]
    assert "arenas allocated" in err
