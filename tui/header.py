"""The console's header line and banner (engine state, counts, stale age,
notes that hide a view). ``self`` is the :class:`tui.app.DockscopeApp`."""

from __future__ import annotations

import os
import time

from rich.text import Text

from inspectors.text import clean
from tui.panes.common import elide
from tui.panes.events import format_time


def important(note: str) -> bool:
    """Notes that explain an empty or partial view belong in the banner; the
    rest (e.g. one socket without a visible owner) only in the help screen."""
    n = note.lower()
    return any(
        k in n
        for k in ("not root", "unavailable", "not on this host", "cannot", "permission", "failed")
    )


def host_label(host: str, context: str | None, room: int) -> str:
    """The engine as it fits in ``room`` columns: whole, else the context name,
    else the tail of the path/URL from a ``/`` (``…/docker.sock``), never its middle."""
    if len(host) <= room:
        return host
    if context and context != "default":
        return elide(clean(context), room)
    keep = host[len(host) - (room - 1) :]
    cut = keep.find("/")
    if 0 <= cut < len(keep) - 1:
        keep = keep[cut:]
    return "…" + keep


def status_text(self, width: int) -> Text:
    """The one-line header: engine, version, debug, counts, last event, badges."""
    snap = self.snapshot
    e = snap.engine if snap else None
    host = (
        e.host
        if e and e.host
        else (self.host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    )
    host = clean(host).removeprefix("unix://")
    tail = Text()
    if self.engine_lost is not None:
        tail.append("  ENGINE DOWN", style="bold red")
    if self.stale_since is not None:
        age = max(0, int(time.time() - self.stale_since))
        when = f"{age}s" if age < 86400 else f"since {format_time(self.stale_since)[:8]}"
        tail.append(f" │ STALE {when}", style="bold red")
    if self.engine_lost is not None or self.stale_since is not None:
        pass
    elif e is not None and e.reachable:
        tail.append(f"  docker {clean(e.server_version) or '?'}")
        if e.debug is not None:
            tail.append("  debug ")
            tail.append("on" if e.debug else "off", style="bold yellow" if e.debug else "")
    elif e is not None:
        tail.append(
            "  PERMISSION DENIED" if e.error_kind == "permission" else "  ENGINE UNREACHABLE",
            style="bold red",
        )
    else:
        tail.append("  connecting...", style="dim")
    partial = getattr(self, "partial", "")
    if snap is not None and partial == "networks":  # first paint: the networks list only
        tail.append(f" │ {len(snap.networks)} nets, reading containers…")
    elif snap is not None:
        running = sum(1 for c in snap.containers if c.state == "running")
        br = "…" if partial else str(len(snap.bridges))
        tail.append(f" │ {len(snap.networks)} nets {running}/{len(snap.containers)} up {br} br")
    if self.last_event_at:
        tail.append(f" │ event {format_time(self.last_event_at)[:8]}")
    if snap is not None and not snap.is_root:
        tail.append("  NOT ROOT", style="bold yellow")
    if self.read_only:
        tail.append("  READ-ONLY ", style="bold reverse")
    room = max(14, width - 12 - len(tail.plain))
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(" dockscope ", style="bold reverse")
    out.append(" ")
    out.append(host_label(host, e.context if e else None, room))
    out.append(tail)
    return out


def banner_lines(self, all: bool = False) -> list[tuple[str, str]]:
    """(severity, text) lines of the banner: engine down, permission, not root, and
    the notes that hide a whole view (``all``: every note, for the help screen)."""
    lines: list[tuple[str, str]] = []
    snap = self.snapshot
    if self.engine_lost is not None:
        lost = self.engine_lost
        head = "PERMISSION DENIED" if lost.kind == "permission" else "ENGINE UNREACHABLE"
        lines.append(("error", f"{head}: {lost.error}"))
        if self.engine_seen_at is not None:
            lines.append(
                (
                    "error",
                    f"showing the last state (from "
                    f"{format_time(self.engine_seen_at)[:8]}), marked STALE; "
                    f"reconnecting by itself (attempt {lost.attempt})",
                )
            )
        else:
            lines.append(
                (
                    "error",
                    "kernel panes still work: 2 Bridges, 4 Ports (a: host "
                    f"listeners); retrying the engine (attempt {lost.attempt})",
                )
            )
    elif snap is not None and not snap.engine.reachable and snap.engine.error:
        kind = snap.engine.error_kind
        head = "PERMISSION DENIED" if kind == "permission" else "ENGINE UNREACHABLE"
        lines.append(("error", f"{head}: {snap.engine.error}"))
        lines.append(
            (
                "error",
                "kernel panes still work: 2 Bridges, 4 Ports (a: host "
                "listeners); retrying the engine in the background",
            )
        )
    if snap is not None:
        for note in snap.notes:
            if all or important(note):
                lines.append(("warning", note))
    return lines
