"""The doctor's findings model: a finding, severities, sorting, summary, JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class Finding:
    rule: str  # rule id (function name without "rule_")
    severity: str  # error | warning | info
    objects: list[str]  # names: containers, networks, interfaces, ports ("8080/tcp")
    message: str  # what is wrong, one line
    why: str = ""  # why it matters
    evidence: list[str] = field(default_factory=list)  # what was read that shows it
    fix: str = ""  # how to fix it
    check: str = ""  # the docker/iproute2 command a human would run to verify
    kind: str = "host"  # kind of objects[0]: container|network|bridge|interface|port|daemon|host
    ref: str | None = None  # incident catalog id (R1..R35)

    @property
    def target(self) -> tuple[str, str]:
        """(kind, name) of the primary object, for a UI jump."""
        return self.kind, (self.objects[0] if self.objects else "")


def _f(rule: str, severity: str, kind: str, objects, message: str, **kw) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        kind=kind,
        objects=[o for o in objects if o],
        message=message,
        **kw,
    )


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.rule, f.objects))


def summarize(findings: list[Finding]) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for f in findings:
        out[f.severity] = out.get(f.severity, 0) + 1
    return out


def finding_dict(f: Finding) -> dict:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "objects": list(f.objects),
        "kind": f.kind,
        "message": f.message,
        "why": f.why,
        "evidence": list(f.evidence),
        "fix": f.fix,
        "check": f.check,
        "ref": f.ref,
    }


def finding_key(f: Finding) -> str:
    """A stable id for one finding: ``rule:object1,object2`` (what a mute or ack names)."""
    return f"{f.rule}:{','.join(f.objects)}"


@dataclass
class FindingGroup:
    """Every finding of one rule, for a grouped view (expandable in the console)."""

    rule: str
    severity: str  # the worst severity among its findings
    findings: list[Finding] = field(default_factory=list)
    state: str | None = None  # None | "muted" | "acked": the rule's own mute/ack

    @property
    def count(self) -> int:
        return len(self.findings)

    @property
    def ref(self) -> str | None:
        return next((f.ref for f in self.findings if f.ref), None)

    @property
    def title(self) -> str:
        """One line: the message when alone, else the rule and a count."""
        if self.count == 1:
            return self.findings[0].message
        return f"{self.findings[0].message} (and {self.count - 1} more like it)"

    @property
    def objects(self) -> list[str]:
        return [f.objects[0] for f in self.findings if f.objects]

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "count": self.count,
            "state": self.state,
            "ref": self.ref,
            "title": self.title,
            "findings": [finding_dict(f) for f in self.findings],
        }


def matches(f: Finding, rule: str | None = None, obj: str | None = None) -> bool:
    """``rule``: exact rule id or a substring of it; ``obj``: substring of an object
    (case-insensitive). Both given: both must match."""
    if rule and rule != f.rule and rule.lower() not in f.rule.lower():
        return False
    if obj and not any(obj.lower() in o.lower() for o in f.objects):
        return False
    return True


def group_findings(findings: list[Finding], mutes=None, hide_muted=False) -> list[FindingGroup]:
    """Findings grouped by rule, sorted by severity, then count (largest first), then
    rule. ``mutes`` (an :class:`inspectors.mutes.MuteStore`) sets each group's state;
    ``hide_muted`` leaves muted findings (and muted rules) out."""
    groups: dict[str, FindingGroup] = {}
    for f in findings:
        if hide_muted and mutes is not None and mutes.finding_state(f) == "muted":
            continue
        g = groups.get(f.rule)
        if g is None:
            g = groups[f.rule] = FindingGroup(f.rule, f.severity)
        g.findings.append(f)
        if SEVERITY_RANK.get(f.severity, 9) < SEVERITY_RANK.get(g.severity, 9):
            g.severity = f.severity
    for g in groups.values():
        g.findings = sort_findings(g.findings)
        if mutes is not None:
            g.state = mutes.rule_state(g.rule)
    return sorted(
        groups.values(), key=lambda g: (SEVERITY_RANK.get(g.severity, 9), -g.count, g.rule)
    )
