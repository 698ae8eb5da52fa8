"""The test cluster itself (tests/cluster.py): three dockerds, each in its own
network + mount + UTS namespace, one swarm, sshd on each node, real VXLAN between
them; and the swarm test that used to put the harness daemon in swarm mode (it
failed on a host whose own dockerd is a swarm manager: 2377 taken)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster import STATE, SSH_CONF_DIR, sweep_stale
from tests.harness import IMAGE

pytestmark = pytest.mark.swarm


def _host_links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def _host_macs() -> set[str]:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout
    return {link.get("address") for link in json.loads(out)}


def test_nodes_are_separate_hosts_in_one_swarm(cluster):
    nodes = cluster.manager.client().nodes.list()
    assert sorted(n.attrs["Description"]["Hostname"] for n in nodes) == ["node1", "node2", "node3"]
    assert {n.attrs["Status"]["Addr"] for n in nodes} == {n.ip for n in cluster.nodes}
    assert all(n.attrs["Status"]["State"] == "ready" for n in nodes)
    for node in cluster.nodes:
        # over real ssh: the node's own hostname, sysfs, /run and docker.sock
        out = node.ssh(
            "hostname; ls /sys/class/net; ls /run; docker info -f '{{.Swarm.NodeAddr}}'"
        ).stdout.split()
        assert out[0] == node.name
        assert "eth0" in out and cluster.bridge not in out  # the node's links, not the host's
        assert "docker.sock" in out and out[-1] == node.ip
        assert IMAGE in node.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    # the nodes' docker_gwbridge lives in their namespaces, not on the host (the host may
    # have one of its own, e.g. the session engine's after a swarm test: compare MACs)
    host_macs = _host_macs()
    for node in cluster.nodes:
        mac = node.ssh("cat /sys/class/net/docker_gwbridge/address").stdout.strip()
        assert mac and mac not in host_macs, node.name


def test_vxlan_carries_traffic_between_nodes(cluster, uniq):
    n1, n2, n3 = cluster.nodes
    net, a, b = f"vx{uniq}", f"va{uniq}", f"vb{uniq}"
    n1.docker("network", "create", "-d", "overlay", "--attachable", net)
    try:
        n2.docker("run", "-d", "--name", a, "--network", net, IMAGE, "sleep", "600")
        n3.docker("run", "-d", "--name", b, "--network", net, IMAGE, "sleep", "600")
        r = n2.docker("exec", a, "ping", "-c", "2", "-W", "2", b, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        # dropping VXLAN on node3 breaks exactly that
        rule = ["INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP"]
        n3.iptables("-I", *rule)
        try:
            r = n2.docker("exec", a, "ping", "-c", "1", "-W", "1", b, check=False)
            assert r.returncode != 0
        finally:
            n3.iptables("-D", *rule)
    finally:
        n2.docker("rm", "-f", a, check=False)
        n3.docker("rm", "-f", b, check=False)
        n1.docker("network", "rm", net, check=False)


def test_attachable_overlay_after_swarm_init(cluster, uniq):
    """Moved from test_snapshot.py: the joined snapshot of an overlay, taken on a
    swarm node (over ssh, inside the node's namespaces), against `network inspect`."""
    n1, n2 = cluster.nodes[:2]
    name, cname = f"ov{uniq}", f"ovc{uniq}"
    n1.docker("network", "create", "-d", "overlay", "--attachable", name)
    try:
        n2.docker("run", "-d", "--name", cname, "--network", name, IMAGE, "sleep", "600")
        snap = json.loads(n2.ssh("dockscope", "snapshot", "--json").stdout)
        raw = json.loads(n2.docker("network", "inspect", name).stdout)[0]
        n = next(x for x in snap["networks"] if x["name"] == name)
        assert n["driver"] == "overlay" and n["scope"] == "swarm" and n["attachable"]
        assert n["vxlan_ids"] == raw["Options"][
            "com.docker.network.driver.overlay.vxlanid_list"
        ].split(",")
        assert [(s["subnet"], s["gateway"]) for s in n["subnets"]] == [
            (c["Subnet"], c.get("Gateway")) for c in raw["IPAM"]["Config"]
        ]
        ep = next(e for e in n["endpoints"] if e["container"] == cname)
        assert ep["ipv4"] == raw["Containers"][ep["container_id"]]["IPv4Address"].split("/")[0]
        assert snap["engine"]["swarm_state"] == "active"
        assert snap["engine"]["swarm_node_addr"] == n2.ip
        c = next(x for x in snap["containers"] if x["name"] == cname)
        assert c["networks"] == [name] and any(i["network"] == name for i in c["interfaces"])
        # the overlay endpoint's veth lives in the overlay's own namespace, not on a bridge
        assert n["bridge"] is None
    finally:
        n2.docker("rm", "-f", cname, check=False)
        n1.docker("network", "rm", name, check=False)


def test_a_killed_run_is_swept_and_leaves_nothing(cluster):
    """A one-node cluster in a process killed with SIGKILL (no teardown ran): the
    next run's sweep removes its processes, netns, links, rules, ssh config, dirs."""
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from tests.cluster import Cluster\n"
        "c = Cluster(1); c.start(); print(c.id, flush=True); time.sleep(600)\n"
    ) % str(Path(__file__).resolve().parent.parent)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        cid = p.stdout.readline().strip()
        assert cid, "the child cluster did not start"
        d = STATE / cid
        meta = json.loads((d / "meta.json").read_text())
        netns = meta["nodes"][0]["netns"]
        pid = int((d / "node1" / "dockerd.pid").read_text())
    finally:
        p.kill()
        p.wait()
    assert os.path.exists(f"/proc/{pid}")  # SIGKILL of the owner left the node running
    swept = sweep_stale()
    assert cid in swept and cid not in os.listdir(STATE)
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}")
    assert netns not in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout
    assert f"dsc{cid}" not in _host_links()
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert f"dockscope-cluster-{cid}" not in rules
    assert not (SSH_CONF_DIR / f"dockscope-cluster-{cid}.conf").exists()
    assert cluster.id in os.listdir(STATE)  # the live cluster was not touched


def test_several_hosts_on_a_one_engine_command_is_one_line_exit_2():
    """`-H a -H b snapshot`: one clear line on stderr, exit 2, nothing contacted."""
    r = subprocess.run(
        [sys.executable, "-m", "tui.cli", "-H", "ssh://root@192.0.2.1", "-H",
         "ssh://root@192.0.2.2", "snapshot"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "`snapshot` reads one engine" in lines[0] and "cluster" in lines[0]
