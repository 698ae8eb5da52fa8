""" "Why can't A reach B": static path checks and real probes between real containers.

Probes go only to containers these tests create and to the host through their
bridge gateways; the "outside address" case uses TEST-NET-1 and must never be
contacted (the probe hop says so).
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspectors.reach import build_dns_query, explain_path, parse_dns_answer
from tests.helpers import dock, sh, snapshot

pytestmark = pytest.mark.engine
IMAGE = "dockscope-busybox:test"
ROOT = Path(__file__).resolve().parent.parent


class Topo:
    def __init__(self, daemon, uniq):
        self.d, self.uniq = daemon, uniq
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.rules: list[list[str]] = []
        self.socks: list[socket.socket] = []

    def name(self, base: str) -> str:
        return f"dr{base}{self.uniq}"

    def run(self, base: str, *args: str, cmd=("sleep", "3600")) -> str:
        n = self.name(base)
        self.containers.append(n)
        dock(self.d, "run", "-d", "--name", n, *args, IMAGE, *cmd)
        return n

    def net(self, base: str, *args: str) -> str:
        n = self.name(base)
        self.networks.append(n)
        dock(self.d, "network", "create", *args, n)
        return n

    def isolate(self, br_a: str, br_b: str) -> None:
        """Make sure Docker's isolation rules between the two test bridges are in
        place: another dockerd starting on this shared host flushes them."""
        want = [
            ("FORWARD", ["-j", "DOCKER-ISOLATION-STAGE-1"]),
            (
                "DOCKER-ISOLATION-STAGE-1",
                ["-i", br_a, "!", "-o", br_a, "-j", "DOCKER-ISOLATION-STAGE-2"],
            ),
            ("DOCKER-ISOLATION-STAGE-2", ["-o", br_b, "-j", "DROP"]),
        ]
        for chain, spec in want:
            if sh("iptables", "-C", chain, *spec, check=False).returncode != 0:
                sh("iptables", "-I", chain, "1", *spec)
                self.rules.append([chain, *spec])

    def close(self) -> None:
        for s in self.socks:
            s.close()
        for r in self.rules:
            sh("iptables", "-D", *r, check=False)
        if self.containers:
            self.d.docker("rm", "-f", *self.containers, check=False)
        for n in self.networks:
            self.d.docker("network", "rm", n, check=False)


@pytest.fixture
def topo(daemon, uniq):
    t = Topo(daemon, uniq)
    yield t
    t.close()


def checks(rep, kind: str) -> dict[str, str]:
    h = next(h for h in rep.hops if h.kind == kind)
    return {c.name: c.status for c in h.checks}


def ip_of(snap, cname: str, net: str | None = None) -> str:
    c = snap.container(cname)
    return next(e.ipv4 for e in c.endpoints if e.ipv4 and (net is None or e.network == net))


def host_veth(snap, cname: str) -> str:
    return next(i.host_veth for i in snap.container(cname).interfaces if i.host_veth)


# --------------------------------------------------------------------------- same network


def test_same_network_reachable_then_cut_by_a_down_veth(daemon, topo):
    net = topo.net("same")
    b = topo.run("web", "--network", net, cmd=("httpd", "-f", "-p", "8080"))
    a = topo.run("cli", "--network", net)
    time.sleep(0.3)
    snap = snapshot(daemon)
    rep = explain_path(snap, a, b, port=8080, probe=True)
    assert rep.verdict == "reachable", rep.to_dict()
    assert rep.first_failure is None and rep.dst_ip == ip_of(snap, b)
    kinds = [h.kind for h in rep.hops]
    assert kinds[:7] == ["source", "dns", "interface", "veth", "bridge", "veth", "interface"]
    assert "listener" in kinds and kinds[-1] == "probe"
    p = checks(rep, "probe")
    assert p == {"dns query": "ok", "ping": "ok", "tcp connect": "ok"}
    dns = next(c for c in rep.hops[-1].checks if c.name == "dns query")
    assert ip_of(snap, b) in dns.detail
    # the fault: B's host veth down
    veth = host_veth(snap, b)
    sh("ip", "link", "set", veth, "down")
    try:
        rep = explain_path(snapshot(daemon), a, b, port=8080, probe=True)
        assert rep.verdict == "unreachable"
        assert (
            rep.first_failure.startswith(veth) and rep.hops[rep.first_failure_index].kind == "veth"
        )
        assert checks(rep, "probe")["tcp connect"] == "fail"
    finally:
        sh("ip", "link", "set", veth, "up")
    time.sleep(0.3)
    assert explain_path(snapshot(daemon), a, b, port=8080, probe=True).verdict == "reachable"


# --------------------------------------------------------------------------- different networks


def test_different_networks_unreachable_at_the_routing_hop(daemon, topo):
    n1, n2 = topo.net("n1"), topo.net("n2")
    b = topo.run("srv", "--network", n2, cmd=("httpd", "-f", "-p", "80"))
    a = topo.run("cl", "--network", n1)
    snap = snapshot(daemon)
    bip = ip_of(snap, b)
    for _ in range(3):  # a dockerd starting elsewhere on this host may flush the rules meanwhile
        topo.isolate(snap.network(n1).bridge, snap.network(n2).bridge)
        rep = explain_path(snapshot(daemon), a, f"{bip}:80", probe=True)
        if rep.verdict == "unreachable":
            break
    assert rep.verdict == "unreachable", rep.to_dict()
    assert rep.hops[rep.first_failure_index].kind == "routing"
    assert rep.first_failure == f"host routing ({n1} -> {n2})"
    assert checks(rep, "routing")["isolation"] == "fail"
    assert checks(rep, "probe")["tcp connect"] == "fail"
    # by name: the embedded DNS of n1 does not know B, and that comes first
    rep = explain_path(snapshot(daemon), a, b, port=80)
    assert rep.first_failure == f"name '{b}'" and rep.verdict == "unreachable"
    # fix: connect A to B's network
    daemon.docker("network", "connect", n2, a)
    rep = explain_path(snapshot(daemon), a, b, port=80, probe=True)
    assert rep.verdict == "reachable", rep.to_dict()
    assert checks(rep, "probe")["dns query"] == "ok"


# --------------------------------------------------------------------------- names


def test_names_fail_on_the_default_bridge_and_work_on_a_user_network(daemon, topo):
    b = topo.run("dweb", cmd=("httpd", "-f", "-p", "80"))
    a = topo.run("dcli")
    rep = explain_path(snapshot(daemon), a, b, port=80, probe=True)
    assert rep.verdict == "unreachable"
    assert rep.first_failure == f"name '{b}'" and rep.hops[rep.first_failure_index].kind == "dns"
    p = checks(rep, "probe")
    assert p["dns query"] == "fail" and p["tcp connect"] == "ok"  # by IP it works
    net = topo.net("names")
    daemon.docker("network", "connect", net, a)
    daemon.docker("network", "connect", net, b)
    rep = explain_path(snapshot(daemon), a, b, port=80, probe=True)
    assert rep.verdict == "reachable", rep.to_dict()
    assert checks(rep, "dns") == {"embedded DNS": "ok"}
    assert checks(rep, "probe")["dns query"] == "ok"


# --------------------------------------------------------------------------- listeners


def test_destination_listening_on_loopback_only(daemon, topo):
    net = topo.net("lo")
    b = topo.run("lweb", "--network", net, cmd=("httpd", "-f", "-p", "127.0.0.1:80"))
    a = topo.run("lcli", "--network", net)
    time.sleep(0.3)
    rep = explain_path(snapshot(daemon), a, b, port=80, probe=True)
    assert rep.verdict == "unreachable"
    assert rep.hops[rep.first_failure_index].kind == "listener"
    lst = next(h for h in rep.hops if h.kind == "listener").checks[0]
    assert "only on 127.0.0.1" in lst.detail
    assert checks(rep, "probe")["tcp connect"] == "fail"


def test_udp_probe_closed_then_bound(daemon, topo):
    net = topo.net("udp")
    b = topo.run("usrv", "--network", net)
    a = topo.run("ucli", "--network", net)
    rep = explain_path(snapshot(daemon), a, b, port=5353, proto="udp", probe=True)
    assert rep.verdict == "unreachable"
    assert checks(rep, "listener")["listener"] == "fail"
    assert checks(rep, "probe")["udp send"] == "fail"  # ICMP port unreachable came back
    # busybox has no UDP server: bind one inside B's namespace from here (a thread
    # setns()-es in; the socket stays in that namespace)
    from inspectors.hostfacts import run_in_netns

    pid = snapshot(daemon).container(b).pid

    def bind():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", 5353))
        return u

    topo.socks.append(run_in_netns(f"/proc/{pid}/ns/net", bind))
    rep = explain_path(snapshot(daemon), a, b, port=5353, proto="udp", probe=True)
    assert checks(rep, "listener")["listener"] == "ok"
    assert checks(rep, "probe")["udp send"] in ("ok", "warn")
    assert rep.verdict == "reachable", rep.to_dict()


# --------------------------------------------------------------------------- host


def test_container_to_a_host_service(daemon, topo):
    net = topo.net("host")
    a = topo.run("hcli", "--network", net)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(4)
    topo.socks.append(srv)
    port = srv.getsockname()[1]
    snap = snapshot(daemon)
    gw = snap.network(net).subnets[0].gateway
    rep = explain_path(snap, a, f"host:{port}", probe=True)
    assert rep.dst_kind == "host" and rep.dst_ip == gw
    assert rep.verdict == "reachable", rep.to_dict()
    assert checks(rep, "probe")["tcp connect"] == "ok"
    srv.close()
    lo = socket.socket()
    lo.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lo.bind(("127.0.0.1", port))
    lo.listen(4)
    topo.socks.append(lo)
    rep = explain_path(snapshot(daemon), a, f"host:{port}", probe=True)
    assert rep.verdict == "unreachable"
    assert rep.hops[rep.first_failure_index].kind == "host"
    assert "only on 127.0.0.1" in next(h for h in rep.hops if h.kind == "host").checks[0].detail
    assert checks(rep, "probe")["tcp connect"] == "fail"


def test_outside_address_is_never_probed(daemon, topo):
    a = topo.run("ocli", "--network", topo.net("out"))
    rep = explain_path(snapshot(daemon), a, "192.0.2.77:443", probe=True)
    probe = next(h for h in rep.hops if h.kind == "probe")
    assert [c.status for c in probe.checks] == ["skip"]
    assert "never contacted" in probe.checks[0].detail
    routing = checks(rep, "routing")
    assert routing["outside address"] == "info" and "masquerade" in routing


def test_missing_source_and_stopped_destination(daemon, topo):
    a = topo.run("scli")
    rep = explain_path(snapshot(daemon), "no-such-container", a)
    assert rep.verdict == "unreachable" and rep.first_failure_index == 0
    b = topo.run("sdst")
    daemon.docker("stop", "-t", "0", b)
    rep = explain_path(snapshot(daemon), a, b, port=80)
    assert rep.verdict == "unreachable" and rep.hops[rep.first_failure_index].kind in (
        "destination",
        "dns",
    )


# --------------------------------------------------------------------------- CLI


def test_cli_path_json_and_exit_codes(daemon, topo):
    net = topo.net("cli")
    b = topo.run("cweb", "--network", net, cmd=("httpd", "-f", "-p", "8080"))
    a = topo.run("ccli", "--network", net)
    other = topo.run("cother")  # default bridge: no name, different network
    time.sleep(0.3)
    env = daemon.env()
    r = subprocess.run(
        [sys.executable, "-m", "tui", "path", a, b, "--port", "8080", "--probe", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["verdict"] == "reachable" and data["first_failure"] is None
    assert all({"name", "status", "checks"} <= set(h) for h in data["hops"])
    r = subprocess.run(
        [sys.executable, "-m", "tui", "path", a, other, "--port", "80"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 1
    assert "verdict: unreachable" in r.stdout and "<-- first failure" in r.stdout
    assert "✗" in r.stdout and "▼" in r.stdout


# --------------------------------------------------------------------------- DNS codec


def test_dns_query_and_answer_codec():
    q = build_dns_query("web.example", 0x1234)
    assert q[:2] == b"\x12\x34" and b"\x03web\x07example\x00" in q
    # answer: header, the question, one A record with a compression pointer
    ans = (
        struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0)
        + q[12:]
        + b"\xc0\x0c"
        + struct.pack("!HHIH", 1, 1, 600, 4)
        + socket.inet_aton("10.1.2.3")
    )
    assert parse_dns_answer(ans, 0x1234) == (0, ["10.1.2.3"])
    nx = struct.pack("!HHHHHH", 0x1234, 0x8183, 1, 0, 0, 0) + q[12:]
    assert parse_dns_answer(nx, 0x1234) == (3, [])
    with pytest.raises(ValueError):
        parse_dns_answer(ans, 0x9999)


def test_host_mode_and_shared_namespace_sources(daemon, topo):
    net = topo.net("modes")
    b = topo.run("mweb", "--network", net, cmd=("httpd", "-f", "-p", "8080"))
    h = topo.run("mhost", "--network", "host")
    side = topo.run("mside", "--network", f"container:{b}")
    time.sleep(0.3)
    snap = snapshot(daemon)
    bip = ip_of(snap, b)
    rep = explain_path(snap, h, f"{bip}:8080", probe=True)
    assert rep.verdict == "reachable", rep.to_dict()
    assert checks(rep, "probe")["tcp connect"] == "ok"
    rep = explain_path(snap, h, b, port=8080)
    assert rep.first_failure == f"name '{b}'"  # host mode: no embedded DNS
    a = topo.run("mcli", "--network", net)
    rep = explain_path(snapshot(daemon), side, a, probe=True)
    assert rep.verdict == "reachable", rep.to_dict()
    assert any(f"its path is {b}'s" in n for n in rep.notes)


# --------------------------------------------------------------------------- issue 10/14


def _cli(daemon, *args):
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=daemon.env(),
        cwd=ROOT,
        timeout=120,
    )


def test_cli_path_bad_input_is_one_line_exit_2(daemon, topo):
    a = topo.run("bad")
    r = _cli(daemon, "path", "no-such-container-xyz", a)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "no-such-container-xyz" in r.stderr
    # B missing: the same one line, exit 2 (was a partial path, exit 3: walk 6)
    r = _cli(daemon, "path", a, "no-such-container-xyz")
    assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "no-such-container-xyz" in r.stderr
    for port in ("99999", "70000", "-1", "0", "http"):
        r = _cli(daemon, "path", a, "host", "--port", port)
        assert r.returncode == 2, (port, r.stdout, r.stderr)
        assert "port" in r.stderr and r.stdout == ""
        # argparse's own errors too: one line, no usage block (walk 8)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_host_port_uses_the_containers_real_route_not_an_internal_network(daemon, topo):
    """A on an internal network (listed first) and a routed one: the host is reached by
    the route A's kernel picks, and no message says 'None'."""
    internal = topo.net("aint", "--internal")
    routed = topo.net("zrt")
    a = topo.run("hr", "--network", internal)
    daemon.docker("network", "connect", routed, a)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    topo.socks.append(srv)
    port = srv.getsockname()[1]
    snap = snapshot(daemon)
    rep = explain_path(snap, a, f"host:{port}")
    assert rep.dst_ip == snap.network(routed).subnets[0].gateway, rep.to_dict()
    assert any(routed in n and "route get" in n for n in rep.notes), rep.notes
    text = json.dumps(rep.to_dict())
    assert "None" not in text
    r = _cli(daemon, "path", a, f"host:{port}")
    assert "None" not in r.stdout and "bind it to 0.0.0.0" in r.stdout


def test_loopback_inside_a_container_is_the_container_itself(daemon, topo):
    a = topo.run("lo", cmd=("httpd", "-f", "-p", "127.0.0.1:8081"))
    time.sleep(0.3)
    snap = snapshot(daemon)
    rep = explain_path(snap, a, "127.0.0.1:8081", probe=True)
    assert rep.verdict == "reachable", rep.to_dict()
    assert "own loopback" in json.dumps(rep.to_dict())
    assert checks(rep, "probe")["tcp connect"] == "ok"
    rep = explain_path(snap, a, "127.0.0.1:8082")
    assert rep.verdict == "unreachable"


def test_probe_without_a_port_pings_or_says_it_did_not(daemon, topo):
    """Walk 16: a probe with no port said "reachable (probed)" after only a DNS query.
    Without a port the address is pinged; when nothing but the name could be tried,
    the report says reachability was not probed."""
    net = topo.net("np")
    b = topo.run("nps", "--network", net)
    a = topo.run("npc", "--network", net)
    time.sleep(0.3)
    rep = explain_path(snapshot(daemon), a, b, probe=True)
    got = checks(rep, "probe")
    assert got.get("dns query") == "ok" and got.get("ping") == "ok", rep.to_dict()
    assert rep.verdict == "reachable" and rep.probed
    # only a name to go on (a model without B's address, as a quick console model
    # can be): the address the name resolves to is pinged
    from inspectors.reach import _probe
    from inspectors.reachmodel import PathReport

    snap = snapshot(daemon)
    rep = PathReport(src=a, dst=b)
    _probe(rep, snap, snap.container(a), None, None, "tcp", b)
    got = {c.name: c for c in rep.hops[-1].checks}
    assert got["dns query"].status == "ok" and got["ping"].status == "ok", got
    # a name that does not resolve and no address: never "reachable (probed)"
    rep = PathReport(src=a, dst="nosuch")
    _probe(rep, snap, snap.container(a), None, None, "tcp", "nosuch-np")
    rep.finish()
    assert rep.verdict != "reachable", rep.to_dict()
    assert any(c.name == "reachability" and "not probed" in c.detail for c in rep.hops[-1].checks)
