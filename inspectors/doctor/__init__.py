"""dockscope doctor: incident rules over a joined snapshot and the host facts.

Each rule is a small documented function ``rule_xxx(snap, facts) -> list[Finding]``
(see :data:`RULES`), grouped by area in ``rules_*.py``. Data comes from
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
from inspectors.doctor.rules_containers import (
    rule_container_not_listening,
    rule_default_bridge_names,
    rule_peers_no_common_network,
    rule_port_conflict,
    rule_port_loopback_only,
)
from inspectors.doctor.rules_daemon import (
    rule_br_netfilter,
    rule_conntrack_full,
    rule_daemon_config,
    rule_isolation_by_design,
    rule_stale_docker_proxy,
)
from inspectors.doctor.rules_firewall import (
    rule_dnat_missing,
    rule_docker_chains_missing,
    rule_forward_policy_drop,
    rule_ip_forward_off,
    rule_iptables_variant,
)
from inspectors.doctor.rules_networks import (
    rule_bridge_down,
    rule_bridge_port_broken,
    rule_macvlan_parent,
    rule_mtu_mismatch,
    rule_network_exhausted,
    rule_orphan_bridge,
    rule_resolv_loopback,
    rule_subnet_overlap,
    subnet_capacity,
)
from inspectors.doctor.rules_paths import (
    rule_daemon_log_errors,
    rule_duplicate_address,
    rule_endpoint_path_broken,
    rule_leftover_veth,
)
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
    "rule_br_netfilter",
    "rule_bridge_down",
    "rule_bridge_port_broken",
    "rule_conntrack_full",
    "rule_container_not_listening",
    "rule_daemon_config",
    "rule_daemon_log_errors",
    "rule_default_bridge_names",
    "rule_dnat_missing",
    "rule_docker_chains_missing",
    "rule_duplicate_address",
    "rule_endpoint_path_broken",
    "rule_forward_policy_drop",
    "rule_ip_forward_off",
    "rule_iptables_variant",
    "rule_isolation_by_design",
    "rule_leftover_veth",
    "rule_macvlan_parent",
    "rule_mtu_mismatch",
    "rule_network_exhausted",
    "rule_orphan_bridge",
    "rule_peers_no_common_network",
    "rule_port_conflict",
    "rule_port_loopback_only",
    "rule_resolv_loopback",
    "rule_stale_docker_proxy",
    "rule_subnet_overlap",
]
