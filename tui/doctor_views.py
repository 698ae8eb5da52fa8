"""The path explainer screen: "why can't A reach B": pick A and B (inputs with
completion from the snapshot's containers), optional port and protocol;
``enter`` explains statically, ``p`` probes for real from inside A's namespace.
The hops are drawn as a vertical diagram with ✓ / ✗ / ! and the first failing
hop highlighted. ``esc`` closes. (Pane 7, the findings, is tui/panes/findings.py.)
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Select, Static

from inspectors.text import clean
from tui.fastkeys import FOCUS_BINDINGS
from tui.panes.findings import STATUS_MARK, VERDICT_STYLE

# --------------------------------------------------------------------------- path


def path_diagram(rep) -> Text:
    """The hops of a :class:`~inspectors.reach.PathReport` as a vertical diagram."""
    t = Text()
    t.append(clean(rep.src), style="bold")
    t.append("  →  ")
    t.append(clean(rep.dst), style="bold")
    if rep.port:
        t.append(f"   port {rep.port}/{rep.proto}")
    if rep.dst_ip:
        t.append(f"  ({clean(rep.dst_ip)})", style="dim")
    t.append("\n\n")
    for i, h in enumerate(rep.hops):
        mark, style = STATUS_MARK.get(h.status, ("?", ""))
        first = i == rep.first_failure_index
        t.append(f" {mark} ", style=style)
        t.append(clean(h.name), style=("bold reverse red" if first else "bold"))
        if first:
            t.append("  ← first failure", style="bold red")
        t.append("\n")
        for c in h.checks:
            cm, cs = STATUS_MARK.get(c.status, ("?", ""))
            t.append(" │   ")
            t.append(cm, style=cs)
            t.append(f" {clean(c.name)}: ", style="dim")
            t.append(clean(c.detail), style="red" if c.status == "fail" else "")
            t.append("\n")
        if i < len(rep.hops) - 1:
            t.append(" ▼\n", style="dim")
    t.append("\nverdict: ")
    t.append(rep.verdict, style=VERDICT_STYLE.get(rep.verdict, "bold"))
    if rep.first_failure:
        t.append("  first failing hop: ")
        t.append(clean(rep.first_failure), style="bold red")
    for n in rep.notes:
        t.append("\nnote: ", style="dim")
        t.append(clean(n), style="dim")
    return t


class PathScreen(Screen):
    """Why can't A reach B? (``esc`` closes)."""

    DEFAULT_CSS = """
    PathScreen { layout: vertical; }
    PathScreen #path-title { height: 1; padding: 0 1; background: $boost; }
    PathScreen #path-form { height: 3; }
    PathScreen #path-form Input { width: 1fr; }
    PathScreen #path-port { width: 12; }
    PathScreen #path-proto { width: 14; }
    PathScreen #path-view { height: 1fr; padding: 0 1; }
    PathScreen #path-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        *FOCUS_BINDINGS,  # a fast burst (web TAB db TAB 8080) lands field by field
        Binding(
            "ctrl+e",
            "explain",
            "Explain",
            priority=True,
            tooltip="evaluate the path from the snapshot (enter in a field does the same)",
        ),
        Binding(
            "p",
            "probe",
            "Probe for real",
            tooltip="TCP/UDP, DNS to 127.0.0.11 and ping from inside A's namespace",
        ),
        Binding("ctrl+t", "probe", "Probe", show=False, priority=True),
        Binding("ctrl+s", "swap", "Swap A/B", priority=True),
    ]

    class Explained(Message):
        """A path was explained (``report`` is an inspectors.reach.PathReport)."""

        def __init__(self, report) -> None:
            super().__init__()
            self.report = report

    def __init__(
        self,
        snapshot=None,
        host: str | None = None,
        source: str | None = None,
        destination: str | None = None,
        port: int | None = None,
        proto: str = "tcp",
        facts=None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.snapshot = snapshot
        self.host = host
        self.source = source
        self.destination = destination
        self.port = port
        self.proto = proto if proto in ("tcp", "udp") else "tcp"
        self.facts = facts
        self.report = None
        self.busy = False

    def _names(self) -> list[str]:
        snap = self.snapshot
        if snap is None:
            return []
        return sorted({clean(c.name) for c in snap.containers if c.name})

    def compose(self) -> ComposeResult:
        names = self._names()
        src_name = self.source
        if self.snapshot is not None and self.source:
            c = self.snapshot.container(self.source)
            src_name = c.name if c else self.source
        yield Static(
            Text("Why can't A reach B?  enter: explain   ctrl+t: probe for real   esc: close"),
            id="path-title",
        )
        with Horizontal(id="path-form"):
            yield Input(
                value=clean(src_name or ""),
                placeholder="A: source container",
                suggester=SuggestFromList(names, case_sensitive=False),
                id="path-src",
            )
            yield Input(
                value=clean(self.destination or ""),
                placeholder="B: container, host:PORT or IP[:PORT]",
                suggester=SuggestFromList(
                    names + ["host", "host.docker.internal"], case_sensitive=False
                ),
                id="path-dst",
            )
            yield Input(
                value=str(self.port or ""), placeholder="port", type="integer", id="path-port"
            )
            yield Select(
                [("tcp", "tcp"), ("udp", "udp")],
                value=self.proto,
                allow_blank=False,
                id="path-proto",
            )
        with VerticalScroll(id="path-view", can_focus=True):
            yield Static(Text("Pick A and B, then enter.", style="dim"), id="path-diagram")
        yield Static("", id="path-status")
        yield Footer()

    def on_mount(self) -> None:
        if self.snapshot is None:
            self._status("reading the engine…")
            self.run_worker(self._load, thread=True, exclusive=True, group="path")
        if not self.source:
            target = "#path-src"
        else:
            target = "#path-port" if self.destination else "#path-dst"
        self.query_one(target, Input).focus()

    def _load(self) -> None:
        from inspectors.snapshot import Model

        m = Model(self.host)
        try:
            snap = m.build()
        finally:
            m.close()
        self.app.call_from_thread(self._loaded, snap)

    def _loaded(self, snap) -> None:
        self.snapshot = snap
        names = self._names()
        self.query_one("#path-src", Input).suggester = SuggestFromList(names, case_sensitive=False)
        self.query_one("#path-dst", Input).suggester = SuggestFromList(
            names + ["host", "host.docker.internal"], case_sensitive=False
        )
        self._status(f"{len(names)} containers")

    def _status(self, msg: str, style: str = "") -> None:
        self.query_one("#path-status", Static).update(Text(clean(msg), style=style))

    # ------------------------------------------------------------------ actions
    def _form(self) -> tuple[str, str, int | None, str] | None:
        src = self.query_one("#path-src", Input).value.strip()
        dst = self.query_one("#path-dst", Input).value.strip()
        port_s = self.query_one("#path-port", Input).value.strip()
        proto = self.query_one("#path-proto", Select).value
        if not src or not dst:
            self._status("A and B are both needed", "bold red")
            self.query_one("#path-src" if not src else "#path-dst", Input).focus()
            return None
        port = None
        if port_s:
            try:
                port = int(port_s)
            except ValueError:
                self._status("the port must be a number", "bold red")
                return None
            if not 0 < port < 65536:
                self._status("the port must be 1-65535", "bold red")
                return None
        return src, dst, port, str(proto or "tcp")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_explain()

    def action_explain(self) -> None:
        self.run_path(False)

    def action_probe(self) -> None:
        self.run_path(True)

    def action_swap(self) -> None:
        a, b = self.query_one("#path-src", Input), self.query_one("#path-dst", Input)
        a.value, b.value = b.value, a.value

    def action_close(self) -> None:
        self.dismiss(self.report)

    def run_path(self, probe: bool) -> None:
        form = self._form()
        if form is None:
            return
        if self.snapshot is None:
            self._status("still reading the engine…", "yellow")
            return
        src, dst, port, proto = form
        self.busy = True
        self._status(("probing from inside " if probe else "explaining ") + src + " …", "italic")
        snap, facts = self.snapshot, self.facts
        self.run_worker(
            lambda: self._explain(snap, src, dst, port, proto, probe, facts),
            thread=True,
            exclusive=True,
            group="path",
            name="explain",
        )

    def _explain(self, snap, src, dst, port, proto, probe, facts) -> None:
        from inspectors.reach import explain_path

        try:
            rep = explain_path(snap, src, dst, port=port, proto=proto, probe=probe, facts=facts)
            err = None
        except Exception as e:  # noqa: BLE001 - shown in the status line
            rep, err = None, f"{type(e).__name__}: {e}"
        self.app.call_from_thread(self._show, rep, err)

    def _show(self, rep, err: str | None) -> None:
        self.busy = False
        if rep is None:
            self._status(f"failed: {err}", "bold red")
            return
        self.report = rep
        self.query_one("#path-diagram", Static).update(path_diagram(rep))
        self._status(
            f"{rep.verdict}" + (" (probed)" if rep.probed else " (static; ctrl+t: probe for real)"),
            VERDICT_STYLE.get(rep.verdict, ""),
        )
        self.post_message(self.Explained(rep))


def open_path(app, source=None, destination=None, port=None) -> None:
    """The path screen, A/B/port filled in (the palette's "why can't web reach db")."""
    app.push_screen(
        PathScreen(
            snapshot=app.snapshot,
            host=app.host,
            source=source,
            destination=destination,
            port=port,
        )
    )


__all__ = ["PathScreen", "open_path", "path_diagram"]
