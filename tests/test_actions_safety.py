"""Hardening of everything that changes the host (issue 14 items 1, 4, 6, 7, 9, 10, 11
and the confirmations of issue 10), on the harness engine with real objects: a
real terminal (``script``), real ``chattr``, a real read-only bind mount, a real
second user, two real concurrent processes. Nothing is mocked."""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from actions import guard
from actions.files import UnsafePath, save_private, write_private
from actions.guard import ReadOnlyError
from actions.networks import (
    NetworkSpec,
    gather_create_context,
    plan_create,
    remove_network,
    validate_create,
)
from actions.validate import ActionError, ValidationFailed
from tests.helpers import engine_info as _info

pytestmark = pytest.mark.engine
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _writable():
    guard.set_read_only(False)
    yield
    guard.set_read_only(False)


def _env(daemon, tmp_path) -> dict:
    env = daemon.env()
    env["DOCKSCOPE_CONFIG"] = str(tmp_path / "dockscope.json")
    env.pop("DOCKSCOPE_READ_ONLY", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


CLI = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]


def dockscope(daemon, tmp_path, *argv, stdin=subprocess.DEVNULL, env=None, user=None):
    cmd = CLI + list(argv)
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    return subprocess.run(
        cmd,
        cwd=ROOT,
        env=env or _env(daemon, tmp_path),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def on_a_terminal(daemon, tmp_path, answer: str, *argv):
    """Run the CLI on a real pseudo-terminal (util-linux ``script``), typing ``answer``."""
    import shlex

    cmd = shlex.join(CLI + list(argv))
    return subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        cwd=ROOT,
        env=_env(daemon, tmp_path),
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _set_debug_false(daemon, raw: bytes) -> None:
    """Put the harness daemon.json back and make sure debug is off."""
    cfg = daemon.config_file
    if _info(daemon).get("Debug"):
        cfg.write_text(json.dumps({**json.loads(raw or b"{}"), "debug": False}))
        os.kill(daemon.pid(), signal.SIGHUP)
        deadline = time.time() + 10
        while _info(daemon).get("Debug") and time.time() < deadline:
            time.sleep(0.2)
    cfg.write_bytes(raw)


@pytest.fixture
def cfg(daemon):
    path = daemon.config_file
    raw = path.read_bytes()
    files = set(os.listdir(path.parent))
    yield path
    subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    subprocess.run(["umount", str(path)], capture_output=True)
    _set_debug_false(daemon, raw)
    for f in set(os.listdir(path.parent)) - files:
        os.unlink(path.parent / f)


def _dir_listing(path: Path) -> list[str]:
    return sorted(os.listdir(path.parent))


# --------------------------------------------------------------------------- confirmations


def test_cli_asks_on_a_terminal_and_no_is_the_default(daemon, cfg, tmp_path):
    before = cfg.read_bytes()
    for answer in ("\n", "n\n", "whatever\n"):
        r = on_a_terminal(daemon, tmp_path, answer, "daemon", "debug", "on")
        assert r.returncode == 2, r.stdout
        assert "Set debug to true in daemon.json and reload dockerd?" in r.stdout
        assert "undo: set debug back to false" in r.stdout
        assert "Proceed? [y/N]" in r.stdout and "cancelled; nothing was changed" in r.stdout
        assert cfg.read_bytes() == before and _info(daemon)["Debug"] is False
    r = on_a_terminal(daemon, tmp_path, "y\n", "daemon", "debug", "on")
    assert r.returncode == 0, r.stdout
    assert "debug is now true (reload confirmed by the engine)" in r.stdout
    assert _info(daemon)["Debug"] is True


def test_cli_network_create_asks_then_creates(daemon, tmp_path):
    name = f"ask-{uuid.uuid4().hex[:6]}"
    try:
        r = on_a_terminal(daemon, tmp_path, "\n", "network", "create", name)
        assert r.returncode == 2 and f"Create network {name}?" in r.stdout
        assert name not in daemon.docker("network", "ls", "--format", "{{.Name}}").stdout
        r = on_a_terminal(daemon, tmp_path, "yes\n", "network", "create", name)
        assert r.returncode == 0, r.stdout
        assert f"created network {name}" in r.stdout
        # no terminal, no --yes: one line, exit 2, nothing changed
        r = dockscope(daemon, tmp_path, "network", "rm", name)
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.count("\n") == 1 and "--yes" in r.stderr
        assert name in daemon.docker("network", "ls", "--format", "{{.Name}}").stdout
        r = dockscope(daemon, tmp_path, "network", "rm", name, "--yes")
        assert r.returncode == 0, r.stderr
    finally:
        daemon.docker("network", "rm", name, check=False)


# --------------------------------------------------------------------------- validation (item 4)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--subnet", "127.0.0.0/24"], "loopback"),
        (["--subnet", "224.0.0.0/24"], "multicast"),
        (["--subnet", "169.254.10.0/24"], "link-local"),
        (["--subnet", "240.0.0.0/24"], "reserved"),
        (["--subnet", "0.0.0.0/8"], "unspecified"),
        (["--subnet", "10.250.7.0/24", "--ip-range", "127.0.0.0/28"], "loopback"),
        (["--subnet", "10.250.7.0/24", "--gateway", "169.254.1.1"], "link-local"),
        (["--ipv6", "--subnet", "fe80::/64"], "link-local"),
        (["-o", "com.docker.network.bridge.name=docker0"], "docker0"),
        (["-o", "com.docker.network.bridge.name=lo"], "not a bridge"),
        (["-o", "com.docker.network.bridge.name=br-0123456789ab"], "Docker gives its own"),
        (["-o", "com.docker.network.bridge.name=has space"], "not a valid interface name"),
    ],
)
def test_create_refusals_exit_2_nothing_created(daemon, tmp_path, argv, fragment):
    name = f"v-{uuid.uuid4().hex[:6]}"
    before = daemon.docker("network", "ls", "-q").stdout
    r = dockscope(daemon, tmp_path, "network", "create", name, *argv, "--yes")
    assert r.returncode == 2, r.stderr
    assert fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert daemon.docker("network", "ls", "-q").stdout == before


def test_bridge_names_of_this_and_other_engines_are_refused(daemon, docker_client, tmp_path):
    # the harness engine's default bridge (another dockerd on this host could own it too)
    r = dockscope(
        daemon,
        tmp_path,
        "network",
        "create",
        "n9",
        "-o",
        f"com.docker.network.bridge.name={daemon.bridge}",
        "--yes",
    )
    assert r.returncode == 2 and daemon.bridge in r.stderr
    # a bridge a user-defined network of this engine already uses
    net = docker_client.networks.create(f"own-{uuid.uuid4().hex[:6]}")
    try:
        br = f"br-{net.id[:12]}"
        ctx = gather_create_context(docker_client)
        errs = validate_create(
            NetworkSpec(name="n10", options=[f"com.docker.network.bridge.name={br}"]), ctx
        )
        assert errs and "already used by docker network" in errs[0].message
        assert "docker0" in ctx.engine_bridges and daemon.bridge in ctx.engine_bridges
    finally:
        net.remove()


def test_existing_non_docker_bridge_is_explained_and_asked(daemon, docker_client):
    lan = f"lan{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "link", "add", lan, "type", "bridge"], check=True)
    try:
        spec = NetworkSpec(name=f"att-{lan}", options=[f"com.docker.network.bridge.name={lan}"])
        plan = plan_create(docker_client, spec)
        assert plan.danger
        text = " ".join(plan.warnings)
        assert f"{lan} already exists on this host and is not Docker's" in text
        assert "REPLACES its IPv4 address" in text and f"leaves {lan} in place" in text
    finally:
        subprocess.run(["ip", "link", "del", lan], capture_output=True)


def test_undo_never_recreates_what_validation_refuses(daemon, docker_client):
    """A link-local network made outside dockscope (the engine accepts it) can be
    removed, but its undo is validated like any create, and refused."""
    name = f"ll-{uuid.uuid4().hex[:6]}"
    sub = "169.254.77.0/24"
    daemon.docker("network", "create", "--subnet", sub, name)
    res = remove_network(docker_client, name)
    assert res.ok and res.undo_plan is not None
    with pytest.raises(ValidationFailed, match="link-local"):
        res.undo_plan(docker_client)
    assert name not in daemon.docker("network", "ls", "--format", "{{.Name}}").stdout


# --------------------------------------------------------------------------- daemon.json traps (items 6, 9)


def _one_line_nothing_left(r, cfg: Path, before: bytes, listing: list[str], fragment: str):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and fragment in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert cfg.read_bytes() == before and _dir_listing(cfg) == listing


def test_immutable_daemon_json_one_line_nothing_left(daemon, cfg, tmp_path):
    before, listing = cfg.read_bytes(), _dir_listing(cfg)
    subprocess.run(["chattr", "+i", str(cfg)], check=True)
    r = dockscope(daemon, tmp_path, "daemon", "debug", "on", "--yes")
    _one_line_nothing_left(r, cfg, before, listing, "immutable")
    assert "chattr -i" in r.stderr and _info(daemon)["Debug"] is False


def test_read_only_bind_mount_of_daemon_json_is_refused_not_written_in_place(daemon, cfg, tmp_path):
    src = tmp_path / "mounted.json"
    src.write_text('{"labels": ["from=mount"]}\n')
    subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(cfg)], check=True)
    before, listing = cfg.read_bytes(), _dir_listing(cfg)
    r = dockscope(daemon, tmp_path, "daemon", "debug", "on", "--yes")
    _one_line_nothing_left(r, cfg, before, listing, "mount point")
    assert src.read_text() == '{"labels": ["from=mount"]}\n'
    # writable bind mount: still refused (rename onto a mount point is EBUSY; no in-place write)
    subprocess.run(["umount", str(cfg)], check=True)
    subprocess.run(["mount", "--bind", str(src), str(cfg)], check=True)
    r = dockscope(daemon, tmp_path, "daemon", "debug", "on", "--yes")
    _one_line_nothing_left(r, cfg, before, listing, "mount point")


def test_immutable_directory_one_line_nothing_left(tmp_path):
    from actions.daemon_config import set_debug
    from inspectors.config import Settings
    from inspectors.model import DaemonProcess

    d = tmp_path / "etc-docker"
    d.mkdir()
    f = d / "daemon.json"
    f.write_text('{"dns": ["192.0.2.1"]}\n')
    subprocess.run(["chattr", "+i", str(d)], check=True)
    try:
        with pytest.raises(ActionError, match="directory is immutable") as ei:
            set_debug(
                True, daemon=DaemonProcess(config_file=str(f)), apply=None, settings=Settings()
            )
        assert "chattr -i" in ei.value.detail
        assert sorted(os.listdir(d)) == ["daemon.json"]
        assert f.read_text() == '{"dns": ["192.0.2.1"]}\n'
    finally:
        subprocess.run(["chattr", "-i", str(d)], check=True)


@pytest.fixture
def local_user():
    name = f"dsu{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        time.sleep(0.3)
        subprocess.run(["userdel", "-r", name], capture_output=True)


def _main_as(user, env: dict, argv: list[str]) -> tuple[int, str]:
    """tui.cli.main run in a forked child that dropped to ``user`` (the venv's
    interpreter lives under /root, which that user cannot execute: the code is
    imported first, then the child drops its privileges)."""
    import traceback

    import actions.daemon_config  # noqa: F401 - loaded before the privileges go
    import actions.daemon_file  # noqa: F401
    import docker  # noqa: F401
    import inspectors.daemon  # noqa: F401
    import inspectors.logs  # noqa: F401
    import inspectors.supervisor  # noqa: F401
    import tui.cli_actions  # noqa: F401
    from tui.cli import main

    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        rc = 99
        try:
            os.close(r_fd)
            os.dup2(w_fd, 2)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 0)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stdin = os.fdopen(0, "r")
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.environ.clear()
            os.environ.update(env)
            rc = main(argv)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(rc if isinstance(rc, int) else 98)
    os.close(w_fd)
    with os.fdopen(r_fd) as fh:
        err = fh.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def test_non_root_user_running_debug_on_one_line_exit_2(daemon, cfg, tmp_path, local_user):
    before, listing = cfg.read_bytes(), _dir_listing(cfg)
    home = Path(local_user.pw_dir)
    env = _env(daemon, tmp_path)
    env["DOCKSCOPE_CONFIG"] = str(home / "dockscope.json")
    env["HOME"] = str(home)
    rc, err = _main_as(local_user, env, ["daemon", "debug", "on", "--yes"])
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert cfg.read_bytes() == before and _dir_listing(cfg) == listing


def test_bom_is_refused_and_invalid_json_status_says_where(daemon, cfg, tmp_path):
    cfg.write_bytes(b'\xef\xbb\xbf{"debug": false}\n')
    r = dockscope(daemon, tmp_path, "daemon", "debug", "on", "--yes")
    assert r.returncode == 2 and "byte-order mark" in r.stderr
    assert cfg.read_bytes() == b'\xef\xbb\xbf{"debug": false}\n'
    cfg.write_text('{\n  "debug": true,\n  "dns": ["192.0.2.1",]\n}\n')
    r = dockscope(daemon, tmp_path, "daemon", "status")
    assert r.returncode == 0
    assert "config INVALID:" in r.stdout and "line 3 column 23" in r.stdout
    assert "debug (file):      unknown: daemon.json is invalid" in r.stdout
    assert "debug (file):      absent" not in r.stdout


def test_rewrite_is_byte_exact_through_the_cli(daemon, cfg, tmp_path):
    before = (
        b'{\n    "labels": ["caf\\u00e9=1", "b=2"],\n    "debug": false,\n'
        b'    "max-concurrent-uploads": 4\n}\n'
    )
    cfg.write_bytes(before)
    r = dockscope(daemon, tmp_path, "daemon", "debug", "on", "--yes")
    assert r.returncode == 0, r.stderr
    assert cfg.read_bytes() == before.replace(b'"debug": false', b'"debug": true')


# --------------------------------------------------------------------------- the lock (item 7)


def test_the_lock_serialises_writers_and_the_file_is_reread(daemon, cfg, tmp_path):
    # a holder of the lock (another dockscope) keeps a writer waiting, with nothing written
    fd = os.open(str(cfg.parent), os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    cfg.write_text('{"debug": false}\n')
    p = subprocess.Popen(
        CLI + ["daemon", "debug", "on", "--yes"],
        cwd=ROOT,
        env=_env(daemon, tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)
        assert p.poll() is None, p.communicate()
        assert cfg.read_text() == '{"debug": false}\n' and _info(daemon)["Debug"] is False
        # changed while it waited: the writer re-reads and keeps this change
        cfg.write_text('{"debug": false, "labels": ["while=waiting"]}\n')
    finally:
        os.close(fd)  # releases the lock
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert cfg.read_text() == '{"debug": true, "labels": ["while=waiting"]}\n'
    assert _info(daemon)["Debug"] is True


def test_two_concurrent_writers_agree_with_the_engine(daemon, cfg, tmp_path):
    env = _env(daemon, tmp_path)
    procs = [
        subprocess.Popen(
            CLI + ["daemon", "debug", state, "--yes"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for state in ("on", "off", "on")
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for rc, out, err in results:
        assert rc == 0, err  # each one took the lock in turn: none was undone by another
        assert "confirmed by the engine" in out or "not rewritten" in out
    file_debug = json.loads(cfg.read_text())["debug"]
    assert _info(daemon)["Debug"] is file_debug
    assert not [f for f in os.listdir(cfg.parent) if f.startswith(".daemon.json")]


# --------------------------------------------------------------------------- exec trap (item 1)


FAKE_DOCKERD = """
import os, socket, sys
path = sys.argv[sys.argv.index("--host") + 1][len("unix://"):]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
while True:
    c, _ = s.accept()
    c.close()
"""


def test_a_users_dockerd_binary_is_never_executed(daemon, tmp_path, local_user):
    """An ordinary user starts a process named dockerd from ~/bin, then replaces the
    file with a script. Nothing dockscope does as root may run it."""
    home = Path(local_user.pw_dir)
    bindir = home / "bin"
    bindir.mkdir()
    fake = bindir / "dockerd"
    shutil.copy(os.path.realpath(sys.executable), fake)
    sock = home / "d.sock"
    for p in (bindir, fake):
        os.chown(p, local_user.pw_uid, local_user.pw_gid)
    fifo = home / "daemon.json"  # its "config file" is a FIFO: reading it must not hang root
    os.mkfifo(fifo)
    os.chown(fifo, local_user.pw_uid, local_user.pw_gid)
    proc = subprocess.Popen(
        ["runuser", "-u", local_user.pw_name, "--", str(fake), "-c", FAKE_DOCKERD]
        + ["--host", f"unix://{sock}", "--config-file", str(fifo)],
        cwd=home,
        stdin=subprocess.DEVNULL,
    )
    marker = tmp_path / "pwned"
    try:
        deadline = time.time() + 10
        while not sock.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert sock.exists()
        fake.unlink()  # /proc/PID/exe now reads "(deleted)"
        fake.write_text(f"#!/bin/sh\nid > {marker}\n")
        fake.chmod(0o755)
        os.chown(fake, local_user.pw_uid, local_user.pw_gid)
        env = _env(daemon, tmp_path)
        env["DOCKER_HOST"] = f"unix://{sock}"
        for argv in (
            ["daemon", "status"],
            ["daemon", "status", "--json"],
            ["daemon", "debug", "on", "--yes"],
            ["daemon", "debug", "on", "--restart", "--yes"],
        ):
            r = dockscope(daemon, tmp_path, *argv, env=env)
            assert "Traceback" not in r.stderr, r.stderr
            assert not marker.exists(), argv
        assert r.returncode == 2
        from actions.daemon_config import daemon_status
        from tui.confirm import ActionFlows  # noqa: F401 - the console's path imports cleanly

        st = daemon_status(engine_host=f"unix://{sock}")
        assert not marker.exists()
        import psutil

        # dockscope did find the user's process (so the old `<exe> --help` probe would have run it)
        assert st.pid and psutil.Process(st.pid).name() == "dockerd"
        assert psutil.Process(st.pid).uids().real == local_user.pw_uid
    finally:
        proc.kill()
        subprocess.run(["pkill", "-KILL", "-u", local_user.pw_name], capture_output=True)
    assert not marker.exists()


# --------------------------------------------------------------------------- restart method (issue 10)


def test_a_hand_started_dockerd_gets_no_restart_that_cannot_work(daemon, tmp_path):
    """The harness dockerd is started by hand (its parent is pytest), and this host
    has /etc/init.d/docker without its pidfile: `service docker restart` must not be offered."""
    from inspectors.daemon import find_daemon
    from inspectors.supervisor import detect, restart_hint

    d = find_daemon(daemon.host)
    sup = detect(d)
    assert sup.kind == "manual" and sup.restart is None
    assert "started by hand" in sup.description and "restart_command" in sup.advice
    assert "service docker restart" not in restart_hint(d)
    assert "systemctl" not in restart_hint(d)
    r = dockscope(daemon, tmp_path, "daemon", "status")
    assert "started by:        dockerd" in r.stdout and "by hand" in r.stdout
    assert "restart with:      none offered" in r.stdout


def test_supervisord_parent_is_recognised(tmp_path):
    """A real parent process named supervisord running a child named dockerd with
    SUPERVISOR_PROCESS_NAME (what supervisord sets). supervisorctl is not installed
    here, so no command is offered; the advice names it."""
    from inspectors.model import DaemonProcess
    from inspectors.supervisor import detect

    sup_bin = tmp_path / "supervisord"
    child_bin = tmp_path / "dockerd"
    shutil.copy(os.path.realpath(sys.executable), sup_bin)
    shutil.copy(shutil.which("sleep"), child_bin)
    code = (
        "import os, subprocess, sys; "
        f"p = subprocess.Popen([{str(child_bin)!r}, '60'], "
        "env={**os.environ, 'SUPERVISOR_PROCESS_NAME': 'docker'}); "
        "print(p.pid, flush=True); p.wait()"
    )
    parent = subprocess.Popen([str(sup_bin), "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        s = detect(DaemonProcess(pid=child))
        assert s.kind == "supervisord"
        if shutil.which("supervisorctl"):
            assert s.restart and s.restart[-2:] == ["restart", "docker"]
        else:
            assert s.restart is None and "supervisorctl" in s.advice
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], capture_output=True)
        parent.kill()


def test_systemd_unit_restart_with_a_faked_pid1(monkeypatch):
    """FAKE: nothing runs systemd here (PID 1 is not systemd), so PID-1-is-systemd and
    the unit in the cgroup are faked; everything else (the trusted systemctl path) is real."""
    from inspectors import supervisor
    from inspectors.model import DaemonProcess

    assert supervisor._pid1_is_systemd() is False  # the real answer on this host
    monkeypatch.setattr(supervisor, "_pid1_is_systemd", lambda: True)
    monkeypatch.setattr("inspectors.daemon.systemd_unit", lambda pid: ("docker.service", False))
    s = supervisor.detect(DaemonProcess(pid=os.getpid()))
    systemctl = supervisor.trusted_binary("systemctl")
    if systemctl:
        assert s.kind == "systemd" and s.restart == [systemctl, "restart", "docker.service"]
        assert s.reload == [systemctl, "reload", "docker.service"]
    else:
        assert s.kind != "systemd"


def test_trusted_binary_refuses_user_writable_paths(tmp_path):
    from inspectors.supervisor import _safe_path, trusted_binary

    assert trusted_binary("sh") in ("/usr/bin/sh", "/bin/sh")
    f = tmp_path / "tool"
    f.write_text("#!/bin/sh\n")
    f.chmod(0o777)
    assert not _safe_path(str(f))
    f.chmod(0o755)
    os.chown(f, 65534, 65534)
    assert not _safe_path(str(f))


# --------------------------------------------------------------------------- files (items 10, 11)


def test_private_writer_refuses_symlinks_and_writes_0600(tmp_path, local_user):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    with pytest.raises(UnsafePath, match="symlink"):
        write_private(str(link), "x")
    assert victim.read_text() == "keep\n" and link.is_symlink()
    out = tmp_path / "real.txt"
    out.write_text("old")
    os.chmod(out, 0o644)
    write_private(str(out), "new\n")
    assert out.read_text() == "new\n" and out.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["out.txt", "real.txt", "victim"]
    # a parent directory reached through another user's symlink
    udir = Path(local_user.pw_dir)
    evil = udir / "logs"
    evil.symlink_to(tmp_path)
    os.lchown(evil, local_user.pw_uid, local_user.pw_gid)
    with pytest.raises(UnsafePath, match="symlink owned by uid"):
        write_private(str(evil / "saved.log"), "x")
    assert not (tmp_path / "saved.log").exists()


def test_read_only_saves_only_under_dockscopes_own_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "cache" / "dockscope").mkdir(parents=True)
    guard.set_read_only(True, "test")
    with pytest.raises(ReadOnlyError):
        save_private(str(tmp_path / "elsewhere.log"), "x")
    assert not (tmp_path / "elsewhere.log").exists()
    p = save_private(str(tmp_path / "cache" / "dockscope" / "saved.log"), "x\n")
    assert Path(p).read_text() == "x\n"
    guard.set_read_only(False)
    save_private(str(tmp_path / "elsewhere.log"), "y\n")
    assert (tmp_path / "elsewhere.log").read_text() == "y\n"


# --------------------------------------------------------------------------- exit codes (item 8)


def test_action_commands_follow_the_exit_code_table(daemon, tmp_path):
    """README: 2 when no engine answers (or its socket is denied) for every action command."""
    env = _env(daemon, tmp_path)
    env["DOCKER_HOST"] = f"unix://{tmp_path}/nothing.sock"
    for argv in (
        ["network", "create", "x1", "--yes"],
        ["network", "rm", "x1", "--yes"],
        ["network", "connect", "x1", "c1", "--yes"],
        ["network", "disconnect", "x1", "c1", "--yes"],
        ["daemon", "debug", "on", "--yes"],
        ["daemon", "status"],
    ):
        r = dockscope(daemon, tmp_path, *argv, env=env)
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, argv
    # an engine refusal is 1 (its message verbatim); invalid input 2; done 0
    r = dockscope(
        daemon,
        tmp_path,
        "network",
        "create",
        "mtu-x",
        "-o",
        "com.docker.network.driver.mtu=abc",
        "--yes",
    )
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon:")


def test_init_script_restart_only_with_its_pidfile(tmp_path):
    """A real daemonised process named dockerd (parent: PID 1) and an init script whose
    pidfile holds its pid: the script's restart is offered. Without the pidfile (what
    this host has for /etc/init.d/docker) it is not."""
    from inspectors.model import DaemonProcess
    from inspectors.supervisor import _init_pidfiles, detect

    assert "/var/run/docker-ssd.pid" in _init_pidfiles("/etc/init.d/docker")  # the real script
    d = Path(f"/run/dockscope-test-{uuid.uuid4().hex[:6]}")  # root-only, not world-writable
    d.mkdir(mode=0o700)
    try:
        pidfile = d / "docker-ssd.pid"
        script = d / "docker"
        script.write_text(f"#!/bin/sh\nBASE=docker\nPIDFILE=/run/{d.name}/$BASE-ssd.pid\n")
        script.chmod(0o755)
        fake = d / "dockerd"
        shutil.copy(shutil.which("sleep"), fake)
        # daemonise like start-stop-daemon --background: the child is re-parented to PID 1
        out = subprocess.run(
            ["sh", "-c", f"{fake} 60 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True
        )
        pid = int(out.stdout)
        try:
            import psutil

            deadline = time.time() + 5
            while psutil.Process(pid).ppid() != 1 and time.time() < deadline:
                time.sleep(0.1)
            if psutil.Process(pid).ppid() != 1:
                pytest.fail("the daemonised process was not re-parented to PID 1 (a subreaper?)")
            s = detect(DaemonProcess(pid=pid), init_scripts=(str(script),))
            assert s.kind == "manual" and s.restart is None  # no pidfile yet
            pidfile.write_text(f"{pid}\n")
            s = detect(DaemonProcess(pid=pid), init_scripts=(str(script),))
            assert s.kind in ("sysvinit", "openrc") and s.restart == [str(script), "restart"]
            assert str(pidfile) in s.description
            os.chmod(script, 0o777)  # a script others can write is never offered
            assert detect(DaemonProcess(pid=pid), init_scripts=(str(script),)).restart is None
        finally:
            os.kill(pid, signal.SIGKILL)
    finally:
        shutil.rmtree(d)


def test_hostile_names_never_reach_the_terminal(daemon, tmp_path):
    """The engine accepts a network named with OSC 0 (window title) and BEL; every
    line the action commands print (plan on a terminal, results, errors) is inert."""
    from tests.harness import IMAGE

    net = "t\x1b]0;TTL\x07x" + uuid.uuid4().hex[:4]
    ctr = f"hn-{uuid.uuid4().hex[:6]}"
    daemon.docker("network", "create", net)
    daemon.docker("run", "-d", "--name", ctr, IMAGE, "sleep", "600")
    try:
        outs = [
            dockscope(daemon, tmp_path, "network", "connect", net, ctr, "--yes"),
            dockscope(daemon, tmp_path, "network", "connect", net, ctr, "--yes"),  # refused
            on_a_terminal(daemon, tmp_path, "\n", "network", "disconnect", net, ctr),
            dockscope(daemon, tmp_path, "network", "rm", net, "--yes"),  # has an endpoint
            dockscope(daemon, tmp_path, "network", "disconnect", net, ctr, "--yes"),
        ]
        assert [r.returncode for r in outs] == [0, 2, 2, 2, 0], [r.stderr for r in outs]
        assert "connected" in outs[0].stdout and " to tx" in outs[0].stdout  # the OSC is gone
        for r in outs:
            for stream in (r.stdout, r.stderr):
                assert "\x1b]" not in stream and "\x07" not in stream, stream
    finally:
        daemon.docker("rm", "-f", ctr, check=False)
        daemon.docker("network", "rm", net, check=False)


def test_console_read_only_refusals_are_grammatical():
    """Walk 11: the guard says "refusing to <what>": every console caller passes a
    verb phrase in the infinitive ("create a network"), never a gerund."""
    import ast
    import re as _re

    src = Path(__file__).resolve().parent.parent / "tui" / "app_actions.py"
    whats = [
        n.args[0].value
        for n in ast.walk(ast.parse(src.read_text()))
        if isinstance(n, ast.Call)
        and getattr(n.func, "attr", "") == "_refuse_read_only"
        and n.args
        and isinstance(n.args[0], ast.Constant)
    ]
    assert "create a network" in whats and "change the daemon configuration" in whats
    for w in whats:
        assert not _re.match(r"\w+ing\b", w), w
        guard.set_read_only(True, "--read-only")
        try:
            with pytest.raises(ReadOnlyError) as ei:
                guard.check_writable(w)
            assert str(ei.value).count("refusing to ") == 1
        finally:
            guard.set_read_only(False)


def test_read_only_cli_refuses_report_and_pcap_files(daemon, uniq, tmp_path):
    """Walk 5: `--read-only` reached only the action commands; `report -o` and
    `capture -w` wrote files. Now: one line on stderr, exit 2, no file."""
    from tests.helpers import dock, run_cli

    name = f"haro{uniq}"
    dock(daemon, "run", "-d", "--name", name, "dockscope-busybox:test", "sleep", "600")
    try:
        rep, pcap = tmp_path / "x.md", tmp_path / "x.pcap"
        for args, out in (
            (["--read-only", "report", "-o", str(rep)], rep),
            (["--read-only", "capture", name, "-c", "1", "-w", str(pcap)], pcap),
        ):
            r = run_cli(*args, env=daemon.env(), timeout=90)
            assert r.returncode == 2, (args, r.stdout, r.stderr)
            assert not out.exists(), args
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and "read-only" in lines[0], r.stderr
        env = {**daemon.env(), "DOCKSCOPE_READ_ONLY": "1"}
        r = run_cli("report", "-o", str(rep), env=env, timeout=90)
        assert r.returncode == 2 and not rep.exists(), r.stderr
    finally:
        daemon.docker("rm", "-f", name, check=False)
