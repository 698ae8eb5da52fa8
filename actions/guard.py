"""The process-wide read-only switch.

Set once at start-up from the settings and the ``--read-only`` flag
(:func:`init`). Every mutating action calls :func:`check_writable` first, so in
read-only mode nothing reaches the engine and no file is written.
"""

from __future__ import annotations

import threading

from actions.validate import ActionError

_lock = threading.Lock()
_read_only = False
_reason = ""


class ReadOnlyError(ActionError):
    """Refused because dockscope runs read-only."""

    def __init__(self, what: str, reason: str = ""):
        why = f" ({reason})" if reason else ""
        super().__init__(
            "read-only mode",
            f"refusing to {what}: dockscope runs read-only{why}; nothing was changed",
        )
        self.what = what


def set_read_only(flag: bool, reason: str = "") -> None:
    global _read_only, _reason
    with _lock:
        _read_only = bool(flag)
        _reason = reason if flag else ""


def is_read_only() -> bool:
    return _read_only


def init(settings=None, cli_flag: bool | None = None) -> bool:
    """Apply ``--read-only`` / settings.read_only (either one turns it on)."""
    if cli_flag:
        set_read_only(True, "--read-only")
    elif settings is not None and getattr(settings, "read_only", False):
        set_read_only(True, "read_only in settings")
    else:
        set_read_only(False)
    return _read_only


def check_writable(what: str) -> None:
    """Raise :class:`ReadOnlyError` when in read-only mode."""
    if _read_only:
        raise ReadOnlyError(what, _reason)
