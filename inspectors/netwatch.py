"""What changed in the kernel since the last look, for a warm rebuild to re-read
only that: netlink sockets in the host netns subscribed to link, address, route
and neighbour notifications of the host, and to link, address and route
notifications of every network namespace the host has an id for
(``NETLINK_LISTEN_ALL_NSID``: the kernel names each message's source namespace
by its nsid, the id a host veth's ``IFLA_LINK_NETNSID`` shows).

:meth:`KernelWatch.poll` drains what arrived and says: the host's links or
addresses changed, its bridge FDB changed, which container namespaces (by nsid)
changed; lost notifications make the host tables count as changed and end the
cover of earlier namespace reads (``lost_at``).
Nothing is ever written to the kernel. The messages are decoded by pyroute2's
own marshal (header fields only: link and address bodies stay undecoded).

Hand-written part: the receive call. pyroute2's transport reads with
``recvfrom`` and drops the control message that carries the source nsid; this
reads with ``recvmsg`` to keep it (no library exposes it).

Never imports textual; pyroute2 is imported when a watch starts.
"""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

AF_BRIDGE = 7
_RCVBUF = 4 << 20


@dataclass
class Changes:
    """What :meth:`KernelWatch.poll` saw since the previous poll."""

    links: bool = False  # host links or addresses
    fdb: bool = False  # host bridge FDB (AF_BRIDGE neighbours) or bridge ports
    nsids: set[int] = field(default_factory=set)  # container namespaces (host nsids)
    everything: bool = False  # host notifications lost (or the first poll): re-read the host


class KernelWatch:
    """The change detector. Create it BEFORE the reads it is to cover: a change
    made after the sockets are bound is reported by the next :meth:`poll`; the
    first poll reports the host tables as changed (nothing was read under it yet).

    Two sockets: one for the host's own link, address and neighbour (FDB)
    notifications; one with ``NETLINK_LISTEN_ALL_NSID`` for link, address and
    route notifications of the container namespaces (no neighbour group there:
    every container's ARP/ND traffic would flood it). When the kernel drops
    notifications of the namespaces (ENOBUFS), ``lost_at`` moves on: reads made
    before it are no longer covered by the watch (a reader falls back to its TTL).
    """

    def __init__(self) -> None:
        from .nlcodec import whole_pyroute2

        whole_pyroute2()
        from pyroute2.netlink import NETLINK_LISTEN_ALL_NSID, SOL_NETLINK
        from pyroute2.netlink.rtnl import (
            RTM_DELADDR,
            RTM_DELLINK,
            RTM_DELNEIGH,
            RTM_DELROUTE,
            RTM_NEWADDR,
            RTM_NEWLINK,
            RTM_NEWNEIGH,
            RTM_NEWROUTE,
            RTMGRP_IPV4_IFADDR,
            RTMGRP_IPV4_ROUTE,
            RTMGRP_IPV6_IFADDR,
            RTMGRP_IPV6_ROUTE,
            RTMGRP_LINK,
            RTMGRP_NEIGH,
        )
        from pyroute2.netlink.rtnl.marshal import MarshalRtnl

        from .nlcodec import lean_policy

        self._sol = SOL_NETLINK
        self._all_nsid = NETLINK_LISTEN_ALL_NSID
        self._if_types = {RTM_NEWLINK, RTM_DELLINK}
        self._link_types = {RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR}
        self._route_types = {RTM_NEWROUTE, RTM_DELROUTE}
        self._neigh_types = {RTM_NEWNEIGH, RTM_DELNEIGH}
        self._marshal = MarshalRtnl()
        self._marshal.msg_map.update(lean_policy())  # link/address bodies stay undecoded
        addrs = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
        self.lock = threading.Lock()
        self.closed = False
        self._host = self._ns = None
        try:
            self._host = _socket(RTMGRP_LINK | RTMGRP_NEIGH | addrs)
            self._ns = _socket(
                RTMGRP_LINK | addrs | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
                (SOL_NETLINK, NETLINK_LISTEN_ALL_NSID),
            )
        except OSError:
            self.close()
            raise
        self._first = True
        self.lost_at = float("-inf")  # namespace notifications lost at (monotonic)

    def poll(self) -> Changes:
        """Drain both sockets: what changed since the previous poll."""
        ch = Changes(everything=self._first)
        self._first = False
        with self.lock:
            if self.closed:
                return Changes(everything=True)
            for sock, ns in ((self._host, False), (self._ns, True)):
                for data, nsid, lost in _drain(sock, self._sol, self._all_nsid, ns):
                    if lost:
                        if ns:
                            self.lost_at = time.monotonic()
                        else:
                            ch.everything = True
                        continue
                    self._note(ch, data, nsid, ns)
        return ch

    def _note(self, ch: Changes, data: bytes, nsid: int | None, ns: bool) -> None:
        for msg in self._marshal.parse(data):
            typ = msg["header"]["type"]
            if ns:
                if (
                    nsid is not None
                    and nsid >= 0
                    and (typ in self._link_types or typ in self._route_types)
                ):
                    ch.nsids.add(nsid)
            elif typ in self._link_types:
                ch.links = True
                if typ in self._if_types:  # a link: bridge ports (and their FDB) may differ
                    ch.fdb = True
            elif typ in self._neigh_types and msg["family"] == AF_BRIDGE:
                ch.fdb = True

    def close(self) -> None:
        with self.lock:
            self.closed = True
            for sock in (self._host, self._ns):
                if sock is not None:
                    sock.close()


def _socket(groups: int, opt: tuple[int, int] | None = None) -> socket.socket:
    from .nlcodec import whole_pyroute2

    whole_pyroute2()
    from pyroute2.netlink import NETLINK_ROUTE

    sock = socket.socket(
        socket.AF_NETLINK,
        socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
        NETLINK_ROUTE,
    )
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, _RCVBUF)  # SO_RCVBUFFORCE (root)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
        if opt is not None:
            sock.setsockopt(opt[0], opt[1], 1)
        sock.bind((0, groups))
    except OSError:
        sock.close()
        raise
    return sock


def _drain(sock: socket.socket, sol: int, all_nsid: int, want_nsid: bool):
    """(datagram, source nsid or None, lost) for everything queued on ``sock``."""
    cspace = socket.CMSG_SPACE(4) if want_nsid else 0
    while True:
        try:
            data, anc, _flags, _addr = sock.recvmsg(1 << 16, cspace)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno == errno.ENOBUFS:  # the kernel dropped notifications
                yield b"", None, True
                continue
            raise
        if not data:
            return
        nsid = None
        for level, typ, val in anc:
            if level == sol and typ == all_nsid and len(val) >= 4:
                nsid = struct.unpack("i", val[:4])[0]
        yield data, nsid, False
