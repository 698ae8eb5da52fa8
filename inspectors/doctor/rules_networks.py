"""Doctor rules about networks and bridges: overlaps, macvlan, ports, MTU, capacity, DNS."""

from __future__ import annotations

import ipaddress

from inspectors.doctor.common import (
    _attached,
    _default_bridges,
    _kernel_ok,
    _link,
    _net,
    restart_hint,
    _running,
)
from inspectors.doctor.findings import Finding, _f
from inspectors.hostfacts import HostFacts, is_loopback
from inspectors.model import Network, Snapshot
from inspectors.routes import overlapping

# --------------------------------------------------------------------------- R4


def rule_subnet_overlap(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R4: a network's subnet overlaps a host route or interface address that is
    not the network's own bridge (a VPN, a LAN route, another bridge)."""
    out = []
    if not snap.engine.local:
        return out
    for n in snap.networks:
        if n.driver not in ("bridge", "macvlan", "ipvlan") or not n.subnets:
            continue
        own = {n.bridge, n.parent} - {None}
        if n.parent and "." in n.parent:
            own.add(n.parent.split(".")[0])
        for s in n.subnets:
            sn = _net(s.subnet)
            if sn is None:
                continue
            hits = []
            # the one overlap rule the create form uses too (inspectors.routes)
            for r in overlapping(s.subnet, facts.routes, own):
                hits.append(
                    (
                        r.dev or r.type or "?",
                        f"route {r.dst} dev {r.dev}"
                        + (f" via {r.gateway}" if r.gateway else "")
                        + (f" table {r.table}" if r.table not in (None, 254) else "")
                        + (f" metric {r.metric}" if r.metric else ""),
                    )
                )
            for ifname, cidr in facts.addresses:
                an = _net(cidr)
                if ifname in own or an is None or an.version != sn.version or an.is_link_local:
                    continue
                if an.overlaps(sn) and not any(h[0] == ifname for h in hits):
                    hits.append((ifname, f"address {cidr} on {ifname}"))
            for dev, ev in hits:
                out.append(
                    _f(
                        "subnet_overlap",
                        "error",
                        "network",
                        [n.name, dev],
                        f"subnet {s.subnet} of network {n.name} overlaps {ev}",
                        why="Two routes for the same addresses: either the containers or the "
                        "other destination (VPN, LAN, another network) becomes "
                        "unreachable, depending on which route wins.",
                        evidence=[f"network {n.name}: {s.subnet} on {n.bridge or n.parent}", ev],
                        fix="recreate the network with a free --subnet, or set "
                        "default-address-pools in daemon.json to a range the host "
                        "does not use",
                        check=f"ip route show table all | grep -F {str(sn.network_address).rsplit('.', 1)[0]}",
                        ref="R4",
                    )
                )
    return out


# --------------------------------------------------------------------------- R21


def rule_macvlan_parent(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R21: the parent of a macvlan/ipvlan network is missing, down, or (macvlan
    with containers attached) not promiscuous."""
    out = []
    if not _kernel_ok(snap):
        return out
    for n in snap.networks:
        if n.driver not in ("macvlan", "ipvlan") or not n.parent:
            continue
        link = _link(snap, n.parent)
        chk = f"ip -d link show {n.parent}"
        if link is None:
            out.append(
                _f(
                    "macvlan_parent",
                    "error",
                    "network",
                    [n.name, n.parent],
                    f"parent interface {n.parent} of {n.driver} network {n.name} does not exist",
                    why="Containers cannot be attached ('the requested parent interface … was "
                    "not found'); a renamed NIC after a reboot is the usual cause.",
                    evidence=[f"Options.parent={n.parent}", f"no link named {n.parent}"],
                    fix="recreate the network with -o parent=<current NIC> (ip -br link)",
                    check=chk,
                    ref="R21",
                )
            )
            continue
        down = not link.admin_up or (link.operstate or "").upper() in ("DOWN", "LOWERLAYERDOWN")
        if down:
            out.append(
                _f(
                    "macvlan_parent",
                    "error",
                    "network",
                    [n.name, n.parent],
                    f"parent interface {n.parent} of {n.driver} network {n.name} is down",
                    why="All traffic of the network's containers leaves through the parent.",
                    evidence=[
                        f"{n.parent}: admin {'up' if link.admin_up else 'down'}, "
                        f"operstate {link.operstate}, carrier {link.carrier}"
                    ],
                    fix=f"ip link set {n.parent} up (and check the cable/vNIC)",
                    check=chk,
                    ref="R21",
                )
            )
        elif n.driver == "macvlan" and link.promiscuity == 0 and _attached(n, snap):
            out.append(
                _f(
                    "macvlan_parent",
                    "warning",
                    "network",
                    [n.name, n.parent],
                    f"macvlan parent {n.parent} of {n.name} is not in promiscuous mode",
                    why="Each container has its own MAC behind the parent; NICs, hypervisor "
                    "vSwitches (promiscuous mode / forged transmits) and clouds drop "
                    "frames for MACs they don't know.",
                    evidence=[
                        f"{n.parent}: promiscuity 0",
                        f"{len(_attached(n, snap))} running container(s) on {n.name}",
                    ],
                    fix=f"ip link set {n.parent} promisc on, and allow promiscuous mode on the "
                    "virtual switch; on clouds use ipvlan instead",
                    check=chk,
                    ref="R21",
                )
            )
    return out


# --------------------------------------------------------------------------- R26


def rule_bridge_port_broken(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R26: a container's host veth is down, not forwarding, or detached from its bridge.

    One container is then cut off while the others on the bridge work.
    """
    out = []
    if not _kernel_ok(snap):
        return out
    own_bridges = {n.bridge: n for n in snap.networks if n.bridge}
    for b in snap.bridges:
        if b.name not in own_bridges:
            continue
        for p in b.ports:
            if not p.container:
                continue  # leftover pairs and swarm sandboxes: rule_leftover_veth, paths
            bad = []
            if p.state and p.state != "forwarding":
                bad.append(f"port state {p.state}")
            if (p.operstate or "").upper() in ("DOWN", "LOWERLAYERDOWN"):
                bad.append(f"operstate {p.operstate}")
            if not bad:
                continue
            who = p.container or "unknown container"
            out.append(
                _f(
                    "bridge_port_broken",
                    "error",
                    "interface",
                    [p.name, who, b.name],
                    f"veth {p.name} of {who} on {b.name} is not forwarding ({', '.join(bad)})",
                    why="Frames to and from the container stop at this bridge port: the "
                    "container is isolated while others on the bridge work.",
                    evidence=[f"bridge {b.name} port {p.name}: " + ", ".join(bad)],
                    fix=f"ip link set {p.name} up (if it keeps going down, restart {who})",
                    check=f"bridge link show dev {p.name}; ip link show {p.name}",
                    ref="R26",
                )
            )
    # detached: the container's host-side veth lost its master
    for c in _running(snap):
        for i in c.interfaces:
            if not i.host_veth or not i.network:
                continue
            n = snap.network(i.network)
            if n is None or not n.bridge:
                continue
            link = _link(snap, i.host_veth)
            if link is None or link.master_name == n.bridge:
                continue
            if _link(snap, n.bridge) is None:
                continue  # the bridge itself is gone: rule_bridge_down says so
            out.append(
                _f(
                    "bridge_port_broken",
                    "error",
                    "interface",
                    [i.host_veth, c.name, n.bridge],
                    f"veth {i.host_veth} of {c.name} is "
                    + (f"enslaved to {link.master_name}" if link.master_name else "detached")
                    + f", not on bridge {n.bridge}",
                    why="The container's traffic never reaches the network's bridge.",
                    evidence=[
                        f"{c.name} {i.name} -> host {i.host_veth}, master "
                        f"{link.master_name or 'none'}",
                        f"network {n.name} bridge {n.bridge}",
                    ],
                    fix=f"ip link set {i.host_veth} master {n.bridge} (or docker restart {c.name})",
                    check=f"ip link show {i.host_veth}; bridge link | grep {i.host_veth}",
                    ref="R26",
                )
            )
    return out


# --------------------------------------------------------------------------- R25


def rule_bridge_down(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R25: an engine bridge is administratively down or lost its gateway address
    (a host network manager touching Docker interfaces)."""
    out = []
    if not _kernel_ok(snap):
        return out
    for n in snap.networks:
        if not n.bridge:
            continue
        link = _link(snap, n.bridge)
        b = snap.bridge(n.bridge)
        if link is None and b is None:
            if _attached(n, snap):
                out.append(
                    _f(
                        "bridge_down",
                        "error",
                        "network",
                        [n.name, n.bridge],
                        f"bridge {n.bridge} of network {n.name} does not exist",
                        why="Running containers of this network have no bridge to reach.",
                        evidence=[f"no link named {n.bridge}"],
                        fix=restart_hint(snap) + " (the engine recreates its bridges)",
                        check=f"ip link show {n.bridge}",
                        ref="R25",
                    )
                )
            continue
        if link is not None and not link.admin_up:
            out.append(
                _f(
                    "bridge_down",
                    "error",
                    "network",
                    [n.name, n.bridge],
                    f"bridge {n.bridge} of network {n.name} is administratively down",
                    why="Nothing on the network can talk: not to each other, not to the host.",
                    evidence=[f"{n.bridge}: admin down, operstate {link.operstate}"],
                    fix=f"ip link set {n.bridge} up; check NetworkManager/systemd-networkd "
                    "leave docker interfaces unmanaged",
                    check=f"ip link show {n.bridge}",
                    ref="R25",
                )
            )
        addrs = {
            a.split("/")[0]
            for a in ((link.addresses if link else None) or (b.addresses if b else []))
        }
        if n.options.get("com.docker.network.bridge.inhibit_ipv4") == "true":
            continue
        for s in n.subnets:
            if s.gateway and ":" not in s.gateway and s.gateway not in addrs:
                out.append(
                    _f(
                        "bridge_down",
                        "error",
                        "network",
                        [n.name, n.bridge],
                        f"bridge {n.bridge} lost its gateway address {s.gateway} "
                        f"(network {n.name})",
                        why="Containers route everything through the gateway address on the "
                        "bridge: without it they reach nothing outside their subnet.",
                        evidence=[
                            f"IPAM gateway {s.gateway}",
                            f"{n.bridge} addresses: {', '.join(sorted(addrs)) or 'none'}",
                        ],
                        fix=f"ip addr add {s.gateway}/{s.subnet.split('/')[1]} dev {n.bridge} "
                        "and make the host network manager ignore docker interfaces",
                        check=f"ip addr show {n.bridge}",
                        ref="R25",
                    )
                )
    return out


# --------------------------------------------------------------------------- R5


def rule_orphan_bridge(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R5: a br-<12hex> bridge that is not a network of this engine.

    It is a leftover of a removed network or a crash, or it belongs to another
    dockerd on this host: either way it may hold a subnet the pools avoid.
    """
    out = []
    if not _kernel_ok(snap):
        return out
    others = len(snap.engine.daemon.others or [])
    orphans = [b for b in snap.bridges if b.orphan]
    if len(orphans) > 3:  # one finding, not a screenful (several engines on one host)
        return [
            _f(
                "orphan_bridge",
                "warning",
                "bridge",
                [b.name for b in orphans],
                f"{len(orphans)} bridges look Docker-made but are not networks of this engine",
                why="Leftover bridges keep their subnets routed on the host: new networks skip "
                "them, or containers of another engine collide with them.",
                evidence=[
                    f"{b.name}: {', '.join(b.addresses) or 'no address'}, "
                    f"{len(b.interfaces)} port(s)"
                    for b in orphans
                ]
                + (
                    [f"{others} other dockerd process(es) run on this host and may own them"]
                    if others
                    else []
                ),
                fix="for each one no engine on this host has as a network: ip link del <bridge>",
                check="docker network ls --no-trunc; ip -br link show type bridge",
                ref="R5",
            )
        ]
    for b in orphans:
        ev = [
            f"addresses: {', '.join(b.addresses) or 'none'}",
            f"ports: {', '.join(b.interfaces) or 'none'}",
        ]
        if others:
            ev.append(f"{others} other dockerd process(es) run on this host and may own it")
        out.append(
            _f(
                "orphan_bridge",
                "warning",
                "bridge",
                [b.name],
                f"bridge {b.name} looks Docker-made but is not a network of this engine",
                why="A leftover bridge keeps its subnet routed on the host: new networks "
                "skip it, or containers of another engine collide with it.",
                evidence=ev,
                fix=f"if no engine on this host has network id {b.name[3:]}…: ip link del {b.name}",
                check=f"docker network ls --no-trunc | grep {b.name[3:]}; ip -d link show {b.name}",
                ref="R5",
            )
        )
    return out


# --------------------------------------------------------------------------- R6


def rule_mtu_mismatch(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R6: a bridge network's MTU is larger than the egress interface's MTU.

    Small packets pass, large ones (TLS handshakes, downloads) black-hole when
    path-MTU discovery is blocked. The egress interface is the one the kernel
    picks for the default gateway (route lookup, no packet sent).
    """
    out = []
    if not snap.engine.local or not facts.egress_mtu:
        return out
    for n in snap.networks:
        if n.driver != "bridge" or n.internal or not n.bridge:
            continue
        b = snap.bridge(n.bridge)
        link = _link(snap, n.bridge)
        mtu = n.mtu or (b.mtu if b else None) or (link.mtu if link else None) or 1500
        if mtu > facts.egress_mtu:
            out.append(
                _f(
                    "mtu_mismatch",
                    "warning",
                    "network",
                    [n.name, n.bridge],
                    f"network {n.name} MTU {mtu} is larger than the egress interface "
                    f"{facts.egress_iface} MTU {facts.egress_mtu}",
                    why="Containers send packets the uplink can't carry; when ICMP 'frag "
                    "needed' is filtered, TLS handshakes and large transfers hang while "
                    "ping and DNS work.",
                    evidence=[
                        f"{n.bridge} MTU {mtu}"
                        + (" (com.docker.network.driver.mtu)" if n.mtu else ""),
                        f"default via {facts.default_gateway} dev {facts.egress_iface} "
                        f"MTU {facts.egress_mtu}",
                    ],
                    fix=f'set "mtu": {facts.egress_mtu} in daemon.json (default bridge) or '
                    f"-o com.docker.network.driver.mtu={facts.egress_mtu} on the network; "
                    "or clamp TCP MSS",
                    check=f"ip route get {facts.default_gateway}; ip link show {n.bridge}",
                    ref="R6",
                )
            )
    return out


# --------------------------------------------------------------------------- R23


def subnet_capacity(n: Network) -> list[tuple[str, int, int]]:
    """(subnet, usable addresses, endpoints in it) per IPv4 subnet (approximate)."""
    out = []
    eps = [e for e in n.endpoints if e.ipv4]
    for s in n.subnets:
        sn = _net(s.subnet)
        if sn is None or sn.version != 4:
            continue
        rng = _net(s.ip_range) if s.ip_range else sn
        total = rng.num_addresses
        usable = (
            total
            if sn.prefixlen >= 31
            else total
            - ((1 if sn.network_address in rng else 0) + (1 if sn.broadcast_address in rng else 0))
        )
        reserved = set()
        # IPAM.Config may omit the gateway (explicit --subnet on 20.10); the bridge
        # driver still takes the first address for it
        gw = (
            s.gateway
            or next((e.gateway for e in eps if e.gateway), None)
            or (str(sn.network_address + 1) if n.driver == "bridge" and sn.prefixlen < 31 else None)
        )
        if gw:
            reserved.add(gw)
        reserved.update(v for v in s.aux_addresses.values())
        for r in reserved:
            try:
                if ipaddress.ip_address(r) in rng:
                    usable -= 1
            except ValueError:
                pass
        used = sum(1 for e in eps if ipaddress.ip_address(e.ipv4) in rng)
        out.append((s.subnet, usable, used))
    return out


def rule_network_exhausted(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R23: a network has no free addresses (error) or fewer than 10% (warning).

    API >= 1.52 reports Status.IPAM; older engines: subnet (or ip-range) size
    minus network/broadcast/gateway/aux addresses vs endpoints.
    """
    out = []
    for n in snap.networks:
        if n.driver in ("host", "null", "none") or not n.subnets:
            continue
        if n.ips_available is not None:
            total = (n.ips_in_use or 0) + n.ips_available
            rows = [("all subnets", total, n.ips_in_use or 0)]
            source = "Status.IPAM (API >= 1.52)"
        else:
            rows = subnet_capacity(n)
            source = "computed from the subnet size and the endpoints"
        for subnet, usable, used in rows:
            free = usable - used
            if free <= 0:
                sev, msg = "error", f"network {n.name} has no free IPv4 address in {subnet}"
            elif usable >= 10 and free < usable * 0.1:
                sev, msg = (
                    "warning",
                    f"network {n.name} has only {free} free IPv4 addresses in {subnet}",
                )
            else:
                continue
            out.append(
                _f(
                    "network_exhausted",
                    sev,
                    "network",
                    [n.name],
                    msg,
                    why="The next container to join fails with 'no available IPv4 addresses "
                    "on this network's address pools'.",
                    evidence=[f"{used} of {usable} usable addresses in use ({source})"],
                    fix="remove unused containers, or create a larger network and move the "
                    "containers to it",
                    check=f"docker network inspect -f '{{{{json .IPAM}}}} {{{{len .Containers}}}}' {n.name}",
                    ref="R23",
                )
            )
    return out


# --------------------------------------------------------------------------- R8


def rule_resolv_loopback(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R8: the host resolv.conf has only loopback nameservers while containers
    run on the default bridge (which drops loopback servers and falls back to
    Google DNS, unreachable on air-gapped hosts; internal names fail)."""
    out = []
    if not snap.engine.local or not facts.resolv_nameservers:
        return out
    if not all(is_loopback(ns) for ns in facts.resolv_nameservers):
        return out
    hit = []
    for n in _default_bridges(snap):
        for c in _attached(n, snap):
            refs = facts.container_refs.get(c.name)
            if refs and refs.dns:
                continue
            hit.append(c)
    if not hit:
        return out
    ev = [f"{facts.resolv_conf_path}: nameserver " + ", ".join(facts.resolv_nameservers)]
    for c in hit[:5]:
        if c.dns.nameservers:
            ev.append(f"{c.name} resolv.conf: nameserver {', '.join(c.dns.nameservers)}")
    out.append(
        _f(
            "resolv_loopback",
            "warning",
            "container",
            [c.name for c in hit],
            "the host resolv.conf lists only loopback nameservers and "
            f"{len(hit)} container(s) run on the default bridge",
            why="Containers can't reach the host's loopback resolver; Docker drops it and "
            "uses 8.8.8.8/8.8.4.4, so internal names fail and air-gapped hosts resolve "
            "nothing.",
            evidence=ev,
            fix="use a user-defined network (its embedded DNS forwards to the host's "
            'resolver), or set "dns": [<LAN resolver>] in daemon.json / --dns',
            check="cat /etc/resolv.conf; docker exec <container> cat /etc/resolv.conf",
            ref="R8",
        )
    )
    return out


__all__ = [
    "rule_subnet_overlap",
    "rule_macvlan_parent",
    "rule_bridge_port_broken",
    "rule_bridge_down",
    "rule_orphan_bridge",
    "rule_mtu_mismatch",
    "rule_network_exhausted",
    "rule_resolv_loopback",
]
