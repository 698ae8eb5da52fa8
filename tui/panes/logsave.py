"""Saving what the log pane shows (``ctrl+s``): one text line per log line,
written to a new 0600 file that is renamed over the target (never written
through a symlink)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import datetime

from inspectors.logs import LogLine, format_timestamp
from tui.panes.logmodel import LEVEL_TAG


def default_path(what: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", what)[:60].strip("-") or "log"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(".", f"dockscope-{name}-{stamp}.log")


def format_line(line: LogLine, *, timestamps: bool, source: bool, daemon: bool) -> str:
    parts = []
    if timestamps:
        parts.append(format_timestamp(line.timestamp))
    if source:
        parts.append(f"{line.source} |")
    if line.level and daemon:
        parts.append(LEVEL_TAG.get(line.level, line.level.upper()))
    if line.stream == "stderr":
        parts.append("[stderr]")
    elif line.stream == "meta":
        parts.append("--")
    parts.append(line.text)
    return " ".join(parts)


def save_lines(path: str, lines: Iterable[str]) -> int:
    """Write ``lines`` to ``path`` through the one private-file writer
    (``actions.files.save_private``: 0600, renamed into place, symlinks refused,
    read-only allows only dockscope's own directories); returns how many. A refusal
    is raised as OSError (one error path for the caller)."""
    from actions.files import save_private
    from actions.validate import ActionError

    out = [text + "\n" for text in lines]
    try:
        save_private(path, "".join(out))
    except ActionError as e:
        raise OSError(e.detail or e.title) from None
    return len(out)
