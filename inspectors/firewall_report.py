"""The firewall joined to the model: per published port the DNAT rule, the
FORWARD walk (each chain's verdict) and MASQUERADE; per bridge network its
rules; and :class:`Flag` for what is missing or shadowed (a DROP in DOCKER-USER
ahead of Docker's accept, chains wiped by a firewall reload, a FORWARD policy
of DROP with no accept, a missing MASQUERADE, Docker chains in both iptables
variants). The rules themselves are read and walked by :mod:`inspectors.firewall`.

Never imports Textual. Never changes a rule.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from inspectors.firewall import (
    Chain,
    Packet,
    Rule,
    Ruleset,
    Walk,
    _opt,
    _split,
    active_backend,
    dnat_of,
    match,
    read_rulesets,
    walk,
)


@dataclass
class Flag:
    """A firewall finding (the doctor's shape, kept small)."""

    severity: str  # error | warning | info
    code: str  # drop_shadows_accept | chains_missing | forward_drop | dnat_missing | ...
    message: str
    rule: str | None = None  # Rule.ref of the rule at fault
    line: str | None = None  # the rule as iptables-save prints it
    fix: str = ""
    check: str = ""


@dataclass
class PortPath:
    container: str
    container_ip: str | None
    container_port: int
    proto: str
    host_ip: str | None
    host_port: int | None
    network: str | None = None
    bridge: str | None = None
    backend: str | None = None
    dnat: Rule | None = None
    nat_walk: Walk | None = None
    forward: Walk | None = None
    masquerade: Rule | None = None
    flags: list[Flag] = field(default_factory=list)

    @property
    def label(self) -> str:
        hip = self.host_ip or "0.0.0.0"
        return f"{hip}:{self.host_port}->{self.container}:{self.container_port}/{self.proto}"

    @property
    def verdict(self) -> str:
        if self.forward is None:
            return "UNKNOWN"
        if self.dnat is None:
            return "NO-DNAT"
        return self.forward.verdict


@dataclass
class NetworkView:
    network: str
    bridge: str | None
    subnets: list[str] = field(default_factory=list)
    masquerade: list[Rule] = field(default_factory=list)
    forward: list[Rule] = field(default_factory=list)  # filter rules naming the bridge
    isolation: list[Rule] = field(default_factory=list)
    nat: list[Rule] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


@dataclass
class FirewallReport:
    rulesets: list[Ruleset] = field(default_factory=list)
    active: str | None = None  # the backend holding Docker's rules
    ports: list[PortPath] = field(default_factory=list)
    networks: list[NetworkView] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ruleset(self, backend: str | None = None) -> Ruleset | None:
        want = backend or self.active
        return next((r for r in self.rulesets if r.backend == want), None)


# --------------------------------------------------------------------------- the join


def _bridge_of(snap, net_name: str | None) -> str | None:
    n = snap.network(net_name) if net_name else None
    return n.bridge if n else None


def _find_dnat(rs: Ruleset, proto: str, host_port: int, cip: str | None, cport: int):
    nat = rs.tables.get("nat", {})
    for c in nat.values():
        for r in c.rules:
            if r.target != "DNAT":
                continue
            d = dnat_of(r)
            if d and d.proto == proto and d.dport == host_port:
                if cip is None or (d.to_ip == cip and d.to_port in (None, cport)):
                    return r
    return None


def _find_masq(rs: Ruleset, subnets: list[str], bridge: str | None) -> list[Rule]:
    out = []
    for r in rs.tables.get("nat", {}).get("POSTROUTING", Chain("nat", "POSTROUTING")).rules:
        if r.target != "MASQUERADE":
            continue
        toks = _split(r.spec)
        src = _opt(toks, "-s")
        if src and any(src == s or _same_net(src, s) for s in subnets):
            out.append(r)
        elif bridge and bridge in toks:
            out.append(r)
    return out


def _same_net(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_network(a, strict=False) == ipaddress.ip_network(b, strict=False)
    except ValueError:
        return False


def local_interfaces(snap) -> frozenset[str]:
    """Bridges and veths of this host (no outside client arrives on them)."""
    names = {b.name for b in getattr(snap, "bridges", [])}
    names |= {lk.name for lk in getattr(snap, "links", []) if lk.kind in ("bridge", "veth")}
    names |= {n.bridge for n in snap.networks if n.bridge}
    return frozenset(names)


def outside_packet(
    p: PortPath, in_iface: str | None = None, not_in: frozenset[str] = frozenset()
) -> Packet:
    """The packet an outside client sends to the published port, after DNAT."""
    return Packet(
        proto=p.proto,
        dst=p.container_ip,
        dport=p.container_port,
        in_iface=in_iface,
        out_iface=p.bridge,
        ctstate="NEW",
        not_in=not_in | ({p.bridge} if p.bridge else set()),
    )


def port_path(
    rs: Ruleset,
    container: str,
    cip: str | None,
    cport: int,
    proto: str,
    host_ip: str | None,
    host_port: int | None,
    network: str | None,
    bridge: str | None,
    subnets: list[str] | None = None,
    in_iface: str | None = None,
    local_ifaces: frozenset[str] = frozenset(),
) -> PortPath:
    """One published port through ``rs``. ``in_iface``: where the client's
    packets arrive (None: some interface that is not in ``local_ifaces``, the
    container bridges and veths)."""
    p = PortPath(container, cip, cport, proto, host_ip, host_port, network, bridge, rs.backend)
    if not rs.available:
        return p
    if rs.backend == "nftables":
        _nft_port(rs, p)
        return p
    if host_port:
        p.dnat = _find_dnat(rs, proto, host_port, cip, cport)
        dst = host_ip if host_ip and host_ip not in ("0.0.0.0", "::") else None
        not_in = frozenset(local_ifaces) | ({bridge} if bridge else set())
        p.nat_walk = walk(
            rs,
            "nat",
            "PREROUTING",
            Packet(
                proto=proto,
                dst=dst,
                dport=host_port,
                in_iface=in_iface,
                dst_local=True,
                not_in=not_in,
            ),
        )
    p.forward = walk(rs, "filter", "FORWARD", outside_packet(p, in_iface, local_ifaces))
    masq = _find_masq(rs, subnets or [], bridge)
    p.masquerade = masq[0] if masq else None
    p.flags = port_flags(rs, p)
    return p


def _nft_port(rs: Ruleset, p: PortPath) -> None:
    for c in (ch for t in rs.tables.values() for ch in t.values()):
        for r in c.rules:
            if r.target == "DNAT" and p.container_ip and p.container_ip in r.spec:
                if p.host_port is None or re.search(rf"\b{p.host_port}\b", r.spec):
                    p.dnat = r
                    return
    p.flags.append(
        Flag(
            "error",
            "dnat_missing",
            f"no nftables dnat rule for {p.label} in Docker's tables",
            check="nft list table ip docker-bridges",
        )
    )


def port_flags(rs: Ruleset, p: PortPath) -> list[Flag]:
    out: list[Flag] = []
    if p.host_port and p.dnat is None:
        out.append(
            Flag(
                "error",
                "dnat_missing",
                f"{p.label}: no DNAT rule in the nat table ({rs.backend}): "
                "a firewall reload may have wiped Docker's rules",
                fix="systemctl restart docker (or restart the container)",
                check=f"iptables -t nat -S DOCKER | grep -- '--dport {p.host_port}'",
            )
        )
    w = p.forward
    if w is None:
        return out
    if w.verdict in ("DROP", "REJECT"):
        r = w.decided_by
        later = _later_accept(rs, p)
        if r is not None:
            shadow = later is not None and r.chain != later.chain
            out.append(
                Flag(
                    "error",
                    "drop_shadows_accept" if shadow else "forward_drop",
                    f"{p.label}: {r.ref} `{r.line}` {r.target.lower()}s new connections"
                    + (f" before {later.ref} accepts them" if shadow else ""),
                    rule=r.ref,
                    line=r.line,
                    fix=f"iptables -t {r.table} -D {r.chain} {r.index}  (after checking why it is there)",
                    check=f"iptables -t {r.table} -L {r.chain} -v -n --line-numbers",
                )
            )
        else:
            out.append(
                Flag(
                    "error",
                    "forward_policy_drop",
                    f"{p.label}: FORWARD policy is {w.verdict} and no rule accepts "
                    f"traffic to {p.container_ip}:{p.container_port} on {p.bridge}",
                    fix="systemctl restart docker (recreates the DOCKER accept rules)",
                    check="iptables -S FORWARD; iptables -S DOCKER",
                )
            )
    for r in w.maybe:
        if r.target in ("DROP", "REJECT") and r.chain == "DOCKER-USER":
            out.append(
                Flag(
                    "warning",
                    "user_drop_maybe",
                    f"{p.label}: {r.ref} `{r.line}` may drop it (depends on the client "
                    "interface or a match not evaluated)",
                    rule=r.ref,
                    line=r.line,
                    check=f"iptables -L {r.chain} -v -n --line-numbers",
                )
            )
    return out


def _later_accept(rs: Ruleset, p: PortPath) -> Rule | None:
    """The rule Docker made to accept this port (DOCKER chain), if present."""
    pkt = outside_packet(p)
    for name in ("DOCKER", "DOCKER-FORWARD", "DOCKER-BRIDGE"):
        c = rs.chain("filter", name)
        if c is None:
            continue
        for r in c.rules:
            if r.target == "ACCEPT" and match(r, pkt) is not False and p.container_ip in r.spec:
                return r
    return None


def chain_flags(rs: Ruleset, want_dnat: bool) -> list[Flag]:
    """Docker's chains missing (a reload wiped them), FORWARD not jumping to them."""
    out: list[Flag] = []
    if not rs.available or rs.backend == "nftables":
        return out
    missing = []
    for table, name in (("nat", "DOCKER"), ("filter", "DOCKER"), ("filter", "DOCKER-USER")):
        if rs.chain(table, name) is None:
            missing.append(f"{table} {name}")
    if missing:
        out.append(
            Flag(
                "error",
                "chains_missing",
                f"Docker's chains are missing in {rs.backend}: "
                + ", ".join(missing)
                + " (a firewall reload or iptables-restore wiped them)",
                fix="systemctl restart docker",
                check="iptables -t nat -S DOCKER; iptables -S DOCKER-USER",
            )
        )
    fwd = rs.chain("filter", "FORWARD")
    if fwd is not None and rs.chain("filter", "DOCKER-USER") is not None:
        if not any(r.target == "DOCKER-USER" for r in fwd.rules) and not any(
            r.target == "DOCKER-FORWARD" for r in fwd.rules
        ):
            out.append(
                Flag(
                    "error",
                    "forward_unhooked",
                    "FORWARD does not jump to DOCKER-USER/DOCKER-FORWARD: Docker's rules "
                    "are not on the path (the FORWARD chain was rebuilt)",
                    fix="systemctl restart docker",
                    check="iptables -S FORWARD",
                )
            )
    return out


def network_view(rs: Ruleset, net) -> NetworkView:
    subnets = [s.subnet for s in net.subnets]
    v = NetworkView(net.name, net.bridge, subnets)
    if not rs.available or not net.bridge:
        return v
    br = net.bridge
    v.masquerade = _find_masq(rs, subnets, br)
    for table, chains in rs.tables.items():
        for c in chains.values():
            for r in c.rules:
                if r in v.masquerade:
                    continue
                toks = _split(r.spec)
                names_bridge = br in toks or any(s in toks for s in subnets)
                if not names_bridge:
                    continue
                if c.name.startswith("DOCKER-ISOLATION"):
                    v.isolation.append(r)
                elif table == "nat":
                    v.nat.append(r)
                elif table == "filter":
                    v.forward.append(r)
    if rs.backend != "nftables" and not net.internal:
        masq_on = net.options.get("com.docker.network.bridge.enable_ip_masquerade", "true")
        if not v.masquerade and masq_on != "false":
            v.flags.append(
                Flag(
                    "error",
                    "masquerade_missing",
                    f"network {net.name}: no MASQUERADE for {', '.join(subnets) or br}: "
                    "containers have no NAT egress",
                    fix="systemctl restart docker",
                    check="iptables -t nat -S POSTROUTING",
                )
            )
        for r in v.masquerade:
            toks = _split(r.spec)
            other = next(
                (toks[i + 1] for i in range(1, len(toks) - 1)
                 if toks[i] == "-o" and toks[i - 1] == "!"),
                None,
            )  # fmt: skip
            if other and other != br:
                v.flags.append(
                    Flag(
                        "warning",
                        "masquerade_foreign",
                        f"network {net.name}: {r.ref} `{r.line}` masquerades this subnet but "
                        f"names bridge {other}, not {br}: a stale rule (a removed network, "
                        "another engine); with br_netfilter, traffic between this network's "
                        "containers is masqueraded to the gateway address",
                        rule=r.ref,
                        line=r.line,
                        fix=f"iptables -t nat -D POSTROUTING {r.index}  (after checking {other} "
                        "is gone)",
                        check="iptables -t nat -S POSTROUTING; ip link show " + other,
                    )
                )
    return v


def build_report(
    snap,
    rulesets: list[Ruleset] | None = None,
    firewall_driver: str | None = None,
    in_iface: str | None = None,
    backend: str | None = None,
) -> FirewallReport:
    """Per published port and per bridge network, through the active backend
    (or ``backend``)."""
    rep = FirewallReport(rulesets=rulesets if rulesets is not None else read_rulesets())
    rep.active = backend or active_backend(rep.rulesets, firewall_driver)
    for r in rep.rulesets:
        if r.error and r.backend == rep.active:
            rep.notes.append(f"{r.backend}: {r.error}")
    docker_in = [r.backend for r in rep.rulesets if r.available and r.has_docker()]
    ipt = [b for b in docker_in if b.startswith("iptables")]
    if len(ipt) > 1:
        rep.flags.append(
            Flag(
                "error",
                "variant_split",
                "Docker chains exist in both iptables-legacy and iptables-nft: two rulesets "
                "apply and the one dockerd does not use is stale",
                fix="flush the variant dockerd does not use, or restart dockerd after "
                "`update-alternatives --set iptables ...`",
                check="iptables-legacy-save | grep DOCKER; iptables-nft-save | grep DOCKER",
            )
        )
    rs = rep.ruleset()
    if rs is None:
        rep.notes.append("no firewall ruleset could be read")
        return rep
    nets = {n.name: n for n in snap.networks}
    local_ifaces = local_interfaces(snap)
    published = False
    for c in snap.containers:
        if c.state != "running":
            continue
        for pb in c.ports:
            if pb.requested or not pb.host_port:
                continue
            if pb.host_ip and ":" in pb.host_ip:
                continue  # IPv6 bindings: ip6tables, not walked here
            published = True
            ep = next((e for e in c.endpoints if e.ipv4 and _bridge_of(snap, e.network)), None)
            net = nets.get(ep.network) if ep else None
            rep.ports.append(
                port_path(
                    rs,
                    c.name,
                    ep.ipv4 if ep else None,
                    pb.container_port,
                    pb.protocol,
                    pb.host_ip,
                    pb.host_port,
                    ep.network if ep else None,
                    net.bridge if net else None,
                    [s.subnet for s in net.subnets] if net else [],
                    in_iface,
                    local_ifaces,
                )
            )
    for n in snap.networks:
        if n.driver == "bridge" and n.bridge:
            rep.networks.append(network_view(rs, n))
    rep.flags.extend(chain_flags(rs, published))
    for p in rep.ports:
        rep.flags.extend(p.flags)
    for v in rep.networks:
        rep.flags.extend(v.flags)
    return rep


__all__ = [
    "Flag",
    "PortPath",
    "NetworkView",
    "FirewallReport",
    "local_interfaces",
    "outside_packet",
    "port_path",
    "port_flags",
    "chain_flags",
    "network_view",
    "build_report",
]
