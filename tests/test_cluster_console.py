"""The console over several engines (tui/cluster_console.py) on the test cluster:
every table gains a NODE column, an overlay seen from node2 lists the container
node3 runs on it as a remote endpoint with its node and VTEP, docker events come
tagged with their node, and a node whose engine stops is marked STALE with its
rows kept (then current again once it is back). Read over ssh like
`dockscope -H ssh://.. -H ssh://.. -H ssh://..`."""

from __future__ import annotations

import os
import time

import pytest
from textual.widgets import DataTable

from inspectors.cluster_merge import merge
from inspectors.cluster_model import NodeTarget, build_cluster
from tests.harness import IMAGE
from tui.cluster_console import ClusterConsole

pytestmark = pytest.mark.swarm


@pytest.fixture(scope="module")
def ctopo(cluster):
    n1, n2, n3 = cluster.nodes
    u = os.urandom(3).hex()
    t = {k: f"{k}{u}" for k in ("cn", "xa", "xb", "xc")}
    n1.docker("network", "create", "-d", "overlay", "--attachable", t["cn"])
    n2.docker("run", "-d", "--name", t["xa"], "--network", t["cn"], IMAGE, "sleep", "900")
    n3.docker("run", "-d", "--name", t["xb"], "--network", t["cn"], IMAGE,
              "sh", "-c", f"echo hello-from-{t['xb']}; sleep 900")  # fmt: skip
    n2.docker("exec", t["xa"], "ping", "-c", "1", "-W", "2", t["xb"], check=False)  # FDB
    yield t
    n2.docker("rm", "-f", t["xa"], check=False)
    n3.docker("rm", "-f", t["xb"], t["xc"], check=False)
    n1.docker("network", "rm", t["cn"], check=False)


def targets(cluster):
    return [NodeTarget(n.ssh_host) for n in cluster.nodes]


def rows(app, sel: str) -> tuple[list[str], list[list[str]]]:
    t = app.query_one(sel, DataTable)
    cols = [str(c.label) for c in t.columns.values()]
    return cols, [[str(x) for x in t.get_row_at(r)] for r in range(t.row_count)]


async def wait(pilot, cond, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.5)


def test_merged_model_tags_every_object_with_its_node(cluster, ctopo):
    snap, stale = merge(build_cluster(targets(cluster)))
    assert stale == set()
    assert {c.node for c in snap.containers if c.name in (ctopo["xa"], ctopo["xb"])} == {
        "node2",
        "node3",
    }
    assert {b.node for b in snap.bridges if b.name == "docker_gwbridge"} == {
        "node1",
        "node2",
        "node3",
    }
    assert {ls.node for ls in snap.listeners} >= {"node1", "node2", "node3"}
    # the overlay as node2 sees it: its own container, and node3's as a remote endpoint
    net = snap.network(f"{ctopo['cn']}@node2")
    assert net is not None and net.node == "node2"
    eps = {e.container: e for e in net.endpoints}
    assert eps[ctopo["xa"]].node == "node2" and not (eps[ctopo["xa"]].host_veth or "").startswith(
        "remote"
    )
    b = eps[ctopo["xb"]]
    assert b.node == "node3" and b.host_veth == f"remote, vtep {cluster.nodes[2].ip}"
    assert snap.network(f"{ctopo['cn']}@node3").node == "node3"
    assert snap.container(f"{ctopo['xb']}@node2") is None  # xb runs on node3 only


async def test_console_tables_have_a_node_column_and_a_stale_node_is_kept(cluster, ctopo):
    n3 = cluster.nodes[2]
    app = ClusterConsole(targets(cluster))
    async with app.run_test(size=(160, 50)) as pilot:
        await wait(pilot, lambda: app.model.cluster is not None and app.snapshot.networks)
        await pilot.pause(1.0)
        cols, net_rows = rows(app, "#networks #list")
        assert cols[:2] == ["NODE", "NAME"]
        assert {r[0] for r in net_rows if r[1] == ctopo["cn"]} == {"node1", "node2", "node3"}
        for pane, sel in (("2", "#bridges #list"), ("3", "#endpoints #list"),
                          ("4", "#ports #list"), ("6", "#events #list")):  # fmt: skip
            await pilot.press(pane)
            await pilot.pause(0.5)
            assert rows(app, sel)[0][0] == "NODE", sel
        await pilot.press("7")
        await pilot.pause(0.5)
        assert rows(app, "#findings-table")[0][:2] == ["NODE", "severity"]
        _, ep_rows = rows(app, "#endpoints #list")
        assert [ctopo["xa"], "node2"] in [[r[1], r[0]] for r in ep_rows]
        assert [ctopo["xb"], "node3"] in [[r[1], r[0]] for r in ep_rows]
        # M: the cluster's map, not this host's
        from tui.panes.map import MapScreen

        await pilot.press("M")
        await pilot.pause(0.5)
        assert isinstance(app.screen, MapScreen) and app.screen.title_text == "map: 3 nodes"
        assert [c.key for c in app.screen.topo.children if c.kind == "node"][:3] == [
            "node1",
            "node2",
            "node3",
        ]
        await pilot.press("escape")
        # l on node3's container: its log, read from node3's engine
        await pilot.press("3")
        await pilot.pause(0.5)
        t = app.query_one("#endpoints #list", DataTable)
        t.move_cursor(row=[str(t.get_row_at(r)[1]) for r in range(t.row_count)].index(ctopo["xb"]))
        await pilot.pause(0.3)
        await pilot.press("l")
        logs = app.pane("logs")
        await wait(pilot, lambda: any(f"hello-from-{ctopo['xb']}" in logs.format_line(ln)
                                      for ln in logs.model.visible_lines()), 60)  # fmt: skip
        assert logs.host == n3.ssh_host
        # P on it: the command that reads node3's kernel (this machine's would be wrong)
        seen, notify = [], app.notify
        app.notify = lambda msg, **kw: (seen.append(msg), notify(msg, **kw))  # noqa: E731
        await pilot.press("3")
        await pilot.pause(0.3)
        await pilot.press("P")
        await pilot.pause(0.3)
        assert any(f"ssh -t root@{n3.ip} dockscope firewall {ctopo['xb']}" in m for m in seen), seen
        app.notify = notify
        # a port of node3's docker_gwbridge selects node3's container (not node1's bridge)
        await pilot.press("2")
        await pilot.pause(0.5)
        gw3 = app.snapshot.bridge("docker_gwbridge@node3")
        port = next(p for p in gw3.ports if p.container == ctopo["xb"])
        assert app.query_one("#bridges #list", DataTable).select_key(
            f"port:docker_gwbridge:{port.name}@node3"
        )
        await pilot.pause(0.3)
        sel = app.pane("bridges").selection()
        assert sel["bridge"] == "docker_gwbridge@node3" and sel["container"] == port.container_id
        _, br_rows = rows(app, "#bridges #list")
        assert {r[0] for r in br_rows if r[1] == "docker_gwbridge"} == {"node1", "node2", "node3"}
        # a docker event on node3 arrives tagged with node3 (Events shown: a hidden
        # Events pane keeps its rows for later)
        await pilot.press("6")
        n3.docker("run", "-d", "--name", ctopo["xc"], IMAGE, "sleep", "900")
        await wait(
            pilot,
            lambda: any(
                r[0] == "node3" and ctopo["xc"] in " ".join(r)
                for r in rows(app, "#events #list")[1]
            ),  # fmt: skip
            timeout=60,
        )
        # node3's engine stops: its rows stay, marked STALE
        await pilot.press("1")
        n3.stop_dockerd()
        try:
            await pilot.press("r")
            await wait(pilot, lambda: "node3" in app.stale_nodes, timeout=120)
            await pilot.pause(1.0)
            _, net_rows = rows(app, "#networks #list")
            mine = [r[0] for r in net_rows if r[1] == ctopo["cn"]]
            assert sorted(mine) == ["node1", "node2", "node3 STALE"], mine
            await pilot.press("7")  # the cross-node doctor names the stale node in NODE
            await wait(pilot, lambda: any(r[0] == "node3 STALE" and "stale" in r[2]
                                          for r in rows(app, "#findings-table")[1]), 60)  # fmt: skip
            await pilot.press("1")
        finally:
            n3.start_dockerd()
            cluster.wait_nodes_ready(90)
            n3.docker("start", ctopo["xb"], check=False)  # stopped with its engine
        await pilot.press("r")
        await wait(pilot, lambda: not app.stale_nodes, timeout=120)
        await pilot.pause(1.0)
        _, net_rows = rows(app, "#networks #list")
        assert "node3 STALE" not in {r[0] for r in net_rows}


def test_a_node_without_dockscope_keeps_its_engine_views(cluster, ctopo):
    """No dockscope on the nodes (the remote command is missing): each node says
    so and still gives its networks and containers (docker API over ssh), with
    their node, the overlay's remote endpoints included."""
    cs = build_cluster(targets(cluster), remote_cmd="dockscope-not-here")
    assert all(n.reachable and n.kernel is None for n in cs.nodes)
    assert all("dockscope is not installed on this node" in (n.kernel_note or "") for n in cs.nodes)
    snap, stale = merge(cs)
    assert stale == set()
    assert any("node2: dockscope is not installed" in n for n in snap.notes), (
        snap.notes
    )  # said for that node
    xb = snap.container(f"{ctopo['xb']}@node3")
    assert xb is not None and xb.node == "node3"
    net = snap.network(f"{ctopo['cn']}@node2")
    eps = {e.container: e.node for e in net.endpoints}
    assert eps == {**eps, ctopo["xa"]: "node2", ctopo["xb"]: "node3"}


def test_a_snapshot_reads_back_from_its_json(daemon, uniq):
    """What a node's dockscope sends (`node-report`: the snapshot's JSON) is read
    back into the very same model: no field lost or mistyped."""
    import json

    from inspectors.cluster_merge import snapshot_from_json
    from inspectors.model import dumps_json
    from inspectors.snapshot import Model

    net, ctr = f"rb-{uniq}", f"rb-c-{uniq}"
    daemon.docker("network", "create", net)
    daemon.docker("run", "-d", "--name", ctr, "--network", net, "-p", "127.0.0.1::80",
                  IMAGE, "sleep", "600")  # fmt: skip
    m = Model(daemon.host)
    try:
        snap = m.build()
    finally:
        m.close()
    assert snap.containers and snap.bridges and snap.listeners
    assert snapshot_from_json(json.loads(dumps_json(snap))) == snap
    daemon.docker("rm", "-f", ctr)
    daemon.docker("network", "rm", net)
