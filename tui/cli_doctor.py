"""`dockscope doctor`, `dockscope path A B` and `dockscope report`.

Exit codes:
* doctor: 0 no error-level finding, 1 at least one error-level finding;
* path: 0 reachable, 1 unreachable, 3 unknown (something could not be read),
  2 bad input (no such container, a port outside 1-65535) or no engine;
* report: 0 written, 1 the engine is unreachable (the report is still written).

Top level stays light: the inspectors are imported inside the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

MARK = {"ok": "✓", "fail": "✗", "warn": "!", "info": "i", "skip": "-"}
DAEMON_LOG_LINES = 2000  # the doctor reads this many daemon log lines for repeated errors


def safe(text: str) -> str:
    """Text output inert for a terminal (newlines kept): inspectors.text.clean."""
    from inspectors.text import clean

    return clean(text, multiline=True)


def port_number(v: str) -> int:
    """argparse type: a TCP/UDP port, 1-65535."""
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {v!r}") from None
    if not 1 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {n}")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("doctor", help="check this host's Docker networking for known incidents")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument(
        "--severity",
        choices=("error", "warning", "info"),
        default="info",
        help="show findings of this severity and above (default: all)",
    )
    d.add_argument(
        "--all", action="store_true", help="every finding, not grouped by rule (muted ones too)"
    )
    d.add_argument("--rule", metavar="RULE", help="only findings of this rule (or part of its id)")
    d.add_argument("--object", metavar="NAME", help="only findings naming this object (substring)")
    d.add_argument("--show-muted", action="store_true", help="also list muted findings and rules")
    m = d.add_mutually_exclusive_group()
    m.add_argument("--mute", metavar="KEY", help="mute a rule, or one finding as RULE:OBJECTS")
    m.add_argument("--ack", metavar="KEY", help="acknowledge a rule or RULE:OBJECTS")
    m.add_argument("--unmute", metavar="KEY", help="clear a mute or acknowledgement")
    _fact_args(d)
    d.set_defaults(func=cmd_doctor)

    p = sub.add_parser("path", help="explain why container A can (not) reach B, hop by hop")
    p.add_argument("src", metavar="A", help="source container (name or id)")
    p.add_argument(
        "dst",
        metavar="B",
        nargs="?",
        help="destination: a container, host[:PORT] or IP[:PORT] "
        "(outside in: `path host:PORT`, `path - CONTAINER --port N`)",
    )
    p.add_argument("--port", type=port_number, help="destination port (1-65535)")
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also test for real from inside A's network namespace "
        "(TCP connect / UDP send, DNS to 127.0.0.11, ping; root)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    from tui.cli_packet import add_path_args  # outside-in mode (H6)

    add_path_args(p)
    p.set_defaults(func=cmd_path)

    r = sub.add_parser("report", help="write an incident report (Markdown or JSON)")
    r.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    r.add_argument("--json", action="store_true", help="JSON instead of Markdown")
    r.add_argument(
        "--events-since",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="engine events of the last SECONDS (default 3600; 0: none)",
    )
    r.add_argument(
        "--log-lines",
        type=int,
        default=50,
        metavar="N",
        help="last N daemon log lines (default 50; 0: none)",
    )
    r.add_argument("--all", action="store_true", help="every finding, not grouped by rule")
    _fact_args(r)
    r.set_defaults(func=cmd_report)


def _fact_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where host facts come from (testing and forensics)")
    g.add_argument(
        "--netns",
        metavar="PATH",
        help="read sysctls, routes and iptables inside this network namespace",
    )
    g.add_argument(
        "--proc-root",
        metavar="DIR",
        default="/proc",
        help="read sysctls from DIR/sys/... (default /proc)",
    )
    g.add_argument(
        "--resolv-conf",
        metavar="FILE",
        default="/etc/resolv.conf",
        help="the host resolv.conf to check (default /etc/resolv.conf)",
    )


def _build(args, refs: bool = True, daemon_log: int = 0, fdb: bool = True, host_side: bool = False):
    """The snapshot and the host facts, read once (``fdb=False``: bridges without their
    forwarding database, which no doctor rule reads and which costs most of the kernel
    read on a busy host; ``host_side``: namespaces read only where the host side shows
    a suspect, inspectors.hostside)."""
    from inspectors.hostfacts import gather_facts
    from tui.cli_snapshot import model_for

    # the host's IPv4 routes, read by the reader process tui/cli.py forked (it has
    # pyroute2 imported): this process then never imports it (IPv6 ones, needed only
    # with an IPv6 network, are read here)
    routes = None
    rp = getattr(args, "_reader", None)
    if rp is not None and getattr(args, "netns", None) is None:
        from inspectors.hostfacts import route_part_in_child

        routes = rp.call(route_part_in_child, False)
    m = model_for(args, with_fdb=fdb, host_side=host_side)
    # iptables-save runs while the model builds (host namespace only; needs root)
    ipt = None
    if getattr(args, "netns", None) is None and os.geteuid() == 0:
        from inspectors.hostfacts import read_iptables

        ipt = m.pool.submit(read_iptables)
    try:
        snap = m.build()
        inspects = m.container_inspects()  # the refs read from these: no engine call more
        iptables = ipt.result() if ipt is not None and snap.engine.local else True
        if routes is not None:
            try:
                routes = routes.result(m.timeout)
            except Exception:  # the reader process died or timed out: read here
                routes = None
    finally:
        m.close()
    facts = gather_facts(
        snap,
        iptables=iptables,
        proc_root=getattr(args, "proc_root", "/proc"),
        netns=getattr(args, "netns", None),
        resolv_conf=getattr(args, "resolv_conf", "/etc/resolv.conf"),
        container_refs=refs,
        daemon_log=daemon_log,
        inspects=inspects,
        routes=routes,
    )
    return snap, facts


# --------------------------------------------------------------------------- doctor


def _finding_lines(f, out: list[str], state: str | None = None, indent: str = "") -> None:
    mark = f" [{state}]" if state else ""
    out.append(f"{indent}{f.severity.upper():7} {f.rule}{mark}: {f.message}")
    pad = indent + "        "
    if f.objects:
        out.append(f"{pad}objects: {', '.join(f.objects)}")
    if f.why:
        out.append(f"{pad}why:     {f.why}")
    for ev in f.evidence:
        out.append(f"{pad}seen:    {ev}")
    if f.fix:
        out.append(f"{pad}fix:     {f.fix}")
    if f.check:
        out.append(f"{pad}check:   {f.check}")
    out.append("")


def _tail(findings, mutes, notes, hidden: int) -> list[str]:
    from inspectors.doctor import summarize

    s = summarize(findings)
    out = [f"{s['error']} error(s), {s['warning']} warning(s), {s['info']} info"]
    if hidden:
        out.append(f"{hidden} muted (--show-muted lists them)")
    if mutes is not None and mutes.error:
        out.append(f"note: mutes unreadable: {mutes.error}")
    out.extend(f"note: {n}" for n in notes)
    return out


def render_findings_text(findings, notes=(), mutes=None, show_muted=False) -> str:
    """Every finding, one block each (``doctor --all``)."""
    out: list[str] = []
    hidden = 0
    for f in findings:
        st = mutes.finding_state(f) if mutes is not None else None
        if st == "muted" and not show_muted:
            hidden += 1
            continue
        _finding_lines(f, out, st)
    out.extend(_tail(findings, mutes, notes, hidden))
    return safe("\n".join(out) + "\n")


MAX_OBJECTS = 12  # objects named per group before "and N more"


def render_groups_text(findings, notes=(), mutes=None, show_muted=False) -> str:
    """Findings grouped by rule with a count (the default ``doctor`` view): a group of
    one prints the finding; a larger group prints its first finding's advice once and
    names the objects."""
    from inspectors.doctor import group_findings

    out: list[str] = []
    groups = group_findings(findings, mutes, hide_muted=not show_muted)
    hidden = len(findings) - sum(g.count for g in groups)
    for g in groups:
        if g.count == 1:
            f = g.findings[0]
            _finding_lines(f, out, mutes.finding_state(f) if mutes is not None else g.state)
            continue
        f = g.findings[0]
        mark = f" [{g.state}]" if g.state else ""
        out.append(f"{g.severity.upper():7} {g.rule}{mark} ×{g.count}: {f.message}")
        names = [", ".join(x.objects[:2]) for x in g.findings if x.objects]
        more = len(names) - MAX_OBJECTS
        out.append(
            "        objects: "
            + "; ".join(names[:MAX_OBJECTS])
            + (f"; and {more} more" if more > 0 else "")
        )
        if f.why:
            out.append(f"        why:     {f.why}")
        if f.fix:
            out.append(f"        fix:     {f.fix} (for the first; the same for the others)")
        out.append(f"        all:     dockscope doctor --all --rule {g.rule}")
        out.append("")
    out.extend(_tail(findings, mutes, notes, hidden))
    return safe("\n".join(out) + "\n")


def cmd_doctor(args) -> int:
    from inspectors.doctor import SEVERITY_RANK, finding_dict, finding_key, group_findings
    from inspectors.doctor import matches, run_doctor
    from inspectors.mutes import MuteStore

    mutes = MuteStore()
    for key, state in ((args.mute, "muted"), (args.ack, "acked"), (args.unmute, None)):
        if key:
            from actions.validate import ActionError

            try:
                mutes.set(key, state)
                mutes.save()
            except (OSError, ValueError, ActionError) as e:
                print(f"dockscope: cannot save {mutes.path}: {e}", file=sys.stderr)
                return 2
            print(f"{key}: {state or 'cleared'} ({mutes.path})", file=sys.stderr)
            return 0
    snap, facts = _build(args, daemon_log=DAEMON_LOG_LINES, fdb=False, host_side=True)
    findings = run_doctor(snap, facts)
    limit = SEVERITY_RANK[args.severity]
    shown = [
        f
        for f in findings
        if SEVERITY_RANK.get(f.severity, 9) <= limit and matches(f, args.rule, args.object)
    ]
    notes = list(snap.notes) + list(facts.notes)
    if args.json:
        json.dump(
            {
                "engine": snap.engine.host,
                "findings": [
                    dict(finding_dict(f), key=finding_key(f), state=mutes.finding_state(f))
                    for f in shown
                ],
                "groups": [
                    {k: v for k, v in g.to_dict().items() if k != "findings"}
                    for g in group_findings(shown, mutes)
                ],
                "notes": notes,
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    elif args.all:
        sys.stdout.write(render_findings_text(shown, notes, mutes, show_muted=True))
    else:
        sys.stdout.write(render_groups_text(shown, notes, mutes, args.show_muted))
    live = [f for f in findings if mutes.finding_state(f) is None]
    return 1 if any(f.severity == "error" for f in live) else 0


# --------------------------------------------------------------------------- path


def render_path_text(rep) -> str:
    dst = rep.dst + (f" port {rep.port}/{rep.proto}" if rep.port else "")
    out = [f"{rep.src} -> {dst}" + (f" ({rep.dst_ip})" if rep.dst_ip else ""), ""]
    for i, h in enumerate(rep.hops):
        flag = "   <-- first failure" if i == rep.first_failure_index else ""
        out.append(f" {MARK.get(h.status, '?')} {h.name}{flag}")
        for c in h.checks:
            out.append(f" │    {MARK.get(c.status, '?')} {c.name}: {c.detail}")
        if i < len(rep.hops) - 1:
            out.append(" ▼")
    out.append("")
    out.append(
        f"verdict: {rep.verdict}"
        + (f" (first failing hop: {rep.first_failure})" if rep.first_failure else "")
    )
    for n in rep.notes:
        out.append(f"note: {n}")
    return safe("\n".join(out) + "\n")


def cmd_path(args) -> int:
    from inspectors.reach import explain_path
    from tui.cli_packet import cmd_path_outside, outside_in_requested

    if outside_in_requested(args):
        return cmd_path_outside(args)
    if args.dst is None:
        print("dockscope: path needs A and B (or host:PORT alone)", file=sys.stderr)
        return 2

    from inspectors.text import clean

    snap, facts = _build(args, refs=False)
    if not snap.engine.reachable:
        print(f"dockscope: {clean(snap.engine.error or 'engine unreachable')}", file=sys.stderr)
        return 2
    if snap.container(args.src) is None:
        print(f"dockscope: no container {clean(args.src)!r} on this engine", file=sys.stderr)
        return 2
    from inspectors.reachmodel import parse_target

    kind, _b, ip, _p, by_name = parse_target(snap, args.dst, args.port)
    if kind == "address" and by_name:  # neither a container, the host nor an address
        print(
            f"dockscope: no container {clean(args.dst)!r} on this engine "
            "(B is a container, host[:PORT] or an IP address)",
            file=sys.stderr,
        )
        return 2
    rep = explain_path(
        snap, args.src, args.dst, port=args.port, proto=args.proto, probe=args.probe, facts=facts
    )
    if args.json:
        json.dump(rep.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_path_text(rep))
    return {"reachable": 0, "unreachable": 1}.get(rep.verdict, 3)


# --------------------------------------------------------------------------- report


def recent_events(host: str | None, seconds: int, limit: int = 200) -> list:
    """Engine events of the last ``seconds`` (container/network/daemon), oldest first."""
    import time

    from inspectors.api import open_engine

    eng = open_engine(host or None, timeout=10)
    cli = eng.client
    try:
        now = int(time.time())
        evs = list(
            cli.events(
                since=now - seconds,
                until=now,
                decode=True,
                filters={"type": ["container", "network", "daemon"]},
            )
        )
    finally:
        eng.close()
    return evs[-limit:]


def daemon_log_tail(daemon, n: int) -> list[str]:
    from inspectors.hostfacts import read_daemon_log

    return [getattr(l, "text", str(l)) for l in read_daemon_log(daemon, n)]


def cmd_report(args) -> int:
    from inspectors.doctor import run_doctor
    from inspectors.report import build_report, build_report_json

    snap, facts = _build(args)
    findings = run_doctor(snap, facts)
    events, logs = [], []
    if snap.engine.reachable and args.events_since > 0:
        try:
            events = recent_events(snap.engine.host, args.events_since)
        except Exception as e:  # noqa: BLE001 - the report must still be written
            snap.notes.append(f"engine events unavailable: {e}")
    if snap.engine.local and args.log_lines > 0:
        try:
            logs = daemon_log_tail(snap.engine.daemon, args.log_lines)
        except Exception as e:  # noqa: BLE001
            snap.notes.append(f"daemon log unavailable: {e}")
    snap.notes.extend(facts.notes)
    if args.json:
        text = build_report_json(snap, findings, events, logs)
    else:
        text = build_report(snap, findings, events, logs, grouped=not args.all)
    if args.output:
        from actions.files import save_private  # 0600, no symlinks, read-only aware
        from actions.validate import ActionError

        try:
            save_private(args.output, text if text.endswith("\n") else text + "\n")
        except (ActionError, OSError) as e:
            print(f"dockscope: {safe(str(e))}", file=sys.stderr)
            return 2
        print(f"report written to {args.output} (mode 0600)", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0 if snap.engine.reachable else 1
