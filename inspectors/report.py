"""Incident report: one Markdown (or JSON) document to paste into a ticket.

What is in it: engine and daemon facts, the doctor's findings (why, evidence,
fix, check), networks, containers (state, networks/IPs, ports, labels),
bridges and their ports, the host listeners behind published ports, recent
engine events and the last daemon log lines.

What is never in it: container environment variables (not read at all) and the
values of labels / event attributes whose key looks secret (password, token,
key, secret, credential, auth ...): those read ``<redacted>``.

Never imports Textual.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from collections.abc import Iterable

from inspectors.model import Snapshot
from inspectors.text import clean

REDACTED = "<redacted>"
SECRET_KEY_RE = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_.]?key|private[-_.]?key|access[-_.]?key|"
    r"credential|auth|session|cookie|signature|(^|[-_.])key($|[-_.])|dsn|conn(ection)?[-_.]?string",
    re.I,
)
# event attributes that are never labels
_EVENT_KEEP = {"name", "image", "exitCode", "container", "type", "driver", "signal", "execID"}


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(key or ""))


# secrets inside free text (daemon log lines with debug on carry request bodies)
_ENV_LIST_RE = re.compile(r'(\\?"Env\\?"\s*:\s*\[)([^\]]*)(\])', re.I)
_ENV_ITEM_RE = re.compile(r'(\\?")([^"=\\]*)=(.*?)(\\?")(?=\s*(?:,|$))')
_JSON_SECRET_RE = re.compile(r'("(?:[^"\\]|\\.)*"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,{}\[\]\s"]+)')
_HEADER_RE = re.compile(
    r"\b(authorization|proxy-authorization|x-registry-auth|x-registry-config|cookie|"
    r"set-cookie|x-auth-token|x-api-key)(\s*[:=]\s*)(\"[^\"]*\"|[^\s,;]+(?:\s+[^\s,;\"]+)?)",
    re.I,
)
_KV_RE = re.compile(r"\b([A-Za-z0-9_.-]+)=(\"[^\"]*\"|'[^']*'|[^\s,;&\"\\]+)")
_ESC_JSON_RE = re.compile(r'(\\"([^"\\]*)\\"\s*:\s*\\")((?:[^"\\]|\\[^"])*)(\\")')
_URL_CRED_RE = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")
_BEARER_RE = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.I)


def redact_text(line: str) -> str:
    """``line`` with secrets replaced by ``<redacted>``: every environment value of an
    ``"Env"`` list, auth headers, registry credentials, URL passwords, bearer/basic
    tokens, and the value of any ``key=value`` / ``"key": value`` whose key looks secret."""
    if not line:
        return line
    s = _ENV_LIST_RE.sub(
        lambda m: (
            m.group(1)
            + _ENV_ITEM_RE.sub(
                lambda i: f"{i.group(1)}{i.group(2)}={REDACTED}{i.group(4)}", m.group(2)
            )
            + m.group(3)
        ),
        line,
    )
    s = _HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", s)
    s = _BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", s)
    s = _URL_CRED_RE.sub(lambda m: f"{m.group(1)}{REDACTED}@", s)

    def js(m):
        key = m.group(1).rstrip().rstrip(":").rstrip().strip('"')
        return m.group(1) + f'"{REDACTED}"' if is_secret_key(key) else m.group(0)

    s = _ESC_JSON_RE.sub(
        lambda m: m.group(1) + REDACTED + m.group(4) if is_secret_key(m.group(2)) else m.group(0),
        s,
    )
    s = _JSON_SECRET_RE.sub(js, s)
    return _KV_RE.sub(
        lambda m: f"{m.group(1)}={REDACTED}" if is_secret_key(m.group(1)) else m.group(0), s
    )


def redact_labels(labels: dict[str, str] | None) -> dict[str, str]:
    return {k: (REDACTED if is_secret_key(k) else v) for k, v in (labels or {}).items()}


def _event_dict(ev: Any) -> dict:
    if isinstance(ev, str):
        return {"text": ev}
    if not isinstance(ev, dict):
        return {"text": str(ev)}
    actor = ev.get("Actor") or {}
    attrs = {
        k: (REDACTED if is_secret_key(k) and k not in _EVENT_KEEP else v)
        for k, v in (actor.get("Attributes") or {}).items()
    }
    t = ev.get("time") or ev.get("Time")
    return {
        "time": t,
        "type": ev.get("Type") or ev.get("type"),
        "action": ev.get("Action") or ev.get("status"),
        "id": (actor.get("ID") or ev.get("id") or "")[:12],
        "attributes": attrs,
    }


def build_report_data(
    snap: Snapshot,
    findings: list,
    events: Iterable | None = None,
    daemon_log_lines: Iterable[str] | None = None,
) -> dict:
    """The report as a JSON-ready dict (no env, secret-like labels redacted)."""
    from inspectors.doctor import finding_dict, summarize
    from inspectors.paths import network_flags

    e = snap.engine
    d = e.daemon
    data = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "snapshot_taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(snap.taken_at or 0)),
        "engine": {
            "host": e.host,
            "reachable": e.reachable,
            "error": e.error,
            "server_version": e.server_version,
            "api_version": e.api_version,
            "os": e.os,
            "kernel": e.kernel_version,
            "swarm": e.swarm_state,
            "ipv4_forwarding": e.ipv4_forwarding,
            "warnings": list(e.warnings),
            "containers": e.containers_total,
            "running": e.containers_running,
        },
        "daemon": {
            "pid": d.pid,
            "config_file": d.config_file,
            "log_source": d.log_source,
            "data_root": d.data_root,
            "exec_root": d.exec_root,
            "flags": {k: v for k, v in (d.flags or {}).items() if not is_secret_key(k)},
        },
        "summary": summarize(findings),
        "findings": [finding_dict(f) for f in findings],
        "networks": [
            {
                "name": n.name,
                "id": n.id[:12],
                "driver": n.driver,
                "scope": n.scope,
                "subnets": [s.subnet for s in n.subnets],
                "gateways": [s.gateway for s in n.subnets if s.gateway],
                "bridge": n.bridge,
                "parent": n.parent,
                "internal": n.internal,
                "icc": n.icc,
                "flags": network_flags(n),
                "mtu": n.mtu,
                "labels": redact_labels(n.labels),
                "containers": [f"{ep.container} {ep.ipv4 or ''}".strip() for ep in n.endpoints],
            }
            for n in snap.networks
        ],
        "containers": [
            {
                "name": c.name,
                "id": c.id[:12],
                "image": c.image,
                "state": c.state,
                "status": c.status,
                "pid": c.pid,
                "network_mode": c.network_mode,
                "networks": {ep.network: ep.ipv4 for ep in c.endpoints},
                "ports": [
                    f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}"
                    + (" (requested)" if p.requested else "")
                    + (f" [{p.owner}]" if p.owner else "")
                    for p in c.ports
                    if p.host_port
                ],
                "labels": redact_labels(c.labels),
                "dns": list(c.dns.nameservers),
            }
            for c in snap.containers
        ],
        "bridges": [
            {
                "name": b.name,
                "network": b.network,
                "operstate": b.operstate,
                "mtu": b.mtu,
                "addresses": list(b.addresses),
                "orphan": b.orphan,
                "ports": [
                    {
                        "name": p.name,
                        "state": p.state,
                        "operstate": p.operstate,
                        "container": p.container,
                    }
                    for p in b.ports
                ],
            }
            for b in snap.bridges
        ],
        "listeners": [
            {
                "proto": l.protocol,
                "address": f"{l.ip}:{l.port}",
                "pid": l.pid,
                "process": l.process,
                "owner": l.owner,
                "container": l.container,
            }
            for l in snap.listeners
            if l.owner in ("docker-proxy", "dockerd")
            or any(p.host_port == l.port for c in snap.containers for p in c.ports)
        ],
        "events": [_event_dict(ev) for ev in (events or [])],
        "daemon_log": [redact_text(str(x)) for x in (daemon_log_lines or [])],
        "notes": list(snap.notes),
    }
    return data


def build_report_json(snap: Snapshot, findings: list, events=None, daemon_log_lines=None) -> str:
    return json.dumps(
        build_report_data(snap, findings, events, daemon_log_lines), indent=1, default=str
    )


def _safe(v: Any) -> str:
    """One line, inert for a terminal (reports get cat'ed too)."""
    return clean(v)


def _cell(v: Any) -> str:
    s = _safe(v)
    s = s.replace("\\", "\\\\").replace("|", "\\|")
    return s.replace("`", "'")


def _code(v: Any, table: bool = False) -> str:
    """An inline code span (outside tables pipes need no escaping)."""
    if v in (None, ""):
        return ""
    s = _safe(v).replace("`", "'")
    return "`" + (s.replace("|", "\\|") if table else s) + "`"


def _grouped_findings(w, findings: list) -> None:
    from inspectors.doctor import group_findings

    for i, g in enumerate(group_findings(findings), 1):
        f = g.findings[0]
        count = f" ×{g.count}" if g.count > 1 else ""
        w(f"### {i}. [{g.severity.upper()}] {_cell(f.message)}{count}")
        w("")
        w(f"- rule: `{g.rule}`" + (f" ({g.ref})" if g.ref else ""))
        if g.count > 1:
            names = [", ".join(x.objects[:2]) for x in g.findings if x.objects]
            more = len(names) - 20
            w(
                "- objects: "
                + "; ".join(_code(n) for n in names[:20])
                + (f"; and {more} more" if more > 0 else "")
            )
        elif f.objects:
            w("- objects: " + ", ".join(_code(o) for o in f.objects))
        if f.why:
            w(f"- why: {_cell(f.why)}")
        for ev in f.evidence[:5]:
            w(f"- evidence: {_code(ev)}")
        if f.fix:
            w(f"- fix: {_cell(f.fix)}")
        if f.check:
            w(f"- check: {_code(f.check)}")
        w("")


def build_report(
    snap: Snapshot,
    findings: list,
    events: Iterable | None = None,
    daemon_log_lines: Iterable[str] | None = None,
    grouped: bool = True,
) -> str:
    """The incident report as Markdown; findings grouped by rule with a count unless
    ``grouped`` is False (then every finding)."""
    data = build_report_data(snap, findings, events, daemon_log_lines)
    e, d = data["engine"], data["daemon"]
    out: list[str] = []
    w = out.append
    w("# dockscope incident report")
    w("")
    w(f"Generated {data['generated_at']} (snapshot {data['snapshot_taken_at']}).")
    w("")
    w("## Engine")
    w("")
    w("| | |")
    w("|---|---|")
    for k, v in (
        ("host", e["host"]),
        ("reachable", e["reachable"]),
        ("error", e["error"]),
        ("server version", e["server_version"]),
        ("API", e["api_version"]),
        ("OS", e["os"]),
        ("kernel", e["kernel"]),
        ("swarm", e["swarm"]),
        ("IPv4 forwarding", e["ipv4_forwarding"]),
        ("containers", f"{e['running']} running / {e['containers']}"),
        ("dockerd pid", d["pid"]),
        ("daemon.json", d["config_file"]),
        ("daemon log", d["log_source"]),
    ):
        if v not in (None, ""):
            w(f"| {k} | {_cell(v)} |")
    for warn in e["warnings"]:
        w(f"| engine warning | {_cell(warn)} |")
    w("")
    s = data["summary"]
    w("## Findings")
    w("")
    w(f"{s.get('error', 0)} error(s), {s.get('warning', 0)} warning(s), {s.get('info', 0)} info.")
    w("")
    if grouped:
        _grouped_findings(w, findings)
    for i, f in enumerate([] if grouped else data["findings"], 1):
        w(f"### {i}. [{f['severity'].upper()}] {_cell(f['message'])}")
        w("")
        w(f"- rule: `{f['rule']}`" + (f" ({f['ref']})" if f.get("ref") else ""))
        if f["objects"]:
            w("- objects: " + ", ".join(_code(o) for o in f["objects"]))
        if f["why"]:
            w(f"- why: {_cell(f['why'])}")
        for ev in f["evidence"]:
            w(f"- evidence: {_code(ev)}")
        if f["fix"]:
            w(f"- fix: {_cell(f['fix'])}")
        if f["check"]:
            w(f"- check: {_code(f['check'])}")
        w("")
    w("## Networks")
    w("")
    w("| name | driver | subnets | bridge/parent | flags | containers |")
    w("|---|---|---|---|---|---|")
    for n in data["networks"]:
        flags = ",".join(n["flags"])
        w(
            f"| {_cell(n['name'])} | {_cell(n['driver'])} | {_cell(' '.join(n['subnets']))} | "
            f"{_cell(n['bridge'] or n['parent'] or '')} | {flags} | {_cell(', '.join(n['containers']))} |"
        )
    w("")
    w("## Containers")
    w("")
    w("| name | state | networks | ports | labels |")
    w("|---|---|---|---|---|")
    for c in data["containers"]:
        nets = ", ".join(f"{k} {v or ''}".strip() for k, v in c["networks"].items())
        labels = ", ".join(f"{k}={v}" for k, v in sorted(c["labels"].items()))
        w(
            f"| {_cell(c['name'])} | {_cell(c['state'])} | {_cell(nets)} | "
            f"{_cell(', '.join(c['ports']))} | {_cell(labels)} |"
        )
    w("")
    if data["bridges"]:
        w("## Bridges")
        w("")
        w("| bridge | network | state | MTU | addresses | ports |")
        w("|---|---|---|---|---|---|")
        for b in data["bridges"]:
            ports = ", ".join(
                f"{p['name']}({p['state'] or '?'}{'→' + p['container'] if p['container'] else ''})"
                for p in b["ports"]
            )
            w(
                f"| {_cell(b['name'])} | {_cell(b['network'] or ('orphan' if b['orphan'] else ''))} | "
                f"{_cell(b['operstate'])} | {_cell(b['mtu'])} | {_cell(' '.join(b['addresses']))} | "
                f"{_cell(ports)} |"
            )
        w("")
    if data["listeners"]:
        w("## Host listeners on published ports")
        w("")
        w("| proto | address | process | owner | container |")
        w("|---|---|---|---|---|")
        for l in data["listeners"]:
            w(
                f"| {l['proto']} | {_cell(l['address'])} | {_cell(l['process'])} ({_cell(l['pid'])}) | "
                f"{_cell(l['owner'])} | {_cell(l['container'])} |"
            )
        w("")
    if data["events"]:
        w("## Recent engine events")
        w("")
        w("```")
        for ev in data["events"]:
            if "text" in ev:
                w(_safe(ev["text"]).replace("```", "'''"))
                continue
            t = ev["time"]
            ts = (
                time.strftime("%H:%M:%S", time.gmtime(t))
                if isinstance(t, (int, float))
                else str(t or "")
            )
            name = ev["attributes"].get("name", "")
            w(_safe(f"{ts} {ev['type']} {ev['action']} {ev['id']} {name}").replace("```", "'''"))
        w("```")
        w("")
    if data["daemon_log"]:
        w("## Last daemon log lines")
        w("")
        w("```")
        for line in data["daemon_log"]:
            w(_safe(line).replace("```", "'''"))
        w("```")
        w("")
    if data["notes"]:
        w("## Notes")
        w("")
        for n in data["notes"]:
            w(f"- {_cell(n)}")
        w("")
    return "\n".join(out)


__all__ = [
    "build_report",
    "build_report_json",
    "build_report_data",
    "redact_labels",
    "redact_text",
    "is_secret_key",
    "REDACTED",
]
