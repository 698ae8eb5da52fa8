"""The dockscope console: one Textual app, seven panes, live from docker events
and netlink.

Data flow: :class:`tui.live.Live` runs in thread workers (first paint, events,
netlink) and posts :class:`~tui.live.LiveUpdate` messages carrying a private
copy of the snapshot; :meth:`DockscopeApp.on_live_update` hands it to the
visible pane (the others are marked dirty and update when shown). Panes update
their tables by diff, so the cursor and scroll position survive updates.

Panes are modules under ``tui/panes/``; the app talks to them only through
:class:`tui.panes.protocol.PaneProtocol`. Tests inject a
:class:`~inspectors.snapshot.Model`, or subclass the app (``make_model``,
``make_pane``) to show a fixed snapshot.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from actions import guard
from inspectors.model import Snapshot
from inspectors.text import clean
from tui import header
from tui.app_actions import ActionKeys
from tui.app_nav import Navigation
from tui.live import EngineBack, EngineLost, Live, LiveError, LiveUpdate
from tui.panes.networks import NetworksPane
from tui.panes.protocol import PaneProtocol
from tui.settings import load_ui, save_ui

if TYPE_CHECKING:
    from tui.forms import ActionFlows
    from tui.panes.events import EventsPane
    from tui.panes.findings import FindingsPane
    from tui.panes.logs import LogPane

DEFAULT_THEME = "textual-dark"
STATS_EVERY = 2  # seconds between counter reads while the Bridges pane is shown
LISTENERS_EVERY = 5  # seconds between socket scans while the Ports pane is shown


def _commands():
    """The palette's provider, imported when the palette first opens (not before
    the first frame)."""
    from tui.commands import DockscopeCommands

    return DockscopeCommands


class DockscopeApp(ActionKeys, Navigation, App[int]):
    """Keyboard-driven console for Docker networking on this host."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # also for subclasses elsewhere
    TITLE = "dockscope"
    COMMANDS = App.COMMANDS | {_commands}

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
        Binding("M", "map", "Map", show=False, id="app.map", tooltip="topology map"),
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
        settings=None,
        theme: str | None = None,
        started_at: float | None = None,
        first_read=None,
    ) -> None:
        super().__init__()
        # tui.prefetch.FirstRead: the engine read started before Textual was imported
        self.first_read = first_read
        if first_read is not None and model is None:
            model = first_read.model
        if settings is None:
            from inspectors.config import load_settings

            settings = load_settings()
        self.settings = settings
        # read-only is enforced by the actions layer; the console only says why
        self.read_only = guard.init(settings, read_only)
        self.host = host
        self.model = model if model is not None else self.make_model()
        if self.host is None and self.model is not None:
            self.host = getattr(self.model, "host", None)  # logs, forms use the same engine
        self.started_at = started_at or time.time()
        self.snapshot: Snapshot | None = None
        self.live: Live | None = None
        self.engine_lost: EngineLost | None = None
        self.stale_since: float | None = None  # time the shown state stopped being current
        self.last_event_at: float | None = None
        self.engine_seen_at: float | None = None  # taken_at of the last snapshot with an engine
        self.painted: dict[str, float] = {}  # reason -> monotonic time first painted
        self.ticks = 0
        self.errors_shown: set[str] = set()
        self.theme_name = (
            theme or load_ui().get("theme") or getattr(settings, "theme", None) or DEFAULT_THEME
        )
        self.flows: ActionFlows | None = None
        self.all_mounted = False
        self.mount_scheduled = False
        self.live_started = False
        self.quitting = False
        self.early_events: list[dict] = []
        # the shown snapshot is a first-paint one: "networks" (the networks list
        # only), "lists" (the list calls, no inspects yet) or "" (a full build)
        self.partial = ""
        self.early_updates: list[LiveUpdate] = []  # arrived before the screen was composed
        self.ui_ready = False  # on_mount ran: the panes can take snapshots

    # ------------------------------------------------------------------ layout
    def make_model(self):
        """The live model of the engine (tests override this)."""
        from inspectors.snapshot import Model

        return Model(self.host)

    def make_pane(self, pane_id: str) -> Widget:
        """The pane widget for ``pane_id`` (every one implements PaneProtocol)."""
        # only pane 1 is imported before the first frame: the others (and the
        # doctor, logs and forms behind them) load right after it
        if pane_id == "networks":
            return NetworksPane(id="networks")
        if pane_id == "bridges":
            from tui.panes.bridges import BridgesPane

            return BridgesPane(id="bridges")
        if pane_id == "endpoints":
            from tui.panes.endpoints import EndpointsPane

            return EndpointsPane(id="endpoints")
        if pane_id == "ports":
            from tui.panes.ports import PortsPane

            return PortsPane(id="ports")
        if pane_id == "logs":
            from tui.panes.logs import LogPane

            return LogPane(self.settings, host=self.host, id="logs")
        if pane_id == "events":
            from tui.panes.events import EventsPane

            return EventsPane(id="events")
        from tui.panes.findings import FindingsPane

        return FindingsPane(id="findings")

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="banner")
        # live: only pane 1 is built before the first frame; the others are
        # mounted right after it (first data sooner, ~0.1 s on a slow host)
        eager = self.model is None
        with TabbedContent(id="tabs", initial="tab-networks"):
            for num, (pane_id, title) in enumerate(self.PANES, start=1):
                with TabPane(f"{num} {title}", id=f"tab-{pane_id}"):
                    if eager or pane_id == "networks":
                        yield self.make_pane(pane_id)
        yield Footer()

    def _first_painted(self) -> None:
        import gc

        if not gc.isenabled():  # off since tui/prefetch.py; the start-up heap frozen
            gc.freeze()  # until _settle_heap (collected now: ~70 ms before the next frame)
            gc.enable()
        if self.live is None or self.live_started:
            return
        self.live_started = True
        self.live.first_paint.set()
        if not self.live.stop.is_set():
            self._events_worker()
            if getattr(self.model, "with_kernel", True):
                self._netlink_worker()

    def _schedule_mount_rest(self) -> None:
        if not self.all_mounted and not self.mount_scheduled:
            self.mount_scheduled = True
            self.call_after_refresh(self._mount_rest)

    async def _mount_rest(self) -> None:
        for pane_id, _ in self.PANES:
            if self._tearing_down():
                return
            tab = self.query_one(f"#tab-{pane_id}", TabPane)
            if not tab.children and tab.is_attached:
                await tab.mount(self.make_pane(pane_id))
        self.all_mounted = True
        if self.early_events:
            self._add_events(self.early_events)
            self.early_events = []
        if self.stale_since is not None:
            for pane in self.panes():
                pane.set_stale(True)
        self._catch_up()
        if self.focused is None:  # never take the focus from what the user opened meanwhile
            self._focus_active()

    def _events_pane(self) -> EventsPane | None:
        w = self.pane("events")
        return w if w is not None and w.PANE_ID == "events" else None  # type: ignore[return-value]

    def _add_events(self, events: list[dict]) -> None:
        pane = self._events_pane()
        if pane is None:
            self.early_events.extend(events)
            return
        pane.add_events(events)
        self.last_event_at = pane.last_event_at

    def _add_local_event(self, action: str, message: str) -> None:
        pane = self._events_pane()
        if pane is None:
            now = time.time()
            self.early_events.append(
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
        if self.model is not None:
            self.live = Live(self.model, self.post_message, host=self.host,
                             started_at=self.started_at, first_read=self.first_read)  # fmt: skip
            self.first_read = None
            self._apply_worker()

    def _screen_changed(self, screen) -> None:
        """A dialog (forms, confirm, pickers) shows its own keys in a footer of its own."""
        if isinstance(screen, ModalScreen) and not screen.query(Footer):
            screen.mount(Footer())

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if self.theme_name in self.available_themes:
            self.theme = self.theme_name
        self.query_one("#banner", Static).display = False
        self._render_status()
        self.call_after_refresh(self._focus_active)
        if all(self.query_one(f"#tab-{p}", TabPane).children for p, _ in self.PANES):
            self.all_mounted = True
        else:  # after the first frame with data (or 1 s, whichever comes first)
            self.set_timer(1.0, self._schedule_mount_rest)
        if getattr(self.settings, "error", None):
            self.notify(
                clean(self.settings.error), title="settings", severity="warning", markup=False
            )
        self.ui_ready = True
        early, self.early_updates = self.early_updates, []
        for msg in early:  # the first read won the race with the screen
            self.on_live_update(msg)
        if self.live is None:
            return
        self.set_interval(1.0, self._tick)
        # the event and netlink subscriptions start once the first frame is
        # painted (their imports compete for the GIL); `since` replays
        # whatever happened meanwhile
        self.set_timer(1.5, self._first_painted)

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
        self.ticks += 1
        if self.live is not None:
            self.live.trim_if_due()  # the C heap's free pages, after updates
        if self.live is None or len(self.screen_stack) > 1:
            return
        active = self.active_pane_id
        if active == "bridges" and self.ticks % STATS_EVERY == 0:
            self.live.request("stats")
        elif active == "ports" and self.ticks % LISTENERS_EVERY == 0:
            self.live.request("listeners")
        if self.stale_since is not None:
            self._render_banner()
            self._render_status()  # the age of the stale state

    # ------------------------------------------------------------------ live messages
    def _tearing_down(self) -> bool:
        """Messages from the live loops can arrive while the app tears down."""
        if self.quitting or (self.live is not None and self.live.stop.is_set()):
            return True
        try:
            return not self.query("#tabs")
        except Exception:  # no screen any more
            return True

    @on(LiveUpdate)
    def on_live_update(self, msg: LiveUpdate) -> None:
        if not self.ui_ready and not self.quitting:
            self.early_updates.append(msg)  # before on_mount: shown from there
            return
        if self._tearing_down():
            return
        snap = msg.snapshot
        if snap is not None:
            first = {"quick": "networks", "list": "lists"}.get(msg.reason)
            if (
                first
                and self.snapshot is not None
                and (not self.partial or (first == "networks" and self.partial == "lists"))
            ):
                pass  # a fuller snapshot already arrived: never go back to a first-paint one
            elif (
                not snap.engine.reachable
                and self.snapshot is not None
                and self.snapshot.engine.reachable
            ):
                # a failed rebuild: keep the last good state, marked stale with its age
                self.mark_stale(True)
                self._render_banner()
            else:
                self.partial = first or ""
                try:
                    self.apply_snapshot(snap, kernel=msg.kernel)
                except NoMatches:  # the screen is being torn down
                    return
        if msg.events:
            self._add_events(msg.events)
            self._render_status()
        if msg.reason not in self.painted:
            self.painted[msg.reason] = time.monotonic()
            if msg.reason == "build":
                self.call_after_refresh(self._settle_heap)
        if snap is not None:
            self.call_after_refresh(self._first_painted)
            self._schedule_mount_rest()

    def _settle_heap(self) -> None:
        """Once the full snapshot is on screen, every pane mounted: what is alive
        then leaves the cyclic collector's scans (``gc.freeze``): under a log firehose
        a full collection's CPU 32 -> 5 ms at most, key p95 67 -> 50 ms (bench/logs)."""
        if not self.all_mounted:
            self.set_timer(0.5, self._settle_heap)
            return
        import gc

        # the first build's cyclic garbage (pyroute2) would stay live frozen: collect
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def mark_stale(self, stale: bool) -> None:
        """The panes show the last state (engine gone, rebuild failed), or are current again."""
        if stale == (self.stale_since is not None):
            return
        self.stale_since = (self.engine_seen_at or time.time()) if stale else None
        self.query_one("#tabs").set_class(stale, "-stale")
        for pane in self.panes():
            pane.set_stale(stale)
        self._render_status()

    @on(EngineLost)
    def on_engine_lost(self, msg: EngineLost) -> None:
        if self._tearing_down():
            return
        first = self.engine_lost is None
        self.engine_lost = msg
        if first:
            self._add_local_event("engine lost", msg.error)
        self.mark_stale(True)
        self._render_banner()
        self._render_status()

    @on(EngineBack)
    def on_engine_back(self, msg: EngineBack) -> None:
        if self._tearing_down():
            return
        self.engine_lost = None
        self._add_local_event("engine back", f"after {msg.after:.1f}s")
        self.mark_stale(False)
        if self.live is not None:
            self.live.request("rebuild")  # recover by itself: no second `r` needed
        self.notify(
            f"engine is back after {msg.after:.1f}s; rebuilding", title="engine", markup=False
        )
        self._render_banner()
        self._render_status()

    @on(LiveError)
    def on_live_error(self, msg: LiveError) -> None:
        key = f"{msg.where}:{msg.error}"
        if key in self.errors_shown:
            return
        self.errors_shown.add(key)
        self.notify(clean(msg.error), title=msg.where, severity="warning", markup=False)

    # ------------------------------------------------------------------ snapshot
    def apply_snapshot(self, snap: Snapshot, kernel: bool = True) -> None:
        self.snapshot = snap
        if snap.engine.reachable:
            self.engine_seen_at = snap.taken_at or time.time()
            if self.engine_lost is None:
                self.mark_stale(False)
        active = self.active_pane_id
        with self.batch_update():
            bridges = self.pane("bridges")
            if kernel and bridges is not None:
                bridges.feed_rates(snap)  # type: ignore[attr-defined]
            events = self._events_pane()
            if events is not None:
                events.names = {c.id: c.name for c in snap.containers}
            for pane in self.panes():
                pane.partial = self.partial
                if pane.PANE_ID == active:
                    pane.update_snapshot(snap)
                    pane.dirty = False
                else:
                    pane.dirty = True
        self._render_status()
        self._render_banner()

    def panes(self) -> list[PaneProtocol]:
        """The panes mounted so far, in pane order."""
        out = []
        for pane_id, _ in self.PANES:
            p = self.pane(pane_id)
            if p is not None:
                out.append(p)
        return out

    def pane(self, pane_id: str) -> PaneProtocol | None:
        try:
            tab = self.query_one(f"#tab-{pane_id}", TabPane)
        except Exception:
            return None
        for kid in tab.children:
            if isinstance(kid, PaneProtocol):
                return kid
        return None

    @property
    def active_pane_id(self) -> str:
        try:
            active = self.query_one("#tabs", TabbedContent).active
        except Exception:
            return "networks"
        return (active or "tab-networks").removeprefix("tab-")

    def active_pane(self) -> PaneProtocol | None:
        return self.pane(self.active_pane_id)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._catch_up()
        self.call_after_refresh(self._focus_active)

    def _catch_up(self) -> None:
        """The shown pane gets the snapshots it missed while hidden."""
        w = self.active_pane()
        if w is not None and self.snapshot is not None and w.dirty:
            w.update_snapshot(self.snapshot)
            w.dirty = False

    def _focus_active(self) -> None:
        w = self.active_pane()
        if w is not None:
            w.focus_main()

    # ------------------------------------------------------------------ status / banner
    def status_text(self, width: int | None = None) -> Text:
        """The one-line header: engine, version, debug, counts, last event, badges."""
        return header.status_text(self, width or self.size.width or 120)

    def _render_status(self) -> None:
        self.query_one("#status", Static).update(self.status_text())

    def on_resize(self, event) -> None:
        # the header is laid out for the new width (it was cut for the old one)
        self.query_one("#status", Static).update(self.status_text(event.size.width))

    def banner_lines(self, all: bool = False) -> list[tuple[str, str]]:
        """(severity, text) lines of the banner (``all``: every note, for ``?``)."""
        return header.banner_lines(self, all)

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
        return dict(w.selection()) if w is not None else {}

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
        return True  # read-only: the action runs and says why it does nothing

    def action_pane(self, pane_id: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != f"tab-{pane_id}":
            tabs.active = f"tab-{pane_id}"
        self._catch_up()  # now, so the next key already acts on the new pane's rows
        self._focus_active()

    def action_help(self) -> None:
        from tui.help import HelpScreen, collect_bindings

        scr = self.screen
        if scr is not self.screen_stack[0]:  # a pushed screen (packet path, ...): its own keys
            title = getattr(scr, "HELP_TITLE", "") or type(scr).__name__
            doc = (scr.__doc__ or "").strip()
            self.push_screen(
                HelpScreen(
                    collect_bindings(self),
                    title=f"Keys: {title}",
                    pane_help=getattr(scr, "HELP", "") or doc,
                )
            )
            return
        w = self.active_pane()
        title = dict(self.PANES).get(self.active_pane_id, "")
        pane_help = w.HELP if w is not None else ""
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
        w = self.pane("ports")
        if w is not None:
            w.action_toggle_all()  # type: ignore[attr-defined]

    def _logs(self) -> LogPane | None:
        return self.pane("logs")  # type: ignore[return-value]

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
        logs = self._logs()
        if logs is not None:
            self.action_pane("logs")
            logs.open_container([c.name])

    def action_daemon_logs(self) -> None:
        logs = self._logs()
        if logs is not None:
            self.action_pane("logs")
            logs.open_daemon()

    def action_packet(self) -> None:
        from tui.panes.packet import open_packet_screen  # the packet path (H6)

        open_packet_screen(self)

    def action_map(self) -> None:
        from tui.panes.map import open_map_screen  # the topology map (H7)

        open_map_screen(self)

    def action_capture(self) -> None:
        from tui.panes.capture import open_capture_screen  # live capture (H6)

        open_capture_screen(self)

    def action_path(self) -> None:
        from tui.doctor_views import PathScreen

        _, ctr = self.selected_names()
        self.push_screen(PathScreen(snapshot=self.snapshot, host=self.host, source=ctr))

    def on_findings_pane_updated(self, msg: FindingsPane.Updated) -> None:
        # the Ports pane judges published ports by the doctor's own findings
        from tui.panes.ports import PORT_RULES

        w = self.pane("ports")
        if w is not None:
            w.set_findings([f for f in msg.findings if f.rule in PORT_RULES])  # type: ignore[attr-defined]

    def set_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
            save_ui(theme=name)

    async def action_quit(self) -> None:
        self.shutdown_live()
        self.exit(0)

    def shutdown_live(self) -> None:
        self.quitting = True
        if self.live is not None:
            self.live.close()
        for pane in self.panes():
            try:
                pane.shutdown()
            except Exception:
                pass

    def on_unmount(self) -> None:
        self.shutdown_live()
        if self.model is not None:
            try:
                self.model.close()
            except Exception:
                pass


def run_app(
    host: str | None = None,
    read_only: bool = False,
    model=None,
    first_read=None,
    app_class: type[DockscopeApp] | None = None,
) -> int:
    """Entry point of `dockscope` without a sub-command (``first_read``: the engine
    read tui/cli.py started before importing Textual; ``app_class``: bench/ probes)."""
    from inspectors.config import load_settings

    app = (app_class or DockscopeApp)(
        host=host, read_only=read_only, model=model, settings=load_settings(), first_read=first_read
    )
    headless = os.environ.get("DOCKSCOPE_HEADLESS", "") not in ("", "0")
    return int(app.run(headless=headless) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_app())
