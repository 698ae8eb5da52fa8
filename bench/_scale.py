"""A harness engine filled with N busybox ``sleep`` containers over M networks,
shared by the bench scripts.

Names: networks ``bn0..bn{M-1}``, containers ``bc0..bc{N-1}`` (round-robin over
the networks). Above ``BIG`` containers a machine-wide lock is held for the
engine's whole life, so that two 1,000-container engines never run at once on
this VM (their shims would not fit in memory together).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.harness import IMAGE, TestDaemon  # noqa: E402

BIG = 300
LOCK = "/tmp/dockscope-bench-big.lock"


@contextlib.contextmanager
def big_lock(n: int):
    """Hold the machine-wide lock while an engine with more than BIG containers lives."""
    if n <= BIG:
        yield
        return
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"  waiting for {LOCK} (another big engine runs) ...", flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def scaled_engine(n: int, m: int = 10, cmd=("sleep", "36000"), threads: int = 4):
    """Start a harness dockerd with ``n`` running containers over ``m`` user
    networks; yields the TestDaemon; stops and removes everything after."""
    with big_lock(n):
        d = TestDaemon()
        d.start()
        try:
            print(
                f"harness engine {d.host}: building {n} containers over {m} networks ...",
                flush=True,
            )
            nets = [f"bn{i}" for i in range(m)]
            for net in nets:
                d.docker("network", "create", net)
            cli = d.client()

            def mk(i):
                cli.containers.run(
                    IMAGE, list(cmd), name=f"bc{i}", detach=True, network=nets[i % len(nets)]
                )

            t0 = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(mk, range(n)))
            print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
            yield d
        finally:
            d.stop()


def growth(points: list[tuple[int, float]]) -> str:
    """Name how a cost grows with the count: flat, sublinear, linear or worse,
    from the log-log slope between the smallest and the largest point."""
    import math

    pts = sorted((n, v) for n, v in points if v > 0)
    if len(pts) < 2:
        return "one point"
    (n0, v0), (n1, v1) = pts[0], pts[-1]
    k = math.log(v1 / v0) / math.log(n1 / n0)
    if k < 0.2:
        word = "flat"
    elif k < 0.8:
        word = "sublinear"
    elif k < 1.25:
        word = "linear"
    else:
        word = "worse than linear"
    return f"{word} (x{v1 / v0:.2f} for x{n1 / n0:.0f} containers, slope {k:.2f})"
