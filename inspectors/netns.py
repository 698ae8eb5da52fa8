"""A small rtnetlink client and a per-thread network-namespace switch.

Why not pyroute2 here: importing it costs ~0.15 s, its 0.9 line decodes every
attribute of every message (a few ms per netns) and ``IPRoute(netns=...)``
forks a child per namespace. Reading 300 container sandboxes needs none of
that: open ``/proc/<pid>/ns/net``, ``setns()`` *this thread* into it, create
an ``AF_NETLINK`` socket (a netlink socket stays bound to the netns it was
created in), ``setns()`` back, then run three dumps on that socket and decode
only the attributes we use.

Everything here is stdlib only. The decoders return plain dicts ("records")
that :mod:`inspectors.kernel` and :mod:`inspectors.sandbox` turn into the
dataclasses of :mod:`inspectors.model`.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading

# --------------------------------------------------------------------------- constants

NETLINK_ROUTE = 0
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30
RTM_NEWNSID, RTM_GETNSID = 88, 90

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100

AF_UNSPEC = 0
AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_BRIDGE = 7

IFF_UP = 0x1

# IFLA_*
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK = 1, 3, 4, 5
IFLA_STATS, IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO = 7, 10, 16, 18
IFLA_STATS64, IFLA_EXT_MASK, IFLA_PROMISCUITY, IFLA_CARRIER = 23, 29, 30, 33
IFLA_LINK_NETNSID = 37
# IFLA_INFO_*
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
# IFLA_BR_* (bridge IFLA_INFO_DATA)
IFLA_BR_AGEING_TIME, IFLA_BR_STP_STATE, IFLA_BR_BRIDGE_ID = 4, 5, 11
# IFLA_BRPORT_* (port IFLA_INFO_SLAVE_DATA)
IFLA_BRPORT_STATE, IFLA_BRPORT_COST, IFLA_BRPORT_MODE, IFLA_BRPORT_NO = 1, 3, 4, 18
# IFA_*
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
# RTA_*
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 4, 5, 6, 7
RTA_MULTIPATH, RTA_TABLE, RTA_VIA = 9, 15, 18
# NDA_*
NDA_LLADDR, NDA_CACHEINFO, NDA_VLAN, NDA_MASTER = 2, 3, 5, 9
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80
NTF_SELF = 0x2
# NETNSA_*
NETNSA_NSID, NETNSA_PID, NETNSA_FD = 1, 2, 3

RT_TABLE_MAIN = 254
CLONE_NEWNET = 0x40000000

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

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_NLA = struct.Struct("=HH")  # len, type
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family dst_len src_len tos table proto scope type flags
_NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
_RTNEXTHOP = struct.Struct("=HBBi")  # len, flags, hops, ifindex
_STATS64 = struct.Struct("=8Q")  # rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped
_STATS32 = struct.Struct("=8I")
_U32 = struct.Struct("=I")
_S32 = struct.Struct("=i")
_U16 = struct.Struct("=H")

RECV_BUF = 256 * 1024  # a dump skb is at most ~32 KiB unless one message is larger


class NetlinkError(OSError):
    """An NLMSG_ERROR answer (errno set)."""


class NetnsError(OSError):
    """The namespace could not be entered (errno set, message says why)."""


# --------------------------------------------------------------------------- attributes


def _align(n: int) -> int:
    return (n + 3) & ~3


def parse_attrs(buf, start: int, end: int | None = None) -> dict[int, memoryview]:
    """Type -> payload (memoryview) of the netlink attributes in buf[start:end].

    NLA_F_NESTED / NLA_F_NET_BYTEORDER are masked off; a repeated type keeps
    the last one (not needed for what we read).
    """
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if end is None:
        end = len(mv)
    out: dict[int, memoryview] = {}
    unpack = _NLA.unpack_from
    off = start
    last = end - 4
    while off <= last:
        alen, atype = unpack(mv, off)
        nxt = off + alen
        if alen < 4 or nxt > end:
            break
        out[atype & 0x3FFF] = mv[off + 4 : nxt]
        off = (nxt + 3) & ~3
    return out


def _str(v) -> str:
    b = bytes(v)
    i = b.find(b"\0")
    return (b if i < 0 else b[:i]).decode("utf-8", "replace")


def _u8(v) -> int:
    return v[0]


def _u16(v) -> int:
    return _U16.unpack_from(v)[0]


def _u32(v) -> int:
    return _U32.unpack_from(v)[0]


def _s32(v) -> int:
    return _S32.unpack_from(v)[0]


def format_mac(v) -> str:
    return ":".join(f"{b:02x}" for b in bytes(v))


def format_ip(family: int, v) -> str:
    return socket.inet_ntop(family, bytes(v))


def nla(atype: int, payload: bytes) -> bytes:
    """Encode one attribute, padded."""
    n = 4 + len(payload)
    return _NLA.pack(n, atype) + payload + b"\0" * (_align(n) - n)


# --------------------------------------------------------------------------- decoders


def decode_link(payload) -> dict:
    """RTM_NEWLINK payload (after nlmsghdr) -> record dict."""
    _fam, _type, index, flags, _chg = _IFINFOMSG.unpack_from(payload, 0)
    a = parse_attrs(payload, _IFINFOMSG.size)
    rec = {
        "index": index,
        "flags": flags,
        "name": _str(a[IFLA_IFNAME]) if IFLA_IFNAME in a else f"if{index}",
        "mtu": _u32(a[IFLA_MTU]) if IFLA_MTU in a else None,
        "operstate": OPERSTATES.get(_u8(a[IFLA_OPERSTATE])) if IFLA_OPERSTATE in a else None,
        "carrier": bool(_u8(a[IFLA_CARRIER])) if IFLA_CARRIER in a else None,
        "mac": format_mac(a[IFLA_ADDRESS]) if IFLA_ADDRESS in a else None,
        "promiscuity": _u32(a[IFLA_PROMISCUITY]) if IFLA_PROMISCUITY in a else 0,
        "master": _u32(a[IFLA_MASTER]) if IFLA_MASTER in a else None,
        "link": _s32(a[IFLA_LINK]) if IFLA_LINK in a else None,
        "link_netnsid": _s32(a[IFLA_LINK_NETNSID]) if IFLA_LINK_NETNSID in a else None,
        "kind": None,
        "slave_kind": None,
        "stats": None,
        "br": None,
        "brport": None,
    }
    if rec["master"] == 0:
        rec["master"] = None
    if IFLA_STATS64 in a and len(a[IFLA_STATS64]) >= _STATS64.size:
        rec["stats"] = _STATS64.unpack_from(a[IFLA_STATS64])
    elif IFLA_STATS in a and len(a[IFLA_STATS]) >= _STATS32.size:
        rec["stats"] = _STATS32.unpack_from(a[IFLA_STATS])
    li = a.get(IFLA_LINKINFO)
    if li is not None:
        info = parse_attrs(li, 0)
        if IFLA_INFO_KIND in info:
            rec["kind"] = _str(info[IFLA_INFO_KIND]) or None
        if IFLA_INFO_SLAVE_KIND in info:
            rec["slave_kind"] = _str(info[IFLA_INFO_SLAVE_KIND]) or None
        if rec["kind"] == "bridge" and IFLA_INFO_DATA in info:
            d = parse_attrs(info[IFLA_INFO_DATA], 0)
            bid = d.get(IFLA_BR_BRIDGE_ID)
            rec["br"] = {
                "stp_state": _u32(d[IFLA_BR_STP_STATE]) if IFLA_BR_STP_STATE in d else None,
                "ageing_time": _u32(d[IFLA_BR_AGEING_TIME]) if IFLA_BR_AGEING_TIME in d else None,
                # struct ifla_bridge_id {u8 prio[2]; u8 addr[6]} == brctl's text
                "bridge_id": (bytes(bid[:2]).hex() + "." + bytes(bid[2:8]).hex())
                if bid is not None and len(bid) >= 8
                else None,
            }
        if rec["slave_kind"] == "bridge" and IFLA_INFO_SLAVE_DATA in info:
            d = parse_attrs(info[IFLA_INFO_SLAVE_DATA], 0)
            rec["brport"] = {
                "state": _u8(d[IFLA_BRPORT_STATE]) if IFLA_BRPORT_STATE in d else None,
                "cost": _u32(d[IFLA_BRPORT_COST]) if IFLA_BRPORT_COST in d else None,
                "mode": _u8(d[IFLA_BRPORT_MODE]) if IFLA_BRPORT_MODE in d else None,
                "no": _u16(d[IFLA_BRPORT_NO]) if IFLA_BRPORT_NO in d else None,
            }
    return rec


def decode_addr(payload) -> dict:
    family, prefixlen, _flags, scope, index = _IFADDRMSG.unpack_from(payload, 0)
    a = parse_attrs(payload, _IFADDRMSG.size)
    raw = a.get(IFA_LOCAL) or a.get(IFA_ADDRESS)
    addr = None
    if raw is not None and family in (AF_INET, AF_INET6):
        addr = f"{format_ip(family, raw)}/{prefixlen}"
    return {
        "index": index,
        "family": family,
        "address": addr,
        "scope": scope,
        "label": _str(a[IFA_LABEL]) if IFA_LABEL in a else None,
    }


def decode_route(payload) -> dict:
    (family, dst_len, _src_len, _tos, table, _proto, scope, rtype, _flags) = _RTMSG.unpack_from(
        payload, 0
    )
    a = parse_attrs(payload, _RTMSG.size)
    if RTA_TABLE in a:
        table = _u32(a[RTA_TABLE])
    rec = {
        "family": family,
        "table": table,
        "type": rtype,
        "scope": scope,
        "dst": None,
        "gateway": None,
        "oif": None,
        "prefsrc": None,
        "priority": None,
    }
    if family not in (AF_INET, AF_INET6):
        return rec
    if RTA_DST in a:
        rec["dst"] = f"{format_ip(family, a[RTA_DST])}/{dst_len}"
    elif dst_len == 0:
        rec["dst"] = "default"
    else:  # cannot happen, but keep it readable
        rec["dst"] = f"{'0.0.0.0' if family == AF_INET else '::'}/{dst_len}"
    if RTA_GATEWAY in a:
        rec["gateway"] = format_ip(family, a[RTA_GATEWAY])
    elif RTA_VIA in a and len(a[RTA_VIA]) >= 2:
        vfam = _u16(a[RTA_VIA])
        rec["gateway"] = format_ip(vfam, a[RTA_VIA][2:])
    if RTA_OIF in a:
        rec["oif"] = _u32(a[RTA_OIF])
    if RTA_PREFSRC in a:
        rec["prefsrc"] = format_ip(family, a[RTA_PREFSRC])
    if RTA_PRIORITY in a:
        rec["priority"] = _u32(a[RTA_PRIORITY])
    if RTA_MULTIPATH in a and rec["oif"] is None:
        mp = a[RTA_MULTIPATH]
        if len(mp) >= _RTNEXTHOP.size:  # first nexthop stands for the route
            nhlen, _f, _h, ifindex = _RTNEXTHOP.unpack_from(mp, 0)
            rec["oif"] = ifindex
            nh = parse_attrs(mp, _RTNEXTHOP.size, min(nhlen, len(mp)))
            if RTA_GATEWAY in nh and rec["gateway"] is None:
                rec["gateway"] = format_ip(family, nh[RTA_GATEWAY])
    return rec


def decode_neigh(payload) -> dict:
    family, ifindex, state, flags, _type = _NDMSG.unpack_from(payload, 0)
    a = parse_attrs(payload, _NDMSG.size)
    updated = None
    if NDA_CACHEINFO in a and len(a[NDA_CACHEINFO]) >= 16:
        # struct nda_cacheinfo {u32 confirmed, used, updated, refcnt} (clock_t, 1/100 s)
        updated = struct.unpack_from("=4I", a[NDA_CACHEINFO])[2]
    return {
        "family": family,
        "ifindex": ifindex,
        "state": state,
        "flags": flags,
        "mac": format_mac(a[NDA_LLADDR]) if NDA_LLADDR in a else None,
        "master": _u32(a[NDA_MASTER]) if NDA_MASTER in a else None,
        "vlan": _u16(a[NDA_VLAN]) if NDA_VLAN in a else None,
        "updated": updated,
    }


# --------------------------------------------------------------------------- socket


class Rtnl:
    """A blocking NETLINK_ROUTE socket doing request/dump round trips.

    Not thread-safe: one Rtnl per thread, or hold ``lock`` around calls.
    The socket answers for the netns it was *created* in.
    """

    def __init__(self, sock: socket.socket | None = None, timeout: float | None = 10.0):
        if sock is None:
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
            )
        self.sock = sock
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            pass
        if timeout is not None:
            sock.settimeout(timeout)
        sock.bind((0, 0))
        self.port = sock.getsockname()[0]
        self.seq = 0
        self.lock = threading.Lock()
        self._buf = bytearray(RECV_BUF)

    # context manager ------------------------------------------------------
    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def fileno(self) -> int:
        return self.sock.fileno()

    # round trips ----------------------------------------------------------
    def _send(self, msgtype: int, flags: int, body: bytes) -> int:
        self.seq = (self.seq + 1) & 0xFFFFFFFF or 1
        hdr = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), msgtype, flags, self.seq, 0)
        self.sock.send(hdr + body)
        return self.seq

    def _collect(self, seq: int, want_done: bool) -> tuple[list[tuple[int, memoryview]], bool]:
        """Messages answering ``seq`` until NLMSG_DONE (dump) or the first answer."""
        out: list[tuple[int, memoryview]] = []
        interrupted = False
        buf = self._buf
        while True:
            n = self.sock.recv_into(buf, len(buf))
            data = memoryview(bytes(buf[:n]))
            off = 0
            while off + _NLMSGHDR.size <= n:
                mlen, mtype, mflags, mseq, _mpid = _NLMSGHDR.unpack_from(data, off)
                if mlen < _NLMSGHDR.size or off + mlen > n:
                    break
                payload = data[off + _NLMSGHDR.size : off + mlen]
                off += _align(mlen)
                if mseq != seq:
                    continue  # stale answer to an earlier, abandoned request
                if mflags & NLM_F_DUMP_INTR:
                    interrupted = True
                if mtype == NLMSG_DONE:
                    return out, interrupted
                if mtype == NLMSG_ERROR:
                    err = -_s32(payload)
                    if err == 0:  # ACK
                        if not want_done:
                            return out, interrupted
                        continue
                    raise NetlinkError(err, os.strerror(err))
                out.append((mtype, payload))
                if not want_done and not (mflags & NLM_F_MULTI):
                    return out, interrupted

    def dump(self, msgtype: int, body: bytes, retries: int = 2) -> list[tuple[int, memoryview]]:
        """One NLM_F_DUMP request; retried when the kernel flags it interrupted."""
        for attempt in range(retries + 1):
            seq = self._send(msgtype, NLM_F_REQUEST | NLM_F_DUMP, body)
            msgs, interrupted = self._collect(seq, True)
            if not interrupted or attempt == retries:
                return msgs
        return msgs  # pragma: no cover

    def request(self, msgtype: int, body: bytes) -> list[tuple[int, memoryview]]:
        seq = self._send(msgtype, NLM_F_REQUEST, body)
        return self._collect(seq, False)[0]

    # typed dumps ----------------------------------------------------------
    def links(self) -> list[dict]:
        body = _IFINFOMSG.pack(AF_UNSPEC, 0, 0, 0, 0)
        return [decode_link(p) for t, p in self.dump(RTM_GETLINK, body) if t == RTM_NEWLINK]

    def addrs(self, family: int = AF_UNSPEC) -> list[dict]:
        body = _IFADDRMSG.pack(family, 0, 0, 0, 0)
        return [decode_addr(p) for t, p in self.dump(RTM_GETADDR, body) if t == RTM_NEWADDR]

    def routes(self, family: int = AF_UNSPEC, table: int | None = None) -> list[dict]:
        """Route dump; ``table`` filters (main: 254) before decoding."""
        body = _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        out = []
        for t, p in self.dump(RTM_GETROUTE, body):
            if t != RTM_NEWROUTE or len(p) < _RTMSG.size:
                continue
            # rtm_table holds ids < 256; 252 (RT_TABLE_COMPAT) means "see RTA_TABLE"
            if p[0] not in (AF_INET, AF_INET6):
                continue
            if table is not None and p[4] != table and p[4] != 252:
                continue
            r = decode_route(p)
            if table is None or r["table"] == table:
                out.append(r)
        return out

    def fdb(self) -> list[dict]:
        body = _NDMSG.pack(AF_BRIDGE, 0, 0, 0, 0)
        return [decode_neigh(p) for t, p in self.dump(RTM_GETNEIGH, body) if t == RTM_NEWNEIGH]

    def get_netnsid(self, fd: int | None = None, pid: int | None = None) -> int | None:
        """The id this socket's netns has assigned to another netns, or None.

        Never allocates one (RTM_GETNSID is read-only); ids get allocated when
        a link dump reports a peer living in that netns.
        """
        if fd is not None:
            attr = nla(NETNSA_FD, _U32.pack(fd))
        elif pid is not None:
            attr = nla(NETNSA_PID, _U32.pack(pid))
        else:
            raise TypeError("fd or pid required")
        body = b"\0\0\0\0" + attr  # struct rtgenmsg, padded to 4
        for t, p in self.request(RTM_GETNSID, body):
            if t == RTM_NEWNSID:
                a = parse_attrs(p, 4)
                if NETNSA_NSID in a:
                    v = _s32(a[NETNSA_NSID])
                    return v if v >= 0 else None
        return None


# --------------------------------------------------------------------------- setns


_libc = None


def _setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    fn = getattr(os, "setns", None)  # Python >= 3.12
    if fn is not None:
        fn(fd, nstype)
        return
    global _libc
    if _libc is None:
        import ctypes

        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, nstype) != 0:
        import ctypes

        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def thread_netns_path() -> str:
    if os.path.exists("/proc/thread-self"):
        return "/proc/thread-self/ns/net"
    return f"/proc/self/task/{threading.get_native_id()}/ns/net"


def open_netns(path: str) -> int:
    """O_RDONLY fd for a netns handle. Never creates anything."""
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def netlink_socket_in(nsfd: int, home_fd: int | None = None) -> socket.socket:
    """A NETLINK_ROUTE socket living in the netns ``nsfd``.

    Only the calling thread switches namespaces, for the duration of one
    socket() call. ``home_fd`` is the netns to return to (default: the
    thread's current one). Raises :class:`NetnsError` with a readable message.
    """
    own_home = home_fd is None
    if own_home:
        home_fd = open_netns(thread_netns_path())
    try:
        try:
            _setns(nsfd)
        except OSError as e:
            if e.errno == errno.EPERM:
                raise NetnsError(e.errno, "needs root to enter network namespaces") from None
            if e.errno == errno.EINVAL:
                raise NetnsError(
                    e.errno,
                    "not a network namespace handle (a netns file "
                    "bind-mounted in another mount namespace?)",
                ) from None
            raise NetnsError(e.errno, f"setns failed: {e.strerror}") from None
        sock = err = None
        try:
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
            )
        except OSError as e:
            err = e
        try:
            _setns(home_fd)
        except OSError as e:  # pragma: no cover - would need a vanished home netns
            if sock is not None:
                sock.close()
            raise NetnsError(
                e.errno, f"could not return to the original netns: {e.strerror}"
            ) from None
        if err is not None:
            raise err
        return sock
    finally:
        if own_home:
            os.close(home_fd)
