"""Pane 6: the incident timeline: docker events newest first (plus the
console's own engine lost/back lines), filterable."""

from __future__ import annotations

import time
from collections import deque
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable

from tui.panes.common import DataView, Pane, Row, dash, short_id, txt

EV_COLS = [
    ("time", "TIME"),
    ("type", "TYPE"),
    ("action", "ACTION"),
    ("name", "NAME"),
    ("id", "ID"),
    ("details", "DETAILS", 60),
]
MAX_EVENTS = 2000
BACKLOG_SECONDS = 15 * 60  # the pane opens on the recent past, not on "no events yet"
EVENT_TYPES = ["container", "network", "daemon"]


def read_backlog(engine, until: float, window: float = BACKLOG_SECONDS) -> list[dict]:
    """The engine's events of the ``window`` seconds before ``until``, oldest
    first: one bounded read (``until`` ends the stream) on the one engine object,
    before the console follows from ``until`` on."""
    with engine.errors():
        stream = engine.client.events(
            decode=True,
            filters={"type": EVENT_TYPES},
            since=f"{until - window:.9f}",
            until=f"{until:.9f}",
        )
        try:
            return [ev for ev in stream if isinstance(ev, dict)][-MAX_EVENTS:]
        finally:
            stream.close()


ACTION_STYLE = {
    "die": "red",
    "kill": "red",
    "oom": "bold red",
    "destroy": "red",
    "disconnect": "yellow",
    "stop": "yellow",
    "start": "green",
    "create": "green",
    "connect": "green",
    "restart": "yellow",
    "health_status: unhealthy": "red",
    "engine lost": "bold red",
    "engine back": "bold green",
    "reload": "cyan",
}
HIDDEN_ATTRS = {"name", "image"}
LATE_SCAN = 512  # how far down a late event is placed by its time at most


def event_time(ev: dict) -> float:
    if ev.get("timeNano"):
        return ev["timeNano"] / 1e9
    return float(ev.get("time") or time.time())


def format_time(t: float) -> str:
    ms = int(t * 1000 + 0.5)
    return time.strftime("%H:%M:%S", time.localtime(ms // 1000)) + f".{ms % 1000:03d}"


def event_row(seq: int, ev: dict, names: dict[str, str] | None = None) -> Row:
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    typ = ev.get("Type") or ev.get("type") or "?"
    action = ev.get("Action") or ev.get("status") or "?"
    name = attrs.get("name") or ""
    details: list[str] = []
    # "exec_create: ping -c 1 web", "health_status: unhealthy": the verb, then the rest
    action, _, rest = action.partition(": ")
    if rest:
        details.append(rest)
    if typ == "network" and attrs.get("container"):
        cid = attrs["container"]
        who = (names or {}).get(cid) or short_id(cid)
        details.append(f"container={who}")
    for k, v in sorted(attrs.items()):
        if k in HIDDEN_ATTRS or k == "container" or k.startswith(("com.docker.compose.", "org.")):
            continue
        details.append(f"{k}={v}")
    if typ == "container" and attrs.get("image"):
        details.append(f"image={attrs['image']}")
    msg = ev.get("message")
    if msg:
        details.insert(0, msg)
    style = ACTION_STYLE.get(action, "")
    if action == "health_status":
        style = "red" if rest == "unhealthy" else "green"
    if action.startswith("exec_"):
        style = "dim"
    t = event_time(ev)
    return Row(
        key=f"ev{seq:09d}",
        node=ev.get("node"),  # several engines: set by tui/cluster_console.py
        cells=(
            Text(format_time(t), style="dim"),
            txt(typ),
            txt(action, style),
            txt(name, "bold") if name else dash(""),
            txt(short_id(actor.get("ID")), "dim"),
            txt(" ".join(details)),
        ),
        search=actor.get("ID") or "",
    )


class EventsPane(Pane):
    PANE_ID = "events"
    TITLE = "Events"
    HELP = (
        "Docker events (container, network, daemon) newest first, with the console's own "
        "'engine lost' and 'engine back' lines: the incident timeline. / filters it."
    )
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._rows: deque[Row] = deque(maxlen=MAX_EVENTS)
        self._times: deque[float] = deque(maxlen=MAX_EVENTS)  # each row's event time
        self._seq = 0
        self.last_event_at: float | None = None
        self.names: dict[str, str] = {}

    def compose_views(self) -> ComposeResult:
        yield DataView(EV_COLS, id="list", stick_top=True)

    def empty_message(self) -> str:
        return "no events in the last 15 minutes: new ones appear here as the engine reports them"

    def update_snapshot(self, snap) -> None:
        super().update_snapshot(snap)
        self.names = {c.id: c.name for c in snap.containers}
        self._show()

    def add_events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        for ev in events:
            self._seq += 1
            self._place(event_row(self._seq, ev, self.names), event_time(ev))
            self.last_event_at = event_time(ev)
        tab = self.parent
        if tab is not None and not tab.display:
            # hidden: the rows are kept, the table (diff, re-sort) waits until shown
            views = self.query("#list")
            if views:
                views.first(DataView).rows_all = list(self._rows)
            self.dirty = True
            return
        self._show()

    def _place(self, row: Row, t: float) -> None:
        """Newest first, by the time the event happened: a docker event that arrives
        after the link notifications it caused goes below them (a bounded scan)."""
        if not self._times or t >= self._times[0]:
            self._rows.appendleft(row)
            self._times.appendleft(t)
            return
        i = 1
        while i < len(self._times) and i < LATE_SCAN and self._times[i] > t:
            i += 1
        if len(self._rows) == MAX_EVENTS:
            self._rows.pop()
            self._times.pop()
        self._rows.insert(i, row)
        self._times.insert(i, t)

    def _show(self) -> None:
        # events can arrive (the startup backlog) before the view is composed: the rows
        # wait in self._rows and are shown on mount
        views = self.query("#list")
        if views:
            views.first(DataView).set_rows(list(self._rows))
            self.refresh_title()

    def on_mount(self) -> None:
        if self._rows:
            self.call_after_refresh(self._show)

    def add_local(self, action: str, message: str) -> None:
        now = time.time()
        self.add_events(
            [
                {
                    "Type": "dockscope",
                    "Action": action,
                    "message": message,
                    "time": int(now),
                    "timeNano": int(now * 1e9),
                    "Actor": {},
                }
            ]
        )

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        """enter: the event's object (container, network) in its pane."""
        event.stop()
        t = self.table()
        row = t.current_row() if t is not None else None
        if row is not None and row.cells[1].plain in ("container", "network"):
            if row.cells[3].plain not in ("", "-"):
                self.app.jump_to(row.cells[1].plain, row.cells[3].plain)
