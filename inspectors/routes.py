"""The one route reader: the routes of the calling thread's network namespace
through pyroute2 (``IPRoute.get_routes`` / ``route("get")``).

Used by the host facts (doctor), the network create form's overlap check and
the sandbox reads (a container's routes, through an ``IPRoute`` opened inside
its namespace). :func:`overlap_candidates` is the one rule for "which host
routes can collide with a new subnet", so the form and the doctor agree.

Never imports Textual. pyroute2 is imported when first used.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from .kernel import attrs, off_loop

RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255
RT_SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
RT_TYPES = {
    0: "unspec",
    1: "unicast",
    2: "local",
    3: "broadcast",
    4: "anycast",
    5: "multicast",
    6: "blackhole",
    7: "unreachable",
    8: "prohibit",
    9: "throw",
    10: "nat",
    11: "xresolve",
}

__all__ = [
    "RouteEntry",
    "read_routes",
    "route_get",
    "overlap_candidates",
    "overlapping",
    "RT_TABLE_MAIN",
]


@dataclass
class RouteEntry:
    """One route as ``ip route show table all`` lists it (plain data)."""

    dst: str  # CIDR or "default"
    family: int = 4  # 4 or 6
    table: int = RT_TABLE_MAIN
    type: str = "unicast"
    scope: str = "global"
    dev: str | None = None
    oif: int | None = None
    gateway: str | None = None
    prefsrc: str | None = None
    metric: int | None = None
    proto: int | None = None
    nexthops: list[tuple[str | None, str | None]] = field(default_factory=list)  # (via, dev)


def _own(ipr):
    if ipr is not None:
        return ipr, False
    from pyroute2 import IPRoute

    return IPRoute(), True


def _entry(msg, names: dict[int, str]) -> RouteEntry | None:
    fam = msg["family"]
    if fam not in (socket.AF_INET, socket.AF_INET6):
        return None
    g = attrs(msg).get
    table = g("RTA_TABLE") or msg["table"]
    dst = g("RTA_DST")
    oif = g("RTA_OIF")
    e = RouteEntry(
        dst=f"{dst}/{msg['dst_len']}" if dst else "default",
        family=4 if fam == socket.AF_INET else 6,
        table=table,
        type=RT_TYPES.get(msg["type"], str(msg["type"])),
        scope=RT_SCOPES.get(msg["scope"], str(msg["scope"])),
        dev=names.get(oif) if oif else None,
        oif=oif,
        gateway=g("RTA_GATEWAY"),
        prefsrc=g("RTA_PREFSRC"),
        metric=g("RTA_PRIORITY"),
        proto=msg["proto"],
    )
    if e.gateway is None:
        via = g("RTA_VIA")
        if via:
            e.gateway = via.get("addr")
    if dst is None and msg["dst_len"]:  # a zero network written with its length
        e.dst = f"{'0.0.0.0' if e.family == 4 else '::'}/{msg['dst_len']}"
    mp = g("RTA_MULTIPATH")
    if mp:
        for hop in mp:
            idx = hop.get("oif")
            gw = attrs(hop).get("RTA_GATEWAY") if "attrs" in hop else None
            e.nexthops.append((gw, names.get(idx) if idx else None))
        if e.dev is None and e.nexthops:
            e.dev = e.nexthops[0][1]
        if e.gateway is None and e.nexthops:
            e.gateway = e.nexthops[0][0]
    return e


def entries(
    msgs, names: dict[int, str], table: int | None = None, with_local: bool = False
) -> list[RouteEntry]:
    """pyroute2 RTM_NEWROUTE messages -> :class:`RouteEntry` rows (the filter
    of :func:`read_routes`), for callers that ran the dump themselves."""
    out = []
    for m in msgs:
        e = _entry(m, names)
        if e is None:
            continue
        if table is not None and e.table != table:
            continue
        if table is None and e.table == RT_TABLE_LOCAL and not with_local:
            continue
        out.append(e)
    return out


def _names(ipr) -> dict[int, str]:
    return {m["index"]: attrs(m).get("IFLA_IFNAME") for m in ipr.get_links()}


@off_loop
def read_routes(
    ipr=None,
    table: int | None = None,
    names: dict[int, str] | None = None,
    with_local: bool = False,
) -> list[RouteEntry]:
    """IPv4 and IPv6 routes of the netns ``ipr`` lives in (default: a private
    ``IPRoute`` in the calling thread's netns).

    ``table``: only that table (254 = main); default every table except the
    local one (255: the host's own addresses, not routes) unless
    ``with_local``. ``names``: ifindex -> name when the caller already dumped
    the links (else one link dump names the devices).
    """
    r, close = _own(ipr)
    try:
        if names is None:
            names = _names(r)
        kw = {"table": table} if table is not None else {}
        return entries(r.get_routes(**kw), names, table, with_local)
    finally:
        if close:
            r.close()


@off_loop
def route_get(dst: str, ipr=None, names: dict[int, str] | None = None) -> RouteEntry | None:
    """The kernel's route lookup for ``dst`` (``ip route get DST``; no packet
    is sent); None if there is no route or ``dst`` is not an address."""
    from .nlcodec import whole_pyroute2

    whole_pyroute2()
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        addr = ipaddress.ip_address(dst)
    except ValueError:
        return None
    r, close = _own(ipr)
    try:
        try:
            msgs = list(r.route("get", dst=str(addr)))
        except NetlinkError:
            return None
        if names is None:
            names = _names(r)
        for m in msgs:
            e = _entry(m, names)
            if e is not None:
                return e
        return None
    finally:
        if close:
            r.close()


def overlap_candidates(routes: list[RouteEntry]) -> list[tuple[ipaddress._BaseNetwork, RouteEntry]]:
    """The routes a new subnet can collide with, as (network, route): unicast,
    not a default route, not link-local or multicast, any table but local.
    The network create form and the doctor's overlap rule both use this."""
    out = []
    for r in routes:
        if r.dst == "default" or r.type not in ("unicast", None) or r.table == RT_TABLE_LOCAL:
            continue
        try:
            net = ipaddress.ip_network(r.dst, strict=False)
        except ValueError:
            continue
        if net.prefixlen == 0 or net.is_link_local or net.is_multicast:
            continue
        out.append((net, r))
    return out


def overlapping(
    subnet: str, routes: list[RouteEntry], skip_devs: set[str] | frozenset = frozenset()
) -> list[RouteEntry]:
    """The routes of :func:`overlap_candidates` whose network overlaps ``subnet``
    (same IP version), leaving out those through ``skip_devs`` (the network's
    own bridge)."""
    try:
        sn = ipaddress.ip_network(subnet, strict=False)
    except ValueError:
        return []
    return [
        r
        for net, r in overlap_candidates(routes)
        if r.dev not in skip_devs and net.version == sn.version and net.overlaps(sn)
    ]
