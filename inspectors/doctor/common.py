"""Helpers shared by the doctor's rules (UI-free)."""

from __future__ import annotations

import functools
import ipaddress

from inspectors.hostfacts import HostFacts  # noqa: F401
from inspectors.model import Container, Network, Snapshot  # noqa: F401

# --------------------------------------------------------------------------- helpers


def _running(snap: Snapshot) -> list[Container]:
    return [c for c in snap.containers if c.state == "running"]


def _default_bridges(snap: Snapshot) -> list[Network]:
    return [n for n in snap.networks if n.driver == "bridge" and not n.dns_by_name]


def _attached(n: Network, snap: Snapshot) -> list[Container]:
    ids = {e.container_id for e in n.endpoints}
    return [c for c in snap.containers if c.id in ids and c.state == "running"]


def _shares_mode(c: Container) -> bool:
    m = c.network_mode or ""
    return m in ("host", "none") or m.startswith("container:")


def _on_network(c: Container, n: Network) -> bool:
    return (
        any(e.network_id == n.id or e.network == n.name for e in c.endpoints)
        or n.name in c.networks
    )


def _link(snap: Snapshot, name: str | None):
    from inspectors.paths import _link as link  # indexed inside paths.batch (run_doctor)

    return link(snap, name)


def _kernel_ok(snap: Snapshot) -> bool:
    return snap.engine.local and bool(snap.links)


def _proxy_on(facts: HostFacts) -> bool:
    v = facts.daemon_setting("userland-proxy", True)
    return v not in (False, "false")


def _iptables_on(facts: HostFacts) -> bool:
    v = facts.daemon_setting("iptables", True)
    return v not in (False, "false")


@functools.lru_cache(maxsize=4096)
def _net(cidr: str):
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def restart_hint(snap: Snapshot) -> str:
    """A restart valid on this host (``inspectors.supervisor``: systemd unit with PID 1
    systemd, init script with its pidfile, supervisord/runit/s6), else how dockerd was
    started and what to do."""
    from inspectors.supervisor import restart_hint as _hint

    try:
        return _hint(snap.engine.daemon)
    except Exception:  # noqa: BLE001 - a hint, never a failure
        return "restart the engine the way it was started"
