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
