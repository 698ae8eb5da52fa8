#!/usr/bin/env python3
"""bench/startup's probe, in a fresh process; prints the time from ``T0``
(argv[2], epoch seconds taken by the parent just before spawning this process)
to a painted frame.

Modes:

* ``first-data``: the real console, headless; exits on the first painted frame
  with data (the networks list).
* ``full-data``: the same, until the full joined snapshot is painted.
* ``bare``: the baseline of issue 13: a bare Textual app with one DataTable
  filled from ``docker network ls`` (the docker CLI, in a thread worker), no
  dockscope import at all. ``bare-terminal``: the same in a real terminal
  (tmux), staying until ctrl+q.

The hooks live here, in subclasses, not in the product."""

from __future__ import annotations

import os
import resource
import sys
import time


def bare(t0: float, terminal: bool = False) -> float | None:
    import subprocess

    from textual import work
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App):
        result: float | None = None

        def compose(self) -> ComposeResult:
            yield DataTable()

        def on_mount(self) -> None:
            self.load()

        @work(thread=True)
        def load(self) -> None:
            fmt = "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
            out = subprocess.run(
                ["docker", "network", "ls", "--no-trunc", "--format", fmt],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rows = [line.split("\t") for line in out.splitlines() if line]
            self.call_from_thread(self.fill, rows)

        def fill(self, rows: list[list[str]]) -> None:
            t = self.query_one(DataTable)
            t.add_columns("NETWORK ID", "NAME", "DRIVER", "SCOPE")
            t.add_rows(rows)
            self.call_after_refresh(self.done)

        def done(self) -> None:
            self.result = time.time() - t0
            if not terminal:  # in a terminal (tmux) it stays until ctrl+q
                self.exit(0)

    app = Bare()
    app.run(headless=not terminal)
    return app.result


def console(mode: str, t0: float) -> tuple[str, float] | None:
    """The start-up path of tui/cli.py (`dockscope` without a command): the first
    engine read starts, then Textual is imported and the app runs."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tui.cli import console_allocator, parse

    parse([])  # as tui/cli.py main() does first
    console_allocator()  # and then (one re-exec of this probe: its cost is counted)
    from tui import prefetch

    first = prefetch.start(None)
    from textual import on

    from tui.app import DockscopeApp, run_app
    from tui.live import LiveUpdate

    result: list[tuple[str, float]] = []

    class FirstFrame(DockscopeApp):
        def __init__(self, **kw) -> None:
            super().__init__(started_at=t0, **kw)
            self.result: tuple[str, float] | None = None

        @on(LiveUpdate)
        def bench_hook(self, msg: LiveUpdate) -> None:  # runs beside the app's own handler
            snap = msg.snapshot
            has_data = snap is not None and bool(snap.networks or snap.containers)
            want = mode == "first-data" or msg.reason == "build"
            if has_data and want and self.result is None:
                self.result = ("pending", 0.0)
                self.call_after_refresh(self.done, msg.reason)

        def done(self, reason: str) -> None:
            self.result = (reason, time.time() - t0)
            result.append(self.result)
            self.exit(0)

    os.environ["DOCKSCOPE_HEADLESS"] = "1"
    run_app(first_read=first, app_class=FirstFrame)
    return result[0] if result else None


def main() -> int:
    mode, t0 = sys.argv[1], float(sys.argv[2])
    if mode in ("bare", "bare-terminal"):
        got = bare(t0, terminal=mode == "bare-terminal")
        res = ("bare", got) if got is not None else None
    else:
        res = console(mode, t0)
    if res is None:
        print("no frame with data", file=sys.stderr)
        return 1
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime  # this process, all threads, to the exit
    print(f"DOCKSCOPE_BENCH first_data={res[1]:.3f} phase={res[0]} cpu={cpu:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
