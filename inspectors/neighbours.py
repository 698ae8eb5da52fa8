"""Neighbour tables (ARP/NDP) per bridge and per sandbox, and interface
error/drop counters with rates.

Neighbours come from pyroute2 ``IPRoute.get_neighbours`` in the namespace
asked for; FAILED and INCOMPLETE entries are flagged (the peer never answered
ARP: wrong IP, a down container, a MAC that moved). Counters come from the
link stats the kernel inspector already reads; :class:`Rates` turns two
samples into per-second rates and flags drops that keep rising.

Never imports Textual. Read-only.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from dataclasses import dataclass, field

NUD = {
    0x01: "INCOMPLETE",
    0x02: "REACHABLE",
    0x04: "STALE",
    0x08: "DELAY",
    0x10: "PROBE",
    0x20: "FAILED",
    0x40: "NOARP",
    0x80: "PERMANENT",
}
BAD_STATES = {"FAILED", "INCOMPLETE"}


@dataclass
class Neighbour:
    ip: str
    mac: str | None
    ifname: str
    state: str
    family: int = 4
    router: bool = False

    @property
    def bad(self) -> bool:
        return self.state in BAD_STATES


def _state(n: int) -> str:
    names = [v for k, v in NUD.items() if n & k]
    return "|".join(names) or "NONE"


def _read(ifname: str | None = None) -> list[Neighbour]:
    from pyroute2 import IPRoute

    out: list[Neighbour] = []
    with IPRoute() as ipr:
        names = {lk["index"]: lk.get_attr("IFLA_IFNAME") for lk in ipr.get_links()}
        want = None
        if ifname is not None:
            want = next((i for i, n in names.items() if n == ifname), None)
            if want is None:
                return out
        for m in ipr.get_neighbours():
            fam = m.get("family")
            if fam not in (socket.AF_INET, socket.AF_INET6):
                continue
            if want is not None and m.get("ifindex") != want:
                continue
            dst = m.get_attr("NDA_DST")
            if not dst:
                continue
            out.append(
                Neighbour(
                    ip=dst,
                    mac=m.get_attr("NDA_LLADDR"),
                    ifname=names.get(m.get("ifindex"), str(m.get("ifindex"))),
                    state=_state(m.get("state") or 0),
                    family=6 if fam == socket.AF_INET6 else 4,
                    router=bool((m.get("flags") or 0) & 0x80),
                )
            )
    return out


def read_neighbours(netns: str | None = None, ifname: str | None = None) -> list[Neighbour]:
    """The neighbour table of ``netns`` (None: the host's), optionally of one
    interface (a bridge, a sandbox's eth0)."""
    if netns is None:
        from inspectors.hostfacts import run_in_netns

        # pyroute2's sync API cannot run on a thread with an asyncio loop (Textual)
        return run_in_netns("/proc/self/ns/net", _read, ifname)
    from inspectors.hostfacts import run_in_netns

    return run_in_netns(netns, _read, ifname)


def bad(neigh: list[Neighbour]) -> list[Neighbour]:
    return [n for n in neigh if n.bad]


# --------------------------------------------------------------------------- counters

FIELDS = (
    "rx_bytes",
    "tx_bytes",
    "rx_packets",
    "tx_packets",
    "rx_errors",
    "tx_errors",
    "rx_dropped",
    "tx_dropped",
)


@dataclass
class IfRates:
    ifname: str
    per_s: dict[str, float] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)  # for sparklines
    rising_drops: bool = False
    rising_errors: bool = False


class Rates:
    """Per-interface counter rates from successive samples (``{ifname: stats}``
    with the ``LinkStats`` fields). A drop/error counter that rose in at least
    ``rising`` of the last samples is flagged."""

    def __init__(self, keep: int = 60, rising: int = 2):
        self.keep = keep
        self.rising = rising
        self._last: dict[str, tuple[float, dict[str, int]]] = {}
        self._hist: dict[str, dict[str, deque]] = {}

    def update(self, stats: dict[str, object], now: float | None = None) -> dict[str, IfRates]:
        now = time.monotonic() if now is None else now
        out: dict[str, IfRates] = {}
        for name, st in stats.items():
            cur = {f: int(getattr(st, f, 0) or 0) for f in FIELDS}
            r = IfRates(name, totals=cur)
            prev = self._last.get(name)
            hist = self._hist.setdefault(name, {f: deque(maxlen=self.keep) for f in FIELDS})
            if prev is not None and now > prev[0]:
                dt = now - prev[0]
                for f in FIELDS:
                    d = cur[f] - prev[1].get(f, 0)
                    rate = max(d, 0) / dt
                    r.per_s[f] = rate
                    hist[f].append(rate)
            r.history = {f: list(h) for f, h in hist.items()}
            tail = lambda f: list(hist[f])[-self.rising :]  # noqa: E731
            for kind, fs in (
                ("drops", ("rx_dropped", "tx_dropped")),
                ("errors", ("rx_errors", "tx_errors")),
            ):
                rising = any(
                    len(tail(f)) >= self.rising and all(x > 0 for x in tail(f)) for f in fs
                )
                setattr(r, f"rising_{kind}", rising)
            self._last[name] = (now, cur)
            out[name] = r
        for gone in set(self._last) - set(stats):
            self._last.pop(gone, None)
            self._hist.pop(gone, None)
        return out


def sample_links(netns: str | None = None) -> dict[str, object]:
    """{ifname: LinkStats} of ``netns`` (None: the host's) from the one link reader."""
    from inspectors import kernel
    from inspectors.hostfacts import run_in_netns

    def read():
        return {lk.name: lk.stats for lk in kernel.read_links()}

    return run_in_netns(netns or "/proc/self/ns/net", read)


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 20) -> str:
    v = values[-width:]
    if not v:
        return ""
    top = max(v)
    if top <= 0:
        return SPARK[0] * len(v)
    return "".join(SPARK[min(int(x / top * (len(SPARK) - 1) + 0.5), len(SPARK) - 1)] for x in v)


__all__ = [
    "Neighbour",
    "read_neighbours",
    "bad",
    "Rates",
    "IfRates",
    "sample_links",
    "sparkline",
]
