"""Pane 5 stand-in: a small working log follower used until ``tui/logview.py``
(the real LogPane: search, filters, daemon log sources) is installed.

Same interface as LogPane: ``open_container(names)``, ``open_daemon()``,
``close_streams()``. Lines are read by a thread worker, batched (~100 ms) and
written with ``Log.write_lines``; escape sequences and control characters are
removed first (``Log`` would pass ESC through).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Log, Static

from tui.panes.common import clean

BATCH_SECONDS = 0.1


class FallbackLogPane(Vertical):
    """Follows container logs (``tail 200``, then live)."""

    TITLE = "Logs"
    HELP = (
        "Follows the log of the container opened with l (from any pane). This is the "
        "minimal built-in viewer; tui/logview.py replaces it when installed."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop following", id="logs.stop"),
        Binding("G", "end", "Follow end", id="logs.end"),
    ]

    class Lines(Message):
        def __init__(self, session: int, lines: list[str]) -> None:
            super().__init__()
            self.session = session
            self.lines = lines

    def __init__(self, host: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.host = host
        self._session = 0
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        self._what = ""

    def compose(self) -> ComposeResult:
        yield Static(Text(" Logs ", style="bold reverse"), id="log-title", classes="pane-title")
        yield Log(id="log", max_lines=20000, auto_scroll=True)

    def on_mount(self) -> None:
        self._title("press l on a container row (panes 1, 3, 4) to follow its log")

    def _title(self, what: str) -> None:
        t = Text()
        t.append(" Logs ", style="bold reverse")
        t.append("  " + clean(what))
        self.query_one("#log-title", Static).update(t)

    def focus_main(self) -> None:
        self.query_one("#log", Log).focus()

    # ----------------------------------------------------------- interface
    def open_container(self, names: list[str]) -> None:
        self.close_streams()
        self._session += 1
        log = self.query_one("#log", Log)
        log.clear()
        self._what = ", ".join(names)
        self._title(f"following {self._what}  (tail 200)")
        for name in names:
            self._follow(self._session, name, len(names) > 1)

    def open_daemon(self) -> None:
        self.close_streams()
        self._session += 1
        log = self.query_one("#log", Log)
        log.clear()
        self._title("daemon log")
        log.write_line("The daemon log viewer comes with tui/logview.py (not installed yet).")

    def close_streams(self) -> None:
        with self._lock:
            streams, self._streams = self._streams, []
        for s in streams:
            with contextlib.suppress(Exception):
                s.close()

    def on_unmount(self) -> None:
        self.close_streams()

    # ----------------------------------------------------------- worker
    @work(thread=True, exit_on_error=False, group="logs")
    def _follow(self, session: int, name: str, prefix: bool) -> None:
        from inspectors.api import sdk_client

        try:
            client = sdk_client(self.host)
            stream = client.api.logs(name, stream=True, follow=True, tail=200)
        except Exception as e:
            self.post_message(self.Lines(session, [f"[cannot follow {name}: {e}]"]))
            return
        with self._lock:
            if session != self._session:
                stream.close()
                client.close()
                return
            self._streams += [stream, client]
        buf: list[str] = []
        partial = ""
        try:
            for chunk in stream:
                text = partial + chunk.decode("utf-8", "replace")
                parts = text.split("\n")
                partial = parts.pop()
                for p in parts:
                    line = clean(p.rstrip("\r"))
                    buf.append(f"{name} | {line}" if prefix else line)
                # a chunk is already a batch; back off if the UI falls behind
                if buf:
                    self.post_message(self.Lines(session, buf))
                    buf = []
                    while self.message_queue_size > 50 and session == self._session:
                        time.sleep(BATCH_SECONDS)
        except Exception:
            pass
        if partial:
            buf.append(clean(partial))
        buf.append(f"[{name}: log stream ended]")
        self.post_message(self.Lines(session, buf))

    def on_fallback_log_pane_lines(self, msg: FallbackLogPane.Lines) -> None:
        if msg.session == self._session:
            self.query_one("#log", Log).write_lines(msg.lines)

    def action_stop(self) -> None:
        self.close_streams()
        self._title(f"stopped following {self._what}" if self._what else "not following")

    def action_end(self) -> None:
        log = self.query_one("#log", Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)
