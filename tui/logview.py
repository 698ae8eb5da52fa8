"""The log pane (issue #3): live container and daemon logs.

:class:`LogPane` is what the console mounts as pane 5 (and opens for one
container with ``l``)::

    pane = LogPane(settings, host="unix:///var/run/docker.sock")   # or client_factory=...
    pane.open_container(["web", "db"])   # merged, with a name column
    pane.open_daemon()                   # dockerd's log, wherever it is
    pane.close_streams()                 # also done on unmount

How it stays fast: a reader thread worker iterates an ``inspectors.logs``
source; a poster thread worker hands what has piled up to the pane as ONE
:class:`LinesArrived` message every ~50 ms (or 5000 lines); the pane appends
the batch to a bounded ring buffer and refreshes once. :class:`LogView` is a
line-API ``ScrollView``: only the rows on screen are rendered, each line as
plain ``Segment``\\ s (never markup), from an LRU cache of strips.

Nothing a container writes can reach the terminal as an escape sequence (the
sources sanitise every line) or as markup (lines are Segments, names are
Text).
"""

from __future__ import annotations

import bisect
import os
import re
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any, ClassVar
from collections.abc import Callable, Iterable

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Label, Static

from inspectors.text import clean
from inspectors.logs import (
    LEVEL_RANK,
    LogBuffer,
    LogLine,
    LogSource,
    LogStreamError,
    format_timestamp,
)

BATCH_SECONDS = 0.05
MIN_FRAME = 0.1  # the view redraws at most 10 times a second for new lines
FIREHOSE_FRAME = 0.25  # ... and 4 times a second when more than
FIREHOSE_LINES = 2000  # this many lines came since the last redraw
BATCH_LINES = 5000
# since-windows cycled by `s`: (label, seconds back or None, kind)
WINDOWS: tuple[tuple[str, float | None], ...] = (
    ("tail", None),
    ("1m", 60.0),
    ("15m", 900.0),
    ("1h", 3600.0),
    ("all", None),
)
MIN_LEVELS: tuple[str | None, ...] = (None, "info", "warning", "error")
LEVEL_TAG = {"debug": "DEBU", "info": "INFO", "warning": "WARN", "error": "ERRO", "fatal": "FATA"}
LEVEL_STYLE = {
    "debug": Style(dim=True),
    "info": Style(),
    "warning": Style(color="yellow"),
    "error": Style(color="red"),
    "fatal": Style(color="red", bold=True),
}
SOURCE_COLORS = (
    "cyan",
    "magenta",
    "green",
    "blue",
    "yellow",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_blue",
)
S_DIM = Style(dim=True)
S_META = Style(dim=True, italic=True)
S_STDERR = Style(color="red", bold=True)
S_MATCH = Style(color="black", bgcolor="yellow")
S_MATCH_CURRENT = Style(color="black", bgcolor="dark_orange", bold=True)
S_SEPARATOR = Style(dim=True)


def _smart_regex(pattern: str) -> re.Pattern | None:
    """A regex (literal when it does not compile); case-insensitive unless the
    pattern has an upper-case letter (smart case, like less -i / vim)."""
    if not pattern:
        return None
    flags = 0 if any(c.isupper() for c in pattern) else re.IGNORECASE
    try:
        return re.compile(pattern, flags)
    except re.error:
        return re.compile(re.escape(pattern), flags)


# --------------------------------------------------------------------------- model


class LogModel:
    """Ring buffer + what is visible (filter with context, min level) + search
    matches. Plain Python, used by :class:`LogView`.

    Rows are the visible lines. Without a filter, row ``r`` is line
    ``first_seq + r``. With one, ``rows`` holds the visible seqs in order; a
    float ``s - 0.5`` is a "--" separator before line ``s`` (grep style, when
    context lines are kept and a gap lies between two groups).
    """

    def __init__(self, maxlen: int = 50_000):
        self.buffer = LogBuffer(maxlen)
        self.filter_text = ""
        self.filter_re: re.Pattern | None = None
        self.context = 0
        self.min_level: str | None = None
        self.search_text = ""
        self.search_re: re.Pattern | None = None
        self._rows: list[float] | None = None  # None = every line is a row
        self._rows_start = 0
        self._matches: list[int] = []
        self._matches_start = 0
        self._last_row_seq = -1
        self._ctx_left = 0
        self.max_chars = 0
        self.version = 0  # bumps when rows change

    # ---------------------------------------------------------------- rows
    @property
    def filtering(self) -> bool:
        return self._rows is not None

    def row_count(self) -> int:
        if self._rows is None:
            return len(self.buffer)
        return len(self._rows) - self._rows_start

    def row_item(self, r: int) -> float | None:
        """Seq (int) or separator (float) at row ``r``."""
        if r < 0:
            return None
        if self._rows is None:
            return self.buffer.first_seq + r if r < len(self.buffer) else None
        i = self._rows_start + r
        return self._rows[i] if i < len(self._rows) else None

    def row_of_seq(self, seq: int) -> int | None:
        if self._rows is None:
            r = seq - self.buffer.first_seq
            return r if 0 <= r < len(self.buffer) else None
        i = bisect.bisect_left(self._rows, seq, lo=self._rows_start)
        if i < len(self._rows) and self._rows[i] == seq:
            return i - self._rows_start
        return None

    def seq_at_or_after_row(self, r: int) -> int | None:
        n = self.row_count()
        while 0 <= r < n:
            item = self.row_item(r)
            if isinstance(item, int):
                return item
            r += 1
        return None

    def visible_lines(self) -> Iterable[LogLine]:
        if self._rows is None:
            yield from self.buffer
            return
        get = self.buffer.get
        for i in range(self._rows_start, len(self._rows)):
            item = self._rows[i]
            if isinstance(item, int):
                ln = get(item)
                if ln is not None:
                    yield ln

    def is_match(self, line: LogLine) -> bool:
        return self.filter_re is None or self.filter_re.search(line.text) is not None

    # ---------------------------------------------------------------- change
    def _level_ok(self, line: LogLine) -> bool:
        if self.min_level is None or line.level is None:
            return True
        return LEVEL_RANK.get(line.level, 0) >= LEVEL_RANK[self.min_level]

    def _add_rows(self, start_seq: int, lines: Iterable[LogLine]) -> None:
        """Visible-row bookkeeping for lines ``start_seq...`` (filter mode)."""
        rows = self._rows
        assert rows is not None
        flt = self.filter_re
        k = self.context if flt is not None else 0
        min_rank = LEVEL_RANK[self.min_level] if self.min_level else None
        get = self.buffer.get
        seq = start_seq - 1
        for line in lines:
            seq += 1
            if (
                min_rank is not None
                and line.level is not None
                and LEVEL_RANK.get(line.level, 0) < min_rank
            ):
                continue
            if flt is None:
                rows.append(seq)
                self._last_row_seq = seq
                continue
            if flt.search(line.text) is not None:
                first = seq
                if k:
                    ctx = []
                    s = seq - 1
                    lo = max(self._last_row_seq + 1, self.buffer.first_seq)
                    while s >= lo and len(ctx) < k:
                        ln = get(s)
                        if ln is not None and self._level_ok(ln):
                            ctx.append(s)
                        s -= 1
                    ctx.reverse()
                    if ctx:
                        first = ctx[0]
                    if (
                        self._last_row_seq >= 0
                        and first > self._last_row_seq + 1
                        and len(rows) > self._rows_start
                    ):
                        rows.append(first - 0.5)
                    rows.extend(ctx)
                rows.append(seq)
                self._last_row_seq = seq
                self._ctx_left = k
            elif self._ctx_left > 0:
                rows.append(seq)
                self._last_row_seq = seq
                self._ctx_left -= 1

    def _add_matches(self, seqs_lines: Iterable[tuple[int, LogLine]]) -> None:
        rx = self.search_re
        if rx is None:
            return
        m = self._matches
        for seq, line in seqs_lines:
            if rx.search(line.text) is not None:
                m.append(seq)

    def append(self, lines: list[LogLine]) -> tuple[int, int]:
        """Add a batch. Returns (rows dropped at the top, rows added)."""
        if not lines:
            return 0, 0
        start = self.buffer.total
        evicted = self.buffer.extend(lines)
        mx = max(len(ln.text) for ln in lines)
        if mx > self.max_chars:
            self.max_chars = mx
        first = self.buffer.first_seq
        if self._rows is None:
            dropped = evicted
            added = len(lines)
            if self.search_re is not None:
                lo = max(start, first)
                self._add_matches((s, self.buffer.get(s)) for s in range(lo, self.buffer.total))
        else:
            if evicted:
                lo = bisect.bisect_left(self._rows, first, lo=self._rows_start)
                dropped = lo - self._rows_start
                self._rows_start = lo
                if lo > 4096 and lo > len(self._rows) // 2:
                    del self._rows[:lo]
                    self._rows_start = 0
            else:
                dropped = 0
            n0 = len(self._rows)
            skip = max(0, first - start)  # lines of this batch already evicted
            self._add_rows(start + skip, lines[skip:] if skip else lines)
            added = len(self._rows) - n0
            if self.search_re is not None and added:
                get = self.buffer.get
                self._add_matches(
                    (int(s), get(int(s)))
                    for s in self._rows[n0:]
                    if isinstance(s, int) and get(s) is not None
                )
        if evicted and self._matches:
            i = bisect.bisect_left(self._matches, first, lo=self._matches_start)
            self._matches_start = i
            if i > 4096 and i > len(self._matches) // 2:
                del self._matches[:i]
                self._matches_start = 0
        self.version += 1
        return dropped, added

    def clear(self) -> None:
        self.buffer.clear()
        self.max_chars = 0
        self._rebuild()

    def _rebuild(self) -> None:
        if self.filter_re is None and self.min_level is None:
            self._rows = None
        else:
            self._rows = []
            self._rows_start = 0
            self._last_row_seq = -1
            self._ctx_left = 0
            self._add_rows(self.buffer.first_seq, self.buffer)
        self._rebuild_matches()
        self.version += 1

    def _rebuild_matches(self) -> None:
        self._matches = []
        self._matches_start = 0
        if self.search_re is None:
            return
        if self._rows is None:
            self._add_matches(zip(range(self.buffer.first_seq, self.buffer.total), self.buffer))
        else:
            get = self.buffer.get
            self._add_matches(
                (s, get(s))
                for s in self._rows[self._rows_start :]
                if isinstance(s, int) and get(s) is not None
            )

    def set_filter(self, text: str, context: int | None = None) -> None:
        self.filter_text = text
        self.filter_re = _smart_regex(text)
        if context is not None:
            self.context = max(0, min(99, context))
        self._rebuild()

    def set_context(self, k: int) -> None:
        self.context = max(0, min(99, k))
        if self.filter_re is not None:
            self._rebuild()

    def set_min_level(self, level: str | None) -> None:
        self.min_level = level
        self._rebuild()

    def set_search(self, text: str) -> None:
        self.search_text = text
        self.search_re = _smart_regex(text)
        self._rebuild_matches()
        self.version += 1

    # ---------------------------------------------------------------- search
    @property
    def matches(self) -> list[int]:
        return self._matches[self._matches_start :]

    def match_count(self) -> int:
        return len(self._matches) - self._matches_start

    def match_index(self, seq: int | None) -> int | None:
        if seq is None:
            return None
        i = bisect.bisect_left(self._matches, seq, lo=self._matches_start)
        if i < len(self._matches) and self._matches[i] == seq:
            return i - self._matches_start
        return None

    def next_match(self, after_seq: int | None, forward: bool = True) -> tuple[int | None, bool]:
        """The match after (or before) ``after_seq``; wraps around. Returns
        (seq or None, wrapped)."""
        m = self._matches
        lo = self._matches_start
        if len(m) <= lo:
            return None, False
        if after_seq is None:
            return (m[lo] if forward else m[-1]), False
        if forward:
            i = bisect.bisect_right(m, after_seq, lo=lo)
            if i < len(m):
                return m[i], False
            return m[lo], True
        i = bisect.bisect_left(m, after_seq, lo=lo) - 1
        if i >= lo:
            return m[i], False
        return m[-1], True


# --------------------------------------------------------------------------- view


class LogView(ScrollView, can_focus=True):
    """Line-API renderer of a :class:`LogModel` (plain Segments, LRU strips).

    Follows the end while ``following``; scrolling up stops that and counts
    new lines until the end is reached again (End/G/F).
    """

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $text;
        overflow-x: auto;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
    }
    LogView:focus {
        background-tint: $foreground 4%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("ctrl+d", "page_down", "Page down", show=False),
        Binding("ctrl+u", "page_up", "Page up", show=False),
    ]

    class Scrolled(Message):
        """The follow state or the new-line counter changed."""

    class Synced(Message):
        """New lines reached the screen (the pane updates its status line)."""

    def __init__(self, model: LogModel, **kw: Any):
        super().__init__(**kw)
        self.model = model
        self.show_timestamps = False
        self.show_source = False  # merged view: a name column
        self.show_stream = True  # container: stderr marker column
        self.show_level = False  # daemon: level badge
        self.wrap = False
        self.following = True
        self.new_lines = 0
        self.current_seq: int | None = None  # current search match
        self.empty_hint = ""
        self._source_width = 0
        self._source_styles: dict[str, Style] = {}
        self._cache: LRUCache[Any, Strip] = LRUCache(2048)
        self._programmatic = 0
        self._wrap_layout_key: Any = None
        self._wrap_layout: list[Strip] = []
        self.render_count = 0  # frames rendered (bench: key latency)
        self.rendered_state: tuple = ()  # what the last frame showed (bench: key latency)
        self._bottom_top = 0  # wrap mode: first row shown when anchored at the end
        self._base_style: Style | None = None
        self._dirty = False
        self._drop_pending = 0
        self._last_sync = 0.0
        self._sync_timer = None
        self._frame = MIN_FRAME
        self._since_sync = 0

    # ---------------------------------------------------------------- options
    def invalidate(self) -> None:
        self._dirty = True
        self.sync()
        self._cache.clear()
        self._wrap_layout_key = None
        self.update_virtual_size()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._wrap_layout_key = None
        self._base_style = None

    def _base(self) -> Style:
        """The widget's rich style (costly to compute: cached until styles change)."""
        st = self._base_style
        if st is None:
            st = self._base_style = self.rich_style
        return st

    def set_sources(self, names: list[str]) -> None:
        self._source_styles = {
            n: Style(color=SOURCE_COLORS[i % len(SOURCE_COLORS)], bold=True)
            for i, n in enumerate(names)
        }
        self._source_width = min(24, max((len(n) for n in names), default=0))

    def prefix_width(self) -> int:
        w = 0
        if self.show_timestamps:
            w += 25
        if self.show_source:
            w += self._source_width + 3
        if self.show_level:
            w += 5
        elif self.show_stream:
            w += 2
        return w

    def update_virtual_size(self) -> None:
        rows = self.model.row_count()
        if self.wrap:
            width = self.scrollable_content_region.width
        else:
            width = self.prefix_width() + self.model.max_chars + 1
        self.virtual_size = Size(width, rows)

    # ---------------------------------------------------------------- scroll
    def _set_y(self, y: float) -> None:
        self._programmatic += 1
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._programmatic -= 1

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._programmatic:
            return
        at_end = new_value >= self.max_scroll_y or (self.wrap and new_value >= self._bottom_top)
        if new_value < old_value and not at_end:
            if self.following:  # scrollbar drag and the like
                self.following = False
                self.post_message(self.Scrolled())
        elif new_value > old_value and at_end and not self.following:
            self.resume_follow()

    # the user scrolls up: stop following *before* scrolling, so that a batch
    # arriving meanwhile does not pull the view back to the end
    def _user_up(self) -> None:
        self.sync()
        if self.following and self.max_scroll_y > 0:
            self.following = False
            if self.wrap:  # wrapped: the end shows fewer rows than lines; start from there
                self._set_y(min(self.scroll_y, self._bottom_top))
            self.post_message(self.Scrolled())

    def action_scroll_up(self) -> None:
        self._user_up()
        self.scroll_up(animate=False)

    def action_page_up(self) -> None:
        self._user_up()
        self.scroll_page_up(animate=False)

    def action_scroll_home(self) -> None:
        self._user_up()
        self.scroll_home(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_end(self) -> None:
        self.resume_follow()

    def on_mouse_scroll_up(self, event) -> None:
        self._user_up()

    def resume_follow(self) -> None:
        self._dirty = True
        self.sync()
        self.following = True
        self.new_lines = 0
        self._set_y(self.max_scroll_y)
        self.refresh()
        self.post_message(self.Scrolled())

    def pause_follow(self) -> None:
        self.sync()
        if self.following:
            self.following = False
            self.post_message(self.Scrolled())

    def add_lines(self, lines: list[LogLine]) -> int:
        """Append a batch; keeps following or keeps the view still.

        The model changes at once; the screen at most every MIN_FRAME seconds
        (a full-screen Textual frame costs ~10-25 ms: rendering every batch of
        a fast stream would take the CPU the reader needs)."""
        dropped, added = self.model.append(lines)
        if not self.following:
            self.new_lines += added
        self._drop_pending += dropped
        self._dirty = True
        self._since_sync += len(lines)
        now = time.monotonic()
        wait = self._last_sync + self._frame - now
        if wait <= 0:
            self.sync()
        elif self._sync_timer is None:
            self._sync_timer = self.set_timer(wait, self.sync)
        return added

    def sync(self) -> None:
        """Bring size, scroll position and screen up to date with the model."""
        if self._sync_timer is not None:
            self._sync_timer.stop()
            self._sync_timer = None
        if not self._dirty:
            return
        self._dirty = False
        self._last_sync = time.monotonic()
        # a firehose (more lines than anyone reads) gets fewer frames: the CPU
        # (and the GIL) go to the reader; keys still redraw at once
        self._frame = FIREHOSE_FRAME if self._since_sync > FIREHOSE_LINES else MIN_FRAME
        self._since_sync = 0
        self.update_virtual_size()
        self._wrap_layout_key = None
        dropped, self._drop_pending = self._drop_pending, 0
        if self.following:
            self._set_y(self.max_scroll_y)
        elif dropped:
            self._set_y(max(0, self.scroll_y - dropped))
        self.refresh()
        self.post_message(self.Synced())

    def scroll_to_row(self, r: int) -> None:
        """Bring row ``r`` into view (a third from the top) and stop following."""
        self._dirty = True
        self.pause_follow()
        h = self.scrollable_content_region.height or 1
        y = max(0, r - h // 3)
        self._set_y(min(y, self.max_scroll_y))
        if self.scroll_y >= self.max_scroll_y and not self.following:
            pass  # at the end, but the user asked to look here: keep paused
        self.refresh()

    def top_row(self) -> int:
        return int(self.scroll_y)

    # ---------------------------------------------------------------- render
    def _source_style(self, name: str) -> Style:
        st = self._source_styles.get(name)
        if st is None:
            st = Style(
                color=SOURCE_COLORS[len(self._source_styles) % len(SOURCE_COLORS)], bold=True
            )
            self._source_styles[name] = st
        return st

    def line_segments(self, seq: int, line: LogLine) -> list[Segment]:
        """The segments of one line (plain text, styled; never markup)."""
        base = self._base()
        segs: list[Segment] = []
        if self.show_timestamps:
            segs.append(Segment(format_timestamp(line.timestamp) + " ", base + S_DIM))
        if self.show_source:
            w = self._source_width
            name = line.source if len(line.source) <= w else line.source[: w - 1] + "…"
            segs.append(Segment(name.ljust(w), base + self._source_style(line.source)))
            segs.append(Segment(" │ ", base + S_DIM))
        style = base
        if line.stream == "meta":
            style = base + S_META + LEVEL_STYLE.get(line.level or "info", Style())
        elif line.level is not None:
            style = base + LEVEL_STYLE.get(line.level, Style())
        if (
            self.model.filter_re is not None
            and self.model.context
            and line.stream != "meta"
            and not self.model.is_match(line)
        ):
            style = style + S_DIM  # a context line
        if self.show_level:
            tag = LEVEL_TAG.get(line.level or "", "    ")
            segs.append(
                Segment(tag + " ", style + Style(bold=line.level in ("error", "fatal", "warning")))
            )
        elif self.show_stream:
            segs.append(
                Segment(
                    "▌ " if line.stream == "stderr" else "  ",
                    base + S_STDERR if line.stream == "stderr" else base,
                )
            )
        text = line.text
        if line.stream == "meta":
            text = f"── {text} ──"
        if "\t" in text:
            text = text.expandtabs(8)
        rx = self.model.search_re
        if rx is not None and line.stream != "meta":
            hl = base + (S_MATCH_CURRENT if seq == self.current_seq else S_MATCH)
            pos = 0
            for m in rx.finditer(text):
                a, b = m.span()
                if a == b:
                    continue
                if a > pos:
                    segs.append(Segment(text[pos:a], style))
                segs.append(Segment(text[a:b], hl))
                pos = b
            if pos < len(text):
                segs.append(Segment(text[pos:], style))
        elif text:
            segs.append(Segment(text, style))
        return segs

    def _strip_for(self, item: float) -> Strip:
        strip = self._cache.get(item)
        if strip is not None:
            return strip
        if isinstance(item, float):
            strip = Strip([Segment("--", self._base() + S_SEPARATOR)])
        else:
            line = self.model.buffer.get(item)
            if line is None:
                strip = Strip.blank(0)
            else:
                strip = Strip(self.line_segments(item, line))
        self._cache[item] = strip
        return strip

    def _hint_strip(self, y: int, width: int) -> Strip:
        if y == 0 and self.empty_hint:
            return Strip(
                [Segment(self.empty_hint[:width], self._base() + S_DIM)]
            ).extend_cell_length(width, self._base())
        return Strip.blank(width, self._base())

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            self.render_count += 1
            self.rendered_state = (
                self.show_timestamps,
                self.wrap,
                self.following,
                self.model.version,
            )
        if self.model.row_count() == 0:
            return self._hint_strip(y, width)
        if self.wrap:
            layout = self._layout_wrapped(width, self.scrollable_content_region.height)
            if y < len(layout):
                return layout[y]
            return Strip.blank(width, self._base())
        scroll_x, scroll_y = self.scroll_offset
        item = self.model.row_item(scroll_y + y)
        if item is None:
            return Strip.blank(width, self._base())
        strip = self._strip_for(item)
        return strip.crop_extend(scroll_x, scroll_x + width, self._base())

    def _wrapped(self, item: float, width: int) -> list[Strip]:
        strip = self._strip_for(item)
        n = strip.cell_length
        if n <= width:
            return [strip.extend_cell_length(width, self._base())]
        # character wrap (like less); lines are capped, so at most ~10k/width rows.
        # Continuation rows are indented under the text (past timestamp/name/marker).
        base = self._base()
        p = self.prefix_width()
        if p > width // 2:
            p = 0
        step = width - p
        cuts = list(range(width, n, step)) + [n]
        pieces = strip.divide(cuts)
        out = [pieces[0].extend_cell_length(width, base)]
        pad = Strip.blank(p, base) if p else None
        for piece in pieces[1:]:
            if pad is not None:
                piece = Strip.join([pad, piece])
            out.append(piece.extend_cell_length(width, base))
        return out

    def _layout_wrapped(self, width: int, height: int) -> list[Strip]:
        key = (int(self.scroll_y), width, height, self.model.version, self.following)
        if key == self._wrap_layout_key:
            return self._wrap_layout
        m = self.model
        n = m.row_count()
        width = max(1, width)
        # bottom-anchored when following or near the end: the last line is never cut off
        rows_from_end: list[Strip] = []
        r = n - 1
        while r >= 0 and len(rows_from_end) < height:
            rows_from_end[:0] = self._wrapped(m.row_item(r), width)
            r -= 1
        bottom_top = r + 1  # first row shown when bottom-anchored
        self._bottom_top = bottom_top
        top = int(self.scroll_y)
        if self.following or top >= bottom_top:
            out = rows_from_end[-height:]
        else:
            out = []
            r = top
            while r < n and len(out) < height:
                out.extend(self._wrapped(m.row_item(r), width))
                r += 1
            out = out[:height]
        self._wrap_layout_key = key
        self._wrap_layout = out
        return out

    def on_resize(self) -> None:
        self._wrap_layout_key = None
        self.update_virtual_size()
        if self.following:
            self._set_y(self.max_scroll_y)


# --------------------------------------------------------------------------- small screens


class PromptInput(Input):
    """The search / filter input; ``esc`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=True),
    ]

    class Closed(Message):
        pass

    def action_close(self) -> None:
        self.post_message(self.Closed())


class SaveLogScreen(ModalScreen[str | None]):
    """Asks where to save the visible log (enter saves, esc cancels)."""

    DEFAULT_CSS = """
    SaveLogScreen { align: center middle; }
    SaveLogScreen > Vertical {
        width: 80%; max-width: 100; height: auto; padding: 1 2;
        border: round $accent; background: $panel;
    }
    SaveLogScreen Label { margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, default_path: str, count: int):
        super().__init__()
        self.default_path = default_path
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                Text(f"Save the {self.count:,} visible line(s) to (enter saves, esc cancels):")
            )
            yield Input(value=self.default_path, id="save-path")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    @on(Input.Submitted, "#save-path")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --------------------------------------------------------------------------- pane


class _Pending:
    """Lines read but not yet handed to the UI (bounded: the newest ``maxlen``)."""

    def __init__(self, maxlen: int):
        self.lines: deque[LogLine] = deque(maxlen=maxlen)
        self.dropped = 0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.done = False
        self.closed = False
        self.error: str | None = None
        self.source: LogSource | None = None
        self.client: Any = None
        self.added = 0  # lines ever added (the index after the newest)
        self.marks: deque[tuple[int, str, str]] = deque()  # (at line index, kind, text)

    def add(self, batch: list[LogLine]) -> None:
        with self.lock:
            before = len(self.lines)
            self.lines.extend(batch)
            self.added += len(batch)
            self.dropped += before + len(batch) - len(self.lines)
            big = len(self.lines) >= BATCH_LINES
        if big:
            self.wake.set()

    def mark(self, kind: str, text: str) -> None:
        """A state change of the source (waiting for a restart, resumed), in
        order with the lines: it is posted after the lines added before it."""
        with self.lock:
            self.marks.append((self.added, kind, text))
        self.wake.set()

    def take(self) -> tuple[list[LogLine], int, list[tuple[str, str]]]:
        """Lines up to the first mark (all when none), and the marks that
        follow them (the marks reached)."""
        with self.lock:
            marks: list[tuple[str, str]] = []
            n = len(self.lines)
            if self.marks:
                n = max(0, min(n, self.marks[0][0] - (self.added - len(self.lines))))
            if n == len(self.lines):
                lines = list(self.lines)
                self.lines.clear()
            else:
                lines = [self.lines.popleft() for _ in range(n)]
            first = self.added - len(self.lines)
            while self.marks and self.marks[0][0] <= first:
                _, kind, text = self.marks.popleft()
                marks.append((kind, text))
            dropped, self.dropped = self.dropped, 0
            if not self.lines and not self.marks:
                self.wake.clear()
        return lines, dropped, marks

    def finish(self, error: str | None = None) -> None:
        with self.lock:
            if error and not self.error:
                self.error = error
            self.done = True
        self.wake.set()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            src = self.source
        self.wake.set()
        if src is not None:
            try:
                src.close()
            except Exception:
                pass


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s)[:60].strip("-") or "log"


class LogPane(Vertical):
    """Live logs of containers (merged when several) or of the daemon.

    Constructor: ``LogPane(settings=None, *, host=None, client_factory=None)``.
    ``client_factory()`` returns a ``docker.DockerClient`` (default:
    ``inspectors.api.sdk_client(host)``); ``host`` is also what the daemon is
    looked up by (``inspectors.daemon.find_daemon``).

    Methods: :meth:`open_container`, :meth:`open_daemon`, :meth:`close_streams`,
    :meth:`focus_main`. Messages: :class:`SourceOpened`, :class:`StreamEnded`,
    :class:`StreamFailed`.
    """

    TITLE = "Logs"
    HELP = (
        "Live logs. / search (n/N next/previous), & or f filter (+/- context lines), "
        "t timestamps, w wrap, s since-window, v minimum level (daemon), End/G/F follow, "
        "ctrl+s save the visible lines. Scrolling up pauses following."
    )

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > #log-title { height: 1; background: $boost; }
    LogPane > LogView { height: 1fr; }
    LogPane > #log-status { height: 1; background: $boost; }
    LogPane > PromptInput { dock: bottom; display: none; height: 3; }
    LogPane > PromptInput.-open { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next match", id="logs.next"),
        Binding("N", "prev_match", "Prev match", id="logs.prev"),
        Binding("ampersand,f", "filter", "Filter", id="logs.filter"),
        Binding("plus,equals_sign", "context(1)", "More context", id="logs.context_more"),
        Binding("minus", "context(-1)", "Less context", id="logs.context_less"),
        Binding("t", "toggle_timestamps", "Timestamps", id="logs.timestamps"),
        Binding("w", "toggle_wrap", "Wrap", id="logs.wrap"),
        Binding("s", "cycle_window", "Since window", id="logs.window"),
        Binding("v", "cycle_level", "Min level", id="logs.level"),
        Binding("end,G,F", "follow", "Follow", id="logs.follow"),
        Binding("g,home", "top", "Top", show=False, id="logs.top"),
        Binding("ctrl+s", "save", "Save", id="logs.save"),
        Binding("escape", "clear", "Clear search/filter", id="logs.clear"),
    ]

    # ---------------------------------------------------------------- messages
    class LinesArrived(Message):
        """A batch from the reader (one per ~50 ms); internal."""

        def __init__(self, session: int, lines: list[LogLine], dropped: int = 0):
            super().__init__()
            self.session = session
            self.lines = lines
            self.dropped = dropped

    class StreamStatus(Message):
        """Reader state for a session (internal)."""

        def __init__(self, session: int, kind: str, text: str, names: list[str] | None = None):
            super().__init__()
            self.session = session
            self.kind = kind
            self.text = text
            self.names = names or []

    class SourceOpened(Message):
        """A source was opened; ``describe`` says which (file, journald unit, containers)."""

        def __init__(self, pane: LogPane, describe: str):
            super().__init__()
            self.pane = pane
            self.describe = describe

    class StreamEnded(Message):
        """The source has nothing more for now: not following, or a followed
        container stopped/was removed (the pane then waits for that name to
        start again and goes on, issue #3)."""

        def __init__(self, pane: LogPane, reason: str):
            super().__init__()
            self.pane = pane
            self.reason = reason

    class StreamFailed(Message):
        """The source could not be read; ``error`` is one clear line."""

        def __init__(self, pane: LogPane, error: str):
            super().__init__()
            self.pane = pane
            self.error = error

    # ---------------------------------------------------------------- init
    def __init__(
        self,
        settings: Any = None,
        *,
        host: str | None = None,
        client_factory: Callable[[], Any] | None = None,
        daemon_finder: Callable[[str | None], Any] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        if settings is None:
            from inspectors.config import load_settings

            settings = load_settings()
        self.settings = settings
        self.host = host
        self._client_factory = client_factory
        self._daemon_finder = daemon_finder
        maxlen = int(getattr(settings, "log_buffer_lines", 50_000) or 50_000)
        self.model = LogModel(maxlen)
        self.view = LogView(self.model, id="log-view")
        self._session = 0
        self._pending: _Pending | None = None
        self._kind: str | None = None  # "container" | "daemon"
        self._targets: list[str] = []
        self._daemon_path: str | None = None
        self._window = 0
        self.describe = ""
        self.state = "idle"  # idle | opening | streaming | ended | failed
        self.state_text = ""
        self.dropped = 0
        self._prompt_mode: str | None = None
        self._prompt_before = ""
        self._filter_timer = None
        self._open_on_mount = False
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield Static(Text(" Logs ", style="bold reverse"), id="log-title")
        yield self.view
        yield Static(Text(""), id="log-status")
        yield PromptInput(id="log-prompt")

    def on_mount(self) -> None:
        self._mounted = True
        self.view.empty_hint = "no log open: press l on a container, or L for the daemon log"
        self._update_title()
        self._update_status()
        if self._open_on_mount:
            self._open_on_mount = False
            self._restart()

    def on_unmount(self) -> None:
        self.close_streams()

    def focus_main(self) -> None:
        self.view.focus()

    # ---------------------------------------------------------------- public API
    def _window_index(self, window: str | None) -> int:
        labels = [w[0] for w in WINDOWS]
        if window is None:
            return 0
        if window not in labels:
            raise ValueError(f"window must be one of {', '.join(labels)}")
        return labels.index(window)

    def open_container(self, names_or_ids: list[str] | str, window: str | None = None) -> None:
        """Follow these containers (several: merged, with a name column).
        ``window``: "tail" (default: the last log_tail lines), "1m", "15m", "1h", "all"."""
        if isinstance(names_or_ids, str):
            names_or_ids = [names_or_ids]
        self._kind = "container"
        self._targets = [str(n) for n in names_or_ids]
        self._window = self._window_index(window)
        v = self.view
        v.show_timestamps = False
        v.show_source = len(self._targets) > 1
        v.show_stream = True
        v.show_level = False
        v.set_sources([clean(n) for n in self._targets])
        self._restart()

    def open_daemon(self, path: str | None = None, window: str | None = None) -> None:
        """Follow dockerd's log (``path`` overrides the detected source)."""
        self._kind = "daemon"
        self._targets = ["dockerd"]
        self._daemon_path = path
        self._window = self._window_index(window)
        v = self.view
        v.show_timestamps = True
        v.show_source = False
        v.show_stream = False
        v.show_level = True
        self._restart()

    def close_streams(self) -> None:
        """Stop reading (interrupts blocking reads); later lines are dropped."""
        self._session += 1
        p, self._pending = self._pending, None
        if p is not None:
            p.close()
        try:
            self.workers.cancel_group(self, "logpane-io")
        except Exception:
            pass

    # ---------------------------------------------------------------- sessions
    def _window_label(self) -> str:
        label, secs = WINDOWS[self._window]
        if label == "tail":
            return f"last {int(getattr(self.settings, 'log_tail', 500) or 500):,} lines"
        if label == "all":
            return f"everything (up to {self.model.buffer.maxlen:,} lines kept)"
        return f"since {label} ago"

    def _restart(self) -> None:
        if not self._mounted:
            self._open_on_mount = True  # opened before being mounted: start on mount
            return
        self.close_streams()
        session = self._session
        self.model.clear()
        self.dropped = 0
        v = self.view
        v.following = True
        v.new_lines = 0
        v.current_seq = None
        v.empty_hint = f"waiting for lines ({self._window_label()})…"
        v.invalidate()
        self.describe = ""
        self.state, self.state_text = "opening", ""
        pending = _Pending(self.model.buffer.maxlen)
        self._pending = pending
        label, secs = WINDOWS[self._window]
        tail: int | str = int(getattr(self.settings, "log_tail", 500) or 500)
        since = None
        if label == "all":
            tail = "all"
        elif secs is not None:
            tail, since = "all", time.time() - secs
        self._update_title()
        self._update_status()
        self._reader(
            session, pending, self._kind, list(self._targets), tail, since, self._daemon_path
        )
        self._poster(session, pending)

    def _make_client(self):
        if self._client_factory is not None:
            return self._client_factory()
        from inspectors.api import sdk_client

        return sdk_client(self.host)

    def _make_source(
        self, pending: _Pending, kind: str, targets: list[str], tail, since, path: str | None
    ) -> LogSource:
        from inspectors import logs as L

        if kind == "daemon":
            if self._daemon_finder is not None:
                dp = self._daemon_finder(self.host)
            else:
                dp = L.find_daemon_process(self.host)
            src = L.daemon_log_source(
                dp, self.settings, path=path, follow=True, tail=tail, since=since
            )
            note = getattr(dp, "note", None) if dp is not None else None
            if note and "guessed" in note:
                src.describe += f" [{clean(note)}]"
            return src
        client = self._make_client()
        pending.client = client
        # a follow waits for a stopped/removed container to start again (issue #3)
        return L.open_container_logs(
            client,
            targets,
            follow=True,
            tail=tail,
            since=since,
            reattach=True,
            on_state=pending.mark,
        )

    @work(thread=True, exit_on_error=False, group="logpane-io", exclusive=False)
    def _reader(
        self,
        session: int,
        pending: _Pending,
        kind: str,
        targets: list[str],
        tail,
        since,
        path: str | None,
    ) -> None:
        src: LogSource | None = None
        error: str | None = None
        try:
            src = self._make_source(pending, kind, targets, tail, since, path)
            with pending.lock:
                closed = pending.closed
                pending.source = src
            if closed:
                src.close()
                return
            names = list(getattr(src, "names", None) or [src.name])
            self.post_message(self.StreamStatus(session, "opened", src.describe, names))
            for batch in src.read():
                if pending.closed:
                    break
                pending.add(batch)
        except LogStreamError as e:
            error = str(e)
        except Exception as e:  # engine unreachable, permission, ...
            error = f"{e.__class__.__name__}: {e}" if not str(e) else str(e)
        finally:
            if src is not None:
                try:
                    src.close()
                except Exception:
                    pass
            if pending.client is not None:
                try:
                    pending.client.close()
                except Exception:
                    pass
            pending.finish(error)

    @work(thread=True, exit_on_error=False, group="logpane-io", exclusive=False)
    def _poster(self, session: int, pending: _Pending) -> None:
        last = 0.0
        while True:
            pending.wake.wait(BATCH_SECONDS)
            if pending.closed:
                return
            # never post faster than every BATCH_SECONDS, unless a batch is big
            now = time.monotonic()
            if now - last < BATCH_SECONDS and not pending.done and len(pending.lines) < BATCH_LINES:
                time.sleep(BATCH_SECONDS - (now - last))
            # back off while the pane has not digested what it got
            while self.message_queue_size > 2 and not pending.closed:
                time.sleep(0.005)
            with pending.lock:
                done = pending.done
            lines, dropped, marks = pending.take()
            if lines or dropped:
                self.post_message(self.LinesArrived(session, lines, dropped))
                last = time.monotonic()
            for kind, text in marks:
                self.post_message(self.StreamStatus(session, kind, text))
            with pending.lock:
                more = bool(pending.marks) and len(pending.lines) > 0
            if more:
                continue  # lines after a mark: on with them now
            if done:
                with pending.lock:
                    rest = bool(pending.lines) or bool(pending.marks)
                if rest:
                    continue
                if pending.error:
                    self.post_message(self.StreamStatus(session, "failed", pending.error))
                else:
                    self.post_message(self.StreamStatus(session, "ended", ""))
                return

    # ---------------------------------------------------------------- handlers
    def on_log_pane_lines_arrived(self, msg: LogPane.LinesArrived) -> None:
        msg.stop()
        if msg.session != self._session:
            return  # from a closed session
        self.dropped += msg.dropped
        if self.state == "opening":
            self.state = "streaming"
        self.view.add_lines(msg.lines)

    def on_log_view_synced(self, msg: LogView.Synced) -> None:
        msg.stop()
        self._update_status()

    def on_log_pane_stream_status(self, msg: LogPane.StreamStatus) -> None:
        msg.stop()
        if msg.session != self._session:
            return
        self.view.sync()  # the last lines reach the screen now, not at the next frame tick
        if msg.kind == "opened":
            self.describe = msg.text
            self.state = "streaming"
            if self._kind == "container" and msg.names:
                # the engine's names (the user may have given ids)
                self.view.set_sources([clean(n) for n in msg.names])
                self.view.invalidate()
            self._update_title()
            self.post_message(self.SourceOpened(self, msg.text))
        elif msg.kind == "resumed":
            # a followed container started again: its new run is followed
            self.state, self.state_text = "streaming", ""
            self.view.empty_hint = f"waiting for lines ({self._window_label()})…"
        elif msg.kind in ("ended", "waiting"):
            self.state = "ended"
            last = self.model.buffer.get(self.model.buffer.total - 1)
            reason = last.text if last is not None and last.stream == "meta" else "end of log"
            if msg.kind == "waiting":
                reason = msg.text or reason
            self.state_text = reason
            if msg.kind == "waiting":
                self.state_text += " · waiting for it to start again"
            if self.model.row_count() == 0:
                self.view.empty_hint = (
                    f"no log lines ({self._window_label()}); press s for a wider since-window"
                )
                self.view.refresh()
            self.post_message(self.StreamEnded(self, reason))
        elif msg.kind == "failed":
            self.state = "failed"
            self.state_text = msg.text
            self.view.empty_hint = f"cannot read the log: {msg.text}"
            self.view.refresh()
            self.post_message(self.StreamFailed(self, msg.text))
        self._update_status()

    def on_log_view_scrolled(self, msg: LogView.Scrolled) -> None:
        msg.stop()
        self._update_status()

    # ---------------------------------------------------------------- status
    def _update_title(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" Logs ", style="bold reverse")
        if self._kind is None:
            t.append("  nothing open", style="dim")
        else:
            what = self.describe or (
                "daemon log" if self._kind == "daemon" else ", ".join(self._targets)
            )
            t.append("  " + clean(what))
            t.append(f"  · window: {self._window_label()}", style="bold")
        try:
            self.query_one("#log-title", Static).update(t, layout=False)
        except Exception:
            pass

    def status_text(self) -> Text:
        v = self.view
        m = self.model
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.state == "failed":
            t.append(" ✖ " + clean(self.state_text) + " ", style="bold red")
        elif self.state == "ended":
            t.append(" ■ ended: " + clean(self.state_text) + " ", style="bold")
        elif v.following:
            t.append(" ● following ", style="bold green")
        else:
            t.append(" ⏸ paused ", style="bold yellow")
            if v.new_lines:
                t.append(
                    f" {v.new_lines:,} new lines (End/G/F to follow) ", style="bold reverse yellow"
                )
        t.append(f"  {len(m.buffer):,} lines")
        if m.filtering:
            t.append(f" · {m.row_count():,} shown")
        if m.filter_re is not None:
            t.append(" · filter ")
            t.append(repr(m.filter_text), style="bold")
            t.append(f" +{m.context} ctx" if m.context else "")
        if m.min_level:
            t.append(f" · level ≥ {m.min_level}", style="bold")
        if m.search_re is not None:
            total = m.match_count()
            idx = m.match_index(v.current_seq)
            t.append(" · search ")
            t.append(repr(m.search_text), style="bold")
            t.append(f" {idx + 1}/{total}" if idx is not None else f" {total} matches")
        flags = [f for f, on_ in (("ts", v.show_timestamps), ("wrap", v.wrap)) if on_]
        if flags:
            t.append(" · " + " ".join(flags), style="dim")
        if self.dropped:
            t.append(f" · {self.dropped:,} skipped (faster than shown)", style="yellow")
        if v.show_stream and not v.show_level:
            t.append("  ▌", style="bold red")
            t.append("=stderr", style="dim")
        return t

    def _update_status(self) -> None:
        try:
            self.query_one("#log-status", Static).update(self.status_text(), layout=False)
        except Exception:
            pass

    # ---------------------------------------------------------------- prompt
    def _open_prompt(self, mode: str) -> None:
        p = self.query_one("#log-prompt", PromptInput)
        self._prompt_mode = mode
        if mode == "search":
            self._prompt_before = self.model.search_text
            p.placeholder = "search (regex, smart case): enter jumps, n/N next/previous, esc closes"
            p.value = self.model.search_text
        else:
            self._prompt_before = self.model.filter_text
            p.placeholder = (
                f"filter: only matching lines (+{self.model.context} context; "
                "+/- to change): enter applies, empty clears, esc closes"
            )
            p.value = self.model.filter_text
        p.add_class("-open")
        p.focus()

    def _close_prompt(self) -> None:
        p = self.query_one("#log-prompt", PromptInput)
        p.remove_class("-open")
        self._prompt_mode = None
        self.view.focus()

    @on(Input.Changed, "#log-prompt")
    def _prompt_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._prompt_mode == "search":
            self.model.set_search(event.value)
            self.view.current_seq = None
            self.view.invalidate()
            self._update_status()
        elif self._prompt_mode == "filter":
            if self._filter_timer is not None:
                self._filter_timer.stop()
            value = event.value
            self._filter_timer = self.set_timer(0.15, lambda: self._apply_filter(value))

    @on(Input.Submitted, "#log-prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        mode = self._prompt_mode
        self._close_prompt()
        if mode == "search":
            self.model.set_search(event.value)
            self.view.current_seq = None
            self.view.invalidate()
            if self.model.search_re is not None:
                self._goto_match(forward=True, from_top=True)
        elif mode == "filter":
            if self._filter_timer is not None:
                self._filter_timer.stop()
            self._apply_filter(event.value)
        self._update_status()

    @on(PromptInput.Closed)
    def _prompt_closed(self, event: PromptInput.Closed) -> None:
        event.stop()
        mode = self._prompt_mode
        self._close_prompt()
        if mode == "search" and self.model.search_text != self._prompt_before:
            self.model.set_search(self._prompt_before)
            self.view.invalidate()
        elif mode == "filter":
            if self._filter_timer is not None:
                self._filter_timer.stop()
            if self.model.filter_text != self._prompt_before:
                self._apply_filter(self._prompt_before)
        self._update_status()

    def _apply_filter(self, text: str) -> None:
        if (
            text == self.model.filter_text
            and self.model.filter_re is not None
            or (not text and self.model.filter_re is None)
        ):
            return
        self.model.set_filter(text)
        self._after_rebuild()

    def _after_rebuild(self) -> None:
        v = self.view
        v.invalidate()
        if v.following:
            v._set_y(v.max_scroll_y)
        elif v.current_seq is not None:
            r = self.model.row_of_seq(v.current_seq)
            if r is not None:
                v.scroll_to_row(r)
        self._update_status()

    # ---------------------------------------------------------------- actions
    def action_search(self) -> None:
        self._open_prompt("search")

    def action_filter(self) -> None:
        self._open_prompt("filter")

    def _goto_match(self, forward: bool, from_top: bool = False) -> None:
        m = self.model
        v = self.view
        if m.search_re is None:
            self.notify("no search: press / first", severity="warning", timeout=2)
            return
        cur = v.current_seq
        if cur is None or m.row_of_seq(cur) is None:
            # start from what is on screen
            top = v.top_row()
            start = m.seq_at_or_after_row(top)
            cur = None if start is None else (start - 1 if forward else start)
        seq, wrapped = m.next_match(cur, forward)
        if seq is None:
            self.notify(f"no match for {m.search_text!r}", severity="warning", timeout=2)
            self._update_status()
            return
        if wrapped:
            self.notify("search wrapped around", timeout=1.5)
        v.current_seq = seq
        r = m.row_of_seq(seq)
        v._cache.clear()
        if r is not None:
            h = v.scrollable_content_region.height or 1
            if not (v.scroll_y <= r < v.scroll_y + h) or v.following:
                v.scroll_to_row(r)
            else:
                v.pause_follow()
        v.refresh()
        self._update_status()

    def action_next_match(self) -> None:
        self._goto_match(True)

    def action_prev_match(self) -> None:
        self._goto_match(False)

    def action_context(self, delta: int) -> None:
        m = self.model
        m.set_context(m.context + int(delta))
        if m.filter_re is None:
            self.notify(f"context lines: {m.context} (used by the filter, &)", timeout=1.5)
        self._after_rebuild()

    def action_toggle_timestamps(self) -> None:
        self.view.show_timestamps = not self.view.show_timestamps
        self.view.invalidate()
        self._update_status()

    def action_toggle_wrap(self) -> None:
        v = self.view
        v.wrap = not v.wrap
        v.scroll_x = 0
        v.invalidate()
        if v.following:
            v._set_y(v.max_scroll_y)
        self._update_status()

    def action_cycle_window(self) -> None:
        if self._kind is None:
            return
        self._window = (self._window + 1) % len(WINDOWS)
        self._restart()
        self.notify(f"showing {self._window_label()}", timeout=1.5)

    def action_cycle_level(self) -> None:
        m = self.model
        i = MIN_LEVELS.index(m.min_level) if m.min_level in MIN_LEVELS else 0
        m.set_min_level(MIN_LEVELS[(i + 1) % len(MIN_LEVELS)])
        self._after_rebuild()
        self.notify(f"minimum level: {m.min_level or 'all'}", timeout=1.5)

    def action_follow(self) -> None:
        self.view.resume_follow()
        self._update_status()

    def action_top(self) -> None:
        self.view.pause_follow()
        self.view._set_y(0)
        self._update_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear":
            # esc bubbles up to the console unless there is something to clear
            return (
                self.model.search_re is not None
                or self.model.filter_re is not None
                or self.model.min_level is not None
            )
        return True

    def action_clear(self) -> None:
        m = self.model
        m.set_search("")
        m.filter_text, m.filter_re = "", None
        m.min_level = None
        m._rebuild()
        self.view.current_seq = None
        self._after_rebuild()

    # ---------------------------------------------------------------- save
    def default_save_path(self) -> str:
        what = "daemon" if self._kind == "daemon" else "-".join(self._targets) or "log"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return os.path.join(".", f"dockscope-{_safe_name(what)}-{stamp}.log")

    def action_save(self) -> None:
        count = (
            sum(1 for _ in self.model.visible_lines())
            if self.model.filtering
            else len(self.model.buffer)
        )
        self.app.push_screen(SaveLogScreen(self.default_save_path(), count), self._save_to)

    def format_line(self, line: LogLine) -> str:
        parts = []
        if self.view.show_timestamps:
            parts.append(format_timestamp(line.timestamp))
        if self.view.show_source or (self._kind == "container" and len(self._targets) > 1):
            parts.append(f"{line.source} |")
        if line.level and self._kind == "daemon":
            parts.append(LEVEL_TAG.get(line.level, line.level.upper()))
        if line.stream == "stderr":
            parts.append("[stderr]")
        elif line.stream == "meta":
            parts.append("--")
        parts.append(line.text)
        return " ".join(parts)

    def save(self, path: str) -> int:
        """Write the visible (filtered) lines to ``path``; returns how many."""
        path = os.path.expanduser(path)
        n = 0
        with open(path, "w", encoding="utf-8", errors="replace") as f:
            for line in self.model.visible_lines():
                f.write(self.format_line(line) + "\n")
                n += 1
        return n

    def _save_to(self, path: str | None) -> None:
        if not path:
            return
        try:
            n = self.save(path)
        except OSError as e:
            self.notify(f"cannot save to {path}: {e.strerror or e}", severity="error")
            return
        self.notify(f"saved {n:,} lines to {os.path.abspath(os.path.expanduser(path))}")


# --------------------------------------------------------------------------- standalone runner


def _main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual use
    """``python -m tui.logview --container NAME [NAME...] | --daemon [--file PATH]``"""
    import argparse

    from textual.app import App
    from textual.widgets import Footer

    ap = argparse.ArgumentParser(prog="python -m tui.logview")
    ap.add_argument("--container", nargs="+", default=[])
    ap.add_argument("--daemon", action="store_true")
    ap.add_argument("--file")
    ap.add_argument("-H", "--host")
    args = ap.parse_args(argv)

    class LogApp(App):
        def compose(self) -> ComposeResult:
            yield LogPane(host=args.host, id="pane")
            yield Footer()

        def on_mount(self) -> None:
            pane = self.query_one(LogPane)
            if args.daemon or args.file:
                pane.open_daemon(args.file)
            else:
                pane.open_container(args.container)
            pane.focus_main()

    LogApp().run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
