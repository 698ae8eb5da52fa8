"""Swarm and overlay commands (issue 11).

::

    dockscope swarm [nodes|services|tasks] [--json]   # the swarm as a manager sees it
    dockscope overlay [NETWORK] [--json]               # overlay namespaces on THIS node
    dockscope cluster [--json]                         # every node named by -H ... / --swarm
    dockscope logs SERVICE                             # (through cli_logs) like docker service logs

Several hosts: ``dockscope -H ssh://root@n2 -H ssh://root@n3 cluster`` or
``dockscope --swarm cluster`` (nodes from the manager's node list). Top level
stays light: imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys


def _die(msg: str) -> int:
    print(f"dockscope: {msg}", file=sys.stderr)
    return 2


def register(sub) -> None:
    p = sub.add_parser(
        "swarm",
        help="swarm nodes, services and tasks (as a manager sees them)",
        description="The swarm this engine belongs to: nodes (role, availability, state, "
        "address, engine), services (mode, replicas, published ports, VIP per network) and "
        "tasks (node, container, state, error). Nodes, services and tasks are only listed "
        "by a manager; a worker says so.",
    )
    p.add_argument("what", nargs="?", default="all", choices=("all", "nodes", "services", "tasks"))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_swarm)

    p = sub.add_parser(
        "overlay",
        help="overlay networks on this node: namespace, br0, vxlan (VNI, port), FDB, peers, "
        "VIPs, IPVS, MTU",
        description="For each overlay (or NETWORK): the overlay's namespace on this node, its "
        "br0, the vxlan device with VNI, UDP port and counters, the FDB (remote MAC -> remote "
        "VTEP), peers from `network inspect --verbose`, service VIPs and the load balancer's "
        "IPVS table, encryption, and the MTU stack (overlay <= underlay - 50). Reads this "
        "node's kernel: run it on the node (over ssh, `dockscope cluster` does).",
    )
    p.add_argument("network", nargs="?", help="one overlay network (name or id)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_overlay)

    p = sub.add_parser(
        "cluster",
        help="several engines at once (-H ... -H ..., or --swarm): nodes, overlays, tasks",
        description="Read every node named with repeated -H/--context (ssh://user@host "
        "works), or with --swarm every node in the manager's node list: engine views over "
        "the docker API, kernel views by running `dockscope snapshot --json` and "
        "`dockscope overlay --json` on the node over ssh. An unreachable node is kept, "
        "marked stale; a node without dockscope keeps its engine views.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--remote-dockscope",
        default=None,
        metavar="CMD",
        help="the command that runs dockscope on the nodes (default: `dockscope`, "
        "also DOCKSCOPE_REMOTE)",
    )
    p.set_defaults(func=run_cluster)

    p = sub.add_parser(
        "node-report",
        help="(for `cluster`) this node's snapshot, swarm objects and overlays as one JSON",
        description="What `dockscope cluster` runs on each node over ssh: the joined snapshot "
        "(as `snapshot --json`), the swarm objects when this node is a manager, and the "
        "overlays' namespaces (as `overlay --json`), in one process.",
    )
    p.set_defaults(func=run_node_report)

    p = sub.add_parser(
        "map",
        help="the topology as a tree: nodes, networks, bridges, containers, overlays",
        description="Nodes -> networks (bridge or VNI) -> containers, overlays spanning nodes, "
        "remote endpoints with their VTEP; down links, stale nodes and findings marked; the "
        "last `path` highlighted. One host, or several with -H ... -H ... / --swarm.",
    )
    p.add_argument("--width", type=int, default=None, help="cut lines to this width")
    p.set_defaults(func=run_map)

    p = sub.add_parser(
        "node-probe",
        help="(for `path` across nodes) ping an address from a network namespace on this node",
    )
    p.add_argument("--netns", help="namespace file, e.g. /proc/PID/ns/net (default: this one)")
    p.add_argument("--ping", required=True, metavar="IP")
    p.set_defaults(func=run_node_probe)


# ---------------------------------------------------------------------------- swarm


def engine_client(host: str | None = None, context: str | None = None):
    from inspectors.cluster_model import engine_client as ec

    return ec(host, context)


def run_swarm(args: argparse.Namespace) -> int:
    from inspectors.model import to_jsonable
    from inspectors.swarm import format_nodes, format_services, format_tasks, read_swarm

    try:
        client = engine_client()
        view = read_swarm(client)
    except Exception as e:  # noqa: BLE001 - one line, exit 2
        return _die(f"cannot read the swarm: {e}")
    if args.json:
        print(json.dumps(to_jsonable(view), indent=2))
        return 0
    if view.note:
        print(f"dockscope: {view.note}", file=sys.stderr)
    parts = []
    if args.what in ("all", "nodes") and view.nodes:
        parts.append(format_nodes(view))
    if args.what in ("all", "services") and view.services:
        parts.append(format_services(view))
    if args.what in ("all", "tasks") and view.tasks:
        parts.append(format_tasks(view))
    if parts:
        print("\n\n".join(parts))
    return 0 if view.state == "active" else 1


# ---------------------------------------------------------------------------- overlay


def format_overlay(d) -> str:
    from inspectors.text import clean

    out = [f"{clean(d.name)}  {d.network_id[:12]}  VNI {','.join(map(str, d.vnis)) or '?'}"
           f"  encrypted: {'yes' if d.encrypted else 'no'}"]  # fmt: skip
    if d.note:
        out.append(f"  kernel: {clean(d.note)}")
    if d.namespace:
        out.append(f"  namespace {d.namespace}: {d.bridge or '(no bridge)'} mtu {d.bridge_mtu}"
                   f" ports {' '.join(d.ports) or '-'}")  # fmt: skip
    for v in d.vxlan:
        out.append(
            f"  {v.name}: vni {v.vni} udp/{v.port} mtu {v.mtu}  rx {v.rx_packets} pkts"
            f" ({v.rx_errors} err, {v.rx_dropped} drop)  tx {v.tx_packets} pkts"
            f" ({v.tx_errors} err, {v.tx_dropped} drop)"
        )
    mtu = "?" if d.mtu_ok is None else ("ok" if d.mtu_ok else "TOO BIG")
    out.append(
        f"  MTU: overlay {d.overlay_mtu} <= underlay {d.underlay_if or '?'} "
        f"{d.underlay_mtu or '?'} - 50: {mtu}"
    )
    out.append("  peers: " + (", ".join(f"{clean(p.name)}={p.ip}" for p in d.peers) or "-"))
    if d.encrypted:
        for vtep, spi in d.ipsec_out.items():
            pol = "ESP policy" if vtep in d.ipsec_policy else "no ESP policy"
            sa = f"SA spi {spi}" if spi else "NO SA: its VXLAN traffic there is dropped"
            out.append(f"  ipsec -> {vtep}: {pol}, {sa}")
        if not d.ipsec_out:
            out.append("  ipsec: no peer yet (SAs are made per remote node)")
        if d.ipsec_note:
            out.append(f"  ipsec kernel: {clean(d.ipsec_note)}")
    for vtep, macs in d.remote_vteps.items():
        out.append(f"  vtep {vtep}: {' '.join(macs)}")
    for s in d.services:
        label = clean(s.name) or "(containers)"
        out.append(f"  service {label}: vip {s.vip or '-'} lb {s.lb_index or '-'}")
        for t in s.tasks:
            out.append(f"    {clean(t.name)}  {t.ip}  on {t.host_ip or '?'}")
    if d.lb_namespace:
        out.append(f"  lb {d.lb_namespace}: " + (clean(d.ipvs_note) if d.ipvs_note else ""))
        for s in d.ipvs:
            key = f"FWM {s.fwmark}" if s.fwmark else f"{s.addr}:{s.port}"
            reals = " ".join(f"{r.addr}:{r.port}(w{r.weight})" for r in s.reals)
            out.append(f"    {key} {s.scheduler}: {reals}")
    return "\n".join(out)


def run_overlay(args: argparse.Namespace) -> int:
    from inspectors.api import EngineError, open_engine
    from inspectors.model import to_jsonable
    from inspectors.overlay import read_overlay, read_overlays

    try:
        api = open_engine()
        info = api.info()
        if args.network:
            raw = api.network(args.network, verbose=True)
            if raw.get("Driver") != "overlay":
                return _die(f"{args.network} is a {raw.get('Driver')} network, not an overlay")
            node_addr = (info.get("Swarm") or {}).get("NodeAddr") or None
            details = [read_overlay(raw, node_addr=node_addr)]
        else:
            details = read_overlays(api, info)
    except EngineError as e:
        return _die(str(e))
    if args.json:
        print(json.dumps([to_jsonable(d) for d in details], indent=2))
        return 0
    if not details:
        print("dockscope: no overlay networks on this engine", file=sys.stderr)
        return 0
    print("\n\n".join(format_overlay(d) for d in details))
    return 0


def run_node_report(args: argparse.Namespace) -> int:
    from inspectors.model import dumps_json, to_jsonable
    from inspectors.overlay import read_overlays
    from inspectors.snapshot import Model
    from inspectors.swarm import read_swarm

    from inspectors.underlay import read_underlay

    m = Model()
    try:
        snap = m.build()
        swarm = overlays = underlay = None
        note = None
        if snap.engine.reachable and snap.engine.swarm_state == "active":
            try:
                swarm = to_jsonable(read_swarm(engine_client()))
            except Exception as e:  # noqa: BLE001 - the report says what failed
                note = f"swarm: {e}"
            try:
                from inspectors.api import open_engine

                api = open_engine()
                exec_root = (snap.engine.daemon.exec_root if snap.engine.daemon else None) or None
                overlays = [to_jsonable(d) for d in read_overlays(api, exec_root=exec_root)]
                api.close()
            except Exception as e:  # noqa: BLE001
                note = f"overlays: {e}"
            try:
                underlay = to_jsonable(read_underlay(snap.engine.swarm_node_addr))
            except Exception as e:  # noqa: BLE001
                note = f"underlay: {e}"
    finally:
        m.close()
    sys.stdout.write('{"snapshot": ' + dumps_json(snap) + ', "swarm": ' + json.dumps(swarm))
    sys.stdout.write(
        ', "overlays": '
        + json.dumps(overlays)
        + ', "underlay": '
        + json.dumps(underlay)
        + ', "note": '
        + json.dumps(note)
        + "}\n"
    )
    return 0


# ---------------------------------------------------------------------------- service logs


def maybe_service_logs(client, args: argparse.Namespace) -> int | None:
    """`dockscope logs NAME` where NAME is a swarm service and not a container:
    the tasks' logs merged, `task@node | line`, like `docker service logs`.
    None when NAME is not a service (the container path goes on)."""
    import docker.errors

    from inspectors.swarm import read_swarm, service_log_lines
    from inspectors.text import clean, clean_line

    if len(args.targets) != 1 or args.targets == ["daemon"]:
        return None
    name = args.targets[0]
    try:
        client.api.inspect_container(name)
        return None  # a container by that name wins, as in the docker CLI
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError:
        return None
    view = read_swarm(client)
    if view.service(name) is None:
        return None
    from inspectors import logs as L

    tail = args.tail if args.tail not in (None, "") else "all"
    try:
        tail = "all" if str(tail).lower() == "all" else max(int(tail), 0)
        since = L.parse_since(args.since)
    except ValueError as e:
        return _die(str(e))
    print(f"dockscope: reading the logs of service {clean(name)} (all tasks, merged)",
          file=sys.stderr, flush=True)  # fmt: skip
    lines = service_log_lines(client, name, view, tail=tail, since=since, follow=args.follow)
    width = max(
        (len(f"{t.name}.{t.id[:12]}@{t.node or ''}") for t in view.tasks_of(name)), default=0
    )
    for ln in lines:
        s = ""
        if args.timestamps and ln.timestamp:
            s += L.format_timestamp(ln.timestamp) + " "
        s += f"{clean(ln.source).ljust(width)} | {clean_line(ln.text)}\n"
        sys.stdout.write(s)
        if args.follow:
            sys.stdout.flush()
    return 0


# ---------------------------------------------------------------------------- cluster


def run_cluster(args: argparse.Namespace) -> int:
    from inspectors.cluster_model import build_cluster, format_cluster, targets_from_args
    from inspectors.model import to_jsonable

    try:
        targets = targets_from_args(args)
    except ValueError as e:
        return _die(str(e))
    snap = build_cluster(targets, remote_cmd=args.remote_dockscope)
    if args.json:
        print(json.dumps(to_jsonable(snap), indent=2))
    else:
        print(format_cluster(snap))
    return 0 if any(n.reachable for n in snap.nodes) else 1


# ---------------------------------------------------------------------------- -H -H / --swarm


def multi_host(args: argparse.Namespace) -> int | None:
    """Normalise the repeatable -H/--context. One engine: leave ``args.host`` /
    ``args.context`` as plain strings for the single-engine commands and return
    None. Several (or --swarm): run the cluster-aware command, or say which
    commands take several engines (exit 2)."""
    hosts = list(args.host or [])
    contexts = list(args.context or [])
    args.hosts, args.contexts = hosts, contexts
    args.host = hosts[0] if hosts else None
    args.context = contexts[0] if contexts else None
    if len(hosts) + len(contexts) <= 1 and not getattr(args, "swarm", False):
        return None
    cmd = args.command or "cluster"
    if not args.command:
        return run_cluster_console(args)
    if cmd == "cluster":
        return None  # run_cluster reads args.hosts / args.swarm itself
    if cmd == "doctor":
        return run_cluster_doctor(args)
    if cmd == "path" and getattr(args, "dst", None):
        return run_cluster_path(args)
    if cmd == "map":
        return run_map(args)
    return _die(
        f"`{cmd}` reads one engine; with several (-H ... -H ... or --swarm) use: cluster, doctor"
    )


def format_findings(findings) -> str:
    from inspectors.text import clean

    if not findings:
        return "no cross-node findings"
    out = []
    for f in findings:
        out.append(f"{f.severity.upper():7} {f.rule}: {clean(f.message)}")
        for e in f.evidence:
            out.append(f"        evidence: {clean(e)}")
        if f.fix:
            out.append(f"        fix: {clean(f.fix)}")
    return "\n".join(out)


def run_cluster_doctor(args: argparse.Namespace) -> int:
    """`dockscope -H .. -H .. doctor` / `--swarm doctor`: the cross-node rules."""
    from inspectors.cluster_doctor import run_cluster_doctor as rcd
    from inspectors.cluster_model import build_cluster, targets_from_args
    from inspectors.doctor.findings import finding_dict

    try:
        targets = targets_from_args(args)
    except ValueError as e:
        return _die(str(e))
    snap = build_cluster(targets, remote_cmd=getattr(args, "remote_dockscope", None))
    findings = rcd(snap)
    if getattr(args, "json", False):
        print(json.dumps([finding_dict(f) for f in findings], indent=2))
    else:
        print(format_findings(findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


def run_node_probe(args: argparse.Namespace) -> int:
    import ipaddress

    from inspectors.cluster_path import node_probe

    try:
        ipaddress.ip_address(args.ping)
    except ValueError:
        return _die(f"--ping: {args.ping!r} is not an IP address")
    if args.netns and not (args.netns.startswith("/proc/") and args.netns.endswith("/ns/net")):
        return _die("--netns: give /proc/PID/ns/net")
    print(json.dumps(node_probe(args.netns, args.ping)))
    return 0


def run_cluster_path(args: argparse.Namespace) -> int:
    """`dockscope -H .. -H .. path A B [--probe] [--json]` across nodes."""
    from inspectors.cluster_model import build_cluster, targets_from_args
    from inspectors.cluster_path import (
        explain_cluster_path,
        format_cluster_path,
        probe_cluster_path,
    )
    from inspectors.model import to_jsonable

    try:
        targets = targets_from_args(args)
    except ValueError as e:
        return _die(str(e))
    snap = build_cluster(targets)
    p = explain_cluster_path(snap, args.src, args.dst)
    if p.src_node is None:
        return _die(p.reason)
    if getattr(args, "probe", False):
        probe_cluster_path(snap, p)
    from inspectors.topology import save_last_path

    save_last_path(to_jsonable(p), [n.host for n in snap.nodes])
    if getattr(args, "json", False):
        print(json.dumps(to_jsonable(p), indent=2))
    else:
        print(format_cluster_path(p))
    return {"reachable": 0, "unreachable": 1}.get(p.verdict, 3)


def _map_tree(args: argparse.Namespace, previous=None):
    """(topology, title, cluster snapshot or None) of one host or of the hosts named."""
    from inspectors.topology import build_cluster_map, build_single, load_last_path

    if args.hosts and (len(args.hosts) + len(args.contexts) > 1) or getattr(args, "swarm", False):
        from inspectors.cluster_doctor import run_cluster_doctor as rcd
        from inspectors.cluster_model import build_cluster, targets_from_args

        csnap = build_cluster(targets_from_args(args), previous=previous)
        last = load_last_path([n.host for n in csnap.nodes])
        root = build_cluster_map(csnap, rcd(csnap, previous), last)
        return root, f"map: {len(csnap.nodes)} nodes (r rebuilds)", csnap
    from inspectors.snapshot import Model

    m = Model()
    try:
        snap = m.build()
    finally:
        m.close()
    findings = []
    try:
        from inspectors.doctor import run_doctor

        findings = run_doctor(snap)
    except Exception:  # noqa: BLE001 - the map without findings
        pass
    return build_single(snap, findings, load_last_path(snap.engine.host)), "map: this host", None


def run_map(args: argparse.Namespace) -> int:
    import shutil

    from inspectors.topology import render_text

    try:
        root, _title, _ = _map_tree(args)
    except ValueError as e:
        return _die(str(e))
    width = args.width or (
        shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else 200
    )
    print(render_text(root, width))
    return 0


def run_map_console(args: argparse.Namespace) -> int:
    """`dockscope -H .. -H ..` (no command): the cluster map as the console."""
    from tui.panes.map import MapApp

    try:
        root, title, csnap = _map_tree(args)
    except ValueError as e:
        return _die(str(e))
    state = {"prev": csnap}

    def rebuild():
        root, title, snap = _map_tree(args, previous=state["prev"])
        state["prev"] = snap
        return root, title

    def service_lines(service: str):
        from inspectors.swarm import service_log_lines

        snap = state["prev"]
        mgr = next((n for n in snap.nodes if n.reachable and n.is_manager), None) if snap else None
        if mgr is None:
            raise LookupError("no reachable manager among the hosts")
        client = engine_client(None if mgr.host == "default" else mgr.host)
        return service_log_lines(client, service, tail=200, follow=True)

    MapApp(root, title, rebuild=rebuild, every=30.0, service_lines=service_lines).run()
    return 0


def run_cluster_console(args: argparse.Namespace) -> int:
    """`dockscope -H .. -H ..` / `dockscope --swarm` (no command): the console of
    every node, each table with a NODE column (tui/cluster_console.py)."""
    from inspectors.cluster_model import targets_from_args
    from tui.cluster_console import ClusterConsole

    try:
        targets = targets_from_args(args)
    except ValueError as e:
        return _die(str(e))
    ClusterConsole(targets, remote_cmd=getattr(args, "remote_dockscope", None)).run()
    return 0
