"""The map: one tree of what is where, for one host or a whole cluster.

nodes -> networks (with their Linux bridge, or the overlay's VNI) -> containers
(local, and on an overlay the remote ones with the VTEP they sit behind); the
overlays that span nodes in their own branch; down links, stale nodes and
findings marked on the objects they name; the last ``path`` query highlighted.
Plain dataclasses (the console draws them as a folding tree, ``dockscope map``
as indented text). Never imports textual.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

MARK_STALE, MARK_DOWN, MARK_PATH, MARK_FINDING = "stale", "down", "path", "finding"


@dataclass
class TopoItem:
    kind: str  # cluster | node | network | bridge | container | remote | overlay | path | hop
    label: str
    key: str = ""  # the object's name, for findings and path matching
    marks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. the findings' one-liners
    children: list[TopoItem] = field(default_factory=list)

    def add(self, item: TopoItem) -> TopoItem:
        self.children.append(item)
        return item

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, kind: str, key: str) -> TopoItem | None:
        return next((i for i in self.walk() if i.kind == kind and i.key == key), None)


# ---------------------------------------------------------------------------- last path


def engine_key(hosts) -> str:
    """The engines a path belongs to: their targets (``-H``/context endpoint), sorted."""
    if isinstance(hosts, str):
        hosts = [hosts]
    return "|".join(sorted({h or "default" for h in hosts}))


def last_path_file(key: str) -> str:
    """One state file per engine (set): another engine's path is never shown."""
    import hashlib

    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    tag = hashlib.sha256(key.encode()).hexdigest()[:16]
    return os.path.join(base, "dockscope", f"last-path-{tag}.json")


def save_last_path(data: dict, hosts) -> None:
    """Remember the last `path` query of these engines for the map (0600, never
    through a symlink), tagged with the engines it was asked of."""
    from actions.files import write_private

    key = engine_key(hosts)
    path = last_path_file(key)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_private(path, json.dumps({"engines": key, "path": data}))
    except Exception:  # noqa: BLE001 - the map just shows no path
        pass


def load_last_path(hosts) -> dict | None:
    """The last path asked of exactly these engines, or None (a file from another
    engine, or of the old untagged format, is ignored)."""
    key = engine_key(hosts)
    try:
        with open(last_path_file(key)) as f:
            got = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(got, dict) or got.get("engines") != key:
        return None
    return got.get("path") if isinstance(got.get("path"), dict) else None


# ---------------------------------------------------------------------------- build


def _path_keys(last: dict | None) -> set[tuple[str, str]]:
    """(kind, key) of what the last path went through."""
    if not last:
        return set()
    out = {("container", last.get("src", "")), ("container", last.get("dst", ""))}
    for k in ("src_node", "dst_node"):
        if last.get(k):
            out.add(("node", last[k]))
    if last.get("network"):
        out.add(("network", last["network"]))
    for n in last.get("networks") or []:
        out.add(("network", n))
    return out


def _mark(item: TopoItem, path: set, findings_by_obj: dict[str, list]) -> None:
    for i in item.walk():
        if (i.kind, i.key) in path or (i.kind == "remote" and ("container", i.key) in path):
            i.marks.append(MARK_PATH)
        kinds = ("node", "network", "container", "service")
        hits = findings_by_obj.get(i.key) if i.kind in kinds else None
        if hits:
            i.marks.append(MARK_FINDING)
            i.notes.extend(f"{f.severity}: {f.message}" for f in hits)


def _node_tree(name: str, snap: dict, header: str, stale: bool) -> TopoItem:
    """One node from a snapshot in its JSON form (``to_jsonable(Snapshot)``)."""
    node = TopoItem("node", f"{name}  {header}".rstrip(), key=name)
    if stale:
        node.marks.append(MARK_STALE)
    bridges = {b["name"]: b for b in snap.get("bridges") or []}
    links = {ln["name"]: ln for ln in snap.get("links") or []}
    by_net: dict[str, list[dict]] = {}
    for c in snap.get("containers") or []:
        for ep in c.get("endpoints") or []:
            by_net.setdefault(ep.get("network", ""), []).append({**ep, "_c": c})
    for net in sorted(
        snap.get("networks") or [], key=lambda n: (n.get("driver") != "overlay", n["name"])
    ):
        drv = net.get("driver", "")
        subs = " ".join(s.get("subnet") or "" for s in net.get("subnets") or [])
        extra = ""
        if drv == "overlay":
            extra = f"VNI {','.join(net.get('vxlan_ids') or []) or '?'}"
        elif net.get("bridge"):
            extra = f"bridge {net['bridge']}"
        n_item = node.add(
            TopoItem("network", f"{net['name']}  {drv} {subs} {extra}".rstrip(), key=net["name"])
        )
        br = bridges.get(net.get("bridge") or "")
        if br is not None:
            ln = links.get(br["name"]) or {}
            b_item = n_item.add(
                TopoItem(
                    "bridge", f"{br['name']}  {ln.get('operstate') or ''}".rstrip(), key=br["name"]
                )
            )
            if (ln.get("operstate") or "UP") not in ("UP", "UNKNOWN") and (by_net.get(net["name"])):
                b_item.marks.append(MARK_DOWN)
        for ep in sorted(by_net.get(net["name"]) or [], key=lambda e: e.get("container") or ""):
            c = ep["_c"]
            label = f"{c['name']}  {ep.get('ipv4') or ''}  {c.get('state', '')}"
            if ep.get("host_veth"):
                label += f"  {ep['host_veth']}"
            item = n_item.add(TopoItem("container", label, key=c["name"]))
            veth = links.get(ep.get("host_veth") or "")
            if (c.get("state") != "running") or (
                veth and veth.get("operstate") not in ("UP", "UNKNOWN", None)
            ):
                item.marks.append(MARK_DOWN)
    return node


def build_single(snap, findings=(), last_path: dict | None = None) -> TopoItem:
    """The map of one host (a :class:`inspectors.model.Snapshot`)."""
    from .model import to_jsonable

    d = to_jsonable(snap)
    eng = d.get("engine") or {}
    root = TopoItem("cluster", f"host {eng.get('name') or eng.get('host') or ''}".strip())
    node = root.add(
        _node_tree(
            eng.get("name") or "host",
            d,
            f"engine {eng.get('server_version') or '?'}",
            bool(d.get("stale")),
        )
    )
    node.marks = [m for m in node.marks]
    _finish(root, findings, last_path)
    return root


def build_cluster_map(csnap, findings=(), last_path: dict | None = None) -> TopoItem:
    """The map of a :class:`inspectors.cluster_model.ClusterSnapshot`."""
    root = TopoItem(
        "cluster",
        f"cluster  {len(csnap.nodes)} nodes, {len(csnap.overlays)} overlays",
    )
    for n in csnap.nodes:
        head = f"{n.swarm_addr or n.host}  {'manager' if n.is_manager else 'worker' if n.swarm_state == 'active' else ''}"
        if not n.reachable:
            head += f"  STALE: {n.error or 'unreachable'}"
        if n.kernel:
            item = _node_tree(n.name, n.kernel, head, not n.reachable)
        else:
            snap = {
                "networks": [{**net, "subnets": [{"subnet": s} for s in net["subnets"]]} for net in n.networks],
                "containers": [
                    {"name": c.name, "state": c.state,
                     "endpoints": [{"network": k, "ipv4": v} for k, v in c.networks.items()]}
                    for c in n.containers
                ],
            }  # fmt: skip
            item = _node_tree(
                n.name,
                snap,
                head + (f"  ({n.kernel_note})" if n.kernel_note else ""),
                not n.reachable,
            )
        root.add(item)
        # remote endpoints of each overlay, as this node's FDB sees them
        for ov in csnap.overlays:
            on = ov.on(n.name)
            net_item = next(
                (c for c in item.children if c.kind == "network" and c.key == ov.name), None
            )
            if on is None or net_item is None:
                continue
            for ep in on.remote:
                vtep = on.remote_vtep.get(ep.mac)
                r = net_item.add(
                    TopoItem(
                        "remote",
                        f"{ep.container}@{ep.node}  {ep.ip}  via {vtep or 'NO FDB ENTRY'}",
                        key=ep.container,
                    )
                )
                if not vtep:
                    r.marks.append(MARK_DOWN)
    if csnap.overlays:
        ovs = root.add(TopoItem("overlay", "overlays spanning nodes"))
        for ov in csnap.overlays:
            spans = " = ".join(on.node for on in ov.nodes)
            o = ovs.add(
                TopoItem(
                    "network",
                    f"{ov.name}  VNI {','.join(map(str, ov.vnis)) or '?'}  {spans}",
                    key=ov.name,
                )
            )
            for on in ov.nodes:
                o.add(
                    TopoItem(
                        "node",
                        f"{on.node}: {on.vxlan or '-'} rx {on.rx_packets} tx {on.tx_packets}  peers {' '.join(on.peers) or '-'}",
                        key=on.node,
                    )
                )
    sw = csnap.swarm
    if sw is not None and sw.services:
        svcs = root.add(TopoItem("overlay", f"services  ({len(sw.services)}, from the manager)"))
        for sv in sw.services:
            reps = f"{sv.replicas_running if sv.replicas_running is not None else '?'}/{sv.replicas_desired}"
            ports = " ".join(str(p) for p in sv.ports)
            item = svcs.add(
                TopoItem("service", f"{sv.name}  {sv.mode} {reps}  {ports}".rstrip(), key=sv.name)
            )
            if sv.replicas_desired is not None and (sv.replicas_running or 0) < sv.replicas_desired:
                item.marks.append(MARK_DOWN)
            for t in sw.tasks_of(sv.id):
                if t.desired_state != "running" and t.state != "running":
                    continue
                label = f"{t.name}  {t.node or '-'}  {t.state}" + (
                    f"  {t.error}" if t.error else ""
                )
                ti = item.add(TopoItem("task", label, key=t.name))
                if t.state != "running":
                    ti.marks.append(MARK_DOWN)
    _finish(root, findings, last_path)
    return root


def _finish(root: TopoItem, findings, last_path: dict | None) -> None:
    by_obj: dict[str, list] = {}
    for f in findings or ():
        for o in f.objects:
            by_obj.setdefault(o, []).append(f)
    _mark(root, _path_keys(last_path), by_obj)
    if last_path:
        p = root.add(
            TopoItem(
                "path",
                f"last path: {last_path.get('src')} -> {last_path.get('dst')}: {last_path.get('verdict', '?')}",
            )
        )
        p.marks.append(MARK_PATH)
        for h in last_path.get("hops") or []:
            hop = p.add(
                TopoItem(
                    "hop", f"[{h.get('status', '?')}] {h.get('where', '')}: {h.get('what', '')}"
                )
            )
            if h.get("status") == "fail":
                hop.marks.append(MARK_DOWN)


# ---------------------------------------------------------------------------- text


_SIGILS = {MARK_STALE: "STALE", MARK_DOWN: "DOWN", MARK_PATH: "*", MARK_FINDING: "!"}


def render_text(root: TopoItem, width: int = 80) -> str:
    """Indented text, each line cut to ``width`` (``dockscope map``)."""
    from .text import clean

    lines: list[str] = []

    def go(item: TopoItem, prefix: str, last: bool, top: bool) -> None:
        marks = " ".join(f"[{_SIGILS[m]}]" for m in dict.fromkeys(item.marks))
        head = "" if top else prefix + ("`- " if last else "|- ")
        text = (f"{marks} " if marks else "") + clean(item.label)  # marks first: never cut
        line = head + text
        lines.append(line if len(line) <= width else line[: width - 1] + "~")
        child_prefix = "" if top else prefix + ("   " if last else "|  ")
        for i, c in enumerate(item.children):
            go(c, child_prefix, i == len(item.children) - 1, False)

    go(root, "", True, True)
    return "\n".join(lines)
