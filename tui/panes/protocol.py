"""The one protocol between the app and its panes.

Every pane in ``tui/panes/`` is a Textual widget that also derives from
:class:`PaneProtocol`; ``tui/app.py`` talks to panes only through these
methods (no ``hasattr``, no duck typing).
"""

from __future__ import annotations

from typing import ClassVar

from inspectors.model import Snapshot


class PaneProtocol:
    """What the app may ask of a pane."""

    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    dirty: bool = True  # a snapshot arrived while hidden: update when shown
    stale: bool = False
    # set by the app before update_snapshot: the snapshot is a first-paint one,
    # "networks" (the networks list only) or "lists" (list calls, no inspects yet)
    partial: str = ""

    def update_snapshot(self, snap: Snapshot) -> None:
        """Receive the model; update by diff (cursor and scroll survive)."""
        raise NotImplementedError

    def set_stale(self, stale: bool) -> None:
        """The engine is gone: what is shown is the last state."""
        self.stale = stale

    def selection(self) -> dict[str, str]:
        """What the cursor is on: ``{"network": id, "container": id, ...}``."""
        return {}

    def set_filter(self, text: str) -> None:
        """Filter the table shown now (``/``)."""

    def reveal(self, kind: str, name: str) -> bool:
        """Drill in: show and select this object (``kind`` network, container,
        bridge, interface, port, daemon); False when this pane does not show it."""
        return False

    def focus_main(self) -> None:
        """Give the focus to the pane's main widget."""

    def shutdown(self) -> None:
        """Stop streams and workers (the app is quitting)."""
