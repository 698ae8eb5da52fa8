"""What changed in the kernel since the last look, for a warm rebuild to re-read
only that: ONE netlink socket in the host netns subscribed to link, address,
route and neighbour notifications of the host AND of every network namespace the
host has an id for (``NETLINK_LISTEN_ALL_NSID``: the kernel names each message's
source namespace by its nsid, the id a host veth's ``IFLA_LINK_NETNSID`` shows).

:meth:`KernelWatch.poll` drains what arrived and says: the host's links or
addresses changed, its bridge FDB changed, which container namespaces (by nsid)
changed, or that notifications were lost (then everything counts as changed).
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
from dataclasses import dataclass, field

AF_BRIDGE = 7
_RCVBUF = 4 << 20


@dataclass
class Changes:
    """What :meth:`KernelWatch.poll` saw since the previous poll."""

    links: bool = False  # host links or addresses
    fdb: bool = False  # host bridge FDB (AF_BRIDGE neighbours) or bridge ports
    nsids: set[int] = field(default_factory=set)  # container namespaces (host nsids)
    everything: bool = False  # notifications were lost: re-read it all

    def netns_changed(self, nsid: int | None) -> bool:
        return self.everything or nsid is None or nsid in self.nsids


class KernelWatch:
    """The change detector. Create it BEFORE the reads it is to cover: a change
    made after the socket is bound is reported by the next :meth:`poll`; the first
    poll reports everything (nothing was read under the watch yet)."""

    def __init__(self) -> None:
        from pyroute2.netlink import NETLINK_LISTEN_ALL_NSID, NETLINK_ROUTE, SOL_NETLINK
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

        from .kernel import lean_policy

        self._sol = SOL_NETLINK
        self._all_nsid = NETLINK_LISTEN_ALL_NSID
        self._if_types = {RTM_NEWLINK, RTM_DELLINK}
        self._link_types = {RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR}
        self._route_types = {RTM_NEWROUTE, RTM_DELROUTE}
        self._neigh_types = {RTM_NEWNEIGH, RTM_DELNEIGH}
        self._marshal = MarshalRtnl()
        self._marshal.msg_map.update(lean_policy())  # link/address bodies stay undecoded
        groups = (
            RTMGRP_LINK
            | RTMGRP_NEIGH
            | RTMGRP_IPV4_IFADDR
            | RTMGRP_IPV6_IFADDR
            | RTMGRP_IPV4_ROUTE
            | RTMGRP_IPV6_ROUTE
        )
        self.lock = threading.Lock()
        self.sock = socket.socket(
            socket.AF_NETLINK,
            socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
            NETLINK_ROUTE,
        )
        try:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, 33, _RCVBUF)  # SO_RCVBUFFORCE (root)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            self.sock.setsockopt(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1)
            self.sock.bind((0, groups))
        except OSError:
            self.sock.close()
            raise
        self._first = True
        self.closed = False

    def poll(self) -> Changes:
        """Drain the socket: what changed since the previous poll."""
        ch = Changes(everything=self._first)
        self._first = False
        cspace = socket.CMSG_SPACE(4)
        with self.lock:
            if self.closed:
                return Changes(everything=True)
            while True:
                try:
                    data, anc, _flags, _addr = self.sock.recvmsg(1 << 16, cspace)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno == errno.ENOBUFS:  # the kernel dropped notifications
                        ch.everything = True
                        continue
                    raise
                if not data:
                    break
                nsid = None
                for level, typ, val in anc:
                    if level == self._sol and typ == self._all_nsid and len(val) >= 4:
                        nsid = struct.unpack("i", val[:4])[0]
                self._note(ch, data, nsid)
        return ch

    def _note(self, ch: Changes, data: bytes, nsid: int | None) -> None:
        for msg in self._marshal.parse(data):
            typ = msg["header"]["type"]
            if nsid is not None and nsid >= 0:  # another namespace (a container's)
                if typ in self._link_types or typ in self._route_types:
                    ch.nsids.add(nsid)
            elif typ in self._link_types:
                ch.links = True
                if typ in self._if_types:  # a link: bridge ports (and their FDB) may differ
                    ch.fdb = True
            elif typ in self._neigh_types and msg["family"] == AF_BRIDGE:
                ch.fdb = True

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.sock.close()
