"""The packet path on the command line: `dockscope firewall`, `conntrack`,
`sockets`, `neigh`, `capture`, and the outside-in mode of `dockscope path`
(`path host:PORT`, `path - CONTAINER --port N`).

Exit codes: 0 fine, 1 a finding of error level (firewall) or blocked (path),
2 bad input (one line on stderr, nothing changed), 3 unknown.
Top level stays light: inspectors are imported inside the commands.
"""

from __future__ import annotations

import argparse
import json
import re
import sys


def register(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser(
        "firewall",
        help="per published port and network: DNAT, the FORWARD walk, MASQUERADE, counters",
    )
    f.add_argument("what", nargs="?", metavar="PORT|CONTAINER|NETWORK")
    f.add_argument(
        "--backend",
        choices=("iptables-nft", "iptables-legacy", "nftables"),
        help="read this backend instead of the one Docker's rules are in",
    )
    f.add_argument("--from-iface", metavar="IFACE", help="the interface clients arrive on")
    f.add_argument("-v", "--verbose", action="store_true", help="every step of each walk")
    f.add_argument("--json", action="store_true", help="machine-readable output")
    f.set_defaults(func=cmd_firewall)

    c = sub.add_parser("conntrack", help="live connections with their NAT translation")
    c.add_argument("what", nargs="?", metavar="PORT|CONTAINER")
    c.add_argument("--proto", choices=("tcp", "udp", "icmp"))
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_conntrack)

    s = sub.add_parser("sockets", help="TCP/UDP sockets inside a container (ss -tunap)")
    s.add_argument("container", metavar="CONTAINER")
    s.add_argument("-l", "--listening", action="store_true", help="listening sockets only")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_sockets)

    n = sub.add_parser("neigh", help="ARP/NDP entries per bridge or sandbox, FAILED flagged")
    n.add_argument("what", nargs="?", metavar="CONTAINER|NETWORK")
    n.add_argument("--json", action="store_true", help="machine-readable output")
    n.set_defaults(func=cmd_neigh)

    p = sub.add_parser(
        "capture",
        help="capture packets on a container, bridge network or host interface (like tcpdump)",
    )
    p.add_argument("what", metavar="TARGET", help="CONTAINER[:IFACE], NETWORK or a host IFACE")
    p.add_argument("-c", "--count", type=int, metavar="N", help="stop after N packets")
    p.add_argument("-w", "--write", metavar="FILE", help="write a pcap file (0600)")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-packet lines")
    p.add_argument("filter", nargs="*", metavar="FILTER", help="e.g. host 10.0.0.2 and port 80")
    p.set_defaults(func=cmd_capture, takes_extra=True)


def add_path_args(p: argparse.ArgumentParser) -> None:
    """The outside-in options of `dockscope path` (called from tui/cli_doctor.py)."""
    p.add_argument(
        "--from-netns",
        metavar="PATH",
        help="outside-in --probe: connect from this network namespace (an outside client)",
    )


def _err(msg: str) -> int:
    from inspectors.text import clean

    print(f"dockscope: {clean(msg)}", file=sys.stderr)
    return 2


def _snapshot():
    from inspectors.snapshot import Model

    m = Model()
    try:
        return m.build()
    finally:
        m.close()


def _engine_ok(snap) -> bool:
    if not snap.engine.reachable:
        _err(snap.engine.error or "engine unreachable")
        return False
    return True


def _dump(obj) -> None:
    from inspectors.model import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=1)
    sys.stdout.write("\n")


def _w(lines) -> None:
    from inspectors.text import clean

    sys.stdout.write("".join(clean(ln) + "\n" for ln in lines))


def _counts(r) -> str:
    return "" if r is None or r.packets is None else f"[{r.packets}:{r.bytes}] "


# --------------------------------------------------------------------------- firewall


def _firewall_driver(snap) -> str | None:
    try:
        from inspectors.api import open_engine

        api = open_engine(snap.engine.host or None)
        try:
            fb = api.info().get("FirewallBackend") or {}
        finally:
            api.close()
        return fb.get("Driver")
    except Exception:  # noqa: BLE001 - old engines have no FirewallBackend
        return None


def cmd_firewall(args) -> int:
    from inspectors import firewall as fw
    from inspectors import firewall_report as fwr

    snap = _snapshot()
    if not _engine_ok(snap):
        return 2
    rss = fw.read_rulesets()
    rep = fwr.build_report(
        snap, rss, _firewall_driver(snap), in_iface=args.from_iface, backend=args.backend
    )
    ports, nets = rep.ports, rep.networks
    t = args.what
    if t:
        if t.isdigit():
            ports = [p for p in ports if p.host_port == int(t) or p.container_port == int(t)]
            nets = []
        elif snap.container(t):
            name = snap.container(t).name
            ports = [p for p in ports if p.container == name]
            mynets = {e.network for e in snap.container(t).endpoints}
            nets = [n for n in nets if n.network in mynets]
        elif snap.network(t):
            name = snap.network(t).name
            ports = [p for p in ports if p.network == name]
            nets = [n for n in nets if n.network == name]
        else:
            return _err(f"no published port, container or network named {t!r}")
    if args.json:
        _dump({"active": rep.active, "ports": ports, "networks": nets, "flags": rep.flags,
               "notes": rep.notes, "rulesets": [
                   {"backend": r.backend, "available": r.available, "error": r.error,
                    "docker": r.has_docker()} for r in rep.rulesets]})  # fmt: skip
        return 1 if any(f.severity == "error" for f in rep.flags) else 0
    out = [f"backend: {rep.active or 'none'}"]
    for r in rep.rulesets:
        state = (
            "Docker's rules" if r.has_docker() else ("no Docker rules" if r.available else r.error)
        )
        out.append(f"  read {r.backend}: {state}")
    for p in ports:
        out.append("")
        out.append(f"{p.label}  via {p.bridge or '?'}  verdict {p.verdict}")
        out.append(f"  DNAT        {_counts(p.dnat)}{p.dnat.line if p.dnat else 'MISSING'}")
        if p.forward is not None:
            for chain, what, rule in fw.chain_summary(p.forward):
                line = rule.line if rule is not None else ""
                out.append(f"  {chain:<11} {what:<10} {_counts(rule)}{line}".rstrip())
                if args.verbose:
                    for s in p.forward.steps:
                        if s.chain == chain:
                            rl = s.rule.line if s.rule else ""
                            out.append(
                                f"      {s.action:<7} {_counts(s.rule)}{rl} {s.note}".rstrip()
                            )
        out.append(
            f"  MASQUERADE  {_counts(p.masquerade)}{p.masquerade.line if p.masquerade else '-'}"
        )
    for n in nets:
        out.append("")
        out.append(f"network {n.network} ({n.bridge}) {', '.join(n.subnets)}")
        for r in n.masquerade:
            out.append(f"  MASQUERADE  {_counts(r)}{r.line}")
        for r in n.isolation:
            out.append(f"  isolation   {_counts(r)}{r.line}")
        for r in n.forward:
            out.append(f"  {r.table:<11} {_counts(r)}{r.line}")
    shown = {id(f) for p in ports for f in p.flags} | {id(f) for n in nets for f in n.flags}
    flags = [f for f in rep.flags if not t or id(f) in shown]
    if flags:
        out.append("")
    for f in flags:
        out.append(f"{f.severity.upper():7} {f.code}: {f.message}")
        if f.fix:
            out.append(f"        fix:   {f.fix}")
        if f.check:
            out.append(f"        check: {f.check}")
    for n in rep.notes:
        out.append(f"note: {n}")
    _w(out)
    return 1 if any(f.severity == "error" for f in flags) else 0


# --------------------------------------------------------------------------- conntrack


def cmd_conntrack(args) -> int:
    from inspectors import conntrack as ct

    snap = _snapshot()
    try:
        conns = ct.join(ct.read_conntrack(proto=args.proto), snap)
    except PermissionError:
        return _err("reading conntrack needs root (CAP_NET_ADMIN)")
    except OSError as e:
        return _err(f"conntrack unreadable: {e}")
    name = None
    t = args.what
    if t:
        if t.isdigit():
            conns = ct.for_port(conns, int(t), args.proto)
        elif snap.container(t):
            name = snap.container(t).name
            conns = ct.for_container(conns, name)
        else:
            return _err(f"no port or container named {t!r}")
    else:
        ips = ct.container_ips(snap)
        conns = [c for c in conns if c.src_container or c.dst_container or c.to_ip in ips]
    if args.json:
        _dump({"connections": conns, "states": ct.state_counts(conns),
               "talkers": ct.talkers(conns, name) if name else []})  # fmt: skip
        return 0
    out = []
    for c in conns:
        who = " ".join(x for x in (
            f"[{c.src_container}]" if c.src_container else "",
            f"-> [{c.dst_container}]" if c.dst_container else "") if x)  # fmt: skip
        out.append(f"{c.line()}  {who}".rstrip())
    out.append("")
    out.append(
        "states: " + (", ".join(f"{k} {v}" for k, v in ct.state_counts(conns).items()) or "none")
    )
    if name:
        out.append(f"who talks to {name}:")
        for p in ct.talkers(conns, name):
            arrow = "->" if p.direction == "out" else "<-"
            st = ", ".join(f"{k} {v}" for k, v in p.states.items())
            svc = p.proto if p.port is None else f"{p.proto}/{p.port}"
            out.append(f"  {arrow} {p.peer} {svc}  {p.count} conn ({st})")
    _w(out)
    return 0


# --------------------------------------------------------------------------- sockets


def cmd_sockets(args) -> int:
    from inspectors.netsockets import format_ss, sandbox_sockets

    snap = _snapshot()
    if not _engine_ok(snap):
        return 2
    c = snap.container(args.container)
    if c is None:
        return _err(f"no container named {args.container!r}")
    if c.state != "running" or not c.pid:
        return _err(f"container {c.name} is not running")
    try:
        socks = sandbox_sockets(c.pid)
    except PermissionError:
        return _err("entering a container's namespace needs root")
    except OSError as e:
        return _err(f"sockets of {c.name} unreadable: {e}")
    if args.listening:
        socks = [s for s in socks if s.listening]
    if args.json:
        _dump(socks)
        return 0
    _w(format_ss(socks))
    return 0


# --------------------------------------------------------------------------- neigh


def cmd_neigh(args) -> int:
    from inspectors import neighbours as nb

    snap = _snapshot()
    targets: list[tuple[str, str | None, str | None]] = []  # (label, netns, ifname)
    t = args.what
    if t:
        c = snap.container(t)
        n = snap.network(t)
        if c is not None:
            if not c.pid:
                return _err(f"container {c.name} is not running")
            targets.append((c.name, c.netns or f"/proc/{c.pid}/ns/net", None))
        elif n is not None and n.bridge:
            targets.append((f"{n.name} ({n.bridge})", None, n.bridge))
        else:
            return _err(f"no running container or bridge network named {t!r}")
    else:
        for n in snap.networks:
            if n.bridge:
                targets.append((f"{n.name} ({n.bridge})", None, n.bridge))
    result = []
    for label, ns, ifn in targets:
        try:
            result.append((label, nb.read_neighbours(ns, ifn)))
        except OSError as e:
            result.append((label, []))
            print(f"dockscope: {label}: {e}", file=sys.stderr)
    if args.json:
        _dump({label: ents for label, ents in result})
        return 0
    out = []
    for label, ents in result:
        out.append(label)
        for e in ents:
            mark = "  !" if e.bad else "   "
            out.append(f"{mark} {e.ip:<28} {e.mac or '-':<18} {e.ifname:<16} {e.state}")
        if not ents:
            out.append("    (empty)")
    _w(out)
    return 1 if any(e.bad for _l, ents in result for e in ents) else 0


# --------------------------------------------------------------------------- capture


def cmd_capture(args) -> int:
    import signal
    import threading

    from inspectors import capture as cap
    from inspectors.text import clean

    try:
        flt = cap.parse_filter(list(args.filter) + list(getattr(args, "extra", [])))
    except ValueError as e:
        return _err(str(e))
    if args.count is not None and args.count <= 0:
        return _err("-c needs a positive count")
    snap = _snapshot()
    try:
        target = cap.resolve_target(snap, args.what)
    except ValueError as e:
        return _err(str(e))
    lock = threading.Lock()

    def out(line: str) -> None:
        if args.quiet:
            return
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    c = cap.Capture(target, flt, count=args.count, pcap_path=args.write, on_line=out)
    try:
        c.start()
    except cap.CaptureError as e:
        return _err(str(e))
    print(f"dockscope: capturing on {clean(target.label)}" + (
        f", filter: {clean(flt.text)}" if flt.text else ""), file=sys.stderr)  # fmt: skip
    stop = threading.Event()
    old = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not c.done.wait(0.2):
            if stop.is_set():
                break
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
        signal.signal(signal.SIGTERM, old)
    st = c.stats
    print(
        f"{st.matched} packets captured\n{st.received} packets received\n"
        f"{st.kernel_drops} packets dropped by kernel",
        file=sys.stderr,
    )
    if c.error:
        print(f"dockscope: {clean(c.error)}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- path, outside in

_HOSTPORT = re.compile(r"^(?:host|localhost|\d+\.\d+\.\d+\.\d+)?:(\d+)$|^host$")


def outside_in_requested(args) -> bool:
    """`path host:PORT` (B omitted) or `path - CONTAINER --port N`."""
    if args.src == "-":
        return True
    return args.dst is None and bool(_HOSTPORT.match(args.src or ""))


def cmd_path_outside(args) -> int:
    from inspectors import packetpath as pp

    MARK = {"ok": "✓", "fail": "✗", "warn": "!", "info": "i", "skip": "-"}
    host_port = container = None
    if args.src == "-":
        if not args.dst or not args.port:
            return _err("path - CONTAINER needs --port N (the container's port)")
        container = args.dst
    else:
        m = _HOSTPORT.match(args.src)
        if not m or not m.group(1):
            return _err("path host:PORT needs a port, e.g. path host:8080")
        host_port = int(m.group(1))
        if not 0 < host_port < 65536:
            return _err(f"bad port {host_port}")
    snap = _snapshot()
    if not _engine_ok(snap):
        return 3
    if container and snap.container(container) is None:
        return _err(f"no container named {container!r}")
    rep = pp.outside_in(
        snap, host_port=host_port, container=container, port=args.port if container else None,
        proto=args.proto,
    )  # fmt: skip
    if args.probe and rep.container:
        probe_ip = None
        m = re.match(r"^(\d+\.\d+\.\d+\.\d+):", args.src or "")
        if m:
            probe_ip = m.group(1)
        pp.probe(snap, rep, ip=probe_ip, netns=getattr(args, "from_netns", None))
    if args.json:
        _dump(rep)
        return {"reachable": 0, "blocked": 1}.get(rep.verdict, 3)
    head = f"outside -> host:{rep.host_port}/{rep.proto}"
    if rep.container:
        head += f" -> {rep.container} {rep.container_ip}:{rep.container_port}"
    out = [head, ""]
    for i, h in enumerate(rep.hops):
        out.append(f" {MARK.get(h.status, '?')} {h.what:<10} {h.text}")
        for d in h.detail:
            out.append(f" │      {d}")
        if i < len(rep.hops) - 1:
            out.append(" ▼")
    out.append("")
    out.append(f"verdict: {rep.verdict}")
    pr = rep.probe
    if pr is not None:
        out.append("")
        out.append(
            f"probe {pr.target}: " + ("connected" if pr.connected else f"failed ({pr.error})")
        )
        for key, dp, db in pr.moved:
            out.append(f"  counter +{dp} pkts +{db} bytes  {key}")
        if not pr.moved:
            out.append("  no rule counter moved")
        for line in pr.conntrack:
            out.append(f"  conntrack new: {line}")
        if pr.note:
            out.append(f"  note: {pr.note}")
    for n in rep.notes:
        out.append(f"note: {n}")
    _w(out)
    return {"reachable": 0, "blocked": 1}.get(rep.verdict, 3)
