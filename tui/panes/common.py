"""Shared pieces of the console's panes.

* :func:`txt`: everything that comes from a container or the engine (names,
  labels, aliases, errors) goes through :func:`inspectors.text.clean` (the one
  sanitizer) into a plain :class:`rich.text.Text`: no markup, no escape
  sequence reaches the terminal.
* :class:`DataView`: a row-cursor ``DataTable`` that takes the whole list of
  rows each time and applies only the difference (stable row keys, changed
  cells updated in place, cursor kept), with its own case-insensitive
  substring filter, natural sort by any column, capped column widths, copy of
  the cell under the cursor, and vim keys.
* :class:`Pane`: the frame every pane shares: a title line with counts and the
  filter state, a switcher of views (list, detail...), an empty-state line and
  a filter input opened by ``/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar
from collections.abc import Iterable

from rich.text import Text

from inspectors.text import clean
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Input, Static

from tui.panes import nodecol
from tui.panes.protocol import PaneProtocol


def txt(value: Any, style: str = "", default: str = "") -> Text:
    """Plain, safe :class:`Text` (never parsed as markup)."""
    s = clean(value)
    return Text(s if s else default, style=style, no_wrap=True, overflow="ellipsis")


def dash(value: Any, style: str = "") -> Text:
    """:func:`txt`, with a dim ``-`` for empty values."""
    s = clean(value)
    return Text(s, style=style) if s else Text("-", style="dim")


def join_text(parts: Iterable[Text | str], sep: str = " ") -> Text:
    out = Text()
    first = True
    for p in parts:
        if not first:
            out.append(sep)
        out.append(p if isinstance(p, Text) else txt(p))
        first = False
    return out


def short_id(value: str | None, n: int = 12) -> str:
    return (value or "")[:n]


def human_rate(bps: float | None) -> str:
    """Bytes per second in a short form (``-`` when unknown)."""
    if bps is None:
        return "-"
    for unit in ("B", "K", "M", "G"):
        if bps < 1024 or unit == "G":
            return f"{bps:.0f}{unit}/s" if unit == "B" else f"{bps:.1f}{unit}/s"
        bps /= 1024
    return "-"


def elide(s: str, width: int) -> str:
    if len(s) <= width:
        return s
    if width <= 1:
        return s[:width]
    keep = width - 1
    head = keep // 3
    return s[:head] + "…" + s[len(s) - (keep - head) :]


# --------------------------------------------------------------------------- table


class OpenContainer(Message):
    """enter on a row that stands for a container: the app opens its endpoint detail."""

    def __init__(self, container_id: str) -> None:
        super().__init__()
        self.container_id = container_id


@dataclass
class Row:
    key: str
    cells: tuple[Text, ...]
    search: str = ""  # extra searchable text beyond the cells
    node: str | None = None  # several engines: the node of this row (tui/panes/nodecol.py)

    def haystack(self) -> str:
        return (" ".join(c.plain for c in self.cells) + " " + self.search).lower()


MAX_CELL = (
    40  # at most this many characters per cell: a 300-character name must not push the rest off
)
MIN_CELL = 16  # ... and at least this many, whatever the width
_NUM_RE = re.compile(r"(\d+)")


def natural_key(s: str) -> tuple:
    """lab-c2 before lab-c10; case-insensitive; empty and ``-`` last."""
    s = s.strip().lower()
    if not s or s == "-":
        return (1, ())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _NUM_RE.split(s) if p))


def cap_cell(cell: Text, width: int = MAX_CELL) -> Text:
    """A cell no wider than ``width``: the middle elided (ids and names keep both ends)."""
    if cell.cell_len <= width:
        return cell
    plain = cell.plain
    # prose keeps its head; names and ids keep both ends
    short = plain[: width - 1] + "…" if " " in plain.strip() else elide(plain, width)
    return Text(short, style=cell.style, no_wrap=True, overflow="ellipsis")


_IFSUFFIX_RE = re.compile(r"@(?:if\d+|none)$")


def normalize_needle(text: str) -> str:
    """What a filter looks for: lower case, no quotes around it, no ``@ifN``
    suffix (``ip link`` prints ``veth87e888a@if530``), MACs with colons."""
    s = text.strip().strip("'\"").lower()
    s = _IFSUFFIX_RE.sub("", s)
    if re.fullmatch(r"[0-9a-f]{2}(-[0-9a-f]{2}){5}", s):
        s = s.replace("-", ":")
    return s


class DataView(DataTable):
    """A row table updated by diff, with its own filter, sort and copy.

    The filter belongs to this table: a drill-down view has its own (empty)
    one. ``s`` sorts by the next column (natural order), ``S`` reverses, ``y``
    copies the value of the sort column (or the first) of the cursor row.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "First row", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Last row", show=False, id="table.bottom"),
        Binding("enter", "select_cursor", "Open", show=True, id="table.open"),
        Binding("s", "sort_next", "Sort by next column", show=False, id="table.sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False, id="table.sort_reverse"),
        Binding("y", "copy", "Copy cell", show=False, id="table.copy"),
    ]

    opens = True  # enter opens the row (False: "Open" is not advertised, enter does nothing)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "select_cursor" and not self.opens:
            return False
        return super().check_action(action, parameters)

    class Filtered(Message):
        """The rows shown changed (counts for the pane title)."""

        def __init__(self, view: DataView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, columns: list[tuple], stick_top: bool = False, **kw: Any) -> None:
        kw.setdefault("cursor_type", "row")
        kw.setdefault("zebra_stripes", True)
        super().__init__(**kw)
        columns = nodecol.columns(self, columns)  # NODE first when several engines are shown
        self.columns_spec = columns
        self.stick_top = stick_top  # newest-first lists: a cursor on row 0 stays on row 0
        self.rows_all: list[Row] = []
        self.rows_view: list[Row] = []  # rows_all as shown (with the NODE cell when there is one)
        self.cells_shown: dict[str, tuple[Text, ...]] = {}
        self.order_shown: list[str] = []
        self.filter_text = ""
        self.sort_column: int | None = None  # None: the order the pane gave
        self.sort_reverse = False
        self.total = 0
        self.shown = 0
        self.cursor_foreground_priority = "renderable"
        for key, label, *width in columns:  # (key, label[, fixed width])
            self.add_column(Text(label, style="bold"), key=key, width=width[0] if width else None)

    # ---------------------------------------------------------------- data
    @property
    def all_rows(self) -> list[Row]:
        return self.rows_all

    def set_rows(self, rows: list[Row]) -> None:
        self.rows_all = list(rows)
        self.rows_view = nodecol.view_rows(self, self.rows_all)
        self.apply_rows()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.apply_rows()

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            rk = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return rk.value

    def current_row(self) -> Row | None:
        key = self.current_key()
        if key is None:
            return None
        return next((r for r, v in zip(self.rows_all, self.rows_view) if v.key == key), None)

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row with this key (if shown; a pane's own key
        finds the first node's row when there is a NODE column)."""
        key = next((v.key for r, v in zip(self.rows_all, self.rows_view) if key == r.key), key)
        try:
            idx = self.get_row_index(key)
        except Exception:
            return False
        self.move_cursor(row=idx)
        return True

    def apply_rows(self) -> None:
        needle = normalize_needle(self.filter_text)
        want = [r for r in self.rows_view if not needle or needle in r.haystack()]
        # duplicate keys would break the table: keep the first
        seen: set[str] = set()
        want = [r for r in want if not (r.key in seen or seen.add(r.key))]
        if self.sort_column is not None:
            col = self.sort_column
            want.sort(
                key=lambda r: natural_key(r.cells[col].plain if col < len(r.cells) else ""),
                reverse=self.sort_reverse,
            )
        self.total, self.shown = len(self.rows_view), len(want)
        cursor_key = self.current_key()
        cursor_idx = self.cursor_row
        want_keys = [r.key for r in want]
        want_set = set(want_keys)
        ctx = self.app.batch_update() if self.is_attached else _null()
        with ctx:
            present = {rk.value: rk for rk in self.rows}
            for key in list(present):
                if key not in want_set:
                    self.remove_row(key)
                    self.cells_shown.pop(key, None)
            col_keys = [c[0] for c in self.columns_spec]
            cap = self.cell_cap()
            appended: list[str] = []
            for r in want:
                cells = tuple(r.cells) + (Text(""),) * (len(col_keys) - len(r.cells))
                old = self.cells_shown.get(r.key)
                if old is None:
                    self.add_row(*(cap_cell(c, cap) for c in cells), key=r.key)
                    appended.append(r.key)
                elif old != cells:
                    for ck, a, b in zip(col_keys, old, cells):
                        if a != b:
                            self.update_cell(r.key, ck, cap_cell(b, cap), update_width=True)
                self.cells_shown[r.key] = cells
            kept = [k for k in self.order_shown if k in want_set] + appended
            if kept != want_keys:
                self.reorder(want_keys)
            self.order_shown = want_keys
            if self.stick_top and cursor_idx == 0 and self.row_count:
                self.move_cursor(row=0, animate=False)
            elif cursor_key is not None and cursor_key in want_set:
                idx = self.get_row_index(cursor_key)
                if idx != self.cursor_row:
                    self.move_cursor(row=idx, animate=False)
            elif self.row_count:
                self.move_cursor(row=min(cursor_idx, self.row_count - 1), animate=False)
        self.post_message(self.Filtered(self))

    def cell_cap(self) -> int:
        """Widest cell: a quarter of the terminal, within MIN_CELL..MAX_CELL."""
        width = self.app.size.width if self.is_attached else 160
        return max(MIN_CELL, min(MAX_CELL, width // 4))

    def reorder(self, keys: list[str]) -> None:
        """Put the rows in ``keys`` order without rebuilding them, through the
        public :meth:`DataTable.sort`: its key function sees a row's cell
        objects, which are this table's own (one set per row)."""
        rank = {}
        for i, k in enumerate(keys):
            rank[tuple(id(c) for c in self.get_row(k))] = i
        if len(rank) != len(keys):  # cells shared between rows: rebuild instead
            self.clear()
            for k in keys:
                self.add_row(*(cap_cell(c, self.cell_cap()) for c in self.cells_shown[k]), key=k)
            return
        self.sort(key=lambda cells: rank.get(tuple(id(c) for c in cells), len(rank)))

    # ---------------------------------------------------------------- keys
    def action_scroll_top(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def sort_label(self) -> str:
        if self.sort_column is None:
            return ""
        label = self.columns_spec[self.sort_column][1]
        return f"sorted by {label}{' ↓' if self.sort_reverse else ''}"

    def action_sort_next(self) -> None:
        n = len(self.columns_spec)
        self.sort_column = 0 if self.sort_column is None else (self.sort_column + 1) % n
        self.sort_reverse = False
        self.apply_rows()
        self.notify(self.sort_label(), timeout=2, markup=False)

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.sort_column = 0
        self.sort_reverse = not self.sort_reverse
        self.apply_rows()
        self.notify(self.sort_label(), timeout=2, markup=False)

    def copy_value(self) -> str | None:
        key = self.current_key()
        row = next((v for v in self.rows_view if v.key == key), None)
        if row is None or not row.cells:
            return None
        col = self.sort_column or 0
        cell = row.cells[col] if col < len(row.cells) else row.cells[0]
        return cell.plain

    def action_copy(self) -> None:
        value = self.copy_value()
        if not value:
            self.app.bell()
            return
        copy_text(self.app, value)


def copy_text(app, value: str) -> None:
    """OSC 52 through :meth:`App.copy_to_clipboard`; terminals that ignore it
    (or tmux without set-clipboard) get the value shown to select by hand."""
    value = clean(value)
    app.copy_to_clipboard(value)
    app.notify(
        f"{value}\n(copied with OSC 52; if your terminal ignores it, select the text above)",
        title="copied",
        timeout=6,
        markup=False,
    )


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- pane


class FilterInput(Input):
    """The ``/`` filter line of a pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Clear filter", id="filter.close"),
        Binding("enter", "accept", "Keep filter", id="filter.accept"),
    ]

    class Closed(Message):
        def __init__(self, keep: bool) -> None:
            super().__init__()
            self.keep = keep

    def action_close(self) -> None:
        self.post_message(self.Closed(keep=False))

    def action_accept(self) -> None:
        self.post_message(self.Closed(keep=True))


class Pane(Vertical, PaneProtocol):
    """Frame shared by the table panes; subclasses add views and fill them."""

    TITLE: ClassVar[str] = ""
    PREVIEW: ClassVar[bool] = False  # show the highlighted row's detail under the list
    PREVIEW_MIN_HEIGHT: ClassVar[int] = 30  # ...when the terminal has at least this many rows
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="pane.filter"),
        Binding("escape", "back", "Back", id="pane.back"),
    ]
    HELP: ClassVar[str] = ""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.view_name = "list"
        self.snapshot = None
        self.dirty = True
        self.stale = False

    # subclasses ------------------------------------------------------
    def compose_views(self) -> ComposeResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def update_snapshot(self, snap) -> None:
        self.snapshot = snap
        self.dirty = False

    def empty_message(self) -> str:
        return "nothing to show"

    def selection(self) -> dict[str, str]:
        """What the cursor is on: {"network": id, "container": id, ...}."""
        return {}

    def subtitle(self) -> Text:
        return Text("")

    def preview_for(self, key: str) -> Text | None:
        """Detail of the highlighted list row, shown under the list on tall terminals."""
        return None

    # frame -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="pane-title", classes="pane-title")
        with ContentSwitcher(initial="list", id="views"):
            yield from self.compose_views()
        with VerticalScroll(id="preview", classes="row-preview"):
            yield Static(id="preview-body", classes="detail-text")
        yield Static(id="pane-empty", classes="pane-empty")
        yield FilterInput(
            placeholder="filter (substring, case-insensitive)  enter: keep  esc: clear",
            id="filter",
            classes="filter",
        )

    def on_mount(self) -> None:
        self.query_one("#filter", FilterInput).display = False
        self.query_one("#preview").display = False
        self.call_after_refresh(self.refresh_title)  # is_mounted is only true after this

    # preview ---------------------------------------------------------
    def update_preview(self) -> None:
        if not self.is_mounted:
            return
        box = self.query_one("#preview", VerticalScroll)
        show = (
            self.PREVIEW
            and self.view_name == "list"
            and self.app.size.height >= self.PREVIEW_MIN_HEIGHT
        )
        key = None
        if show:
            t = self.query_one("#list", DataView)
            key = t.current_key()
        body = self.preview_for(key) if key else None
        if body is None:
            box.display = False
            return
        self.query_one("#preview-body", Static).update(body)
        box.display = True

    @on(DataTable.RowHighlighted, "#list")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.update_preview()

    def on_resize(self) -> None:
        self.update_preview()

    def table(self) -> DataView | None:
        """The table the filter applies to (the one in the current view)."""
        view = self.query_one("#views", ContentSwitcher).visible_content
        if view is None:
            return None
        if isinstance(view, DataView):
            return view
        found = view.query(DataView)
        return found.first() if found else None

    def focus_main(self) -> None:
        t = self.table()
        if t is not None:
            t.focus()
        else:
            view = self.query_one("#views", ContentSwitcher).visible_content
            if view is not None and view.can_focus:
                view.focus()

    @property
    def filter_text(self) -> str:
        """The filter of the table shown now (each table keeps its own)."""
        t = self.table() if self.is_mounted else None
        return t.filter_text if t is not None else ""

    def show_view(self, name: str) -> None:
        sw = self.query_one("#views", ContentSwitcher)
        sw.current = name
        self.view_name = name
        f = self.query_one("#filter", FilterInput)
        if not self.filter_text:  # a filter belongs to the table it was typed in
            f.display = False
        self.focus_main()
        self.refresh_title()
        self.update_preview()

    def refresh_title(self) -> None:
        if not self.is_mounted:
            return
        t = self.table()
        title = Text()
        title.append(f" {self.TITLE} ", style="bold reverse")
        sub = self.subtitle()
        if sub.plain:
            title.append(" ")
            title.append(sub)
        if t is not None:
            if t.sort_column is not None:
                title.append(f"  {t.sort_label()}", style="dim")
            if self.filter_text:
                title.append("  filter: ", style="bold")
                title.append(clean(self.filter_text), style="bold")
                title.append(f"  {t.shown}/{t.total} match", style="")
            else:
                title.append(f"  {t.total} rows", style="dim")
        if self.stale:
            title.append("  STALE", style="bold red")
        self.query_one("#pane-title", Static).update(title)
        empty = self.query_one("#pane-empty", Static)
        self.set_class(t is not None and t.shown == 0, "-empty")
        if t is None:
            empty.display = False
        elif t.shown == 0:
            msg = (
                f"no row matches {clean(self.filter_text)!r} (esc clears the filter)"
                if self.filter_text and t.total
                else "reading the engine and the kernel…"
                if self.partial
                else self.empty_message()
            )
            empty.update(Text(msg, style="italic"))
            empty.display = True
        else:
            empty.display = False

    @on(DataView.Filtered)
    def _on_filtered(self, event: DataView.Filtered) -> None:
        event.stop()
        self.refresh_title()
        self.update_preview()

    # filter ----------------------------------------------------------
    def action_filter(self) -> None:
        if self.table() is None:  # a text detail view: filter the list instead
            self.show_view("list")
        f = self.query_one("#filter", FilterInput)
        f.display = True
        f.value = self.filter_text
        f.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def set_filter(self, text: str) -> None:
        t = self.table()
        if t is not None:
            t.set_filter(text)
        self.refresh_title()

    @on(FilterInput.Closed)
    def _filter_closed(self, event: FilterInput.Closed) -> None:
        event.stop()
        f = self.query_one("#filter", FilterInput)
        if not event.keep:
            self.set_filter("")
        f.display = False
        self.focus_main()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()

    # back ------------------------------------------------------------
    def action_back(self) -> None:
        f = self.query_one("#filter", FilterInput)
        if f.display and f.has_focus:
            self._filter_closed(FilterInput.Closed(keep=False))
            return
        if self.view_name != "list":
            self.show_view("list")
            return
        if self.filter_text:
            f.display = False
            self.set_filter("")
            return
        self.app.bell()

    def can_go_back(self) -> bool:
        return self.view_name != "list" or bool(self.filter_text)

    def set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            self.set_class(stale, "-stale")
            self.refresh_title()


def placeholder(message: str) -> Widget:
    return Static(Text(message, style="italic"), classes="placeholder")
