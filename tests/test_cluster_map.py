"""The map (inspectors/topology.py, tui/panes/map.py) on the test cluster: nodes,
networks, bridges, containers, overlays spanning nodes, remote endpoints with
their VTEP, a stale node, a finding and the last path marked; readable at 80x24
(folding, scrolling); and the one-host map on a node."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from inspectors.cluster_doctor import run_cluster_doctor
from inspectors.cluster_model import NodeTarget, build_cluster
from inspectors.cluster_path import explain_cluster_path
from inspectors.model import to_jsonable
from inspectors.topology import MARK_FINDING, MARK_PATH, MARK_STALE, build_cluster_map, render_text
from tests.harness import IMAGE

pytestmark = pytest.mark.swarm


@pytest.fixture(scope="module")
def mtopo(cluster):
    n1, n2, n3 = cluster.nodes
    u = os.urandom(3).hex()
    t = {k: f"{k}{u}" for k in ("mn", "ma", "mb")}
    n1.docker("network", "create", "-d", "overlay", "--attachable", t["mn"])
    n2.docker("run", "-d", "--name", t["ma"], "--network", t["mn"], IMAGE, "sleep", "900")
    n3.docker("run", "-d", "--name", t["mb"], "--network", t["mn"], IMAGE, "sleep", "900")
    yield t
    n2.docker("rm", "-f", t["ma"], check=False)
    n3.docker("rm", "-f", t["mb"], check=False)
    n1.docker("network", "rm", t["mn"], check=False)


@pytest.fixture(scope="module")
def marked(cluster, mtopo):
    """A map with a stale node, a finding (VXLAN dropped at node3) and a path."""
    n3 = cluster.nodes[2]
    ghost = f"ssh://root@{cluster.underlay.network_address + 98}"
    rule = ["INPUT", "-p", "udp", "--dport", "4789", "-j", "DROP"]
    n3.iptables("-I", *rule)
    try:
        targets = [NodeTarget(n.ssh_host) for n in cluster.nodes] + [NodeTarget(ghost)]
        snap = build_cluster(targets)
    finally:
        n3.iptables("-D", *rule)
    p = to_jsonable(explain_cluster_path(snap, mtopo["ma"], mtopo["mb"]))
    return build_cluster_map(snap, run_cluster_doctor(snap), p), snap, ghost


def test_map_draws_nodes_overlays_and_remote_endpoints(cluster, mtopo, marked):
    root, snap, ghost = marked
    names = [c.key for c in root.children if c.kind == "node"]
    assert names[:3] == ["node1", "node2", "node3"] and len(names) == 4
    node2 = root.find("node", "node2")
    net = next(c for c in node2.children if c.kind == "network" and c.key == mtopo["mn"])
    kids = {c.kind: c for c in net.children}
    assert kids["container"].key == mtopo["ma"]
    remote = next(c for c in net.children if c.kind == "remote")
    assert remote.key == mtopo["mb"] and f"via {cluster.nodes[2].ip}" in remote.label
    spans = next(c for c in root.children if c.label == "overlays spanning nodes")
    ov = next(c for c in spans.children if c.key == mtopo["mn"])
    assert "node2" in ov.label and "node3" in ov.label
    # the bridge behind a local network is drawn under it
    br = next(c for c in node2.children if c.key == "docker_gwbridge")
    assert any(c.kind == "bridge" for c in br.children)


def test_map_marks_stale_findings_and_the_last_path(cluster, mtopo, marked):
    root, snap, ghost = marked
    stale = [c for c in root.children if c.kind == "node" and MARK_STALE in c.marks]
    assert len(stale) == 1 and "STALE" in stale[0].label
    node3 = root.find("node", "node3")
    assert MARK_FINDING in node3.marks and any("4789" in n for n in node3.notes)
    assert MARK_PATH in root.find("container", mtopo["ma"]).marks
    path = next(c for c in root.children if c.kind == "path")
    assert any("[fail] underlay" in h.label for h in path.children)
    text = render_text(root, 80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "[STALE]" in text and "[!]" in text and "[*]" in text


async def test_map_screen_at_80x24_folds_and_scrolls(cluster, mtopo, marked):
    from tui.panes.map import MapApp, MapTree

    root, snap, ghost = marked
    app = MapApp(root, "map: test")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.screen.query_one(MapTree)
        assert tree.size.width <= 80
        top = [n for n in tree.root.children]
        assert [n.data.key for n in top[:3]] == ["node1", "node2", "node3"]
        # marked branches start open, the rest folded past depth 2
        assert top[2].is_expanded  # node3 has a finding
        await pilot.press("minus")
        assert not any(n.is_expanded for n in tree.root.children)
        await pilot.press("plus")
        assert all(n.is_expanded for n in tree.root.children if n.children)
        lines_before = tree.scroll_offset.y
        await pilot.press("G")
        await pilot.press("end")
        await pilot.pause()
        assert tree.scroll_offset.y > lines_before  # a long map scrolls
        tree.cursor_line = 0
        await pilot.press("down")
        await pilot.pause()


def test_one_host_map_on_a_node(cluster, mtopo):
    out = cluster.nodes[1].ssh("dockscope", "map", "--width", "80").stdout
    lines = out.splitlines()
    assert lines[0].startswith("host node2") and all(len(x) <= 80 for x in lines)
    assert mtopo["ma"] in out and "docker_gwbridge" in out


def test_several_hosts_map_cli(cluster, mtopo):
    hosts = [a for n in cluster.nodes for a in ("-H", n.ssh_host)]
    r = subprocess.run([sys.executable, "-m", "tui.cli", *hosts, "map", "--width", "100"],
                       capture_output=True, text=True, timeout=180)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"{mtopo['mb']}@node3" in r.stdout and "overlays spanning nodes" in r.stdout


async def test_console_rebuild_keeps_a_node_that_stops_answering(cluster, mtopo):
    """The console of several hosts: `r` rebuilds in a worker; node3 stops
    answering ssh (REJECT in its namespace) and stays on the map, stale, with
    the containers it had."""
    from inspectors.topology import MARK_STALE
    from tui.panes.map import MapApp, MapTree

    n3 = cluster.nodes[2]
    targets = [NodeTarget(n.ssh_host) for n in cluster.nodes]
    state = {"prev": build_cluster(targets)}

    def rebuild():
        snap = build_cluster(targets, previous=state["prev"])
        state["prev"] = snap
        return build_cluster_map(snap, run_cluster_doctor(snap)), "map"

    root, _ = rebuild()
    app = MapApp(root, "map", rebuild=rebuild)
    rule = ["INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT"]
    async with app.run_test(size=(80, 24)) as pilot:
        n3.iptables("-I", *rule)
        try:
            await pilot.press("r")
            for _ in range(600):
                await pilot.pause(0.1)
                if (
                    not app.building
                    and MARK_STALE in (app.topo.find("node", "node3") or root).marks
                ):
                    break
        finally:
            n3.iptables("-D", *rule)
        node3 = app.topo.find("node", "node3")
        assert node3 is not None and MARK_STALE in node3.marks
        assert app.topo.find("container", mtopo["mb"]) is not None  # last known, kept
        tree = app.screen.query_one(MapTree)
        labels = [str(n.label) for n in tree.root.children]
        assert any("node3" in lbl and "STALE" in lbl for lbl in labels)


async def test_console_service_branch_and_its_logs(cluster, mtopo):
    """The map's services branch (mode, replicas, tasks with node and state) and
    `l` on a service: its tasks' logs merged and followed, task@node | line."""
    import time

    from inspectors.swarm import service_log_lines
    from tui.panes.map import MapApp, MapTree, ServiceLogScreen

    n1 = cluster.manager
    name = f"chat{os.urandom(3).hex()}"
    n1.docker("service", "create", "-q", "--detach", "--no-resolve-image", "--name", name,
              "--replicas", "2", IMAGE, "sh", "-c",
              'while true; do echo "hi from $(hostname)"; sleep 0.5; done')  # fmt: skip
    try:
        for _ in range(120):
            reps = n1.docker("service", "ls", "--filter", f"name={name}", "--format",
                             "{{.Replicas}}").stdout.strip()  # fmt: skip
            if reps == "2/2":
                break
            time.sleep(0.5)
        snap = build_cluster([NodeTarget(n.ssh_host) for n in cluster.nodes])
        root = build_cluster_map(snap)
        svc = root.find("service", name)
        assert svc is not None and "replicated 2/2" in svc.label
        assert {t.label.split()[1] for t in svc.children} <= {"node1", "node2", "node3"}
        client = n1.client()
        app = MapApp(root, "map", service_lines=lambda s: service_log_lines(
            client, s, tail=5, follow=True))  # fmt: skip
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            tree = app.screen.query_one(MapTree)
            node = next(n for n in tree.root.children if n.data.label.startswith("services"))
            node.expand()
            await pilot.pause()
            target = next(c for c in node.children if c.data.key == name)
            tree.move_cursor(target)
            await pilot.press("l")
            await pilot.pause()
            assert isinstance(app.screen, ServiceLogScreen)
            log = app.screen.query_one("#slog")
            for _ in range(100):
                await pilot.pause(0.1)
                if log.line_count >= 4:
                    break
            lines = [str(x) for x in log.lines]
            assert any(f"{name}." in ln and "@node" in ln and "| hi from" in ln for ln in lines)
            await pilot.press("escape")
    finally:
        n1.docker("service", "rm", name, check=False)
