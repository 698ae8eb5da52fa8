"""inspectors.daemon against real processes: the test dockerd, fake dockerds
(a python interpreter started under the name ``dockerd``), real cgroups."""

from __future__ import annotations

import codecs
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from inspectors.daemon import (
    daemon_flag_keys,
    find_daemon,
    log_source,
    parse_flags,
    pid_with_unix_socket,
    read_daemon_config,
    systemd_unit,
)

ROOT = Path(__file__).resolve().parent.parent


def _need_root():
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root")
        pytest.skip("needs root")


# --------------------------------------------------------------------------- fake dockerds


class FakeDockerd:
    """A process whose name is ``dockerd`` and whose command line carries the
    given dockerd flags: ``<dir>/dockerd -c 'read x' dockerd <flags...>``,
    where ``<dir>/dockerd`` is a symlink to /bin/sh. It lives until its stdin
    is closed."""

    def __init__(
        self,
        flags: list[str],
        stdout=subprocess.DEVNULL,
        user: int | None = None,
        env: dict[str, str] | None = None,
        cgroup: Path | None = None,
    ):
        self.dir = Path(tempfile.mkdtemp(prefix="dsfake-"))
        os.chmod(self.dir, 0o755)
        self.exe = self.dir / "dockerd"
        self.exe.symlink_to(os.path.realpath(shutil.which("sh") or "/bin/sh"))
        self.flags = flags
        self.stdout = stdout
        self.user = user
        self.env = env
        self.cgroup = cgroup
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> FakeDockerd:
        user = self.user

        def pre():
            if user is not None:
                os.setgroups([])
                os.setgid(user)
                os.setuid(user)

        self.proc = subprocess.Popen(
            [str(self.exe), "-c", "read x", "dockerd", *self.flags],
            stdin=subprocess.PIPE,
            stdout=self.stdout,
            stderr=self.stdout,
            preexec_fn=pre,
            env=self.env,
            start_new_session=True,
            cwd="/",
        )
        if self.cgroup is not None:
            (self.cgroup / "cgroup.procs").write_text(str(self.proc.pid))
        deadline = time.time() + 5
        while time.time() < deadline:  # wait until the exec happened
            try:
                if Path(f"/proc/{self.proc.pid}/comm").read_text().strip() == "dockerd":
                    break
            except OSError:
                pass
            time.sleep(0.02)
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __exit__(self, *exc):
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- the test dockerd


@pytest.mark.engine
def test_find_daemon_finds_the_test_dockerd(daemon):
    importlib.import_module("psutil")  # import cost is not the function's

    runs = []
    for _ in range(5):
        t = time.perf_counter()
        d = find_daemon(daemon.host)
        runs.append(time.perf_counter() - t)
    print(
        f"\nfind_daemon: best {min(runs) * 1000:.1f} ms, median "
        f"{sorted(runs)[2] * 1000:.1f} ms ({len(d.others) + 1} dockerd processes)"
    )
    assert d.pid == daemon.proc.pid, d
    assert d.matched_by == "host-flag"
    assert d.pid not in d.others
    assert d.config_file == str(daemon.config_file)
    assert d.config_file_exists is True
    assert d.log_source == f"file:{daemon.log_file}"
    assert d.exec_root == str(daemon.exec_root)
    assert d.data_root == str(daemon.data_root)
    assert d.socket == str(daemon.socket)
    assert d.pidfile == str(daemon.pidfile)
    assert d.hosts == [daemon.host]
    assert d.rootless is False
    assert d.flags["--host"] == [daemon.host]
    assert d.flags["--bridge"] == [daemon.bridge]
    assert d.cmdline[0].endswith("dockerd")
    assert d.note is None, d.note
    keys = daemon_flag_keys(d.flags)
    assert keys["--host"] == "hosts"
    assert keys["--default-address-pool"] == "default-address-pools"
    assert keys["--data-root"] == "data-root"
    assert keys["--pidfile"] == "pidfile"
    assert keys["--bridge"] == "bridge"
    assert "--config-file" not in keys


@pytest.mark.engine
def test_find_daemon_from_docker_host_env(daemon, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    assert find_daemon(None).pid == daemon.proc.pid


@pytest.mark.engine
def test_find_daemon_picks_the_right_one_of_two(daemon):
    """A second dockerd on the host (another -H) is never taken for ours."""
    other_sock = f"/tmp/dsfake-{uuid.uuid4().hex[:6]}.sock"
    flags = [
        "-H",
        f"unix://{other_sock}",
        "--config-file=/nonexistent/daemon.json",
        "-D",
        "--exec-root",
        "/tmp/dsfake-exec",
    ]
    with FakeDockerd(flags) as fake:
        ours = find_daemon(daemon.host)
        assert ours.pid == daemon.proc.pid
        assert fake.pid in ours.others
        theirs = find_daemon(f"unix://{other_sock}")
        assert theirs.pid == fake.pid
        assert theirs.flags["--debug"] == ["true"]
        assert theirs.config_file == "/nonexistent/daemon.json"
        assert theirs.config_file_exists is False
        assert "/nonexistent/daemon.json" in theirs.note
        assert theirs.exec_root == "/tmp/dsfake-exec"
        assert theirs.data_root == "/var/lib/docker"
        assert daemon.proc.pid in theirs.others
        assert daemon_flag_keys(theirs.flags)["--debug"] == "debug"


@pytest.mark.engine
def test_find_daemon_fallbacks(daemon, tmp_path):
    # the process holding the socket open
    assert (
        pid_with_unix_socket(str(daemon.socket), [os.getpid(), daemon.proc.pid]) == daemon.proc.pid
    )
    assert pid_with_unix_socket(str(tmp_path / "none.sock"), [daemon.proc.pid]) is None
    # the pidfile beside a socket path that no -H names
    (tmp_path / "docker.pid").write_text(f"{daemon.proc.pid}\n")
    d = find_daemon(f"unix://{tmp_path}/docker.sock")
    assert d.pid == daemon.proc.pid and d.matched_by == "pidfile"
    assert d.socket == f"{tmp_path}/docker.sock"
    # a symlink to the real socket is the same socket
    link = tmp_path / "link.sock"
    link.symlink_to(daemon.socket)
    assert find_daemon(f"unix://{link}").pid == daemon.proc.pid


def test_find_daemon_no_match_and_remote():
    d = find_daemon(f"unix:///tmp/dsfake-none-{uuid.uuid4().hex[:6]}.sock")
    assert d.pid is None and d.note
    r = find_daemon("tcp://203.0.113.5:2376")
    assert r.pid is None and "not on this host" in r.note
    s = find_daemon("ssh://user@example.invalid")
    assert s.pid is None and "not on this host" in s.note


def test_find_daemon_fd_and_default_sockets():
    """``-H fd://`` and no -H both mean /var/run/docker.sock; a tcp -H is
    matched by port."""
    _need_root()
    port = 20000 + int(uuid.uuid4().hex[:3], 16)
    with FakeDockerd(
        [
            "-H",
            "fd://",
            "-H",
            f"tcp://0.0.0.0:{port}",
            "--containerd=/run/containerd/containerd.sock",
        ]
    ) as fake:
        d = find_daemon(f"tcp://127.0.0.1:{port}")
        assert d.pid == fake.pid and d.matched_by == "host-flag"
        assert d.hosts == ["fd://", f"tcp://0.0.0.0:{port}"]
        assert daemon_flag_keys(d.flags) == {"--host": "hosts", "--containerd": "containerd"}
        dd = find_daemon("unix:///var/run/docker.sock")
        assert dd.pid is not None  # the fake, or a real system dockerd
        if dd.pid == fake.pid:
            assert dd.socket == "/var/run/docker.sock"


def test_find_daemon_rootless(tmp_path):
    """A dockerd running as a normal user: rootless defaults from its environment."""
    _need_root()
    uid = 65534
    home = tmp_path / "home"
    run = tmp_path / "run"
    for p in (tmp_path, home, run):
        p.mkdir(exist_ok=True)
        os.chmod(p, 0o755)
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(run), "PATH": "/usr/bin:/bin"}
    with FakeDockerd(["--rootless"], user=uid, env=env) as fake:
        d = find_daemon(f"unix://{run}/docker.sock")
        assert d.pid == fake.pid, d
        assert d.matched_by == "default-socket"
        assert d.rootless is True
        assert d.config_file == f"{home}/.config/docker/daemon.json"
        assert d.exec_root == f"{run}/docker"
        assert d.data_root == f"{home}/.local/share/docker"
        assert d.pidfile == f"{run}/docker.pid"


# --------------------------------------------------------------------------- logs


def test_log_source_file_and_devnull(tmp_path):
    _need_root()
    log = tmp_path / "d.log"
    with open(log, "w") as fh, FakeDockerd(["-H", "unix:///tmp/x.sock"], stdout=fh) as fake:
        assert log_source(fake.pid) == (f"file:{log}", None)
    with FakeDockerd(["-H", "unix:///tmp/x.sock"]) as fake:  # /dev/null
        src, note = log_source(fake.pid)
        known = [
            f
            for f in ("/var/log/docker.log", "/var/log/upstart/docker.log", "/var/log/docker")
            if os.path.isfile(f)
        ]
        assert src == (f"file:{known[0]}" if known else None)
        assert "/dev/null" in note


def _systemd_cgroup_root() -> Path | None:
    for base in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        p = Path(base)
        if (p / "cgroup.procs").exists() and os.access(p, os.W_OK):
            if base == "/sys/fs/cgroup" and not (p / "cgroup.controllers").exists():
                continue
            return p
    return None


@pytest.fixture
def service_cgroup():
    """Make cgroups named like systemd units (no systemd runs here)."""
    _need_root()
    root = _systemd_cgroup_root()
    if root is None:
        pytest.skip("no writable systemd/v2 cgroup hierarchy")
    top = root / f"dstest-{uuid.uuid4().hex[:6]}"
    made: list[Path] = []

    def make(rel: str) -> Path:
        p = top / rel
        p.mkdir(parents=True, exist_ok=True)
        made.append(p)
        return p

    yield make
    for p in sorted(
        {q for m in made for q in [m, *m.parents] if str(q).startswith(str(top))},
        key=lambda q: len(str(q)),
        reverse=True,
    ):
        for _ in range(50):
            try:
                p.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


@pytest.mark.parametrize(
    "rel,expected",
    [
        ("system.slice/docker.service", "journald:docker.service"),
        ("system.slice/snap.docker.dockerd.service", "journald:snap.docker.dockerd.service"),
        (
            "user.slice/user-1000.slice/user@1000.service/app.slice/docker.service",
            "journald-user:docker.service",
        ),
    ],
)
def test_log_source_journald_by_cgroup(service_cgroup, rel, expected):
    cg = service_cgroup(rel)
    a, b = socket.socketpair()  # journald's stdout stream is a unix socket
    try:
        with FakeDockerd(["-H", "fd://"], stdout=a, cgroup=cg) as fake:
            unit, _user = systemd_unit(fake.pid)
            assert unit == expected.split(":", 1)[1]
            src, note = log_source(fake.pid)
            assert src == expected, note
    finally:
        a.close()
        b.close()


def test_log_source_pipe_without_service():
    _need_root()
    r, w = os.pipe()
    try:
        with FakeDockerd(["-H", "unix:///tmp/x.sock"], stdout=w) as fake:
            src, note = log_source(fake.pid)
            if not any(
                os.path.isfile(f)
                for f in ("/var/log/docker.log", "/var/log/upstart/docker.log", "/var/log/docker")
            ):
                assert src is None
            assert "pipe" in note
    finally:
        os.close(r)
        os.close(w)


# --------------------------------------------------------------------------- not root


def _as_nobody(fn):
    """Run ``fn()`` in a forked child with uid/gid 65534; return its JSON result.
    (psutil is imported before the fork: nobody cannot read root's site-packages.)"""
    for mod in ("psutil", "pwd", "inspectors.api"):
        importlib.import_module(mod)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out = json.dumps(fn()).encode()
        except BaseException as e:  # noqa: BLE001
            out = json.dumps({"error": repr(e)}).encode()
            code = 1
        os.write(w, out)
        os.close(w)
        os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


@pytest.mark.engine
def test_find_daemon_and_listeners_as_non_root(daemon):
    """As nobody: the pid is still found (cmdline is world-readable), the log
    location and the owners of root's sockets are not, and notes say why."""
    from inspectors.model import to_jsonable
    from inspectors.sockets import read_listeners

    # a root-owned listener (in another process: a forked child would inherit it)
    code = (
        "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen();"
        "print(s.getsockname()[1], flush=True); sys.stdin.read()"
    )
    lst = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(lst.stdout.readline())

        def probe():
            notes: list[str] = []
            listeners = read_listeners(notes)
            return {
                "d": to_jsonable(find_daemon(daemon.host)),
                "notes": notes,
                "mine": [li.pid for li in listeners if li.port == port],
            }

        # the interpreter's stdlib lives under /root here, unreadable by nobody:
        # import what the probe imports lazily before dropping privileges
        for mod in ("psutil", "pyroute2"):
            importlib.import_module(mod)
        probe_warm = read_listeners()  # first use finishes pyroute2's lazy imports
        assert probe_warm is not None
        out = _as_nobody(probe)
    finally:
        lst.stdin.close()
        lst.wait(10)
    assert "error" not in out, out
    d = out["d"]
    assert d["pid"] == daemon.proc.pid
    assert d["config_file"] == str(daemon.config_file)
    assert d["log_source"] is None or d["log_source"].startswith("file:/var/log")
    assert "not root" in d["note"]
    assert any("not root" in n for n in out["notes"])
    assert out["mine"] == [None]


# --------------------------------------------------------------------------- flags


def test_parse_flags_forms():
    f = parse_flags(
        [
            "-D",
            "-Hunix:///a.sock",
            "-H=fd://",
            "--host",
            "tcp://0.0.0.0:2375",
            "--iptables=false",
            "--label",
            "a=b",
            "--label=c=d",
            "-l",
            "debug",
            "--userland-proxy",
            "--mtu",
            "1400",
            "--log-opt",
            "max-size=10m",
            "-p",
            "/run/d.pid",
            "--tlsverify",
            "--experimental",
        ]
    )
    assert f == {
        "--debug": ["true"],
        "--host": ["unix:///a.sock", "fd://", "tcp://0.0.0.0:2375"],
        "--iptables": ["false"],
        "--label": ["a=b", "c=d"],
        "--log-level": ["debug"],
        "--userland-proxy": ["true"],
        "--mtu": ["1400"],
        "--log-opt": ["max-size=10m"],
        "--pidfile": ["/run/d.pid"],
        "--tlsverify": ["true"],
        "--experimental": ["true"],
    }
    # a boolean never eats the next word; an unknown flag before another flag is boolean
    assert parse_flags(["--debug", "--some-new-bool", "--bip", "10.1.0.1/16"]) == {
        "--debug": ["true"],
        "--some-new-bool": ["true"],
        "--bip": ["10.1.0.1/16"],
    }


def test_daemon_flag_keys():
    flags = [
        "-D",
        "--debug",
        "-H",
        "--host=unix:///x",
        "-l",
        "--log-level",
        "--label",
        "--bip",
        "--mtu",
        "--iptables",
        "--userland-proxy",
        "--default-address-pool",
        "--data-root",
        "--exec-root",
        "--pidfile",
        "--bridge",
        "--containerd",
        "--config-file",
        "--insecure-registry",
        "--registry-mirror",
        "--log-opt",
        "--storage-opt",
        "--dns",
        "--dns-opt",
        "--dns-search",
        "--add-runtime",
        "--default-ulimit",
        "--http-proxy",
        "-G",
        "--validate",
    ]
    k = daemon_flag_keys(flags)
    assert k["-D"] == k["--debug"] == "debug"
    assert k["-H"] == k["--host=unix:///x"] == "hosts"
    assert k["-l"] == k["--log-level"] == "log-level"
    assert k["--label"] == "labels"
    for same in (
        "bip",
        "mtu",
        "iptables",
        "userland-proxy",
        "data-root",
        "exec-root",
        "pidfile",
        "bridge",
        "containerd",
        "dns",
        "dns-search",
    ):
        assert k[f"--{same}"] == same
    assert k["--default-address-pool"] == "default-address-pools"
    assert k["--insecure-registry"] == "insecure-registries"
    assert k["--registry-mirror"] == "registry-mirrors"
    assert k["--log-opt"] == "log-opts"
    assert k["--storage-opt"] == "storage-opts"
    assert k["--dns-opt"] == "dns-opts"
    assert k["--add-runtime"] == "runtimes"
    assert k["--default-ulimit"] == "default-ulimits"
    assert k["--http-proxy"] == "proxies.http-proxy"
    assert k["-G"] == "group"
    assert "--config-file" not in k and "--validate" not in k
    # works on DaemonProcess.flags as well
    assert daemon_flag_keys({"--debug": ["true"], "--config-file": ["/x"]}) == {"--debug": "debug"}


# --------------------------------------------------------------------------- daemon.json


def test_read_daemon_config_encodings(tmp_path):
    data = {"debug": True, "labels": ["é=ü"], "bip": "10.1.0.1/16"}
    text = json.dumps(data, ensure_ascii=False, indent=2)
    cases = {
        "plain": text.encode("utf-8"),
        "bom": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf16le": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf16be": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    }
    for name, raw in cases.items():
        p = tmp_path / f"{name}.json"
        p.write_bytes(raw)
        assert read_daemon_config(str(p)) == (data, None), name


def test_read_daemon_config_empty_and_missing(tmp_path):
    for name, raw in {
        "empty": b"",
        "ws": b"  \n\t\n",
        "bomonly": codecs.BOM_UTF8,
        "u16empty": codecs.BOM_UTF16_LE,
    }.items():
        p = tmp_path / name
        p.write_bytes(raw)
        assert read_daemon_config(str(p)) == ({}, None), name
    assert read_daemon_config(str(tmp_path / "missing.json")) == ({}, None)


def test_read_daemon_config_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "debug": true,\n  "bip": "10.1.0.1/16",\n}\n')
    cfg, err = read_daemon_config(str(broken))
    assert cfg is None
    assert "line 4 column 1" in err, err
    assert str(broken) in err

    broken16 = tmp_path / "broken16.json"
    broken16.write_bytes(codecs.BOM_UTF16_LE + '{\n "a": 1\n "b": 2}'.encode("utf-16-le"))
    cfg, err = read_daemon_config(str(broken16))
    assert cfg is None and "line 3 column 2" in err, err

    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]")
    cfg, err = read_daemon_config(str(arr))
    assert cfg is None and "object" in err

    latin = tmp_path / "latin1.json"
    latin.write_bytes(b'{\n "labels": ["caf\xe9"]}')
    cfg, err = read_daemon_config(str(latin))
    assert cfg is None and "line 2 column 17" in err, err

    d = tmp_path / "dir.json"
    d.mkdir()
    cfg, err = read_daemon_config(str(d))
    assert cfg is None and "cannot read" in err
