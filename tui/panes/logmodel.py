"""The log pane's model: a ring of lines plus the rows shown (filter with
context, minimum level) and search matches. No Textual."""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from rich.style import Style

from inspectors.logs import (
    LEVEL_RANK,
    LogBuffer,
    LogLine,
    LogSource,
    LogStreamError,
)


BATCH_SECONDS = 0.05
# every frame leaves Textual Strips in reference cycles (one per row drawn,
# bench/logs counts them): fewer frames for new lines, fewer full garbage
# collections stopping the event loop; keys still redraw at once
MIN_FRAME = 0.2  # the view redraws at most 5 times a second for new lines
FIREHOSE_FRAME = 0.5  # ... and twice a second when more than
FIREHOSE_LINES = 2000  # this many lines came since the last redraw
BATCH_LINES = 5000
# the reader waits (up to PENDING_WAIT s) while this many lines wait for the
# UI: memory stays flat and a history read loses nothing; only a UI stalled
# longer than that makes the reader drop the oldest pending lines
PENDING_MAX = 2 * BATCH_LINES
IN_FLIGHT = 2  # batches posted to the pane and not yet digested (two: one handed over while the next is taken)
PENDING_WAIT = 2.0
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


def _smart_regex(pattern: str, ignore_case: bool = False) -> re.Pattern | None:
    """A regex (literal when it does not compile); case-insensitive unless the
    pattern has an upper-case letter (smart case, like less -i / vim)."""
    if not pattern:
        return None
    smart = any(c.isupper() for c in pattern) and not ignore_case
    flags = 0 if smart else re.IGNORECASE
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
        return self.filter_re is None or self.filter_hit(self.filter_re, line)

    @staticmethod
    def filter_hit(flt: re.Pattern, line: LogLine) -> bool:
        """The ``&`` filter sees the line as shown: the message and, for a line
        with a level, the level badge and name ("WARN warning"), so WARN, warn
        and warning all find a level=warning line."""
        if flt.search(line.text) is not None:
            return True
        lvl = line.level
        return lvl is not None and flt.search(f"{LEVEL_TAG.get(lvl, '')} {lvl}") is not None

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
            if self.filter_hit(flt, line):
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
        self.rebuild()

    def rebuild(self) -> None:
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
        # case-insensitive always: the filter matches the text as displayed
        # (a WARN badge is the level "warning"); search keeps smart case
        self.filter_re = _smart_regex(text, ignore_case=True)
        if context is not None:
            self.context = max(0, min(99, context))
        self.rebuild()

    def set_context(self, k: int) -> None:
        self.context = max(0, min(99, k))
        if self.filter_re is not None:
            self.rebuild()

    def set_min_level(self, level: str | None) -> None:
        self.min_level = level
        self.rebuild()

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


class Pending:
    """Lines read but not yet handed to the UI (bounded: the newest ``maxlen``)."""

    def __init__(self, maxlen: int):
        self.lines: deque[tuple] = deque(maxlen=maxlen)  # LogLine fields, in order
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
        self.room = threading.Event()  # set when take() emptied the buffer
        self.room.set()
        # batches posted and not yet taken by the pane: at most IN_FLIGHT
        self.in_flight = threading.BoundedSemaphore(IN_FLIGHT)

    def add(self, batch: list[LogLine]) -> None:
        if len(self.lines) >= PENDING_MAX and not self.closed:
            # backpressure: wait for the UI to take what is here
            self.room.clear()
            self.wake.set()
            if len(self.lines) >= PENDING_MAX and not self.closed:
                self.room.wait(PENDING_WAIT)
        # kept as plain tuples until the pane takes them (see LogBuffer: the
        # garbage collector forgets tuples, and these would otherwise live long
        # enough to be promoted and make full collections frequent)
        rows = [(ln.source, ln.stream, ln.timestamp, ln.text, ln.level) for ln in batch]
        with self.lock:
            before = len(self.lines)
            self.lines.extend(rows)
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

    def take(self) -> tuple[list[tuple], int, list[tuple[str, str]]]:
        """Lines (as tuples of LogLine fields) up to the first mark (all when
        none), and the marks that follow them (the marks reached)."""
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
        self.room.set()
        return lines, dropped, marks

    def post_loop(
        self,
        post_lines: Callable[[list[tuple], int], bool],
        post_status: Callable[[str, str], Any],
    ) -> None:
        """Hand what piles up to the UI until the source ends or is closed
        (poster thread): ``post_lines(lines, dropped)`` about every
        BATCH_SECONDS (sooner when BATCH_LINES wait), at most IN_FLIGHT batches
        not yet digested (the pane calls ``in_flight.release()``), marks in
        order with the lines, then ``post_status("ended" | "failed", text)``."""
        last = 0.0
        while True:
            self.wake.wait(BATCH_SECONDS)
            if self.closed:
                return
            # never post faster than every BATCH_SECONDS, unless a batch is big
            now = time.monotonic()
            if now - last < BATCH_SECONDS and not self.done and len(self.lines) < BATCH_LINES:
                time.sleep(BATCH_SECONDS - (now - last))
            # at most IN_FLIGHT batches posted and not digested: memory is the
            # ring + pending + those batches, whatever the pace (bench/logs)
            while not self.in_flight.acquire(timeout=0.2):
                if self.closed:
                    return
            with self.lock:
                done = self.done
            lines, dropped, marks = self.take()
            if lines or dropped:
                if not post_lines(lines, dropped):
                    self.in_flight.release()
                last = time.monotonic()
            else:
                self.in_flight.release()
            for kind, text in marks:
                post_status(kind, text)
            with self.lock:
                more = bool(self.marks) and len(self.lines) > 0
            if more:
                continue  # lines after a mark: on with them now
            if done:
                with self.lock:
                    rest = bool(self.lines) or bool(self.marks)
                if rest:
                    continue
                post_status("failed" if self.error else "ended", self.error or "")
                return

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
        self.room.set()
        if src is not None:
            try:
                src.close()
            except Exception:
                pass

    def pump(
        self, make_source: Callable[[], LogSource], opened: Callable[[LogSource], None]
    ) -> None:
        """Read a source into this buffer until it ends or is closed (reader thread)."""
        src: LogSource | None = None
        error: str | None = None
        try:
            src = make_source()
            with self.lock:
                closed = self.closed
                self.source = src
            if closed:
                return
            opened(src)
            for batch in src.read():
                if self.closed:
                    break
                self.add(batch)
        except LogStreamError as e:
            error = str(e)
        except Exception as e:  # engine unreachable, permission, ...
            error = f"{e.__class__.__name__}: {e}" if not str(e) else str(e)
        finally:
            for thing in (src, self.client):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:
                        pass
            self.finish(error)
