"""Host-side kernel view: links, bridges, bridge FDB, brctl-compatible text.

Data sources (see docs/reference §2.3):

* one RTM_GETLINK dump + one RTM_GETADDR dump give every link, its
  addresses, its bridge (``IFLA_MASTER``), its veth peer (``IFLA_LINK`` +
  ``IFLA_LINK_NETNSID``), per-bridge STP/ageing/bridge-id
  (``IFLA_INFO_DATA``) and per-port STP state, cost, hairpin and port number
  (``IFLA_INFO_SLAVE_DATA``);
* ``/sys/class/net/<br>/brforward`` gives the FDB exactly as ``brctl
  showmacs`` reads it (16-byte ``struct __fdb_entry`` records); when sysfs
  cannot be read an ``AF_BRIDGE`` RTM_GETNEIGH dump stands in.

By default the netlink work goes through :class:`inspectors.netns.Rtnl` (stdlib
only, decodes just what is used). Every function also accepts a pyroute2
``IPRoute`` as ``ipr``; pyroute2 is then used for the dumps (imported by the
caller, never here at module level).

Never imports textual.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterable

from .model import Bridge, BridgePort, FdbEntry, Link, LinkStats
from . import netns as nl

SYSFS_NET = "/sys/class/net"

# a private attribute hung on Link objects by read_links(): the raw record,
# so read_bridges(links) needs no second dump. Not a dataclass field, so
# to_jsonable() and == ignore it.
_RAW = "_dockscope_raw"

__all__ = [
    "read_links",
    "read_bridges",
    "read_kernel",
    "read_fdb",
    "format_brctl_show",
    "format_brctl_showmacs",
    "brctl_show",
    "brctl_showmacs",
    "subscribe_links",
    "LinkSubscription",
    "links_by_index",
]


# --------------------------------------------------------------------------- pyroute2 adaptor


def _is_rtnl(ipr) -> bool:
    return ipr is None or isinstance(ipr, nl.Rtnl)


def _p2_get(msg, *path):
    try:
        return msg.get(path if len(path) > 1 else path[0])
    except Exception:  # pragma: no cover - odd pyroute2 versions
        return None


def _p2_link_record(msg) -> dict:
    """A pyroute2 RTM_NEWLINK message -> the same record Rtnl.links() makes."""
    g = lambda *p: _p2_get(msg, *p)  # noqa: E731
    stats = g("IFLA_STATS64") or g("IFLA_STATS")
    rec = {
        "index": msg["index"],
        "flags": msg["flags"],
        "name": g("IFLA_IFNAME") or f"if{msg['index']}",
        "mtu": g("IFLA_MTU"),
        "operstate": g("IFLA_OPERSTATE"),
        "carrier": None if g("IFLA_CARRIER") is None else bool(g("IFLA_CARRIER")),
        "mac": g("IFLA_ADDRESS"),
        "promiscuity": g("IFLA_PROMISCUITY") or 0,
        "master": g("IFLA_MASTER") or None,
        "link": g("IFLA_LINK"),
        "link_netnsid": g("IFLA_LINK_NETNSID"),
        "kind": g("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        "slave_kind": g("IFLA_LINKINFO", "IFLA_INFO_SLAVE_KIND"),
        "stats": None,
        "br": None,
        "brport": None,
    }
    if isinstance(rec["operstate"], int):
        rec["operstate"] = nl.OPERSTATES.get(rec["operstate"])
    if isinstance(stats, dict):
        rec["stats"] = tuple(
            int(stats.get(k, 0))
            for k in (
                "rx_packets",
                "tx_packets",
                "rx_bytes",
                "tx_bytes",
                "rx_errors",
                "tx_errors",
                "rx_dropped",
                "tx_dropped",
            )
        )
    if rec["kind"] == "bridge":
        rec["br"] = {
            "stp_state": g("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_BR_STP_STATE"),
            "ageing_time": g("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_BR_AGEING_TIME"),
            # pyroute2 decodes IFLA_BR_BRIDGE_ID prio in host byte order: use sysfs
            "bridge_id": None,
        }
    if rec["slave_kind"] == "bridge":
        sd = ("IFLA_LINKINFO", "IFLA_INFO_SLAVE_DATA")
        rec["brport"] = {
            "state": g(*sd, "IFLA_BRPORT_STATE"),
            "cost": g(*sd, "IFLA_BRPORT_COST"),
            "mode": g(*sd, "IFLA_BRPORT_MODE"),
            "no": g(*sd, "IFLA_BRPORT_NO"),
        }
    return rec


def _p2_addr_record(msg) -> dict:
    addr = _p2_get(msg, "IFA_LOCAL") or _p2_get(msg, "IFA_ADDRESS")
    return {
        "index": msg["index"],
        "family": msg["family"],
        "address": f"{addr}/{msg['prefixlen']}" if addr else None,
        "scope": msg.get("scope"),
        "label": _p2_get(msg, "IFA_LABEL"),
    }


def _p2_fdb_record(msg) -> dict:
    ci = _p2_get(msg, "NDA_CACHEINFO")
    return {
        "family": msg["family"],
        "ifindex": msg["ifindex"],
        "state": msg["state"],
        "flags": msg["flags"],
        "mac": _p2_get(msg, "NDA_LLADDR"),
        "master": _p2_get(msg, "NDA_MASTER"),
        "vlan": _p2_get(msg, "NDA_VLAN"),
        "updated": ci.get("ndm_updated") if isinstance(ci, dict) else None,
    }


def _dump_links(ipr) -> list[dict]:
    if _is_rtnl(ipr):
        if ipr is None:
            with nl.Rtnl() as r:
                return r.links()
        return ipr.links()
    return [_p2_link_record(m) for m in list(ipr.get_links())]


def _dump_addrs(ipr) -> list[dict]:
    if _is_rtnl(ipr):
        if ipr is None:
            with nl.Rtnl() as r:
                return r.addrs()
        return ipr.addrs()
    return [_p2_addr_record(m) for m in list(ipr.get_addr())]


def _dump_fdb(ipr) -> list[dict]:
    if _is_rtnl(ipr):
        if ipr is None:
            with nl.Rtnl() as r:
                return r.fdb()
        return ipr.fdb()
    return [_p2_fdb_record(m) for m in list(ipr.fdb("dump"))]


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
            admin_up=bool(r["flags"] & nl.IFF_UP),
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
    return out


def read_links(ipr=None) -> list[Link]:
    """Every link of the host netns (the caller's netns), in ifindex order.

    One link dump and one address dump. ``ipr``: an :class:`inspectors.netns.Rtnl`
    or a pyroute2 ``IPRoute``; default: a private Rtnl socket.
    """
    if ipr is None:
        with nl.Rtnl() as r:
            return _build_links(r.links(), r.addrs())
    return _build_links(_dump_links(ipr), _dump_addrs(ipr))


def read_link(index: int, ipr=None) -> Link | None:
    """One host link by ifindex (RTM_GETLINK request, no dump); None if gone.

    For targeted updates after an event: a started container's new veth.
    ``ipr``: an :class:`inspectors.netns.Rtnl` (default: a private one).
    """
    body = nl._IFINFOMSG.pack(nl.AF_UNSPEC, 0, index, 0, 0)

    def ask(r):
        try:
            msgs = r.request(nl.RTM_GETLINK, body)
        except nl.NetlinkError:
            return None
        return [nl.decode_link(p) for t, p in msgs if t == nl.RTM_NEWLINK]

    if ipr is None:
        with nl.Rtnl() as r:
            recs = ask(r)
    else:
        recs = ask(ipr)
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

_FDB_REC = struct.Struct("=6sBBIBBH")  # struct __fdb_entry, 16 bytes


def _read_brforward(bridge: str) -> list[tuple[bytes, int, bool, int]] | None:
    """(mac, port_no, is_local, ageing centiseconds) in kernel order, or None."""
    try:
        fd = os.open(f"{SYSFS_NET}/{bridge}/brforward", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    chunks = []
    try:
        while True:
            # offsets must stay multiples of 16: read whole pages
            b = os.read(fd, 4096 * 4)
            if not b:
                break
            chunks.append(b)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    out = []
    for off in range(0, len(data) - len(data) % 16, 16):
        mac, port_lo, is_local, timer, port_hi, _pad, _unused = _FDB_REC.unpack_from(data, off)
        out.append((mac, port_lo | (port_hi << 8), bool(is_local), timer))
    return out


def _fdb_from_netlink(bridge: Bridge, fdb_recs: list[dict]) -> list[FdbEntry]:
    """The bridge's FDB from an AF_BRIDGE neighbour dump (fallback for sysfs)."""
    by_idx = {p.ifindex: p for p in bridge.ports}
    out = []
    for f in fdb_recs:
        if f["master"] != bridge.ifindex or f["ifindex"] == bridge.ifindex or not f["mac"]:
            # NTF_SELF entries have no master; the bridge device's own entry has
            # no port: brforward lists neither
            continue
        static = bool(f["state"] & (nl.NUD_PERMANENT | nl.NUD_NOARP))
        cs = 0 if static or f["updated"] is None else int(f["updated"])
        p = by_idx.get(f["ifindex"])
        out.append(
            FdbEntry(
                port=p.name if p else f"if{f['ifindex']}",
                port_no=p.port_no if p else None,
                mac=f["mac"].lower(),
                is_local=bool(f["state"] & nl.NUD_PERMANENT),
                ageing_timer=cs / 100.0,
                vlan=f["vlan"],
            )
        )
    return out


def _fdb_for(bridge: Bridge, fdb_recs: Callable[[], list[dict]]) -> list[FdbEntry]:
    rows = _read_brforward(bridge.name)
    if rows is None:
        entries = _fdb_from_netlink(bridge, fdb_recs())
    else:
        by_no = {p.port_no: p.name for p in bridge.ports if p.port_no is not None}
        entries = [
            FdbEntry(
                port=by_no.get(no, "?"),
                port_no=no,
                mac=_mac(mac),
                is_local=loc,
                ageing_timer=cs / 100.0,
            )
            for mac, no, loc, cs in rows
        ]
    # brctl: qsort by memcmp(mac); glibc's qsort is a merge sort here, so stable
    entries.sort(key=lambda e: e.mac)
    return entries


def read_fdb(bridge: Bridge, ipr=None) -> list[FdbEntry]:
    """The FDB of one bridge as ``brctl showmacs`` lists it (sorted by MAC).

    Source: ``/sys/class/net/<br>/brforward`` (what brctl reads); when that
    cannot be read, an AF_BRIDGE neighbour dump (then ``vlan`` is filled too).
    """
    return _fdb_for(bridge, lambda: _dump_fdb(ipr))


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


# --------------------------------------------------------------------------- bridges


def _sysfs(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _build_bridges(links: list[Link], ipr=None, with_fdb: bool = True) -> list[Bridge]:
    raws = {lk.index: getattr(lk, _RAW, None) for lk in links}
    bridges: list[Bridge] = []
    ports_of: dict[int, list[BridgePort]] = {}
    cache: list[list[dict]] = []

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
                state=nl.BRPORT_STATES.get(state, str(state)) if state is not None else None,
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


def read_bridges(links: list[Link] | None = None, ipr=None, with_fdb: bool = True) -> list[Bridge]:
    """Every bridge with its ports, STP data and FDB (brctl show / showmacs).

    Pass the ``links`` from :func:`read_links` to reuse its dump (no further
    netlink traffic: only one ``brforward`` read per bridge).
    """
    if links is None or (links and not any(hasattr(lk, _RAW) for lk in links)):
        links = read_links(ipr)
    return _build_bridges(links, ipr=ipr, with_fdb=with_fdb)


def read_kernel(ipr=None, with_fdb: bool = True) -> tuple[list[Link], list[Bridge]]:
    """(links, bridges) from one link dump and one address dump."""
    links = read_links(ipr)
    return links, _build_bridges(links, ipr=ipr, with_fdb=with_fdb)


# --------------------------------------------------------------------------- brctl text

BRCTL_SHOW_HEADER = "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n"
BRCTL_SHOWMACS_HEADER = "port no\tmac addr\t\tis local?\tageing timer\n"
_CONT = "\n\t\t\t\t\t\t\t"


def _port_label(port: str, containers: dict[str, str] | None) -> str:
    if containers and port in containers and containers[port]:
        return f"{port}\t{containers[port]}"
    return port


def _show_line(b: Bridge, containers: dict[str, str] | None) -> str:
    ifaces = _CONT.join(_port_label(p, containers) for p in b.interfaces)
    return f"{b.name}\t\t{b.bridge_id}\t{'yes' if b.stp_enabled else 'no'}\t\t{ifaces}\n"


def _device_exists(name: str, links: list[Link] | None) -> bool:
    if links is not None:
        return any(lk.name == name for lk in links)
    return os.path.exists(f"{SYSFS_NET}/{name}")


def brctl_show(
    bridges: list[Bridge],
    containers: dict[str, str] | None = None,
    names: list[str] | None = None,
    links: list[Link] | None = None,
) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of ``brctl show [NAME...]`` (bridge-utils 1.7).

    Without names: the header then every bridge in byte order. With names:
    the header is printed before the first bridge found; a missing name gives
    "bridge X does not exist!", a non-bridge device "device X is not a
    bridge!" (on stderr, exit code 1; ``links`` or sysfs tell which).
    ``containers`` maps a port name to a label ("web (mynet)") appended after
    the port, tab-separated.
    """
    if names is None:
        out = BRCTL_SHOW_HEADER + "".join(
            _show_line(b, containers) for b in sorted(bridges, key=lambda b: b.name.encode())
        )
        return out, "", 0
    by_name = {b.name: b for b in bridges}
    out, err, rc, header = [], [], 0, False
    for n in names:
        b = by_name.get(n)
        if b is None:
            rc = 1
            if _device_exists(n, links):
                err.append(f"device {n} is not a bridge!\n")
            else:
                err.append(f"bridge {n} does not exist!\n")
            continue
        if not header:
            out.append(BRCTL_SHOW_HEADER)
            header = True
        out.append(_show_line(b, containers))
    return "".join(out), "".join(err), rc


def format_brctl_show(
    bridges: list[Bridge] | Bridge,
    containers: dict[str, str] | None = None,
    names: list[str] | str | None = None,
) -> str:
    """What ``brctl show`` (or ``brctl show NAME...``) prints on stdout.

    ``bridges`` may be a single Bridge (== ``brctl show BR``). For the error
    text and exit code of missing names use :func:`brctl_show`.
    """
    if isinstance(containers, (str, list, tuple)):  # names passed positionally
        containers, names = None, containers
    if isinstance(bridges, Bridge):
        bridges = [bridges]
        if names is None:
            names = [bridges[0].name]
    if isinstance(names, str):
        names = [names]
    return brctl_show(bridges, containers, names=names)[0]


def _timer(seconds: float) -> str:
    cs = int(round(seconds * 100))
    return "%4i.%.2i" % (cs // 100, cs % 100)


def format_brctl_showmacs(bridge: Bridge, containers: dict[str, str] | None = None) -> str:
    """What ``brctl showmacs BR`` prints: rows sorted by MAC, the port number
    printed as brctl does (its low byte: brctl ignores ``port_hi``)."""
    lines = [BRCTL_SHOWMACS_HEADER]
    for e in bridge.fdb:
        no = (e.port_no or 0) & 0xFF
        line = f"{no:3d}\t{e.mac}\t{'yes' if e.is_local else 'no'}\t\t{_timer(e.ageing_timer)}"
        if containers and containers.get(e.port):
            line += f"\t{containers[e.port]}"
        lines.append(line + "\n")
    return "".join(lines)


def brctl_showmacs(
    bridges: list[Bridge],
    name: str,
    containers: dict[str, str] | None = None,
    links: list[Link] | None = None,
) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of ``brctl showmacs NAME``."""
    for b in bridges:
        if b.name == name:
            return format_brctl_showmacs(b, containers), "", 0
    why = "Operation not supported" if _device_exists(name, links) else "No such device"
    return "", f"read of forward table failed: {why}\n", 1


# --------------------------------------------------------------------------- live updates


class LinkSubscription:
    """Netlink multicast listener for link (and address) changes.

    ``callback(event, ifname, index)`` is called from the thread running
    :meth:`run` with event one of ``RTM_NEWLINK``, ``RTM_DELLINK``,
    ``RTM_NEWADDR``, ``RTM_DELADDR`` (only with ``addresses=True``) or
    ``RESYNC`` (the kernel dropped events because we were slow: re-read
    everything; ifname None, index 0). ``stop()`` may be called from any
    thread and wakes the loop at once.
    """

    def __init__(self, callback: Callable[[str, str | None, int], None], addresses: bool = True):
        self.callback = callback
        groups = nl.RTMGRP_LINK
        if addresses:
            groups |= nl.RTMGRP_IPV4_IFADDR | nl.RTMGRP_IPV6_IFADDR
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, nl.NETLINK_ROUTE
        )
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            pass
        self.sock.bind((0, groups))
        self.sock.setblocking(False)
        self._rfd, self._wfd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._stopped = threading.Event()
        self._closed = False
        self._lock = threading.Lock()  # stop() vs close(): never write to a reused fd

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._wfd, b"x")
            except OSError:
                pass

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def close(self) -> None:
        """Release the socket and pipe. run() does it on exit; call it yourself
        only for a subscription that never ran."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.sock.close()
            for fd in (self._rfd, self._wfd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _dispatch(self, data: bytes) -> None:
        off, n = 0, len(data)
        hdr = struct.Struct("=IHHII")
        while off + 16 <= n:
            mlen, mtype, _fl, _seq, _pid = hdr.unpack_from(data, off)
            if mlen < 16 or off + mlen > n:
                break
            payload = memoryview(data)[off + 16 : off + mlen]
            off += (mlen + 3) & ~3
            if mtype in (nl.RTM_NEWLINK, nl.RTM_DELLINK):
                rec = nl.decode_link(payload)
                ev = "RTM_NEWLINK" if mtype == nl.RTM_NEWLINK else "RTM_DELLINK"
                self.callback(ev, rec["name"], rec["index"])
            elif mtype in (nl.RTM_NEWADDR, nl.RTM_DELADDR):
                rec = nl.decode_addr(payload)
                ev = "RTM_NEWADDR" if mtype == nl.RTM_NEWADDR else "RTM_DELADDR"
                name = rec["label"]
                if not name:
                    try:
                        name = socket.if_indextoname(rec["index"])
                    except OSError:
                        name = None
                self.callback(ev, name, rec["index"])

    def run(self, stop_event: threading.Event | None = None, poll_interval: float = 0.2) -> None:
        """Block, dispatching events, until stop() or ``stop_event`` is set."""
        try:
            while not self._stopped.is_set() and not (stop_event and stop_event.is_set()):
                try:
                    r, _, _ = select.select([self.sock, self._rfd], [], [], poll_interval)
                except (OSError, ValueError):
                    break
                if self._rfd in r:
                    break
                if self.sock not in r:
                    continue
                while True:
                    try:
                        data = self.sock.recv(nl.RECV_BUF)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        if e.errno == 105:  # ENOBUFS: events were dropped
                            self.callback("RESYNC", None, 0)
                            continue
                        raise
                    self._dispatch(data)
                    if self._stopped.is_set():
                        break
        finally:
            self.close()


def subscribe_links(
    callback: Callable[[str, str | None, int], None],
    stop_event: threading.Event,
    addresses: bool = True,
    poll_interval: float = 0.2,
) -> None:
    """Blocking loop for a thread worker: calls ``callback(event, ifname, index)``
    on RTM_NEWLINK/RTM_DELLINK (and address changes) until ``stop_event`` is
    set; it notices within ``poll_interval`` seconds. For an immediate stop
    use :class:`LinkSubscription` and its ``stop()``."""
    LinkSubscription(callback, addresses=addresses).run(stop_event, poll_interval)
