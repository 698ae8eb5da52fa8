"""The NODE column of every table when the console shows several engines
(``dockscope -H ssh://.. -H ssh://..``, ``--swarm``): the one place that decides
whether it is shown, what it says and how a row of one node is keyed.

A pane only tags its rows (``Row(..., node=obj.node)``); :class:`DataView`
(tui/panes/common.py) asks this module for its columns, cells and row keys. With
one engine nothing changes: no column, the pane's own keys. A node that stopped
answering is marked STALE in the cell, its rows kept (the app's ``stale_nodes``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.text import Text

from inspectors.model import NODE_SEP
from inspectors.text import clean

COLUMN = ("node", "NODE", 10)


def active(widget: Any) -> bool:
    """The app running ``widget`` shows several engines."""
    try:
        return bool(getattr(widget.app, "several_nodes", False))
    except Exception:  # noqa: BLE001 - no app yet (built outside one): one engine
        return False


def columns(widget: Any, cols: list[tuple]) -> list[tuple]:
    """``cols`` with NODE first when several engines are shown."""
    return [COLUMN, *cols] if active(widget) else list(cols)


def cell(widget: Any, node: str | None) -> Text:
    """The NODE cell: the node's name, ``STALE`` after it when it stopped answering."""
    if not node:
        return Text("-", style="dim")
    stale = node in getattr(widget.app, "stale_nodes", ())
    t = Text(clean(node), no_wrap=True, overflow="ellipsis")
    if stale:
        t.append(" STALE", style="bold yellow")
    return t


def row_key(key: str, node: str | None) -> str:
    """A row's key in the table: the pane's key, ``@node`` after it for a node's
    object (an overlay, a bridge named docker0... exist once per node); the model's
    lookups (``Snapshot.network("<id>@node2")``) read it back."""
    return f"{key}{NODE_SEP}{node}" if node else key


def view_rows(widget: Any, rows: list) -> list:
    """The rows as a table shows them: with one engine the rows themselves; with
    several, each row keyed :func:`row_key` and its NODE cell first."""
    if not active(widget):
        return rows
    return [
        dataclasses.replace(r, key=row_key(r.key, r.node), cells=(cell(widget, r.node), *r.cells))
        for r in rows
    ]


def finding_cells(widget: Any, finding) -> tuple:
    """The NODE cell of a finding (its first object that is a node), or nothing
    with one engine (the Findings table has its own columns)."""
    if not active(widget):
        return ()
    nodes = getattr(widget.app, "node_names", ())
    node = next((o for o in (finding.objects if finding else []) if o in nodes), None)
    return (cell(widget, node),)


def iface_pair(e: Any, sep: str = "<->") -> str:
    """An endpoint's ``sandbox-if<->host-side`` text for a preview; an endpoint of
    another node (an overlay seen from this node) has no interface here: it says
    which node it is on and which VTEP reaches it instead."""
    where = clean(e.host_veth) or ""
    if where.startswith("remote"):
        return f"on {clean(getattr(e, 'node', None)) or 'another node'} ({where})"
    return f"{clean(e.sandbox_ifname) or '?'}{sep}{where or '?'}"
