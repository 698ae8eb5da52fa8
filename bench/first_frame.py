#!/usr/bin/env python3
"""bench/startup's probe: the real console, headless, in a fresh process; it
exits on the first painted frame with data (``first-data``) or with the full
joined snapshot (``full-data``) and prints the time since ``T0`` (argv[2],
epoch seconds taken by the parent just before spawning this process).

The hook lives here, in a subclass, not in the product."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from textual import on  # noqa: E402

from tui.app import DockscopeApp  # noqa: E402
from tui.live import LiveUpdate  # noqa: E402


class FirstFrame(DockscopeApp):
    def __init__(self, mode: str, t0: float) -> None:
        super().__init__(started_at=t0)
        self.mode, self.t0 = mode, t0
        self.result: tuple[str, float] | None = None

    @on(LiveUpdate)
    def bench_hook(self, msg: LiveUpdate) -> None:  # runs beside the app's own handler
        snap = msg.snapshot
        has_data = snap is not None and bool(snap.networks or snap.containers)
        want = self.mode == "first-data" or msg.reason == "build"
        if has_data and want and self.result is None:
            self.result = ("pending", 0.0)
            self.call_after_refresh(self.done, msg.reason)

    def done(self, reason: str) -> None:
        self.result = (reason, time.time() - self.t0)
        self.exit(0)


def main() -> int:
    mode, t0 = sys.argv[1], float(sys.argv[2])
    app = FirstFrame(mode, t0)
    app.run(headless=True)
    if app.result is None:
        print("no frame with data", file=sys.stderr)
        return 1
    print(f"DOCKSCOPE_BENCH first_data={app.result[1]:.3f} phase={app.result[0]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
