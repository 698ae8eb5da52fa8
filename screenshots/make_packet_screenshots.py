#!/usr/bin/env python3
"""Screenshots of the packet-path and capture screens on a real engine.

Starts a dedicated dockerd (tests.harness.TestDaemon), a network with a web
container publishing a port and a client that talks to it, then opens the
screens headless at 120x40 and writes screenshots/10*-packet-*.svg and
screenshots/11-capture.svg. Needs root.

    python screenshots/make_packet_screenshots.py
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from textual.app import App  # noqa: E402
from textual.widgets import TabbedContent  # noqa: E402

from inspectors import firewall_report as fwr  # noqa: E402
from inspectors.snapshot import Model  # noqa: E402
from tests.harness import IMAGE, TestDaemon  # noqa: E402
from tui.panes.capture import CaptureScreen  # noqa: E402
from tui.panes.packet import PacketScreen  # noqa: E402

SIZE = (120, 40)


class Host(App):
    TITLE = "dockscope"

    def __init__(self, screen):
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)


def snap(d: TestDaemon):
    m = Model(d.host)
    try:
        return m.build()
    finally:
        m.close()


async def shoot() -> None:
    d = TestDaemon()
    d.start()
    try:
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        d.docker("network", "create", "shop")
        d.docker("run", "-d", "--name", "web", "--network", "shop", "-p", f"{port}:80", IMAGE,
                 "httpd", "-f", "-p", "80", "-h", "/")  # fmt: skip
        d.docker("run", "-d", "--name", "client", "--network", "shop", IMAGE, "sh", "-c",
                 "while true; do wget -q -O /dev/null http://web/ ; ping -c 1 web; "
                 "sleep 0.5; done")  # fmt: skip
        for _ in range(5):  # another dockerd starting on this host may flush the chains
            s = await asyncio.to_thread(snap, d)
            if fwr.build_report(s).ports and fwr.build_report(s).ports[0].dnat is not None:
                break
            d.docker("restart", "-t", "0", "web")
        subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"])
        time.sleep(2)
        s = await asyncio.to_thread(snap, d)
        scr = PacketScreen(s, container="web")
        app = Host(scr)
        async with app.run_test(size=SIZE) as pilot:
            while not {"fw", "fast"} <= scr.loaded:
                await pilot.pause(0.1)
            for tab, name in (
                ("tab-fw", "10-packet-firewall"),
                ("tab-ct", "10b-packet-conntrack"),
                ("tab-sk", "10c-packet-sockets"),
                ("tab-nb", "10d-packet-neighbours"),
            ):
                scr.query_one(TabbedContent).active = tab
                await pilot.pause(0.5)
                app.save_screenshot(path=str(HERE), filename=f"{name}.svg")
                print(f"wrote screenshots/{name}.svg")
        cap = CaptureScreen(s, "web")
        app = Host(cap)
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 15
            while cap.shown < 25 and time.monotonic() < deadline:
                await pilot.pause(0.2)
            app.save_screenshot(path=str(HERE), filename="11-capture.svg")
            print("wrote screenshots/11-capture.svg")
    finally:
        d.stop()


if __name__ == "__main__":
    asyncio.run(shoot())
