"""The log pane's widgets: :class:`LogView` (a line-API ``ScrollView``: only
the rows on screen are rendered, each line as plain ``Segment``\\ s, never
markup, from an LRU cache of strips), the prompt line and the save dialog."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Label

from inspectors.text import clean
from inspectors.logs import (
    LogLine,
    format_timestamp,
)

from tui.panes.logmodel import (
    FIREHOSE_FRAME,
    FIREHOSE_LINES,
    LEVEL_STYLE,
    LEVEL_TAG,
    MIN_FRAME,
    S_DIM,
    S_MATCH,
    S_MATCH_CURRENT,
    S_META,
    S_SEPARATOR,
    S_STDERR,
    SOURCE_COLORS,
    LogModel,
)

# --------------------------------------------------------------------------- view

STRIP_CACHE = 320  # lines rendered and kept (about 3 screens of a tall terminal)


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
        # a few screens' worth: each cached Strip keeps its own derived-strip caches,
        # so a big cache is megabytes that fill slowly (RSS creeping, bench/logs)
        self.strips: LRUCache[Any, Strip] = LRUCache(STRIP_CACHE)
        self._programmatic = 0
        self._wrap_layout_key: Any = None
        self._wrap_layout: list[Strip] = []
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
        self.strips.clear()
        self._wrap_layout_key = None
        self.update_virtual_size()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.strips.clear()
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
    def set_y(self, y: float) -> None:
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
                self.set_y(min(self.scroll_y, self._bottom_top))
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
        self.set_y(self.max_scroll_y)
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
            self.set_y(self.max_scroll_y)
        elif dropped:
            self.set_y(max(0, self.scroll_y - dropped))
        self.refresh()
        self.post_message(self.Synced())

    def scroll_to_row(self, r: int) -> None:
        """Bring row ``r`` into view (a third from the top) and stop following."""
        self._dirty = True
        self.pause_follow()
        h = self.scrollable_content_region.height or 1
        y = max(0, r - h // 3)
        self.set_y(min(y, self.max_scroll_y))
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
        strip = self.strips.get(item)
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
        self.strips[item] = strip
        return strip

    def _hint_strip(self, y: int, width: int) -> Strip:
        if y == 0 and self.empty_hint:
            return Strip(
                [Segment(self.empty_hint[:width], self._base() + S_DIM)]
            ).extend_cell_length(width, self._base())
        return Strip.blank(width, self._base())

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
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
            self.set_y(self.max_scroll_y)

    def status_text(self, state: str, state_text: str, dropped: int) -> Text:
        """The pane's status line: follow/pause, counts, filter, search, flags."""
        v = self
        m = self.model
        t = Text(no_wrap=True, overflow="ellipsis")
        if state == "failed":
            t.append(" ✖ " + clean(state_text) + " ", style="bold red")
        elif state == "ended":
            t.append(" ■ ended: " + clean(state_text) + " ", style="bold")
        elif v.following:
            t.append(" ● following ", style="bold green")
        else:
            t.append(f" ⏸ paused, {v.new_lines:,} new ", style="bold reverse yellow")
            t.append(" p/End: follow ", style="dim")
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
        if dropped:
            t.append(f" · {dropped:,} skipped (faster than shown)", style="yellow")
        if v.show_stream and not v.show_level:
            t.append("  ▌", style="bold red")
            t.append("=stderr", style="dim")
        return t


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
