"""dockscope doctor: incident rules over a joined snapshot and the host facts.

Each rule is a small documented function ``rule_xxx(snap, facts) -> list[Finding]``
(listed once, in :data:`RULES` in ``runner.py``; import a rule from its
``rules_*`` module), grouped by area in ``rules_*.py``. Data comes from
:class:`inspectors.model.Snapshot` (engine, kernel, sandboxes, sockets) and
:class:`inspectors.hostfacts.HostFacts` (sysctls, routes, iptables, daemon.json,
resolv.conf), read once by :func:`inspectors.hostfacts.gather_facts`. Rule ids
follow the incident catalog (R1..R35) of the networking reference where one applies.

* :mod:`.findings`: the finding model, sorting, summary, JSON, grouping by rule;
* :mod:`.runner`: :func:`run_doctor` (a rule that raises becomes an ``info``
  finding naming the rule instead of breaking the others);
* :mod:`inspectors.mutes`: muted / acknowledged findings and rules.

Never imports Textual.
"""

from __future__ import annotations

from inspectors.doctor.findings import (
    SEVERITIES,
    SEVERITY_RANK,
    Finding,
    FindingGroup,
    finding_key,
    group_findings,
    matches,
    finding_dict,
    sort_findings,
    summarize,
)
from inspectors.doctor.rules_networks import subnet_capacity
from inspectors.doctor.runner import RULES, rule_names, run_doctor

__all__ = [
    "Finding",
    "FindingGroup",
    "group_findings",
    "finding_key",
    "matches",
    "RULES",
    "run_doctor",
    "rule_names",
    "sort_findings",
    "summarize",
    "finding_dict",
    "subnet_capacity",
    "SEVERITIES",
    "SEVERITY_RANK",
]
