"""inspectors.sockets against real sockets: own listeners, a netns, docker-proxy."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

from inspectors.model import Listener
from inspectors.sockets import (
    classify_owner,
    parse_proc_net,
    proxy_target,
    read_listeners,
    read_netns_listeners,
)

# A process that opens the sockets named on its command line ("tcp,127.0.0.1,0"),
# prints what it got, and lives until its stdin closes.
LISTENER = r"""
import socket, sys
out, keep = [], []
for spec in sys.argv[2:]:
    proto, ip, port = spec.split(",")
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((ip, int(port)))
    if proto == "tcp":
        s.listen(8)
    keep.append(s)
    out.append(f"{proto},{ip},{s.getsockname()[1]}")
print(" ".join(out), flush=True)
sys.stdin.read()
"""


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Listening:
    """Context manager: a listener subprocess (optionally under a prefix such
    as ``ip netns exec NS``)."""

    def __init__(self, specs: list[str], prefix: list[str] | None = None):
        self.marker = f"dstest-{uuid.uuid4().hex[:8]}"
        self.argv = [*(prefix or []), sys.executable, "-c", LISTENER, self.marker, *specs]
        self.proc: subprocess.Popen | None = None
        self.bound: list[tuple[str, str, int]] = []

    def __enter__(self) -> Listening:
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("listener failed: " + self.proc.stderr.read())
        for spec in line.split():
            proto, ip, port = spec.split(",")
            self.bound.append((proto, ip, int(port)))
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __exit__(self, *exc):
        if self.proc:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _ss_entries() -> set[tuple[str, str, int, int | None]]:
    """(proto, ip, port, pid) from ``ss -ltnup -H`` (one per owning pid)."""
    out = subprocess.run(["ss", "-ltnup", "-H"], capture_output=True, text=True, check=True).stdout
    entries = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        proto, local = parts[0], parts[4]
        ip, _, port = local.rpartition(":")
        ip = ip.strip("[]").split("%", 1)[0]
        if ip == "*":
            ip = "0.0.0.0"
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)] or [None]
        for pid in pids:
            entries.add((proto, ip, int(port), pid))
    return entries


def _ours(entries, ports: set[int]):
    return {e for e in entries if e[2] in ports}


# --------------------------------------------------------------------------- host


def test_read_listeners_names_own_process_and_matches_ss():
    specs = ["tcp,127.0.0.1,0", "udp,127.0.0.1,0"]
    if _has_ipv6_loopback():
        specs += ["tcp,::1,0", "udp,::1,0"]
    with Listening(specs) as lst:
        notes: list[str] = []
        listeners = read_listeners(notes)
        ss = _ss_entries()
        ports = {p for _, _, p in lst.bound}
        mine = [li for li in listeners if li.pid == lst.pid]
        got = {(li.protocol, li.ip, li.port) for li in mine}
        assert got == set(lst.bound), (got, lst.bound)
        for li in mine:
            assert li.process and li.process.startswith("python"), li
            assert lst.marker in li.cmdline
            assert li.family == (6 if ":" in li.ip else 4)
            assert li.protocol in ("tcp", "udp")
            assert classify_owner(li) == "foreign"
        # same set as ss for the ports we opened
        ours_ss = _ours(ss, ports)
        ours_ps = _ours({(li.protocol, li.ip, li.port, li.pid) for li in listeners}, ports)
        assert ours_ps == ours_ss, (ours_ps, ours_ss)
        # reading our own netns through /proc/<pid>/net gives the same sockets
        via_proc = read_netns_listeners(lst.pid)
        assert {
            (li.protocol, li.ip, li.port, li.pid) for li in via_proc if li.port in ports
        } == ours_ps
        assert os.geteuid() != 0 or not any("not root" in n for n in notes)


def test_read_listeners_dedupes_shared_socket():
    """A socket held by two fds of a parent and by its child is one listener
    (psutil attributes a socket to the first pid it finds holding it)."""
    code = (
        "import socket,os,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); "
        "s.listen(); print(s.getsockname()[1], flush=True); s2=os.dup(s.fileno()); "
        "pid=os.fork()\nif pid==0: time.sleep(30); os._exit(0)\n"
        "print(pid, flush=True); sys.stdin.read(); os.kill(pid,9)"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(p.stdout.readline())
        child = int(p.stdout.readline())
        rows = [li for li in read_listeners() if li.port == port and li.protocol == "tcp"]
        assert len(rows) == 1 and rows[0].pid in (p.pid, child), rows
    finally:
        p.stdin.close()
        p.wait(10)


def test_read_listeners_timing():
    importlib.import_module("psutil")  # import cost is not the function's

    read_listeners()
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        n = len(read_listeners())
        runs.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(["ss", "-ltnup", "-H"], capture_output=True, check=True)
    ss_time = time.perf_counter() - t
    nproc = sum(1 for e in os.listdir("/proc") if e.isdigit())
    print(
        f"\nread_listeners: {n} listeners, {nproc} processes, "
        f"best {min(runs) * 1000:.1f} ms, median {sorted(runs)[2] * 1000:.1f} ms "
        f"(ss -ltnup: {ss_time * 1000:.1f} ms)"
    )
    assert min(runs) < 1.0


# --------------------------------------------------------------------------- parsing


def test_parse_proc_net_hex():
    tcp = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n"
        "   1: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0 100 0 0 10 0\n"
    )
    assert parse_proc_net(tcp, "tcp", 4) == [("127.0.0.1", 8080, "0A", 4242)]
    tcp6 = (
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n"
        "   1: 000080FE00000000FF0C0C0204AC11AC:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 78 2 0 0\n"
    )
    assert parse_proc_net(tcp6, "tcp", 6) == [("::1", 80, "0A", 77)]
    udp = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
        "   5: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0 0\n"
        "   6: 0100007F:14EA 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 98 2 0 0\n"
    )
    assert parse_proc_net(udp, "udp", 4) == [("0.0.0.0", 5353, "07", 99)]


def test_parse_proc_net_ipv6_word_order():
    # fe80::1 as the kernel prints it: four little-endian 32-bit words
    import ipaddress
    import struct

    addr = ipaddress.IPv6Address("fe80::42:acff:fe11:2")
    words = struct.unpack(">4I", addr.packed)
    hexed = "".join(struct.pack("<I", w).hex().upper() for w in words)
    line = f"  sl header\n   0: {hexed}:1F90 {'0' * 32}:0000 0A 0 0 0 0 0 55 1\n"
    assert parse_proc_net(line, "tcp", 6) == [(str(addr), 8080, "0A", 55)]


def test_proxy_target_and_classify():
    cmd = [
        "/usr/bin/docker-proxy",
        "-proto",
        "tcp",
        "-host-ip",
        "0.0.0.0",
        "-host-port",
        "8080",
        "-container-ip",
        "172.17.0.2",
        "-container-port",
        "80",
        "-use-listen-fd",
    ]
    assert proxy_target(cmd) == ("tcp", "0.0.0.0", 8080, "172.17.0.2", 80)
    cmd2 = [
        "docker-proxy",
        "--proto=udp",
        "--host-ip=::",
        "--host-port=53",
        "--container-ip=fd00::2",
        "--container-port=5353",
    ]
    assert proxy_target(cmd2) == ("udp", "::", 53, "fd00::2", 5353)
    assert proxy_target(["nginx", "-g", "daemon off;"]) is None
    assert proxy_target([]) is None

    li = Listener(
        protocol="tcp", ip="0.0.0.0", port=8080, pid=1, process="docker-proxy", cmdline=cmd
    )
    assert classify_owner(li) == "docker-proxy"
    assert (li.owner, li.container_ip, li.container_port) == ("docker-proxy", "172.17.0.2", 80)
    assert (
        classify_owner(Listener("tcp", "0.0.0.0", 80, 2, "dockerd", cmdline=["/usr/bin/dockerd"]))
        == "dockerd"
    )
    assert (
        classify_owner(
            Listener(
                "tcp", "0.0.0.0", 80, 3, "rootlesskit", cmdline=["rootlesskit", "--net=slirp4netns"]
            )
        )
        == "rootlesskit"
    )
    assert (
        classify_owner(
            Listener(
                "udp",
                "127.0.0.53",
                53,
                4,
                "systemd-resolve",
                cmdline=["/lib/systemd/systemd-resolved"],
            )
        )
        == "foreign"
    )
    assert classify_owner(Listener("tcp", "0.0.0.0", 2024)) is None


# --------------------------------------------------------------------------- netns


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the netns test as root")
        pytest.skip("needs root and iproute2")
    name = f"dstest-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_read_netns_listeners_sees_other_namespace(netns):
    specs = ["tcp,127.0.0.1,0", "tcp,0.0.0.0,0", "udp,0.0.0.0,0", "tcp,::,0"]
    with Listening(specs, prefix=["ip", "netns", "exec", netns]) as lst:
        inside = read_netns_listeners(lst.pid)
        got = {(li.protocol, li.ip, li.port) for li in inside if li.pid == lst.pid}
        assert got == set(lst.bound)
        for li in inside:
            if li.pid == lst.pid:
                assert li.process.startswith("python") and lst.marker in li.cmdline
        loop = [li for li in inside if li.ip == "127.0.0.1"]
        assert loop and loop[0].family == 4  # "app bound to 127.0.0.1 inside"
        six = [li for li in inside if li.ip == "::"]
        assert six and six[0].family == 6
        # psutil reads only our own namespace: none of these is on the host
        host = read_listeners()
        assert not [li for li in host if li.pid == lst.pid]
        # the raw file says the same (state 0A, little-endian hex)
        with open(f"/proc/{lst.pid}/net/tcp") as fh:
            text = fh.read()
        port = next(p for proto, ip, p in lst.bound if ip == "127.0.0.1")
        assert f"0100007F:{port:04X} 00000000:0000 0A" in text


def test_read_netns_listeners_gone_process():
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(ProcessLookupError):
        read_netns_listeners(p.pid)


# --------------------------------------------------------------------------- docker-proxy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _container_ip(daemon, cid: str) -> str:
    return daemon.docker(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", cid
    ).stdout.strip()


def _wait_listener(pred, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        found = [li for li in read_listeners() if pred(li)]
        if found or time.time() > deadline:
            return found
        time.sleep(0.2)


@pytest.mark.engine
def test_docker_proxy_points_at_container(daemon, image, uniq):
    import psutil

    port = _free_port()
    name = f"dstest-web-{uniq}"
    cid = daemon.docker(
        "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", image, "httpd", "-f", "-p", "80"
    ).stdout.strip()
    try:
        cip = _container_ip(daemon, cid)
        assert cip
        found = _wait_listener(lambda li: li.port == port and li.protocol == "tcp")
        assert len(found) == 1, found
        li = found[0]
        assert li.ip == "127.0.0.1" and li.family == 4
        assert li.process == "docker-proxy"
        assert classify_owner(li) == "docker-proxy"
        assert proxy_target(li.cmdline) == ("tcp", "127.0.0.1", port, cip, 80)
        assert li.container_ip == cip and li.container_port == 80
        # it is the child of *our* dockerd
        assert psutil.Process(li.pid).ppid() == daemon.proc.pid

        # inside the container httpd listens on port 80 (seen via /proc/<pid>/net)
        cpid = int(daemon.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
        deadline = time.time() + 10
        while True:
            inside = [x for x in read_netns_listeners(cpid) if x.port == 80]
            if inside or time.time() > deadline:
                break
            time.sleep(0.2)
        assert inside and inside[0].pid == cpid and inside[0].process == "httpd"
        assert inside[0].ip in ("0.0.0.0", "::")
    finally:
        daemon.docker("rm", "-f", cid, check=False)


@pytest.mark.engine
def test_app_bound_to_loopback_inside_container(daemon, image, uniq):
    cid = daemon.docker(
        "run", "-d", "--name", f"dstest-lo-{uniq}", image, "httpd", "-f", "-p", "127.0.0.1:80"
    ).stdout.strip()
    try:
        cpid = int(daemon.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
        deadline = time.time() + 10
        while True:
            inside = [x for x in read_netns_listeners(cpid) if x.port == 80]
            if inside or time.time() > deadline:
                break
            time.sleep(0.2)
        assert [(x.ip, x.pid) for x in inside] == [("127.0.0.1", cpid)]
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_modules_do_not_import_psutil_at_import_time():
    code = (
        "import sys; import inspectors.sockets, inspectors.daemon; "
        "print('psutil' in sys.modules, 'textual' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
        check=True,
    )
    assert r.stdout.split() == ["False", "False"]


def test_listener_reader_keeps_owners_current():
    """The warm reader (console) sees new listeners with their pid and drops closed ones."""
    import socket as _s
    import subprocess as _sp
    import sys as _sys
    import time as _t

    from inspectors.sockets import ListenerReader, read_listeners

    r = ListenerReader()
    first = r.read()
    s = _s.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = _sp.Popen(
        [
            _sys.executable,
            "-c",
            "import socket,time;s=socket.socket();"
            f"s.bind(('127.0.0.1',{port}));s.listen();time.sleep(60)",
        ]
    )
    try:
        for _ in range(50):
            got = [l for l in r.read() if l.port == port]
            if got:
                break
            _t.sleep(0.1)
        assert [(l.protocol, l.pid) for l in got] == [("tcp", p.pid)]

        def mine(ls):
            return {
                (l.protocol, l.ip, l.port, l.pid, l.process)  # noqa: E731
                for l in ls
                if l.port == port
            }

        assert mine(r.read()) == mine(read_listeners())
    finally:
        p.kill()
        p.wait()
    assert not [l for l in r.read() if l.port == port]
    assert not [l for l in first if l.port == port]
