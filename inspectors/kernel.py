"""Host-side kernel view: links, bridges, bridge FDB, brctl-compatible text.

Data sources (see docs/reference §2.3):

* one RTM_GETLINK dump + one RTM_GETADDR dump give every link, its
  addresses, its bridge (``IFLA_MASTER``), its veth peer (``IFLA_LINK`` +
  ``IFLA_LINK_NETNSID``), per-bridge STP/ageing/bridge-id
  (``IFLA_INFO_DATA``) and per-port STP state, cost, hairpin and port number
  (``IFLA_INFO_SLAVE_DATA``);
* one AF_BRIDGE neighbour dump gives the FDB of every bridge: the entries
  whose master is the bridge and whose port is not the bridge itself are the
  rows ``brctl showmacs`` reads from ``/sys/class/net/<br>/brforward``.

All netlink goes through pyroute2 (``IPRoute``, imported when first used, not
at module import: the CLI's start-up does not pay for it unless it reads the
kernel), decoded with :mod:`inspectors.nlcodec`'s lean policy. Every reader takes
an optional ``ipr`` (a warm ``IPRoute`` to reuse); without one it opens and closes
its own. sysfs is read only for what an old kernel's netlink does not carry.

Never imports textual.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterable

from .model import Bridge, BridgePort, FdbEntry, Link, LinkStats
from .nlcodec import (  # the decoding policy (callers import these names here too)
    attrs,
    body_of,
    lean_policy,
    whole_pyroute2,
)

SYSFS_NET = "/sys/class/net"

# a private attribute hung on Link objects by read_links(): the raw record,
# so read_bridges(links) needs no second dump. Not a dataclass field, so
# to_jsonable() and == ignore it.
_RAW = "_dockscope_raw"

__all__ = [
    "read_links",
    "read_bridges",
    "read_kernel",
    "KernelTables",
    "HostReader",
    "read_fdb",
    "BRCTL_SHOW_HEADER",
    "BRCTL_SHOWMACS_HEADER",
    "format_brctl_show",
    "format_brctl_showmacs",
    "brctl_show",
    "brctl_showmacs",
    "subscribe_links",
    "LinkSubscription",
    "event_kind",
    "EVENT_KINDS",
    "links_by_index",
]


# --------------------------------------------------------------------------- netlink (pyroute2)

OPERSTATES = {
    0: "UNKNOWN",
    1: "NOTPRESENT",
    2: "DOWN",
    3: "LOWERLAYERDOWN",
    4: "TESTING",
    5: "DORMANT",
    6: "UP",
}
BRPORT_STATES = {0: "disabled", 1: "listening", 2: "learning", 3: "forwarding", 4: "blocking"}
IFF_UP = 0x1
NLM_F_DUMP_INTR = 0x10
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80
_STATS_KEYS = (
    "rx_packets",
    "tx_packets",
    "rx_bytes",
    "tx_bytes",
    "rx_errors",
    "tx_errors",
    "rx_dropped",
    "tx_dropped",
)


def off_loop(fn):
    """Decorator: run ``fn`` in a helper thread when the caller's thread runs an
    asyncio event loop (Textual's). pyroute2's sync API runs its own loop and
    cannot do that inside a running one; worker threads call straight through."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="dockscope-netlink") as ex:
            return ex.submit(fn, *args, **kwargs).result()

    return wrapper


@off_loop
def open_ipr():
    """A pyroute2 ``IPRoute`` for the calling thread's netns (the host's).

    pyroute2 0.9 keeps one socket and event loop per thread behind one
    object, so a shared instance works from any thread; its ``lock``
    serialises callers that want one dump at a time. Its link messages are
    decoded with :func:`lean_policy`.
    """
    from pyroute2 import IPRoute

    ipr = IPRoute()
    ipr.register_policy(lean_policy())
    return ipr


class HostReader:
    """The host netns (the caller's) through ONE pyroute2 ``AsyncIPRoute`` on a
    private event loop: a dump, or several, run in one pass of that loop.

    pyroute2 0.9's sync ``IPRoute`` runs its event loop once per message of a dump
    (measured: ~0.2 ms a message, most of the cost of a 1,000-link dump); the
    readers here take either (``ipr=``). Its ``lock`` serialises callers (one
    loop, one socket); call it off any running asyncio loop (:func:`off_loop`).
    """

    def __init__(self):
        import asyncio

        from pyroute2 import AsyncIPRoute

        self.lock = threading.RLock()
        self.loop = asyncio.new_event_loop()

        async def opened():
            ipr = AsyncIPRoute()
            ipr.register_policy(lean_policy())
            await ipr.setup_endpoint()
            return ipr

        try:
            self.ipr = self.loop.run_until_complete(opened())
        except BaseException:
            self.loop.close()
            raise

    def dump(self, name: str, *args, **kwargs) -> list:
        """``await ipr.<name>(*args, **kwargs)`` as a list of messages."""

        async def go():
            got = await getattr(self.ipr, name)(*args, **kwargs)
            if isinstance(got, (list, tuple)):
                return list(got)
            return [m async for m in got]

        with self.lock:
            return self.loop.run_until_complete(go())

    def close(self) -> None:
        with self.lock:
            if self.loop.is_closed():
                return
            try:
                self.ipr.close()
            finally:
                self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Own:
    """``with _Own(ipr) as r``: ``ipr`` as given, or a private :class:`HostReader`
    closed on exit."""

    def __init__(self, ipr):
        self.given = ipr
        self.ipr = ipr

    def __enter__(self):
        if self.ipr is None:
            self.ipr = HostReader()
        return self.ipr

    def __exit__(self, *exc) -> None:
        if self.given is None and self.ipr is not None:
            self.ipr.close()


def _dump(r, name: str, *args, **kwargs) -> list:
    """``r.<name>(*args, **kwargs)`` (a dump) as a list, run again (twice at most)
    when the kernel flags it interrupted (NLM_F_DUMP_INTR: links changed
    meanwhile); pyroute2 returns such dumps without a word. ``r``: a
    :class:`HostReader` (one loop pass) or a pyroute2 ``IPRoute``."""
    for _ in range(3):
        if isinstance(r, HostReader):
            msgs = r.dump(name, *args, **kwargs)
        else:
            msgs = list(getattr(r, name)(*args, **kwargs))
        if not any(m["header"].get("flags", 0) & NLM_F_DUMP_INTR for m in msgs):
            break
    return msgs


def link_record(msg) -> dict:
    """A pyroute2 RTM_NEWLINK message -> the plain record the builders use."""
    g = attrs(msg).get
    info = g("IFLA_LINKINFO")
    kind = slave_kind = None
    ia = None
    if info is not None:
        ia = attrs(info)
        kind = ia.get("IFLA_INFO_KIND")
        slave_kind = ia.get("IFLA_INFO_SLAVE_KIND")
    stats = g("IFLA_STATS64")
    carrier = g("IFLA_CARRIER")
    operstate = g("IFLA_OPERSTATE")
    if isinstance(operstate, int):
        operstate = OPERSTATES.get(operstate)
    rec = {
        "index": msg["index"],
        "flags": msg["flags"],
        "name": g("IFLA_IFNAME") or f"if{msg['index']}",
        "mtu": g("IFLA_MTU"),
        "operstate": operstate,
        "carrier": None if carrier is None else bool(carrier),
        "mac": g("IFLA_ADDRESS"),
        "promiscuity": g("IFLA_PROMISCUITY") or 0,
        "master": g("IFLA_MASTER") or None,
        "link": g("IFLA_LINK"),
        "link_netnsid": g("IFLA_LINK_NETNSID"),
        "kind": kind,
        "slave_kind": slave_kind,
        "stats": tuple(int(stats.get(k, 0)) for k in _STATS_KEYS)
        if isinstance(stats, dict)
        else None,
        "br": None,
        "brport": None,
    }
    if kind == "bridge":
        data = ia.get("IFLA_INFO_DATA")
        da = attrs(data) if data is not None else {}
        rec["br"] = {
            "stp_state": da.get("IFLA_BR_STP_STATE"),
            "ageing_time": da.get("IFLA_BR_AGEING_TIME"),
            "bridge_id": _bridge_id(da.get("IFLA_BR_BRIDGE_ID")),
        }
    if slave_kind == "bridge":
        sd = ia.get("IFLA_INFO_SLAVE_DATA")
        if sd is not None:
            sa = attrs(sd)
            rec["brport"] = {
                "state": sa.get("IFLA_BRPORT_STATE"),
                "cost": sa.get("IFLA_BRPORT_COST"),
                "mode": sa.get("IFLA_BRPORT_MODE"),
                "no": sa.get("IFLA_BRPORT_NO"),
            }
    return rec


def _bridge_id(bid) -> str | None:
    """brctl's (and sysfs') form of a bridge's id, ``8000.0242ac110002``, from
    IFLA_BR_BRIDGE_ID (the kernel's ``struct ifla_bridge_id``: two priority bytes,
    then the address; an empty bridge's address is all zeros, not its own). pyroute2
    unpacks the priority bytes in host byte order: packed back the same way they are
    the kernel's two bytes, in order."""
    if not isinstance(bid, dict):
        return None
    prio, addr = bid.get("prio"), bid.get("addr")
    if not isinstance(prio, int) or not isinstance(addr, str) or addr.count(":") != 5:
        return None
    return f"{struct.pack('=H', prio).hex()}.{addr.replace(':', '').lower()}"


def addr_record(msg) -> dict:
    a = attrs(msg)
    addr = a.get("IFA_LOCAL") or a.get("IFA_ADDRESS")
    return {
        "index": msg["index"],
        "family": msg["family"],
        "address": f"{addr}/{msg['prefixlen']}" if addr else None,
        "scope": msg["scope"],
        "label": a.get("IFA_LABEL"),
    }


def _fdb_record(msg) -> dict:
    a = attrs(msg)
    ci = a.get("NDA_CACHEINFO")
    return {
        "family": msg["family"],
        "ifindex": msg["ifindex"],
        "state": msg["state"],
        "flags": msg["flags"],
        "mac": a.get("NDA_LLADDR"),
        "master": a.get("NDA_MASTER"),
        "vlan": a.get("NDA_VLAN"),
        "updated": ci.get("ndm_updated") if ci is not None else None,
    }


def _dump_fdb(ipr) -> list[dict]:
    with _Own(ipr) as r:
        return [_fdb_record(m) for m in _dump(r, "fdb", "dump")]


# --------------------------------------------------------------------------- links


def _stats(t) -> LinkStats:
    if not t:
        return LinkStats()
    rxp, txp, rxb, txb, rxe, txe, rxd, txd = t
    return LinkStats(
        rx_bytes=rxb,
        tx_bytes=txb,
        rx_packets=rxp,
        tx_packets=txp,
        rx_dropped=rxd,
        tx_dropped=txd,
        rx_errors=rxe,
        tx_errors=txe,
    )


def _build_links(link_recs: list[dict], addr_recs: list[dict]) -> list[Link]:
    names = {r["index"]: r["name"] for r in link_recs}
    addrs: dict[int, list[str]] = {}
    for a in addr_recs:
        if a["address"]:
            addrs.setdefault(a["index"], []).append(a["address"])
    out = []
    for r in link_recs:
        nsid = r["link_netnsid"]
        peer = r["link"]
        link = Link(
            index=r["index"],
            name=r["name"],
            kind=r["kind"],
            mtu=r["mtu"],
            operstate=r["operstate"],
            admin_up=bool(r["flags"] & IFF_UP),
            carrier=r["carrier"],
            mac=r["mac"],
            promiscuity=r["promiscuity"] or 0,
            master=r["master"],
            master_name=names.get(r["master"]) if r["master"] else None,
            peer_ifindex=peer if peer and peer != r["index"] else None,
            peer_netnsid=nsid if nsid is not None and nsid >= 0 else None,
            addresses=addrs.get(r["index"], []),
            stats=_stats(r["stats"]),
        )
        setattr(link, _RAW, r)
        out.append(link)
    out.sort(key=lambda lk: lk.index)
    return out


@off_loop
def read_links(ipr=None) -> list[Link]:
    """Every link of the host netns (the caller's netns), in ifindex order.

    One link dump and one address dump through pyroute2. ``ipr``: a pyroute2
    ``IPRoute`` (default: a private one, closed afterwards).
    """
    with _Own(ipr) as r:
        return _build_links(
            _link_records(_dump(r, "get_links")),
            _addr_records(_dump(r, "get_addr")),
        )


_RECS_LOCK = threading.Lock()
_RECS: dict[int, tuple[bytes, dict]] = {}  # ifindex -> (message body, its record)
_ADDRS: dict[bytes, dict] = {}  # address message body -> its record


def _link_records(msgs) -> list[dict]:
    """:func:`link_record` of each message, reusing the record of a link whose
    message body is byte for byte the one decoded last time (an idle link: its
    counters did not move): the message's attributes are then never decoded
    (:class:`_Deferred`), and pyroute2's per-attribute decoding is most of the cost
    of a link dump. Identical bytes decode to an identical record (records are
    never mutated)."""
    with _RECS_LOCK:
        prev = dict(_RECS)
    out, seen = [], {}
    for m in msgs:
        body = body_of(m)
        hit = prev.get(m["index"])
        rec = hit[1] if hit is not None and hit[0] == body else link_record(m)
        seen[m["index"]] = (body, rec)
        out.append(rec)
    with _RECS_LOCK:
        _RECS.clear()
        _RECS.update(seen)
    return out


def _addr_records(msgs) -> list[dict]:
    """:func:`addr_record` of each message, reused by body as :func:`_link_records`
    does (a permanent address's message never changes)."""
    with _RECS_LOCK:
        prev = dict(_ADDRS)
    out, seen = [], {}
    for m in msgs:
        body = body_of(m)
        rec = prev.get(body)
        if rec is None:
            rec = addr_record(m)
        seen[body] = rec
        out.append(rec)
    with _RECS_LOCK:
        _ADDRS.clear()
        _ADDRS.update(seen)
    return out


@off_loop
def read_link(index: int, ipr=None) -> Link | None:
    """One host link by ifindex (RTM_GETLINK request, no dump); None if gone.

    For targeted updates after an event: a started container's new veth.
    """
    whole_pyroute2()
    from pyroute2.netlink.exceptions import NetlinkError

    with _Own(ipr) as r:
        try:
            if isinstance(r, HostReader):
                msgs = r.dump("link", "get", index=index)
            else:
                msgs = list(r.link("get", index=index))
        except NetlinkError:
            return None
    recs = [link_record(m) for m in msgs if m.get("event") in (None, "RTM_NEWLINK")]
    if not recs:
        return None
    return _build_links(recs, [])[0]


def bridge_ports(bridge_link: Link, port_links: list[Link]) -> list[BridgePort]:
    """The ports of one bridge from its links (as :func:`read_bridges` builds them)."""
    built = _build_bridges([bridge_link, *port_links], with_fdb=False)
    return built[0].ports if built else []


def links_by_index(links: Iterable[Link]) -> dict[int, Link]:
    return {lk.index: lk for lk in links}


# --------------------------------------------------------------------------- FDB


def _fdb_from_netlink(bridge: Bridge, fdb_recs: list[dict]) -> list[FdbEntry]:
    """The bridge's FDB from an AF_BRIDGE neighbour dump."""
    by_idx = {p.ifindex: p for p in bridge.ports}
    out = []
    for f in fdb_recs:
        if f["master"] != bridge.ifindex or f["ifindex"] == bridge.ifindex or not f["mac"]:
            # NTF_SELF entries have no master; the bridge device's own entry has
            # no port: brforward lists neither
            continue
        static = bool(f["state"] & (NUD_PERMANENT | NUD_NOARP))
        cs = 0 if static or f["updated"] is None else int(f["updated"])
        p = by_idx.get(f["ifindex"])
        out.append(
            FdbEntry(
                port=p.name if p else f"if{f['ifindex']}",
                port_no=p.port_no if p else None,
                mac=f["mac"].lower(),
                is_local=bool(f["state"] & NUD_PERMANENT),
                ageing_timer=cs / 100.0,
                vlan=f["vlan"],
            )
        )
    return out


def _fdb_for(bridge: Bridge, fdb_recs: Callable[[], list[dict]]) -> list[FdbEntry]:
    entries = _fdb_from_netlink(bridge, fdb_recs())
    # brctl: qsort by memcmp(mac); glibc's qsort is a merge sort here, so stable
    entries.sort(key=lambda e: e.mac)
    return entries


@off_loop
def read_fdb(bridge: Bridge, ipr=None) -> list[FdbEntry]:
    """The FDB of one bridge as ``brctl showmacs`` lists it (sorted by MAC), from
    an AF_BRIDGE neighbour dump (pyroute2 ``fdb("dump")``): the entries whose
    master is the bridge and whose port is not the bridge itself, which are
    the rows of ``/sys/class/net/<br>/brforward`` that brctl reads."""
    return _fdb_for(bridge, lambda: _dump_fdb(ipr))


# --------------------------------------------------------------------------- bridges


def _sysfs(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _build_bridges(
    links: list[Link], ipr=None, with_fdb: bool = True, fdb_recs: list[dict] | None = None
) -> list[Bridge]:
    raws = {lk.index: getattr(lk, _RAW, None) for lk in links}
    bridges: list[Bridge] = []
    ports_of: dict[int, list[BridgePort]] = {}
    cache: list[list[dict]] = [] if fdb_recs is None else [fdb_recs]

    def shared_fdb() -> list[dict]:  # one netlink FDB dump for all bridges, if needed
        if not cache:
            cache.append(_dump_fdb(ipr))
        return cache[0]

    for lk in links:
        if lk.master is None:
            continue
        r = raws.get(lk.index) or {}
        bp = r.get("brport")
        if r.get("slave_kind") not in (None, "bridge") and bp is None:
            continue  # a bond/team slave, not a bridge port
        bp = bp or {}
        port_no = bp.get("no")
        if port_no is None:
            v = _sysfs(f"{SYSFS_NET}/{lk.name}/brport/port_no")
            port_no = int(v, 0) if v else None
        state = bp.get("state")
        if state is None:
            v = _sysfs(f"{SYSFS_NET}/{lk.name}/brport/state")
            state = int(v) if v else None
        ports_of.setdefault(lk.master, []).append(
            BridgePort(
                name=lk.name,
                ifindex=lk.index,
                port_no=port_no,
                state=BRPORT_STATES.get(state, str(state)) if state is not None else None,
                hairpin=None if bp.get("mode") is None else bool(bp.get("mode")),
                path_cost=bp.get("cost"),
                kind=lk.kind,
                operstate=lk.operstate,
                mtu=lk.mtu,
                peer_ifindex=lk.peer_ifindex,
                peer_netnsid=lk.peer_netnsid,
            )
        )
    for lk in links:
        if lk.kind != "bridge":
            continue
        r = raws.get(lk.index) or {}
        br = r.get("br") or {}
        bridge_id = br.get("bridge_id") or _sysfs(f"{SYSFS_NET}/{lk.name}/bridge/bridge_id") or ""
        stp = br.get("stp_state")
        if stp is None:
            v = _sysfs(f"{SYSFS_NET}/{lk.name}/bridge/stp_state")
            stp = int(v) if v else 0
        ageing = br.get("ageing_time")
        if ageing is None:
            v = _sysfs(f"{SYSFS_NET}/{lk.name}/bridge/ageing_time")
            ageing = int(v) if v else None
        ports = sorted(ports_of.get(lk.index, []), key=lambda p: p.name.encode())
        b = Bridge(
            name=lk.name,
            ifindex=lk.index,
            bridge_id=bridge_id,
            stp_enabled=bool(stp),
            interfaces=[p.name for p in ports],
            ports=ports,
            mtu=lk.mtu,
            operstate=lk.operstate,
            addresses=list(lk.addresses),
            ageing_time=ageing / 100.0 if ageing is not None else None,
            stats=lk.stats,
        )
        if with_fdb:
            b.fdb = _fdb_for(b, shared_fdb)
        bridges.append(b)
    # brctl: scandir(/sys/class/net, alphasort) in the C locale == byte order
    bridges.sort(key=lambda b: b.name.encode())
    return bridges


@off_loop
def read_bridges(links: list[Link] | None = None, ipr=None, with_fdb: bool = True) -> list[Bridge]:
    """Every bridge with its ports, STP data and FDB (brctl show / showmacs).

    Pass the ``links`` from :func:`read_links` to reuse its dump (no further
    netlink traffic: only one ``brforward`` read per bridge).
    """
    if links is None or (links and not any(hasattr(lk, _RAW) for lk in links)):
        links = read_links(ipr)
    return _build_bridges(links, ipr=ipr, with_fdb=with_fdb)


@off_loop
def read_kernel(ipr=None, with_fdb: bool = True) -> tuple[list[Link], list[Bridge]]:
    """(links, bridges) from one link dump and one address dump."""
    links = read_links(ipr)
    return links, _build_bridges(links, ipr=ipr, with_fdb=with_fdb)


class KernelTables:
    """The records of the last link, address and FDB dumps of the host netns, for
    a long-lived reader to reuse while a change watch
    (:class:`inspectors.netwatch.KernelWatch`) saw nothing of them. Objects are
    built anew from the records on every read (the join writes into them).

    A reused FDB ages its learned entries' timers by the time since the dump: an
    upper bound (traffic refreshes an entry without a notification).
    """

    def __init__(self):
        self._links: tuple[list[dict], list[dict]] | None = None
        self._fdb: tuple[float, list[dict]] | None = None

    @off_loop
    def dump(
        self, ipr, links_changed: bool = True, fdb_changed: bool = True, with_fdb: bool = True
    ) -> None:
        """The dumps alone: the tables as records (plain dicts), nothing built."""
        import time

        if links_changed or self._links is None:
            self._links = (
                _link_records(_dump(ipr, "get_links")),
                _addr_records(_dump(ipr, "get_addr")),
            )
        if with_fdb and (fdb_changed or self._fdb is None):
            self._fdb = (time.monotonic(), _dump_fdb(ipr))

    def export(self) -> dict:
        """The records and the decode-reuse maps, picklable: what another process
        dumped (:func:`dump_in_child`) is adopted here with :meth:`adopt`."""
        with _RECS_LOCK:
            return {
                "links": self._links,
                "fdb": self._fdb,
                "recs": dict(_RECS),
                "addrs": dict(_ADDRS),
            }

    def adopt(self, state: dict) -> None:
        self._links, self._fdb = state["links"], state["fdb"]
        with _RECS_LOCK:
            _RECS.update(state["recs"])
            _ADDRS.update(state["addrs"])

    @off_loop
    def read(
        self, ipr, links_changed: bool = True, fdb_changed: bool = True, with_fdb: bool = True
    ) -> tuple[list[Link], list[Bridge]]:
        import time

        self.dump(ipr, links_changed, fdb_changed, with_fdb)
        links = _build_links(*self._links)
        fdb = None
        if with_fdb:
            at, fdb = self._fdb
            cs = int((time.monotonic() - at) * 100)
            if cs > 0:
                fdb = [
                    {**r, "updated": r["updated"] + cs} if r["updated"] is not None else r
                    for r in fdb
                ]
        return links, _build_bridges(links, ipr=ipr, with_fdb=with_fdb, fdb_recs=fdb)


_LAST_LINKS: list = []  # in a reader process: the link records of its host dump


def dump_in_child(with_fdb: bool) -> dict:
    """In a reader process (:class:`inspectors.readerproc.ReaderProcess`): the host
    dumps of a cold build, as :meth:`KernelTables.export` records."""
    t = KernelTables()
    with HostReader() as r:
        t.dump(r, with_fdb=with_fdb)
    _LAST_LINKS[:] = [t._links[0]] if t._links else []
    return t.export()


def last_link_records() -> list[dict] | None:
    """In a reader process: the link records of the host dump it made (None: none yet)."""
    return _LAST_LINKS[0] if _LAST_LINKS else None


# --------------------------------------------------------------------------- brctl text

# the text views live in inspectors/brctl.py; these names stay here for callers
from .brctl import (  # noqa: E402
    BRCTL_SHOW_HEADER,
    BRCTL_SHOWMACS_HEADER,
    brctl_show,
    brctl_showmacs,
    format_brctl_show,
    format_brctl_showmacs,
)

# --------------------------------------------------------------------------- live updates


# live notifications live in inspectors/netevents.py; these names stay here for callers
from .netevents import EVENT_KINDS, LinkSubscription, event_kind, subscribe_links  # noqa: E402
