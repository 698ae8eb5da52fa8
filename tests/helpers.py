"""Small helpers shared by the engine tests (doctor, path explainer)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from inspectors.snapshot import Model


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def snapshot(daemon):
    """A fresh joined snapshot of the harness engine."""
    m = Model(daemon.host)
    try:
        return m.build()
    finally:
        m.close()


def dock(daemon, *args: str) -> None:
    """``docker ARGS``, retried while another dockerd starting on this host has the
    shared iptables chains torn down for a moment ("No chain/target/match")."""
    for attempt in range(8):
        r = daemon.docker(*args, check=False)
        if r.returncode == 0:
            return
        if "iptables" not in r.stderr or attempt == 7:
            raise RuntimeError(f"docker {' '.join(args)} failed: {r.stderr.strip()}")
        if args[0] == "run":
            daemon.docker("rm", "-f", args[args.index("--name") + 1], check=False)
        time.sleep(1)


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """``python -m tui.cli args...`` from the repository root, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )


def engine_info(daemon) -> dict:
    """``docker info`` of the test daemon, through a client closed afterwards."""
    c = daemon.client()
    try:
        return c.info()
    finally:
        c.close()


def started(thing):
    """For a fixture: ``yield from started(TestDaemon())``: start it (stopping what a failed
    start left behind), hand it to the tests, stop it afterwards."""
    try:
        thing.start()
    except Exception:
        thing.stop()
        raise
    yield thing
    thing.stop()
