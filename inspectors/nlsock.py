"""rtnetlink requests over a plain blocking socket, encoded and decoded by
pyroute2's own message classes (:func:`inspectors.nlcodec.lean_policy`'s).

Hand-written only in the transport (send, receive, split on the netlink header):
pyroute2 0.9 runs an asyncio loop, a request object and a queue per call, ~1 ms
of CPU for the three small dumps of one container's namespace against ~0.05 ms
for the same bytes over a socket (bench/nsread). Its codecs do the rest.

Used where one process makes many small requests: the container namespace reads
(:mod:`inspectors.sandbox`, a socket opened inside each namespace) and the
namespace ids of many processes (:func:`inspectors.hostside.netnsids`). A whole
host table is one request whose cost is pyroute2's decoding, not its transport
(the host's link, address and FDB dumps over this socket: 170 -> 165 ms of CPU at
300 containers): those stay with :class:`inspectors.kernel.HostReader`.
Imports pyroute2 (import it where pyroute2 is wanted anyway); never Textual.
"""

from __future__ import annotations

import socket
import struct

from .nlcodec import whole_pyroute2

whole_pyroute2()  # before any part of it (nlcodec.py)
from pyroute2.netlink import (  # noqa: E402
    NETLINK_GET_STRICT_CHK,
    NETLINK_ROUTE,
    NLM_F_DUMP,
    NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    SOL_NETLINK,
)
from pyroute2.netlink.rtnl import (  # noqa: E402
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNSID,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNSID,
    RTM_NEWROUTE,
)

# what a dump asks for -> (request type, the reply type, one dump per family).
# Routes: one per family, as `ip route` and `ip -6 route` ask; the kernel answers
# a route dump for AF_UNSPEC with the IPv4 routes only (pyroute2's get_routes
# sends an invalid family, 255, to get both)
DUMPS = {
    "links": (RTM_GETLINK, RTM_NEWLINK, (socket.AF_UNSPEC,)),
    "addrs": (RTM_GETADDR, RTM_NEWADDR, (socket.AF_UNSPEC,)),
    "routes": (RTM_GETROUTE, RTM_NEWROUTE, (socket.AF_INET, socket.AF_INET6)),
}

_HDR = struct.Struct("IHHII")  # struct nlmsghdr
_TEMPLATES: dict[tuple[str, int], bytes] = {}
_CLASSES: dict[int, type] = {}
# GETNSID requests sent before their replies are read: the kernel answers each
# during the send, into this socket's receive buffer, and drops what does not fit
NSID_WINDOW = 64


def _classes() -> dict[int, type]:
    """Reply type -> pyroute2 message class (the lean, lazily decoded ones)."""
    if not _CLASSES:
        from pyroute2.netlink.rtnl.nsidmsg import nsidmsg
        from pyroute2.netlink.rtnl.rtmsg import rtmsg

        from .nlcodec import lean_policy

        _CLASSES.update(lean_policy())
        _CLASSES.setdefault(RTM_NEWROUTE, rtmsg)
        _CLASSES[RTM_NEWNSID] = nsidmsg
    return _CLASSES


def _template(what: str, family: int) -> bytes:
    """The dump request for ``what`` in ``family``, encoded once by pyroute2
    (sequence number 0)."""
    got = _TEMPLATES.get((what, family))
    if got is None:
        from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
        from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
        from pyroute2.netlink.rtnl.rtmsg import rtmsg

        cls = {"links": ifinfmsg, "addrs": ifaddrmsg, "routes": rtmsg}[what]
        m = cls()
        m["header"]["type"] = DUMPS[what][0]
        m["header"]["flags"] = NLM_F_REQUEST | NLM_F_DUMP
        m["family"] = family
        if what == "routes":  # the main table: with strict checking the kernel filters
            from .routes import RT_TABLE_MAIN  # the one route reader's constant

            m["table"] = RT_TABLE_MAIN
        m.encode()
        got = _TEMPLATES[(what, family)] = bytes(m.data)
    return got


class RtnlSocket:
    """One NETLINK_ROUTE socket of the namespace the calling thread is in when it
    is made (a netlink socket stays in the namespace it was created in)."""

    def __init__(self, timeout: float = 5.0):
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
        )
        try:
            self.sock.settimeout(timeout)
            self.sock.bind((0, 0))
        except OSError:
            self.sock.close()
            raise
        try:  # Linux 4.20+: dumps filtered in the kernel (a route dump by its table)
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        except OSError:  # older: every table comes back, and the callers filter
            pass
        self.seq = 0
        self.classes = _classes()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFFFFFFFF or 1
        return self.seq

    def _decode(self, data: bytes, off: int, mtype: int):
        cls = self.classes.get(mtype)
        if cls is None:
            return None
        m = cls(data, offset=off)
        m.decode()
        return m

    def dump(self, what: str) -> list:
        """``what`` ("links", "addrs", "routes": the main table's, or every table's on
        a kernel without strict checking) as pyroute2 messages; run again
        (twice at most) when the kernel flags it interrupted (NLM_F_DUMP_INTR)."""
        out: list = []
        for family in DUMPS[what][2]:
            for _ in range(3):
                msgs, intr = self._dump_once(what, family)
                if not intr:
                    break
            out += msgs
        return out

    def _dump_once(self, what: str, family: int) -> tuple[list, bool]:
        want = DUMPS[what][1]
        req = bytearray(_template(what, family))
        seq = self._next_seq()
        struct.pack_into("I", req, 8, seq)
        self.sock.send(req)
        out: list = []
        intr = False
        for data, off, length, mtype, flags, mseq in self._replies():
            if mseq != seq:
                continue
            if mtype == NLMSG_DONE:
                err = struct.unpack_from("i", data, off + 16)[0] if length >= 20 else 0
                if err < 0:
                    raise OSError(-err, f"netlink dump: {_strerror(-err)}")
                return out, intr
            if mtype == NLMSG_ERROR:
                err = struct.unpack_from("i", data, off + 16)[0]
                raise OSError(-err, f"netlink dump: {_strerror(-err)}")
            intr = intr or bool(flags & NLM_F_DUMP_INTR)
            if mtype == want:
                m = self._decode(data, off, mtype)
                if m is not None:
                    out.append(m)
        raise OSError("netlink: the dump never ended")  # pragma: no cover - _replies is endless

    def _replies(self):
        """Every message the socket receives, as (buffer, offset, length, type, flags,
        sequence number), one ``recv`` at a time; the caller stops when it has its
        answer (a receive that waits past the socket's timeout raises)."""
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, flags, mseq, _pid = _HDR.unpack_from(data, off)
                if length < 16:
                    raise OSError("netlink: malformed reply")
                yield data, off, length, mtype, flags, mseq
                off += (length + 3) & ~3

    def nsids(self, *, pids=(), fds=()) -> list[int | None]:
        """The id this socket's namespace gives each process's (``pids``) or
        namespace handle's (``fds``) network namespace (RTM_GETNSID), in order;
        None where there is none (not assigned, the process is gone)."""
        from pyroute2.netlink.rtnl.nsidmsg import nsidmsg

        keys = [("NETNSA_PID", p) for p in pids] + [("NETNSA_FD", f) for f in fds]
        out: list[int | None] = [None] * len(keys)
        for start in range(0, len(keys), NSID_WINDOW):
            by_seq: dict[int, int] = {}
            for i in range(start, min(start + NSID_WINDOW, len(keys))):
                m = nsidmsg()
                m["header"]["type"] = RTM_GETNSID
                m["header"]["flags"] = NLM_F_REQUEST
                m["header"]["sequence_number"] = seq = self._next_seq()
                m["attrs"] = [keys[i]]
                m.encode()
                self.sock.send(m.data)
                by_seq[seq] = i
            for data, off, _length, mtype, _flags, mseq in self._replies():
                i = by_seq.pop(mseq, None)
                if i is not None and mtype == RTM_NEWNSID:
                    nsid = self._decode(data, off, mtype).get_attr("NETNSA_NSID")
                    if nsid is not None and 0 <= nsid < 0xFFFFFFFF:  # -1: none
                        out[i] = nsid
                if not by_seq:
                    break
        return out


def _strerror(code: int) -> str:
    import os

    try:
        return os.strerror(code)
    except ValueError:
        return f"error {code}"
