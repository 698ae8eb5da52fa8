"""Why container A on one node can (not) reach container B on another, hop by
hop over their common overlay: A's endpoint, A's node's overlay namespace (br0,
vxlan, VNI, the FDB entry for B's MAC), the underlay A-node -> B-node on the
VXLAN port (both firewalls, the peers list), B's node's overlay namespace, B.

``--probe`` tests for real from inside A's network namespace on A's node (the
node's own dockscope, over ssh: ``dockscope node-probe``); when that fails it
probes the underlay between the two nodes. Never imports textual.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass, field

from .cluster_model import ClusterNode, ClusterSnapshot, NodeTarget, _ssh_argv


@dataclass
class ClusterHop:
    where: str  # node name or "underlay"
    what: str  # one line: the object
    status: str  # ok | fail | unknown
    detail: str = ""


@dataclass
class ClusterPath:
    src: str
    dst: str
    src_node: str | None = None
    dst_node: str | None = None
    network: str | None = None
    vni: int | None = None
    hops: list[ClusterHop] = field(default_factory=list)
    verdict: str = "unknown"  # reachable | unreachable | unknown
    reason: str = ""
    probes: list[dict] = field(default_factory=list)


def _find(snap: ClusterSnapshot, name: str):
    for n in snap.nodes:
        for c in n.containers:
            if name in (c.name, c.id) or (len(name) >= 6 and c.id.startswith(name)):
                return n, c
    return None, None


def explain_cluster_path(snap: ClusterSnapshot, a: str, b: str) -> ClusterPath:
    p = ClusterPath(src=a, dst=b)
    na, ca = _find(snap, a)
    nb, cb = _find(snap, b)
    if ca is None or cb is None:
        missing = a if ca is None else b
        p.verdict, p.reason = "unknown", f"no container {missing!r} on any node"
        return p
    p.src_node, p.dst_node = na.name, nb.name
    common = sorted(set(ca.networks) & set(cb.networks))
    overlays = {o.name: o for o in snap.overlays}
    shared = [n for n in common if n in overlays]
    if not shared:
        p.verdict = "unreachable"
        p.reason = f"{a} and {b} share no overlay network (A: {', '.join(ca.networks) or '-'}; "
        p.reason += f"B: {', '.join(cb.networks) or '-'})"
        return p
    ov = overlays[shared[0]]
    p.network = ov.name
    on_a, on_b = ov.on(na.name), ov.on(nb.name)
    p.vni = (on_a.vni if on_a else None) or (ov.vnis[0] if ov.vnis else None)
    ip_a, ip_b, mac_b = ca.networks[ov.name], cb.networks[ov.name], cb.macs.get(ov.name)
    p.hops.append(ClusterHop(na.name, f"{a} eth {ov.name} {ip_a}", "ok" if ca.state == "running" else "fail",
                             f"container {ca.state}"))  # fmt: skip
    if na.name == nb.name:
        p.hops.append(ClusterHop(na.name, f"{ov.name}: same node, local bridge", "ok"))
        p.hops.append(ClusterHop(nb.name, f"{b} {ip_b}", "ok" if cb.state == "running" else "fail"))
        p.verdict = "reachable" if all(h.status == "ok" for h in p.hops) else "unreachable"
        return p
    # A's node: the overlay namespace, vxlan, FDB entry for B
    if on_a and on_a.namespace:
        vtep = on_a.remote_vtep.get(mac_b) if mac_b else None
        ok = vtep == nb.swarm_addr
        p.hops.append(ClusterHop(
            na.name,
            f"overlay ns {on_a.namespace}: br0 -> {on_a.vxlan} VNI {on_a.vni} udp/{on_a.port}",
            "ok" if ok else "fail",
            f"FDB: {mac_b} -> {vtep or 'MISSING'} (want {nb.swarm_addr})",
        ))  # fmt: skip
    else:
        p.hops.append(ClusterHop(na.name, f"overlay {ov.name}", "unknown",
                                 na.kernel_note or "no overlay namespace read on this node"))  # fmt: skip
    # the underlay
    p.hops.append(_underlay_hop(na, nb, on_a, on_b))
    # B's node
    if on_b and on_b.namespace:
        p.hops.append(ClusterHop(
            nb.name,
            f"overlay ns {on_b.namespace}: {on_b.vxlan} VNI {on_b.vni} -> br0",
            "ok" if on_b.vni == p.vni else "fail",
            f"vxlan rx {on_b.rx_packets} tx {on_b.tx_packets}",
        ))  # fmt: skip
    else:
        p.hops.append(ClusterHop(nb.name, f"overlay {ov.name}", "unknown",
                                 nb.kernel_note or "no overlay namespace read on this node"))  # fmt: skip
    p.hops.append(ClusterHop(nb.name, f"{b} eth {ov.name} {ip_b}",
                             "ok" if cb.state == "running" else "fail", f"container {cb.state}"))  # fmt: skip
    statuses = {h.status for h in p.hops}
    if "fail" in statuses:
        p.verdict = "unreachable"
        bad = next(h for h in p.hops if h.status == "fail")
        p.reason = f"{bad.where}: {bad.what}: {bad.detail}"
    elif "unknown" in statuses:
        p.verdict, p.reason = "unknown", "some hops could not be read"
    else:
        p.verdict, p.reason = "reachable", f"over {ov.name} (VNI {p.vni}), {na.name} -> {nb.name}"
    return p


def _underlay_hop(na: ClusterNode, nb: ClusterNode, on_a, on_b) -> ClusterHop:
    port = (on_a.port if on_a else None) or 4789
    what = f"underlay {na.swarm_addr} -> {nb.swarm_addr} udp/{port}"
    problems, unknown = [], []
    if na.underlay is None or nb.underlay is None:
        unknown.append("firewall not read on both nodes")
    else:
        for n, d in ((na, "out"), (nb, "in")):
            for v in n.underlay.verdicts:
                if v.proto == "udp" and v.port == port and v.direction == d and v.blocked:
                    problems.append(
                        f"{n.name} {'OUTPUT' if d == 'out' else 'INPUT'}: {v.rule or 'policy'}"
                    )
    if on_a and nb.swarm_addr and on_a.namespace and nb.swarm_addr not in on_a.peers:
        problems.append(f"{nb.name} ({nb.swarm_addr}) missing from {na.name}'s peers list")
    if problems:
        return ClusterHop("underlay", what, "fail", "; ".join(problems))
    if unknown:
        return ClusterHop("underlay", what, "unknown", "; ".join(unknown))
    return ClusterHop("underlay", what, "ok", "no firewall drop on either end; peer known")


# ---------------------------------------------------------------------------- probes


def _run_on(node: ClusterNode, argv: list[str], remote_cmd: str | None, timeout: float = 20.0):
    cmd = shlex.split(remote_cmd or "dockscope")
    script = " ".join(shlex.quote(x) for x in [*cmd, *argv])
    dest = NodeTarget(node.host).ssh_dest
    full = [*_ssh_argv(dest), script] if dest else ["sh", "-c", script]
    r = subprocess.run(
        full, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"ok": None, "detail": (r.stderr.strip().splitlines() or ["no answer"])[-1]}


def probe_cluster_path(
    snap: ClusterSnapshot, p: ClusterPath, remote_cmd: str | None = None
) -> None:
    """From inside A's sandbox on A's node: ping B's overlay IP; on failure,
    ping B's node from A's node over the underlay."""
    na, nb = snap.node(p.src_node or ""), snap.node(p.dst_node or "")
    if na is None or nb is None or p.network is None:
        return
    ca = next((c for c in na.containers if p.src in (c.name, c.id)), None)
    cb = next((c for n in [nb] for c in n.containers if p.dst in (c.name, c.id)), None)
    pid = None
    for c in (na.kernel or {}).get("containers") or []:
        if ca and c.get("id") == ca.id:
            pid = c.get("pid")
    if not pid or cb is None:
        p.probes.append({"from": f"{p.src}@{na.name}", "to": p.dst, "ok": None,
                         "detail": "A's pid is not known (no dockscope on its node?)"})  # fmt: skip
        return
    ip_b = cb.networks.get(p.network)
    got = _run_on(na, ["node-probe", "--netns", f"/proc/{pid}/ns/net", "--ping", ip_b], remote_cmd)
    p.probes.append({"from": f"{p.src}@{na.name}", "to": f"{p.dst} {ip_b}", **got})
    if got.get("ok"):
        p.verdict, p.reason = "reachable", f"probe: {got.get('detail')}"
        return
    if nb.swarm_addr:
        u = _run_on(na, ["node-probe", "--ping", nb.swarm_addr], remote_cmd)
        p.probes.append({"from": f"{na.name} (underlay)", "to": f"{nb.name} {nb.swarm_addr}", **u})
        if u.get("ok"):
            p.verdict = "unreachable"
            p.reason = (
                f"the underlay {na.name} -> {nb.name} answers but the overlay does not: "
                "VXLAN (udp/4789) is dropped or not decapsulated between them"
            )
        else:
            p.verdict = "unreachable"
            p.reason = f"{nb.name} ({nb.swarm_addr}) does not answer from {na.name} on the underlay"


def node_probe(netns: str | None, ping: str) -> dict:
    """Run on a node: ping ``ping`` from ``netns`` (or the node's own)."""
    from .hostfacts import run_in_netns
    from .probes import probe_ping

    try:
        ok, detail = run_in_netns(netns, probe_ping, ping)
    except OSError as e:
        return {"ok": None, "detail": str(e)}
    return {"ok": ok, "detail": detail}


def format_cluster_path(p: ClusterPath) -> str:
    from .text import clean

    out = [f"{clean(p.src)}@{p.src_node or '?'} -> {clean(p.dst)}@{p.dst_node or '?'}"
           f"  network {clean(p.network or '-')}  VNI {p.vni or '-'}"]  # fmt: skip
    for h in p.hops:
        mark = {"ok": "ok  ", "fail": "FAIL", "unknown": "?   "}[h.status]
        out.append(
            f"  [{mark}] {clean(h.where)}: {clean(h.what)}"
            + (f"  ({clean(h.detail)})" if h.detail else "")
        )
    for pr in p.probes:
        res = {True: "ok", False: "FAILED", None: "?"}[pr.get("ok")]
        out.append(
            f"  probe {clean(pr['from'])} -> {clean(pr['to'])}: {res} {clean(pr.get('detail', ''))}"
        )
    out.append(f"{p.verdict}: {clean(p.reason)}")
    return "\n".join(out)
