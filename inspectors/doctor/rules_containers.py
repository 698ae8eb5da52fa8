"""Doctor rules about containers: names, peers, published ports (R10-R14)."""

from __future__ import annotations

import os

from inspectors.doctor.common import (
    _attached,
    _default_bridges,
    _proxy_on,
    _running,
    _shares_mode,
)
from inspectors.doctor.findings import Finding, _f
from inspectors.hostfacts import HostFacts, is_loopback
from inspectors.model import Container, Snapshot

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
    by_name = {c.name: c for c in snap.containers}
    nets = {c.name: frozenset(c.networks) for c in snap.containers}

    def apart(an: str, bn: str) -> bool:
        """Both joined networks and none in common (what the rule reports): tested
        before a pair is kept, so a large compose project costs no list of every pair."""
        na, nb = nets.get(an), nets.get(bn)
        return na is None or nb is None or (bool(na) and bool(nb) and not na & nb)

    pairs: dict[tuple[str, str], str] = {}
    byproj: dict[str, list[Container]] = {}
    for c in snap.containers:
        p = c.labels.get("com.docker.compose.project")
        if p:
            byproj.setdefault(p, []).append(c)
    for p, cs in byproj.items():
        for i, a in enumerate(cs):
            for b in cs[i + 1 :]:
                if apart(a.name, b.name):
                    pairs.setdefault(tuple(sorted((a.name, b.name))), f"same compose project {p}")
    for name, refs in facts.container_refs.items():
        for other, how in refs.refs.items():
            pairs.setdefault(tuple(sorted((name, other))), f"{name} names {other} ({how})")
    for (an, bn), reason in sorted(pairs.items()):
        a = by_name.get(an) or snap.container(an)
        b = by_name.get(bn) or snap.container(bn)
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
    'empty reply'. Asks the container's namespace by sock_diag (inspectors.doctor.listen).
    """
    out = []
    if not snap.engine.local or os.geteuid() != 0:
        return out
    from inspectors.doctor.listen import container_listeners
    from inspectors.model import Listener

    todo = []
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
        if wanted:
            todo.append((c, wanted))
    got = container_listeners([(c.id, c.pid, any(pr == "udp" for _p, pr in w)) for c, w in todo])
    for c, wanted in todo:
        raw = got.get(c.id)
        if raw is None:
            continue  # gone, or its namespace could not be entered
        ls = [Listener(protocol=pr, ip=ip, port=port) for ip, port, pr in raw]
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
                            f"sock_diag in the netns of pid {c.pid}: no {proto} socket on port {cport}",
                            "listening inside: "
                            + (", ".join(f"{l.ip}:{l.port}/{l.protocol}" for l in ls) or "nothing"),
                        ],
                        fix="check the app's listen port/config (or it is still starting); "
                        "publish the port the app really uses",
                        check=f"dockscope sockets {c.name} (nsenter -t {c.pid} -n ss -ltnu)",
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
                        check=f"dockscope sockets {c.name} (nsenter -t {c.pid} -n ss -ltnu)",
                        ref="R13",
                    )
                )
    return out


__all__ = [
    "rule_default_bridge_names",
    "rule_peers_no_common_network",
    "rule_port_conflict",
    "rule_port_loopback_only",
    "rule_container_not_listening",
]
