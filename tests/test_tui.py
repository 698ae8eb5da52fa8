"""Pilot tests of the console on the real test engine (tests/harness.py).

Nothing is mocked: the app reads the harness dockerd, the kernel and the
host's sockets; changes are made with the docker CLI from "another terminal".
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from inspectors.config import Settings
from inspectors.snapshot import Model
from tests.harness import IMAGE, TestDaemon
from tests.fixed_app import FixedApp
from tui.app import DockscopeApp
from tui.panes.common import DataView

pytestmark = pytest.mark.engine

SIZE = (120, 40)


def make_app(host: str, **kw) -> DockscopeApp:
    return DockscopeApp(model=Model(host), settings=Settings(), **kw)


async def wait_for(pilot, cond, timeout: float = 10.0, step: float = 0.02) -> float:
    """Poll ``cond()`` while the app runs; returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        try:
            if cond():
                return time.monotonic() - t0
        except Exception:
            pass
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(step)


async def loaded(pilot, app: DockscopeApp) -> None:
    await wait_for(pilot, lambda: "build" in app.painted or "reconnect" in app.painted, 30)
    await pilot.pause(0.1)


def table(app: DockscopeApp, pane: str, view: str = "list") -> DataView:
    return app.query_one(f"#{pane} #{view}", DataView)


def keys(t: DataView) -> list[str]:
    return [rk.value for rk in t.rows]


def cell_texts(t: DataView) -> list[list[str]]:
    return [[str(getattr(c, "plain", c)) for c in t.get_row(rk)] for rk in t.rows]


def veth_of(daemon, container: str) -> str:
    """The host-side veth of a container's eth0, the way an operator would find it."""
    iflink = daemon.docker("exec", container, "cat", "/sys/class/net/eth0/iflink").stdout.strip()
    for p in Path("/sys/class/net").iterdir():
        try:
            if (p / "ifindex").read_text().strip() == iflink:
                return p.name
        except OSError:
            continue
    raise AssertionError(f"no host interface with ifindex {iflink}")


@pytest.fixture
def net_and_ctr(daemon, uniq):
    net = f"tui-{uniq}"
    ctr = f"tui-c-{uniq}"
    daemon.docker("network", "create", net)
    daemon.docker(
        "run",
        "-d",
        "--name",
        ctr,
        "--network",
        net,
        "--network-alias",
        f"alias-{uniq}",
        IMAGE,
        "sleep",
        "600",
    )
    yield net, ctr
    daemon.docker("rm", "-f", ctr, check=False)
    daemon.docker("network", "rm", net, check=False)


# --------------------------------------------------------------------------- navigation


async def test_number_keys_switch_panes_and_focus(daemon):
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for key, pane in [
            ("2", "bridges"),
            ("3", "endpoints"),
            ("4", "ports"),
            ("5", "logs"),
            ("6", "events"),
            ("7", "findings"),
            ("1", "networks"),
        ]:
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.active_pane_id == pane
        # the focused widget is the pane's table, so arrows work at once
        assert app.focused is table(app, "networks")
        await pilot.press("2")
        await pilot.pause(0.1)
        assert app.focused is table(app, "bridges")
        await pilot.press("q")


async def test_vim_keys_move_the_cursor(daemon, net_and_ctr):
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        t = table(app, "networks")
        assert t.row_count >= 3
        await pilot.press("G")
        assert t.cursor_row == t.row_count - 1
        await pilot.press("g")
        assert t.cursor_row == 0
        await pilot.press("j", "j")
        assert t.cursor_row == 2
        await pilot.press("k")
        assert t.cursor_row == 1


async def test_filter_with_slash(daemon, uniq):
    names = [f"flt-{uniq}-alpha", f"flt-{uniq}-beta", f"flt-{uniq}-alphabet"]
    for n in names:
        daemon.docker("network", "create", n)
    try:
        app = make_app(daemon.host)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            t = table(app, "networks")
            total = t.row_count
            await pilot.press("slash")
            await pilot.press(*f"{uniq}-ALPHA")  # case-insensitive
            await pilot.pause(0.1)
            shown = sorted(r[0] for r in cell_texts(t))
            assert shown == sorted([names[0], names[2]])
            title = str(app.query_one("#networks #pane-title").render())
            assert f"filter: {uniq}-ALPHA" in title and f"2/{total}" in title
            await pilot.press("enter")  # keep the filter, back to the table
            await pilot.pause(0.05)
            assert app.focused is t and t.row_count == 2
            await pilot.press("escape")  # esc clears it
            await pilot.pause(0.05)
            assert t.row_count == total
            # a filter that matches nothing says so
            await pilot.press("slash", *"zz-no-such-net")
            await pilot.pause(0.05)
            assert t.row_count == 0
            empty = app.query_one("#networks #pane-empty")
            assert empty.display and "no row matches" in str(empty.render())
            await pilot.press("escape")
            assert t.row_count == total
    finally:
        for n in names:
            daemon.docker("network", "rm", n, check=False)


# --------------------------------------------------------------------------- drill down


async def test_enter_on_network_shows_its_endpoints(daemon, net_and_ctr, uniq):
    net, ctr = net_and_ctr
    nid = daemon.docker("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        t = table(app, "networks")
        assert t.select_key(nid)
        await pilot.press("enter")
        await pilot.pause(0.1)
        pane = app.query_one("#networks")
        assert pane.view_name == "detail"
        eps = table(app, "networks", "net-endpoints")
        rows = cell_texts(eps)
        assert [r[0] for r in rows] == [ctr]
        assert rows[0][2].startswith("10.")  # IPv4/prefix
        assert f"alias-{uniq}" in rows[0][4]
        assert rows[0][7].startswith("veth")  # host veth joined from the kernel
        detail = str(app.query_one("#net-detail").render())
        assert "subnet" in detail and "bridge br-" in detail
        assert app.focused is eps
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert pane.view_name == "list" and app.focused is t
        # the default bridge is marked: no DNS by name
        default = next(r for r in t.all_rows if r.cells[0].plain == "bridge")
        assert "no-dns" in default.cells[6].plain


async def test_enter_on_bridge_shows_fdb_and_veth_leads_to_container(daemon, net_and_ctr):
    net, ctr = net_and_ctr
    nid = daemon.docker("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()
    bridge = "br-" + nid[:12]
    veth = veth_of(daemon, ctr)
    # traffic so the bridge learns the container's MAC
    gw = daemon.docker(
        "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", net
    ).stdout.strip()
    daemon.docker("exec", ctr, "ping", "-c", "1", "-W", "1", gw, check=False)
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("2")
        await pilot.pause(0.1)
        t = table(app, "bridges")
        # "which container is behind vethXXXX?": filter by the veth name
        await pilot.press("slash", *veth, "enter")
        await pilot.pause(0.1)
        rows = {r.key: r for r in t.all_rows}
        port_key = f"port:{bridge}:{veth}"
        assert port_key in keys(t)
        port = rows[port_key]
        assert port.cells[4].plain == ctr  # CONTAINER
        assert port.cells[3].plain == net  # NETWORK
        assert port.cells[5].plain == "eth0"  # IFACE in the sandbox
        assert port.cells[2].plain == "forwarding"
        # enter drills into the bridge's FDB
        assert t.select_key(port_key)
        await pilot.press("enter")
        await pilot.pause(0.1)
        pane = app.query_one("#bridges")
        assert pane.view_name == "detail" and pane.fdb_bridge == bridge
        fdb = table(app, "bridges", "fdb")
        fdb_rows = cell_texts(fdb)
        assert fdb_rows, "the FDB of a bridge with a port is never empty"
        assert any(r[1] == veth for r in fdb_rows)
        learned = [r for r in fdb_rows if r[1] == veth and r[2] == "no"]
        assert learned and learned[0][5] == ctr, fdb_rows
        assert "FDB of" in str(app.query_one("#fdb-header").render())
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert pane.view_name == "list"


async def test_endpoints_detail_has_path_routes_dns(daemon, net_and_ctr):
    net, ctr = net_and_ctr
    cid = daemon.docker("inspect", "-f", "{{.Id}}", ctr).stdout.strip()
    veth = veth_of(daemon, ctr)
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("3")
        await pilot.pause(0.1)
        t = table(app, "endpoints")
        assert t.select_key(cid)
        await pilot.press("enter")
        await pilot.pause(0.1)
        text = str(app.query_one("#ct-detail").render())
        assert "eth0" in text and veth in text and "br-" in text  # the path
        assert "ROUTES" in text and "default via" in text
        assert "nameserver 127.0.0.11" in text  # embedded DNS on a user network
        assert "/ns/net" in text or "netns" in text
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert app.query_one("#endpoints").view_name == "list"


# --------------------------------------------------------------------------- live


async def test_network_created_elsewhere_appears_without_refresh(daemon, uniq):
    app = make_app(daemon.host)
    name = f"live-{uniq}"
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            t = table(app, "networks")
            # let the event stream subscribe
            await wait_for(pilot, lambda: app.live.engine_up is True, 10)
            nid = daemon.docker("network", "create", name).stdout.strip()
            took = await wait_for(pilot, lambda: nid in keys(t), 5, step=0.005)
            assert took < 1.0, f"network appeared after {took:.3f}s"
            # the event is on the timeline too
            ev = table(app, "events")
            assert any(
                r.cells[2].plain == "create" and r.cells[3].plain == name for r in ev.all_rows
            )
            daemon.docker("network", "rm", name)
            await wait_for(pilot, lambda: nid not in keys(t), 5)
    finally:
        daemon.docker("network", "rm", name, check=False)


async def test_container_connect_updates_network_endpoints_live(daemon, net_and_ctr, uniq):
    net, ctr = net_and_ctr
    other = f"conn-{uniq}"
    daemon.docker("network", "create", other)
    try:
        oid = daemon.docker("network", "inspect", "-f", "{{.Id}}", other).stdout.strip()
        app = make_app(daemon.host)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await wait_for(pilot, lambda: app.live.engine_up is True, 10)
            t = table(app, "networks")
            t.select_key(oid)
            await pilot.press("enter")
            eps = table(app, "networks", "net-endpoints")
            assert eps.row_count == 0
            daemon.docker("network", "connect", "--alias", f"a-{uniq}", other, ctr)
            await wait_for(pilot, lambda: eps.row_count == 1, 5)
            row = cell_texts(eps)[0]
            assert row[0] == ctr and f"a-{uniq}" in row[4]
            await wait_for(pilot, lambda: cell_texts(eps)[0][7].startswith("veth"), 5)
            daemon.docker("network", "disconnect", other, ctr)
            await wait_for(pilot, lambda: eps.row_count == 0, 5)
    finally:
        daemon.docker("network", "rm", other, check=False)


async def test_engine_stop_shows_stale_banner_and_reconnects():
    """A dedicated engine: stopping the session's would disturb other tests."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a dockerd")
    d = TestDaemon(iptables=False)  # a second engine: leave the session engine's chains alone
    try:
        d.start()
        d.docker("network", "create", "stale-net")
        app = make_app(d.host)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await wait_for(pilot, lambda: app.live.engine_up is True, 10)
            t = table(app, "networks")
            before = keys(t)
            assert any(r.cells[0].plain == "stale-net" for r in t.all_rows)
            d.stop_process()
            await wait_for(pilot, lambda: app.engine_lost is not None, 10)
            banner = app.query_one("#banner")
            text = str(banner.render())
            assert banner.display and "ENGINE UNREACHABLE" in text and "STALE" in text
            assert "ENGINE DOWN" in str(app.query_one("#status").render())
            assert app.query_one("#networks").stale
            assert "STALE" in str(app.query_one("#networks #pane-title").render())
            assert keys(t) == before  # the last state stays on screen
            # the kernel panes keep working
            await pilot.press("2")
            await pilot.pause(0.1)
            assert table(app, "bridges").row_count > 0
            # comes back by itself
            d._spawn()
            d.wait_ready()
            await wait_for(pilot, lambda: app.engine_lost is None, 20)
            assert not app.query_one("#networks").stale
            assert (
                "ENGINE UNREACHABLE" not in str(app.query_one("#banner").render())
                or not app.query_one("#banner").display
            )
            # and is live again
            await pilot.press("1")
            nid = d.docker("network", "create", "after-restart").stdout.strip()
            await wait_for(pilot, lambda: nid in keys(t), 5)
            ev = table(app, "events")
            actions = [r.cells[2].plain for r in ev.all_rows]
            assert "engine lost" in actions and "engine back" in actions
    finally:
        d.stop()


async def test_no_engine_at_startup_says_why_and_kernel_panes_work(tmp_path):
    host = f"unix://{tmp_path}/nothing-here.sock"
    app = DockscopeApp(model=Model(host), settings=Settings())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "build" in app.painted, 20)
        await pilot.pause(0.1)
        banner = app.query_one("#banner")
        text = str(banner.render())
        assert banner.display
        assert "ENGINE UNREACHABLE" in text and "does not exist" in text
        assert "systemctl start docker" in text or "DOCKER_HOST" in text
        empty = app.query_one("#networks #pane-empty")
        assert empty.display and "engine unreachable" in str(empty.render())
        await pilot.press("2")
        await pilot.pause(0.1)
        assert table(app, "bridges").row_count > 0  # bridges come from netlink
        await pilot.press("4", "a")
        await pilot.pause(0.1)
        assert table(app, "ports", "listeners").row_count > 0
        app.live.close()


# --------------------------------------------------------------------------- safety


async def test_markup_and_escapes_from_containers_are_shown_literally(daemon, uniq):
    net = f"inj-{uniq}"
    ctr = f"inj-c-{uniq}"
    evil_label = "[bold red]PWNED[/bold red] \x1b[31mred\x1b[0m \x1b]0;title\x07"
    evil_alias = f"[link=http://x]a{uniq}[/link]"
    daemon.docker("network", "create", "--label", f"owner={evil_label}", net)
    daemon.docker(
        "run",
        "-d",
        "--name",
        ctr,
        "--network",
        net,
        "--network-alias",
        evil_alias,
        "--label",
        f"note={evil_label}",
        IMAGE,
        "sleep",
        "600",
    )
    try:
        cid = daemon.docker("inspect", "-f", "{{.Id}}", ctr).stdout.strip()
        nid = daemon.docker("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()
        app = make_app(daemon.host)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert table(app, "networks").select_key(nid)
            await pilot.press("enter")
            await pilot.pause(0.1)
            detail = app.query_one("#net-detail").render()
            plain = str(detail)
            assert "[bold red]PWNED[/bold red]" in plain
            assert "\x1b" not in plain and "\x07" not in plain
            view = table(app, "networks", "net-endpoints")
            assert evil_alias in view.all_rows[0].cells[4].plain  # literal (the cell may be elided)
            assert "[link=" in cell_texts(view)[0][4]
            await pilot.press("3")
            await pilot.pause(0.1)
            assert table(app, "endpoints").select_key(cid)
            await pilot.press("enter")
            await pilot.pause(0.1)
            text = str(app.query_one("#ct-detail").render())
            assert "[bold red]PWNED[/bold red]" in text and evil_alias in text
            assert "\x1b" not in text
            # and nothing reached the terminal as an escape: the exported screen has no ESC
            svg = app.export_screenshot()
            assert "PWNED" in svg and "\x1b" not in svg
    finally:
        daemon.docker("rm", "-f", ctr, check=False)
        daemon.docker("network", "rm", net, check=False)


async def test_read_only_action_keys_say_why_nothing_happens(daemon):
    app = DockscopeApp(model=Model(daemon.host), settings=Settings(), read_only=True)
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        assert "READ-ONLY" in str(app.query_one("#status").render())
        for key in ("n", "c", "d", "x", "D", "u"):
            said.clear()
            await pilot.press(key)
            await pilot.pause(0.05)
            assert len(app.screen_stack) == 1, key  # no form opened
            assert any("read-only" in m and "nothing was changed" in m for m in said), (key, said)
        # ctrl+s in the log pane writes nothing either
        await pilot.press("5")
        said.clear()
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        assert len(app.screen_stack) == 1
        assert any("read-only" in m and "nothing written" in m for m in said), said


# --------------------------------------------------------------------------- help, palette


async def test_help_lists_pane_and_app_bindings(daemon):
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("4")
        await pilot.pause(0.1)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        from tui.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-body").render())
        for needle in (
            "Ports pane",
            "All listeners",
            "Filter",
            "Back",
            "Everywhere",
            "Networks pane",
            "Refresh",
            "Quit",
            "Tables",
            "Cursor down",
            "j",
        ):
            assert needle in text, needle
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_goes_to_pane(daemon):
    app = make_app(daemon.host)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"go to bridges")
        await pilot.pause(0.4)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.active_pane_id == "bridges"


async def test_logs_key_opens_the_container_log(daemon, uniq):
    ctr = f"log-{uniq}"
    daemon.docker(
        "run",
        "-d",
        "--name",
        ctr,
        IMAGE,
        "sh",
        "-c",
        f"echo hello-{uniq}; echo '\x1b[31m[red]x[/red]'; sleep 600",
    )
    try:
        cid = daemon.docker("inspect", "-f", "{{.Id}}", ctr).stdout.strip()
        app = make_app(daemon.host)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("3")
            await pilot.pause(0.1)
            assert table(app, "endpoints").select_key(cid)
            await pilot.press("l")
            await pilot.pause(0.1)
            assert app.active_pane_id == "logs"
            logs = app.query_one("#logs")

            def has_line() -> bool:
                return f"hello-{uniq}" in app.export_screenshot()

            try:
                await wait_for(pilot, has_line, 10)
            except AssertionError:
                app.save_screenshot(path="/tmp", filename="logs-fail.svg")
                raise
            svg = app.export_screenshot()
            assert "\x1b" not in svg
            if hasattr(logs, "close_streams"):
                logs.close_streams()
    finally:
        daemon.docker("rm", "-f", ctr, check=False)


# --------------------------------------------------------------------------- ports


async def test_ports_pane_marks_conflicts_and_local_only(daemon, uniq):
    import socket

    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen()
    held = s.getsockname()[1]  # a stranger (this test) holds this port
    web = f"pw-{uniq}"
    blocked = f"pb-{uniq}"
    daemon.docker(
        "run", "-d", "--name", web, "-p", "127.0.0.1::80", IMAGE, "httpd", "-f", "-p", "80"
    )
    daemon.docker("create", "--name", blocked, "-p", f"{held}:80", IMAGE, "sleep", "5")
    try:
        app = make_app(daemon.host)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("4")
            await pilot.pause(0.1)
            t = table(app, "ports")
            rows = cell_texts(t)
            mine = [r for r in rows if r[2] in (web, blocked)]
            local = next(r for r in mine if r[2] == web)
            assert local[0].startswith("127.0.0.1:") and "local only" in local[6]
            assert "docker-proxy" in local[5]
            conflict = next(r for r in mine if r[2] == blocked)
            assert conflict[0].endswith(f":{held}") and conflict[6].startswith("CONFLICT")
            assert "python" in conflict[6] or str(os.getpid()) in conflict[6]
            # a: every host listener, including the stranger
            await pilot.press("a")
            await pilot.pause(0.1)
            lt = table(app, "ports", "listeners")
            assert any(r[2] == str(held) and r[3] == str(os.getpid()) for r in cell_texts(lt))
            await pilot.press("escape")  # back to published ports
            await pilot.pause(0.05)
            assert not app.query_one("#ports").show_all
    finally:
        s.close()
        daemon.docker("rm", "-f", web, blocked, check=False)


# --------------------------------------------------------------------------- mouse


async def test_mouse_switches_tabs_and_opens_rows():
    """Mouse works like the keys (a fixed snapshot: no engine needed)."""
    from tests.test_tui_snapshots import NET_IDS, demo_snapshot

    app = FixedApp(demo_snapshot(), settings=Settings(), findings=[])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#--content-tab-tab-bridges")
        await pilot.pause()
        assert app.active_pane_id == "bridges"
        await pilot.click("#--content-tab-tab-networks")
        await pilot.pause()
        t = table(app, "networks")
        row = keys(t).index(NET_IDS["frontend"])
        # click the row: the cursor goes there; click it again: it opens
        await pilot.click(t, offset=(3, row + 1))
        await pilot.pause()
        assert t.current_key() == NET_IDS["frontend"]
        await pilot.click(t, offset=(3, row + 1))
        await pilot.pause()
        assert app.query_one("#networks").view_name == "detail"


async def test_enter_on_a_finding_selects_its_object():
    from tests.test_tui_snapshots import CTR_IDS, demo_findings, demo_snapshot

    app = FixedApp(demo_snapshot(), settings=Settings(), findings=demo_findings())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("7")
        await pilot.pause()
        await pilot.press("enter")  # port_conflict on worker
        await pilot.pause()
        assert app.active_pane_id == "endpoints"
        assert table(app, "endpoints").current_key() == CTR_IDS["worker"]
        await pilot.press("7", "down", "enter")  # orphan bridge
        await pilot.pause()
        assert app.active_pane_id == "bridges"
        assert table(app, "bridges").current_key() == "br:br-dead00beef00"


async def test_events_pane_opens_on_the_recent_past(daemon, uniq):
    """Events made before the console starts are on the timeline (read once
    with since/until on the model's engine), each once, then new ones follow."""
    before, after = f"early-{uniq}", f"late-{uniq}"
    daemon.docker("network", "create", before)
    daemon.docker("network", "rm", before)
    time.sleep(1.1)  # the backlog ends where the follow starts: nothing lost, nothing twice
    app = make_app(daemon.host)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            ev = table(app, "events")

            def actions(name: str) -> list[str]:
                return [r.cells[2].plain for r in ev.all_rows if r.cells[3].plain == name]

            await wait_for(pilot, lambda: actions(before) == ["destroy", "create"], 10)
            await wait_for(pilot, lambda: app.live.engine_up is True, 10)
            daemon.docker("network", "create", after)
            await wait_for(pilot, lambda: actions(after) == ["create"], 10)
            await pilot.pause(0.5)
            assert actions(before) == ["destroy", "create"]
    finally:
        daemon.docker("network", "rm", before, after, check=False)


async def test_palette_question_fills_in_the_path_form(daemon, uniq):
    """ "why can't web reach db on 8080" in the palette opens the path form with
    A=web, B=db and the port, when web and db name containers of the snapshot."""
    from textual.widgets import Input

    from tui.doctor_views import PathScreen

    web, db = f"web{uniq}", f"db{uniq}"
    for n in (web, db):
        daemon.docker("run", "-d", "--name", n, IMAGE, "sleep", "3600")
    app = make_app(daemon.host)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            # the other phrasings: test_palette_question_phrasings (typing is slow)
            for question, port in ((f"why can't {web} reach {db} on 8080", "8080"),):
                await pilot.press("ctrl+p")
                await pilot.pause(0.2)
                keys = [
                    "space" if ch == " " else ("apostrophe" if ch == "'" else ch) for ch in question
                ]
                await pilot.press(*keys)
                await pilot.pause(0.5)
                await pilot.press("enter")
                await wait_for(pilot, lambda: isinstance(app.screen, PathScreen), 5)
                scr = app.screen
                await pilot.pause(0.1)
                assert scr.query_one("#path-src", Input).value == web
                assert scr.query_one("#path-dst", Input).value == db
                assert scr.query_one("#path-port", Input).value == port
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, PathScreen), 5)
    finally:
        daemon.docker("rm", "-f", web, db, check=False)


def test_palette_question_phrasings():
    """What the palette reads from a question: the first two container names of
    the snapshot, in order, and a port after them (1-65535)."""
    from tui.commands import path_prefill

    names = ["web", "db", "Cache"]
    for question, want in (
        ("why can't web reach db on 8080", ("web", "db", 8080)),
        ("why can't web reach db port 9090", ("web", "db", 9090)),
        ("why can't web reach db", ("web", "db", None)),
        ("db cannot talk to cache:6379", ("db", "Cache", 6379)),
        ("why can't web reach db on 70000", ("web", "db", None)),
        ("why can't web reach nothing", ("web", None, None)),
    ):
        assert path_prefill(question, names)[:3] == want, question


async def test_kernel_changes_join_the_events_timeline(daemon, uniq):
    """A link created and deleted under the engine (here a bridge the test owns)
    appears in the Events pane as kernel entries beside docker events."""
    name = f"dsev{uniq}"
    app = make_app(daemon.host)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            ev = table(app, "events")

            def kernel_rows() -> list[str]:
                return [
                    r.cells[2].plain
                    for r in ev.all_rows
                    if r.cells[1].plain == "kernel" and r.cells[3].plain == name
                ]

            await pilot.pause(1.0)  # the netlink subscription is up after the first frame
            subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
            await wait_for(pilot, lambda: "link new/changed" in kernel_rows(), 10)
            subprocess.run(["ip", "link", "del", name], check=True)
            await wait_for(pilot, lambda: "link deleted" in kernel_rows(), 10)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


async def test_console_doctor_reads_the_containers_config_from_the_models_inspects(daemon, uniq):
    """The findings pane's doctor takes the containers' env, command and links from
    the model's own inspects (a cold console at 1,000 containers made 1,000 more
    inspects for them): a container started while the console runs is named in a
    finding through its env, and the doctor kept no inspect cache of its own."""
    from inspectors import hostfacts

    db, first, late = f"db{uniq}", f"app{uniq}", f"late{uniq}"
    daemon.docker("run", "-d", "--name", db, IMAGE, "sleep", "3600")
    daemon.docker("run", "-d", "--name", first, "-e", f"DB_HOST={db}", IMAGE, "sleep", "3600")
    hostfacts._CONFIG_CACHE.clear()
    app = make_app(daemon.host)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            pane = app.query_one("#findings")

            def named(who: str) -> bool:
                return any(
                    f.rule == "default_bridge_names" and who in f.objects and db in f.objects
                    for f in pane.findings
                )

            await pilot.press("7")  # the doctor runs for the pane on screen
            await wait_for(pilot, lambda: named(first), 30)
            daemon.docker(
                "run", "-d", "--name", late, "-e", f"DB_HOST={db}", IMAGE, "sleep", "3600"
            )
            await wait_for(pilot, lambda: named(late), 30)
            assert not hostfacts._CONFIG_CACHE
    finally:
        daemon.docker("rm", "-f", db, first, late, check=False)
