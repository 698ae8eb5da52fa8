"""FindingsPane and PathScreen, driven with Textual's pilot against the test engine."""

from __future__ import annotations


import time

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, Static

from inspectors.doctor import Finding
from inspectors.snapshot import Model
from tui.doctor_views import PathScreen, path_diagram
from tui.panes.findings import FindingsPane, finding_detail

IMAGE = "dockscope-busybox:test"
EVIL = "[bold red]pwn[/bold red]\x1b[31m\x1b]0;title\x07"


def snapshot(daemon):
    m = Model(daemon.host)
    try:
        return m.build()
    finally:
        m.close()


class Host(App):
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw
        self.jumps: list[tuple[str, str]] = []
        self.updates = 0

    def compose(self) -> ComposeResult:
        yield FindingsPane(id="findings", **self.kw)

    def on_findings_pane_jump_to(self, msg: FindingsPane.JumpTo) -> None:
        self.jumps.append((msg.kind, msg.name))

    def on_findings_pane_updated(self, msg: FindingsPane.Updated) -> None:
        self.updates += 1


async def wait_for(pilot, cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("condition not met in time")


def cell_texts(table: DataTable) -> list[list[str]]:
    out = []
    for r in range(table.row_count):
        row = table.get_row_at(r)
        out.append([c.plain if isinstance(c, Text) else str(c) for c in row])
    return out


def F(sev, rule, objs, msg, kind="container"):
    return Finding(
        rule=rule,
        severity=sev,
        objects=objs,
        message=msg,
        why="because",
        evidence=["seen " + EVIL],
        fix="do " + EVIL,
        check="docker ps",
        kind=kind,
    )


def test_bindings_have_descriptions():
    for cls in (FindingsPane, PathScreen):
        for b in cls.BINDINGS:
            assert b.description, (cls.__name__, b.key)


async def test_findings_table_is_plain_text_sorted_and_jumps():
    app = Host()
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.query_one(FindingsPane)
        from inspectors.doctor import sort_findings

        pane.set_findings(
            sort_findings(
                [
                    F("info", "isolation_by_design", ["netA"], "internal net", kind="network"),
                    F(
                        "error",
                        "container_not_listening",
                        ["web" + EVIL, "80/tcp"],
                        "nothing " + EVIL,
                    ),
                    F("warning", "mtu_mismatch", ["netB", "br-x"], "mtu", kind="network"),
                ]
            )
        )
        await pilot.pause()
        table = pane.query_one(DataTable)
        rows = cell_texts(table)
        assert [r[0] for r in rows] == ["error", "warning", "info"]
        # markup is shown literally, escape sequences are gone
        assert "[bold red]pwn[/bold red]" in rows[0][3] and "\x1b" not in rows[0][3]
        assert table.get_row_at(0)[0].style == "bold red"
        detail = pane.query_one("#findings-detail-text", Static).render()
        assert "because" in str(detail) and "docker ps" in str(detail) and "\x1b" not in str(detail)
        table.focus()
        await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert app.jumps == [("network", "netB")]
        await pilot.press("s")  # warnings and errors only
        await pilot.pause()
        assert [r[0] for r in cell_texts(table)] == ["error", "warning"]
        await pilot.press("s")
        await pilot.pause()
        assert [r[0] for r in cell_texts(table)] == ["error"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.jumps[-1] == ("container", "web" + EVIL)


def test_finding_detail_never_parses_markup():
    t = finding_detail(F("error", "r", ["x"], EVIL))
    assert "[bold red]pwn[/bold red]" in t.plain and "\x1b" not in t.plain


@pytest.mark.engine
async def test_findings_pane_runs_the_doctor_on_a_real_snapshot(daemon, uniq):
    name = f"dv{uniq}"
    daemon.docker(
        "run",
        "-d",
        "--name",
        name,
        "-l",
        f"com.docker.compose.project=p{EVIL}",
        IMAGE,
        "sleep",
        "3600",
    )
    try:
        snap = snapshot(daemon)
        app = Host()
        async with app.run_test(size=(160, 40)) as pilot:
            pane = app.query_one(FindingsPane)
            pane.update_snapshot(snap)
            await wait_for(pilot, lambda: app.updates >= 1)
            rows = cell_texts(pane.query_one(DataTable))
            mine = [r for r in rows if r[1] == "default_bridge_names" and name in r[2]]
            assert mine, rows
            assert "[bold red]pwn[/bold red]" in mine[0][3] and "\x1b" not in mine[0][3]
            title = str(pane.query_one("#findings-title", Static).render())
            assert "warning" in title
            # the fault removed, a new snapshot: the finding is gone
            daemon.docker("rm", "-f", name)
            pane.update_snapshot(snapshot(daemon))
            await wait_for(pilot, lambda: app.updates >= 2)
            rows = cell_texts(pane.query_one(DataTable))
            assert not [r for r in rows if name in r[2]]
    finally:
        daemon.docker("rm", "-f", name, check=False)


class PathHost(App):
    def __init__(self, screen):
        super().__init__()
        self._screen = screen
        self.explained = []

    def on_mount(self) -> None:
        self.push_screen(self._screen)


@pytest.mark.engine
async def test_path_screen_explains_and_probes(daemon, uniq):
    net = f"dvn{uniq}"
    a, b, c = f"dva{uniq}", f"dvb{uniq}", f"dvc{uniq}"
    daemon.docker("network", "create", net)
    daemon.docker("run", "-d", "--name", b, "--network", net, IMAGE, "httpd", "-f", "-p", "8080")
    daemon.docker("run", "-d", "--name", a, "--network", net, IMAGE, "sleep", "3600")
    daemon.docker("run", "-d", "--name", c, IMAGE, "sleep", "3600")  # default bridge only
    try:
        time.sleep(0.3)
        snap = snapshot(daemon)
        screen = PathScreen(snapshot=snap, source=a)
        app = PathHost(screen)
        async with app.run_test(size=(150, 50)) as pilot:
            await pilot.pause()
            assert screen.query_one("#path-src", Input).value == a
            dst = screen.query_one("#path-dst", Input)
            assert screen.focused is dst
            await pilot.press(*b[:4])  # completion from the snapshot's container names
            await pilot.press("right")
            assert dst.value == b
            screen.query_one("#path-port", Input).value = "8080"
            dst.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.report is not None)
            rep = screen.report
            assert rep.verdict == "reachable" and not rep.probed
            diagram = screen.query_one("#path-diagram", Static).render()
            assert "✓" in str(diagram) and "verdict: reachable" in str(diagram)
            screen.query_one("#path-view").focus()
            await pilot.press("p")
            await wait_for(pilot, lambda: screen.report.probed)
            assert screen.report.verdict == "reachable"
            assert "tcp connect" in str(screen.query_one("#path-diagram", Static).render())
            # a failing path: to c by name (c is on the default bridge only)
            dst.value = c
            dst.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.report.dst == c)
            rep = screen.report
            assert rep.verdict == "unreachable"
            d = path_diagram(rep)
            assert "✗" in d.plain and "← first failure" in d.plain
            first = [s for s in d.spans if "reverse" in str(s.style)]
            assert first and d.plain[first[0].start : first[0].end] == rep.first_failure
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, PathScreen)
    finally:
        daemon.docker("rm", "-f", a, b, c, check=False)
        daemon.docker("network", "rm", net, check=False)


async def test_path_screen_validates_the_form():
    from inspectors.model import Snapshot

    screen = PathScreen(snapshot=Snapshot())
    app = PathHost(screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert "both needed" in str(screen.query_one("#path-status", Static).render())
        screen.query_one("#path-src", Input).value = "a"
        screen.query_one("#path-dst", Input).value = "b"
        screen.query_one("#path-port", Input).value = "70000"
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert "1-65535" in str(screen.query_one("#path-status", Static).render())
        assert screen.report is None


@pytest.fixture
def web_db(daemon, uniq):
    net, web, db = f"dwn{uniq}", f"web{uniq}", f"db{uniq}"
    daemon.docker("network", "create", net)
    for n in (web, db):
        daemon.docker("run", "-d", "--name", n, "--network", net, IMAGE, "sleep", "3600")
    yield web, db
    daemon.docker("rm", "-f", web, db, check=False)
    daemon.docker("network", "rm", net, check=False)


def burst(app, keys: list[str]) -> None:
    """Post keys the way the terminal driver does for a fast burst: all queued
    before the app has handled the first."""
    from textual import events

    for k in keys:
        app.post_message(events.Key(k, k if len(k) == 1 else None))


@pytest.mark.engine
async def test_path_form_takes_a_fast_burst_of_keys(daemon, web_db):
    """web, tab, db, tab, 8080 typed in one burst land in A, B and the port:
    tab moves the focus before the next key is handed to a field."""
    web, db = web_db
    screen = PathScreen(snapshot=snapshot(daemon))
    app = PathHost(screen)
    async with app.run_test(size=(150, 50)) as pilot:
        await pilot.pause()
        assert screen.focused is screen.query_one("#path-src", Input)
        # pilot.press waits for the app between keys; a terminal burst does not:
        # the driver posts every key at once, as here
        burst(app, [*web, "tab", *db, "tab", *"8080"])
        await pilot.pause(0.3)
        assert screen.query_one("#path-src", Input).value == web
        assert screen.query_one("#path-dst", Input).value == db
        assert screen.query_one("#path-port", Input).value == "8080"
        assert screen.focused is screen.query_one("#path-port", Input)


async def test_path_form_error_focuses_the_first_empty_field():
    from inspectors.model import Snapshot

    screen = PathScreen(snapshot=Snapshot())
    app = PathHost(screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press(*"a", "ctrl+e")
        await pilot.pause()
        assert "both needed" in str(screen.query_one("#path-status", Static).render())
        dst = screen.query_one("#path-dst", Input)
        assert screen.focused is dst
        await pilot.press(*"b")
        assert dst.value == "b"
        screen.query_one("#path-src", Input).value = ""
        screen.query_one("#path-view").focus()
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert screen.focused is screen.query_one("#path-src", Input)


@pytest.mark.engine
async def test_network_form_takes_a_fast_burst_of_keys(daemon):
    """The same class of bug in the action forms (tui/forms.py): keys after a
    tab in a burst land in the next field, not in the first."""
    from tui.forms import CreateNetworkScreen

    links = ["lo"]
    screen = CreateNetworkScreen(lambda s: [], links=links)
    app = PathHost(screen)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        name = screen.query_one("#name", Input)
        name.focus()
        await pilot.pause()
        burst(app, [*"n1", "tab", *"xyz"])
        await pilot.pause(0.3)
        assert name.value == "n1"
        assert screen.focused is not name
