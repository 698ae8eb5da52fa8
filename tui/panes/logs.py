"""Pane 5, the logs: live container and daemon logs.

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

import os
import time
from typing import Any, ClassVar
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from inspectors.text import clean
from inspectors.logs import (
    LogLine,
    LogSource,
)

from tui.panes.logmodel import (
    MIN_LEVELS,
    WINDOWS,
    LogModel,
    Pending,
)
from tui.panes.logview import LogView, PromptInput, SaveLogScreen
from tui.panes import logsave
from tui.panes.protocol import PaneProtocol

# --------------------------------------------------------------------------- pane


class LogPane(Vertical, PaneProtocol):
    """Live logs of containers (merged when several) or of the daemon.

    Constructor: ``LogPane(settings=None, *, host=None, client_factory=None)``.
    ``client_factory()`` returns a ``docker.DockerClient`` (default:
    ``inspectors.api.open_engine(host).client``); ``host`` is also what the daemon is
    looked up by (``inspectors.daemon.find_daemon``).

    Methods: :meth:`open_container`, :meth:`open_daemon`, :meth:`close_streams`,
    :meth:`focus_main`. Messages: :class:`SourceOpened`, :class:`StreamEnded`,
    :class:`StreamFailed`.
    """

    PANE_ID = "logs"
    TITLE = "Logs"
    HELP = (
        "Live logs. / search (n/N next/previous), & or f filter (+/- context lines, "
        "backspace clears it), t timestamps, w wrap, s since-window, v minimum level "
        "(daemon), p pause/resume, End/G/F follow, ctrl+s save the visible lines. "
        "Scrolling up pauses too. Search and filter are kept per log source."
    )
    VIEW_CLASS: ClassVar[type[LogView]] = LogView  # bench/logs times a subclass

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
        Binding("n", "next_match", "Next match", show=False, id="logs.next"),
        Binding("N", "prev_match", "Prev match", show=False, id="logs.prev"),
        Binding("ampersand,f", "filter", "Filter", id="logs.filter"),
        Binding(
            "plus,equals_sign", "context(1)", "More context", show=False, id="logs.context_more"
        ),
        Binding("minus", "context(-1)", "Less context", show=False, id="logs.context_less"),
        Binding("t", "toggle_timestamps", "Timestamps", show=False, id="logs.timestamps"),
        Binding("w", "toggle_wrap", "Wrap", show=False, id="logs.wrap"),
        Binding("s", "cycle_window", "Since window", show=False, id="logs.window"),
        Binding("v", "cycle_level", "Min level", id="logs.level"),
        Binding("p", "pause", "Pause/resume", id="logs.pause"),
        Binding("backspace", "clear_filter", "Clear filter", show=False, id="logs.clear_filter"),
        Binding("end,G,F", "follow", "Follow", id="logs.follow"),
        Binding("g,home", "top", "Top", show=False, id="logs.top"),
        Binding("ctrl+s", "save", "Save", id="logs.save"),
        Binding("escape", "clear", "Clear search/filter", show=False, id="logs.clear"),
    ]

    # ---------------------------------------------------------------- messages
    class LinesArrived(Message):
        """A batch from the reader (one per ~50 ms; lines as tuples of LogLine
        fields); internal."""

        def __init__(self, session: int, lines: list[tuple], dropped: int = 0, pending: Any = None):
            super().__init__()
            self.session = session
            self.lines = lines
            self.dropped = dropped
            self.pending = pending

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
        self.view = self.VIEW_CLASS(self.model, id="log-view")
        self._session = 0
        self._pending: Pending | None = None
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
        # search/filter/level per log source ("container:web,db", "daemon")
        self.saved_state: dict[str, tuple[str, str, int, str | None]] = {}

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

    # ---------------------------------------------------------------- pane protocol
    def update_snapshot(self, snap) -> None:
        self.dirty = False  # the log streams are live on their own

    def reveal(self, kind: str, name: str) -> bool:
        if kind == "daemon":
            self.open_daemon()
            return True
        return False

    def set_filter(self, text: str) -> None:
        self._apply_filter(text)

    def shutdown(self) -> None:
        self.close_streams()

    def set_stale(self, stale: bool) -> None:
        self.stale = stale

    # ---------------------------------------------------------------- per-source state
    def source_key(self) -> str | None:
        if self._kind is None:
            return None
        return "daemon" if self._kind == "daemon" else "container:" + ",".join(self._targets)

    def _stash_state(self) -> None:
        key = self.source_key()
        if key is not None:
            m = self.model
            self.saved_state[key] = (m.search_text, m.filter_text, m.context, m.min_level)

    def _restore_state(self) -> None:
        search, filt, context, level = self.saved_state.get(
            self.source_key() or "", ("", "", 0, None)
        )
        m = self.model
        m.context = context
        m.min_level = level
        m.set_search(search)
        m.filter_text, m.filter_re = "", None
        if filt:
            m.set_filter(filt)
        else:
            m.rebuild()

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
        self._stash_state()
        self._kind = "container"
        self._targets = [str(n) for n in names_or_ids]
        self._window = self._window_index(window)
        v = self.view
        v.show_timestamps = False
        v.show_source = len(self._targets) > 1
        v.show_stream = True
        v.show_level = False
        v.set_sources([clean(n) for n in self._targets])
        self._restore_state()
        self._restart()

    def open_daemon(self, path: str | None = None, window: str | None = None) -> None:
        """Follow dockerd's log (``path`` overrides the detected source)."""
        self._stash_state()
        self._kind = "daemon"
        self._targets = ["dockerd"]
        self._daemon_path = path
        self._window = self._window_index(window)
        v = self.view
        v.show_timestamps = True
        v.show_source = False
        v.show_stream = False
        v.show_level = True
        self._restore_state()
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
        pending = Pending(self.model.buffer.maxlen)
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
        from inspectors.api import open_engine

        return open_engine(self.host).client

    def _make_source(
        self, pending: Pending, kind: str, targets: list[str], tail, since, path: str | None
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
        pending: Pending,
        kind: str,
        targets: list[str],
        tail,
        since,
        path: str | None,
    ) -> None:
        def opened(src: LogSource) -> None:
            names = list(getattr(src, "names", None) or [src.name])
            self.post_message(self.StreamStatus(session, "opened", src.describe, names))

        pending.pump(lambda: self._make_source(pending, kind, targets, tail, since, path), opened)

    @work(thread=True, exit_on_error=False, group="logpane-io", exclusive=False)
    def _poster(self, session: int, pending: Pending) -> None:
        pending.post_loop(
            lambda lines, dropped: self.post_message(
                self.LinesArrived(session, lines, dropped, pending)
            ),
            lambda kind, text: self.post_message(self.StreamStatus(session, kind, text)),
        )

    # ---------------------------------------------------------------- handlers
    def on_log_pane_lines_arrived(self, msg: LogPane.LinesArrived) -> None:
        msg.stop()
        try:
            if msg.session != self._session:
                return  # from a closed session
            self.dropped += msg.dropped
            if self.state == "opening":
                self.state = "streaming"
            self.view.add_lines([LogLine(*t) for t in msg.lines])
        finally:
            msg.lines = []
            if msg.pending is not None:
                msg.pending.in_flight.release()

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
        return self.view.status_text(self.state, self.state_text, self.dropped)

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
            v.set_y(v.max_scroll_y)
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
            self.notify("no search: press / first", severity="warning", timeout=2, markup=False)
            return
        cur = v.current_seq
        if cur is None or m.row_of_seq(cur) is None:
            # start from what is on screen
            top = v.top_row()
            start = m.seq_at_or_after_row(top)
            cur = None if start is None else (start - 1 if forward else start)
        seq, wrapped = m.next_match(cur, forward)
        if seq is None:
            self.notify(
                f"no match for {m.search_text!r}", severity="warning", timeout=2, markup=False
            )
            self._update_status()
            return
        if wrapped:
            self.notify("search wrapped around", timeout=1.5, markup=False)
        v.current_seq = seq
        r = m.row_of_seq(seq)
        v.strips.clear()
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
            self.notify(
                f"context lines: {m.context} (used by the filter, &)", timeout=1.5, markup=False
            )
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
            v.set_y(v.max_scroll_y)
        self._update_status()

    def action_cycle_window(self) -> None:
        if self._kind is None:
            return
        self._window = (self._window + 1) % len(WINDOWS)
        self._restart()
        self.notify(f"showing {self._window_label()}", timeout=1.5, markup=False)

    def action_cycle_level(self) -> None:
        m = self.model
        i = MIN_LEVELS.index(m.min_level) if m.min_level in MIN_LEVELS else 0
        m.set_min_level(MIN_LEVELS[(i + 1) % len(MIN_LEVELS)])
        self._after_rebuild()
        self.notify(f"minimum level: {m.min_level or 'all'}", timeout=1.5, markup=False)

    def action_pause(self) -> None:
        v = self.view
        if v.following:
            v.pause_follow()
        else:
            v.resume_follow()
        self._update_status()

    def action_clear_filter(self) -> None:
        if self.model.filter_re is None and not self.model.filter_text:
            self.app.bell()
            return
        self._apply_filter("")
        self.notify("filter cleared", timeout=1.5, markup=False)

    def action_follow(self) -> None:
        self.view.resume_follow()
        self._update_status()

    def action_top(self) -> None:
        self.view.pause_follow()
        self.view.set_y(0)
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
        m.rebuild()
        self.view.current_seq = None
        self._after_rebuild()

    # ---------------------------------------------------------------- save
    def default_save_path(self) -> str:
        what = "daemon" if self._kind == "daemon" else "-".join(self._targets) or "log"
        return logsave.default_path(what)

    def action_save(self) -> None:
        from actions import guard

        if guard.is_read_only():
            self.notify(
                "read-only mode: saving the log would write a file; nothing written",
                title="read-only",
                severity="warning",
                markup=False,
            )
            return
        count = (
            sum(1 for _ in self.model.visible_lines())
            if self.model.filtering
            else len(self.model.buffer)
        )
        self.app.push_screen(SaveLogScreen(self.default_save_path(), count), self._save_to)

    def format_line(self, line: LogLine) -> str:
        return logsave.format_line(
            line,
            timestamps=self.view.show_timestamps,
            source=self.view.show_source or (self._kind == "container" and len(self._targets) > 1),
            daemon=self._kind == "daemon",
        )

    def save(self, path: str) -> int:
        """Write the visible (filtered) lines to ``path``; returns how many."""
        return logsave.save_lines(path, (self.format_line(ln) for ln in self.model.visible_lines()))

    def _save_to(self, path: str | None) -> None:
        if not path:
            return
        try:
            n = self.save(path)
        except OSError as e:
            self.notify(f"cannot save to {path}: {e.strerror or e}", severity="error", markup=False)
            return
        self.notify(
            f"saved {n:,} lines to {os.path.abspath(os.path.expanduser(path))}", markup=False
        )
