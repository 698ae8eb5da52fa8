"""The doctor in the console: :class:`FindingsPane` (pane 7) and :class:`PathScreen`.

* ``FindingsPane``: the doctor's findings in a severity-sorted table (errors red,
  warnings yellow, info dim), a detail panel with why / evidence / fix / check
  for the highlighted finding. ``update_snapshot(snap)`` re-runs the doctor in a
  thread worker. ``enter`` posts :class:`FindingsPane.JumpTo` ``(kind, name)`` for
  the finding's primary object; the app selects it in its pane.
* ``PathScreen``: "why can't A reach B": pick A and B (inputs with completion
  from the snapshot's containers), optional port and protocol; ``enter``
  explains statically, ``p`` probes for real from inside A's namespace. The
  hops are drawn as a vertical diagram with ✓ / ✗ / ! and the first failing hop
  highlighted. ``esc`` closes.

Everything that comes from containers or the engine is shown as plain
:class:`rich.text.Text` (never markup), stripped of escape sequences.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Input, Select, Static

from inspectors.doctor import SEVERITIES, SEVERITY_RANK, Finding

SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
STATUS_MARK = {
    "ok": ("✓", "green"),
    "fail": ("✗", "bold red"),
    "warn": ("!", "yellow"),
    "info": ("i", "cyan"),
    "skip": ("-", "dim"),
}
VERDICT_STYLE = {"reachable": "bold green", "unreachable": "bold red", "unknown": "bold yellow"}

_ESC = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|\x9b[0-?]*[ -/]*[@-~]"
)
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(value: Any) -> str:
    """Safe to show: no escape sequences or control characters, one line."""
    if value is None:
        return ""
    s = _ESC.sub("", str(value))
    s = re.sub(r"[\t\r\n]+", " ", s)
    return _CTRL.sub("", s)


def plain(value: Any, style: str = "") -> Text:
    return Text(clean(value), style=style)


# --------------------------------------------------------------------------- findings


def finding_detail(f: Finding) -> Text:
    """The detail panel of one finding, as plain Text."""
    t = Text()
    t.append(f"{f.severity.upper()} ", style=SEV_STYLE.get(f.severity, ""))
    t.append(clean(f.message), style="bold")
    t.append("\n")
    t.append(f"rule {f.rule}" + (f" ({f.ref})" if f.ref else ""), style="dim")
    if f.objects:
        t.append("   objects: ", style="dim")
        t.append(clean(", ".join(f.objects)))
    t.append("\n")
    for label, value in (("why", f.why), ("fix", f.fix), ("check", f.check)):
        if not value:
            continue
        t.append(f"\n{label:6}", style="bold cyan")
        t.append(clean(value))
        if label == "why":
            for ev in f.evidence:
                t.append("\nseen  ", style="bold cyan")
                t.append(clean(ev), style="italic")
    return t


class FindingsPane(Vertical):
    """The doctor's findings (pane 7)."""

    DEFAULT_CSS = """
    FindingsPane { height: 1fr; }
    FindingsPane > #findings-title { height: 1; padding: 0 1; background: $boost; }
    FindingsPane > DataTable { height: 2fr; }
    FindingsPane > #findings-detail { height: 1fr; min-height: 6; border-top: solid $primary; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "jump", "Jump to object", tooltip="select the finding's object in its pane"
        ),
        Binding("s", "cycle_severity", "Severity filter", tooltip="all -> warnings+ -> errors"),
        Binding("y", "copy_check", "Copy check", tooltip="copy the command that verifies it"),
    ]

    class JumpTo(Message):
        """Select ``name`` (a container, network, bridge, interface, port...) in its pane."""

        def __init__(self, kind: str, name: str, finding: Finding | None = None) -> None:
            super().__init__()
            self.kind = kind
            self.name = name
            self.finding = finding

    class Updated(Message):
        """The doctor ran: ``findings`` is the new list (all severities)."""

        def __init__(self, findings: list[Finding]) -> None:
            super().__init__()
            self.findings = findings

    def __init__(self, *, facts_options: dict | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.findings: list[Finding] = []
        self.shown: list[Finding] = []
        self.snapshot = None
        self.min_severity = "info"
        self.facts_options = dict(facts_options or {})  # gather_facts(**options)
        self.running = False
        self._pending = False
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("doctor: waiting for a snapshot", style="dim"), id="findings-title")
        t = DataTable(id="findings-table", cursor_type="row", zebra_stripes=True)
        t.add_column("severity", key="severity", width=8)
        t.add_column("rule", key="rule", width=24)
        t.add_column("objects", key="objects", width=28)
        t.add_column("message", key="message")
        yield t
        with VerticalScroll(id="findings-detail"):
            yield Static("", id="findings-detail-text")

    # ------------------------------------------------------------------ data
    def update_snapshot(self, snap) -> None:
        """Re-run the doctor on ``snap`` in a thread worker. While a run is going on,
        newer snapshots are coalesced: one more run on the latest when it ends."""
        self.snapshot = snap
        if self.running:
            self._pending = True
            return
        self._start(snap)

    def _start(self, snap) -> None:
        self.running = True
        self._pending = False
        self._title()
        self.run_worker(lambda: self._doctor(snap), thread=True, group="doctor", name="doctor")

    def _doctor(self, snap) -> None:
        from inspectors.doctor import run_doctor
        from inspectors.hostfacts import gather_facts

        try:
            facts = gather_facts(snap, **self.facts_options)
            findings = run_doctor(snap, facts)
            err = None
        except Exception as e:  # noqa: BLE001 - shown in the title line
            findings, err = [], f"{type(e).__name__}: {e}"
        try:
            self.app.call_from_thread(self._done, findings, err)
        except RuntimeError:  # the app is gone
            pass

    def _done(self, findings: list[Finding], error: str | None) -> None:
        self.set_findings(findings, error)
        if self._pending and self.snapshot is not None:
            self._start(self.snapshot)

    def set_findings(self, findings: list[Finding], error: str | None = None) -> None:
        """Show ``findings`` (also usable directly, without running the doctor)."""
        self.findings = list(findings)
        self.error = error
        self.running = False
        self._fill()
        self.post_message(self.Updated(self.findings))

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        keep = self.current()
        keep_key = (keep.rule, tuple(keep.objects), keep.message) if keep else None
        limit = SEVERITY_RANK[self.min_severity]
        self.shown = [f for f in self.findings if SEVERITY_RANK.get(f.severity, 9) <= limit]
        table.clear()
        row = 0
        for i, f in enumerate(self.shown):
            style = SEV_STYLE.get(f.severity, "")
            table.add_row(
                Text(f.severity, style=style),
                plain(f.rule),
                plain(", ".join(f.objects)),
                plain(f.message, style if f.severity == "error" else ""),
                key=str(i),
            )
            if keep_key == (f.rule, tuple(f.objects), f.message):
                row = i
        if self.shown:
            table.move_cursor(row=row)
        self._title()
        self._detail()

    def _title(self) -> None:
        try:
            title = self.query_one("#findings-title", Static)
        except Exception:
            return
        t = Text()
        counts = {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}
        t.append("Findings  ")
        for s in SEVERITIES:
            t.append(
                f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}",
                style=SEV_STYLE[s] if counts[s] else "dim",
            )
            t.append("  ")
        if self.min_severity != "info":
            t.append(f"[showing {self.min_severity}+]", style="italic")
        if self.running:
            t.append("  checking…", style="italic dim")
        if self.error:
            t.append("  doctor failed: ", style="bold red")
            t.append(clean(self.error))
        title.update(t)

    def current(self) -> Finding | None:
        if not self.shown:
            return None
        try:
            table = self.query_one(DataTable)
        except Exception:
            return None
        r = table.cursor_row
        return self.shown[r] if 0 <= r < len(self.shown) else None

    def selection(self) -> dict[str, str]:
        """What the app's actions (path, logs) take as the current selection."""
        f = self.current()
        if f is None or not f.objects:
            return {}
        out = {}
        snap = self.snapshot
        for o in f.objects:
            if snap is not None and snap.container(o) is not None and "container" not in out:
                out["container"] = o
            elif snap is not None and snap.network(o) is not None and "network" not in out:
                out["network"] = o
        return out

    def _detail(self) -> None:
        f = self.current()
        w = self.query_one("#findings-detail-text", Static)
        if f is None:
            msg = "no findings" if not self.running else "checking…"
            if self.findings and not self.shown:
                msg = f"no {self.min_severity}-level findings (s: change the filter)"
            w.update(Text(msg, style="dim"))
        else:
            w.update(finding_detail(f))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._detail()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump()

    # ------------------------------------------------------------------ actions
    def action_jump(self) -> None:
        f = self.current()
        if f is None or not f.objects:
            return
        kind, name = f.target
        self.post_message(self.JumpTo(kind, name, f))

    def action_cycle_severity(self) -> None:
        order = ["info", "warning", "error"]
        self.min_severity = order[(order.index(self.min_severity) + 1) % len(order)]
        self._fill()

    def action_copy_check(self) -> None:
        f = self.current()
        if f is None or not f.check:
            return
        self.app.copy_to_clipboard(f.check)
        self.app.notify(clean(f.check), title="copied", markup=False)


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
        target = "#path-dst" if self.source else "#path-src"
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
        self._run(False)

    def action_probe(self) -> None:
        self._run(True)

    def action_swap(self) -> None:
        a, b = self.query_one("#path-src", Input), self.query_one("#path-dst", Input)
        a.value, b.value = b.value, a.value

    def action_close(self) -> None:
        self.dismiss(self.report)

    def _run(self, probe: bool) -> None:
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


__all__ = ["FindingsPane", "PathScreen", "finding_detail", "path_diagram", "clean"]
