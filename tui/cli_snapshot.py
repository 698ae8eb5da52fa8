"""`dockscope snapshot` and `dockscope brctl` (no Textual on these paths)."""

from __future__ import annotations

import argparse
import sys

from inspectors.text import clean


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="print the joined model of this host's Docker networking")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--no-sandboxes",
        action="store_true",
        help="skip reading container namespaces (faster, no interfaces/routes)",
    )
    p.set_defaults(func=cmd_snapshot)

    b = sub.add_parser("brctl", help="bridge-utils compatible views (show, showmacs)")
    bsub = b.add_subparsers(dest="brctl_cmd", metavar="show|showmacs")
    s = bsub.add_parser("show", help="like `brctl show [BRIDGE]`")
    s.add_argument("bridge", nargs="?")
    s.add_argument(
        "--containers", action="store_true", help="add the container and network behind each port"
    )
    s.set_defaults(func=cmd_brctl_show)
    m = bsub.add_parser("showmacs", help="like `brctl showmacs BRIDGE`")
    m.add_argument("bridge")
    m.add_argument("--containers", action="store_true", help="add the container behind each port")
    m.set_defaults(func=cmd_brctl_showmacs)
    b.set_defaults(func=lambda a: (b.print_help(), 2)[1])


def _err(line: str) -> None:
    print(f"dockscope: {line}", file=sys.stderr)


def model_for(args, **kw):
    """A Model on the command's engine object (or on its failure: no second try)."""
    from inspectors.api import EngineError
    from inspectors.snapshot import Model
    from tui.cli import engine

    try:
        m = Model(engine=engine(args), **kw)
    except EngineError as e:
        m = Model(engine_error=e, **kw)
    rp, args._reader = getattr(args, "_reader", None), None
    if rp is not None:  # forked by tui.cli before the engine was opened
        m.give_reader_process(rp)
    return m


def cmd_snapshot(args) -> int:
    from inspectors.model import dumps_json

    m = model_for(args, with_sandboxes=not args.no_sandboxes)
    try:
        snap = m.build()
    finally:
        m.close()
    if args.json:
        sys.stdout.write(dumps_json(snap))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(snap))
    if not snap.engine.reachable:  # tui.cli maps it: one line, exit 2
        from inspectors.api import EngineError

        raise EngineError(snap.engine.error or "engine unreachable", snap.engine.error_kind)
    return 0


def _port_labels(snap) -> dict[str, str]:
    out = {}
    for b in snap.bridges:
        for p in b.ports:
            if p.container:
                out[p.name] = clean(f"{p.container} ({p.network or b.network or '?'})")
    return out


def _bridges_for_cli(args):
    """Kernel only (fast) unless --containers asks for the join."""
    from inspectors import kernel

    if not args.containers:
        links, bridges = kernel.read_kernel()
        return links, bridges, None
    m = model_for(args, with_listeners=False)
    try:
        snap = m.build()
    finally:
        m.close()
    if not snap.engine.reachable:
        _err(snap.engine.error or "engine unreachable")
    return snap.links, snap.bridges, _port_labels(snap)


def cmd_brctl_show(args) -> int:
    from inspectors import kernel

    links, bridges, labels = _bridges_for_cli(args)
    out, err, rc = kernel.brctl_show(
        bridges, labels, names=[args.bridge] if args.bridge else None, links=links
    )
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


def cmd_brctl_showmacs(args) -> int:
    from inspectors import kernel

    links, bridges, labels = _bridges_for_cli(args)
    out, err, rc = kernel.brctl_showmacs(bridges, args.bridge, labels, links=links)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


# --------------------------------------------------------------------------- text view


def _table(rows: list[list[str]], head: list[str]) -> str:
    """Every cell through the one sanitizer: names, labels, aliases come from the engine."""
    rows = [head] + [[clean(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    return (
        "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
        + "\n"
    )


def _gateway(n, snap) -> str:
    """IPAM's gateways, else the effective one and where it comes from (issue 10)."""
    from inspectors.paths import effective_gateway

    if any(s.gateway for s in n.subnets):
        return ",".join(s.gateway or "-" for s in n.subnets)
    gw, src = effective_gateway(n, snap)
    return f"{gw} ({src})" if gw else "-"


def render_text(snap) -> str:
    from inspectors.paths import network_flags

    e = snap.engine
    out = []
    if e.reachable:
        d = e.daemon
        out.append(
            f"engine {e.host}  docker {e.server_version} (API {e.api_version})  "
            f"debug {'on' if e.debug else 'off'}  swarm {e.swarm_state or '-'}\n"
        )
        out.append(
            f"dockerd pid {d.pid or '?'}  config {d.config_file or '?'}  "
            f"log {d.log_source or '?'}\n"
        )
    else:
        out.append(f"engine {e.host}: {e.error}\n")
    for n in snap.notes:
        out.append(f"note: {n}\n")
    out = [clean(x) + "\n" for x in "".join(out).splitlines()]
    out.append("\nNETWORKS\n")
    out.append(
        _table(
            [
                [
                    n.name,
                    n.driver,
                    n.scope,
                    ",".join(s.subnet for s in n.subnets) or "-",
                    _gateway(n, snap),
                    n.bridge or n.parent or "-",
                    " ".join(network_flags(n)) or "-",
                    str(len(n.endpoints)),
                ]
                for n in snap.networks
            ],
            ["NAME", "DRIVER", "SCOPE", "SUBNET", "GATEWAY", "BRIDGE/PARENT", "FLAGS", "EPS"],
        )
    )
    out.append("\nENDPOINTS\n")
    rows = []
    for n in snap.networks:
        for ep in n.endpoints:
            rows.append(
                [
                    n.name,
                    ep.container,
                    ep.ipv4 or "-",
                    ep.mac or "-",
                    ep.sandbox_ifname or "-",
                    ep.host_veth or "-",
                    ",".join(ep.aliases) or "-",
                ]
            )
    out.append(
        _table(rows, ["NETWORK", "CONTAINER", "IPV4", "MAC", "IFACE", "HOST VETH", "ALIASES"])
    )
    out.append("\nCONTAINERS\n")
    out.append(
        _table(
            [
                [
                    c.name,
                    c.state,
                    str(c.pid or "-"),
                    ",".join(c.networks) or "-",
                    " ".join(
                        f"{p.host_ip}:{p.host_port}->{p.container_port}/{p.protocol}"
                        for p in c.ports
                        if p.host_port
                    )
                    or "-",
                ]
                for c in snap.containers
            ],
            ["NAME", "STATE", "PID", "NETWORKS", "PORTS"],
        )
    )
    out.append("\nBRIDGES\n")
    out.append(
        _table(
            [
                [
                    b.name,
                    b.bridge_id,
                    "yes" if b.stp_enabled else "no",
                    b.network or ("(orphan)" if b.orphan else "-"),
                    " ".join(
                        f"{p.name}" + (f"[{p.container}]" if p.container else "") for p in b.ports
                    )
                    or "-",
                ]
                for b in snap.bridges
            ],
            ["BRIDGE", "BRIDGE ID", "STP", "NETWORK", "PORTS"],
        )
    )
    out.append("\nPUBLISHED PORTS\n")
    rows = []
    for c in snap.containers:
        for p in c.ports:
            if p.host_port:
                rows.append(
                    [
                        f"{p.host_ip or '*'}:{p.host_port}",
                        f"{c.name}:{p.container_port}/{p.protocol}",
                        f"{p.listener_process or '-'}({p.listener_pid or '-'})",
                        p.owner or "-",
                    ]
                )
    out.append(_table(rows, ["HOST", "CONTAINER", "HELD BY", "OWNER"]))
    return "".join(out)
