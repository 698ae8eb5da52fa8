"""Doctor rules about the daemon and the host: daemon.json, conntrack, br_netfilter, isolation, docker-proxy."""

from __future__ import annotations

import ipaddress
import os

from inspectors.doctor.common import (
    _attached,
    _net,
    _proxy_on,
    _running,
)
from inspectors.doctor.findings import Finding, _f
from inspectors.hostfacts import HostFacts
from inspectors.model import Snapshot

# --------------------------------------------------------------------------- R29


from inspectors.daemon_keys import KNOWN_KEYS as KNOWN_DAEMON_KEYS  # noqa: E402 - the one key table


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


__all__ = [
    "rule_daemon_config",
    "rule_conntrack_full",
    "rule_br_netfilter",
    "rule_isolation_by_design",
    "rule_stale_docker_proxy",
]
