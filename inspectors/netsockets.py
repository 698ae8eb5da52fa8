"""Every TCP/UDP socket inside a sandbox, as ``nsenter -t PID -n ss -tunap``
shows them: listening and established, with the owning process inside the
container.

The sockets come from sock_diag (pyroute2 ``DiagSocket``, the netlink dump
``ss`` itself uses), opened inside the container's namespace; the owners from
the one socket-inode -> process map of :mod:`inspectors.sockets`.

Never imports Textual. Read-only.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

# linux/tcp_states.h
TCP_STATES = {
    1: "ESTAB",
    2: "SYN-SENT",
    3: "SYN-RECV",
    4: "FIN-WAIT-1",
    5: "FIN-WAIT-2",
    6: "TIME-WAIT",
    7: "UNCONN",  # TCP_CLOSE; for UDP: a bound, unconnected socket
    8: "CLOSE-WAIT",
    9: "LAST-ACK",
    10: "LISTEN",
    11: "CLOSING",
}
SS_ALL = 0xFFF


@dataclass
class SockEntry:
    proto: str  # tcp | udp
    state: str  # LISTEN, ESTAB, UNCONN, TIME-WAIT... (ss's names)
    local_ip: str
    local_port: int
    peer_ip: str
    peer_port: int
    family: int = 4
    recv_q: int = 0
    send_q: int = 0
    inode: int = 0
    uid: int | None = None
    processes: list[tuple[int, str | None]] = field(default_factory=list)  # (pid, name)

    @property
    def listening(self) -> bool:
        return self.state == "LISTEN" or (self.proto == "udp" and self.state == "UNCONN")

    def local(self) -> str:
        return _hp(self.local_ip, self.local_port)

    def peer(self) -> str:
        return _hp(self.peer_ip, self.peer_port, peer=True)

    def process_text(self) -> str:
        return ",".join(f'("{n or "?"}",pid={p})' for p, n in self.processes)


def _hp(ip: str, port: int, peer: bool = False) -> str:
    p = "*" if peer and port == 0 else str(port)
    if ":" in ip:
        return f"[{ip}]:{p}"
    return f"{ip}:{p}"


TCP_LISTEN_ONLY = 1 << 10  # the kernel's TCP_LISTEN state bit
UDP_UNCONN_ONLY = 1 << 7  # TCP_CLOSE: a bound, unconnected UDP socket


def _dump(tcp_states: int = SS_ALL, udp_states: int | None = SS_ALL) -> list[SockEntry]:
    """sock_diag dump of the calling thread's namespace (TCP and UDP, v4 and v6).

    ``tcp_states``/``udp_states`` narrow what the kernel sends (bit masks of
    states; ``udp_states=None`` skips UDP): listeners alone are
    ``_dump(TCP_LISTEN_ONLY, UDP_UNCONN_ONLY)``."""
    from pyroute2 import DiagSocket

    out: list[SockEntry] = []
    protos = [(socket.IPPROTO_TCP, "tcp", tcp_states)]
    if udp_states is not None:
        protos.append((socket.IPPROTO_UDP, "udp", udp_states))
    with DiagSocket() as ds:
        ds.bind()
        for fam, famn in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
            for proto, pname, states in protos:
                for m in ds.get_sock_stats(family=fam, protocol=proto, states=states):
                    st = m.get("idiag_state")
                    out.append(
                        SockEntry(
                            proto=pname,
                            state=TCP_STATES.get(st, str(st)),
                            local_ip=m.get("idiag_src"),
                            local_port=m.get("idiag_sport"),
                            peer_ip=m.get("idiag_dst"),
                            peer_port=m.get("idiag_dport"),
                            family=famn,
                            recv_q=m.get("idiag_rqueue") or 0,
                            send_q=m.get("idiag_wqueue") or 0,
                            inode=m.get("idiag_inode") or 0,
                            uid=m.get("idiag_uid"),
                        )
                    )
    return out


def sandbox_sockets(pid: int, with_pids: bool = True) -> list[SockEntry]:
    """The TCP/UDP sockets of the network namespace process ``pid`` is in
    (root). ``with_pids``: the owning processes (inside the container, or
    dockerd for the embedded DNS server's sockets)."""
    from inspectors.hostfacts import run_in_netns

    entries = run_in_netns(f"/proc/{pid}/ns/net", _dump)
    if with_pids and entries:
        from inspectors.sockets import socket_owners

        owners = socket_owners(pid, {e.inode for e in entries if e.inode})
        for e in entries:
            e.processes = [(p, n) for p, n, _cmd in owners.get(e.inode, [])]
    order = {"LISTEN": 0, "UNCONN": 1, "ESTAB": 2}
    entries.sort(key=lambda e: (order.get(e.state, 3), e.proto, e.local_port, e.peer_port))
    return entries


def format_ss(entries: list[SockEntry], clean=None) -> list[str]:
    """Lines laid out like ``ss -tunap``."""
    c = clean or (lambda s: s)
    rows = [
        ("Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Process")
    ]
    for e in entries:
        rows.append(
            (e.proto, e.state, str(e.recv_q), str(e.send_q), e.local(), e.peer(),
             c(e.process_text()))
        )  # fmt: skip
    w = [max(len(r[i]) for r in rows) for i in range(6)]
    return [
        " ".join(r[i].ljust(w[i]) for i in range(6)) + (" " + r[6] if r[6] else "") for r in rows
    ]


__all__ = ["SockEntry", "sandbox_sockets", "format_ss", "TCP_STATES"]
