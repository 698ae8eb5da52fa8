"""dockscope doctor: incident rules over a joined snapshot and the host facts.

Each rule is a small documented function ``rule_xxx(snap, facts) -> list[Finding]``
(see :data:`RULES`). Data comes from :class:`inspectors.model.Snapshot` (engine,
kernel, sandboxes, sockets) and :class:`inspectors.hostfacts.HostFacts`
(sysctls, routes, iptables, daemon.json, resolv.conf), read once by
:func:`inspectors.hostfacts.gather_facts`. Rule ids follow the incident catalog
(R1..R35) of the networking reference where one applies.

:func:`run_doctor` runs every rule; a rule that raises becomes an ``info``
finding naming the rule instead of breaking the others. Never imports Textual.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from inspectors.hostfacts import HostFacts, is_loopback
from inspectors.model import Container, Network, Snapshot

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class Finding:
    rule: str  # rule id (function name without "rule_")
    severity: str  # error | warning | info
    objects: list[str]  # names: containers, networks, interfaces, ports ("8080/tcp")
    message: str  # what is wrong, one line
    why: str = ""  # why it matters
    evidence: list[str] = field(default_factory=list)  # what was read that shows it
    fix: str = ""  # how to fix it
    check: str = ""  # the docker/iproute2 command a human would run to verify
    kind: str = "host"  # kind of objects[0]: container|network|bridge|interface|port|daemon|host
    ref: str | None = None  # incident catalog id (R1..R35)

    @property
    def target(self) -> tuple[str, str]:
        """(kind, name) of the primary object, for a UI jump."""
        return self.kind, (self.objects[0] if self.objects else "")


def _f(rule: str, severity: str, kind: str, objects, message: str, **kw) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        kind=kind,
        objects=[o for o in objects if o],
        message=message,
        **kw,
    )


# --------------------------------------------------------------------------- helpers


def _running(snap: Snapshot) -> list[Container]:
    return [c for c in snap.containers if c.state == "running"]


def _default_bridges(snap: Snapshot) -> list[Network]:
    return [n for n in snap.networks if n.driver == "bridge" and not n.dns_by_name]


def _attached(n: Network, snap: Snapshot) -> list[Container]:
    ids = {e.container_id for e in n.endpoints}
    return [c for c in snap.containers if c.id in ids and c.state == "running"]


def _shares_mode(c: Container) -> bool:
    m = c.network_mode or ""
    return m in ("host", "none") or m.startswith("container:")


def _on_network(c: Container, n: Network) -> bool:
    return (
        any(e.network_id == n.id or e.network == n.name for e in c.endpoints)
        or n.name in c.networks
    )


def _link(snap: Snapshot, name: str | None):
    if not name:
        return None
    return next((l for l in snap.links if l.name == name), None)


def _kernel_ok(snap: Snapshot) -> bool:
    return snap.engine.local and bool(snap.links)


def _proxy_on(facts: HostFacts) -> bool:
    v = facts.daemon_setting("userland-proxy", True)
    return v not in (False, "false")


def _iptables_on(facts: HostFacts) -> bool:
    v = facts.daemon_setting("iptables", True)
    return v not in (False, "false")


def _net(cidr: str):
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


# --------------------------------------------------------------------------- R1


def rule_ip_forward_off(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R1: IPv4 forwarding disabled, globally or on a bridge / the egress interface.

    Containers then have no way out and published ports answer only from the
    host itself. Reads ``/proc/sys/net/ipv4/ip_forward`` and
    ``/proc/sys/net/ipv4/conf/<if>/forwarding``.
    """
    out = []
    if not snap.engine.local:
        return out
    why = (
        "Packets from containers to anything outside their bridge (the internet, other "
        "networks, clients of published ports) are routed by the host; with forwarding "
        "off the kernel drops them."
    )
    if facts.ip_forward == 0:
        ev = [
            f"{facts.proc_root}/sys/net/ipv4/ip_forward = 0"
            + (f" (netns {facts.netns})" if facts.netns else "")
        ]
        if snap.engine.ipv4_forwarding is False:
            ev.append("docker info: IPv4Forwarding false")
        out.append(
            _f(
                "ip_forward_off",
                "error",
                "host",
                ["net.ipv4.ip_forward"],
                "IPv4 forwarding is disabled on the host",
                why=why,
                evidence=ev,
                ref="R1",
                fix="sysctl -w net.ipv4.ip_forward=1 and persist it in /etc/sysctl.d/ "
                "(look for a sysctl profile or network manager that resets it)",
                check="sysctl net.ipv4.ip_forward; docker info | grep -i forwarding",
            )
        )
    for n in snap.networks:
        if n.bridge and facts.forwarding.get(n.bridge) == 0 and not n.internal:
            out.append(
                _f(
                    "ip_forward_off",
                    "error",
                    "network",
                    [n.name, n.bridge],
                    f"forwarding is disabled on bridge {n.bridge} (network {n.name})",
                    why=why + " The per-interface switch overrides the global one.",
                    evidence=[f"net.ipv4.conf.{n.bridge}.forwarding = 0"],
                    ref="R1",
                    fix=f"sysctl -w net.ipv4.conf.{n.bridge}.forwarding=1 (systemd-networkd "
                    "or a sysctl profile may have turned it off)",
                    check=f"sysctl net.ipv4.conf.{n.bridge}.forwarding",
                )
            )
    eg = facts.egress_iface
    if eg and facts.forwarding.get(eg) == 0 and facts.ip_forward != 0:
        out.append(
            _f(
                "ip_forward_off",
                "error",
                "interface",
                [eg],
                f"forwarding is disabled on the egress interface {eg}",
                why=why,
                evidence=[f"net.ipv4.conf.{eg}.forwarding = 0"],
                ref="R1",
                fix=f"sysctl -w net.ipv4.conf.{eg}.forwarding=1",
                check=f"sysctl net.ipv4.conf.{eg}.forwarding",
            )
        )
    return out


# --------------------------------------------------------------------------- R10


def rule_default_bridge_names(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R10: containers on the default bridge that rely on container names.

    The default bridge has no embedded DNS: a name in an env var or the command
    (or a compose service on it) never resolves. Two or more running containers
    there that don't name each other get an info: they can only talk by IP.
    """
    out = []
    for n in _default_bridges(snap):
        members = _attached(n, snap)
        flagged = set()
        for c in members:
            refs = facts.container_refs.get(c.name)
            extra = " ".join(c.extra_hosts)
            if refs:
                for other, how in refs.refs.items():
                    if how == "link" or other in refs.links or other in extra:
                        continue  # legacy links and --add-host do give names
                    o = snap.container(other)
                    if o is not None and _shared_dns_network(snap, c, o):
                        continue
                    flagged.add(c.name)
                    out.append(
                        _f(
                            "default_bridge_names",
                            "warning",
                            "container",
                            [c.name, other],
                            f"{c.name} refers to {other} by name ({how}) but runs on the "
                            f"default bridge, which has no DNS",
                            why="Only user-defined networks have the embedded DNS server "
                            "(127.0.0.11); on the default bridge the name does not "
                            "resolve and connections fail with 'bad address' / "
                            "'could not resolve host'.",
                            evidence=[
                                f"{c.name}: network mode {c.network_mode or 'default'}",
                                f"{c.name} {how} mentions '{other}'",
                            ],
                            fix=f"docker network create appnet && docker network connect appnet "
                            f"{c.name} && docker network connect appnet {other} (or run "
                            "both with --network appnet)",
                            check=f"docker inspect -f '{{{{json .NetworkSettings.Networks}}}}' {c.name}",
                            ref="R10",
                        )
                    )
            proj = c.labels.get("com.docker.compose.project")
            if proj and c.name not in flagged:
                flagged.add(c.name)
                svc = c.labels.get("com.docker.compose.service", c.name)
                out.append(
                    _f(
                        "default_bridge_names",
                        "warning",
                        "container",
                        [c.name],
                        f"compose service {svc} (project {proj}) runs on the default bridge: "
                        "service names do not resolve there",
                        why="Compose relies on service names through the embedded DNS of "
                        "a user-defined network; network_mode: bridge disables it.",
                        evidence=[
                            f"label com.docker.compose.project={proj}",
                            f"attached to {n.name} ({n.bridge})",
                        ],
                        fix="remove network_mode: bridge from the compose file (compose then "
                        "creates <project>_default) or attach a user-defined network",
                        check=f"docker inspect -f '{{{{.HostConfig.NetworkMode}}}}' {c.name}",
                        ref="R10",
                    )
                )
        # those with no user-defined network can only ever talk by IP
        rest = [
            c.name
            for c in members
            if c.name not in flagged
            and not any((m := snap.network(x)) is not None and m.dns_by_name for x in c.networks)
        ]
        if len(rest) >= 2:
            out.append(
                _f(
                    "default_bridge_names",
                    "info",
                    "network",
                    [n.name] + rest,
                    f"{len(rest)} running containers share only the default bridge {n.name}: "
                    "they can reach each other only by IP address",
                    why="Names, aliases and service discovery need a user-defined network.",
                    evidence=[f"only on {n.name}: {', '.join(rest)}"],
                    fix="put containers that talk to each other on a user-defined network",
                    check=f"docker network inspect {n.name}",
                    ref="R10",
                )
            )
    return out


def _shared_dns_network(snap: Snapshot, a: Container, b: Container) -> bool:
    for name in set(a.networks) & set(b.networks):
        n = snap.network(name)
        if n is not None and n.dns_by_name:
            return True
    return False


# --------------------------------------------------------------------------- R11


def rule_peers_no_common_network(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R11: two containers that should talk share no network.

    "Should talk": same compose project, or one names the other in its env,
    command or legacy links. With no common network the traffic has to cross
    bridges, which Docker's isolation rules drop.
    """
    out = []
    pairs: dict[tuple[str, str], str] = {}
    byproj: dict[str, list[Container]] = {}
    for c in snap.containers:
        p = c.labels.get("com.docker.compose.project")
        if p:
            byproj.setdefault(p, []).append(c)
    for p, cs in byproj.items():
        for i, a in enumerate(cs):
            for b in cs[i + 1 :]:
                pairs.setdefault(tuple(sorted((a.name, b.name))), f"same compose project {p}")
    for name, refs in facts.container_refs.items():
        for other, how in refs.refs.items():
            pairs.setdefault(tuple(sorted((name, other))), f"{name} names {other} ({how})")
    for (an, bn), reason in sorted(pairs.items()):
        a, b = snap.container(an), snap.container(bn)
        if a is None or b is None or _shares_mode(a) or _shares_mode(b):
            continue
        if a.state != "running" and b.state != "running":
            continue
        if not a.networks or not b.networks:
            continue
        if set(a.networks) & set(b.networks):
            continue
        out.append(
            _f(
                "peers_no_common_network",
                "warning",
                "container",
                [an, bn],
                f"{an} and {bn} share no network",
                why="Containers reach each other only over a network they both joined; "
                "traffic between two bridge networks is dropped by Docker's isolation "
                "rules (DOCKER-ISOLATION chains).",
                evidence=[
                    reason,
                    f"{an}: {', '.join(a.networks)}",
                    f"{bn}: {', '.join(b.networks)}",
                ],
                fix=f"docker network connect {next(iter(b.networks))} {an}",
                check=f"dockscope path {an} {bn}",
                ref="R11",
            )
        )
    return out


# --------------------------------------------------------------------------- R14


def _listeners_on(snap: Snapshot, proto: str, port: int, host_ip: str | None):
    out = []
    for l in snap.listeners:
        if l.protocol != proto or l.port != port:
            continue
        if host_ip in (None, "", "0.0.0.0", "::") or l.ip in ("0.0.0.0", "::", host_ip):
            out.append(l)
    return out


def rule_port_conflict(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R14/R35: a published port held by another process, or not bound at all.

    * a created/exited container requests a host port that another process
      (or another container's docker-proxy) already holds: it cannot start;
    * a running container's published port has no host listener although
      the userland proxy is on (docker-proxy died or was killed).
    """
    out = []
    if not snap.engine.local or not snap.listeners:
        return out
    ip_owner = {
        e.ipv4: c.name for c in snap.containers for e in c.endpoints if e.ipv4 and e.attached
    }
    for c in snap.containers:
        if _shares_mode(c) and (c.network_mode or "") == "host":
            continue
        seen = set()
        for p in c.ports:
            if not p.host_port or p.protocol not in ("tcp", "udp"):
                continue
            key = (p.protocol, p.host_port)
            if key in seen:
                continue
            seen.add(key)
            obj = f"{p.host_port}/{p.protocol}"
            hold = _listeners_on(snap, p.protocol, p.host_port, p.host_ip)
            if c.state != "running" and p.requested:
                for l in hold:
                    if l.owner == "docker-proxy":
                        who = f"docker-proxy of {l.container or ip_owner.get(l.container_ip or '', '?')}"
                    else:
                        who = f"{l.process or 'unknown process'} (pid {l.pid})"
                    out.append(
                        _f(
                            "port_conflict",
                            "error",
                            "container",
                            [c.name, obj],
                            f"{c.name} requests host port {obj} but {who} holds it: "
                            "the container cannot start",
                            why="dockerd must bind the host port to publish it; start fails "
                            "with 'address already in use' or 'port is already allocated'.",
                            evidence=[
                                f"HostConfig.PortBindings {p.container_port}/{p.protocol} -> "
                                f"{p.host_ip or '0.0.0.0'}:{p.host_port}",
                                f"listener {l.ip}:{l.port} pid {l.pid} {l.process or ''}".strip(),
                            ],
                            fix=f"stop the process holding {obj} or publish another port "
                            f"(-p <free>:{p.container_port})",
                            check=f"ss -ltnup 'sport = :{p.host_port}'",
                            ref="R14",
                        )
                    )
                    break
            elif c.state == "running" and not hold and _proxy_on(facts):
                out.append(
                    _f(
                        "port_conflict",
                        "error",
                        "container",
                        [c.name, obj],
                        f"{c.name} publishes {obj} but nothing listens on the host port",
                        why="With the userland proxy on, docker-proxy holds every published "
                        "port; without it, connections from the host itself (localhost) "
                        "get 'connection refused'.",
                        evidence=[
                            f"NetworkSettings.Ports {p.container_port}/{p.protocol} -> "
                            f"{p.host_ip or '0.0.0.0'}:{p.host_port}",
                            f"no {p.protocol} listener on port {p.host_port} in the host netns",
                            "userland-proxy: on",
                        ],
                        fix=f"docker restart {c.name} (recreates the proxy); if it recurs, "
                        "look for an OOM kill or a cleanup script hitting docker-proxy",
                        check=f"ss -ltnup 'sport = :{p.host_port}'; docker port {c.name}",
                        ref="R35",
                    )
                )
    return out


# --------------------------------------------------------------------------- R12


def rule_port_loopback_only(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R12: a port published on 127.0.0.1 (or ::1) only: other hosts can't connect."""
    out = []
    for c in _running(snap):
        groups: dict[tuple[int, str], list] = {}
        for p in c.ports:
            if p.host_port:
                groups.setdefault((p.container_port, p.protocol), []).append(p)
        for (cport, proto), ps in sorted(groups.items()):
            ips = {p.host_ip or "0.0.0.0" for p in ps}
            if ips and all(is_loopback(ip) for ip in ips):
                hp = ps[0].host_port
                out.append(
                    _f(
                        "port_loopback_only",
                        "info",
                        "container",
                        [c.name, f"{hp}/{proto}"],
                        f"{c.name} publishes {cport}/{proto} on {', '.join(sorted(ips))}:{hp} "
                        "only: reachable from this host, not from other machines",
                        why="A loopback binding is deliberate for local-only services; if "
                        "clients on the LAN must reach it they get 'connection refused'.",
                        evidence=[f"{ip}:{hp}->{cport}/{proto}" for ip in sorted(ips)],
                        fix=f"publish with -p {hp}:{cport} (all addresses) or a LAN address "
                        f"-p <host-ip>:{hp}:{cport}",
                        check=f"docker port {c.name} {cport}/{proto}",
                        ref="R12",
                    )
                )
    return out


# --------------------------------------------------------------------------- R13


def rule_container_not_listening(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R13: nothing listens in the container on a published port, or only on 127.0.0.1.

    DNAT and docker-proxy deliver to the container's eth0 address, so an app
    bound to loopback inside (or not listening) gives 'connection reset' or
    'empty reply'. Reads ``/proc/<pid>/net/tcp*`` (udp*) of the container.
    """
    out = []
    if not snap.engine.local or os.geteuid() != 0:
        return out
    from inspectors.sockets import read_netns_listeners

    for c in _running(snap):
        if not c.pid or _shares_mode(c):
            continue
        wanted = sorted(
            {
                (p.container_port, p.protocol)
                for p in c.ports
                if p.host_port and p.protocol in ("tcp", "udp")
            }
        )
        if not wanted:
            continue
        try:
            ls = read_netns_listeners(c.pid, with_pids=False)
        except (OSError, ProcessLookupError):
            continue
        for cport, proto in wanted:
            mine = [l for l in ls if l.protocol == proto and l.port == cport]
            obj = f"{cport}/{proto}"
            if not mine:
                out.append(
                    _f(
                        "container_not_listening",
                        "error",
                        "container",
                        [c.name, obj],
                        f"nothing listens on {obj} inside {c.name} although it is published",
                        why="The published port forwards to the container's port; with no "
                        "listener clients get 'connection refused' or a reset.",
                        evidence=[
                            f"/proc/{c.pid}/net/{proto}{{,6}}: no socket on port {cport}",
                            "listening inside: "
                            + (", ".join(f"{l.ip}:{l.port}/{l.protocol}" for l in ls) or "nothing"),
                        ],
                        fix="check the app's listen port/config (or it is still starting); "
                        "publish the port the app really uses",
                        check=f"nsenter -t {c.pid} -n ss -ltnu",
                        ref="R13",
                    )
                )
            elif all(is_loopback(l.ip) for l in mine):
                out.append(
                    _f(
                        "container_not_listening",
                        "error",
                        "container",
                        [c.name, obj],
                        f"{c.name} listens on {obj} only on "
                        f"{', '.join(sorted({l.ip for l in mine}))} inside the container",
                        why="Published traffic arrives on the container's eth0 address, not on "
                        "loopback: clients get 'connection reset by peer' / 'empty reply'.",
                        evidence=[f"/proc/{c.pid}/net/{proto}: {l.ip}:{l.port}" for l in mine],
                        fix="make the app listen on 0.0.0.0 (e.g. --host 0.0.0.0, "
                        "bind-address=0.0.0.0)",
                        check=f"nsenter -t {c.pid} -n ss -ltnu",
                        ref="R13",
                    )
                )
    return out


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
            for r in facts.routes:
                if r.dst == "default" or r.type not in ("unicast", None) or r.dev in own:
                    continue
                rn = _net(r.dst)
                if rn is None or rn.version != sn.version or rn.is_link_local:
                    continue
                if rn.overlaps(sn):
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
            if not p.container and p.kind != "veth":
                continue
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
                        fix="systemctl restart docker (recreates bridges)",
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


# --------------------------------------------------------------------------- R2


def _forward_rules_for(facts: HostFacts, bridge: str) -> list[str]:
    return [
        r
        for r in facts.iptables.rules.get("filter", [])
        if r.startswith("-A FORWARD") and (f"-o {bridge} " in r + " " or f"-i {bridge} " in r + " ")
    ]


def rule_forward_policy_drop(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R2: iptables FORWARD policy DROP without accept rules for a bridge.

    Docker sets FORWARD to DROP and adds per-bridge accepts. A network bridge
    with none of them (rules flushed) loses all forwarded traffic; a non-Docker
    bridge (libvirt, LXD) with none is cut off by Docker's DROP when
    br_netfilter passes bridged frames through iptables.
    """
    out = []
    ipt = facts.iptables
    if not snap.engine.local or not ipt.available or ipt.policy("filter", "FORWARD") != "DROP":
        return out
    accept_all = any(r.strip() in ("-A FORWARD -j ACCEPT",) for r in ipt.rules.get("filter", []))
    if accept_all:
        return out
    own = {n.bridge: n for n in snap.networks if n.bridge and n.driver == "bridge"}
    for br, n in sorted(own.items()):
        if not _attached(n, snap) or _forward_rules_for(facts, br):
            continue
        out.append(
            _f(
                "forward_policy_drop",
                "error",
                "network",
                [n.name, br],
                f"iptables FORWARD policy is DROP and no rule accepts traffic of {br} "
                f"(network {n.name})",
                why="Container traffic leaving or entering the bridge (internet access, "
                "published ports from other hosts) is dropped.",
                evidence=[":FORWARD DROP", f"no -A FORWARD rule with -i/-o {br}"]
                + ([f"read in netns {facts.netns}"] if facts.netns else []),
                fix="systemctl restart docker (re-creates its rules); find what flushed them "
                "(firewalld reload, iptables-restore, netfilter-persistent)",
                check="iptables -S FORWARD",
                ref="R2",
            )
        )
    if facts.bridge_nf_call_iptables == 1:
        for b in snap.bridges:
            if b.name in own or b.docker_owned:
                continue
            if _forward_rules_for(facts, b.name) or not b.ports:
                continue
            out.append(
                _f(
                    "forward_policy_drop",
                    "warning",
                    "bridge",
                    [b.name],
                    f"non-Docker bridge {b.name} has no FORWARD accept while the policy is "
                    "DROP and br_netfilter filters bridged frames",
                    why="Docker's FORWARD DROP also hits VMs/LXD guests on other bridges "
                    "when bridge-nf-call-iptables=1.",
                    evidence=[
                        ":FORWARD DROP",
                        "net.bridge.bridge-nf-call-iptables = 1",
                        f"{b.name} ports: {', '.join(b.interfaces)}",
                    ],
                    fix=f"iptables -I DOCKER-USER -i {b.name} -o {b.name} -j ACCEPT "
                    '(or "ip-forward-no-drop": true on Docker 28+)',
                    check="iptables -S FORWARD; sysctl net.bridge.bridge-nf-call-iptables",
                    ref="R2",
                )
            )
    return out


# --------------------------------------------------------------------------- R18


DOCKER_CHAINS = (
    ("filter", "DOCKER"),
    ("filter", "DOCKER-USER"),
    ("filter", "DOCKER-ISOLATION-STAGE-1"),
    ("nat", "DOCKER"),
)


def rule_docker_chains_missing(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R18: Docker's iptables chains are missing (a firewall reload wiped them)."""
    out = []
    ipt = facts.iptables
    if not snap.engine.local or not ipt.available or not _iptables_on(facts):
        return out
    if facts.daemon_setting("firewall-backend") == "nftables":
        return out
    if not any(n.driver == "bridge" for n in snap.networks):
        return out
    missing = [f"{t}/{c}" for t, c in DOCKER_CHAINS if not ipt.has_chain(t, c)]
    if not missing:
        return out
    out.append(
        _f(
            "docker_chains_missing",
            "error",
            "host",
            missing,
            "Docker's iptables chains are missing: " + ", ".join(missing),
            why="Without them published ports have no DNAT and containers have no "
            "forwarding/masquerade: every published port and container egress is dead.",
            evidence=[
                f"{ipt.command} ({ipt.variant or 'unknown variant'}) has no chain "
                + ", ".join(missing)
            ]
            + ([f"read in netns {facts.netns}"] if facts.netns else []),
            fix="systemctl restart docker (live-restore keeps containers); stop whatever "
            "reloads the firewall without Docker (firewalld reload, iptables-restore)",
            check="iptables -t nat -S DOCKER; iptables -S DOCKER-USER",
            ref="R18",
        )
    )
    return out


def rule_dnat_missing(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R18/R35: a running container's published port has no DNAT rule.

    Traffic from other hosts to the port never reaches the container (the
    userland proxy still answers on the host itself, which hides the fault).
    """
    out = []
    ipt = facts.iptables
    if (
        not snap.engine.local
        or not ipt.available
        or not _iptables_on(facts)
        or not ipt.has_chain("nat", "DOCKER")
    ):
        return out
    for c in _running(snap):
        if _shares_mode(c):
            continue
        ips = {e.ipv4 for e in c.endpoints if e.ipv4}
        seen = set()
        for p in c.ports:
            if not p.host_port or p.protocol not in ("tcp", "udp") or ":" in (p.host_ip or ""):
                continue
            key = (p.protocol, p.host_port, p.container_port)
            if key in seen:
                continue
            seen.add(key)
            ok = any(
                d.proto == p.protocol
                and d.dport == p.host_port
                and d.to_ip in ips
                and d.to_port in (None, p.container_port)
                for d in ipt.dnat
            )
            if ok:
                continue
            out.append(
                _f(
                    "dnat_missing",
                    "error",
                    "container",
                    [c.name, f"{p.host_port}/{p.protocol}"],
                    f"no DNAT rule for {c.name}'s published port "
                    f"{p.host_port}/{p.protocol} -> {p.container_port}",
                    why="Clients on other machines can't reach the port; only the host "
                    "itself (through docker-proxy) can. Usually a firewall reload or "
                    "another dockerd flushed the DOCKER chain.",
                    evidence=[
                        f"container IPs: {', '.join(sorted(ips)) or 'none'}",
                        f"nat DOCKER chain: {len(ipt.dnat)} DNAT rule(s), none for "
                        f"--dport {p.host_port}",
                    ]
                    + ([f"read in netns {facts.netns}"] if facts.netns else []),
                    fix=f"docker restart {c.name} (re-adds its rules) or restart dockerd",
                    check=f"iptables -t nat -S DOCKER | grep -- '--dport {p.host_port}'",
                    ref="R18",
                )
            )
    return out


def rule_iptables_variant(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R19: iptables disabled in daemon.json/flags, or DOCKER chains in both the
    legacy and the nf_tables rulesets (two tools fighting)."""
    out = []
    if not snap.engine.local:
        return out
    if not _iptables_on(facts):
        out.append(
            _f(
                "iptables_variant",
                "warning",
                "daemon",
                ["iptables"],
                "dockerd runs (or will run) with iptables disabled",
                why="Docker then adds no NAT, no port DNAT and no isolation: containers have "
                "no egress and published ports work only via docker-proxy on the host.",
                evidence=[
                    f"daemon setting iptables = {facts.daemon_setting('iptables')}"
                    f" ({facts.daemon_config_path})"
                ],
                fix='remove "iptables": false from daemon.json (restart dockerd)',
                check="docker info; iptables -t nat -S POSTROUTING",
                ref="R19",
            )
        )
    if facts.daemon_setting("ip-masq", True) in (False, "false"):
        out.append(
            _f(
                "iptables_variant",
                "warning",
                "daemon",
                ["ip-masq"],
                "dockerd has IP masquerading disabled",
                why="Container traffic leaves with private source addresses: no internet.",
                evidence=[f"daemon setting ip-masq = {facts.daemon_setting('ip-masq')}"],
                fix='remove "ip-masq": false (restart dockerd)',
                check="iptables -t nat -S POSTROUTING",
                ref="R19",
            )
        )
    ipt = facts.iptables
    if ipt.available and ipt.other_variant_docker:
        out.append(
            _f(
                "iptables_variant",
                "error",
                "host",
                ["iptables"],
                f"DOCKER chains exist in both iptables variants ({ipt.variant} and "
                f"{ipt.other_variant})",
                why="Rules in one variant are invisible to the other tool; the host firewall "
                "and Docker may be editing different rulesets.",
                evidence=[ipt.version or "", f"{ipt.other_variant} also lists DOCKER chains"],
                fix="pick one (update-alternatives --config iptables), flush the other, "
                "restart dockerd",
                check="iptables-legacy-save | grep DOCKER; iptables-nft-save | grep DOCKER",
                ref="R19",
            )
        )
    return out


# --------------------------------------------------------------------------- R29


KNOWN_DAEMON_KEYS = {
    "allow-nondistributable-artifacts",
    "api-cors-header",
    "authorization-plugins",
    "bip",
    "bip6",
    "bridge",
    "builder",
    "cdi-spec-dirs",
    "cgroup-parent",
    "containerd",
    "containerd-namespace",
    "containerd-plugins-namespace",
    "cluster-advertise",
    "cluster-store",
    "cluster-store-opts",
    "data-root",
    "debug",
    "default-address-pools",
    "default-cgroupns-mode",
    "default-gateway",
    "default-gateway-v6",
    "default-ipc-mode",
    "default-network-opts",
    "default-runtime",
    "default-shm-size",
    "default-ulimits",
    "dns",
    "dns-opts",
    "dns-search",
    "exec-opts",
    "exec-root",
    "experimental",
    "features",
    "fixed-cidr",
    "fixed-cidr-v6",
    "firewall-backend",
    "group",
    "host-gateway-ip",
    "host-gateway-ips",
    "hosts",
    "http-proxy",
    "https-proxy",
    "icc",
    "init",
    "init-path",
    "insecure-registries",
    "ip",
    "ip-forward",
    "ip-forward-no-drop",
    "ip-masq",
    "ip6tables",
    "iptables",
    "ipv6",
    "labels",
    "live-restore",
    "log-driver",
    "log-format",
    "log-level",
    "log-opts",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "max-download-attempts",
    "min-api-version",
    "mtu",
    "no-new-privileges",
    "no-proxy",
    "node-generic-resources",
    "oom-score-adjust",
    "pidfile",
    "proxies",
    "raw-logs",
    "registry-mirrors",
    "runtimes",
    "seccomp-profile",
    "selinux-enabled",
    "shutdown-timeout",
    "storage-driver",
    "storage-opts",
    "swarm-default-advertise-addr",
    "tls",
    "tlscacert",
    "tlscert",
    "tlskey",
    "tlsverify",
    "userland-proxy",
    "userland-proxy-path",
    "userns-remap",
    "allow-direct-routing",
    "bridge-accept-fwmark",
    "cpu-rt-period",
    "cpu-rt-runtime",
    "default-runtime",
    "disable-legacy-registry",
    "graph",
    "metrics-addr",
    "network-control-plane-mtu",
    "rootless",
    "cri-containerd",
    "userland-proxy-hairpin",
    "deprecated-key-path",
    "storage-opt",
    "validate",
}


def rule_daemon_config(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R29: daemon.json does not parse, sets a key also given as a dockerd flag
    (dockerd refuses to start), or has keys dockerd does not know."""
    out = []
    path = facts.daemon_config_path
    if not path:
        return out
    chk = f"python3 -m json.tool {path}; dockerd --validate --config-file {path}"
    fixr = " (then reload/restart dockerd; it is running on its old config until then)"
    if facts.daemon_config_error:
        out.append(
            _f(
                "daemon_config",
                "error",
                "daemon",
                [path],
                f"daemon.json is invalid: {facts.daemon_config_error}",
                why="dockerd reads it at start and on reload: a restart fails and the engine "
                "stays down ('start request repeated too quickly').",
                evidence=[facts.daemon_config_error],
                ref="R29",
                fix="fix the JSON syntax" + fixr,
                check=chk,
            )
        )
        return out
    cfg = facts.daemon_config or {}
    try:
        from inspectors.daemon import daemon_flag_keys
    except ImportError:  # pragma: no cover

        def daemon_flag_keys(flags):
            return {f: f.lstrip("-") for f in flags}

    flat = set(cfg)
    for k, v in cfg.items():
        if k == "proxies" and isinstance(v, dict):
            flat.update(f"proxies.{x}" for x in v)
    conflicts = []
    for flag, key in daemon_flag_keys(facts.daemon_flags).items():
        if key in flat:
            conflicts.append((flag, key))
    if conflicts:
        out.append(
            _f(
                "daemon_config",
                "error",
                "daemon",
                [path] + [k for _, k in conflicts],
                "daemon.json sets "
                + ", ".join(k for _, k in conflicts)
                + " which dockerd also gets as a flag",
                why="dockerd refuses to start: 'the following directives are specified both "
                "as a flag and in the configuration file'. The next restart fails.",
                evidence=[
                    f'flag {f} {" ".join(facts.daemon_flags.get(f, []))} and "{k}" in {path}'
                    for f, k in conflicts
                ],
                ref="R29",
                fix="remove the key from daemon.json or the flag from the service "
                "(systemctl edit docker)" + fixr,
                check=chk,
            )
        )
    unknown = sorted(k for k in cfg if k not in KNOWN_DAEMON_KEYS)
    if unknown:
        out.append(
            _f(
                "daemon_config",
                "warning",
                "daemon",
                [path] + unknown,
                "daemon.json has unknown keys: " + ", ".join(unknown),
                why="dockerd rejects unknown keys at start ('invalid directive') unless "
                "it is a newer engine that knows them.",
                evidence=[f"{path}: {k}" for k in unknown],
                ref="R29",
                fix="remove or correct the key (typos: 'registry-mirror' vs "
                "'registry-mirrors')" + fixr,
                check=chk,
            )
        )
    return out


# --------------------------------------------------------------------------- R27


def rule_conntrack_full(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R27: the conntrack table is near full (>= 90% error, >= 75% warning)."""
    out = []
    c, m = facts.conntrack_count, facts.conntrack_max
    if not snap.engine.local or c is None or not m:
        return out
    ratio = c / m
    if ratio < 0.75:
        return out
    sev = "error" if ratio >= 0.9 else "warning"
    out.append(
        _f(
            "conntrack_full",
            sev,
            "host",
            ["nf_conntrack"],
            f"conntrack table {ratio:.0%} full ({c} of {m})",
            why="When it is full the kernel drops new connections ('nf_conntrack: table "
            "full, dropping packet'): random timeouts for NATed container traffic.",
            evidence=[
                f"{facts.proc_root}/sys/net/netfilter/nf_conntrack_count = {c}",
                f"{facts.proc_root}/sys/net/netfilter/nf_conntrack_max = {m}",
            ],
            fix="raise net.netfilter.nf_conntrack_max (and nf_conntrack_buckets), or lower "
            "timeouts; find the connection storm (conntrack -S)",
            check="sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max; "
            "dmesg | grep conntrack",
            ref="R27",
        )
    )
    return out


# --------------------------------------------------------------------------- R3


def rule_br_netfilter(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R3: br_netfilter missing (or bridge-nf-call-iptables=0) while a network
    disables ICC or the userland proxy is off: then ICC is not enforced and
    hairpin / same-bridge published-port access fails."""
    out = []
    if not snap.engine.local or facts.bridge_nf_call_iptables == 1:
        return out
    needs = [n.name for n in snap.networks if n.driver == "bridge" and not n.icc]
    proxy_off = not _proxy_on(facts)
    if not needs and not proxy_off:
        return out
    state = (
        "br_netfilter not loaded"
        if facts.bridge_nf_call_iptables is None
        else "net.bridge.bridge-nf-call-iptables = 0"
    )
    out.append(
        _f(
            "br_netfilter",
            "warning",
            "network" if needs else "daemon",
            needs or ["userland-proxy"],
            f"{state}, but "
            + (
                f"network(s) {', '.join(needs)} disable ICC"
                if needs
                else "the userland proxy is off"
            ),
            why="Bridged frames skip iptables: enable_icc=false is not enforced and, "
            "without the proxy, containers can't reach published ports on their own bridge.",
            evidence=[state]
            + [f"{n}: com.docker.network.bridge.enable_icc=false" for n in needs]
            + (["userland-proxy: false"] if proxy_off else []),
            fix="modprobe br_netfilter; sysctl -w net.bridge.bridge-nf-call-iptables=1 "
            "(persist in /etc/modules-load.d and /etc/sysctl.d)",
            check="lsmod | grep br_netfilter; sysctl net.bridge.bridge-nf-call-iptables",
            ref="R3",
        )
    )
    return out


# --------------------------------------------------------------------------- R34


def rule_isolation_by_design(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R34: internal networks (no egress) and networks with ICC disabled that have
    running containers: expected isolation, listed so it isn't debugged as a fault."""
    out = []
    for n in snap.networks:
        members = _attached(n, snap)
        if not members:
            continue
        if n.internal:
            out.append(
                _f(
                    "isolation_by_design",
                    "info",
                    "network",
                    [n.name],
                    f"network {n.name} is internal: its {len(members)} container(s) have no "
                    "way out and its ports are not published",
                    why="--internal removes the gateway route/NAT; the embedded DNS does not "
                    "forward outside names.",
                    evidence=["Internal: true"],
                    fix="connect the containers that need egress to a second, non-internal network",
                    check=f"docker network inspect -f '{{{{.Internal}}}}' {n.name}",
                    ref="R34",
                )
            )
        if not n.icc and n.driver == "bridge":
            out.append(
                _f(
                    "isolation_by_design",
                    "info",
                    "network",
                    [n.name],
                    f"network {n.name} disables inter-container communication",
                    why="Containers on it can't talk to each other, only to the outside and "
                    "through published ports.",
                    evidence=["com.docker.network.bridge.enable_icc=false"],
                    fix="recreate the network without enable_icc=false if they must talk",
                    check=f"docker network inspect -f '{{{{json .Options}}}}' {n.name}",
                    ref="R34",
                )
            )
    return out


# --------------------------------------------------------------------------- R15


def rule_stale_docker_proxy(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """R15: a docker-proxy forwards to an address of this engine's networks that
    no running container has (left over: it holds the host port)."""
    out = []
    if not snap.engine.local or not snap.listeners:
        return out
    try:
        from inspectors.sockets import proxy_target
    except ImportError:  # pragma: no cover
        return out
    nets = [(n, _net(s.subnet)) for n in snap.networks for s in n.subnets]
    live = {e.ipv4 for c in _running(snap) for e in c.endpoints if e.ipv4}
    seen = set()
    for l in snap.listeners:
        tgt = proxy_target(l.cmdline) if l.cmdline else None
        if not tgt or "docker-proxy" not in (l.process or os.path.basename(l.cmdline[0])):
            continue
        proto, hip, hport, cip, cport = tgt
        try:
            a = ipaddress.ip_address(cip)
        except ValueError:
            continue
        owner = next(
            (n for n, sn in nets if sn is not None and sn.version == a.version and a in sn), None
        )
        if owner is None or cip in live or (l.pid, hport) in seen:
            continue
        seen.add((l.pid, hport))
        out.append(
            _f(
                "stale_docker_proxy",
                "warning",
                "port",
                [f"{hport}/{proto}", owner.name],
                f"docker-proxy (pid {l.pid}) holds host port {hport}/{proto} for "
                f"{cip}:{cport}, which no running container has",
                why="The port stays 'already allocated' for new containers and clients "
                "connect to nothing.",
                evidence=[
                    " ".join(l.cmdline),
                    f"{cip} is in network {owner.name}, no running container owns it",
                ],
                fix="restart dockerd (it reaps stale proxies); kill the pid only if no "
                "container uses the port",
                check=f"ps -o pid,ppid,args -p {l.pid}; docker ps --filter publish={hport}",
                ref="R15",
            )
        )
    return out


# --------------------------------------------------------------------------- runner

RULES = [
    rule_ip_forward_off,
    rule_default_bridge_names,
    rule_peers_no_common_network,
    rule_port_conflict,
    rule_port_loopback_only,
    rule_container_not_listening,
    rule_subnet_overlap,
    rule_macvlan_parent,
    rule_bridge_port_broken,
    rule_bridge_down,
    rule_orphan_bridge,
    rule_mtu_mismatch,
    rule_network_exhausted,
    rule_resolv_loopback,
    rule_forward_policy_drop,
    rule_docker_chains_missing,
    rule_dnat_missing,
    rule_iptables_variant,
    rule_daemon_config,
    rule_conntrack_full,
    rule_br_netfilter,
    rule_isolation_by_design,
    rule_stale_docker_proxy,
]


def rule_names() -> list[str]:
    return [r.__name__[len("rule_") :] for r in RULES]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.rule, f.objects))


def run_doctor(snap: Snapshot, facts: HostFacts | None = None, rules=None) -> list[Finding]:
    """Every rule over ``snap`` (facts gathered when not given), sorted by severity."""
    if facts is None:
        from inspectors.hostfacts import gather_facts

        facts = gather_facts(snap)
    out: list[Finding] = []
    if not snap.engine.reachable:
        out.append(
            _f(
                "engine_unreachable",
                "error",
                "host",
                [snap.engine.host or "engine"],
                f"the engine is not reachable: {snap.engine.error or 'unknown error'}",
                why="Nothing about containers and networks can be checked.",
                fix="start dockerd / check DOCKER_HOST and permissions on the socket",
                check="docker version",
            )
        )
    for rule in rules or RULES:
        try:
            out.extend(rule(snap, facts))
        except Exception as e:  # noqa: BLE001 - one broken rule must not hide the others
            out.append(
                _f(
                    rule.__name__[5:],
                    "info",
                    "host",
                    [],
                    f"rule {rule.__name__[5:]} could not run: {type(e).__name__}: {e}",
                )
            )
    return sort_findings(out)


def summarize(findings: list[Finding]) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out


def finding_dict(f: Finding) -> dict:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "objects": list(f.objects),
        "kind": f.kind,
        "message": f.message,
        "why": f.why,
        "evidence": list(f.evidence),
        "fix": f.fix,
        "check": f.check,
        "ref": f.ref,
    }


__all__ = [
    "Finding",
    "RULES",
    "run_doctor",
    "rule_names",
    "sort_findings",
    "summarize",
    "finding_dict",
    "subnet_capacity",
    "SEVERITIES",
] + [r.__name__ for r in RULES]
