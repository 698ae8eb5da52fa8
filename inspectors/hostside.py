"""The doctor's view of container sandboxes from the host side: which host veth
belongs to which container, with no namespace entered.

Why: reading a namespace (setns, a netlink socket, three dumps decoded by
pyroute2) costs ~1.5 ms of CPU per container, most of a doctor run at 300
containers (bench/doctor); one RTM_GETNSID per container costs a few
microseconds. A host veth whose ``IFLA_LINK_NETNSID`` equals the id the host
gives a container's namespace (``NETNSA_PID``) is one of that container's
interfaces. For a container whose every endpoint is on a bridge network and
whose host veths are each on that network's bridge and not down, that is all the
doctor's rules ask of the sandbox. Every other container (another driver, a
missing, detached, extra or down veth, no id) is a suspect: its namespace is
read in full, so a finding always carries what the sandbox itself holds.
"""

from __future__ import annotations

from .model import Container, Interface, Link, Network

BROKEN_STATES = ("DOWN", "LOWERLAYERDOWN")


def own_netns(c: Container) -> bool:
    """A running container with a namespace of its own (not host, none or another
    container's)."""
    mode = c.network_mode or ""
    return (
        bool(c.pid)
        and c.state in ("running", "paused", "restarting")
        and mode not in ("host", "none")
        and not mode.startswith("container:")
    )


def netnsids(pids: list[int]) -> dict[int, int]:
    """pid -> the host's id for that process's network namespace (RTM_GETNSID with
    NETNSA_PID), for the pids that have one; the requests go out in windows over
    one socket (:meth:`inspectors.nlsock.RtnlSocket.nsids`). A module-level
    function: it also runs in the reader process
    (:meth:`inspectors.readerproc.ReaderProcess.call`). Call it from a thread in
    the host's netns."""
    from .nlsock import RtnlSocket

    with RtnlSocket() as s:
        got = s.nsids(pids=pids)
    return {pid: nsid for pid, nsid in zip(pids, got) if nsid is not None}


def split(
    containers: list[Container],
    links: list[Link],
    networks: list[Network],
    nsids: dict[int, int],
) -> tuple[dict[str, list[Interface]], list[Container]]:
    """(container id -> its interfaces as the host sees them, the suspects to read
    in full). Only containers with a namespace of their own are in either."""
    by_nsid: dict[int, list[Link]] = {}
    for lk in links:
        if lk.kind == "veth" and lk.peer_netnsid is not None and lk.peer_ifindex:
            by_nsid.setdefault(lk.peer_netnsid, []).append(lk)
    nets = {n.id: n for n in networks}
    nets_by_name = {n.name: n for n in networks}
    mine = [c for c in containers if own_netns(c)]
    shared: dict[int, int] = {}  # nsid -> how many of these containers have it
    for c in mine:
        nsid = nsids.get(c.pid or 0)
        if nsid is not None:
            shared[nsid] = shared.get(nsid, 0) + 1
    ok: dict[str, list[Interface]] = {}
    suspects: list[Container] = []
    for c in mine:
        nsid = nsids.get(c.pid or 0)
        got = None
        if nsid is not None and shared[nsid] == 1:  # one namespace, one container
            got = _interfaces(c, by_nsid.get(nsid, []), nets, nets_by_name)
        if got is None:
            suspects.append(c)
        else:
            ok[c.id] = got
    return ok, suspects


def _interfaces(c: Container, veths: list[Link], nets: dict, by_name: dict):
    """The container's interfaces from its host veths (and each endpoint's
    ``host_veth``), or None when the host side does not show one healthy veth on
    each endpoint's bridge and nothing else."""
    if not c.endpoints:
        return None
    by_bridge = {}
    for v in veths:
        if not v.master_name or v.master_name in by_bridge:
            return None  # detached, or two on one bridge
        by_bridge[v.master_name] = v
    out, pairs = [], []
    for e in c.endpoints:
        n = nets.get(e.network_id or "") or by_name.get(e.network)
        if n is None or n.driver != "bridge" or not n.bridge:
            return None  # overlay, macvlan, ipvlan, gone: only the namespace knows
        v = by_bridge.pop(n.bridge, None)
        if v is None or (v.operstate or "").upper() in BROKEN_STATES:
            return None
        out.append(
            Interface(
                name="",  # the name inside is not visible from the host
                ifindex=v.peer_ifindex,
                kind="veth",
                peer_ifindex=v.index,
                host_veth=v.name,
                bridge=v.master_name,
                network=n.name,
            )
        )
        pairs.append((e, v.name))
    if by_bridge:
        return None  # a veth on a bridge the engine lists no endpoint for
    for e, name in pairs:
        e.host_veth = name
    return out
