"""Doctor rules about forwarding and the firewall: R1, R2, R18, DNAT, iptables variants."""

from __future__ import annotations


from inspectors.doctor.common import (
    _attached,
    _iptables_on,
    restart_hint,
    _running,
    _shares_mode,
)
from inspectors.doctor.findings import Finding, _f
from inspectors.hostfacts import HostFacts
from inspectors.model import Snapshot

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
                fix=restart_hint(snap) + " (re-creates its rules); find what flushed them "
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
            fix=restart_hint(snap) + " (live-restore keeps containers); stop whatever "
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


__all__ = [
    "rule_ip_forward_off",
    "rule_forward_policy_drop",
    "rule_docker_chains_missing",
    "rule_dnat_missing",
    "rule_iptables_variant",
]
