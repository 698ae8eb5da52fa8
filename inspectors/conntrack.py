"""Live connections from the kernel's conntrack table (pyroute2 ``Conntrack``),
joined to containers and published ports.

Each :class:`Conn` carries both tuples, so a connection to a published port
reads ``client -> host:port -> container:port`` (the original destination and
the reply source differ: DNAT). Per state counts, per container and per port
views, and "who talks to whom" for one container.

Never imports Textual. Read-only.
"""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass, field

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp", 2: "igmp"}


@dataclass
class Conn:
    proto: str
    src: str
    dst: str
    sport: int | None
    dport: int | None
    reply_src: str
    reply_dst: str
    reply_sport: int | None
    reply_dport: int | None
    state: str = ""  # TCP state (ESTABLISHED, TIME_WAIT...) or "" for udp/icmp
    status: list[str] = field(default_factory=list)  # ASSURED, SEEN_REPLY, DST_NAT...
    timeout: int | None = None
    mark: int | None = None
    family: int = 4
    # joined
    src_container: str | None = None
    dst_container: str | None = None  # the real destination (after DNAT)

    @property
    def dnat(self) -> bool:
        """The destination was translated (a published port, DNAT)."""
        return (self.reply_src, self.reply_sport) != (self.dst, self.dport)

    @property
    def snat(self) -> bool:
        return (self.reply_dst, self.reply_dport) != (self.src, self.sport)

    @property
    def to_ip(self) -> str:
        """Where the packets really go (the reply comes from there)."""
        return self.reply_src

    @property
    def to_port(self) -> int | None:
        return self.reply_sport

    @property
    def label_state(self) -> str:
        if self.state:
            return self.state
        if "SEEN_REPLY" not in self.status:
            return "UNREPLIED"
        return "ASSURED" if "ASSURED" in self.status else "REPLIED"

    def line(self) -> str:
        """``tcp ESTABLISHED 10.0.0.5:40000 -> 10.0.0.1:8080 -> 172.17.0.2:80``."""
        a = _hp(self.src, self.sport)
        b = _hp(self.dst, self.dport)
        s = f"{self.proto:<5} {self.label_state:<12} {a} -> {b}"
        if self.dnat:
            s += f" -> {_hp(self.to_ip, self.to_port)}"
        if self.snat:
            s += f"  (reply to {_hp(self.reply_dst, self.reply_dport)})"
        return s


def _hp(ip: str, port: int | None) -> str:
    if port is None:
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _from_entry(e) -> Conn:
    o, r = e.tuple_orig, e.tuple_reply
    state = ""
    if e.protoinfo is not None:
        try:
            state = e.protoinfo.state_name()
        except Exception:  # noqa: BLE001 - a protoinfo pyroute2 could not decode
            state = ""
    return Conn(
        proto=PROTO_NAMES.get(o.proto, str(o.proto)),
        src=o.saddr,
        dst=o.daddr,
        sport=o.sport,
        dport=o.dport,
        reply_src=r.saddr,
        reply_dst=r.daddr,
        reply_sport=r.sport,
        reply_dport=r.dport,
        state=state,
        status=[s for s in (e.status_name() or "").split(",") if s],
        timeout=e.timeout,
        mark=e.mark,
        family=6 if o.family == socket.AF_INET6 else 4,
    )


def read_conntrack(proto: str | None = None, family: int | None = None) -> list[Conn]:
    """Every conntrack entry of the calling thread's network namespace
    (root: CAP_NET_ADMIN). ``proto``: tcp/udp/icmp only."""
    from pyroute2 import Conntrack

    out: list[Conn] = []
    ct = Conntrack()
    try:
        # one unfiltered dump (both families), filtered here: pyroute2's tuple
        # filter compares whole tuples, not one field
        for e in ct.dump_entries():
            c = _from_entry(e)
            if (family and c.family != family) or (proto and c.proto != proto):
                continue
            out.append(c)
    finally:
        ct.close()
    return out


def table_usage() -> tuple[int | None, int | None]:
    """(entries, max) of the conntrack table (R27: a full table drops packets)."""
    from pyroute2 import Conntrack

    ct = Conntrack()
    try:
        return ct.count(), ct.conntrack_max_size()
    finally:
        ct.close()


def state_counts(conns: list[Conn]) -> dict[str, int]:
    return dict(Counter(f"{c.proto} {c.label_state}" for c in conns).most_common())


# --------------------------------------------------------------------------- the join


def container_ips(snap) -> dict[str, str]:
    """ip -> container name, from the model's endpoints."""
    out: dict[str, str] = {}
    for c in snap.containers:
        for e in c.endpoints:
            for ip in (e.ipv4, e.ipv6):
                if ip:
                    out[ip] = c.name
    return out


def join(conns: list[Conn], snap) -> list[Conn]:
    ips = container_ips(snap)
    for c in conns:
        c.src_container = ips.get(c.src)
        c.dst_container = ips.get(c.to_ip)
    return conns


def for_container(conns: list[Conn], name: str) -> list[Conn]:
    return [c for c in conns if name in (c.src_container, c.dst_container)]


def for_port(conns: list[Conn], port: int, proto: str | None = None) -> list[Conn]:
    """Connections to host port ``port`` (the original destination port)."""
    return [c for c in conns if c.dport == port and (proto is None or c.proto == proto)]


@dataclass
class Peer:
    peer: str  # a container name or an address
    direction: str  # "out" (the container opened it) or "in"
    proto: str
    port: int | None
    count: int = 0
    states: dict[str, int] = field(default_factory=dict)


def talkers(conns: list[Conn], name: str) -> list[Peer]:
    """Who talks to whom for container ``name``: peers aggregated by direction,
    protocol and service port."""
    agg: dict[tuple, Peer] = {}
    for c in conns:
        if c.src_container == name:
            key = (c.dst_container or c.to_ip, "out", c.proto, c.to_port)
        elif c.dst_container == name:
            key = (c.src_container or c.src, "in", c.proto, c.to_port)
        else:
            continue
        p = agg.get(key)
        if p is None:
            p = agg[key] = Peer(*key)
        p.count += 1
        p.states[c.label_state] = p.states.get(c.label_state, 0) + 1
    return sorted(agg.values(), key=lambda p: (-p.count, p.peer))


__all__ = [
    "Conn",
    "Peer",
    "read_conntrack",
    "table_usage",
    "state_counts",
    "join",
    "for_container",
    "for_port",
    "talkers",
]
