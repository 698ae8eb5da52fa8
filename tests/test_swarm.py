"""Swarm objects, overlay detail, service logs and several engines at once, on
the namespaced test cluster (tests/cluster.py). Oracles: the docker CLI on each
node (`node ls`, `service ls/ps`, `service logs`, `network inspect --verbose`)
and iproute2 run inside the overlay's namespace on the node over ssh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.harness import IMAGE

pytestmark = pytest.mark.swarm
DS = [sys.executable, "-m", "tui.cli"]


def ds(*args: str, check=True, env=None, timeout=120) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [*DS, *args], capture_output=True, text=True, timeout=timeout, env=env or os.environ
    )
    if check and r.returncode != 0:
        raise AssertionError(f"dockscope {' '.join(args)}: rc {r.returncode}\n{r.stderr}")
    return r


def wait_for(pred, timeout=60.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def topo(cluster):
    """An attachable overlay with a 3-replica service publishing 8080 (ingress),
    a global service publishing 9081 in host mode, a chatty service for logs, and
    one plain container on node2 and one on node3."""
    n1, n2, n3 = cluster.nodes
    u = os.urandom(3).hex()
    net, web, hm, talk, ca, cb = (f"{x}{u}" for x in ("sn", "web", "hm", "talk", "ca", "cb"))
    n1.docker("network", "create", "-d", "overlay", "--attachable", net)
    common = ["service", "create", "-q", "--detach", "--no-resolve-image"]
    n1.docker(*common, "--name", web, "--replicas", "3", "--network", net,
              "-p", "8080:80", IMAGE, "httpd", "-f", "-p", "80")  # fmt: skip
    n1.docker(*common, "--name", hm, "--mode", "global", "--network", net,
              "--publish", "mode=host,target=81,published=9081",
              IMAGE, "httpd", "-f", "-p", "81")  # fmt: skip
    n1.docker(*common, "--name", talk, "--replicas", "2", IMAGE, "sh", "-c",
              'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.5; done')  # fmt: skip
    n2.docker("run", "-d", "--name", ca, "--network", net, IMAGE, "sleep", "600")
    n3.docker("run", "-d", "--name", cb, "--network", net, IMAGE, "sleep", "600")

    def converged():
        out = n1.docker("service", "ls", "--format", "{{.Name}} {{.Replicas}}").stdout
        reps = dict(line.split() for line in out.splitlines())
        return all(reps.get(s, "0/1").split("/")[0] == reps.get(s, "0/1").split("/")[1]
                   for s in (web, hm, talk))  # fmt: skip

    wait_for(converged, 90, "services to converge")
    yield dict(net=net, web=web, hm=hm, talk=talk, ca=ca, cb=cb)
    n2.docker("rm", "-f", ca, check=False)
    n3.docker("rm", "-f", cb, check=False)
    n1.docker("service", "rm", web, hm, talk, check=False)
    wait_for(lambda: n1.docker("network", "rm", net, check=False).returncode == 0, 30, "net rm")


def test_swarm_objects_match_the_cli(cluster, topo):
    from inspectors.swarm import read_swarm

    n1 = cluster.manager
    view = read_swarm(n1.client())
    assert view.is_manager and view.state == "active"
    cli_nodes = [
        json.loads(x) for x in n1.docker("node", "ls", "--format", "{{json .}}").stdout.splitlines()
    ]
    assert sorted((n.hostname, n.availability, n.state) for n in view.nodes) == sorted(
        (c["Hostname"], c["Availability"].lower(), c["Status"].lower()) for c in cli_nodes
    )
    assert {n.hostname: n.address for n in view.nodes} == {n.name: n.ip for n in cluster.nodes}
    assert [n.hostname for n in view.nodes if n.leader] == ["node1"]
    assert all(n.engine_version == c["EngineVersion"] for n, c in
               zip(view.nodes, sorted(cli_nodes, key=lambda c: c["Hostname"])))  # fmt: skip

    web, hm = view.service(topo["web"]), view.service(topo["hm"])
    assert web.mode == "replicated" and (web.replicas_running, web.replicas_desired) == (3, 3)
    assert hm.mode == "global" and hm.replicas_desired == 3
    assert [(p.published, p.target, p.mode) for p in web.ports] == [(8080, 80, "ingress")]
    assert [(p.published, p.target, p.mode) for p in hm.ports] == [(9081, 81, "host")]
    raw = json.loads(n1.docker("service", "inspect", topo["web"]).stdout)[0]
    assert sorted((v.network_id, v.addr) for v in web.vips) == sorted(
        (v["NetworkID"], v["Addr"]) for v in raw["Endpoint"]["VirtualIPs"]
    )
    assert {v.network for v in web.vips} == {"ingress", topo["net"]}

    ps = n1.docker("service", "ps", "--no-trunc", "--format", "{{.ID}} {{.Node}} {{.CurrentState}}",
                   "--filter", "desired-state=running", topo["web"]).stdout  # fmt: skip
    cli_tasks = {line.split()[0]: line.split()[1] for line in ps.splitlines()}
    mine = {t.id: t for t in view.tasks_of(topo["web"]) if t.desired_state == "running"}
    assert {k: t.node for k, t in mine.items()} == cli_tasks
    for t in mine.values():
        assert t.state == "running" and t.error is None and t.container_id
        node = cluster.node(t.node)
        assert (
            node.docker("inspect", "-f", "{{.State.Running}}", t.container_id).stdout.strip()
            == "true"
        )
    # a worker cannot list them, and says so
    w = read_swarm(cluster.nodes[1].client())
    assert not w.nodes and "manager" in w.note and w.node_addr == cluster.nodes[1].ip


def test_swarm_cli_table(cluster, topo):
    out = ds("-H", cluster.manager.host, "swarm").stdout
    assert "node1" in out and "manager (leader)" in out and f"{topo['web']}" in out
    assert "*:8080->80/tcp" in out and "host:9081->81/tcp" in out
    w = ds("-H", cluster.nodes[1].host, "swarm")
    assert "only listed by a manager" in w.stderr


def test_overlay_detail_on_a_node(cluster, topo):
    n1, n2, n3 = cluster.nodes
    net = topo["net"]
    got = json.loads(n2.ssh("dockscope", "overlay", net, "--json").stdout)
    (d,) = got
    raw = json.loads(n2.docker("network", "inspect", "--verbose", net).stdout)[0]
    assert d["network_id"] == raw["Id"] and not d["encrypted"]
    assert d["vnis"] == [int(raw["Options"]["com.docker.network.driver.overlay.vxlanid_list"])]
    ns = d["namespace"]
    assert ns == f"/var/run/docker/netns/1-{raw['Id'][:10]}"
    # oracle: iproute2 inside that namespace on the node
    links = json.loads(n2.ssh("nsenter", f"--net={ns}", "ip", "-d", "-j", "link").stdout)
    vx = next(x for x in links if x.get("linkinfo", {}).get("info_kind") == "vxlan")
    (mine,) = d["vxlan"]
    assert mine["name"] == vx["ifname"] and mine["vni"] == vx["linkinfo"]["info_data"]["id"]
    assert mine["port"] == vx["linkinfo"]["info_data"]["port"] == 4789
    assert d["bridge"] == "br0" and vx["ifname"] in d["ports"]
    fdb = json.loads(n2.ssh("nsenter", f"--net={ns}", "bridge", "-j", "fdb", "show", "dev",
                            vx["ifname"]).stdout)  # fmt: skip
    oracle = sorted((e["mac"], e["dst"]) for e in fdb if e.get("dst"))
    assert sorted((e["mac"], e["vtep"]) for e in d["fdb"]) == oracle
    # cb (on node3) sits behind node3's VTEP in node2's FDB
    cb_mac = json.loads(n3.docker("inspect", topo["cb"]).stdout)[0]["NetworkSettings"][
        "Networks"][net]["MacAddress"]  # fmt: skip
    assert (cb_mac, n3.ip) in oracle
    assert sorted(p["ip"] for p in d["peers"]) == sorted(p["IP"] for p in raw["Peers"])
    vips = {s["name"]: s["vip"] for s in d["services"]}
    assert vips[topo["web"]] == raw["Services"][topo["web"]]["VIP"]
    assert d["lb_namespace"] == f"/var/run/docker/netns/lb_{raw['Id'][:9]}"
    # the IPVS table: as ipvsadm sees it (this kernel may lack ip_vs: then both say so)
    ipvsadm = n2.ssh("nsenter", f"--net={d['lb_namespace']}", "ipvsadm", "-Ln", check=False)
    if ipvsadm.returncode != 0:
        assert d["ipvs"] == [] and "not available" in d["ipvs_note"]
    else:
        fwms = {int(x.split()[1]) for x in ipvsadm.stdout.splitlines() if x.startswith("FWM")}
        assert {s["fwmark"] for s in d["ipvs"]} == fwms
    assert d["underlay_if"] == "eth0" and d["underlay_mtu"] == cluster.mtu
    assert d["bridge_mtu"] == 1450 and d["vxlan"][0]["mtu"] == 1450
    text = n2.ssh("dockscope", "overlay", net).stdout
    assert "MTU: overlay 1450 <= underlay eth0 1500 - 50: ok" in text
    assert f"vtep {n3.ip}:" in text


def test_service_logs_merge_tasks_with_task_and_node(cluster, topo):
    n1 = cluster.manager
    mine = ds("-H", n1.host, "logs", "--tail", "3", topo["talk"]).stdout.splitlines()
    cli = n1.docker("service", "logs", "--tail", "3", topo["talk"]).stdout.splitlines()
    prefixes = {ln.split("|")[0].strip() for ln in mine}
    assert prefixes == {ln.split("|")[0].strip() for ln in cli}
    assert len(prefixes) == 2 and all("@node" in p for p in prefixes)
    assert len(mine) == 6 and all(ln.split("| ", 1)[1].startswith("line ") for ln in mine)
    # a container with that name still wins
    cname = topo["ca"]
    r = ds("-H", cluster.nodes[1].host, "logs", cname, check=False)
    assert r.returncode == 0 and "service" not in r.stderr


def _cluster_json(*args, extra=(), env=None):
    return json.loads(ds(*args, "cluster", "--json", *extra, env=env, timeout=180).stdout)


def test_several_hosts_over_ssh(cluster, topo):
    n1, n2, n3 = cluster.nodes
    hosts = [a for n in cluster.nodes for a in ("-H", n.ssh_host)]
    snap = _cluster_json(*hosts)
    assert [n["name"] for n in snap["nodes"]] == ["node1", "node2", "node3"]
    assert all(n["reachable"] and n["kernel"] for n in snap["nodes"])
    assert [n["hostname"] for n in snap["swarm"]["nodes"]] == ["node1", "node2", "node3"]
    ov = next(o for o in snap["overlays"] if o["name"] == topo["net"])
    on2 = next(o for o in ov["nodes"] if o["node"] == "node2")
    assert {e["container"] for e in on2["local"]} >= {topo["ca"]}
    cb = next(e for e in on2["remote"] if e["container"] == topo["cb"])
    assert cb["node"] == "node3"
    assert on2["remote_vtep"][cb["mac"]] == n3.ip  # node2's FDB sends cb to node3
    assert on2["vni"] == ov["vnis"][0] and on2["namespace"]
    # swarm objects came along, from the manager's own report
    assert {t["node"] for t in snap["swarm"]["tasks"] if t["service"] == topo["web"]} <= {
        "node1", "node2", "node3"}  # fmt: skip
    text = ds(*hosts, "cluster").stdout
    assert "NODE" in text.splitlines()[0] and f"{topo['cb']}@node3->{n3.ip}" in text


def test_swarm_discovery_and_a_stale_node(cluster, topo):
    n1 = cluster.manager
    snap = _cluster_json("-H", n1.ssh_host, "--swarm")
    assert sorted(n["swarm_addr"] for n in snap["nodes"]) == sorted(n.ip for n in cluster.nodes)
    # a node that does not answer stays, marked stale (an address on the cluster
    # bridge where nothing listens)
    ghost = f"ssh://root@{cluster.underlay.network_address + 99}"
    snap = _cluster_json("-H", n1.ssh_host, "-H", ghost)
    g = next(n for n in snap["nodes"] if n["host"] == ghost)
    assert not g["reachable"] and g["stale"] and g["error"]
    assert next(n for n in snap["nodes"] if n["host"] == n1.ssh_host)["reachable"]


def test_a_node_without_dockscope_keeps_its_engine_views(cluster, topo):
    n2 = cluster.nodes[1]
    snap = _cluster_json("-H", n2.ssh_host, "-H", cluster.nodes[2].ssh_host,
                         extra=("--remote-dockscope", "dockscope-not-installed"))  # fmt: skip
    node = snap["nodes"][0]
    assert node["reachable"] and node["kernel"] is None
    assert "not installed" in node["kernel_note"]
    assert topo["ca"] in {c["name"] for c in node["containers"]}
