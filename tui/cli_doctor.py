"""`dockscope doctor`, `dockscope path A B` and `dockscope report`.

Exit codes:
* doctor: 0 no error-level finding, 1 at least one error-level finding;
* path: 0 reachable, 1 unreachable, 3 unknown (something could not be read);
* report: 0 written, 1 the engine is unreachable (the report is still written).

Top level stays light: the inspectors are imported inside the commands.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

MARK = {"ok": "✓", "fail": "✗", "warn": "!", "info": "i", "skip": "-"}
# container-controlled text (names, labels) must not drive the terminal
_UNSAFE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|"
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def safe(text: str) -> str:
    """Text output without escape sequences or control characters (newlines kept)."""
    return _UNSAFE.sub("", text)


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("doctor", help="check this host's Docker networking for known incidents")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument(
        "--severity",
        choices=("error", "warning", "info"),
        default="info",
        help="show findings of this severity and above (default: all)",
    )
    _fact_args(d)
    d.set_defaults(func=cmd_doctor)

    p = sub.add_parser("path", help="explain why container A can (not) reach B, hop by hop")
    p.add_argument("src", metavar="A", help="source container (name or id)")
    p.add_argument("dst", metavar="B", help="destination: a container, host[:PORT] or IP[:PORT]")
    p.add_argument("--port", type=int, help="destination port")
    p.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also test for real from inside A's network namespace "
        "(TCP connect / UDP send, DNS to 127.0.0.11, ping; root)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
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


def _build(args, refs: bool = True):
    from inspectors.hostfacts import gather_facts
    from inspectors.snapshot import Model

    m = Model()
    try:
        snap = m.build()
    finally:
        m.close()
    facts = gather_facts(
        snap,
        proc_root=getattr(args, "proc_root", "/proc"),
        netns=getattr(args, "netns", None),
        resolv_conf=getattr(args, "resolv_conf", "/etc/resolv.conf"),
        container_refs=refs,
    )
    return snap, facts


# --------------------------------------------------------------------------- doctor


def render_findings_text(findings, notes=()) -> str:
    from inspectors.doctor import summarize

    out = []
    for f in findings:
        out.append(f"{f.severity.upper():7} {f.rule}: {f.message}")
        if f.objects:
            out.append(f"        objects: {', '.join(f.objects)}")
        if f.why:
            out.append(f"        why:     {f.why}")
        for ev in f.evidence:
            out.append(f"        seen:    {ev}")
        if f.fix:
            out.append(f"        fix:     {f.fix}")
        if f.check:
            out.append(f"        check:   {f.check}")
        out.append("")
    s = summarize(findings)
    out.append(f"{s['error']} error(s), {s['warning']} warning(s), {s['info']} info")
    for n in notes:
        out.append(f"note: {n}")
    return safe("\n".join(out) + "\n")


def cmd_doctor(args) -> int:
    from inspectors.doctor import SEVERITY_RANK, finding_dict, run_doctor

    snap, facts = _build(args)
    findings = run_doctor(snap, facts)
    limit = SEVERITY_RANK[args.severity]
    shown = [f for f in findings if SEVERITY_RANK.get(f.severity, 9) <= limit]
    if args.json:
        json.dump(
            {
                "engine": snap.engine.host,
                "findings": [finding_dict(f) for f in shown],
                "notes": list(snap.notes) + list(facts.notes),
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_findings_text(shown, list(snap.notes) + list(facts.notes)))
    return 1 if any(f.severity == "error" for f in findings) else 0


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

    snap, facts = _build(args, refs=False)
    if not snap.engine.reachable:
        print(f"dockscope: {snap.engine.error or 'engine unreachable'}", file=sys.stderr)
        return 3
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

    from inspectors.api import sdk_client

    cli = sdk_client(host or None, timeout=10)
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
        cli.close()
    return evs[-limit:]


def daemon_log_tail(daemon, n: int) -> list[str]:
    from inspectors.logs import daemon_log_source

    src = daemon_log_source(daemon, follow=False, tail=n)
    lines: list[str] = []
    try:
        for chunk in src.read():
            lines.extend(getattr(l, "text", str(l)) for l in chunk)
    finally:
        src.close()
    return lines[-n:]


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
    text = (build_report_json if args.json else build_report)(snap, findings, events, logs)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
            if not text.endswith("\n"):
                fh.write("\n")
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0 if snap.engine.reachable else 1
