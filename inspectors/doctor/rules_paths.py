"""Doctor rules drawn from driver truth (inspectors.paths) and the daemon's own log:
broken endpoint paths, leftover veth pairs, duplicate addresses, repeated daemon errors."""

from __future__ import annotations

import ipaddress
import re

from inspectors.doctor.common import _kernel_ok, _running
from inspectors.doctor.findings import Finding, _f
from inspectors.hostfacts import HostFacts
from inspectors.model import Snapshot
from inspectors.report import redact_text


def rule_endpoint_path_broken(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """A running container's interface has lost its host veth, or the engine lists an
    endpoint the sandbox holds no interface for: that container is cut off from that
    network. (A missing bridge is rule_bridge_down; a missing parent rule_macvlan_parent.)"""
    if not _kernel_ok(snap):
        return []
    from inspectors.paths import batch, container_paths

    out = []
    with batch(snap):
        paths = [(c, p) for c in _running(snap) for p in container_paths(snap, c)]
    for c, p in paths:
        bad = [h for h in p.hops if h.status == "missing" and h.role in ("veth", "iface")]
        if not bad:
            continue
        where = p.network or "its network"
        out.append(
            _f(
                "endpoint_path_broken",
                "error",
                "container",
                [c.name, p.network or "", p.iface or ""],
                f"{c.name} {p.iface or ''} on {where}: "
                + "; ".join(p.breaks or [f"{bad[0].role} missing"]),
                why="Frames from this interface reach no bridge: the container is cut "
                f"off from {where} while others on it work.",
                evidence=[f"path: {p.text()}"],
                fix=f"docker network disconnect {where} {c.name} && docker network "
                f"connect {where} {c.name} (or docker restart {c.name})",
                check=f"docker exec {c.name} ip link; ip -br link show type veth",
            )
        )
    return out


def rule_leftover_veth(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """veth pairs with both ends in the host namespace, still enslaved to a bridge: left
    over by an engine that died uncleanly. No container owns them (a host-network
    container has no veth); they hold bridge ports and may answer ARP for nobody."""
    from inspectors.paths import leftover_veths

    out = []
    for lv in leftover_veths(snap):
        out.append(
            _f(
                "leftover_veth",
                "warning",
                "interface",
                [lv.name, lv.bridge or ""],
                f"leftover veth pair {lv.name} <-> {lv.peer} on {lv.bridge}"
                + (f" (network {lv.network})" if lv.network else "")
                + ": both ends on the host, no container",
                why="An engine that died uncleanly leaves these behind. They belong to no "
                "container; deleting one end deletes the pair.",
                evidence=[f"{lv.name} master {lv.bridge}, peer {lv.peer} in the host namespace"],
                fix=lv.fix,
                check=f"ip -d link show {lv.name}; ip link show {lv.peer}",
            )
        )
    return out


def rule_duplicate_address(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """A container holds the same IP as a host interface (typically a macvlan on the
    host's own subnet handed the host's address): ARP answers flap between the two."""
    if not snap.engine.local:
        return []
    host: dict[str, str] = {}
    for ifname, cidr in facts.addresses:
        host.setdefault(cidr.split("/")[0], ifname)
    if not host:
        for l in snap.links:
            for a in l.addresses:
                host.setdefault(a.split("/")[0], l.name)
    out = []
    for c in _running(snap):
        if c.network_mode == "host":
            continue
        for e in c.endpoints:
            for ip in (e.ipv4, e.ipv6):
                if not ip or ip not in host:
                    continue
                try:
                    if ipaddress.ip_address(ip).is_loopback:
                        continue
                except ValueError:
                    continue
                out.append(
                    _f(
                        "duplicate_address",
                        "error",
                        "container",
                        [c.name, e.network, host[ip]],
                        f"{c.name} holds {ip} on {e.network}, the address of host "
                        f"interface {host[ip]}",
                        why="Two machines answer ARP for one address: connections to the "
                        "host or to the container go to whichever answered last.",
                        evidence=[f"{c.name} {e.network} {ip}", f"host {host[ip]} {ip}"],
                        fix=f"exclude the host's addresses from the network's pool (docker "
                        f"network create --ip-range/--aux-address), then reconnect {c.name} "
                        "with another --ip",
                        check=f"ip -br addr | grep -w {ip}; docker inspect {c.name}",
                    )
                )
    return out


# ------------------------------------------------------------------ daemon log

_ID_RE = re.compile(r"\b[0-9a-f]{12,64}\b")
_IP_RE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?\b")
_NUM_RE = re.compile(r"\b\d+\b")
_OBJ_RE = re.compile(
    r"\b(?:endpoint|container|network|sandbox|interface|bridge|veth|service|task|node)"
    r"\s+([\w./:-]{3,})",
    re.I,
)
_FIELD_RE = re.compile(r"\s{2}\S+=.*$")  # logfmt fields after the message
MIN_REPEATS = 3


def _template(msg: str) -> str:
    return _NUM_RE.sub("N", _IP_RE.sub("IP", _ID_RE.sub("ID", msg)))


def rule_daemon_log_errors(snap: Snapshot, facts: HostFacts) -> list[Finding]:
    """Errors the daemon repeats in its own log (the last lines read with the facts), one
    finding per message and object: e.g. "Inconsistent driver and libnetwork state for
    endpoint X" seen 104 times."""
    lines = facts.daemon_log
    if not lines:
        return []
    seen: dict[tuple[str, str], dict] = {}
    for level, text in lines:
        if level not in ("error", "fatal", "panic", "warning"):
            continue
        msg = redact_text(_FIELD_RE.sub("", text).strip())
        if not msg:
            continue
        m = _OBJ_RE.search(msg)
        obj = m.group(1).rstrip(".:,") if m else ""
        key = (_template(msg.replace(obj, "X")) if obj else _template(msg), obj)
        got = seen.setdefault(key, {"n": 0, "level": level, "msg": msg})
        got["n"] += 1
        if level == "error":
            got["level"] = "error"
        got["msg"] = msg
    out = []
    for (_tpl, obj), got in seen.items():
        if got["n"] < MIN_REPEATS:
            continue
        names = _names_for(snap, obj)
        out.append(
            _f(
                "daemon_log_errors",
                "warning" if got["level"] == "error" else "info",
                "daemon",
                [names or obj or "dockerd"],
                f"dockerd logged {got['msg'][:160]!r} {got['n']} times"
                + (f" (object {names})" if names and names != obj else ""),
                why="A message the daemon repeats names a state it cannot fix by itself; "
                "the object it names is the place to look.",
                evidence=[
                    f"last: {got['msg'][:300]}",
                    f"{got['n']} times in the last {len(lines)} daemon log lines",
                ],
                fix="look at the named object (docker inspect / network inspect); for "
                "'Inconsistent driver and libnetwork state' disconnect and reconnect the "
                "endpoint's container, or remove the stale endpoint with "
                "docker network disconnect -f NETWORK CONTAINER",
                check="dockscope logs daemon --tail 500 | grep -F '" + (obj or "error") + "'",
            )
        )
    return out


def _names_for(snap: Snapshot, obj: str) -> str:
    """A container or network name for an id the daemon logged, else the id."""
    if not obj:
        return ""
    for n in snap.networks:
        if n.id.startswith(obj) or n.name == obj:
            return n.name
        for e in n.endpoints:
            if (e.endpoint_id or "").startswith(obj):
                return f"{e.container} on {n.name}"
    c = snap.container(obj) if len(obj) >= 4 else None
    return c.name if c else obj


__all__ = [
    "rule_endpoint_path_broken",
    "rule_leftover_veth",
    "rule_duplicate_address",
    "rule_daemon_log_errors",
]
