"""Cross-node doctor rules: faults only visible with several nodes in view.

Each rule is ``rule_xxx(snap: ClusterSnapshot, previous: ClusterSnapshot | None)
-> list[Finding]`` over the joined cluster model (inspectors.cluster_model); the
finding model is the doctor's own (``inspectors.doctor.findings.Finding``).
``previous`` (an earlier build, e.g. the console's last refresh) turns counter
rules into rate rules. Every rule is proven on a real fault in the test cluster
(tests/test_cluster_doctor.py). Never imports textual.
"""

from __future__ import annotations

import ipaddress
import re

from .doctor.findings import Finding, sort_findings
from .doctor.findings import _f as _doctor_f  # the doctor rules import it too

RX_STUCK_MIN_TX = 5  # vxlan TX packets with RX still 0 before we call it stuck


def _f(rule: str, severity: str, kind: str, objects, message: str, **kw) -> Finding:
    """The doctor's constructor, with the cluster catalog entry (R22) as the default ref."""
    kw.setdefault("ref", "R22")
    return _doctor_f(rule, severity, kind, objects, message, **kw)


def _live(snap):
    return [n for n in snap.nodes if n.reachable]


def _blocked(snap, proto: str, port: int | None, rule: str, what: str, why: str):
    out = []
    for n in _live(snap):
        if n.underlay is None:
            continue
        hits = n.underlay.blocked(proto, port)
        if not hits:
            continue
        label = hits[0].label
        dirs = sorted({h.direction for h in hits})
        out.append(
            _f(
                rule,
                "error",
                "node",
                [n.name],
                f"{label} ({what}) is dropped by {n.name}'s firewall "
                f"({'/'.join('INPUT' if d == 'in' else 'OUTPUT' for d in dirs)})",
                why=why,
                evidence=[f"{h.direction}: {h.rule or 'chain policy'} [{h.backend}]" for h in hits],
                fix=f"allow {label} between the swarm nodes on {n.name} "
                f"(delete the rule, or add an ACCEPT for the other nodes' addresses before it)",
                check=f"ssh {n.host.removeprefix('ssh://')} iptables -S INPUT; iptables -S OUTPUT",
            )
        )
    return out


def rule_cluster_vxlan_blocked(snap, previous=None) -> list[Finding]:
    """VXLAN (4789/udp) dropped by a node's firewall, in or out."""
    return _blocked(
        snap,
        "udp",
        4789,
        "cluster_vxlan_blocked",
        "VXLAN data plane",
        "overlay traffic between containers on different nodes rides VXLAN on 4789/udp; "
        "with it dropped, same-node traffic works and cross-node traffic times out",
    )


def rule_cluster_gossip_blocked(snap, previous=None) -> list[Finding]:
    """Gossip (7946 tcp/udp) dropped by a node's firewall."""
    why = (
        "the nodes exchange overlay peers, endpoints and service VIPs by gossip on 7946; "
        "with it dropped the node falls out of the peers lists and its containers "
        "become unreachable by name and by VIP"
    )
    return _blocked(snap, "udp", 7946, "cluster_gossip_blocked", "gossip", why) + _blocked(
        snap, "tcp", 7946, "cluster_gossip_blocked", "gossip", why
    )


def rule_cluster_esp_blocked(snap, previous=None) -> list[Finding]:
    """An encrypted overlay on a node whose firewall drops ESP (IP protocol 50)."""
    out = []
    for n in _live(snap):
        enc = sorted(d.name for d in n.overlays if d.encrypted)
        if not enc or n.underlay is None:
            continue
        hits = n.underlay.blocked("esp", None)
        if hits:
            out.append(
                _f(
                    "cluster_esp_blocked",
                    "error",
                    "node",
                    [n.name, *enc],
                    f"{n.name} drops ESP (IP protocol 50) but carries encrypted overlay(s) "
                    f"{', '.join(enc)}",
                    why="`--opt encrypted` overlays send VXLAN inside IPsec ESP; with ESP "
                    "dropped, encrypted cross-node traffic is lost while unencrypted overlays work",
                    evidence=[f"{h.direction}: {h.rule or 'chain policy'}" for h in hits],
                    fix=f"allow ESP (iptables -I INPUT -p esp -j ACCEPT) between the nodes on {n.name}",
                    check="iptables -S INPUT | grep -e esp -e ' 50 '",
                )
            )
    return out


def rule_cluster_ipsec_sa_missing(snap, previous=None) -> list[Finding]:
    """An encrypted overlay on a node with no outbound ESP SA to a peer carrying it:
    docker's policy still requires ESP, so the kernel drops that VXLAN traffic."""
    out = []
    for n in _live(snap):
        for d in n.overlays:
            if not d.encrypted or not d.namespace:
                continue
            names = {a: (snap.node_by_addr(a).name if snap.node_by_addr(a) else a)
                     for a in d.ipsec_out}  # fmt: skip
            peers = {p.ip for p in d.peers}  # a node that left keeps a policy, not traffic
            missing = sorted(
                names[a] for a, spi in d.ipsec_out.items() if spi is None and a in peers
            )
            if not missing:
                continue
            out.append(
                _f(
                    "cluster_ipsec_sa_missing",
                    "error",
                    "network",
                    [n.name, d.name],
                    f"encrypted overlay {d.name}: {n.name} has no IPsec SA to "
                    f"{', '.join(missing)}; its VXLAN traffic there is dropped",
                    why="`--opt encrypted` overlays send VXLAN inside ESP; docker installs an "
                    "outbound policy requiring ESP and one SA per remote node. Without the SA "
                    "(a kernel without ESP or AES-GCM: dockerd logs 'Failed Adding ... SA') "
                    "the policy drops the traffic",
                    evidence=[
                        f"-> {names[a]} ({a}): "
                        + ("ESP policy, " if a in d.ipsec_policy else "")
                        + (f"SA {spi}" if spi else "no SA")
                        for a, spi in d.ipsec_out.items()
                    ]
                    + ([f"kernel: {d.ipsec_note}"] if d.ipsec_note else []),
                    fix="give the nodes a kernel with ESP and AES-GCM (esp4, gcm), or recreate "
                    "the overlay without --opt encrypted",
                    check=f"ip xfrm state; ip xfrm policy (on {n.name})",
                )
            )
    return out


def rule_cluster_ipvs_missing(snap, previous=None) -> list[Finding]:
    """A service VIP on an overlay on a node whose kernel has no IPVS: the VIP has
    no load balancer there."""
    out = []
    for n in _live(snap):
        for d in n.overlays:
            vips = sorted(s.name for s in d.services if s.vip and s.name)
            if (
                not vips
                or not d.lb_namespace
                or not d.ipvs_note
                or "not available" not in d.ipvs_note
            ):
                continue
            out.append(
                _f(
                    "cluster_ipvs_missing",
                    "warning",
                    "network",
                    [n.name, d.name],
                    f"service VIP(s) of {', '.join(vips)} on {d.name}: {n.name}'s kernel has "
                    "no IPVS, so nothing balances the VIP there",
                    why="swarm load-balances a service VIP with IPVS in the overlay's lb_ "
                    "namespace on every node; without ip_vs, connections to the VIP from "
                    "this node go nowhere (names still resolve)",
                    evidence=[f"{d.lb_namespace}: {d.ipvs_note}"],
                    fix="a kernel with ip_vs (modprobe ip_vs), or --endpoint-mode dnsrr for "
                    "the service",
                    check="cat /proc/net/ip_vs; ipvsadm -Ln (inside the lb_ namespace)",
                )
            )
    return out


def _constraint_nodes(constraints: list[str]) -> set[str]:
    names = set()
    for c in constraints:
        m = re.match(r"^\s*node\.(hostname|id)\s*==\s*(\S+)\s*$", c)
        if m:
            names.add(m.group(2))
    return names


def rule_cluster_node_unavailable(snap, previous=None) -> list[Finding]:
    """A node down, drained or paused while tasks still expect it: tasks desired
    running on it, or pending tasks whose placement names it."""
    sw = snap.swarm
    if sw is None or not sw.nodes:
        return []
    out = []
    for node in sw.nodes:
        if node.usable:
            continue
        stuck = [t for t in sw.tasks if t.node_id == node.id and t.desired_state == "running"]
        waiting = []
        for s in sw.services:
            if {node.hostname, node.id} & _constraint_nodes(s.constraints):
                waiting += [
                    t
                    for t in sw.tasks
                    if t.service_id == s.id
                    and t.desired_state == "running"
                    and t.state in ("pending", "new", "allocated", "assigned")
                ]
        if not stuck and not waiting:
            continue
        how = node.state if node.state != "ready" else node.availability
        ev = [f"node {node.hostname}: state {node.state}, availability {node.availability}"]
        ev += [f"task {t.name} on it: {t.state} (desired {t.desired_state})" for t in stuck]
        ev += [
            f"task {t.name}: {t.state}{' — ' + t.error if t.error else ''} (placement names "
            f"{node.hostname})"
            for t in waiting
        ]
        out.append(
            _f(
                "cluster_node_unavailable",
                "error",
                "node",
                [node.hostname, *sorted({t.service for t in stuck + waiting})],
                f"node {node.hostname} is {how} but {len(stuck) + len(waiting)} task(s) expect it",
                why="tasks placed on (or constrained to) a node that is down or drained do not "
                "run; their service is short of replicas and its VIP has fewer backends",
                evidence=ev,
                fix=f"bring {node.hostname} back (`docker node update --availability active "
                f"{node.hostname}`, or start its engine), or relax the placement constraint",
                check="docker node ls; docker service ps --no-trunc SERVICE",
                ref=None,
            )
        )
    return out


def rule_cluster_overlay_route_overlap(snap, previous=None) -> list[Finding]:
    """An overlay subnet overlapping a route on a node (its underlay, a VPN, a LAN)."""
    out = []
    for n in _live(snap):
        if n.underlay is None:
            continue
        for net in n.networks:
            if net["driver"] != "overlay":
                continue
            for sub in net["subnets"]:
                try:
                    sn = ipaddress.ip_network(sub, strict=False)
                except (TypeError, ValueError):
                    continue
                for r in n.underlay.routes:
                    if r["dst"] == "default":
                        continue
                    try:
                        rn = ipaddress.ip_network(r["dst"], strict=False)
                    except ValueError:
                        continue
                    if rn.version != sn.version or rn.is_link_local or not rn.overlaps(sn):
                        continue
                    out.append(
                        _f(
                            "cluster_overlay_route_overlap",
                            "error",
                            "network",
                            [net["name"], n.name],
                            f"overlay {net['name']} ({sub}) overlaps {r['dst']} dev {r['dev']} "
                            f"on {n.name}",
                            why="containers on the overlay send traffic for that range into "
                            "the overlay, not to the node's route: the real destinations (the "
                            "other nodes, a VPN, a LAN) become unreachable from them",
                            evidence=[f"{n.name}: ip route: {r['dst']} dev {r['dev']}"],
                            fix="recreate the overlay with a --subnet outside the nodes' routes "
                            "(or set `docker swarm init --default-addr-pool`)",
                            check=f"ip route (on {n.name}); docker network inspect {net['name']}",
                            ref="R7",
                        )
                    )
    return out


def rule_cluster_overlay_mtu(snap, previous=None) -> list[Finding]:
    """Overlay MTU larger than the node's underlay MTU minus 50 (VXLAN overhead)."""
    out = []
    for n in _live(snap):
        for d in n.overlays:
            if d.mtu_ok is False:
                out.append(
                    _f(
                        "cluster_overlay_mtu",
                        "error",
                        "network",
                        [d.name, n.name],
                        f"overlay {d.name} on {n.name}: MTU {d.overlay_mtu} > underlay "
                        f"{d.underlay_if} {d.underlay_mtu} - 50",
                        why="VXLAN adds 50 bytes; full-size packets no longer fit the underlay "
                        "and are dropped: pings work, TLS handshakes and large responses hang",
                        evidence=[
                            f"{d.vxlan[0].name if d.vxlan else 'overlay'} mtu {d.overlay_mtu}",
                            f"{d.underlay_if} mtu {d.underlay_mtu}",
                        ],
                        fix="recreate the overlay with -o com.docker.network.driver.mtu="
                        f"{(d.underlay_mtu or 1500)} (the underlay MTU), or raise the underlay MTU",
                        check=f"ip link show {d.underlay_if} (on {n.name})",
                        ref="R7",
                    )
                )
    return out


def _nodes_on_overlay(snap, ov) -> dict[str, str]:
    """node name -> its underlay IP, for nodes running something on the overlay
    (a swarm task with an attachment, or a running container)."""
    out = {}
    if snap.swarm:
        for t in snap.swarm.tasks:
            if t.state == "running" and any(a.network_id == ov.id for a in t.networks):
                sn = snap.swarm.node(t.node_id or "")
                if sn:
                    out[sn.hostname] = sn.address
    for on in ov.nodes:
        if on.local:
            n = next((x for x in snap.nodes if x.name == on.node), None)
            if n and n.swarm_addr:
                out[n.name] = n.swarm_addr
    return out


def rule_cluster_peer_missing(snap, previous=None) -> list[Finding]:
    """A node runs a task/container on an overlay but another node's peers list
    for that overlay does not have it."""
    out = []
    for ov in snap.overlays:
        expect = _nodes_on_overlay(snap, ov)
        for on in ov.nodes:
            if not on.namespace:  # the node has no endpoint on it: no peers list to check
                continue
            for name, ip in sorted(expect.items()):
                if name == on.node or ip in on.peers:
                    continue
                out.append(
                    _f(
                        "cluster_peer_missing",
                        "error",
                        "network",
                        [ov.name, on.node, name],
                        f"overlay {ov.name}: {on.node}'s peers list lacks {name} ({ip}), "
                        f"which runs a task on it",
                        why=f"{on.node} learns remote endpoints from its peers; without {name} "
                        f"its containers cannot reach {name}'s containers on {ov.name}",
                        evidence=[f"{on.node} peers: {' '.join(on.peers) or '(none)'}"],
                        fix="check gossip (7946 tcp/udp) between the two nodes and each node's "
                        "--advertise-addr / --data-path-addr",
                        check=f"docker network inspect --verbose {ov.name} (on {on.node})",
                    )
                )
    return out


def rule_cluster_peers_differ(snap, previous=None) -> list[Finding]:
    """The peers list of an overlay differs between nodes (a wrong --advertise-addr
    or --data-path-addr, a NAT between nodes: moby#30972)."""
    out = []
    for ov in snap.overlays:
        views = {on.node: set(on.peers) for on in ov.nodes if on.namespace}
        if len(views) < 2:
            continue
        union = set().union(*views.values())
        for node, peers in sorted(views.items()):
            missing = sorted(union - peers)
            if missing:
                others = [n for n, p in views.items() if n != node and set(missing) & p]
                out.append(
                    _f(
                        "cluster_peers_differ",
                        "warning",
                        "network",
                        [ov.name, node],
                        f"overlay {ov.name}: {node} does not see peer(s) {', '.join(missing)} "
                        f"that {', '.join(sorted(others))} see",
                        why="all nodes of an overlay should agree on its peers; a node that "
                        "advertises an address the others cannot reach (wrong --advertise-addr, "
                        "--data-path-addr, NAT) or that lost gossip is seen by some only",
                        evidence=[
                            f"{n}: {' '.join(sorted(p)) or '(none)'}"
                            for n, p in sorted(views.items())
                        ],
                        fix="make every node advertise an address the others reach directly "
                        "(docker swarm join --advertise-addr/--data-path-addr), and open 7946",
                        check=f"docker network inspect --verbose {ov.name} on each node",
                    )
                )
    return out


def rule_cluster_vxlan_rx_stuck(snap, previous=None) -> list[Finding]:
    """A vxlan device whose RX counter stays at 0 while TX climbs (moby#53004:
    the kernel is not decapsulating what arrives, or nothing arrives)."""
    out = []
    for ov in snap.overlays:
        prev = previous.overlay(ov.id) if previous else None
        for on in ov.nodes:
            if on.tx_packets is None or on.rx_packets is None:
                continue
            before = prev.on(on.node) if prev else None
            if before and before.tx_packets is not None and before.rx_packets is not None:
                climbing = on.tx_packets > before.tx_packets
                stuck = on.rx_packets == before.rx_packets == 0
            else:
                climbing = on.tx_packets >= RX_STUCK_MIN_TX
                stuck = on.rx_packets == 0
            if not (climbing and stuck):
                continue
            out.append(
                _f(
                    "cluster_vxlan_rx_stuck",
                    "error",
                    "network",
                    [ov.name, on.node],
                    f"overlay {ov.name} on {on.node}: {on.vxlan} sent {on.tx_packets} packets "
                    "and received none",
                    why="the other nodes' VXLAN packets are not arriving or not decapsulated "
                    "(4789/udp dropped on the way or at a node, a checksum-offload or NAT "
                    "problem, moby#53004); cross-node traffic on this overlay is one-way",
                    evidence=[
                        f"{on.node} {on.vxlan} (VNI {on.vni}): rx {on.rx_packets} "
                        f"tx {on.tx_packets}"
                    ]  # fmt: skip
                    + [
                        f"{o.node} {o.vxlan}: rx {o.rx_packets} tx {o.tx_packets}"
                        for o in ov.nodes
                        if o.node != on.node and o.tx_packets is not None
                    ],
                    fix="check 4789/udp on every node's firewall and the path between them; "
                    "capture on the underlay (tcpdump -ni IFACE udp port 4789) on both ends",
                    check=f"nsenter --net={on.namespace} ip -s link show {on.vxlan} (on {on.node})",
                )
            )
    return out


def rule_cluster_node_stale(snap, previous=None) -> list[Finding]:
    """A node that did not answer (kept in the model, stale)."""
    return [
        _f(
            "cluster_node_stale",
            "warning",
            "node",
            [n.name],
            f"node {n.name} did not answer: {n.error or 'unreachable'}",
            why="its engine and kernel views are missing or old; findings about it may be stale",
            evidence=[n.error or ""],
            fix=f"check that {n.host} is up and reachable over ssh",
            check=f"ssh {n.host.removeprefix('ssh://')} docker info",
            ref=None,
        )
        for n in snap.nodes
        if not n.reachable
    ]


CLUSTER_RULES = [
    rule_cluster_vxlan_blocked,
    rule_cluster_gossip_blocked,
    rule_cluster_node_unavailable,
    rule_cluster_overlay_route_overlap,
    rule_cluster_overlay_mtu,
    rule_cluster_peer_missing,
    rule_cluster_esp_blocked,
    rule_cluster_ipsec_sa_missing,
    rule_cluster_ipvs_missing,
    rule_cluster_peers_differ,
    rule_cluster_vxlan_rx_stuck,
    rule_cluster_node_stale,
]


def run_cluster_doctor(snap, previous=None, rules=None) -> list[Finding]:
    out: list[Finding] = []
    for rule in rules or CLUSTER_RULES:
        try:
            out.extend(rule(snap, previous))
        except Exception as e:  # noqa: BLE001 - one broken rule must not hide the others
            out.append(_f(rule.__name__[5:], "info", "host", [], f"rule failed: {e}", ref=None))
    return sort_findings(out)
