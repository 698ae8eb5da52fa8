"""The packet-path and capture screens on the harness engine: real rules,
real conntrack, real sockets, a real capture of pings, driven by keys."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from textual.app import App
from textual.widgets import DataTable, Log, Static

from tests.helpers import dock, snapshot
from tui.panes.capture import CaptureScreen
from tui.panes.packet import PacketScreen

pytestmark = pytest.mark.engine


class Host(App):
    """A bare app that only shows the screen under test."""

    def __init__(self, screen):
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)


async def wait_for(pilot, cond, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


@pytest.fixture
def pair(daemon, uniq):
    net, a, b = f"h6tu{uniq}", f"h6tua{uniq}", f"h6tub{uniq}"
    daemon.docker("network", "create", net)
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    dock(daemon, "run", "-d", "--name", a, "--network", net, "-p", f"{port}:80",
         "dockscope-busybox:test", "httpd", "-f", "-p", "80", "-h", "/")  # fmt: skip
    dock(daemon, "run", "-d", "--name", b, "--network", net, "dockscope-busybox:test",
         "sleep", "600")  # fmt: skip
    yield net, a, b
    daemon.docker("rm", "-f", a, b, check=False)
    daemon.docker("network", "rm", net, check=False)


def _cells(t: DataTable) -> list[list[str]]:
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


async def test_packet_screen_shows_firewall_sockets_neighbours(daemon, pair):
    net, a, b = pair
    daemon.docker("exec", b, "ping", "-c", "1", "-W", "1", a)
    snap = await asyncio.to_thread(snapshot, daemon)
    scr = PacketScreen(snap, container=a)
    app = Host(scr)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: {"fw", "fast"} <= scr.loaded)
        fw = _cells(scr.query_one("#fw-table", DataTable))
        steps = [r[1] for r in fw]
        assert "DNAT" in steps and "FORWARD" in steps and "DOCKER-USER" in steps
        assert "MASQUERADE" in steps
        assert any(f"->{a}:80/tcp" in r[0] for r in fw)
        sk = _cells(scr.query_one("#sk-table", DataTable))
        assert any(r[1] == "LISTEN" and r[2].endswith(":80") and "httpd" in r[6] for r in sk)
        nb = _cells(scr.query_one("#nb-table", DataTable))
        b_ip = snap.container(b).endpoints[0].ipv4
        assert any(r[1] == b_ip for r in nb)
        assert "backend" in str(scr.query_one("#fw-flags", Static).render())
        await pilot.press("r")  # read now: no error
        await pilot.pause(0.5)


async def test_capture_screen_follows_pauses_filters(daemon, pair):
    net, a, b = pair
    snap = await asyncio.to_thread(snapshot, daemon)
    b_ip = snap.container(b).endpoints[0].ipv4
    scr = CaptureScreen(snap, a, "icmp")
    app = Host(scr)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: scr.capture is not None or scr.error)
        assert scr.error is None, scr.error
        await asyncio.to_thread(daemon.docker, "exec", a, "ping", "-c", "2", "-W", "1", b_ip)
        await wait_for(pilot, lambda: scr.shown >= 4)
        log = scr.query_one("#cap-log", Log)
        text = "\n".join(log.lines)
        assert f"> {b_ip}: ICMP echo request" in text
        await pilot.press("p")
        assert scr.capture.paused and "PAUSED" in str(scr.status_text())
        await asyncio.to_thread(daemon.docker, "exec", a, "ping", "-c", "1", "-W", "1", b_ip)
        await wait_for(pilot, lambda: scr.capture.stats.hidden >= 2)
        shown = scr.shown
        await pilot.press("p")
        assert not scr.capture.paused and scr.shown == shown
        await pilot.press("f")
        inp = scr.query_one("#cap-filter")
        inp.value = ""
        await pilot.press(*"port 9", "enter")
        await wait_for(pilot, lambda: scr.filter_text == "port 9" and scr.capture is not None)
        # the icmp lines captured before are gone: what is shown matches the filter
        assert scr.shown == 0 and not any("ICMP" in ln for ln in log.lines), list(log.lines)
        await asyncio.to_thread(daemon.docker, "exec", a, "ping", "-c", "1", "-W", "1", b_ip)
        await pilot.pause(1.0)
        assert not any("ICMP" in ln for ln in log.lines)
        await pilot.press("f")
        inp.value = ""
        await pilot.press(*"bogus", "enter")
        await wait_for(pilot, lambda: scr.error is not None)
        assert "unknown word" in scr.error
        # a bad filter keeps the good one running
        assert scr.filter_text == "port 9" and scr.capture is not None
        await pilot.press("escape")


def test_console_keys_have_descriptions():
    from tui.app import DockscopeApp

    b = {x.key: x for x in DockscopeApp.BINDINGS}
    assert b["P"].description and b["P"].action == "packet"
    assert b["C"].description and b["C"].action == "capture"
    for scr in (PacketScreen, CaptureScreen):
        assert all(x.description for x in scr.BINDINGS)
