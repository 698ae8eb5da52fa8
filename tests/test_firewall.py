"""The firewall on the packet path, on real rulesets: the harness engine's own
rules (through the `iptables` alternative dockerd uses), Docker-shaped rulesets
loaded with iptables-legacy-restore / iptables-nft-restore / nft into
namespaces the tests create, and real probes from a test namespace."""

from __future__ import annotations

import random
import socket
import subprocess
import time
import uuid

import pytest

from inspectors import conntrack as ct
from inspectors import firewall as fw
from inspectors import firewall_report as fwr
from inspectors.hostfacts import run_in_netns
from tests.helpers import dock, sh, snapshot

pytestmark = pytest.mark.engine

RULES = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.30.0.0/16 ! -o br-h6test -j MASQUERADE
-A DOCKER -i br-h6test -j RETURN
-A DOCKER ! -i br-h6test -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o br-h6test -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br-h6test -j DOCKER
-A FORWARD -i br-h6test ! -o br-h6test -j ACCEPT
-A DOCKER -d 172.30.0.2/32 ! -i br-h6test -o br-h6test -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i br-h6test ! -o br-h6test -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o br-h6test -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
{user}-A DOCKER-USER -j RETURN
COMMIT
"""
DROP_LINE = "-A DOCKER-USER -d 172.30.0.2/32 -p tcp -m tcp --dport 80 -j DROP\n"


@pytest.fixture
def netns():
    made: list[str] = []

    def make() -> str:
        name = f"h6fw{uuid.uuid4().hex[:6]}"
        sh("ip", "netns", "add", name)
        made.append(name)
        return name

    yield make
    for n in made:
        sh("ip", "netns", "del", n, check=False)


def _restore(ns: str, variant: str, text: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", ns, f"iptables-{variant}-restore"],
        input=text,
        text=True,
        check=True,
        capture_output=True,
    )


def _read(ns: str):
    return {r.backend: r for r in run_in_netns(f"/run/netns/{ns}", fw.read_rulesets)}


def _port(rs, in_iface="eth0"):
    return fwr.port_path(
        rs, "web", "172.30.0.2", 80, "tcp", "0.0.0.0", 8080, "net", "br-h6test",
        ["172.30.0.0/16"], in_iface,
    )  # fmt: skip


@pytest.mark.parametrize("variant", ["legacy", "nft"])
def test_both_iptables_backends_are_read(netns, variant):
    ns = netns()
    _restore(ns, variant, RULES.format(user=""))
    got = _read(ns)
    mine, other = (
        got[f"iptables-{variant}"],
        got["iptables-nft" if variant == "legacy" else "iptables-legacy"],
    )
    assert mine.available and mine.has_docker()
    assert not other.has_docker()
    assert mine.chain("filter", "FORWARD").policy == "DROP"
    user = mine.chain("filter", "DOCKER-USER")
    assert [r.target for r in user.rules] == ["RETURN"] and user.rules[0].packets == 0
    p = _port(mine)
    assert p.dnat is not None and "--to-destination 172.30.0.2:80" in p.dnat.spec
    assert p.masquerade is not None and p.masquerade.ref == "nat POSTROUTING #1"
    assert p.forward.verdict == "ACCEPT"
    assert p.forward.decided_by.chain == "DOCKER"
    assert p.forward.chains()[:3] == ["FORWARD", "DOCKER-USER", "DOCKER-ISOLATION-STAGE-1"]
    assert not p.flags
    # the doctor's shape of the same parse
    chains, rules = fw.parse_iptables_save(
        subprocess.run(
            ["ip", "netns", "exec", ns, f"iptables-{variant}-save"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    assert chains["filter"]["DOCKER-USER"] == "-"
    assert fw.parse_dnat(rules["nat"])[0].to_ip == "172.30.0.2"


def test_drop_in_docker_user_is_named_and_goes_away(netns):
    ns = netns()
    _restore(ns, "nft", RULES.format(user=DROP_LINE))
    rs = _read(ns)["iptables-nft"]
    p = _port(rs)
    assert p.forward.verdict == "DROP"
    f = [x for x in p.flags if x.code == "drop_shadows_accept"]
    assert f and f[0].rule == "filter DOCKER-USER #1" and "DOCKER #1" in f[0].message
    assert "--dport 80 -j DROP" in f[0].line
    _restore(ns, "nft", RULES.format(user=""))
    assert not _port(_read(ns)["iptables-nft"]).flags


def test_wiped_chains_and_policy_drop(netns):
    ns = netns()
    # a firewall reload: only the policy survives
    _restore(
        ns, "nft", "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"
    )
    rs = _read(ns)["iptables-nft"]
    codes = {f.code for f in fwr.chain_flags(rs, True)}
    assert "chains_missing" in codes
    p = _port(rs)
    codes = {f.code for f in p.flags}
    assert {"dnat_missing", "forward_policy_drop"} <= codes


def test_both_variants_holding_docker_chains_is_flagged(netns, daemon):
    ns = netns()
    _restore(ns, "nft", RULES.format(user=""))
    _restore(ns, "legacy", RULES.format(user=""))
    rss = run_in_netns(f"/run/netns/{ns}", fw.read_rulesets)
    rep = fwr.build_report(snapshot(daemon), rss)
    assert "variant_split" in {f.code for f in rep.flags}


def test_native_nftables_tables_are_read(netns):
    ns = netns()
    script = """
table ip docker-bridges {
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump nat-prerouting-and-output
  }
  chain nat-prerouting-and-output {
    iifname != "br-h6test" tcp dport 8080 counter dnat to 172.30.0.2:80 comment "DNAT"
  }
  chain filter-forward {
    type filter hook forward priority filter; policy accept;
    oifname "br-h6test" ip daddr 172.30.0.2 tcp dport 80 counter accept
  }
}
"""
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, text=True, check=True
    )
    rs = _read(ns)["nftables"]
    assert rs.available and "ip docker-bridges" in rs.tables
    fwd = rs.chain("ip docker-bridges", "filter-forward")
    assert fwd.hook == "forward" and fwd.rules[0].target == "ACCEPT"
    assert fwd.rules[0].packets == 0
    p = fwr.port_path(rs, "web", "172.30.0.2", 80, "tcp", None, 8080, "net", "br-h6test")
    assert p.dnat is not None and "dnat to 172.30.0.2:80" in p.dnat.spec
    assert fw.active_backend([rs], "nftables") == "nftables"


# --------------------------------------------------------------------------- engine


class Outside:
    """A client namespace the test creates, wired to the host by a veth: its
    traffic to a published port is routed, so it crosses nat PREROUTING and
    filter FORWARD like a packet from another machine."""

    def __init__(self):
        u = uuid.uuid4().hex[:6]
        self.ns, self.host_if, self.ns_if = f"h6o{u}", f"h6h{u}", f"h6n{u}"
        b = random.randint(0, 255)
        c = random.randrange(0, 256, 4)
        self.host_ip, self.ns_ip = f"198.18.{b}.{c + 1}", f"198.18.{b}.{c + 2}"
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        sh("ip", "link", "set", self.ns_if, "netns", self.ns)
        sh("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        sh("ip", "-n", self.ns, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if)
        sh("ip", "-n", self.ns, "link", "set", self.ns_if, "up")
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns, "route", "add", "default", "via", self.host_ip)

    @property
    def path(self) -> str:
        return f"/run/netns/{self.ns}"

    def close(self):
        sh("ip", "link", "del", self.host_if, check=False)
        sh("ip", "netns", "del", self.ns, check=False)


@pytest.fixture
def outside():
    o = Outside()
    yield o
    o.close()


@pytest.fixture
def web(daemon, uniq):
    name = f"h6web{uniq}"
    with socket.socket() as s:  # a fixed host port: it survives the restarts in _ready
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    dock(daemon, "run", "-d", "--name", name, "-p", f"{port}:80", "dockscope-busybox:test",
         "httpd", "-f", "-p", "80", "-h", "/")  # fmt: skip
    yield name
    daemon.docker("rm", "-f", name, check=False)


def _wait_for(fn, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.2)


def _ready(daemon, name, iface):
    """The port's DNAT and accept rules in place. On a shared host another
    dockerd starting flushes the nat/filter DOCKER chains (the "firewall reload
    wiped the rules" incident, for real): the container is restarted, which
    makes this engine program them again."""
    for _ in range(5):
        snap = snapshot(daemon)
        rep = fwr.build_report(snap, in_iface=iface)
        p = next(x for x in rep.ports if x.container == name)
        if p.dnat is not None and p.forward.verdict == "ACCEPT":
            return snap, rep, p
        assert {f.code for f in p.flags} & {"dnat_missing", "forward_policy_drop"}
        daemon.docker("restart", "-t", "0", name)
    raise AssertionError(f"rules for {name} never settled: {[f.message for f in p.flags]}")


def test_engine_port_drop_probe_and_conntrack(daemon, web, outside):
    from inspectors.packetpath import tcp_probe

    alt = fw.iptables_alternative()
    assert alt in ("iptables-nft", "iptables-legacy")  # what dockerd here runs
    snap, rep, p = _ready(daemon, web, outside.host_if)
    assert rep.active == alt
    c = snap.container(web)
    pb = next(x for x in c.ports if x.host_port)
    cip = c.endpoints[0].ipv4
    assert p.dnat is not None and f"{cip}:80" in p.dnat.spec
    assert p.forward.chains()[:2] == ["FORWARD", "DOCKER-USER"]
    assert p.masquerade is not None
    assert not [f for f in p.flags if f.severity == "error"]

    # a DROP for this container's port in DOCKER-USER (the alternative dockerd uses)
    rule = ["DOCKER-USER", "-d", f"{cip}/32", "-p", "tcp", "-m", "tcp", "--dport", "80",
            "-j", "DROP"]  # fmt: skip
    sh("iptables", "-I", *rule)
    try:
        for _ in range(3):
            rep = fwr.build_report(snapshot(daemon), in_iface=outside.host_if)
            p = next(x for x in rep.ports if x.container == web)
            f = [x for x in p.flags if x.code in ("drop_shadows_accept", "forward_drop")]
            assert f and f[0].rule == "filter DOCKER-USER #1" and cip in f[0].line
            before = fw.counters(rep.ruleset())
            ok, err = tcp_probe(outside.host_ip, pb.host_port, timeout=1.0, netns=outside.path)
            after_rs = fw.read_iptables_backend(alt)
            rose = [
                k for k, dp, _ in fw.moved(before, fw.counters(after_rs))
                if k.startswith("filter DOCKER-USER #1")
            ]  # fmt: skip
            if rose:
                break
            daemon.docker("restart", "-t", "0", web)  # the DNAT was wiped meanwhile
        assert not ok
        assert rose, "the DROP rule's counter did not rise"
    finally:
        sh("iptables", "-D", *rule)
    snap, rep, p = _ready(daemon, web, outside.host_if)
    assert not [x for x in p.flags if x.rule == "filter DOCKER-USER #1"]

    # a real connection: conntrack shows client -> host:port -> container:port
    for _ in range(3):
        ok, err = tcp_probe(outside.host_ip, pb.host_port, timeout=2.0, netns=outside.path)
        if ok:
            break
        _ready(daemon, web, outside.host_if)
    assert ok, err

    def entry():
        got = ct.join(ct.for_port(ct.read_conntrack(proto="tcp"), pb.host_port, "tcp"), snap)
        return [e for e in got if e.src == outside.ns_ip and e.dnat]

    es = _wait_for(entry)
    assert es, "no conntrack entry for the probe"
    e = es[0]
    assert e.dst == outside.host_ip and e.to_ip == cip and e.to_port == 80
    assert e.dst_container == web
    assert f"-> {cip}:80" in e.line()
    assert any(pe.direction == "in" and pe.peer == outside.ns_ip for pe in ct.talkers(es, web))
    assert sum(ct.state_counts(es).values()) == len(es)


def test_outside_in_path_and_probe_from_a_client_namespace(daemon, web, outside):
    from inspectors import packetpath as pp

    snap, rep, p = _ready(daemon, web, outside.host_if)
    pb = next(x for x in snap.container(web).ports if x.host_port)
    for _ in range(3):
        path = pp.outside_in(snap, container=web, port=80, in_iface=outside.host_if)
        if path.verdict == "reachable":
            break
        snap, rep, p = _ready(daemon, web, outside.host_if)
    assert path.verdict == "reachable", [(h.what, h.status, h.text) for h in path.hops]
    what = [h.what for h in path.hops]
    assert what[0] == "listener" and "dnat" in what and what[-1] == "container"
    assert any(h.what == "chain" and h.text.startswith("DOCKER:") and "ACCEPT" in h.text
               for h in path.hops)  # fmt: skip
    assert "httpd" in path.hops[-1].text
    res = pp.probe(snap, path, ip=outside.host_ip, netns=outside.path)
    assert res.connected, res.error
    moved = " ".join(k for k, _dp, _db in res.moved)
    assert "DNAT" in moved and "filter DOCKER" in moved
    assert any(f":{pb.host_port} -> " in c for c in res.conntrack)


def test_stale_masquerade_naming_another_bridge(netns):
    from inspectors.model import Network, Subnet

    ns = netns()
    stale = (
        RULES.format(user="")
        .replace(
            "-A DOCKER -i br-h6test -j RETURN\n",
            "-A DOCKER -i br-h6test -j RETURN\n",
        )
        .replace(
            "-A POSTROUTING -s 172.30.0.0/16 ! -o br-h6test -j MASQUERADE\n",
            "-A POSTROUTING -s 172.30.0.0/16 ! -o br-h6test -j MASQUERADE\n"
            "-A POSTROUTING -s 172.30.0.0/16 ! -o br-gone -j MASQUERADE\n",
        )
    )
    _restore(ns, "nft", stale)
    rs = _read(ns)["iptables-nft"]
    net = Network(id="x" * 12, name="net", driver="bridge", bridge="br-h6test",
                  subnets=[Subnet("172.30.0.0/16")])  # fmt: skip
    v = fwr.network_view(rs, net)
    assert len(v.masquerade) == 2
    f = [x for x in v.flags if x.code == "masquerade_foreign"]
    assert len(f) == 1 and f[0].rule == "nat POSTROUTING #2" and "br-gone" in f[0].message
