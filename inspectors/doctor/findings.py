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
