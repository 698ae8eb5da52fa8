"""Several nodes as ONE :class:`~inspectors.model.Snapshot`, for the console's
panes: every network, bridge, container, endpoint and listener carries the node
it belongs to (``.node``), so each table can show a NODE column.

* A node whose own dockscope answered gives its whole snapshot (the JSON of
  ``dockscope node-report``), read back into the model's dataclasses.
* A node without dockscope gives its engine views only (networks, containers).
* An overlay is shown once per node that carries it, as that node sees it: its
  local endpoints, then every container the other nodes run on it, as a remote
  endpoint with its node (``host_veth`` says ``remote, vtep <IP>`` from this
  node's FDB, ``remote, no FDB entry``, or ``remote, no overlay ns here``).
* A node that did not answer keeps what the last build knew of it
  (:func:`inspectors.cluster_model.build_cluster`) and is listed in
  ``stale_nodes``; nothing of it is dropped.

Never imports textual.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from types import NoneType, UnionType

from . import model as M
from .cluster_model import ClusterNode, ClusterSnapshot


@cache
def _hints(cls: type) -> dict[str, typing.Any]:
    return typing.get_type_hints(cls)


def _load(tp, value):
    """JSON (from :func:`inspectors.model.dumps_json`) back into ``tp``. Written
    here because the model's dataclasses have no loader and no maintained library
    is a dependency for it; unknown keys are ignored (a newer dockscope on the node)."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not NoneType]
        return _load(args[0], value) if len(args) == 1 else value
    if origin is list:
        (arg,) = typing.get_args(tp) or (typing.Any,)
        return [_load(arg, v) for v in value] if isinstance(value, list) else []
    if origin is dict:
        return dict(value) if isinstance(value, dict) else {}
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = _hints(tp)
        kw = {f.name: _load(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)
              if f.name in value and f.init}  # fmt: skip
        try:
            return tp(**kw)
        except TypeError:
            return tp(**{k: v for k, v in kw.items() if v is not None})
    return value


def snapshot_from_json(d: dict) -> M.Snapshot:
    """A node's ``snapshot`` JSON as the model's :class:`Snapshot`."""
    return _load(M.Snapshot, d)


def _engine_only(node: ClusterNode) -> M.Snapshot:
    """What the docker API alone said of a node (no dockscope there)."""
    snap = M.Snapshot()
    snap.engine = M.Engine(
        host=node.host, reachable=node.reachable, name=node.name,
        server_version=node.server_version, swarm_state=node.swarm_state,
        swarm_node_addr=node.swarm_addr, local=False, error=node.error,
    )  # fmt: skip
    by_name = {}
    for n in node.networks:
        net = M.Network(id=n["id"], name=n["name"], driver=n["driver"], scope=n["scope"],
                        subnets=[M.Subnet(s) for s in n["subnets"] if s])  # fmt: skip
        snap.networks.append(net)
        by_name[net.name] = net
    for c in node.containers:
        ctr = M.Container(id=c.id, name=c.name, state=c.state, networks=sorted(c.networks))
        for net_name, ip in sorted(c.networks.items()):
            net = by_name.get(net_name)
            ep = M.Endpoint(container=c.name, container_id=c.id, network=net_name,
                            network_id=net.id if net else "", ipv4=ip or None,
                            mac=c.macs.get(net_name) or None)  # fmt: skip
            ctr.endpoints.append(ep)
            if net is not None and c.state == "running":
                net.endpoints.append(dataclasses.replace(ep))
        snap.containers.append(ctr)
    return snap


def node_snapshot(node: ClusterNode) -> M.Snapshot:
    """One node's snapshot, every object tagged with the node's name."""
    snap = snapshot_from_json(node.kernel) if node.kernel else _engine_only(node)
    name = node.name
    for n in snap.networks:
        n.node = name
        for e in n.endpoints:
            e.node = name
    for b in snap.bridges:
        b.node = name
    for c in snap.containers:
        c.node = name
        for e in c.endpoints:
            e.node = name
    for ls in snap.listeners:
        ls.node = name
    return snap


def merge(csnap: ClusterSnapshot) -> tuple[M.Snapshot, set[str]]:
    """(one snapshot of every node, the names of the stale nodes)."""
    out = M.Snapshot(taken_at=csnap.taken_at)
    stale = {n.name for n in csnap.nodes if not n.reachable}
    per_node: dict[str, M.Snapshot] = {}
    for node in csnap.nodes:
        if not node.reachable and not (node.kernel or node.networks or node.containers):
            out.notes.append(f"{node.name}: {node.error or 'no answer'} (nothing known yet)")
            continue
        s = per_node[node.name] = node_snapshot(node)
        out.networks += s.networks
        out.bridges += s.bridges
        out.links += s.links
        out.containers += s.containers
        out.listeners += s.listeners
        out.notes += [f"{node.name}: {n}" for n in s.notes]
        if node.kernel_note:
            out.notes.append(f"{node.name}: {node.kernel_note}")
        if not node.reachable:
            out.notes.append(f"{node.name}: STALE, {node.error or 'no answer'}")
    _remote_endpoints(out, csnap)
    live = next((n for n in csnap.nodes if n.reachable), None)
    first = per_node.get(live.name) if live else None
    out.engine = M.Engine(
        host=" ".join(n.host for n in csnap.nodes),
        reachable=live is not None,
        local=False,
        name=f"{len(csnap.nodes)} nodes",
        server_version=first.engine.server_version if first else None,
        swarm_state=first.engine.swarm_state if first else None,
        containers_total=len(out.containers),
        containers_running=sum(1 for c in out.containers if c.state == "running"),
    )
    out.notes += csnap.notes
    return out, stale


def _remote_endpoints(out: M.Snapshot, csnap: ClusterSnapshot) -> None:
    """Each node's view of an overlay gains the containers the other nodes run on
    it, with their node and the VTEP this node's FDB sends them to."""
    for ov in csnap.overlays:
        for on in ov.nodes:
            net = next((n for n in out.networks if n.id == ov.id and n.node == on.node), None)
            if net is None:
                continue
            have = {(e.node, e.container) for e in net.endpoints}
            for ep in on.remote:
                if (ep.node, ep.container) in have:
                    continue
                ctr = next((c for c in out.containers
                            if c.node == ep.node and c.name == ep.container), None)  # fmt: skip
                vtep = on.remote_vtep.get(ep.mac)
                if not on.namespace:
                    where = "remote, no overlay ns here"
                else:
                    where = f"remote, vtep {vtep}" if vtep else "remote, no FDB entry"
                net.endpoints.append(
                    M.Endpoint(
                        container=ep.container,
                        container_id=ctr.id if ctr else "",
                        network=net.name,
                        network_id=net.id,
                        ipv4=ep.ip or None,
                        mac=ep.mac or None,
                        host_veth=where,
                        node=ep.node,
                    )
                )
