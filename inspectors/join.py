"""The in-memory join of a snapshot: which host veth, bridge, endpoint and
published port belongs to which container (:func:`join`), and the same for one
container after a targeted refresh (:func:`join_container`). No I/O."""

from __future__ import annotations

import re

from inspectors.model import Container, Endpoint, Listener, Snapshot

DOCKER_BRIDGE_RE = re.compile(r"^br-[0-9a-f]{12}$")


def _addr_matches(listen_ip: str, host_ip: str | None) -> bool:
    if host_ip in (None, ""):
        return listen_ip in ("0.0.0.0", "::")
    if listen_ip == host_ip:
        return True
    # an IPv6 wildcard socket without V6ONLY also takes the IPv4 port
    return host_ip == "0.0.0.0" and listen_ip == "::"


def _own_veths(c: Container, links_by_index: dict, veth_owner: dict) -> None:
    """One container's sandbox interfaces <-> endpoints (by MAC), and its host
    veths into ``veth_owner`` (name -> (container, ifname, network))."""
    if c.network_mode == "host":
        return  # its "sandbox" is the host's namespace: it owns no veth (issue 10)
    if (c.network_mode or "").startswith("container:"):
        return  # it shares another container's namespace: the veths are that one's
    by_mac = {i.mac.lower(): i for i in c.interfaces if i.mac}
    matched = []
    for e in c.endpoints:
        iface = by_mac.get((e.mac or "").lower()) if e.mac else None
        if iface is not None:
            e.sandbox_ifname = iface.name
            iface.network = e.network
            matched.append((e, iface))
    for i in c.interfaces:
        if i.host_veth:
            veth_owner[i.host_veth] = (c, i.name, i.network)
        elif i.peer_ifindex and i.peer_ifindex in links_by_index and i.name != "lo":
            hl = links_by_index[i.peer_ifindex]
            # a macvlan's link is its parent (a veth, on some hosts): only a veth
            # whose own peer is this interface is its host side
            if (
                hl.kind == "veth"
                and i.kind in (None, "veth")
                and hl.peer_ifindex in (None, i.ifindex)
            ):
                i.host_veth = hl.name
                i.bridge = hl.master_name
                veth_owner[hl.name] = (c, i.name, i.network)
    for e, iface in matched:  # after the pass above: one join gives what two would
        e.host_veth = iface.host_veth


def _endpoint_from(e: Endpoint, c: Container, n) -> None:
    """A network's endpoint takes what only the container's inspect knows."""
    ce = next((x for x in c.endpoints if x.network_id == n.id or x.network == n.name), None)
    if ce is None:
        return
    e.aliases = list(ce.aliases)
    e.dns_names = list(ce.dns_names)
    e.gateway = ce.gateway
    e.host_veth = ce.host_veth
    e.sandbox_ifname = ce.sandbox_ifname
    e.ipv6 = e.ipv6 or ce.ipv6
    if not e.mac:
        e.mac = ce.mac
    if not e.ipv4:
        e.ipv4, e.ipv4_prefixlen = ce.ipv4, ce.ipv4_prefixlen


def _port_owner(p, owner, bridge_network: str | None) -> None:
    if owner:
        c, ifname, netname = owner
        p.container, p.container_id, p.sandbox_ifname = c.name, c.id, ifname
        p.network = netname or bridge_network
    else:
        p.container = p.container_id = p.sandbox_ifname = None
        p.network = None


def _interface_bridges(c: Container, links_by_name: dict) -> None:
    for i in c.interfaces:
        if i.host_veth and not i.bridge:
            hl = links_by_name.get(i.host_veth)
            if hl is not None:
                i.bridge = hl.master_name


def _listeners_by_port(snap: Snapshot) -> dict[tuple[str, int], list[Listener]]:
    by_port: dict[tuple[str, int], list[Listener]] = {}
    for l in snap.listeners:
        by_port.setdefault((l.protocol, l.port), []).append(l)
    return by_port


def _match_ports(c: Container, by_port: dict, any_listeners: bool) -> None:
    for p in c.ports:
        p.listener_pid = p.listener_process = None
        p.owner = None
        if not p.host_port:
            continue
        cands = by_port.get((p.protocol, p.host_port), [])
        hit = next((l for l in cands if _addr_matches(l.ip, p.host_ip)), None) or (
            cands[0] if cands else None
        )
        if hit is None:
            p.owner = "none" if any_listeners else None
            continue
        p.listener_pid, p.listener_process = hit.pid, hit.process
        p.owner = hit.owner or (
            "docker-proxy"
            if (hit.process or "") == "docker-proxy"
            else "dockerd"
            if (hit.process or "") == "dockerd"
            else "foreign"
        )


def _count(snap: Snapshot) -> None:
    if snap.engine.reachable:
        snap.engine.containers_total = len(snap.containers)
        snap.engine.containers_running = sum(1 for c in snap.containers if c.state == "running")


def join(snap: Snapshot) -> None:
    """Cross-link every part of the snapshot in place. Pure, in-memory, cheap."""
    by_cid = {c.id: c for c in snap.containers}
    links_by_index = {l.index: l for l in snap.links}
    links_by_name = {l.name: l for l in snap.links}

    # sandbox interfaces <-> endpoints (by MAC), and host veth -> container
    veth_owner: dict[str, tuple[Container, str, str | None]] = {}
    for c in snap.containers:
        _own_veths(c, links_by_index, veth_owner)

    # networks <-> container endpoints
    for n in snap.networks:
        for e in n.endpoints:
            c = by_cid.get(e.container_id)
            if c is not None:
                _endpoint_from(e, c, n)
    # bridges <-> networks
    bridge_net = {n.bridge: n for n in snap.networks if n.bridge}
    for b in snap.bridges:
        n = bridge_net.get(b.name)
        b.network = n.name if n else None
        b.network_id = n.id if n else None
        b.docker_owned = (
            n is not None or bool(DOCKER_BRIDGE_RE.match(b.name)) or b.name == "docker0"
        )
        b.orphan = n is None and bool(DOCKER_BRIDGE_RE.match(b.name))
        for p in b.ports:
            _port_owner(p, veth_owner.get(p.name), b.network)
    # links <-> containers
    for l in snap.links:
        owner = veth_owner.get(l.name)
        if owner:
            l.container, l.container_id, l.network = owner[0].name, owner[0].id, owner[2]
        elif l.kind == "bridge" and l.name in bridge_net:
            l.network = bridge_net[l.name].name
    # container sandbox interfaces: bridge name of the host side
    for c in snap.containers:
        _interface_bridges(c, links_by_name)
    # listeners <-> published ports
    ip_owner: dict[str, Container] = {}
    for c in snap.containers:
        for e in c.endpoints:
            if e.ipv4 and e.attached:
                ip_owner[e.ipv4] = c
    try:
        from inspectors.sockets import classify_owner, proxy_target
    except Exception:  # pragma: no cover - module missing
        classify_owner = proxy_target = None
    for l in snap.listeners:
        if classify_owner is not None:
            l.owner = classify_owner(l)
            tgt = proxy_target(l.cmdline) if l.owner == "docker-proxy" else None
            if tgt:
                c = ip_owner.get(tgt[3])
                l.container = c.name if c else None
    by_port = _listeners_by_port(snap)
    for c in snap.containers:
        _match_ports(c, by_port, bool(snap.listeners))
    # engine counts from the list we hold
    _count(snap)


def join_container(snap: Snapshot, cid: str, c: Container | None, was: str | None) -> None:
    """What :func:`join` sets, for ONE container after a targeted refresh (``c``;
    None: it is gone; ``was``: its name before): its interfaces and endpoints,
    its endpoints in the networks, the bridge ports and host links that are its
    veths (or were), the docker-proxy listeners that point at it, its published
    ports. Costs what one container costs, not what the host holds (the full
    join is O(containers + links + ports))."""
    links_by_index = {l.index: l for l in snap.links}
    veth_owner: dict[str, tuple[Container, str, str | None]] = {}
    if c is not None:
        _own_veths(c, links_by_index, veth_owner)
        for n in snap.networks:
            for e in n.endpoints:
                if e.container_id == cid:
                    _endpoint_from(e, c, n)
    for b in snap.bridges:
        for p in b.ports:
            if p.name in veth_owner or p.container_id == cid:
                _port_owner(p, veth_owner.get(p.name), b.network)
    bridge_net = {n.bridge: n for n in snap.networks if n.bridge}
    for l in snap.links:
        owner = veth_owner.get(l.name)
        if owner:
            l.container, l.container_id, l.network = owner[0].name, owner[0].id, owner[2]
        elif l.container_id == cid:  # its veth no longer (join leaves it as read)
            l.container = l.container_id = None
            l.network = (
                bridge_net[l.name].name if l.kind == "bridge" and l.name in bridge_net else None
            )
    if c is not None:
        _interface_bridges(c, {l.name: l for l in snap.links if l.name in veth_owner})
    # docker-proxy listeners that point at its addresses (or pointed at it)
    ips = {e.ipv4 for e in (c.endpoints if c else []) if e.ipv4 and e.attached}
    try:
        from inspectors.sockets import proxy_target
    except Exception:  # pragma: no cover - module missing
        proxy_target = None
    if proxy_target is not None:
        for l in snap.listeners:
            if l.owner != "docker-proxy":
                continue
            tgt = proxy_target(l.cmdline)
            if tgt and tgt[3] in ips:
                l.container = c.name
            elif l.container is not None and l.container in (was, c.name if c else None):
                # its address moved to another container: as the full join finds it
                owner = next(
                    (
                        x
                        for x in snap.containers
                        for e in x.endpoints
                        if tgt and e.ipv4 == tgt[3] and e.attached
                    ),
                    None,
                )
                l.container = owner.name if owner else None
    if c is not None:
        _match_ports(c, _listeners_by_port(snap), bool(snap.listeners))
    _count(snap)
