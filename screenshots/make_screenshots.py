#!/usr/bin/env python3
"""Screenshots of the real console on a real engine: one SVG per pane.

Starts a dedicated dockerd (tests.harness.TestDaemon), builds a small demo
topology, runs the app headless at 120x40 (``app.run_test`` +
``app.save_screenshot``) and writes ``screenshots/NN-name.svg``. Part of the
topology is changed while the app runs, so the Events pane shows a real
timeline. Needs root (dockerd, netlink).

    python screenshots/make_screenshots.py            # writes screenshots/*.svg
    python screenshots/make_screenshots.py --png /tmp/shots   # also PNGs (cairosvg)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from inspectors.config import Settings  # noqa: E402
from inspectors.snapshot import Model  # noqa: E402
from tests.harness import IMAGE, TestDaemon  # noqa: E402
from tui.app import DockscopeApp  # noqa: E402

SIZE = (120, 40)


def free_port(preferred: int) -> int:
    """``preferred`` if nothing listens there, else the next free one."""
    for port in range(preferred, preferred + 200):
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def build_topology(d: TestDaemon, web_port: int, admin_port: int, stranger_port: int) -> None:
    dk = d.docker
    dk("network", "create", "shop-frontend")
    dk("network", "create", "--internal", "shop-backend")
    dk(
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "shop-backend",
        "--network-alias",
        "postgres",
        IMAGE,
        "sleep",
        "86400",
    )
    dk(
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "shop-frontend",
        "--network-alias",
        "www",
        "-p",
        f"{web_port}:80",
        "-p",
        f"127.0.0.1:{admin_port}:9090",
        "--label",
        "com.example.team=shop",
        IMAGE,
        "sh",
        "-c",
        "httpd -p 9090 -h /tmp; exec httpd -f -p 80",
    )
    dk("network", "connect", "--alias", "api", "shop-backend", "web")
    dk(
        "run",
        "-d",
        "--name",
        "legacy",
        IMAGE,
        "sh",
        "-c",  # default bridge, chatty
        'i=0; while true; do i=$((i+1)); echo "$(date -Iseconds) GET /health 200 req=$i"; '
        '[ $((i % 7)) -eq 0 ] && echo "$(date -Iseconds) ERROR upstream db:5432 timed out" >&2; '
        "sleep 0.3; done",
    )
    # a stopped container whose published port a stranger (this script) holds
    dk(
        "create",
        "--name",
        "worker",
        "--network",
        "shop-frontend",
        "-p",
        f"{stranger_port}:5000",
        IMAGE,
        "sleep",
        "5",
    )


async def wait_for(pilot, cond, timeout: float = 20.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("condition not met")
        await pilot.pause(0.05)


async def shoot(d: TestDaemon, out: Path) -> list[Path]:
    written: list[Path] = []
    app = DockscopeApp(model=Model(d.host), settings=Settings(), theme="textual-dark")

    def save(name: str) -> None:
        path = out / f"{name}.svg"
        app.save_screenshot(path=str(out), filename=path.name)
        written.append(path)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "build" in app.painted)
        await wait_for(pilot, lambda: app.live is not None and app.live.engine_up is True)
        # live changes while the console watches: they land on the timeline
        d.docker("network", "create", "shop-payments")
        d.docker("network", "connect", "shop-payments", "web")
        gw = d.docker(
            "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "shop-frontend"
        ).stdout.strip()
        d.docker("exec", "web", "ping", "-c", "2", "-W", "1", gw, check=False)
        d.docker("exec", "-d", "web", "ping", "-i", "0.05", "-s", "1200", gw, check=False)
        d.docker("exec", "db", "ping", "-c", "1", "-W", "1", "web", check=False)
        d.docker("restart", "-t", "0", "legacy")
        await pilot.pause(1.5)

        nets = app.query_one("#networks #list")
        frontend = app.snapshot.network("shop-frontend")
        nets.select_key(frontend.id)
        await pilot.pause(0.3)
        save("1-networks")
        await pilot.press("enter")
        await pilot.pause(0.3)
        save("1b-network-detail")
        await pilot.press("escape")

        await pilot.press("2")
        await pilot.pause(2.5)  # two counter samples: rx/tx rates
        await pilot.press("slash", *"shop-", "enter")
        await pilot.pause(0.3)
        save("2-bridges")
        bridges = app.query_one("#bridges #list")
        bridges.select_key(f"br:{frontend.bridge}")
        await pilot.press("enter")
        await pilot.pause(0.3)
        save("2b-bridge-fdb")
        await pilot.press("escape", "escape")

        await pilot.press("3")
        web = app.snapshot.container("web")
        app.query_one("#endpoints #list").select_key(web.id)
        await pilot.pause(0.3)
        save("3-endpoints")
        await pilot.press("enter")
        await pilot.pause(0.3)
        save("3b-endpoint-detail")
        await pilot.press("escape")

        await pilot.press("4")
        await pilot.pause(0.3)
        worker = app.snapshot.container("worker")
        ports = app.query_one("#ports #list")
        for row in ports.all_rows:
            if row.key.startswith(worker.id):
                ports.select_key(row.key)
        await pilot.pause(0.3)
        save("4-ports")
        await pilot.press("a")
        await pilot.pause(0.3)
        save("4b-host-listeners")
        await pilot.press("a")

        await pilot.press("3")
        app.query_one("#endpoints #list").select_key(app.snapshot.container("legacy").id)
        await pilot.press("l")
        await pilot.pause(2.0)
        save("5-logs")

        await pilot.press("6")
        await pilot.pause(0.3)
        save("6-events")

        await pilot.press("7")
        await wait_for(pilot, lambda: not getattr(app.query_one("#findings"), "running", False), 60)
        await pilot.pause(0.3)
        save("7-findings")

        await pilot.press("1", "question_mark")
        await pilot.pause(0.5)
        save("8-help")
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"network")
        await pilot.pause(0.6)
        save("9-palette")
        await pilot.press("escape")
        app.live.close()
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE), help="where the SVGs go (default: screenshots/)")
    ap.add_argument("--png", help="also write PNGs here (cairosvg)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    d = TestDaemon()
    stranger = socket.socket()
    try:
        d.start()
        web_port, admin_port = free_port(8080), free_port(9090)
        stranger_port = free_port(5000)
        stranger.bind(("0.0.0.0", stranger_port))
        stranger.listen()
        build_topology(d, web_port, admin_port, stranger_port)
        written = asyncio.run(shoot(d, out))
    finally:
        stranger.close()
        with contextlib.suppress(Exception):
            d.stop()
    for p in written:
        print(p)
    if args.png:
        import cairosvg

        png_dir = Path(args.png)
        png_dir.mkdir(parents=True, exist_ok=True)
        for p in written:
            cairosvg.svg2png(
                url=str(p), write_to=str(png_dir / (p.stem + ".png")), output_width=1400
            )
        print(f"PNGs in {png_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
