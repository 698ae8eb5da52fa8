"""Driver truth on real objects of the harness engine: the path each driver really
takes (inspectors.paths), a bridge deleted from under the engine, leftover veth
pairs, network flags and the effective gateway."""

from __future__ import annotations

import pytest

from inspectors.paths import (
    container_paths,
    effective_gateway,
    leftover_veths,
    network_flags,
    port_owner,
)
from tests.harness import IMAGE
from tests.helpers import dock, sh, snapshot

SLEEP = ["sleep", "600"]


@pytest.fixture
def made(daemon, uniq):
    got = {"c": [], "n": [], "l": []}
    yield got
    if got["c"]:
        daemon.docker("rm", "-f", *got["c"], check=False)
    for n in got["n"]:
        daemon.docker("network", "rm", n, check=False)
    for l in got["l"]:
        sh("ip", "link", "del", l, check=False)


def run(daemon, made, name, *opts):
    dock(daemon, "run", "-d", "--name", name, *opts, IMAGE, *SLEEP)
    made["c"].append(name)


def net(daemon, made, name, *opts):
    dock(daemon, "network", "create", *opts, name)
    made["n"].append(name)


def one(snap, cname, network=None):
    ps = container_paths(snap, snap.container(cname))
    if network is not None:
        ps = [p for p in ps if p.network == network]
    assert ps, container_paths(snap, snap.container(cname))
    return ps[0]


def test_bridge_path_and_a_bridge_deleted_from_under_the_engine(daemon, made, uniq):
    n, c = f"pb-{uniq}", f"pbc-{uniq}"
    net(daemon, made, n)
    run(daemon, made, c, "--network", n)
    snap = snapshot(daemon)
    p = one(snap, c, n)
    br = snap.network(n).bridge
    assert p.driver == "bridge" and p.ok, p
    assert [h.role for h in p.hops] == ["iface", "veth", "bridge", "host"]
    assert p.hops[2].name == br and p.hops[-1].note == "NAT"
    assert p.hops[1].name == snap.container(c).interfaces[-1].host_veth or p.hops[1].name

    sh("ip", "link", "del", br)
    snap = snapshot(daemon)
    p = one(snap, c, n)
    assert not p.ok
    bridge = next(h for h in p.hops if h.role == "bridge")
    assert bridge.name == br and bridge.status == "missing"
    assert "NAT" not in p.text() and "MISSING" in p.text()
    assert any("missing" in b and "cannot reach" in b for b in p.breaks), p.breaks
    gw, src = effective_gateway(snap.network(n), snap)
    assert gw == snap.network(n).subnets[0].gateway and src == "ipam"


def test_internal_network_has_no_egress_and_its_gateway_is_the_bridge(daemon, made, uniq):
    n, c = f"pi-{uniq}", f"pic-{uniq}"
    net(daemon, made, n, "--internal")
    run(daemon, made, c, "--network", n)
    snap = snapshot(daemon)
    p = one(snap, c, n)
    assert p.hops[-1].status == "blocked" and "no egress" in p.hops[-1].note
    nw = snap.network(n)
    assert "internal" in network_flags(nw)
    gw, src = effective_gateway(nw, snap)
    if not any(s.gateway for s in nw.subnets):
        assert gw and src.startswith("bridge ")


def test_default_bridge_flags_and_gateway(daemon):
    snap = snapshot(daemon)
    nw = snap.network("bridge")
    assert "no-dns" in network_flags(nw)
    gw, src = effective_gateway(nw, snap)
    assert gw is not None, src
    # the console's GATEWAY column and the CLI snapshot show it (with its source when
    # IPAM lists none), and both draw FLAGS from the one decision
    from tui.cli_snapshot import render_text
    from tui.panes.networks import network_row

    row = network_row(nw, snap)
    assert row.cells[4].plain.startswith(gw) and "no-dns" in row.cells[6].plain
    line = next(l for l in render_text(snap).splitlines() if l.startswith("bridge "))
    assert gw in line and "no-dns" in line


def test_none_and_host(daemon, made, uniq):
    run(daemon, made, f"pn-{uniq}", "--network", "none")
    run(daemon, made, f"ph-{uniq}", "--network", "host")
    snap = snapshot(daemon)
    (pn,) = container_paths(snap, snap.container(f"pn-{uniq}"))
    assert pn.driver == "none" and [h.name for h in pn.hops] == ["lo"]
    assert "only the loopback" in pn.says[0] and "root" not in " ".join(pn.says)
    (ph,) = container_paths(snap, snap.container(f"ph-{uniq}"))
    assert ph.driver == "host" and "no veth" in ph.says[0]


def test_macvlan_on_a_veth_parent(daemon, made, uniq):
    a, b = f"mva{uniq}", f"mvb{uniq}"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    made["l"].append(a)
    sh("ip", "link", "set", a, "up")
    sh("ip", "link", "set", b, "up")
    n, c = f"pm-{uniq}", f"pmc-{uniq}"
    net(daemon, made, n, "-d", "macvlan", "-o", f"parent={a}", "--subnet", "10.199.77.0/24")
    run(daemon, made, c, "--network", n)
    snap = snapshot(daemon)
    p = one(snap, c, n)
    assert p.driver == "macvlan", p
    assert [h.role for h in p.hops] == ["iface", "parent", "wire"]
    assert p.hops[1].name == a
    text = p.text() + " ".join(p.says)
    assert "NAT" in text and "no NAT" in text and "veth" not in p.text()
    assert any("host cannot reach its own macvlan" in s for s in p.says)
    gw, src = effective_gateway(snap.network(n), snap)
    assert gw == "10.199.77.1" or src.startswith("none")


def test_leftover_veth_pair_is_named_as_such_not_a_host_container(daemon, made, uniq):
    n = f"pl-{uniq}"
    net(daemon, made, n)
    run(daemon, made, f"plh-{uniq}", "--network", "host")
    x, y = f"lfa{uniq}", f"lfb{uniq}"
    sh("ip", "link", "add", x, "type", "veth", "peer", "name", y)
    made["l"].append(x)
    snap = snapshot(daemon)
    br = snap.network(n).bridge
    sh("ip", "link", "set", x, "master", br)
    sh("ip", "link", "set", x, "up")
    snap = snapshot(daemon)
    got = {lv.name: lv for lv in leftover_veths(snap)}
    assert x in got and got[x].peer == y and got[x].bridge == br and got[x].network == n
    assert got[x].fix == f"ip link del {x}"
    who = port_owner(snap, br, x)
    assert "leftover" in who and f"plh-{uniq}" not in who
    for b in snap.bridges:
        for p in b.ports:
            assert p.container != f"plh-{uniq}", p


def swarm(daemon) -> None:
    """A single-node swarm on the harness engine. Another engine of this host may hold
    2377 (swarm wants one daemon per namespace): listen on a free port instead."""
    if daemon.swarm:
        return
    import socket

    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = daemon.docker(
            "swarm",
            "init",
            "--advertise-addr",
            f"127.0.0.1:{port}",
            "--listen-addr",
            f"127.0.0.1:{port}",
            check=False,
            timeout=120,
        )
        if r.returncode == 0 or "already part of a swarm" in r.stderr:
            daemon.swarm = True
            return
    raise RuntimeError(f"swarm init failed: {r.stderr.strip()}")


def test_overlay_path_on_a_single_node_swarm(daemon, made, uniq):
    swarm(daemon)
    n, c = f"po-{uniq}", f"poc-{uniq}"
    net(daemon, made, n, "-d", "overlay", "--attachable")
    run(daemon, made, c, "--network", n)
    snap = snapshot(daemon)
    p = one(snap, c, n)
    assert p.driver == "overlay", container_paths(snap, snap.container(c))
    roles = [h.role for h in p.hops]
    assert roles[:4] == ["iface", "overlay-ns", "br0", "vxlan"] and roles[-1] == "underlay"
    vni = snap.network(n).options.get("com.docker.network.driver.overlay.vxlanid_list")
    assert vni and vni.split(",")[0] in p.hops[3].name
    assert p.hops[1].name.endswith("/netns/1-" + snap.network(n).id[:10])
    assert any("docker_gwbridge" in s and "NAT" in s for s in p.says), p.says
    gwp = [q for q in container_paths(snap, snap.container(c)) if q.driver == "bridge"]
    assert gwp and any(h.name == "docker_gwbridge" for h in gwp[0].hops)
    # the gwbridge ports are swarm sandboxes' egress, never "orphan veth"
    gb = snap.bridge("docker_gwbridge")
    for port in gb.ports if gb else []:
        assert "orphan veth" not in port_owner(snap, "docker_gwbridge", port.name)


def test_path_explainer_draws_driver_truth_for_macvlan(daemon, made, uniq):
    from inspectors.reach import explain_path

    a, b = f"mxa{uniq}", f"mxb{uniq}"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    made["l"].append(a)
    sh("ip", "link", "set", a, "up")
    sh("ip", "link", "set", b, "up")
    n, c = f"px-{uniq}", f"pxc-{uniq}"
    net(daemon, made, n, "-d", "macvlan", "-o", f"parent={a}", "--subnet", "10.199.78.0/24")
    run(daemon, made, c, "--network", n)
    rep = explain_path(snapshot(daemon), c, "host:80")
    assert rep.verdict == "unreachable", rep.to_dict()
    failing = rep.hops[rep.first_failure_index]
    assert failing.kind == "host" and "macvlan" in failing.checks[0].detail
    iface = next(h for h in rep.hops if h.kind == "interface")
    assert any(ch.name == "driver path" and a in ch.detail for ch in iface.checks)


def test_overlay_path_across_nodes_names_the_remote_vtep(cluster, uniq):
    """On the 3-node swarm (tests/cluster.py): from node2, a container's overlay path
    goes through the overlay namespace, br0 and the VNI to node3's VTEP."""
    import json

    n1, n2, n3 = cluster.nodes
    net, a, b = f"pv{uniq}", f"pva{uniq}", f"pvb{uniq}"
    n1.docker("network", "create", "-d", "overlay", "--attachable", net)
    try:
        n2.docker("run", "-d", "--name", a, "--network", net, IMAGE, "sleep", "600")
        n3.docker("run", "-d", "--name", b, "--network", net, IMAGE, "sleep", "600")
        assert n2.docker("exec", a, "ping", "-c", "1", "-W", "2", b, check=False).returncode == 0
        ip_b = n3.docker(
            "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", b
        ).stdout.strip()
        r = n2.ssh("dockscope", "path", a, ip_b, "--json", check=False)
        assert r.stdout.strip(), (r.returncode, r.stderr)
        rep = json.loads(r.stdout)
        checks = [c for h in rep["hops"] for c in h["checks"] if c["name"] == "driver path"]
        assert checks, rep
        drawn = checks[0]["detail"]
        assert "br0" in drawn and "vxlan VNI" in drawn and n3.ip in drawn, drawn
        assert "/netns/1-" in drawn and "underlay" in drawn
        says = [c["detail"] for h in rep["hops"] for c in h["checks"] if c["name"] == "overlay"]
        assert any("docker_gwbridge" in s for s in says), says
    finally:
        n2.docker("rm", "-f", a, check=False)
        n3.docker("rm", "-f", b, check=False)
        n1.docker("network", "rm", net, check=False)


def test_host_veth_deleted_from_under_the_engine(daemon, made, uniq):
    """`ip link del` of a container's host veth takes its eth0 with it: the engine still
    lists the endpoint, and the doctor (a fresh process, as on a host) names the
    container and draws what is gone."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    n, c = f"pd-{uniq}", f"pdc-{uniq}"
    net(daemon, made, n)
    run(daemon, made, c, "--network", n)
    snap = snapshot(daemon)
    veth = next(i.host_veth for i in snap.container(c).interfaces if i.host_veth)
    sh("ip", "link", "del", veth)
    r = subprocess.run(
        [sys.executable, "-m", "tui", "doctor", "--json", "--rule", "endpoint_path_broken"],
        capture_output=True,
        text=True,
        env=daemon.env(),
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    hit = [f for f in json.loads(r.stdout)["findings"] if c in f["objects"]]
    assert hit and hit[0]["severity"] == "error", r.stdout
    assert "MISSING" in " ".join(hit[0]["evidence"]) and "no interface" in hit[0]["message"]
    assert "docker network connect" in hit[0]["fix"]


def test_macvlan_destination_from_a_bridge_is_not_reachable(daemon, made, uniq):
    """Walk 1: `path web <macvlan container>` said "host routing ok, reachable" while
    the host has no way into its own macvlan: the routing hop now asks the host's own
    route lookup and refuses a macvlan destination; verdict and notes agree."""
    import zlib

    from inspectors.reach import explain_path

    a, b = f"mya{uniq}", f"myb{uniq}"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    made["l"].append(a)
    sh("ip", "link", "set", a, "up")
    sh("ip", "link", "set", b, "up")
    third = 100 + zlib.crc32(uniq.encode()) % 100
    mvn, brn, mv, web = f"pym-{uniq}", f"pyb-{uniq}", f"pymc-{uniq}", f"pyw-{uniq}"
    net(daemon, made, mvn, "-d", "macvlan", "-o", f"parent={a}", "--subnet", f"10.198.{third}.0/24")
    net(daemon, made, brn)
    run(daemon, made, mv, "--network", mvn)
    run(daemon, made, web, "--network", brn)
    snap = snapshot(daemon)
    mv_ip = snap.container(mv).endpoints[0].ipv4
    for dst in (mv_ip, mv):
        rep = explain_path(snap, web, dst)
        assert rep.verdict == "unreachable", rep.to_dict()
        routing = next(h for h in rep.hops if h.kind == "routing")
        checks = {c.name: c for c in routing.checks}
        assert checks["macvlan"].status == "fail", routing
        assert checks["host route"].status == "fail", routing
        assert f"ip route get {mv_ip}" in checks["host route"].detail
        if dst == mv_ip:  # by name the embedded DNS fails first
            assert rep.hops[rep.first_failure_index] is routing
    # a bridge destination on another network: the host's route goes into its bridge
    web2, brn2 = f"pyx-{uniq}", f"pyn-{uniq}"
    net(daemon, made, brn2)
    run(daemon, made, web2, "--network", brn2)
    snap = snapshot(daemon)
    rep = explain_path(snap, web, web2)
    routing = next(h for h in rep.hops if h.kind == "routing")
    hr = next(c for c in routing.checks if c.name == "host route")
    assert hr.status == "ok" and snap.network(brn2).bridge in hr.detail, routing
