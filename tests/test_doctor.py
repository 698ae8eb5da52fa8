"""Doctor rules against real faults.

Every rule test injects the real fault (on the test engine, on interfaces the
test creates, or inside a network namespace the test creates when the host
itself must not be broken), sees the finding, removes the fault and sees the
finding gone. Per-namespace host facts (ip_forward, iptables, the egress
route) are read inside a test netns through ``gather_facts(netns=...)``; the
conntrack counters through ``gather_facts(proc_root=DIR)`` (the host's table
cannot be filled safely). Nothing here sends traffic anywhere.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from inspectors.doctor import RULES, Finding, run_doctor
from inspectors.hostfacts import gather_facts, parse_dnat, parse_iptables_save
from tests.helpers import dock, sh, snapshot

pytestmark = pytest.mark.engine
IMAGE = "dockscope-busybox:test"
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers


def doctor(daemon, **facts_kw) -> list[Finding]:
    snap = snapshot(daemon)
    return run_doctor(snap, gather_facts(snap, **facts_kw))


def hits(findings, rule: str, *objs: str, severity: str | None = None) -> list[Finding]:
    return [
        f
        for f in findings
        if f.rule == rule
        and all(o in f.objects for o in objs)
        and (severity is None or f.severity == severity)
    ]


class Resources:
    """Containers, networks, links and netns a test creates; removed at teardown."""

    def __init__(self, daemon, uniq: str):
        self.d = daemon
        self.uniq = uniq
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.links: list[str] = []
        self.netns: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.socks: list[socket.socket] = []

    def name(self, base: str) -> str:
        return f"ds{base}{self.uniq}"

    def run(
        self, name: str, *args: str, cmd: tuple[str, ...] = ("sleep", "3600"), create: bool = False
    ) -> str:
        self.containers.append(name)
        dock(
            self.d,
            "create" if create else "run",
            *([] if create else ["-d"]),
            "--name",
            name,
            *args,
            IMAGE,
            *cmd,
        )
        return name

    def net(self, name: str, *args: str) -> str:
        self.networks.append(name)
        dock(self.d, "network", "create", *args, name)
        return name

    def link(self, name: str, *args: str) -> str:
        self.links.append(name)
        sh("ip", "link", "add", name, *args)
        return name

    def ns(self, name: str) -> str:
        self.netns.append(name)
        sh("ip", "netns", "add", name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return f"/var/run/netns/{name}"

    def close(self) -> None:
        for s in self.socks:
            s.close()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.containers:
            self.d.docker("rm", "-f", *self.containers, check=False)
        for n in self.networks:
            self.d.docker("network", "rm", n, check=False)
        for l in self.links:
            sh("ip", "link", "del", l, check=False)
        for n in self.netns:
            sh("ip", "netns", "del", n, check=False)


@pytest.fixture
def res(daemon, uniq):
    r = Resources(daemon, uniq)
    yield r
    r.close()


def host_veth(snap, cname: str) -> str:
    c = snap.container(cname)
    for i in c.interfaces:
        if i.host_veth:
            return i.host_veth
    raise AssertionError(f"no host veth for {cname}: {c.interfaces} {c.sandbox_note}")


def bridge_of(snap, net: str) -> str:
    return snap.network(net).bridge


def free_port() -> int:
    """A TCP port free on every address, below the ephemeral range so no
    client connection of another test can be handed it meanwhile."""
    import random

    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for _ in range(200):
        port = random.randrange(max(1024, lo - 12000), lo)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def subnet_in_pool(daemon, index: int, prefix: int = 24) -> str:
    base = int(daemon.pool.network_address) + index * 256
    return f"{ipaddress.ip_address(base)}/{prefix}"


def docker_chains(ns: str) -> None:
    for t, c in (
        ("filter", "DOCKER"),
        ("filter", "DOCKER-USER"),
        ("filter", "DOCKER-ISOLATION-STAGE-1"),
        ("nat", "DOCKER"),
    ):
        sh("ip", "netns", "exec", ns, "iptables", "-t", t, "-N", c)


# --------------------------------------------------------------------------- meta


def test_at_least_15_documented_rules():
    assert len(RULES) >= 15
    for r in RULES:
        assert r.__name__.startswith("rule_") and (r.__doc__ or "").strip(), r.__name__


# --------------------------------------------------------------------------- R1


def test_ip_forward_off_in_a_test_netns(daemon, res):
    ns = res.ns(res.name("fw"))
    nsname = Path(ns).name
    sh("ip", "netns", "exec", nsname, "sysctl", "-qw", "net.ipv4.ip_forward=0")
    f = doctor(daemon, netns=ns)
    hit = hits(f, "ip_forward_off", "net.ipv4.ip_forward", severity="error")
    assert hit and "ip_forward = 0" in hit[0].evidence[0] and hit[0].check
    # the host itself was never touched
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    sh("ip", "netns", "exec", nsname, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    assert not hits(doctor(daemon, netns=ns), "ip_forward_off")


def test_forwarding_off_on_one_bridge(daemon, res):
    net = res.net(res.name("fwn"))
    res.run(res.name("fwc"), "--network", net)
    br = bridge_of(snapshot(daemon), net)
    knob = Path(f"/proc/sys/net/ipv4/conf/{br}/forwarding")
    assert knob.read_text().strip() == "1"
    knob.write_text("0")
    try:
        hit = hits(doctor(daemon), "ip_forward_off", net, br)
        assert hit and hit[0].severity == "error" and hit[0].kind == "network"
    finally:
        knob.write_text("1")
    assert not hits(doctor(daemon), "ip_forward_off", net)


# --------------------------------------------------------------------------- R10


def test_names_on_the_default_bridge(daemon, res):
    db = res.run(res.name("db"))
    app = res.run(res.name("app"), "-e", f"DB_HOST={db}")
    f = doctor(daemon)
    hit = hits(f, "default_bridge_names", app, db)
    assert hit and hit[0].severity == "warning" and "env DB_HOST" in hit[0].message
    # the fault is real: the name does not resolve from app
    r = daemon.docker("exec", app, "nslookup", db, check=False)
    assert r.returncode != 0 or "can't resolve" in (r.stdout + r.stderr)
    # fix: a user-defined network shared by both
    net = res.net(res.name("names"))
    daemon.docker("network", "connect", net, db)
    daemon.docker("network", "connect", net, app)
    assert not hits(doctor(daemon), "default_bridge_names", app, db)


def test_compose_service_on_the_default_bridge(daemon, res):
    c = res.run(
        res.name("cmp"),
        "-l",
        "com.docker.compose.project=shop",
        "-l",
        "com.docker.compose.service=web",
    )
    hit = hits(doctor(daemon), "default_bridge_names", c)
    assert hit and "project shop" in hit[0].message
    daemon.docker("rm", "-f", c)
    assert not hits(doctor(daemon), "default_bridge_names", c)


# --------------------------------------------------------------------------- R11


def test_peers_that_share_no_network(daemon, res):
    n1, n2 = res.net(res.name("pa")), res.net(res.name("pb"))
    proj = f"proj{res.uniq}"
    a = res.run(res.name("pca"), "--network", n1, "-l", f"com.docker.compose.project={proj}")
    b = res.run(res.name("pcb"), "--network", n2, "-l", f"com.docker.compose.project={proj}")
    hit = hits(doctor(daemon), "peers_no_common_network", a, b)
    assert (
        hit and hit[0].severity == "warning" and f"same compose project {proj}" in hit[0].evidence
    )
    daemon.docker("network", "connect", n1, b)
    assert not hits(doctor(daemon), "peers_no_common_network", a, b)


# --------------------------------------------------------------------------- R14 / R35


def test_requested_port_held_by_a_squatter(daemon, res):
    port = free_port()
    squat = socket.socket()
    squat.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squat.bind(("0.0.0.0", port))
    squat.listen(1)
    res.socks.append(squat)
    c = res.run(res.name("sq"), "-p", f"{port}:80", create=True, cmd=("httpd", "-f", "-p", "80"))
    hit = hits(doctor(daemon), "port_conflict", c, f"{port}/tcp", severity="error")
    assert hit and "python" in hit[0].message
    # the fault is real: the container cannot start
    assert daemon.docker("start", c, check=False).returncode != 0
    squat.close()
    left = hits(doctor(daemon), "port_conflict", c)
    assert not left, (
        "the squatter is gone, yet: "
        + "; ".join(f.message + " | " + " / ".join(f.evidence) for f in left)
        + f" (this pytest is pid {os.getpid()})"
    )
    daemon.docker("start", c)


def test_published_port_without_host_listener(daemon, res):
    import psutil

    c = res.run(res.name("px"), "-p", "80", cmd=("httpd", "-f", "-p", "80"))
    snap = snapshot(daemon)
    port = next(p.host_port for p in snap.container(c).ports if p.host_port)
    assert not hits(doctor(daemon), "port_conflict", c)
    dpid = daemon.proc.pid
    proxies = [
        p
        for p in psutil.Process(dpid).children()
        if p.name() == "docker-proxy" and str(port) in p.cmdline()
    ]
    assert proxies, "docker-proxy of the test container not found"
    for p in proxies:  # this test's own container's proxy, by pid
        os.kill(p.pid, signal.SIGKILL)
    for _ in range(50):  # dockerd may leave it a zombie: wait for the socket to go
        if not any(
            c.laddr.port == port and c.status == psutil.CONN_LISTEN
            for c in psutil.net_connections("tcp")
        ):
            break
        time.sleep(0.1)
    hit = hits(doctor(daemon), "port_conflict", c, f"{port}/tcp", severity="error")
    assert hit and "nothing listens on the host port" in hit[0].message
    daemon.docker("restart", "-t", "1", c)
    assert not hits(doctor(daemon), "port_conflict", c)


def test_port_published_on_loopback_only(daemon, res):
    c = res.run(res.name("lo"), "-p", "127.0.0.1::80", cmd=("httpd", "-f", "-p", "80"))
    hit = hits(doctor(daemon), "port_loopback_only", c)
    assert hit and "127.0.0.1" in hit[0].message
    daemon.docker("rm", "-f", c)
    c2 = res.run(res.name("lo2"), "-p", "80", cmd=("httpd", "-f", "-p", "80"))
    f = doctor(daemon)
    assert not hits(f, "port_loopback_only", c) and not hits(f, "port_loopback_only", c2)


# --------------------------------------------------------------------------- R13


def test_container_listening_on_loopback_or_not_at_all(daemon, res):
    lo = res.run(res.name("l127"), "-p", "80", cmd=("httpd", "-f", "-p", "127.0.0.1:80"))
    none = res.run(res.name("lnone"), "-p", "80")
    time.sleep(0.5)
    f = doctor(daemon)
    h1 = hits(f, "container_not_listening", lo, "80/tcp", severity="error")
    assert h1 and "only on 127.0.0.1" in h1[0].message
    h2 = hits(f, "container_not_listening", none, "80/tcp", severity="error")
    assert h2 and "nothing listens" in h2[0].message
    daemon.docker("rm", "-f", lo, none)
    good = res.run(res.name("l0"), "-p", "80", cmd=("httpd", "-f", "-p", "80"))
    time.sleep(0.5)
    assert not hits(doctor(daemon), "container_not_listening", good)


# --------------------------------------------------------------------------- R4


def test_subnet_overlapping_a_vpn_route(daemon, res):
    net = res.net(res.name("ov"))
    snap = snapshot(daemon)
    subnet = snap.network(net).subnets[0].subnet
    vpn = res.link(f"dsvpn{res.uniq}"[:15], "type", "veth", "peer", "name", f"dsvpp{res.uniq}"[:15])
    sh("ip", "link", "set", vpn, "up")
    # a higher metric than the bridge's own route: the host's routing is unchanged
    sh("ip", "route", "add", subnet, "dev", vpn, "metric", "4242")
    try:
        hit = hits(doctor(daemon), "subnet_overlap", net, vpn, severity="error")
        assert hit and subnet in hit[0].message
    finally:
        sh("ip", "route", "del", subnet, "dev", vpn, "metric", "4242")
    assert not hits(doctor(daemon), "subnet_overlap", net)
    # an address of the subnet on another interface (a /32: no route comes with it)
    addr = str(ipaddress.ip_network(subnet).network_address + 250) + "/32"
    sh("ip", "addr", "add", addr, "dev", vpn)
    try:
        hit = hits(doctor(daemon), "subnet_overlap", net, vpn, severity="error")
        assert hit and f"address {addr} on {vpn}" in hit[0].message
    finally:
        sh("ip", "addr", "del", addr, "dev", vpn)
    assert not hits(doctor(daemon), "subnet_overlap", net)


_IMPORTS_PROBE = """
import atexit, json, os, sys
main_pid, seen, out = os.getpid(), set(), sys.argv[1]

def hook(event, args):
    if event == "import" and os.getpid() == main_pid:
        seen.add(args[0].split(".")[0])

sys.addaudithook(hook)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(seen))))
sys.argv = ["dockscope", "doctor", "--json"]
from tui.cli import main
sys.exit(main())
"""


def test_doctor_reads_the_host_routes_in_its_reader_process(daemon, res, tmp_path):
    """`dockscope doctor` as root on two cores forks its reader process before it
    imports anything heavy, and that process reads the host's IPv4 routes and walks the
    processes for dockerd too: the doctor's own process never imports pyroute2 or
    psutil (~0.19 and ~0.09 s of its GIL at 300 containers), and a route only the
    reader read still makes its finding. The routes, default gateway and egress it
    hands over equal this process's read."""
    from inspectors import kernel
    from inspectors.hostfacts import RoutePart, _route_part, route_part_in_child
    from inspectors.readerproc import ReaderProcess, cpus

    net = res.net(res.name("rr"))
    subnet = snapshot(daemon).network(net).subnets[0].subnet
    vpn = res.link(f"dsrr{res.uniq}"[:15], "type", "veth", "peer", "name", f"dsrq{res.uniq}"[:15])
    sh("ip", "link", "set", vpn, "up")
    sh("ip", "route", "add", subnet, "dev", vpn, "metric", "4243")
    try:
        out = tmp_path / "imports.json"
        r = subprocess.run(
            [sys.executable, "-c", _IMPORTS_PROBE, str(out)],
            capture_output=True,
            text=True,
            env=daemon.env(),
            cwd=ROOT,
            timeout=120,
        )
        assert r.returncode in (0, 1), r.stderr
        imported = set(json.loads(out.read_text()))
        assert "docker" in imported  # the probe sees the doctor's imports
        assert ("pyroute2" in imported) == (cpus() < 2), sorted(imported)
        assert ("psutil" in imported) == (cpus() < 2), sorted(imported)
        found = [
            f
            for f in json.loads(r.stdout)["findings"]
            if f["rule"] == "subnet_overlap" and {net, vpn} <= set(f["objects"])
        ]
        assert found and subnet in found[0]["message"], found
        notes = json.loads(r.stdout)["notes"]  # the reader's walk found this engine's dockerd
        assert not [n for n in notes if "dockerd process not found" in n], notes

        for _ in range(3):  # another test's engine may add a route between the reads
            rp = ReaderProcess()
            try:
                rp.early_dumps(False)
                theirs = rp.call(route_part_in_child, False).result(60)
            finally:
                rp.close()
            with kernel.open_ipr() as ipr:
                names = {lk.index: lk.name for lk in kernel.read_links(ipr)}
                mine = _route_part(ipr, names, False)
            if theirs == mine:
                break
        assert isinstance(theirs, RoutePart) and theirs == mine
        assert any(rt.dst == subnet and rt.dev == vpn for rt in theirs.routes)
        assert not theirs.ipv6 and all(rt.family == 4 for rt in theirs.routes)
    finally:
        sh("ip", "route", "del", subnet, "dev", vpn, "metric", "4243", check=False)


# --------------------------------------------------------------------------- R21


def test_macvlan_parent_down_and_missing(daemon, res):
    parent = res.link(
        f"dsmp{res.uniq}"[:15], "type", "veth", "peer", "name", f"dsmq{res.uniq}"[:15]
    )
    sh("ip", "link", "set", f"dsmq{res.uniq}"[:15], "up")  # the peer gives it carrier
    sh("ip", "link", "set", parent, "up")
    net = res.net(
        res.name("mv"),
        "-d",
        "macvlan",
        "-o",
        f"parent={parent}",
        "--subnet",
        subnet_in_pool(daemon, 240),
    )
    res.run(res.name("mvc"), "--network", net)
    f = doctor(daemon)
    assert not hits(f, "macvlan_parent", net)  # up, and the kernel made it promiscuous
    sh("ip", "link", "set", parent, "down")
    hit = hits(doctor(daemon), "macvlan_parent", net, parent, severity="error")
    assert hit and "is down" in hit[0].message
    sh("ip", "link", "set", parent, "up")
    assert not hits(doctor(daemon), "macvlan_parent", net)
    sh("ip", "link", "del", parent)
    hit = hits(doctor(daemon), "macvlan_parent", net, parent, severity="error")
    assert hit and "does not exist" in hit[0].message


# --------------------------------------------------------------------------- R26


def test_bridge_port_down_and_detached(daemon, res):
    net = res.net(res.name("bp"))
    c = res.run(res.name("bpc"), "--network", net)
    snap = snapshot(daemon)
    veth, br = host_veth(snap, c), bridge_of(snap, net)
    assert not hits(doctor(daemon), "bridge_port_broken", veth)
    sh("ip", "link", "set", veth, "down")
    hit = hits(doctor(daemon), "bridge_port_broken", veth, c, severity="error")
    assert hit and "not forwarding" in hit[0].message
    sh("ip", "link", "set", veth, "up")
    time.sleep(0.2)
    assert not hits(doctor(daemon), "bridge_port_broken", veth)
    sh("ip", "link", "set", veth, "nomaster")
    hit = hits(doctor(daemon), "bridge_port_broken", veth, c, severity="error")
    assert hit and "detached" in hit[0].message
    sh("ip", "link", "set", veth, "master", br)
    time.sleep(0.2)
    assert not hits(doctor(daemon), "bridge_port_broken", veth)


# --------------------------------------------------------------------------- R25


def test_bridge_down_and_gateway_lost(daemon, res):
    net = res.net(res.name("bd"))
    res.run(res.name("bdc"), "--network", net)
    snap = snapshot(daemon)
    br = bridge_of(snap, net)
    s = snap.network(net).subnets[0]
    sh("ip", "link", "set", br, "down")
    try:
        hit = hits(doctor(daemon), "bridge_down", net, br, severity="error")
        assert hit and "administratively down" in hit[0].message
    finally:
        sh("ip", "link", "set", br, "up")
    assert not hits(doctor(daemon), "bridge_down", net)
    cidr = f"{s.gateway}/{s.subnet.split('/')[1]}"
    sh("ip", "addr", "del", cidr, "dev", br)
    try:
        hit = hits(doctor(daemon), "bridge_down", net, severity="error")
        assert hit and "lost its gateway" in hit[0].message
    finally:
        sh("ip", "addr", "add", cidr, "dev", br)
    assert not hits(doctor(daemon), "bridge_down", net)


# --------------------------------------------------------------------------- R5


def test_orphan_bridge(daemon, res):
    name = "br-" + uuid.uuid4().hex[:12]
    res.link(name, "type", "bridge")
    hit = hits(doctor(daemon), "orphan_bridge", name, severity="warning")
    assert hit and "of this engine" in hit[0].message
    sh("ip", "link", "del", name)
    assert not hits(doctor(daemon), "orphan_bridge", name)


# --------------------------------------------------------------------------- R6


def test_mtu_above_the_egress_mtu_in_a_test_netns(daemon, res):
    net = res.net(res.name("mtu"))
    ns = res.ns(res.name("mt"))
    nsname = Path(ns).name
    sh(
        "ip",
        "-n",
        nsname,
        "link",
        "add",
        "up0",
        "mtu",
        "1400",
        "type",
        "veth",
        "peer",
        "name",
        "up1",
    )
    sh("ip", "-n", nsname, "link", "set", "up0", "up")
    sh("ip", "-n", nsname, "addr", "add", "198.18.0.2/24", "dev", "up0")
    sh("ip", "-n", nsname, "route", "add", "default", "via", "198.18.0.1")
    hit = hits(doctor(daemon, netns=ns), "mtu_mismatch", net, severity="warning")
    assert hit and "MTU 1400" in hit[0].message and "up0" in hit[0].message
    sh("ip", "-n", nsname, "link", "set", "up0", "mtu", "1500")
    assert not hits(doctor(daemon, netns=ns), "mtu_mismatch", net)


# --------------------------------------------------------------------------- R23


def test_network_without_free_addresses(daemon, res):
    net = res.net(res.name("full"), "--subnet", subnet_in_pool(daemon, 250, 30))
    c = res.run(res.name("fc1"), "--network", net)
    hit = hits(doctor(daemon), "network_exhausted", net, severity="error")
    assert hit and "no free IPv4 address" in hit[0].message
    # the fault is real: a second container cannot join
    r = daemon.docker(
        "run", "-d", "--name", res.name("fc2"), "--network", net, IMAGE, "true", check=False
    )
    res.containers.append(res.name("fc2"))
    assert r.returncode != 0 and "no available" in r.stderr
    daemon.docker("rm", "-f", c, res.name("fc2"))
    assert not hits(doctor(daemon), "network_exhausted", net)


# --------------------------------------------------------------------------- R8


def test_loopback_only_host_resolver(daemon, res, tmp_path):
    c = res.run(res.name("dns"))
    rc = tmp_path / "resolv.conf"
    rc.write_text("# systemd-resolved stub\nnameserver 127.0.0.53\noptions edns0\n")
    hit = hits(doctor(daemon, resolv_conf=str(rc)), "resolv_loopback", c, severity="warning")
    assert hit and "127.0.0.53" in hit[0].evidence[0]
    rc.write_text("nameserver 192.0.2.53\nnameserver 127.0.0.53\n")
    assert not hits(doctor(daemon, resolv_conf=str(rc)), "resolv_loopback", c)


# --------------------------------------------------------------------------- R2 / R18 / R19


def test_forward_policy_drop_in_a_test_netns(daemon, res):
    net = res.net(res.name("fd"))
    res.run(res.name("fdc"), "--network", net)
    ns = res.ns(res.name("fp"))
    nsname = Path(ns).name
    sh("ip", "netns", "exec", nsname, "iptables", "-P", "FORWARD", "DROP")
    hit = hits(doctor(daemon, netns=ns), "forward_policy_drop", net, severity="error")
    assert hit and ":FORWARD DROP" in hit[0].evidence
    sh("ip", "netns", "exec", nsname, "iptables", "-P", "FORWARD", "ACCEPT")
    assert not hits(doctor(daemon, netns=ns), "forward_policy_drop", net)


def test_docker_chains_missing_in_a_test_netns(daemon, res):
    ns = res.ns(res.name("ch"))
    nsname = Path(ns).name
    hit = hits(doctor(daemon, netns=ns), "docker_chains_missing", "nat/DOCKER", severity="error")
    assert hit and "filter/DOCKER-USER" in hit[0].objects
    docker_chains(nsname)
    assert not hits(doctor(daemon, netns=ns), "docker_chains_missing")


def test_dnat_missing_for_a_published_port(daemon, res):
    c = res.run(res.name("dn"), "-p", "80", cmd=("httpd", "-f", "-p", "80"))
    snap = snapshot(daemon)
    cc = snap.container(c)
    port = next(p.host_port for p in cc.ports if p.host_port)
    ip = cc.endpoints[0].ipv4
    ns = res.ns(res.name("dn"))
    nsname = Path(ns).name
    docker_chains(nsname)
    rule = [
        "-t",
        "nat",
        "DOCKER",
        "!",
        "-i",
        daemon.bridge,
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        str(port),
        "-j",
        "DNAT",
        "--to-destination",
        f"{ip}:80",
    ]
    sh("ip", "netns", "exec", nsname, "iptables", "-t", "nat", "-A", *rule[2:])
    assert not hits(doctor(daemon, netns=ns), "dnat_missing", c)
    sh("ip", "netns", "exec", nsname, "iptables", "-t", "nat", "-D", *rule[2:])
    hit = hits(doctor(daemon, netns=ns), "dnat_missing", c, f"{port}/tcp", severity="error")
    assert hit and f"--dport {port}" in hit[0].check
    sh("ip", "netns", "exec", nsname, "iptables", "-t", "nat", "-A", *rule[2:])
    assert not hits(doctor(daemon, netns=ns), "dnat_missing", c)


def test_split_iptables_rulesets_in_a_test_netns(daemon, res):
    if not shutil.which("iptables-legacy"):
        pytest.skip("iptables-legacy is not installed")
    ns = res.ns(res.name("sp"))
    nsname = Path(ns).name
    docker_chains(nsname)
    assert not hits(doctor(daemon, netns=ns), "iptables_variant", "iptables")
    other = "iptables-legacy" if "nf_tables" in sh("iptables", "-V").stdout else "iptables-nft"
    sh("ip", "netns", "exec", nsname, other, "-N", "DOCKER")
    hit = hits(doctor(daemon, netns=ns), "iptables_variant", "iptables", severity="error")
    assert hit and "both iptables variants" in hit[0].message
    sh("ip", "netns", "exec", nsname, other, "-X", "DOCKER")
    assert not hits(doctor(daemon, netns=ns), "iptables_variant", "iptables")


# --------------------------------------------------------------------------- R29


@pytest.fixture
def daemon_json(daemon):
    path = Path(daemon.config_file)
    saved = path.read_bytes()
    yield path
    path.write_bytes(saved)


def test_daemon_json_invalid_conflicting_unknown(daemon, daemon_json):
    path = str(daemon_json)
    daemon_json.write_text('{"debug": true,\n "log-level": "info"\n')  # missing brace
    hit = hits(doctor(daemon), "daemon_config", path, severity="error")
    assert hit and "invalid" in hit[0].message and "line" in hit[0].message
    daemon_json.write_text(json.dumps({"bridge": "docker0"}))  # dockerd gets --bridge too
    hit = hits(doctor(daemon), "daemon_config", "bridge", severity="error")
    assert hit and "also gets as a flag" in hit[0].message
    daemon_json.write_text(json.dumps({"registry-mirror": ["https://m.invalid"]}))
    hit = hits(doctor(daemon), "daemon_config", "registry-mirror", severity="warning")
    assert hit
    daemon_json.write_text(json.dumps({"iptables": False}))
    assert hits(doctor(daemon), "iptables_variant", "iptables", severity="warning")
    daemon_json.write_text("{}\n")
    f = doctor(daemon)
    assert not hits(f, "daemon_config") and not hits(f, "iptables_variant", "iptables")


# --------------------------------------------------------------------------- R27


def test_conntrack_near_full(daemon, tmp_path):
    nf = tmp_path / "sys/net/netfilter"
    nf.mkdir(parents=True)
    (nf / "nf_conntrack_max").write_text("1000\n")
    (nf / "nf_conntrack_count").write_text("950\n")
    hit = hits(doctor(daemon, proc_root=str(tmp_path)), "conntrack_full", severity="error")
    assert hit and "95%" in hit[0].message
    (nf / "nf_conntrack_count").write_text("800\n")
    assert hits(doctor(daemon, proc_root=str(tmp_path)), "conntrack_full", severity="warning")
    (nf / "nf_conntrack_count").write_text("12\n")
    assert not hits(doctor(daemon, proc_root=str(tmp_path)), "conntrack_full")


# --------------------------------------------------------------------------- R3 / R34


def test_br_netfilter_off_with_icc_disabled(daemon, res):
    net = res.net(res.name("icc"), "-o", "com.docker.network.bridge.enable_icc=false")
    res.run(res.name("iccc"), "--network", net)
    ns = res.ns(res.name("bn"))
    nsname = Path(ns).name
    knob = "/proc/sys/net/bridge/bridge-nf-call-iptables"
    sh("ip", "netns", "exec", nsname, "sh", "-c", f"echo 0 > {knob}")
    f = doctor(daemon, netns=ns)
    hit = hits(f, "br_netfilter", net, severity="warning")
    assert hit and "bridge-nf-call-iptables = 0" in hit[0].message
    assert hits(f, "isolation_by_design", net)  # and ICC-off is listed as by design
    sh("ip", "netns", "exec", nsname, "sh", "-c", f"echo 1 > {knob}")
    assert not hits(doctor(daemon, netns=ns), "br_netfilter", net)


def test_internal_network_listed_as_by_design(daemon, res):
    net = res.net(res.name("int"), "--internal")
    c = res.run(res.name("intc"), "--network", net)
    hit = hits(doctor(daemon), "isolation_by_design", net, severity="info")
    assert hit and "internal" in hit[0].message
    daemon.docker("rm", "-f", c)
    assert not hits(doctor(daemon), "isolation_by_design", net)


# --------------------------------------------------------------------------- R15


def test_stale_docker_proxy(daemon, res):
    proxy = shutil.which("docker-proxy") or "/usr/libexec/docker/docker-proxy"
    if not os.path.exists(proxy):
        pytest.skip("docker-proxy is not installed")
    net = res.net(res.name("stl"))
    snap = snapshot(daemon)
    sn = ipaddress.ip_network(snap.network(net).subnets[0].subnet)
    ghost = str(sn.network_address + 200)  # no container has it
    port = free_port()
    # as dockerd starts it: fd 3 is the pipe it reports readiness on
    rfd, wfd = os.pipe()
    p = subprocess.Popen(
        [
            proxy,
            "-proto",
            "tcp",
            "-host-ip",
            "127.0.0.1",
            "-host-port",
            str(port),
            "-container-ip",
            ghost,
            "-container-port",
            "80",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=False,
        preexec_fn=lambda: os.dup2(wfd, 3),
    )
    os.close(wfd)
    res.procs.append(p)
    os.read(rfd, 16)  # "0\n" once it listens
    os.close(rfd)
    for _ in range(50):
        if any(
            c.laddr.port == port
            for c in __import__("psutil").net_connections("tcp")
            if c.status == "LISTEN"
        ):
            break
        time.sleep(0.1)
    hit = hits(doctor(daemon), "stale_docker_proxy", f"{port}/tcp", net, severity="warning")
    assert hit and ghost in hit[0].message
    p.terminate()
    p.wait(5)
    assert not hits(doctor(daemon), "stale_docker_proxy", f"{port}/tcp")


# --------------------------------------------------------------------------- parsers


def test_iptables_save_parsing():
    text = """# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p udp -m udp --dport 53 -j DNAT --to-destination 172.17.0.3:53
COMMIT
*filter
:FORWARD DROP [0:0]
COMMIT
"""
    chains, rules = parse_iptables_save(text)
    assert chains["filter"]["FORWARD"] == "DROP" and chains["nat"]["DOCKER"] == "-"
    d = parse_dnat(rules["nat"])
    assert [(x.proto, x.dport, x.to_ip, x.to_port, x.dst) for x in d] == [
        ("tcp", 8080, "172.17.0.2", 80, None),
        ("udp", 53, "172.17.0.3", 53, "127.0.0.1"),
    ]


# --------------------------------------------------------------------------- CLI


def _ensure_dnat(daemon, snap, cname: str) -> list[list[str]]:
    """Another dockerd starting on this host flushes the shared nat DOCKER chain; put
    back (as dockerd would on restart) the DNAT of this test's container if gone."""
    added = []
    save = sh("iptables-save", "-t", "nat").stdout
    c = snap.container(cname)
    ip = next(e.ipv4 for e in c.endpoints if e.ipv4)
    for p in c.ports:
        if p.host_port and ":" not in (p.host_ip or "") and f"--dport {p.host_port} " not in save:
            rule = [
                "DOCKER",
                "!",
                "-i",
                daemon.bridge,
                "-p",
                p.protocol,
                "-m",
                p.protocol,
                "--dport",
                str(p.host_port),
                "-j",
                "DNAT",
                "--to-destination",
                f"{ip}:{p.container_port}",
            ]
            sh("iptables", "-t", "nat", "-A", *rule)
            added.append(rule)
    return added


def test_cli_doctor_on_a_healthy_engine(daemon, res):
    net = res.net(res.name("ok"))
    web = res.run(res.name("okweb"), "--network", net, "-p", "80", cmd=("httpd", "-f", "-p", "80"))
    cli = res.run(res.name("okcli"), "--network", net, "-e", f"BACKEND={web}")
    mine = {net, web, cli}
    snap = snapshot(daemon)
    added = _ensure_dnat(daemon, snap, web)
    try:
        env = daemon.env()
        r = subprocess.run(
            [sys.executable, "-m", "tui", "doctor", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        for rule in added:
            sh("iptables", "-t", "nat", "-D", *rule, check=False)
    data = json.loads(r.stdout)
    assert set(data) >= {"findings"}
    for f in data["findings"]:
        assert {"rule", "severity", "objects", "message", "fix"} <= set(f)
    own = [f for f in data["findings"] if f["severity"] == "error" and mine & set(f["objects"])]
    assert not own, own
    # the harness engine's own objects (default bridge, daemon.json) have no errors either
    harness = {daemon.bridge, "bridge", str(daemon.config_file)}
    assert not [
        f for f in data["findings"] if f["severity"] == "error" and harness & set(f["objects"])
    ]
    assert r.returncode == (1 if any(f["severity"] == "error" for f in data["findings"]) else 0)


def test_cli_doctor_exit_code_follows_errors(daemon, res):
    lo = res.run(res.name("ex"), "-p", "80", cmd=("httpd", "-f", "-p", "127.0.0.1:80"))
    time.sleep(0.3)
    r = subprocess.run(
        [sys.executable, "-m", "tui", "doctor"],
        capture_output=True,
        text=True,
        env=daemon.env(),
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 1
    assert "container_not_listening" in r.stdout and lo in r.stdout
    assert "fix:" in r.stdout and "check:" in r.stdout


# --------------------------------------------------------------------------- report


def test_report_leaves_secrets_out(daemon, res, tmp_path):
    c = res.run(
        res.name("rep"),
        "-e",
        "DB_PASSWORD=hunter2-env-value",
        "-l",
        "app.db.password=hunter2-label-value",
        "-l",
        "team=payments",
        "-l",
        "api_token=tok-secret-value",
        "-l",
        "com.docker.compose.project=evil\x1b[2J\x1b]0;owned\x07proj",
    )
    out = tmp_path / "report.md"
    r = subprocess.run(
        [sys.executable, "-m", "tui", "report", "-o", str(out)],
        capture_output=True,
        text=True,
        env=daemon.env(),
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    md = out.read_text()
    assert md.startswith("# dockscope incident report")
    assert c in md and "team=payments" in md and "## Findings" in md
    for secret in ("hunter2-env-value", "hunter2-label-value", "tok-secret-value", "DB_PASSWORD"):
        assert secret not in md
    assert "app.db.password=<redacted>" in md
    # the label reaches a finding's message, but no escape sequence reaches the file
    assert "evil" in md and "\x1b" not in md and "\x07" not in md
    txt = subprocess.run(
        [sys.executable, "-m", "tui", "doctor"],
        capture_output=True,
        text=True,
        env=daemon.env(),
        cwd=ROOT,
        timeout=120,
    ).stdout
    assert "evil" in txt and "\x1b" not in txt
    assert "## Last daemon log lines" in md
    rj = subprocess.run(
        [sys.executable, "-m", "tui", "report", "--json"],
        capture_output=True,
        text=True,
        env=daemon.env(),
        cwd=ROOT,
        timeout=120,
    )
    data = json.loads(rj.stdout)
    assert {"engine", "findings", "containers", "networks", "events", "daemon_log"} <= set(data)
    assert "hunter2" not in rj.stdout and "tok-secret-value" not in rj.stdout
    mine = next(x for x in data["containers"] if x["name"] == c)
    assert mine["labels"]["api_token"] == "<redacted>" and "env" not in mine
    assert any(e.get("attributes", {}).get("name") == c for e in data["events"])


def test_network_exhausted_from_api_1_52_status():
    """Engines >= 29 (API 1.52) report IPAM usage; this engine (20.10) can't, so the
    documented response shape is parsed here."""
    from inspectors.doctor.rules_networks import rule_network_exhausted
    from inspectors.engine import parse_network
    from inspectors.hostfacts import HostFacts
    from inspectors.model import Snapshot

    def net(avail: int, used: int):
        return parse_network(
            {
                "Id": "f" * 64,
                "Name": "big",
                "Driver": "bridge",
                "IPAM": {"Config": [{"Subnet": "10.99.0.0/16", "Gateway": "10.99.0.1"}]},
                "Status": {
                    "IPAM": {
                        "Subnets": {
                            "10.99.0.0/16": {"IPsInUse": used, "DynamicIPsAvailable": avail}
                        }
                    }
                },
            }
        )

    for avail, used, want in ((0, 65534, "error"), (100, 65434, "warning"), (60000, 5534, None)):
        f = rule_network_exhausted(Snapshot(networks=[net(avail, used)]), HostFacts())
        assert [x.severity for x in f] == ([want] if want else [])
        if want:
            assert "Status.IPAM" in f[0].evidence[0]


# --------------------------------------------------------------------------- issue 10: grouped


def _cli(daemon, tmp_path, *args):
    env = daemon.env()
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env.pop("DOCKSCOPE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_doctor_groups_by_rule_all_and_json(daemon, res, tmp_path):
    many = [
        res.run(res.name(f"grp{i}"), "-p", "80", cmd=("httpd", "-f", "-p", "127.0.0.1:80"))
        for i in range(4)
    ]
    time.sleep(0.3)
    g = _cli(daemon, tmp_path, "doctor", "--rule", "container_not_listening")
    assert g.returncode == 1, g.stderr
    head = [l for l in g.stdout.splitlines() if l.startswith(("ERROR", "WARNING", "INFO"))]
    assert len(head) == 1 and "container_not_listening ×" in head[0], g.stdout
    assert all(c in g.stdout for c in many)
    assert "dockscope doctor --all --rule container_not_listening" in g.stdout
    a = _cli(daemon, tmp_path, "doctor", "--all", "--rule", "container_not_listening")
    blocks = [l for l in a.stdout.splitlines() if l.startswith("ERROR")]
    assert len(blocks) >= 4 and len(a.stdout) > len(g.stdout)
    j = json.loads(_cli(daemon, tmp_path, "doctor", "--json").stdout)
    mine = [f for f in j["findings"] if set(many) & set(f["objects"])]
    assert len(mine) >= 4 and all(f["key"].startswith(f["rule"] + ":") for f in mine)
    grp = next(x for x in j["groups"] if x["rule"] == "container_not_listening")
    assert grp["count"] >= 4
    ranks = [("error", "warning", "info").index(x["severity"]) for x in j["groups"]]
    assert ranks == sorted(ranks)
    o = _cli(daemon, tmp_path, "doctor", "--all", "--object", many[0], "--rule", "not_listening")
    assert many[0] in o.stdout and many[1] not in o.stdout


def test_mute_and_ack_persist_under_xdg_config(daemon, res, tmp_path):
    c = res.run(res.name("mute"), "-p", "80", cmd=("httpd", "-f", "-p", "127.0.0.1:80"))
    time.sleep(0.3)
    base = _cli(daemon, tmp_path, "doctor", "--object", c)
    assert "container_not_listening" in base.stdout
    m = _cli(daemon, tmp_path, "doctor", "--mute", "container_not_listening")
    assert m.returncode == 0, m.stderr
    path = tmp_path / "xdg" / "dockscope" / "mutes.json"
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    muted = _cli(daemon, tmp_path, "doctor", "--object", c)
    assert "container_not_listening" not in muted.stdout and "muted" in muted.stdout
    shown = _cli(daemon, tmp_path, "doctor", "--object", c, "--show-muted")
    assert "container_not_listening [muted]" in shown.stdout
    j = json.loads(_cli(daemon, tmp_path, "doctor", "--json").stdout)
    assert any(f["state"] == "muted" and c in f["objects"] for f in j["findings"])
    _cli(daemon, tmp_path, "doctor", "--unmute", "container_not_listening")
    key = next(f["key"] for f in j["findings"] if c in f["objects"])
    _cli(daemon, tmp_path, "doctor", "--ack", key)
    acked = _cli(daemon, tmp_path, "doctor", "--object", c)
    assert "[acked]" in acked.stdout


# --------------------------------------------------------------------------- issue 10: driver truth


def test_leftover_veth_pair_finding(daemon, res):
    net = res.net(res.name("lv"))
    res.run(res.name("lvh"), "--network", "host")
    x = res.link(f"lvx{res.uniq}", "type", "veth", "peer", "name", f"lvy{res.uniq}")
    br = bridge_of(snapshot(daemon), net)
    sh("ip", "link", "set", x, "master", br)
    sh("ip", "link", "set", x, "up")
    hit = hits(doctor(daemon), "leftover_veth", x)
    assert hit and hit[0].fix == f"ip link del {x}" and "leftover" in hit[0].message
    assert not [
        f for f in doctor(daemon) if x in f.objects and res.name("lvh") in " ".join(f.objects)
    ]


def test_container_holding_a_host_address_is_a_duplicate(daemon, res):
    parent = res.link(f"dpa{res.uniq}", "type", "veth", "peer", "name", f"dpb{res.uniq}")
    sh("ip", "link", "set", parent, "up")
    sh("ip", "addr", "add", "10.198.61.5/24", "dev", parent)
    net = res.net(
        res.name("dup"), "-d", "macvlan", "-o", f"parent={parent}", "--subnet", "10.198.61.0/24"
    )
    c = res.run(res.name("dupc"), "--network", net, "--ip", "10.198.61.5")
    hit = hits(doctor(daemon), "duplicate_address", c, severity="error")
    assert hit and "10.198.61.5" in hit[0].message and parent in hit[0].objects


def test_bridge_deleted_from_under_the_engine_never_suggests_enslaving_to_it(daemon, res):
    net = res.net(res.name("del"))
    c = res.run(res.name("delc"), "--network", net)
    br = bridge_of(snapshot(daemon), net)
    sh("ip", "link", "del", br)
    found = doctor(daemon)
    assert hits(found, "bridge_down", net, severity="error")
    assert not [f for f in found if f"master {br}" in f.fix], [f.fix for f in found]
    assert not [f for f in found if "systemctl restart docker" in f.fix]  # not a systemd unit
    assert c


def test_repeated_daemon_errors_become_a_finding_naming_the_object(daemon, res):
    port = free_port()
    squat = socket.socket()
    squat.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squat.bind(("0.0.0.0", port))
    squat.listen(1)
    res.socks.append(squat)
    c = res.run(res.name("dle"), "-p", f"{port}:80", create=True)
    for _ in range(3):
        assert daemon.docker("start", c, check=False).returncode != 0
    snap = snapshot(daemon)
    facts = gather_facts(snap, daemon_log=2000)
    assert facts.daemon_log, facts.notes
    from inspectors.doctor.rules_paths import rule_daemon_log_errors

    got = [f for f in rule_daemon_log_errors(snap, facts) if c in " ".join(f.objects + [f.message])]
    assert got, [f.message for f in rule_daemon_log_errors(snap, facts)]
    assert " times" in got[0].message


# --------------------------------------------------------------------------- issue 14: report


def test_report_redacts_daemon_log_secrets_and_is_private(daemon, res, tmp_path):
    cfg = Path(daemon.config_file)
    before = cfg.read_text()
    cfg.write_text('{"debug": true}\n')
    os.kill(daemon.pid(), signal.SIGHUP)
    try:
        time.sleep(1)
        res.run(
            res.name("sec"),
            "-e",
            "AWS_SECRET_ACCESS_KEY=AKIAsecretvalue123",
            "-e",
            "DB_PASSWORD=pw-in-daemon-log",
            "-e",
            "PLAIN=plain-env-value",
        )
        log = Path(daemon.log_file).read_text()
        assert "pw-in-daemon-log" in log  # the fault is real: debug logs request bodies
        victim = tmp_path / "victim"
        victim.write_text("keep me\n")
        out = tmp_path / "report.md"
        out.symlink_to(victim)
        r = _cli(daemon, tmp_path, "report", "-o", str(out), "--log-lines", "400")
        # the one private writer (actions/files.py) refuses an existing symlink: one line, exit 2
        assert r.returncode == 2 and "symlink" in r.stderr and len(r.stderr.splitlines()) == 1
        assert victim.read_text() == "keep me\n" and out.is_symlink()
        out.unlink()
        r = _cli(daemon, tmp_path, "report", "-o", str(out), "--log-lines", "400")
        assert r.returncode == 0, r.stderr
        assert (out.stat().st_mode & 0o777) == 0o600
        md = out.read_text()
        assert "## Last daemon log lines" in md
        for secret in ("AKIAsecretvalue123", "pw-in-daemon-log", "plain-env-value"):
            assert secret not in md
        assert "<redacted>" in md
        rj = _cli(daemon, tmp_path, "report", "--json", "--log-lines", "400").stdout
        assert "pw-in-daemon-log" not in rj and "AKIAsecretvalue123" not in rj
    finally:
        cfg.write_text(before if "debug" in before else '{"debug": false}\n')
        os.kill(daemon.pid(), signal.SIGHUP)
        time.sleep(0.5)


def test_daemon_log_message_grouping_names_the_endpoint():
    """The message of issue 10 (seen 104 times on a real host), as dockerd logs it:
    grouped per object, counted, the object named. A parser test: no engine needed."""
    from inspectors.doctor.rules_paths import rule_daemon_log_errors
    from inspectors.hostfacts import HostFacts
    from inspectors.model import Snapshot

    ep = "3f1c2a9b8d7e"
    msg = f"Inconsistent driver and libnetwork state for endpoint {ep}"
    lines = [("error", msg)] * 104 + [("error", "other endpoint 999999999999 gone")] * 2
    lines += [("info", "Loading containers: done.")] * 10
    got = rule_daemon_log_errors(Snapshot(), HostFacts(daemon_log=lines))
    assert len(got) == 1
    assert got[0].objects == [ep] and "104 times" in got[0].message
    assert "Inconsistent driver and libnetwork state" in got[0].message


def test_listening_ports_read_by_sock_diag_in_each_namespace(daemon, res):
    """inspectors.doctor.listen against `ss` run inside the same namespace: httpd's TCP
    socket, and the embedded DNS server's UDP socket of a user-defined network."""
    from inspectors.doctor.listen import container_listeners

    net = res.net(res.name("sdn"))
    c = res.run(res.name("sd"), "--network", net, cmd=("httpd", "-f", "-p", "8089"))
    time.sleep(0.5)
    snap = snapshot(daemon)
    ct = snap.container(c)
    got = container_listeners([(ct.id, ct.pid, True)])[ct.id]
    assert any(port == 8089 and proto == "tcp" for _ip, port, proto in got), got
    assert any(ip == "127.0.0.11" and proto == "udp" for ip, _port, proto in got), got
    ss = sh("nsenter", "-t", str(ct.pid), "-n", "ss", "-ltnuH").stdout
    for _ip, port, _proto in got:
        assert f":{port}" in ss, (port, ss)
    assert len(got) == len(ss.strip().splitlines()), (got, ss)


# --------------------------------------------------------------------------- host side


def _doctor_of(daemon, host_side: bool):
    from inspectors.snapshot import Model

    m = Model(daemon.host, host_side=host_side)
    try:
        snap = m.build()
    finally:
        m.close()
    found = run_doctor(snap, gather_facts(snap))
    return snap, sorted((f.rule, f.severity, tuple(f.objects), f.message) for f in found)


def test_host_side_doctor_finds_what_reading_every_namespace_finds(daemon, res):
    """The doctor reads a namespace only when the host side shows a suspect
    (inspectors.hostside). With healthy containers beside a downed, a detached and a
    deleted host veth, a macvlan, a shared, a host, a none and a stopped container,
    its findings equal those of a build that reads every namespace; only the
    suspects' namespaces were read, and the healthy ones' veths are theirs."""
    a = res.net(res.name("hsa"))
    parent = res.link(
        f"dshp{res.uniq}"[:15], "type", "veth", "peer", "name", f"dshq{res.uniq}"[:15]
    )
    sh("ip", "link", "set", f"dshq{res.uniq}"[:15], "up")
    sh("ip", "link", "set", parent, "up")
    mv = res.net(
        res.name("hsm"),
        "-d",
        "macvlan",
        "-o",
        f"parent={parent}",
        "--subnet",
        subnet_in_pool(daemon, 241),
    )
    ok1 = res.run(res.name("hok1"), "--network", a)
    ok2 = res.run(res.name("hok2"), "--network", a)
    dock(daemon, "network", "connect", "bridge", ok2)  # two endpoints, two bridges
    down = res.run(res.name("hdn"), "--network", a)
    det = res.run(res.name("hdt"), "--network", a)
    gone = res.run(res.name("hgo"), "--network", a)
    mvc = res.run(res.name("hmv"), "--network", mv)
    shared = res.run(res.name("hsh"), "--network", f"container:{ok1}")
    hostc = res.run(res.name("hho"), "--network", "host")
    nonec = res.run(res.name("hno"), "--network", "none")
    res.run(res.name("hst"), "--network", a, create=True)
    snap = snapshot(daemon)
    sh("ip", "link", "set", host_veth(snap, down), "down")
    sh("ip", "link", "set", host_veth(snap, det), "nomaster")
    sh("ip", "link", "del", host_veth(snap, gone))

    full, want = _doctor_of(daemon, host_side=False)
    hs, got = _doctor_of(daemon, host_side=True)
    assert got == want
    rules = {(r, o) for r, _s, objs, _m in got for o in objs}
    for c in (down, det):
        assert ("bridge_port_broken", c) in rules, got
    assert ("endpoint_path_broken", gone) in rules, got

    read = {c.name for c in hs.containers if c.netns}
    assert read == {down, det, gone, mvc}, read
    assert {c.name for c in full.containers if c.netns} >= read | {ok1, ok2, shared, nonec}
    for name in (ok1, ok2):
        want_veths = sorted(i.host_veth for i in full.container(name).interfaces if i.host_veth)
        got_veths = sorted(i.host_veth for i in hs.container(name).interfaces)
        assert got_veths == want_veths and len(got_veths) == (1 if name == ok1 else 2)
        assert sorted(e.host_veth for e in hs.container(name).endpoints) == want_veths
    mine = {bridge_of(full, a), bridge_of(full, "bridge")}  # other engines' churn aside

    def owners(s):
        return {p.name: p.container for b in s.bridges if b.name in mine for p in b.ports}

    assert owners(hs) == owners(full) and ok1 in owners(hs).values()
    assert hs.container(hostc).interfaces == [] and hs.container(shared).interfaces == []
