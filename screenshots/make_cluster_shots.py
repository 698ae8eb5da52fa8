#!/usr/bin/env python3
"""Screenshots of the cluster views from a running cluster (e.g. `python -m
tests.cluster start`): the map of several hosts at 80x24 and 120x40, an
overlay's detail as `dockscope overlay` prints it on a node, and the console of
several hosts (Networks with its NODE column; an overlay's endpoints as node2
sees them, node3's container a remote endpoint).

    screenshots/make_cluster_shots.py ssh://root@10.x.0.11 ssh://root@10.x.0.12 ssh://root@10.x.0.13
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


async def shot_map(root, title: str, size: tuple[int, int], name: str) -> None:
    from tui.panes.map import MapApp

    app = MapApp(root, title)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.save_screenshot(name, os.path.join(ROOT, "screenshots"))


async def shot_console(hosts: list[str], overlay: str) -> None:
    from textual.widgets import DataTable

    from inspectors.cluster_model import NodeTarget
    from tui.cluster_console import ClusterConsole

    app = ClusterConsole([NodeTarget(h) for h in hosts])
    async with app.run_test(size=(140, 32)) as pilot:
        for _ in range(240):
            await pilot.pause(0.5)
            if app.model.cluster is not None and app.snapshot.networks:
                break
        await pilot.pause(3.0)
        app.save_screenshot("10e-cluster-console.svg", os.path.join(ROOT, "screenshots"))
        t = app.query_one("#networks #list", DataTable)
        want = [str(t.get_row_at(r)[0]).split()[0] + "/" + str(t.get_row_at(r)[1])
                for r in range(t.row_count)]  # fmt: skip
        t.move_cursor(row=want.index(f"node2/{overlay}"))
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(1.0)
        app.save_screenshot("10f-cluster-overlay.svg", os.path.join(ROOT, "screenshots"))


def main() -> int:
    from rich.console import Console
    from rich.text import Text

    from inspectors.cluster_doctor import run_cluster_doctor
    from inspectors.cluster_model import NodeTarget, build_cluster
    from inspectors.topology import build_cluster_map, load_last_path

    hosts = sys.argv[1:]
    snap = build_cluster([NodeTarget(h) for h in hosts])
    root = build_cluster_map(
        snap, run_cluster_doctor(snap), load_last_path([n.host for n in snap.nodes])
    )
    title = f"map: {len(snap.nodes)} nodes"
    asyncio.run(shot_map(root, title, (80, 24), "10-cluster-map-80x24.svg"))
    asyncio.run(shot_map(root, title, (120, 40), "10b-cluster-map.svg"))
    dest = hosts[1].removeprefix("ssh://")
    cands = [o for o in snap.overlays if o.name != "ingress"] or snap.overlays
    ov = max(cands, key=lambda o: sum(1 for x in o.nodes if x.local)).name
    out = subprocess.run(
        ["ssh", dest, "dockscope", "overlay", ov], capture_output=True, text=True
    ).stdout
    con = Console(record=True, width=120, file=open(os.devnull, "w"))
    con.print(Text(f"$ ssh {dest} dockscope overlay {ov}\n" + out))
    con.save_svg(
        os.path.join(ROOT, "screenshots", "10c-overlay-detail.svg"), title="dockscope overlay"
    )
    asyncio.run(shot_console(hosts, ov))
    return 0


if __name__ == "__main__":
    sys.exit(main())
