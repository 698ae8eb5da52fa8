"""brctl-compatible text (bridge-utils 1.7): ``brctl show [NAME...]`` and
``brctl showmacs NAME`` from the bridges :mod:`inspectors.kernel` reads.
:mod:`inspectors.kernel` re-exports every name.

Never imports textual.
"""

from __future__ import annotations

import os

from .model import Bridge, Link

SYSFS_NET = "/sys/class/net"

BRCTL_SHOW_HEADER = "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n"
BRCTL_SHOWMACS_HEADER = "port no\tmac addr\t\tis local?\tageing timer\n"
_CONT = "\n\t\t\t\t\t\t\t"


def _port_label(port: str, containers: dict[str, str] | None) -> str:
    if containers and port in containers and containers[port]:
        return f"{port}\t{containers[port]}"
    return port


def _show_line(b: Bridge, containers: dict[str, str] | None) -> str:
    ifaces = _CONT.join(_port_label(p, containers) for p in b.interfaces)
    return f"{b.name}\t\t{b.bridge_id}\t{'yes' if b.stp_enabled else 'no'}\t\t{ifaces}\n"


def _device_exists(name: str, links: list[Link] | None) -> bool:
    if links is not None:
        return any(lk.name == name for lk in links)
    return os.path.exists(f"{SYSFS_NET}/{name}")


def brctl_show(
    bridges: list[Bridge],
    containers: dict[str, str] | None = None,
    names: list[str] | None = None,
    links: list[Link] | None = None,
) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of ``brctl show [NAME...]`` (bridge-utils 1.7).

    Without names: the header then every bridge in byte order. With names:
    the header is printed before the first bridge found; a missing name gives
    "bridge X does not exist!", a non-bridge device "device X is not a
    bridge!" (on stderr, exit code 1; ``links`` or sysfs tell which).
    ``containers`` maps a port name to a label ("web (mynet)") appended after
    the port, tab-separated.
    """
    if names is None:
        out = BRCTL_SHOW_HEADER + "".join(
            _show_line(b, containers) for b in sorted(bridges, key=lambda b: b.name.encode())
        )
        return out, "", 0
    by_name = {b.name: b for b in bridges}
    out, err, rc, header = [], [], 0, False
    for n in names:
        b = by_name.get(n)
        if b is None:
            rc = 1
            if _device_exists(n, links):
                err.append(f"device {n} is not a bridge!\n")
            else:
                err.append(f"bridge {n} does not exist!\n")
            continue
        if not header:
            out.append(BRCTL_SHOW_HEADER)
            header = True
        out.append(_show_line(b, containers))
    return "".join(out), "".join(err), rc


def format_brctl_show(
    bridges: list[Bridge] | Bridge,
    containers: dict[str, str] | None = None,
    names: list[str] | str | None = None,
) -> str:
    """What ``brctl show`` (or ``brctl show NAME...``) prints on stdout.

    ``bridges`` may be a single Bridge (== ``brctl show BR``). For the error
    text and exit code of missing names use :func:`brctl_show`.
    """
    if isinstance(containers, (str, list, tuple)):  # names passed positionally
        containers, names = None, containers
    if isinstance(bridges, Bridge):
        bridges = [bridges]
        if names is None:
            names = [bridges[0].name]
    if isinstance(names, str):
        names = [names]
    return brctl_show(bridges, containers, names=names)[0]


def _timer(seconds: float) -> str:
    cs = int(round(seconds * 100))
    return "%4i.%.2i" % (cs // 100, cs % 100)


def format_brctl_showmacs(bridge: Bridge, containers: dict[str, str] | None = None) -> str:
    """What ``brctl showmacs BR`` prints: rows sorted by MAC, the port number
    printed as brctl does (its low byte: brctl ignores ``port_hi``)."""
    lines = [BRCTL_SHOWMACS_HEADER]
    for e in bridge.fdb:
        no = (e.port_no or 0) & 0xFF
        line = f"{no:3d}\t{e.mac}\t{'yes' if e.is_local else 'no'}\t\t{_timer(e.ageing_timer)}"
        if containers and containers.get(e.port):
            line += f"\t{containers[e.port]}"
        lines.append(line + "\n")
    return "".join(lines)


def brctl_showmacs(
    bridges: list[Bridge],
    name: str,
    containers: dict[str, str] | None = None,
    links: list[Link] | None = None,
) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of ``brctl showmacs NAME``."""
    for b in bridges:
        if b.name == name:
            return format_brctl_showmacs(b, containers), "", 0
    why = "Operation not supported" if _device_exists(name, links) else "No such device"
    return "", f"read of forward table failed: {why}\n", 1
