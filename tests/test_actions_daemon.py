"""daemon.json actions against the harness dockerd's own config file, and read-only mode."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from actions import guard
from actions.daemon_config import (
    check_value,
    daemon_status,
    render_config,
    set_daemon_key,
    set_debug,
    validate_supported,
)
from actions.guard import ReadOnlyError
from actions.networks import NetworkSpec, connect, create_network, disconnect, remove_network
from actions.validate import ActionError, ValidationFailed
from inspectors.config import Settings
from inspectors.daemon import find_daemon, parse_flags
from inspectors.model import DaemonProcess
from tests.harness import IMAGE

pytestmark = pytest.mark.engine


def _info(daemon) -> dict:
    c = daemon.client()
    try:
        return c.info()
    finally:
        c.close()


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
    assert cfg.read_text() == (
        '{\n    "labels": [\n        "dockscope-test=1"\n    ],\n'
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
    assert st.restart_method is None  # not run by systemd, no restart_command
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


@pytest.mark.parametrize("bom, codec", [(b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le")])
def test_bom_and_utf16_files_keep_their_encoding(daemon, cfg, bom, codec):
    cfg.write_bytes(bom + '{"labels": ["x=1"], "max-concurrent-uploads": 4}'.encode(codec))
    res = set_debug(True, engine_host=daemon.host, settings=S, apply=None)
    assert res.written and res.applied is None
    raw = cfg.read_bytes()
    assert raw.startswith(bom)
    text = raw[len(bom) :].decode(codec)
    assert text == '{"labels": ["x=1"], "max-concurrent-uploads": 4, "debug": true}'
    assert _info(daemon)["Debug"] is False  # written only


def test_unknown_key_and_wrong_type_refused_by_the_fallback_checks(daemon, cfg):
    before = cfg.read_bytes()
    if validate_supported(find_daemon(daemon.host).cmdline[0]):
        pytest.skip("this dockerd has --validate: the fallback checks are not used")
    with pytest.raises(ValidationFailed, match="don't match any configuration option"):
        set_daemon_key("no-such-option", 1, engine_host=daemon.host, settings=S)
    with pytest.raises(ValidationFailed, match="must be true or false"):
        set_daemon_key("debug", "yes", engine_host=daemon.host, settings=S)
    assert cfg.read_bytes() == before


def test_validate_probe_matches_the_binary(daemon):
    import subprocess

    binary = find_daemon(daemon.host).cmdline[0]
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    assert validate_supported(binary) == ("--validate" in help_text)


def test_dockerd_validate_is_used_when_the_binary_has_it(tmp_path):
    """A newer dockerd (>= 23) cannot run here: a stand-in binary with the same
    --help/--validate interface checks that the validate branch is taken and obeyed."""
    fake = tmp_path / "dockerd"
    calls = tmp_path / "calls"
    fake.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
case "$1" in
  --help) echo "      --validate      Validate daemon configuration and exit"; exit 0;;
  --validate) grep -q '"debug": true' "$3" && {{ echo "unable to configure the Docker daemon with file $3: nope" >&2; exit 1; }}
              echo "configuration OK"; exit 0;;
esac
exit 2
""")
    fake.chmod(0o755)
    assert validate_supported(str(fake)) is True
    cfgf = tmp_path / "daemon.json"
    cfgf.write_text('{"labels": ["a=b"]}\n')
    d = DaemonProcess(pid=None, cmdline=[str(fake)], flags={}, config_file=str(cfgf))
    with pytest.raises(ActionError, match="dockerd --validate refused") as ei:
        set_debug(True, daemon=d, settings=S, apply=None)
    assert "nope" in ei.value.detail
    assert cfgf.read_text() == '{"labels": ["a=b"]}\n'
    assert not [
        f for f in os.listdir(tmp_path) if f.startswith(("daemon.json.bak", ".daemon.json"))
    ]
    res = set_debug(False, daemon=d, settings=S, apply=None)
    assert res.written and json.loads(cfgf.read_text()) == {"labels": ["a=b"], "debug": False}
    assert "--validate --config-file" in calls.read_text()


def test_check_value_and_render_config_units():
    assert check_value("debug", True) is None
    assert "one of" in check_value("log-level", "verbose")
    assert "strings" in check_value("log-opts", {"max-file": 3})
    assert "key=value" in check_value("labels", ["nolabel"])
    # one-line files stay one line, CRLF stays CRLF, tabs stay tabs
    assert render_config({"a": 1, "b": 2}, '{"a": 1}') == '{"a": 1, "b": 2}'
    assert render_config({"a": 1, "b": 2}, '{"a": 1, "x": 0}') == '{"a": 1, "b": 2}'
    assert render_config({"a": 1}, '{\r\n\t"a": 0\r\n}\r\n') == '{\r\n\t"a": 1\r\n}\r\n'
    assert render_config({"debug": True}, "") == '{\n  "debug": true\n}\n'


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
    with pytest.raises(ActionError, match="restart_command"):
        set_debug(True, engine_host=daemon.host, apply="restart", settings=S)
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
    assert main(["daemon", "debug", "on"]) == 0
    out = capsys.readouterr().out
    assert "debug is now true (reload confirmed by the engine)" in out
    assert _info(daemon)["Debug"] is True
    # no restart command known here: refused before anything
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    assert main(["daemon", "debug", "off", "--restart", "--yes"]) == 2
    assert "no restart command is known" in capsys.readouterr().err
    # with one, a restart still needs --yes when nobody can be asked
    monkeypatch.setenv("DOCKSCOPE_RESTART_COMMAND", "false")
    assert main(["daemon", "debug", "off", "--restart"]) == 2
    assert "live-restore is OFF" in capsys.readouterr().err
    monkeypatch.delenv("DOCKSCOPE_RESTART_COMMAND")
    assert main(["daemon", "debug", "off"]) == 0
    assert _info(daemon)["Debug"] is False
    # an invalid file: exit 2 with line/column
    cfg.write_text('{"debug": tru}\n')
    assert main(["daemon", "debug", "on"]) == 2
    assert "line 1 column 11" in capsys.readouterr().err
