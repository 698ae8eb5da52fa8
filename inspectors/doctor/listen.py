"""Which ports the containers listen on, for the doctor: one thread walks the
namespaces in turn (no thread per container) and asks each for its listening
sockets through the one sock_diag reader (:mod:`inspectors.netsockets`, pyroute2
``DiagSocket``), narrowed to listening states. Only containers that publish a
port are asked.
"""

from __future__ import annotations

import threading


def listeners_in(udp: bool = False) -> list[tuple[str, int, str]]:
    """(ip, port, proto) listening in the calling thread's current namespace."""
    from inspectors.netsockets import TCP_LISTEN_ONLY, UDP_UNCONN_ONLY, _dump

    entries = _dump(TCP_LISTEN_ONLY, UDP_UNCONN_ONLY if udp else None)
    return [
        (e.local_ip, e.local_port, e.proto) for e in entries if e.proto == "tcp" or not e.peer_port
    ]


def container_listeners(
    targets: list[tuple[str, int, bool]], timeout: float = 30.0
) -> dict[str, list[tuple[str, int, str]] | None]:
    """``targets``: (container id, pid, wants udp). Returns id -> listeners, or None
    for a namespace that could not be entered (the process went away). One thread."""
    from inspectors.sandbox import in_netns

    got: dict[str, list | None] = {}

    def walk():
        for cid, pid, udp in targets:
            try:
                with in_netns(f"/proc/{pid}/ns/net"):
                    got[cid] = listeners_in(udp)
            except Exception:  # gone, or sock_diag refuses (udp_diag not loaded)
                got[cid] = _from_proc(pid)

    t = threading.Thread(target=walk, name="dockscope-listen", daemon=True)
    t.start()
    t.join(timeout)
    return got


def _from_proc(pid: int) -> list[tuple[str, int, str]] | None:
    """The slow way (``/proc/PID/net/*``) when sock_diag refuses; None if the process
    is gone."""
    from inspectors.sockets import read_netns_listeners

    try:
        return [(l.ip, l.port, l.protocol) for l in read_netns_listeners(pid, with_pids=False)]
    except (OSError, ProcessLookupError):
        return None
