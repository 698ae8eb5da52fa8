"""Saving what the log pane shows (``ctrl+s``): one text line per log line,
written to a new 0600 file that is renamed over the target (never written
through a symlink)."""

from __future__ import annotations

import os
import re
import tempfile
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
    """Write ``lines`` to ``path``; returns how many."""
    path = os.path.expanduser(path)
    fd, tmp = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(path)), prefix=".dockscope-", suffix=".log"
    )
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            for text in lines:
                f.write(text + "\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return n
