"""The dockscope console: one Textual app, seven panes, live from docker events
and netlink.

Data flow: :class:`tui.live.Live` runs in thread workers (first paint, events,
netlink) and posts :class:`~tui.live.LiveUpdate` messages carrying a private
copy of the snapshot; :meth:`DockscopeApp.on_live_update` hands it to the
visible pane (the others are marked dirty and update when shown). Panes update
their tables by diff, so the cursor and scroll position survive updates.

Tests and screenshots build the app with a fixed snapshot
(``DockscopeApp(snapshot=..., live=False)``) or an injected
:class:`~inspectors.snapshot.Model`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState

from inspectors.model import Snapshot
from tui.commands import DockscopeCommands
from tui.live import EngineBack, EngineLost, Live, LiveError, LiveUpdate
from tui.panes.bridges import BridgesPane
from tui.panes.common import DataView, Pane, clean, elide, placeholder
from tui.panes.endpoints import EndpointsPane
from tui.panes.events import EventsPane, format_time
from tui.panes.networks import NetworksPane
from tui.panes.ports import PortsPane

DEFAULT_THEME = "textual-dark"
STATS_EVERY = 2  # seconds between counter reads while the Bridges pane is shown
LISTENERS_EVERY = 5  # seconds between socket scans while the Ports pane is shown


def _log_pane(host: str | None, settings=None) -> Widget:
    try:
        from tui.logview import LogPane  # the real viewer (another module's work)
    except ImportError:
        from tui.panes.logs import FallbackLogPane

        return FallbackLogPane(host=host, id="logs")
    return _construct(LogPane, settings=settings, host=host, id="logs")


def _findings_pane() -> Widget:
    try:
        from tui.doctor_views import FindingsPane
    except ImportError:
        return placeholder(
            "The doctor's findings appear here once tui/doctor_views.py is "
            "installed. Meanwhile: `dockscope doctor` on the command line."
        )
    return _construct(FindingsPane, id="findings")


def _construct(cls: type, **kw: Any) -> Widget:
    """Instantiate a widget from another module, passing only the keywords it takes."""
    import inspect

    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover
        params = {}
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        kw = {k: v for k, v in kw.items() if k in params or k in ("id", "classes", "name")}
    return cls(**kw)


def _important(note: str) -> bool:
    """Notes that explain an empty or partial view belong in the banner; the
    rest (e.g. one socket without a visible owner) only in the help screen."""
    n = note.lower()
    return any(
        k in n
        for k in ("not root", "unavailable", "not on this host", "cannot", "permission", "failed")
    )


class DockscopeApp(App[int]):
    """Keyboard-driven console for Docker networking on this host."""

    CSS_PATH = "app.tcss"
    TITLE = "dockscope"
    COMMANDS = App.COMMANDS | {DockscopeCommands}

    PANES: ClassVar[list[tuple[str, str]]] = [
        ("networks", "Networks"),
        ("bridges", "Bridges"),
        ("endpoints", "Endpoints"),
        ("ports", "Ports"),
        ("logs", "Logs"),
        ("events", "Events"),
        ("findings", "Findings"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "pane('networks')", "Networks pane", show=False, id="app.pane1"),
        Binding("2", "pane('bridges')", "Bridges pane", show=False, id="app.pane2"),
        Binding("3", "pane('endpoints')", "Endpoints pane", show=False, id="app.pane3"),
        Binding("4", "pane('ports')", "Ports pane", show=False, id="app.pane4"),
        Binding("5", "pane('logs')", "Logs pane", show=False, id="app.pane5"),
        Binding("6", "pane('events')", "Events pane", show=False, id="app.pane6"),
        Binding("7", "pane('findings')", "Findings pane", show=False, id="app.pane7"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="app.refresh",
            tooltip="full rebuild of the model (events keep it current anyway)",
        ),
        Binding("l", "logs", "Logs", id="app.logs", tooltip="follow the selected container's log"),
        Binding(
            "L",
            "daemon_logs",
            "Daemon log",
            show=False,
            id="app.daemon_logs",
            tooltip="follow dockerd's own log (pane 5)",
        ),
        Binding(
            "P",
            "packet",
            "Packet path",
            show=False,
            id="app.packet",
            tooltip="firewall, conntrack, sockets, neighbours, counters of the selection",
        ),
        Binding("C", "capture", "Capture", show=False, id="app.capture", tooltip="live capture"),
        Binding("n", "new_network", "New network", show=False, id="app.new_network"),
        Binding("c", "connect", "Connect", show=False, id="app.connect"),
        Binding("d", "disconnect", "Disconnect", show=False, id="app.disconnect"),
        Binding("x", "remove_network", "Remove network", show=False, id="app.remove_network"),
        Binding("D", "daemon_debug", "Daemon debug", show=False, id="app.daemon_debug"),
        Binding("u", "undo", "Undo last action", show=False, id="app.undo"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit2"),
    ]

    MUTATING: ClassVar[set[str]] = {
        "new_network",
        "connect",
        "disconnect",
        "remove_network",
        "daemon_debug",
        "undo",
    }

    def __init__(
        self,
        host: str | None = None,
        read_only: bool = False,
        model=None,
        snapshot: Snapshot | None = None,
        live: bool = True,
        settings=None,
        theme: str | None = None,
        started_at: float | None = None,
        findings: list | None = None,
    ) -> None:
        super().__init__()
        if settings is None:
            from inspectors.config import load_settings

            settings = load_settings()
        self.settings = settings
        self.read_only = bool(read_only or getattr(settings, "read_only", False))
        self.host = host
        self.fixed_snapshot = snapshot
        self.live_enabled = live and snapshot is None
        if model is None and snapshot is None:
            from inspectors.snapshot import Model

            model = Model(host)
        self.model = model
        if self.host is None and model is not None:
            self.host = getattr(model, "host", None)  # logs, events, forms use the same engine
        self.started_at = started_at or time.time()
        self.snapshot: Snapshot | None = None
        self.live: Live | None = None
        self.engine_lost: EngineLost | None = None
        self.last_event_at: float | None = None
        self.engine_seen_at: float | None = None  # taken_at of the last snapshot with an engine
        self.painted: dict[str, float] = {}  # reason -> monotonic time first painted
        self._ticks = 0
        self._errors_shown: set[str] = set()
        self._theme_name = theme or getattr(settings, "theme", None) or DEFAULT_THEME
        self._bench = os.environ.get("DOCKSCOPE_BENCH", "")
        self._action_flows = None
        self._all_mounted = False
        self._mount_scheduled = False
        self._live_started = False
        self._early_events: list[dict] = []
        self.fixed_findings = findings  # with a fixed snapshot: show these, do not run the doctor

    # ------------------------------------------------------------------ layout
    def _make_pane(self, pane_id: str) -> Widget:
        if pane_id == "networks":
            return NetworksPane(id="networks")
        if pane_id == "bridges":
            return BridgesPane(id="bridges")
        if pane_id == "endpoints":
            return EndpointsPane(id="endpoints")
        if pane_id == "ports":
            return PortsPane(id="ports")
        if pane_id == "logs":
            return _log_pane(self.host, self.settings)
        if pane_id == "events":
            return EventsPane(id="events")
        return _findings_pane()

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="banner")
        # live: only pane 1 is built before the first frame; the others are
        # mounted right after it (first data sooner, ~0.1 s on a slow host)
        eager = self.fixed_snapshot is not None or not self.live_enabled
        with TabbedContent(id="tabs", initial="tab-networks"):
            for num, (pane_id, title) in enumerate(self.PANES, start=1):
                with TabPane(f"{num} {title}", id=f"tab-{pane_id}"):
                    if eager or pane_id == "networks":
                        yield self._make_pane(pane_id)
        yield Footer()

    def _first_painted(self) -> None:
        if self.live is None or self._live_started:
            return
        self._live_started = True
        self.live.first_paint.set()
        if self.live_enabled and not self.live.stop.is_set():
            self._events_worker()
            if getattr(self.model, "with_kernel", True):
                self._netlink_worker()

    def _schedule_mount_rest(self) -> None:
        if not self._all_mounted and not self._mount_scheduled:
            self._mount_scheduled = True
            self.call_after_refresh(self._mount_rest)

    async def _mount_rest(self) -> None:
        for pane_id, _ in self.PANES:
            if self._tearing_down():
                return
            tab = self.query_one(f"#tab-{pane_id}", TabPane)
            if not tab.children and tab.is_attached:
                await tab.mount(self._make_pane(pane_id))
        self._all_mounted = True
        if self._early_events:
            self._add_events(self._early_events)
            self._early_events = []
        if self.engine_lost is not None:
            for pane in self.query(Pane):
                pane.set_stale(True)
        self._catch_up()
        self._focus_active()

    def _events_pane(self) -> EventsPane | None:
        w = self._pane_widget("events")
        return w if isinstance(w, EventsPane) else None

    def _add_events(self, events: list[dict]) -> None:
        pane = self._events_pane()
        if pane is None:
            self._early_events.extend(events)
            return
        pane.add_events(events)
        self.last_event_at = pane.last_event_at

    def _add_local_event(self, action: str, message: str) -> None:
        pane = self._events_pane()
        if pane is None:
            now = time.time()
            self._early_events.append(
                {
                    "Type": "dockscope",
                    "Action": action,
                    "message": message,
                    "time": int(now),
                    "timeNano": int(now * 1e9),
                    "Actor": {},
                }
            )
            return
        pane.add_local(action, message)

    def on_load(self) -> None:
        """Before the terminal and the first screen exist: start reading the engine,
        so the first list calls overlap building the UI."""
        # long-lived thread workers (events, netlink, apply, logs) must not
        # starve the default executor (min(32, cpus + 4) threads)
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=32, thread_name_prefix="dockscope-worker")
        )
        if self.fixed_snapshot is None and self.model is not None:
            self.live = Live(
                self.model, self.post_message, host=self.host, started_at=self.started_at
            )
            self._apply_worker()

    def on_mount(self) -> None:
        if self._theme_name in self.available_themes:
            self.theme = self._theme_name
        self.query_one("#banner", Static).display = False
        self._render_status()
        self.call_after_refresh(self._focus_active)
        if all(self.query_one(f"#tab-{p}", TabPane).children for p, _ in self.PANES):
            self._all_mounted = True
        else:  # after the first frame with data (or 1 s, whichever comes first)
            self.set_timer(1.0, self._schedule_mount_rest)
        if self.fixed_snapshot is not None:
            if self.fixed_findings is not None:
                w = self._pane_widget("findings")
                if w is not None and hasattr(w, "set_findings"):
                    w.set_findings(list(self.fixed_findings))
                    w.snapshot = self.fixed_snapshot
                    setattr(w, "_dockscope_fixed", True)
            self.apply_snapshot(self.fixed_snapshot)
            return
        if self.live is None:
            return
        if self.live_enabled:
            self.set_interval(1.0, self._tick)
            # the event and netlink subscriptions start once the first frame is
            # painted (their imports compete for the GIL); `since` replays
            # whatever happened meanwhile
            self.set_timer(1.5, self._first_painted)
        if getattr(self.settings, "error", None):
            self.notify(
                clean(self.settings.error), title="settings", severity="warning", markup=False
            )

    # ------------------------------------------------------------------ workers
    @work(
        thread=True,
        exit_on_error=False,
        group="live-apply",
        name="apply",
        description="first paint, then apply events to the model",
    )
    def _apply_worker(self) -> None:
        assert self.live is not None
        self.live.apply_loop()

    @work(
        thread=True,
        exit_on_error=False,
        group="live-events",
        name="events",
        description="docker events stream with reconnect",
    )
    def _events_worker(self) -> None:
        assert self.live is not None
        self.live.events_loop()

    @work(
        thread=True,
        exit_on_error=False,
        group="live-netlink",
        name="netlink",
        description="netlink link notifications",
    )
    def _netlink_worker(self) -> None:
        assert self.live is not None
        self.live.netlink_loop()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            err = event.worker.error
            self.notify(
                clean(f"{type(err).__name__}: {err}"),
                title=f"{event.worker.name} failed",
                severity="error",
                markup=False,
            )

    def _tick(self) -> None:
        """Counters and sockets have no notifications: poll them only while shown."""
        self._ticks += 1
        if self.live is None or len(self.screen_stack) > 1:
            return
        active = self.active_pane_id
        if active == "bridges" and self._ticks % STATS_EVERY == 0:
            self.live.request("stats")
        elif active == "ports" and self._ticks % LISTENERS_EVERY == 0:
            self.live.request("listeners")
        if self.engine_lost is not None:
            self._render_banner()

    # ------------------------------------------------------------------ live messages
    def _tearing_down(self) -> bool:
        """Messages from the live loops can arrive while the app tears down."""
        if self._exit or (self.live is not None and self.live.stop.is_set()):
            return True
        try:
            return not self.query("#tabs")
        except Exception:  # no screen any more
            return True

    @on(LiveUpdate)
    def on_live_update(self, msg: LiveUpdate) -> None:
        if self._tearing_down():
            return
        if msg.snapshot is not None:
            if msg.reason == "quick" and self.snapshot is not None:
                pass  # a full snapshot already arrived: never go back to the quick one
            else:
                try:
                    self.apply_snapshot(msg.snapshot, kernel=msg.kernel)
                except NoMatches:  # the screen is being torn down
                    return
        if msg.events:
            self._add_events(msg.events)
            self._render_status()
        if msg.reason not in self.painted:
            self.painted[msg.reason] = time.monotonic()
            # bench/startup: exit on the first frame with data (or the full one)
            has_data = msg.snapshot is not None and bool(
                msg.snapshot.networks or msg.snapshot.containers
            )
            if (
                has_data
                and not getattr(self, "_bench_result", None)
                and (
                    self._bench == "first-data"
                    or (self._bench == "full-data" and msg.reason == "build")
                )
            ):
                self._bench_result = ("pending", 0.0)
                self.call_after_refresh(self._bench_exit, msg.reason)
        if msg.snapshot is not None:
            self.call_after_refresh(self._first_painted)
            self._schedule_mount_rest()

    def _bench_exit(self, reason: str) -> None:
        t0 = float(os.environ.get("DOCKSCOPE_BENCH_T0") or self.started_at)
        self._bench_result = (reason, time.time() - t0)
        self.exit(0)

    @on(EngineLost)
    def on_engine_lost(self, msg: EngineLost) -> None:
        if self._tearing_down():
            return
        first = self.engine_lost is None
        self.engine_lost = msg
        if first:
            self._add_local_event("engine lost", msg.error)
            self.query_one("#tabs").add_class("-stale")
            for pane in self.query(Pane):
                pane.set_stale(True)
        self._render_banner()
        self._render_status()

    @on(EngineBack)
    def on_engine_back(self, msg: EngineBack) -> None:
        if self._tearing_down():
            return
        self.engine_lost = None
        self._add_local_event("engine back", f"after {msg.after:.1f}s")
        self.query_one("#tabs").remove_class("-stale")
        for pane in self.query(Pane):
            pane.set_stale(False)
        self.notify(
            f"engine is back after {msg.after:.1f}s; state rebuilt", title="engine", markup=False
        )
        self._render_banner()
        self._render_status()

    @on(LiveError)
    def on_live_error(self, msg: LiveError) -> None:
        key = f"{msg.where}:{msg.error}"
        if key in self._errors_shown:
            return
        self._errors_shown.add(key)
        self.notify(clean(msg.error), title=msg.where, severity="warning", markup=False)

    # ------------------------------------------------------------------ snapshot
    def apply_snapshot(self, snap: Snapshot, kernel: bool = True) -> None:
        self.snapshot = snap
        if snap.engine.reachable:
            self.engine_seen_at = snap.taken_at or time.time()
        active = self.active_pane_id
        with self.batch_update():
            bridges = self._pane_widget("bridges")
            if kernel and isinstance(bridges, BridgesPane):
                bridges.feed_rates(snap)
            events = self._events_pane()
            if events is not None:
                events.names = {c.id: c.name for c in snap.containers}
            for pid, _ in self.PANES:
                w = self._pane_widget(pid)
                if (
                    w is None
                    or not hasattr(w, "update_snapshot")
                    or getattr(w, "_dockscope_fixed", False)
                ):
                    continue
                if pid == active:
                    w.update_snapshot(snap)
                    if isinstance(w, Pane):
                        w.dirty = False
                elif isinstance(w, Pane):
                    w.dirty = True
                else:
                    setattr(w, "_dockscope_dirty", True)
        self._render_status()
        self._render_banner()

    def _pane_widget(self, pane_id: str) -> Widget | None:
        try:
            tab = self.query_one(f"#tab-{pane_id}", TabPane)
        except Exception:
            return None
        kids = list(tab.children)
        return kids[0] if kids else None

    @property
    def active_pane_id(self) -> str:
        try:
            active = self.query_one("#tabs", TabbedContent).active
        except Exception:
            return "networks"
        return (active or "tab-networks").removeprefix("tab-")

    def active_pane(self) -> Widget | None:
        return self._pane_widget(self.active_pane_id)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._catch_up()
        self.call_after_refresh(self._focus_active)

    def _catch_up(self) -> None:
        """The shown pane gets the snapshots it missed while hidden."""
        w = self.active_pane()
        if w is not None and self.snapshot is not None:
            if isinstance(w, Pane) and w.dirty:
                w.update_snapshot(self.snapshot)
                w.dirty = False
            elif (
                getattr(w, "_dockscope_dirty", False)
                and hasattr(w, "update_snapshot")
                and not getattr(w, "_dockscope_fixed", False)
            ):
                w.update_snapshot(self.snapshot)
                setattr(w, "_dockscope_dirty", False)

    def _focus_active(self) -> None:
        w = self.active_pane()
        if w is None:
            return
        if hasattr(w, "focus_main"):
            w.focus_main()
        elif w.can_focus:
            w.focus()
        else:
            focusable = [x for x in w.query("*") if x.can_focus]
            if focusable:
                focusable[0].focus()

    # ------------------------------------------------------------------ status / banner
    def status_text(self, width: int | None = None) -> Text:
        """The one-line header: engine, version, debug, counts, last event, badges."""
        snap = self.snapshot
        e = snap.engine if snap else None
        host = (
            e.host
            if e and e.host
            else (self.host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
        )
        host = clean(host).removeprefix("unix://")
        tail = Text()
        if self.engine_lost is not None:
            tail.append("  ENGINE DOWN", style="bold red")
        elif e is not None and e.reachable:
            tail.append(f"  docker {clean(e.server_version) or '?'}")
            if e.debug is not None:
                tail.append("  debug ")
                tail.append("on" if e.debug else "off", style="bold yellow" if e.debug else "")
        elif e is not None:
            tail.append(
                "  PERMISSION DENIED" if e.error_kind == "permission" else "  ENGINE UNREACHABLE",
                style="bold red",
            )
        else:
            tail.append("  connecting...", style="dim")
        if snap is not None:
            running = sum(1 for c in snap.containers if c.state == "running")
            tail.append(
                f" │ {len(snap.networks)} nets {running}/{len(snap.containers)} up "
                f"{len(snap.bridges)} br"
            )
        if self.last_event_at:
            tail.append(f" │ event {format_time(self.last_event_at)[:8]}")
        if snap is not None and not snap.is_root:
            tail.append("  NOT ROOT", style="bold yellow")
        if self.read_only:
            tail.append("  READ-ONLY ", style="bold reverse")
        width = width or self.size.width or 120
        room = max(12, width - 12 - len(tail.plain))
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append(" dockscope ", style="bold reverse")
        out.append(" ")
        out.append(elide(host, room))
        out.append(tail)
        return out

    def _render_status(self) -> None:
        self.query_one("#status", Static).update(self.status_text())

    def on_resize(self, event) -> None:
        self._render_status()

    def banner_lines(self, all: bool = False) -> list[tuple[str, str]]:
        """(severity, text) lines of the banner: engine down, permission, not root, and
        the notes that hide a whole view (``all``: every note, for the help screen)."""
        lines: list[tuple[str, str]] = []
        snap = self.snapshot
        if self.engine_lost is not None:
            lost = self.engine_lost
            head = "PERMISSION DENIED" if lost.kind == "permission" else "ENGINE UNREACHABLE"
            lines.append(("error", f"{head}: {lost.error}"))
            if self.engine_seen_at is not None:
                lines.append(
                    (
                        "error",
                        f"showing the last state (from "
                        f"{format_time(self.engine_seen_at)[:8]}), marked STALE; "
                        f"reconnecting by itself (attempt {lost.attempt})",
                    )
                )
            else:
                lines.append(
                    (
                        "error",
                        "kernel panes still work: 2 Bridges, 4 Ports (a: host "
                        f"listeners); retrying the engine (attempt {lost.attempt})",
                    )
                )
        elif snap is not None and not snap.engine.reachable and snap.engine.error:
            kind = snap.engine.error_kind
            head = "PERMISSION DENIED" if kind == "permission" else "ENGINE UNREACHABLE"
            lines.append(("error", f"{head}: {snap.engine.error}"))
            lines.append(
                (
                    "error",
                    "kernel panes still work: 2 Bridges, 4 Ports (a: host "
                    "listeners); retrying the engine in the background",
                )
            )
        if snap is not None:
            for note in snap.notes:
                if all or _important(note):
                    lines.append(("warning", note))
        return lines

    def _render_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        lines = self.banner_lines()
        if not lines:
            banner.display = False
            return
        out = Text()
        worst = "error" if any(s == "error" for s, _ in lines) else "warning"
        for i, (sev, line) in enumerate(lines[:4]):
            if i:
                out.append("\n")
            out.append("⚠ " if sev == "error" else "• ", style="bold")
            out.append(clean(line))
        if len(lines) > 4:
            out.append(f"\n… {len(lines) - 4} more note(s) in ? help", style="dim")
        banner.update(out)
        banner.set_class(worst == "error", "-error")
        banner.set_class(worst != "error", "-warning")
        banner.display = True

    # ------------------------------------------------------------------ selection
    def selection(self) -> dict[str, str]:
        w = self.active_pane()
        if w is not None and hasattr(w, "selection"):
            try:
                return dict(w.selection() or {})
            except Exception:
                return {}
        return {}

    def selected_container(self):
        cid = self.selection().get("container")
        if cid and self.snapshot is not None:
            return self.snapshot.container(cid)
        return None

    def selected_network(self):
        nid = self.selection().get("network")
        if nid and self.snapshot is not None:
            return self.snapshot.network(nid)
        return None

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and self.read_only:
            return None  # shown, greyed out
        return True

    def action_pane(self, pane_id: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != f"tab-{pane_id}":
            tabs.active = f"tab-{pane_id}"
        self._catch_up()  # now, so the next key already acts on the new pane's rows
        self._focus_active()

    def action_help(self) -> None:
        from tui.help import HelpScreen, collect_bindings

        w = self.active_pane()
        title = dict(self.PANES).get(self.active_pane_id, "")
        pane_help = getattr(w, "HELP", "") if w is not None else ""
        notes = [line for _, line in self.banner_lines(all=True)]
        if notes:
            pane_help = (
                pane_help + "\n\nNotes:\n" + "\n".join(f"  {clean(n)}" for n in notes)
            ).strip()
        self.push_screen(
            HelpScreen(collect_bindings(self), title=f"Keys: {title} pane", pane_help=pane_help)
        )

    def action_refresh(self) -> None:
        if self.live is None:
            self.notify("fixed snapshot: nothing to refresh", markup=False)
            return
        self.live.request("rebuild")
        self.notify("full rebuild requested", title="refresh", timeout=2, markup=False)

    def action_ports_all(self) -> None:
        self.action_pane("ports")
        w = self._pane_widget("ports")
        if isinstance(w, PortsPane):
            w.action_toggle_all()

    def action_logs(self) -> None:
        c = self.selected_container()
        if c is None:
            self.notify(
                "put the cursor on a container first (panes 1 detail, 2, 3, 4)",
                title="logs",
                severity="warning",
                markup=False,
            )
            return
        logs = self._pane_widget("logs")
        if logs is None or not hasattr(logs, "open_container"):
            return
        self.action_pane("logs")
        logs.open_container([c.name])

    def action_daemon_logs(self) -> None:
        logs = self._pane_widget("logs")
        if logs is None or not hasattr(logs, "open_daemon"):
            return
        self.action_pane("logs")
        logs.open_daemon()

    def _flows(self):
        """tui/forms.py's ActionFlows: form -> confirm -> action in a worker -> notify."""
        if self._action_flows is None:
            try:
                from tui.forms import ActionFlows
            except ImportError:
                self.notify(
                    "the forms (tui/forms.py) are not installed",
                    title="actions",
                    severity="warning",
                    markup=False,
                )
                return None
            self._action_flows = ActionFlows(
                self, host=self.host, settings=self.settings, on_changed=self._action_done
            )
        return self._action_flows

    def _action_done(self, result) -> None:
        """An action changed something: docker events bring the change; the daemon
        config (debug) has no event before its reload, so re-read the engine."""
        if self.live is not None and str(getattr(result, "action", "")).startswith("daemon"):
            self.live.request("rebuild")

    def _refuse_read_only(self, what: str) -> bool:
        if self.read_only:
            self.notify(
                f"read-only mode: {what} is disabled",
                title="read-only",
                severity="warning",
                markup=False,
            )
            return True
        return False

    def _names(self) -> tuple[str | None, str | None]:
        """(network name, container name) under the cursor."""
        sel = self.selection()
        net = (
            self.snapshot.network(sel["network"]) if self.snapshot and sel.get("network") else None
        )
        ctr = (
            self.snapshot.container(sel["container"])
            if self.snapshot and sel.get("container")
            else None
        )
        return (net.name if net else sel.get("network"), ctr.name if ctr else sel.get("container"))

    def action_packet(self) -> None:
        from tui.panes.packet import open_packet_screen  # the packet path (H6)

        open_packet_screen(self)

    def action_capture(self) -> None:
        from tui.panes.capture import open_capture_screen  # live capture (H6)

        open_capture_screen(self)

    def action_new_network(self) -> None:
        if self._refuse_read_only("creating a network"):
            return
        flows = self._flows()
        if flows is not None:
            flows.open("CreateNetworkScreen")

    def action_connect(self) -> None:
        if self._refuse_read_only("connecting a container"):
            return
        flows = self._flows()
        if flows is None:
            return
        net, ctr = self._names()
        if self.active_pane_id == "networks" and net:
            flows.open("ConnectScreen", network=net)  # a container onto this network
        elif ctr:
            flows.open("ConnectScreen", container=ctr)  # this container onto a network
        elif net:
            flows.open("ConnectScreen", network=net)
        else:
            self.notify(
                "select a network (pane 1) or a container (pane 3) first",
                title="connect",
                severity="warning",
                markup=False,
            )

    def action_disconnect(self) -> None:
        if self._refuse_read_only("disconnecting a container"):
            return
        net, ctr = self._names()
        if not net or not ctr:
            self.notify(
                "select a container on a network first (enter on a network, then a container row)",
                title="disconnect",
                severity="warning",
                markup=False,
            )
            return
        flows = self._flows()
        if flows is not None:
            flows.open("disconnect", network=net, container=ctr)

    def action_remove_network(self) -> None:
        if self._refuse_read_only("removing a network"):
            return
        net, _ = self._names()
        if not net:
            self.notify(
                "select a network first (pane 1)", title="remove", severity="warning", markup=False
            )
            return
        flows = self._flows()
        if flows is not None:
            flows.open("remove_network", network=net)

    def action_daemon_debug(self) -> None:
        if self._refuse_read_only("changing the daemon configuration"):
            return
        flows = self._flows()
        if flows is not None:
            flows.open("DaemonDebugScreen")

    def action_undo(self) -> None:
        if self._refuse_read_only("undo"):
            return
        flows = self._flows()
        if flows is not None:
            flows.undo_last()

    def action_path(self) -> None:
        try:
            from tui.doctor_views import PathScreen
        except ImportError:
            self.notify(
                "the path explainer (tui/doctor_views.py) is not installed",
                title="doctor",
                severity="warning",
                markup=False,
            )
            return
        _, ctr = self._names()
        self.push_screen(_construct(PathScreen, snapshot=self.snapshot, host=self.host, source=ctr))

    def on_findings_pane_jump_to(self, msg) -> None:
        """enter on a finding: select its object in its pane."""
        self.jump_to(msg.kind, msg.name)

    def jump_to(self, kind: str, name: str) -> bool:
        snap = self.snapshot
        if snap is None or not name:
            return False
        if kind == "network" and snap.network(name) is not None:
            self.action_pane("networks")
            pane = self.query_one(NetworksPane)
            pane.show_view("list")
            pane.set_filter("")
            return pane.query_one("#list", DataView).select_key(snap.network(name).id)
        if kind == "container" and snap.container(name) is not None:
            self.action_pane("endpoints")
            pane = self.query_one(EndpointsPane)
            pane.show_view("list")
            pane.set_filter("")
            return pane.query_one("#list", DataView).select_key(snap.container(name).id)
        if kind in ("bridge", "interface"):
            self.action_pane("bridges")
            pane = self.query_one(BridgesPane)
            pane.show_view("list")
            if snap.bridge(name) is not None:
                pane.set_filter("")
                return pane.query_one("#list", DataView).select_key(f"br:{name}")
            pane.set_filter(name)  # a port (veth) or another link: show what matches
            return True
        if kind == "port":
            self.action_pane("ports")
            self.query_one(PortsPane).set_filter(name.split("/")[0].rsplit(":", 1)[-1])
            return True
        if kind == "daemon":
            self.action_daemon_logs()
            return True
        self.notify(f"{kind} {name}: no pane shows it", title="jump", markup=False)
        return False

    def set_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name

    async def action_quit(self) -> None:
        self.shutdown_live()
        self.exit(0)

    def shutdown_live(self) -> None:
        if self.live is not None:
            self.live.close()
        logs = self._pane_widget("logs")
        if logs is not None and hasattr(logs, "close_streams"):
            try:
                logs.close_streams()
            except Exception:
                pass

    def on_unmount(self) -> None:
        self.shutdown_live()
        if self.model is not None:
            try:
                self.model.close()
            except Exception:
                pass


def run_app(host: str | None = None, read_only: bool = False, model=None) -> int:
    """Entry point of `dockscope` without a sub-command."""
    from inspectors.config import load_settings

    settings = load_settings()
    try:
        from actions import guard

        guard.init(settings, read_only)
    except ImportError:  # pragma: no cover
        pass
    app = DockscopeApp(host=host, read_only=read_only, model=model, settings=settings)
    headless = os.environ.get("DOCKSCOPE_HEADLESS", "") not in ("", "0")
    rc = app.run(headless=headless)
    result = getattr(app, "_bench_result", None)
    if result is not None:
        print(f"DOCKSCOPE_BENCH first_data={result[1]:.3f} phase={result[0]}", flush=True)
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_app())
