"""Live capture in the console (``C`` on a container or a network): one line
per packet as ``tcpdump -n`` prints them, follow/pause, a host/port/proto
filter, counters (received, shown, dropped because the screen could not keep
up, dropped by the kernel).

The capture reads in its own thread into a bounded queue
(:class:`inspectors.capture.Capture`); the screen takes at most
``BATCH`` lines every ``TICK`` seconds, so keys stay answered however fast
packets arrive, and memory stays bounded (the log keeps ``MAX_LINES``).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Log, Static

from inspectors.text import clean

TICK = 0.1
BATCH = 200  # lines per tick at most: ~2000 lines/s on screen, more than anyone reads
MAX_LINES = 5000
MAX_PENDING = 5000  # beyond this, packets are counted as dropped (screen)


class CaptureScreen(Screen):
    AUTO_FOCUS = "#cap-log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Stop and back", id="capture.close"),
        Binding("p,space", "toggle_pause", "Pause/follow", id="capture.pause"),
        Binding("f", "filter", "Filter", id="capture.filter"),
        Binding("c", "clear", "Clear", id="capture.clear"),
    ]
    DEFAULT_CSS = """
    CaptureScreen #cap-status { height: 2; background: $boost; padding: 0 1; }
    CaptureScreen #cap-filter { display: none; }
    CaptureScreen #cap-filter.open { display: block; }
    """

    def __init__(self, snapshot, target, filter_text: str = "", **kw) -> None:
        """``target``: a name (container, network, host interface) resolved in
        ``snapshot``, or an :class:`inspectors.capture.Target`."""
        super().__init__(**kw)
        self.snapshot = snapshot
        self.target_name = target
        self.filter_text = filter_text
        self.capture = None
        self.error: str | None = None
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="cap-status")
        yield Input(placeholder="filter: host 10.0.0.2 and port 80 | icmp or arp | not tcp",
                    id="cap-filter")  # fmt: skip
        # Log, not RichLog: plain lines (already sanitized) render far cheaper
        yield Log(id="cap-log", max_lines=MAX_LINES, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self._start(self.filter_text)
        self.set_interval(TICK, self._drain)

    def _start(self, ftext: str) -> None:
        from inspectors import capture as cap

        try:
            flt = cap.parse_filter(ftext)
        except ValueError as e:
            # a bad filter keeps the capture (and the lines) of the good one
            self.error = str(e)
            self._status()
            return
        if self.capture is not None:
            self.capture.stop()
            self.capture = None
        if self.is_mounted:
            # lines of the previous filter go: what is shown always matches the filter
            self.action_clear()
        try:
            target = self.target_name
            if not isinstance(target, cap.Target):
                target = cap.resolve_target(self.snapshot, target)
            # in a child process: a flood decoded there never competes with the keys here
            self.capture = cap.ProcessCapture(
                target, flt.text, max_pending=MAX_PENDING, tick=TICK, per_tick=BATCH
            ).start()
            self.filter_text = ftext
            self.error = None
        except (ValueError, OSError) as e:
            self.error = str(e)
        self._status()

    def _drain(self) -> None:
        c = self.capture
        if c is None:
            return
        log = self.query_one("#cap-log", Log)
        if not c.paused:
            lines = c.poll(BATCH)
            if lines:
                log.write_lines([clean(ln) for ln in lines])
                self.shown += len(lines)
        c.kernel_stats()
        self._status()

    def status_text(self) -> Text:
        c = self.capture
        t = Text()
        label = c.target.label if c is not None else str(self.target_name)
        t.append(f"capture on {clean(label)}", style="bold")
        t.append(f"   filter: {clean(self.filter_text) or '(all)'}")
        if c is not None:
            t.append(
                "   PAUSED" if c.paused else "   following", style="yellow" if c.paused else "green"
            )
            st = c.stats
            t.append(
                f"\nreceived {st.received}  matched {st.matched}  shown {self.shown}"
                f"  queued {len(c.pending)}  dropped (screen) {st.dropped}"
                f"  hidden while paused {st.hidden}  dropped (kernel) {st.kernel_drops}"
            )
        if self.error:
            t.append("\n" + clean(self.error), style="red")
        return t

    def _status(self) -> None:
        self.query_one("#cap-status", Static).update(self.status_text())

    def action_toggle_pause(self) -> None:
        if self.capture is None:
            return
        if self.capture.paused:
            self.capture.resume()
        else:
            self.capture.pause()
        self._status()

    def action_filter(self) -> None:
        inp = self.query_one("#cap-filter", Input)
        inp.add_class("open")
        inp.value = self.filter_text
        inp.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inp = self.query_one("#cap-filter", Input)
        inp.remove_class("open")
        self._start(event.value)
        self.query_one("#cap-log", Log).focus()

    def action_clear(self) -> None:
        self.query_one("#cap-log", Log).clear()
        self.shown = 0

    def action_close(self) -> None:
        inp = self.query_one("#cap-filter", Input)
        if inp.has_class("open"):
            inp.remove_class("open")
            self.query_one("#cap-log", Log).focus()
            return
        self.dismiss()

    def on_unmount(self) -> None:
        if self.capture is not None:
            self.capture.stop()


__all__ = ["CaptureScreen", "open_capture_screen"]


def open_capture_screen(app) -> None:
    """``C``: capture on the container (its eth0) or the network (its bridge)
    under the cursor."""
    if app.snapshot is None:
        app.notify("no model yet", markup=False)
        return
    net, ctr = app.selected_names()
    target = ctr or net
    if not target:
        app.notify("select a container or a network to capture on", markup=False)
        return
    app.push_screen(CaptureScreen(app.snapshot, target))
