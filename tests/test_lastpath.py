"""Walk 2: the last `path` is remembered per engine (a path asked of other engines is
never drawn on this engine's map), and tests never touch the real home."""

from __future__ import annotations

import json
import os

import pytest

from inspectors.topology import last_path_file, load_last_path, save_last_path
from tests.helpers import run_cli

PATH = {"src": "ma", "dst": "mb", "verdict": "unreachable", "hops": []}


def test_tests_use_a_private_xdg_home():
    home = os.path.realpath(os.path.expanduser("~"))
    for key in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        d = os.path.realpath(os.environ[key])
        assert not d.startswith(home + os.sep), (key, d)
    assert not last_path_file("x").startswith(home + os.sep)


def test_last_path_is_per_engine():
    a, b = "unix:///run/ha-a.sock", "unix:///run/ha-b.sock"
    save_last_path(PATH, [a, "ssh://root@10.0.0.2"])
    assert load_last_path([a, "ssh://root@10.0.0.2"]) == PATH
    assert load_last_path(a) is None  # one engine of the set is not the set
    assert load_last_path(b) is None
    save_last_path(PATH, b)
    assert load_last_path(b) == PATH
    # a file that does not say whose it is (the old format) is ignored
    with open(last_path_file(a), "w") as f:
        json.dump(PATH, f)
    assert load_last_path(a) is None
    assert os.stat(last_path_file(b)).st_mode & 0o777 == 0o600


@pytest.mark.engine
def test_this_hosts_map_ignores_another_engines_path(daemon):
    save_last_path(PATH, ["ssh://root@10.99.0.2", "ssh://root@10.99.0.3"])
    r = run_cli("map", "--width", "200", env=daemon.env(), timeout=120)
    assert r.returncode in (0, 1), r.stderr
    assert "last path" not in r.stdout
    save_last_path(PATH, daemon.host)
    r = run_cli("map", "--width", "200", env=daemon.env(), timeout=120)
    assert "last path: ma -> mb: unreachable" in r.stdout, r.stdout[-2000:]


def test_console_choices_go_through_the_private_writer(tmp_path, monkeypatch):
    """Every file dockscope writes goes through actions.files.write_private: 0600,
    never through (or over) a symlink."""
    from tui.settings import load_ui, save_ui, ui_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert save_ui(theme="nord") and load_ui() == {"theme": "nord"}
    assert os.stat(ui_path()).st_mode & 0o777 == 0o600
    os.unlink(ui_path())
    victim = tmp_path / "victim"
    victim.write_text("{}")
    os.symlink(victim, ui_path())
    assert save_ui(theme="x") is False
    assert os.path.islink(ui_path()) and victim.read_text() == "{}"
