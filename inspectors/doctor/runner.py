"""Runs every doctor rule over one snapshot and one read of the host facts."""

from __future__ import annotations

from inspectors.doctor.findings import Finding, _f, sort_findings
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
)
from inspectors.doctor.rules_paths import (
    rule_daemon_log_errors,
    rule_duplicate_address,
    rule_endpoint_path_broken,
    rule_leftover_veth,
)
from inspectors.hostfacts import HostFacts
from inspectors.model import Snapshot

RULES = [
    rule_ip_forward_off,
    rule_default_bridge_names,
    rule_peers_no_common_network,
    rule_port_conflict,
    rule_port_loopback_only,
    rule_container_not_listening,
    rule_subnet_overlap,
    rule_macvlan_parent,
    rule_bridge_port_broken,
    rule_bridge_down,
    rule_orphan_bridge,
    rule_mtu_mismatch,
    rule_network_exhausted,
    rule_resolv_loopback,
    rule_forward_policy_drop,
    rule_docker_chains_missing,
    rule_dnat_missing,
    rule_iptables_variant,
    rule_daemon_config,
    rule_conntrack_full,
    rule_br_netfilter,
    rule_isolation_by_design,
    rule_stale_docker_proxy,
    rule_endpoint_path_broken,
    rule_leftover_veth,
    rule_duplicate_address,
    rule_daemon_log_errors,
]


def rule_names() -> list[str]:
    return [r.__name__[len("rule_") :] for r in RULES]


def run_doctor(snap: Snapshot, facts: HostFacts | None = None, rules=None) -> list[Finding]:
    """Every rule over ``snap`` (facts gathered when not given), sorted by severity."""
    if facts is None:
        from inspectors.hostfacts import gather_facts

        facts = gather_facts(snap)
    out: list[Finding] = []
    if not snap.engine.reachable:
        out.append(
            _f(
                "engine_unreachable",
                "error",
                "host",
                [snap.engine.host or "engine"],
                f"the engine is not reachable: {snap.engine.error or 'unknown error'}",
                why="Nothing about containers and networks can be checked.",
                fix="start dockerd / check DOCKER_HOST and permissions on the socket",
                check="docker version",
            )
        )
    from inspectors.paths import batch

    with batch(snap):  # one link index for every rule, not a scan per lookup
        for rule in rules or RULES:
            out.extend(_run_rule(rule, snap, facts))
    return sort_findings(out)


def _run_rule(rule, snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """One rule; a rule that raises becomes an ``info`` finding naming it."""
    try:
        return list(rule(snap, facts))
    except Exception as e:  # noqa: BLE001 - one broken rule must not hide the others
        name = rule.__name__[5:]
        return [_f(name, "info", "host", [], f"rule {name} could not run: {type(e).__name__}: {e}")]
