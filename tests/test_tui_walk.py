"""Console defects from the new-user walk (items 3, 4, 12, 13, 17, L1-L4), with Pilot.

The fixed-snapshot tests use the real app on the demo host (tests/fixed_app.py);
the ports/doctor agreement runs on the harness engine with the real doctor.
"""

from __future__ import annotations

import asyncio
import copy
import socket

import pytest
from rich.text import Text

from inspectors.doctor.findings import Finding
from inspectors.model import Endpoint, Interface
from tests.test_tui_console import app_for, table
from tests.test_tui_snapshots import demo_snapshot
from tui.help import HelpScreen
from tui.panes.common import DataView
from tui.panes.packet import PacketScreen


def cells(t: DataView) -> list[list[str]]:
    return [[str(getattr(c, "plain", c)) for c in t.get_row(rk)] for rk in t.rows]


def with_macvlan():
    """The demo host plus ``mv1`` on the macvlan network ``lan`` (parent eth0): the
    kernel's iflink of its eth0 names the parent, which is no veth peer."""
    snap = demo_snapshot()
    lan = snap.network("lan")
    db = snap.container("db")
    mv = copy.deepcopy(db)
    mv.id = "ab" * 32
    mv.name = "mv1"
    mv.ports = []
    ep = Endpoint(
        network="lan",
        network_id=lan.id,
        container="mv1",
        container_id=mv.id,
        ipv4="192.168.50.20",
        ipv4_prefixlen=24,
        mac="02:42:c0:a8:32:14",
        gateway="192.168.50.1",
        sandbox_ifname="eth0",
        host_veth=None,
    )
    mv.endpoints = [ep]
    mv.networks = ["lan"]
    lo = next(i for i in mv.interfaces if i.name == "lo")
    mv.interfaces = [
        lo,
        Interface(
            "eth0",
            2,
            ep.mac,
            1500,
            "UP",
            "macvlan",
            ["192.168.50.20/24"],
            2,
            "eth0",  # iflink: the parent, not a peer
            None,
            "lan",
        ),
    ]
    snap.containers.append(mv)
    lan.endpoints.append(ep)
    return snap


async def test_macvlan_row_and_detail_show_the_parent_not_a_peer():
    app = app_for(with_macvlan())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        t = table(app, "endpoints")
        row = next(r for r in cells(t) if r[0] == "mv1")
        assert row[2] == "lan" and row[3] == "192.168.50.20"  # own columns (L1)
        assert "eth0:eth0" not in row[4] and row[4] == "eth0 (macvlan eth0)"
        web = next(r for r in cells(t) if r[0] == "web")
        assert ":" in web[4] and "veth" in web[4]  # a veth still shows its peer
        t.select_key("ab" * 32)
        await pilot.press("enter")
        await pilot.pause()
        pane = app.query_one("#endpoints")
        detail = str(pane.query_one("#ct-detail").render())
        assert "peer eth0" not in detail and "<-> eth0" not in detail
        assert "parent eth0 (macvlan)" in detail


async def test_endpoints_key_columns_fit_at_80x24():
    app = app_for(with_macvlan())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        t = table(app, "endpoints")
        right = 0
        for key in ("name", "state", "nets", "ips", "veths"):
            col = t.columns[next(k for k in t.columns if k.value == key)]
            right += col.get_render_width(t)
        assert right <= 80, right


def _port_findings():
    return [
        Finding(
            "container_not_listening",
            "error",
            ["proxy", "443/tcp"],
            "nothing listens on 443/tcp inside proxy although it is published",
            kind="container",
        ),
        Finding(
            "dnat_missing",
            "error",
            ["proxy", "443/tcp"],
            "no DNAT rule for proxy's published port 443/tcp -> 443",
            kind="container",
        ),
    ]


async def test_ports_status_follows_the_doctors_findings():
    app = app_for()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        t = table(app, "ports")
        proxy = next(r for r in cells(t) if r[2] == "proxy")
        assert proxy[6] == "ok"  # the demo's doctor found nothing about it
        app.query_one("#findings").set_findings(_port_findings())
        await pilot.pause()
        proxy = next(r for r in cells(t) if r[2] == "proxy")
        assert proxy[6] != "ok" and "nothing listens" in proxy[6] and "DNAT" in proxy[6]
        assert "conflict" in str(app.query_one("#ports").subtitle())


async def test_enter_on_a_port_and_on_a_network_endpoint_opens_the_container():
    app = app_for()
    snap = app.fixed_snapshot
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        t = table(app, "ports")
        key = next(rk.value for rk in t.rows if rk.value.startswith(snap.container("web").id))
        t.select_key(key)
        await pilot.press("enter")
        await pilot.pause()
        ep = app.query_one("#endpoints")
        assert app.active_pane_id == "endpoints" and ep.view_name == "detail"
        assert ep.detail_id == snap.container("web").id
        # a network's endpoint row
        await pilot.press("escape", "1")
        await pilot.pause()
        nets = table(app, "networks")
        nets.select_key(snap.network("backend").id)
        await pilot.press("enter")
        await pilot.pause()
        eps = table(app, "networks", "net-endpoints")
        eps.focus()
        eps.select_key(snap.container("db").id)
        await pilot.press("enter")
        await pilot.pause()
        assert app.active_pane_id == "endpoints" and ep.detail_id == snap.container("db").id
        # the host listeners view has nothing to open: enter is not advertised there
        await pilot.press("4", "a")
        await pilot.pause()
        lst = table(app, "ports", "listeners")
        assert lst.check_action("select_cursor", ()) is False
        assert table(app, "ports").check_action("select_cursor", ()) is not False


async def test_help_on_the_packet_screen_is_its_own():
    app = app_for()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.push_screen(PacketScreen(app.fixed_snapshot, container="web"))
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        scr = app.screen
        assert isinstance(scr, HelpScreen)
        assert scr.help_title == "Keys: Packet path"
        body = str(scr.query_one("#help-body").render())
        assert "Every published port" not in body and "published port" in body.lower()
        assert "Read now" in body


async def test_bridge_of_another_engine_is_not_a_red_orphan():
    snap = demo_snapshot()
    br = next(b for b in snap.bridges if b.orphan)
    app = app_for(snap)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        row = next(r for r in cells(table(app, "bridges")) if r[0].startswith(br.name))
        assert row[8].startswith("leftover?")  # the important word first (L3)
    snap = demo_snapshot()
    snap.engine.daemon.others = [4242, 4343]
    app = app_for(snap)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        t = table(app, "bridges")
        row = next(r for r in cells(t) if r[0].startswith(br.name))
        assert "another engine's?" in row[8] and "leftover" not in row[8]
        key = next(rk.value for rk in t.rows if rk.value == f"br:{br.name}")
        cell = t.get_row(key)[8]
        assert isinstance(cell, Text) and all("red" not in str(s.style) for s in cell.spans)


async def test_network_gateway_cell_is_short_and_the_detail_explains_it():
    snap = demo_snapshot()
    n = snap.network("bridge")
    gw = n.subnets[0].gateway
    n.subnets[0].gateway = None  # the default bridge: IPAM often has none
    app = app_for(snap)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        t = table(app, "networks")
        row = t.get_row(n.id)
        assert str(getattr(row[4], "plain", row[4])) == f"{gw}*"
        t.select_key(n.id)
        await pilot.press("enter")
        await pilot.pause()
        detail = str(app.query_one("#net-detail").render())
        assert f"{gw}*" in detail and "not in IPAM" in detail


@pytest.mark.parametrize("context", [None, "prod-east"])
async def test_header_at_80_keeps_the_socket_tail_or_the_context(context):
    snap = demo_snapshot()
    snap.engine.host = "unix:///tmp/dockscope-harness-abcdef123456789/deeper/run/docker.sock"
    snap.engine.context = context
    app = app_for(snap)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        head = str(app.query_one("#status").render())
        if context:
            assert context in head
        else:
            assert "…/" in head and head.split("…/", 1)[1].split()[0].endswith("docker.sock")
        assert "/tmp" not in head  # never the head of the path with its middle cut


# --------------------------------------------------------------------------- engine


@pytest.mark.engine
async def test_ports_pane_agrees_with_the_doctor_on_the_engine(daemon, uniq):
    from tests.test_tui import IMAGE, cell_texts, loaded, make_app, wait_for

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    name = f"ghost-{uniq}"
    # publishes port 9999 where nothing listens inside
    daemon.docker("run", "-d", "--name", name, "-p", f"{port}:9999", IMAGE, "sleep", "600")
    try:
        app = make_app(daemon.host)
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot, app)
            await pilot.press("4")

            def status():
                rows = cell_texts(table(app, "ports"))
                return next(r for r in rows if r[2] == name)[6]

            # the doctor's rule R13, run for the pane: not "ok" (the walk saw "ok")
            await wait_for(pilot, lambda: "nothing listens" in status(), 60)
            assert status() != "ok"
    finally:
        daemon.docker("rm", "-f", name, check=False)
    await asyncio.sleep(0)


async def test_enter_on_an_event_jumps_to_its_object():
    from tests.test_tui_snapshots import CTR_IDS, demo_events

    app = app_for()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("6")
        await pilot.pause()
        app.query_one("#events").add_events(demo_events())
        await pilot.pause()
        t = table(app, "events")
        key = next(
            r.key
            for r in t.rows_all
            if r.cells[1].plain == "container" and r.cells[3].plain == "db"
        )
        t.select_key(key)
        await pilot.press("enter")
        await pilot.pause()
        assert app.active_pane_id == "endpoints"
        assert table(app, "endpoints").current_key() == CTR_IDS["db"]


async def test_logs_footer_fits_120_and_help_still_lists_every_key():
    from tui.help import collect_bindings

    app = app_for()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause(0.3)
        shown = {  # the footer shows one key per action
            (ab.node, ab.binding.action): (app.get_key_display(ab.binding), ab.binding.description)
            for ab in app.screen.active_bindings.values()
            if ab.binding.show and ab.binding.description
        }
        width = sum(len(k) + len(d) + 3 for k, d in shown.values())
        assert width <= 120 - 14, list(shown.values())  # the palette hint keeps its corner
        described = {d for _, rows in collect_bindings(app) for _, d, _ in rows}
        assert {"Wrap", "Timestamps", "Next match", "Since window"} <= described


@pytest.mark.engine
async def test_packet_path_verdicts_stay_on_an_80x24_screen(daemon):
    from tests.helpers import snapshot
    from tests.test_tui_packet import Host, wait_for

    snap = await asyncio.to_thread(snapshot, daemon)
    scr = PacketScreen(snap)
    app = Host(scr)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "fw" in scr.loaded)
        await pilot.pause(0.2)
        flags = scr.query_one("#fw-flags")
        assert str(flags.render()).strip()
        assert flags.region.y < scr.query_one("#fw-table").region.y
        assert flags.region.bottom <= 24


async def test_events_that_arrive_before_the_events_view_is_composed_are_kept():
    """The startup backlog can reach the Events pane before its table exists: the
    rows wait and are shown once it is mounted (it raised NoMatches before)."""
    from textual.app import App

    from tui.panes.common import DataView
    from tui.panes.events import EventsPane

    pane = EventsPane(id="events")
    ev = {
        "Type": "network",
        "Action": "create",
        "Actor": {"ID": "n1", "Attributes": {"name": "early"}},
        "time": 1,
        "timeNano": 1_000_000_000,
    }
    pane.add_events([ev])  # not mounted: no exception, kept

    class Host(App):
        def compose(self):
            yield pane

    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.pause()
        view = pane.query_one("#list", DataView)
        assert view.row_count == 1


def test_the_timeline_is_newest_first_by_when_events_happened():
    """A docker event can arrive after the link notifications it caused (another
    stream, and the console batches under load): it goes below them, by its time."""
    from tui.live import kernel_events
    from tui.panes.events import EventsPane

    def docker_ev(action: str, t: float) -> dict:
        return {
            "Type": "container",
            "Action": action,
            "Actor": {"ID": "c1", "Attributes": {"name": "web"}},
            "time": int(t),
            "timeNano": int(t * 1e9),
        }

    pane = EventsPane(id="events")
    pane.add_events([docker_ev("die", 100.0)])
    # link notifications stamped when they arrived, applied later in one batch
    pane.add_events(
        kernel_events([("RTM_DELLINK", "veth1", 100.5), ("RTM_NEWLINK", "veth2", 102.0)])
    )
    pane.add_events([docker_ev("start", 101.0)])  # late: happened before veth2 appeared
    pane.add_events([docker_ev("restart", 103.0)])
    order = [(r.cells[2].plain, r.cells[3].plain) for r in pane._rows]
    assert order == [
        ("restart", "web"),
        ("link new/changed", "veth2"),
        ("start", "web"),
        ("link deleted", "veth1"),
        ("die", "web"),
    ], order
    times = list(pane._times)
    assert times == sorted(times, reverse=True)
