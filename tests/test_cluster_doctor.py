"""Cross-node doctor rules, each proven on a real fault injected in the test
cluster (tests/cluster.py) and seen to go once the fault is removed. Faults are
iptables rules inside one node's network namespace, a drained node, a node's
underlay MTU, an overlay subnet over the underlay. The cluster is read the way
`dockscope -H ssh://.. -H ssh://.. doctor` reads it: over ssh, each node's own
dockscope. Traffic stays on the cluster's bridge."""

from __future__ import annotations

import os
import time

import pytest

from inspectors.cluster_doctor import run_cluster_doctor
from inspectors.cluster_model import NodeTarget, build_cluster
from inspectors.ipsec import kernel_esp
from inspectors.overlay import ip_vs_config
from tests.harness import IMAGE

pytestmark = pytest.mark.swarm


def build(cluster, previous=None):
    return build_cluster([NodeTarget(n.ssh_host) for n in cluster.nodes], previous=previous)


def findings(cluster, rule, previous=None):
    snap = build(cluster, previous)
    return [f for f in run_cluster_doctor(snap, previous) if f.rule == rule], snap


def wait_findings(cluster, rule, pred, timeout=60.0):
    deadline = time.time() + timeout
    while True:
        got, _ = findings(cluster, rule)
        if pred(got) or time.time() > deadline:
            return got
        time.sleep(2)


@pytest.fixture(scope="module")
def dtopo(cluster):
    n1, n2, n3 = cluster.nodes
    u = os.urandom(3).hex()
    t = {k: f"{k}{u}" for k in ("dn", "ca", "cb", "pin", "en", "ce")}
    n1.docker("network", "create", "-d", "overlay", "--attachable", t["dn"])
    n2.docker("run", "-d", "--name", t["ca"], "--network", t["dn"], IMAGE, "sleep", "900")
    n3.docker("run", "-d", "--name", t["cb"], "--network", t["dn"], IMAGE, "sleep", "900")
    n1.docker("service", "create", "-q", "--detach", "--no-resolve-image", "--name", t["pin"],
              "--constraint", "node.hostname==node3", IMAGE, "sleep", "900")  # fmt: skip
    yield t
    n2.docker("rm", "-f", t["ca"], t["ce"], check=False)
    n3.docker("rm", "-f", t["cb"], check=False)
    n1.docker("service", "rm", t["pin"], check=False)
    for net in (t["dn"], t["en"]):
        n1.docker("network", "rm", net, check=False)


def test_no_findings_on_a_healthy_cluster(cluster, dtopo):
    snap = build(cluster)
    assert all(n.reachable and n.underlay for n in snap.nodes)
    got = [f for f in run_cluster_doctor(snap) if not f.rule.startswith("cluster_vxlan_rx")]
    assert got == [], [f.message for f in got]


def test_vxlan_blocked(cluster, dtopo):
    n3 = cluster.nodes[2]
    rule = ["INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP"]
    n3.iptables("-I", *rule)
    try:
        got, _ = findings(cluster, "cluster_vxlan_blocked")
        assert [f.objects for f in got] == [["node3"]]
        assert "4789/udp" in got[0].message and "--dport 4789" in got[0].evidence[0]
    finally:
        n3.iptables("-D", *rule)
    assert findings(cluster, "cluster_vxlan_blocked")[0] == []


def test_gossip_blocked_and_the_peers_lists_split(cluster, dtopo):
    """7946 dropped at node3: the firewall rule is found at once; within seconds
    node2's peers list for the overlay loses node3 (which runs cb on it)."""
    n3 = cluster.nodes[2]
    rules = [["INPUT", "-p", p, "--dport", "7946", "-j", "DROP"] for p in ("udp", "tcp")]
    for r in rules:
        n3.iptables("-I", *r)
    try:
        got, _ = findings(cluster, "cluster_gossip_blocked")
        assert sorted(f.objects[0] for f in got) == ["node3", "node3"]
        assert {"7946/udp", "7946/tcp"} == {f.message.split()[0] for f in got}
        missing = wait_findings(
            cluster, "cluster_peer_missing",
            lambda fs: any(f.objects[:3] == [dtopo["dn"], "node2", "node3"] for f in fs),
        )  # fmt: skip
        assert any(f.objects[:3] == [dtopo["dn"], "node2", "node3"] for f in missing)
        differ, _ = findings(cluster, "cluster_peers_differ")
        assert any(f.objects == [dtopo["dn"], "node2"] for f in differ)
    finally:
        for r in rules:
            n3.iptables("-D", *r)
    assert findings(cluster, "cluster_gossip_blocked")[0] == []
    gone = wait_findings(
        cluster, "cluster_peer_missing",
        lambda fs: not any(dtopo["dn"] in f.objects for f in fs), timeout=90,
    )  # fmt: skip
    assert not any(dtopo["dn"] in f.objects for f in gone)
    assert not any(dtopo["dn"] in f.objects for f in findings(cluster, "cluster_peers_differ")[0])


def test_node_drained_while_a_task_is_pinned_to_it(cluster, dtopo):
    n1 = cluster.manager
    n1.docker("node", "update", "--availability", "drain", "node3")
    try:
        got = wait_findings(cluster, "cluster_node_unavailable", lambda fs: bool(fs))
        assert got and got[0].objects[:2] == ["node3", dtopo["pin"]]
        assert "drain" in got[0].message
    finally:
        n1.docker("node", "update", "--availability", "active", "node3")
    assert wait_findings(cluster, "cluster_node_unavailable", lambda fs: not fs) == []


def test_overlay_subnet_over_the_underlay(cluster, dtopo):
    n1 = cluster.manager
    name = f"ol{os.urandom(3).hex()}"
    sub = f"{cluster.underlay.network_address}/25"  # inside the nodes' eth0 route
    n1.docker("network", "create", "-d", "overlay", "--subnet", sub, name)
    try:
        got, _ = findings(cluster, "cluster_overlay_route_overlap")
        mine = [f for f in got if f.objects[0] == name]
        assert mine and mine[0].objects[1] == "node1"
        assert f"{cluster.underlay} dev eth0" in mine[0].message
    finally:
        n1.docker("network", "rm", name)
    got, _ = findings(cluster, "cluster_overlay_route_overlap")
    assert not [f for f in got if f.objects[0] == name]


def test_overlay_mtu_over_the_underlay(cluster, dtopo):
    n3 = cluster.nodes[2]
    n3.sh("ip link set eth0 mtu 1400")
    try:
        got, _ = findings(cluster, "cluster_overlay_mtu")
        mine = [f for f in got if f.objects == [dtopo["dn"], "node3"]]
        assert mine and "MTU 1450 > underlay eth0 1400 - 50" in mine[0].message
    finally:
        n3.sh(f"ip link set eth0 mtu {cluster.mtu}")
    assert findings(cluster, "cluster_overlay_mtu")[0] == []


def test_encrypted_overlay_with_esp_blocked(cluster, dtopo):
    """An `--opt encrypted` overlay with a container on node2, and ESP dropped
    there. (This machine's kernel cannot install the IPsec SAs, so the traffic
    effect cannot be shown here; the rule reads the overlay and the firewall.)"""
    n1, n2 = cluster.nodes[:2]
    n1.docker("network", "create", "-d", "overlay", "--attachable", "--opt", "encrypted",
              dtopo["en"])  # fmt: skip
    n2.docker("run", "-d", "--name", dtopo["ce"], "--network", dtopo["en"], IMAGE, "sleep", "900")
    assert findings(cluster, "cluster_esp_blocked")[0] == []
    rule = ["INPUT", "-p", "esp", "-j", "DROP"]
    n2.iptables("-I", *rule)
    try:
        got, _ = findings(cluster, "cluster_esp_blocked")
        assert [f.objects for f in got] == [["node2", dtopo["en"]]]
    finally:
        n2.iptables("-D", *rule)
    assert findings(cluster, "cluster_esp_blocked")[0] == []


def test_vxlan_rx_stuck_while_tx_climbs(cluster, dtopo):
    """A fresh overlay, VXLAN dropped at node3: node2's vxlan sends and receives
    nothing; once the drop is gone and traffic flows, RX moves and it is gone."""
    n1, n2, n3 = cluster.nodes
    u = os.urandom(3).hex()
    net, a, b = f"rx{u}", f"ra{u}", f"rb{u}"
    n1.docker("network", "create", "-d", "overlay", "--attachable", net)
    rule = ["INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP"]
    try:
        n2.docker("run", "-d", "--name", a, "--network", net, IMAGE, "sleep", "900")
        n3.docker("run", "-d", "--name", b, "--network", net, IMAGE, "sleep", "900")
        n3.iptables("-I", *rule)
        n2.docker("exec", a, "ping", "-c", "6", "-i", "0.2", "-W", "1", b, check=False)
        got, snap = findings(cluster, "cluster_vxlan_rx_stuck")
        mine = [f for f in got if f.objects == [net, "node2"]]
        assert mine, [f.message for f in got]
        on2 = snap.overlay(net).on("node2")
        assert on2.rx_packets == 0 and on2.tx_packets >= 6
        n3.iptables("-D", *rule)
        r = n2.docker("exec", a, "ping", "-c", "2", "-W", "2", b, check=False)
        assert r.returncode == 0
        got, snap = findings(cluster, "cluster_vxlan_rx_stuck")
        assert not [f for f in got if f.objects == [net, "node2"]]
        assert snap.overlay(net).on("node2").rx_packets > 0
    finally:
        n3.iptables("-D", *rule, check=False)
        n2.docker("rm", "-f", a, check=False)
        n3.docker("rm", "-f", b, check=False)
        n1.docker("network", "rm", net, check=False)


def test_cli_doctor_over_several_hosts(cluster, dtopo):
    import subprocess
    import sys

    n3 = cluster.nodes[2]
    rule = ["INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP"]
    n3.iptables("-I", *rule)
    try:
        hosts = [a for n in cluster.nodes for a in ("-H", n.ssh_host)]
        r = subprocess.run([sys.executable, "-m", "tui.cli", *hosts, "doctor"],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
        assert r.returncode == 1 and "cluster_vxlan_blocked" in r.stdout and "node3" in r.stdout
    finally:
        n3.iptables("-D", *rule)


def test_path_across_nodes_with_probe_and_underlay_fallback(cluster, dtopo):
    """path A B with A on node2 and B on node3: the hops over the overlay, a
    real probe from A's sandbox; with VXLAN dropped at node3 the probe fails,
    the underlay probe node2 -> node3 answers, and the verdict says so."""
    import json
    import subprocess
    import sys

    n2, n3 = cluster.nodes[1], cluster.nodes[2]
    hosts = [a for n in cluster.nodes for a in ("-H", n.ssh_host)]

    def path(*extra):
        r = subprocess.run([sys.executable, "-m", "tui.cli", *hosts, "path", dtopo["ca"],
                            dtopo["cb"], "--probe", *extra],
                           capture_output=True, text=True, timeout=180)  # fmt: skip
        return r

    r = path("--json")
    assert r.returncode == 0, r.stdout + r.stderr
    p = json.loads(r.stdout)
    assert (p["src_node"], p["dst_node"], p["network"]) == ("node2", "node3", dtopo["dn"])
    raw = json.loads(n2.docker("network", "inspect", dtopo["dn"]).stdout)[0]
    assert p["vni"] == int(raw["Options"]["com.docker.network.driver.overlay.vxlanid_list"])
    wheres = [h["where"] for h in p["hops"]]
    assert wheres == ["node2", "node2", "underlay", "node3", "node3"]
    assert all(h["status"] == "ok" for h in p["hops"])
    assert f"-> {n3.ip}" in p["hops"][1]["detail"] and "udp/4789" in p["hops"][2]["what"]
    assert p["probes"][0]["ok"] is True and p["verdict"] == "reachable"

    rule = ["INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP"]
    n3.iptables("-I", *rule)
    try:
        r = path()
        assert r.returncode == 1, r.stdout + r.stderr
        assert "[FAIL] underlay" in r.stdout and "--dport 4789 -j DROP" in r.stdout
        assert f"probe node2 (underlay) -> node3 {n3.ip}: ok" in r.stdout
        assert "answers but the overlay does not" in r.stdout
    finally:
        n3.iptables("-D", *rule)


def test_node_down_while_a_task_is_pinned_to_it(cluster, dtopo):
    """node3's dockerd stopped: the manager marks it down with the pinned task
    still expected there; node3 is kept, stale. Started again, both go."""
    n3 = cluster.nodes[2]
    n3.stop_dockerd()
    try:
        got = wait_findings(
            cluster, "cluster_node_unavailable",
            lambda fs: any(f.objects[:1] == ["node3"] and "down" in f.message for f in fs),
            timeout=90,
        )  # fmt: skip
        assert any(f.objects[:2] == ["node3", dtopo["pin"]] and "down" in f.message for f in got)
        stale, snap = findings(cluster, "cluster_node_stale")
        assert [f.objects for f in stale] == [[n3.ssh_host]] or [f.objects for f in stale] == [
            ["node3"]
        ]
        assert not snap.node(n3.ssh_host).reachable
    finally:
        n3.start_dockerd()
        cluster.wait_nodes_ready(90)
    assert wait_findings(cluster, "cluster_node_unavailable", lambda fs: not fs, timeout=90) == []
    assert findings(cluster, "cluster_node_stale")[0] == []


def test_encrypted_overlay_without_ipsec_sas(cluster, dtopo):
    """An encrypted overlay with containers on node2 and node3. This kernel has no
    ESP/AES-GCM, so dockerd installs docker's ESP policies but no SA (it logs
    'Failed Adding ... SA'): the policy drops the traffic, and the finding says so
    from the real xfrm tables. Once node3's container is gone (node3 no longer a
    peer of the overlay) the finding goes."""
    n1, n2, n3 = cluster.nodes
    u = os.urandom(3).hex()
    net, a, b = f"sa{u}", f"sa{u}a", f"sa{u}b"
    n1.docker("network", "create", "-d", "overlay", "--attachable", "--opt", "encrypted", net)
    try:
        n2.docker("run", "-d", "--name", a, "--network", net, IMAGE, "sleep", "900")
        n3.docker("run", "-d", "--name", b, "--network", net, IMAGE, "sleep", "900")
        mine = lambda fs: [f for f in fs if f.objects == ["node2", net]]  # noqa: E731
        if kernel_esp() == "ESP and AES-GCM available":  # a kernel that can: SAs, no finding
            snap = build(cluster)
            d = next(d for d in snap.node("node2").overlays if d.name == net)
            assert d.ipsec_out.get(n3.ip), d.ipsec_out
            assert not mine(findings(cluster, "cluster_ipsec_sa_missing")[0])
            return
        got = mine(wait_findings(cluster, "cluster_ipsec_sa_missing", lambda fs: mine(fs)))
        assert got and "no IPsec SA to node3" in got[0].message, got
        assert any("ESP policy, no SA" in e for e in got[0].evidence), got[0].evidence
        pol = n2.ssh("ip", "xfrm", "policy").stdout
        assert f"dst {n3.ip}/32" in pol and "proto esp" in pol  # docker's policy is there
        assert n2.ssh("ip", "xfrm", "state").stdout.strip() == ""  # and no SA
        # the effect the finding predicts: node2 cannot reach node3 over this overlay
        r = n2.docker("exec", a, "ping", "-c", "2", "-W", "2", b, check=False)
        assert r.returncode != 0
        n3.docker("rm", "-f", b)
        assert wait_findings(cluster, "cluster_ipsec_sa_missing", lambda fs: not mine(fs)) == []
    finally:
        n2.docker("rm", "-f", a, check=False)
        n3.docker("rm", "-f", b, check=False)
        n1.docker("network", "rm", net, check=False)


def test_service_vip_on_a_node_without_ipvs(cluster, dtopo):
    """A replicated service with a VIP on an overlay: this kernel has no ip_vs,
    so the tool says the VIP has no load balancer on each node running a task,
    naming the kernel's config; the finding goes with the service."""
    n1 = cluster.nodes[0]
    u = os.urandom(3).hex()
    svc = f"vip{u}"
    n1.docker("service", "create", "-q", "--detach", "--no-resolve-image", "--name", svc,
              "--network", dtopo["dn"], "--constraint", "node.hostname==node2",
              IMAGE, "sleep", "900")  # fmt: skip
    try:
        mine = lambda fs: [f for f in fs if f.objects == ["node2", dtopo["dn"]]]  # noqa: E731
        if ip_vs_config() == "" and os.path.exists("/proc/config.gz"):  # a kernel with ip_vs
            time.sleep(10)
            assert not mine(findings(cluster, "cluster_ipvs_missing")[0])
            return
        got = mine(wait_findings(cluster, "cluster_ipvs_missing", lambda fs: mine(fs), 90))
        assert got and svc in got[0].message, got
        assert "IPVS is not available in this kernel" in got[0].evidence[0]
        if os.path.exists("/proc/config.gz"):
            assert "CONFIG_IP_VS not set" in got[0].evidence[0]
    finally:
        n1.docker("service", "rm", svc, check=False)
    assert wait_findings(cluster, "cluster_ipvs_missing", lambda fs: not fs, 90) == []
