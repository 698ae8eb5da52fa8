"""What a swarm node's underlay does to swarm traffic, read on the node itself:
its routes, and the firewall's verdict for each swarm port in and out.

The verdicts come from the one iptables evaluator (``inspectors.firewall.walk``)
over the rules ``iptables-save`` prints in this namespace: a packet to the
node's own underlay address on 4789/udp (VXLAN), 7946/tcp+udp (gossip),
2377/tcp (managers) and IP protocol 50 (ESP, encrypted overlays), and the same
leaving it. Never changes anything; never imports textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (proto, port, what it carries)
SWARM_PORTS = (
    ("udp", 4789, "VXLAN data plane"),
    ("udp", 7946, "gossip (network control plane)"),
    ("tcp", 7946, "gossip (network control plane)"),
    ("tcp", 2377, "cluster management (managers)"),
    ("esp", None, "ESP (encrypted overlays)"),
)


@dataclass
class PortVerdict:
    proto: str
    port: int | None
    direction: str  # in | out
    verdict: str  # ACCEPT | DROP | REJECT | UNKNOWN
    rule: str | None  # the rule that decided (iptables-save form), None for the policy
    backend: str | None = None

    @property
    def blocked(self) -> bool:
        return self.verdict in ("DROP", "REJECT")

    @property
    def label(self) -> str:
        return f"{self.port}/{self.proto}" if self.port else self.proto.upper()


@dataclass
class UnderlayFacts:
    node_addr: str | None
    interface: str | None = None
    mtu: int | None = None
    routes: list[dict] = field(default_factory=list)  # dst, dev, gateway, table
    verdicts: list[PortVerdict] = field(default_factory=list)
    note: str | None = None

    def blocked(self, proto: str, port: int | None = None) -> list[PortVerdict]:
        return [v for v in self.verdicts if v.blocked and v.proto == proto and v.port == port]


def read_underlay(node_addr: str | None) -> UnderlayFacts:
    from . import firewall as F
    from .overlay import underlay_for
    from .routes import read_routes

    f = UnderlayFacts(node_addr=node_addr)
    try:
        f.interface, f.mtu = underlay_for(node_addr)
        f.routes = [
            {"dst": r.dst, "dev": r.dev, "gateway": r.gateway, "table": r.table}
            for r in read_routes(table=254)
        ]
    except OSError as e:
        f.note = f"routes: {e}"
    try:
        rulesets = [rs for rs in F.read_rulesets(nft=False) if rs.available]
    except Exception as e:  # noqa: BLE001 - a node without iptables is data
        f.note = f"firewall: {e}"
        return f
    for proto, port, _what in SWARM_PORTS:
        for direction, chain in (("in", "INPUT"), ("out", "OUTPUT")):
            pkt = F.Packet(
                proto=proto,
                dport=port,
                dst=node_addr if direction == "in" else None,
                src=None if direction == "in" else node_addr,
                in_iface=f.interface if direction == "in" else None,
                out_iface=f.interface if direction == "out" else None,
                dst_local=direction == "in",
            )
            for rs in rulesets:
                if rs.chain("filter", chain) is None:
                    continue
                w = F.walk(rs, "filter", chain, pkt)
                f.verdicts.append(
                    PortVerdict(
                        proto=proto,
                        port=port,
                        direction=direction,
                        verdict=w.verdict,
                        rule=w.decided_by.line if w.decided_by else None,
                        backend=rs.backend,
                    )
                )
    return f
