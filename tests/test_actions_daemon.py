"""daemon.json actions against the harness dockerd's own config file, and read-only mode."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from actions import guard
from actions.daemon_config import daemon_status, set_daemon_key, set_debug
from inspectors.daemon_keys import check_value
from actions.guard import ReadOnlyError
from actions.networks import NetworkSpec, connect, create_network, disconnect, remove_network
from actions.validate import ActionError, ValidationFailed
from inspectors.config import Settings
from inspectors.daemon import find_daemon, parse_flags
from inspectors.model import DaemonProcess
from tests.harness import IMAGE
from tests.helpers import engine_info as _info

pytestmark = pytest.mark.engine


def _wait_debug(daemon, value: bool, timeout: float = 10) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if _info(daemon).get("Debug") == value:
                return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


def _backups(daemon) -> set[str]:
    d = daemon.config_file.parent
    return {f for f in os.listdir(d) if f.startswith(daemon.config_file.name + ".bak.")}


@pytest.fixture(autouse=True)
def _writable():
    guard.set_read_only(False)
    yield
    guard.set_read_only(False)


@pytest.fixture
def cfg(daemon):
    """Saves the harness daemon.json (bytes and mode) and puts it back, with debug off."""
    path = daemon.config_file
    raw, mode = path.read_bytes(), os.stat(path).st_mode & 0o7777
    baks = _backups(daemon)
    yield path
    for b in _backups(daemon) - baks:
        os.unlink(daemon.config_file.parent / b)
    if daemon.pid() is None:  # a test left it stopped
        path.write_bytes(raw)
        daemon.restart()
    if _info(daemon).get("Debug"):
        # a reload leaves keys absent from the file as they are: say false explicitly
        path.write_text(json.dumps({**json.loads(raw or b"{}"), "debug": False}))
        os.kill(daemon.pid(), signal.SIGHUP)
        assert _wait_debug(daemon, False)
    path.write_bytes(raw)
    os.chmod(path, mode)


S = Settings()  # no reload/restart command: SIGHUP, and no restart known


# --------------------------------------------------------------------------- debug + reload


def test_debug_on_then_off_with_reload_keeps_the_rest_of_the_file(daemon, cfg):
    cfg.write_text('{\n    "labels": ["dockscope-test=1"],\n    "max-concurrent-uploads": 4\n}\n')
    os.chmod(cfg, 0o600)
    before = cfg.read_bytes()
    log_offset = daemon.log_file.stat().st_size
    assert _info(daemon)["Debug"] is False

    res = set_debug(True, engine_host=daemon.host, settings=S)
    assert res.ok and res.confirmed and res.applied == "reload" and res.written
    assert _info(daemon)["Debug"] is True
    # every other key, the key order, the indentation and the mode are kept
    # only the bytes of the key change: the inline array stays inline
    assert cfg.read_text() == (
        '{\n    "labels": ["dockscope-test=1"],\n'
        '    "max-concurrent-uploads": 4,\n    "debug": true\n}\n'
    )
    assert list(json.loads(cfg.read_text())) == ["labels", "max-concurrent-uploads", "debug"]
    assert os.stat(cfg).st_mode & 0o7777 == 0o600
    # the backup holds the previous bytes
    assert res.backup and open(res.backup, "rb").read() == before
    assert res.command.endswith(f"kill -HUP {find_daemon(daemon.host).pid}")
    assert "debug (absent) -> true" in res.changed[0]
    # dockerd now logs at debug level
    deadline = time.time() + 10
    text = ""
    while time.time() < deadline:
        _info(daemon)
        with open(daemon.log_file, "rb") as fh:
            fh.seek(log_offset)
            text = fh.read().decode(errors="replace")
        if "level=debug" in text:
            break
        time.sleep(0.3)
    assert "level=debug" in text

    res2 = set_debug(False, engine_host=daemon.host, settings=S)
    assert res2.ok and res2.confirmed
    assert _info(daemon)["Debug"] is False
    assert json.loads(cfg.read_text()) == {
        "labels": ["dockscope-test=1"],
        "max-concurrent-uploads": 4,
        "debug": False,
    }
    # undo of the second change puts debug back on
    assert res2.undo_command and "'.debug = true'" in res2.undo_command


def test_status_reports_file_running_state_and_methods(daemon, cfg):
    st = daemon_status(engine_host=daemon.host, settings=S)
    assert st.pid == daemon.pid()
    assert st.config_file == str(daemon.config_file)
    assert st.running_debug is False and st.flag_conflicts == []
    assert st.reload_method == f"kill -HUP {st.pid}"
    assert st.restart_method is None  # started by hand here: no restart works
    assert "started by hand" in st.supervised_by and "restart_command" in st.restart_advice
    assert st.live_restore is False
    assert st.log_source == f"file:{daemon.log_file}"


def test_invalid_daemon_json_is_left_untouched(daemon, cfg):
    bad = b'{\n  "debug": false,\n  "labels": [\n}\n'
    cfg.write_bytes(bad)
    mtime = os.stat(cfg).st_mtime_ns
    baks = _backups(daemon)
    with pytest.raises(ActionError) as ei:
        set_debug(True, engine_host=daemon.host, settings=S)
    assert "line 4 column 1" in ei.value.detail
    assert "left untouched" in ei.value.detail
    assert cfg.read_bytes() == bad and os.stat(cfg).st_mtime_ns == mtime
    assert _backups(daemon) == baks
    assert daemon_status(engine_host=daemon.host, settings=S).config_error.endswith(
        "line 4 column 1: Expecting value"
    )


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b"\xff\xfe"])
def test_a_bom_is_refused_and_the_file_left_untouched(daemon, cfg, bom):
    raw = bom + '{"labels": ["x=1"]}'.encode("utf-8" if len(bom) == 3 else "utf-16-le")
    cfg.write_bytes(raw)
    baks = _backups(daemon)
    with pytest.raises(ActionError, match="byte-order mark") as ei:
        set_debug(True, engine_host=daemon.host, settings=S, apply=None)
    assert "line 1 column 1" in ei.value.detail
    assert cfg.read_bytes() == raw and _backups(daemon) == baks
    assert not [f for f in os.listdir(cfg.parent) if f.startswith(".daemon.json")]


def test_rewrite_changes_only_the_bytes_of_the_debug_key(daemon, cfg):
    before = (
        b'{\r\n  "dns" : ["192.0.2.1","192.0.2.2"],\r\n  "labels": ["caf\\u00e9=1"],'
        b'\r\n  "debug":false ,\r\n  "max-concurrent-uploads": 4\r\n}\r\n'
    )
    cfg.write_bytes(before)
    res = set_debug(True, engine_host=daemon.host, settings=S, apply=None)
    assert res.written
    assert cfg.read_bytes() == before.replace(b'"debug":false', b'"debug":true')
    cfg.write_bytes(b'{"labels":["caf\\u00e9=1"]}')  # absent: appended in the file's own style
    set_debug(False, engine_host=daemon.host, settings=S, apply=None)
    assert cfg.read_bytes() == b'{"labels":["caf\\u00e9=1"],"debug":false}'


def test_unknown_key_and_wrong_type_refused_by_the_key_table(daemon, cfg):
    before = cfg.read_bytes()
    with pytest.raises(ValidationFailed, match="don't match any configuration option"):
        set_daemon_key("no-such-option", 1, engine_host=daemon.host, settings=S)
    with pytest.raises(ValidationFailed, match="must be true or false"):
        set_daemon_key("debug", "yes", engine_host=daemon.host, settings=S)
    # per engine version: this 20.10 engine does not know nri-opts (29.0)
    with pytest.raises(ValidationFailed, match="not known to this engine"):
        set_daemon_key("nri-opts", {}, engine_host=daemon.host, settings=S, apply=None)
    assert cfg.read_bytes() == before


def test_key_table_units():
    from inspectors.daemon_keys import key_info, unknown_keys

    assert check_value("debug", True) is None
    assert "one of" in check_value("log-level", "verbose")
    assert "strings" in check_value("log-opts", {"max-file": 3})
    assert "key=value" in check_value("labels", ["nolabel"])
    assert key_info("network-diagnostic-port").reloadable
    assert key_info("nri-opts", "29.1.0").known and key_info("nri-opts", "29.1.0").reloadable
    assert not key_info("nri-opts", "20.10.24").known
    assert (
        not key_info("cluster-store", "24.0.0").known and key_info("cluster-store", "20.10").known
    )
    assert not key_info("bip").reloadable
    assert unknown_keys({"debug": 1, "registry-mirror": []}) == [
        ("registry-mirror", "not a daemon.json option")
    ]


# --------------------------------------------------------------------------- refusals


def test_flag_conflict_detection_unit(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{}\n")
    for argv in (["-D"], ["--debug"], ["--debug=false"]):
        d = DaemonProcess(pid=os.getpid(), flags=parse_flags(argv), config_file=str(path))
        with pytest.raises(ActionError) as ei:
            set_debug(True, daemon=d, settings=S, apply=None)
        assert ei.value.title == "flag conflict"
        assert "--debug" in ei.value.detail and "'debug'" in ei.value.detail
        assert path.read_text() == "{}\n"
    # a key already in the file that a flag also sets: a reload would fail, refuse
    path.write_text('{"bridge": "br0"}\n')
    d = DaemonProcess(
        pid=os.getpid(), flags=parse_flags(["--bridge", "br1"]), config_file=str(path)
    )
    with pytest.raises(ActionError, match="already conflicts"):
        set_debug(True, daemon=d, settings=S, apply=None)
    assert path.read_text() == '{"bridge": "br0"}\n'


def test_flag_conflict_on_a_real_dockerd_started_with_D(daemon, cfg, tmp_path):
    import subprocess

    before = cfg.read_bytes()
    # started from outside the harness (like an init script would), with -D
    script = daemon.restart_script(tmp_path / "restart-with-D.sh", extra_args=["-D"])
    subprocess.run([script], check=True, timeout=120)
    daemon.adopt()
    external = daemon.pid()
    try:
        d = find_daemon(daemon.host)
        assert "--debug" in d.flags
        with pytest.raises(ActionError) as ei:
            set_debug(False, engine_host=daemon.host, settings=S)
        assert ei.value.title == "flag conflict"
        assert cfg.read_bytes() == before
        st = daemon_status(engine_host=daemon.host, settings=S)
        assert st.flag_conflicts and st.running_debug is True
    finally:
        daemon.restart()  # the harness stops a dockerd it did not spawn (pidfile)
    assert _info(daemon)["Debug"] is False
    assert daemon.pid() != external
    assert not os.path.exists(f"/proc/{external}") or open(f"/proc/{external}/stat").read().rsplit(
        ") ", 1
    )[-1].startswith("Z")


# --------------------------------------------------------------------------- roll-back


def test_failed_reload_command_restores_the_backup(daemon, cfg):
    before = cfg.read_bytes()
    res = set_debug(True, engine_host=daemon.host, settings=Settings(reload_command="false"))
    assert not res.ok and res.rolled_back and res.written
    assert "reload failed: 'false' exited with status 1" in res.message
    assert cfg.read_bytes() == before
    assert open(res.backup, "rb").read() == before
    assert res.log_tail  # the daemon log's last lines are reported
    assert res.undo is None
    assert _info(daemon)["Debug"] is False


def test_config_the_daemon_rejects_on_reload_is_rolled_back(daemon, cfg):
    before = cfg.read_bytes()
    t = time.time()
    res = set_daemon_key("max-concurrent-downloads", -5, engine_host=daemon.host, settings=S)
    assert not res.ok and res.rolled_back
    assert "invalid max concurrent downloads: -5" in res.message
    assert time.time() - t < 8  # seen in the log, not by a timeout
    assert cfg.read_bytes() == before


def test_unconfirmed_reload_times_out_and_rolls_back(daemon, cfg):
    before = cfg.read_bytes()
    res = set_debug(
        True, engine_host=daemon.host, settings=Settings(reload_command="true"), confirm_timeout=2
    )
    assert not res.ok and res.rolled_back
    assert "not confirmed within 2 s" in res.message
    assert cfg.read_bytes() == before


def test_failed_restart_command_restores_the_backup(daemon, cfg):
    before = cfg.read_bytes()
    pid = daemon.pid()
    res = set_debug(
        True,
        engine_host=daemon.host,
        apply="restart",
        settings=Settings(restart_command="exit 3"),
        restart_timeout=5,
    )
    assert not res.ok and res.rolled_back and res.applied == "restart"
    assert "restart failed: 'exit 3' exited with status 3" in res.message
    assert cfg.read_bytes() == before
    assert daemon.pid() == pid


def test_restart_without_a_known_command_is_refused(daemon, cfg):
    before = cfg.read_bytes()
    with pytest.raises(ActionError, match="started by hand") as ei:
        set_debug(True, engine_host=daemon.host, apply="restart", settings=S)
    assert "restart_command" in ei.value.detail
    assert cfg.read_bytes() == before


# --------------------------------------------------------------------------- restart by command


def test_restart_through_the_configured_command(daemon, cfg, tmp_path):
    script = daemon.restart_script(tmp_path / "restart-dockerd.sh")
    old_pid = daemon.pid()
    res = set_debug(
        True, engine_host=daemon.host, apply="restart", settings=Settings(restart_command=script)
    )
    assert res.ok and res.confirmed and res.applied == "restart", res.message
    assert res.command.endswith(f"&& {script}")
    daemon.adopt()
    new_pid = daemon.pid()
    assert new_pid and new_pid != old_pid
    assert daemon.proc.pid == new_pid and daemon.proc.poll() is None
    assert _info(daemon)["Debug"] is True
    assert json.loads(cfg.read_text())["debug"] is True


# --------------------------------------------------------------------------- read-only


def test_read_only_makes_no_engine_call_and_writes_nothing(
    daemon, cfg, uniq, monkeypatch, tmp_path, capsys
):
    client = daemon.client()
    net = f"ro-{uniq}"
    made = create_network(client, NetworkSpec(name=net))
    daemon.docker("run", "-d", "--name", f"roc-{uniq}", "--network", net, IMAGE, "sleep", "600")
    daemon.docker("run", "-d", "--name", f"rod-{uniq}", IMAGE, "sleep", "600")
    try:
        snap = (cfg.read_bytes(), os.stat(cfg).st_mtime_ns, sorted(os.listdir(cfg.parent)))
        time.sleep(1.1)
        t0 = time.time_ns()
        guard.set_read_only(True, "test")
        calls = {
            "create": lambda: create_network(client, NetworkSpec(name=f"ro2-{uniq}")),
            "connect": lambda: connect(client, net, f"rod-{uniq}", aliases=["a"]),
            "disconnect": lambda: disconnect(client, net, f"roc-{uniq}"),
            "rm": lambda: remove_network(client, net, force=True),
            "undo": lambda: made.undo(),
            "debug": lambda: set_debug(True, engine_host=daemon.host, settings=S),
            "key": lambda: set_daemon_key("labels", ["a=b"], engine_host=daemon.host, settings=S),
            "restart": lambda: set_debug(
                True,
                engine_host=daemon.host,
                apply="restart",
                settings=Settings(restart_command="true"),
            ),
        }
        for name, call in calls.items():
            with pytest.raises(ReadOnlyError) as ei:
                call()
            assert "read-only" in str(ei.value), name
        # the CLI: settings read_only (env) and --read-only, exit 2
        from tui.cli import main

        monkeypatch.setenv("DOCKER_HOST", daemon.host)
        monkeypatch.setenv("DOCKSCOPE_CONFIG", str(tmp_path / "none.json"))
        monkeypatch.setenv("DOCKSCOPE_READ_ONLY", "1")
        assert main(["daemon", "debug", "on"]) == 2
        assert main(["network", "rm", "-f", net]) == 2
        monkeypatch.delenv("DOCKSCOPE_READ_ONLY")
        assert main(["--read-only", "network", "connect", net, f"rod-{uniq}"]) == 2
        assert main(["--read-only", "daemon", "debug", "on", "--restart", "--yes"]) == 2
        assert "read-only" in capsys.readouterr().err
        time.sleep(1.1)
        t1 = time.time()
        events = [
            e
            for e in client.events(since=int(t0 // 1e9), until=int(t1) + 1, decode=True)
            if int(e.get("timeNano") or 0) >= t0
        ]
        assert events == []
        assert (cfg.read_bytes(), os.stat(cfg).st_mtime_ns, sorted(os.listdir(cfg.parent))) == snap
        assert _info(daemon)["Debug"] is False
        # the events check can fail: the same calls, writable, do produce events
        guard.set_read_only(False)
        disconnect(client, net, f"roc-{uniq}")
        t2 = time.time()
        assert [
            e
            for e in client.events(since=int(t1), until=int(t2) + 1, decode=True)
            if e.get("Type") == "network" and e.get("Action") == "disconnect"
        ]
    finally:
        guard.set_read_only(False)
        daemon.docker("rm", "-f", f"roc-{uniq}", f"rod-{uniq}", check=False)
        daemon.docker("network", "rm", net, check=False)
        client.close()


# --------------------------------------------------------------------------- CLI


def test_cli_daemon_debug_and_status(daemon, cfg, monkeypatch, tmp_path, capsys):
    from tui.cli import main

    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    monkeypatch.setenv("DOCKSCOPE_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.delenv("DOCKSCOPE_READ_ONLY", raising=False)
    assert main(["daemon", "status"]) == 0
    out = capsys.readouterr().out
    assert f"config file:       {daemon.config_file}" in out and "debug (running):   off" in out
    # no terminal and no --yes: one line, exit 2, nothing changed
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    before = cfg.read_bytes()
    assert main(["daemon", "debug", "on"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --yes" in err and "nothing was changed" in err
    assert cfg.read_bytes() == before and _info(daemon)["Debug"] is False
    assert main(["daemon", "debug", "on", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "debug is now true (reload confirmed by the engine)" in out
    assert _info(daemon)["Debug"] is True
    # no restart works for a dockerd started by hand: refused before anything
    assert main(["daemon", "debug", "off", "--restart", "--yes"]) == 2
    assert "started by hand" in capsys.readouterr().err
    # with a configured one, a restart still needs --yes when nobody can be asked
    monkeypatch.setenv("DOCKSCOPE_RESTART_COMMAND", "false")
    assert main(["daemon", "debug", "off", "--restart"]) == 2
    assert "pass --yes" in capsys.readouterr().err
    monkeypatch.delenv("DOCKSCOPE_RESTART_COMMAND")
    assert main(["daemon", "debug", "off", "--yes"]) == 0
    assert _info(daemon)["Debug"] is False
    # an invalid file: exit 2 with line/column
    cfg.write_text('{"debug": tru}\n')
    assert main(["daemon", "debug", "on", "--yes"]) == 2
    assert "line 1 column 11" in capsys.readouterr().err


def test_debug_toggle_backup_is_0600_and_undo_speaks_json(daemon, cfg):
    """Walk L6 + 10: the backup is a file we create (0600 even when daemon.json is
    0644), and the undo description says false/true, never Python's None/True."""
    cfg.write_text('{\n    "labels": ["dockscope-test=1"]\n}\n')
    os.chmod(cfg, 0o644)
    res = set_debug(True, engine_host=daemon.host, settings=S)
    assert res.ok and res.backup
    assert os.stat(res.backup).st_mode & 0o7777 == 0o600
    assert os.stat(cfg).st_mode & 0o7777 == 0o644  # the config keeps its own mode
    assert res.undo_description == "set debug back to false (it was absent)"
    res = set_debug(False, engine_host=daemon.host, settings=S)
    assert res.ok and res.undo_description == "set debug back to true"
    assert os.stat(res.backup).st_mode & 0o7777 == 0o600
    for r in (res.undo_description,):
        assert "None" not in r and "True" not in r
