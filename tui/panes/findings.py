"""Pane 7: the doctor's findings in a severity-sorted table (errors red,
warnings yellow, info dim), a detail panel with why / evidence / fix / check
for the highlighted finding. ``update_snapshot(snap)`` re-runs the doctor in a
thread worker. ``enter`` posts :class:`FindingsPane.JumpTo` ``(kind, name)``
for the finding's primary object; the app selects it in its pane.

Everything from containers or the engine is shown as plain
:class:`rich.text.Text` (never markup) through :func:`inspectors.text.clean`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from inspectors.doctor import SEVERITIES, SEVERITY_RANK, Finding
from inspectors.doctor.findings import FindingGroup, finding_key, group_findings, matches
from inspectors.mutes import MuteStore
from inspectors.text import clean
from tui.panes.common import copy_text, natural_key
from tui.panes import nodecol
from tui.panes.protocol import PaneProtocol

SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
STATUS_MARK = {
    "ok": ("✓", "green"),
    "fail": ("✗", "bold red"),
    "warn": ("!", "yellow"),
    "info": ("i", "cyan"),
    "skip": ("-", "dim"),
}
VERDICT_STYLE = {"reachable": "bold green", "unreachable": "bold red", "unknown": "bold yellow"}


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


class FindingsPane(Vertical, PaneProtocol):
    """The doctor's findings (pane 7)."""

    PANE_ID = "findings"
    TITLE = "Findings"
    HELP = (
        "The doctor's findings grouped by rule (worst first, then the biggest groups). "
        "enter opens a group, and on a finding selects its object in its pane; / filters by "
        "rule, object or message; m mutes and a acknowledges the rule (on a group) or the "
        "finding, kept in the config dir (mutes.json); h hides or shows what is muted."
    )

    DEFAULT_CSS = """
    FindingsPane { height: 1fr; }
    FindingsPane > #findings-title { height: 1; padding: 0 1; background: $boost; }
    FindingsPane > DataTable { height: 2fr; }
    FindingsPane > #findings-detail { height: 1fr; min-height: 6; border-top: solid $primary; padding: 0 1; }
    FindingsPane > #findings-filter { dock: bottom; display: none; }
    FindingsPane > #findings-filter.-open { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "jump",
            "Open / jump",
            tooltip="a group opens; a finding selects its object in its pane",
        ),
        Binding("slash", "filter", "Filter", id="findings.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="findings.clear"),
        Binding("s", "cycle_severity", "Severity filter", tooltip="all -> warnings+ -> errors"),
        Binding("m", "mark('muted')", "Mute", id="findings.mute"),
        Binding("a", "mark('acked')", "Acknowledge", id="findings.ack"),
        Binding("h", "toggle_muted", "Hide/show muted", id="findings.hide"),
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
        # one entry per table row: (group, finding or None for a group's own row)
        self.row_items: list[tuple[FindingGroup, Finding | None]] = []
        self.expanded: set[str] = set()
        self.filter_text = ""
        self.hide_muted = True
        self.mutes = MuteStore()
        self.snapshot = None
        self.min_severity = "info"
        self.facts_options = dict(facts_options or {})  # gather_facts(**options)
        self.running = False
        self._pending = False
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("doctor: waiting for a snapshot", style="dim"), id="findings-title")
        t = DataTable(id="findings-table", cursor_type="row", zebra_stripes=True)
        if nodecol.active(self):  # several engines: NODE first (tui/panes/nodecol.py)
            t.add_column(nodecol.COLUMN[1], key="node", width=nodecol.COLUMN[2])
        t.add_column("severity", key="severity", width=8)
        t.add_column("rule", key="rule", width=24)
        t.add_column("objects", key="objects", width=28)
        t.add_column("message", key="message")
        yield t
        with VerticalScroll(id="findings-detail"):
            yield Static("", id="findings-detail-text")
        yield Input(
            placeholder="filter: rule, object or message  enter: keep  esc: clear",
            id="findings-filter",
        )

    # ------------------------------------------------------------------ data
    def update_snapshot(self, snap) -> None:
        """Re-run the doctor on ``snap`` in a thread worker. While a run is going on,
        newer snapshots are coalesced: one more run on the latest when it ends."""
        self.snapshot = snap
        if self.partial:  # a first-paint snapshot (no kernel, no inspects): wait for the full one
            return
        if self.running:
            self._pending = True
            return
        self.start_doctor(snap)

    def start_doctor(self, snap) -> None:
        self.running = True
        self._pending = False
        self._title()
        self.run_worker(lambda: self._doctor(snap), thread=True, group="doctor", name="doctor")

    def _doctor(self, snap) -> None:
        from inspectors.doctor import run_doctor
        from inspectors.hostfacts import gather_facts

        try:
            opts = dict(self.facts_options)
            # the model's own inspects (the containers' env, command, links): no engine
            # call per container (1,000 inspects on the first run at 1,000 containers)
            own = getattr(getattr(self.app, "model", None), "container_inspects", None)
            if own is not None and "inspects" not in opts and opts.get("container_refs", True):
                opts["inspects"] = own()
            facts = gather_facts(snap, **opts)
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
            self.start_doctor(self.snapshot)

    def set_findings(self, findings: list[Finding], error: str | None = None) -> None:
        """Show ``findings`` (also usable directly, without running the doctor)."""
        self.findings = list(findings)
        self.error = error
        self.running = False
        self._fill()
        self.post_message(self.Updated(self.findings))

    def _visible(self, f: Finding) -> bool:
        if SEVERITY_RANK.get(f.severity, 9) > SEVERITY_RANK[self.min_severity]:
            return False
        if self.hide_muted and self.mutes.finding_state(f) == "muted":
            return False
        needle = self.filter_text.lower().strip()
        if needle and not (
            matches(f, rule=needle) or matches(f, obj=needle) or needle in clean(f.message).lower()
        ):
            return False
        return True

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        keep = self.current()
        keep_key = (keep.rule, tuple(keep.objects), keep.message) if keep else None
        self.shown = [f for f in self.findings if self._visible(f)]
        groups = group_findings(self.shown, self.mutes)
        table.clear()
        self.row_items = []
        row = 0
        for g in groups:
            single = g.count == 1
            if not single:
                style = SEV_STYLE.get(g.severity, "")
                mark = "▾ " if g.rule in self.expanded else "▸ "
                table.add_row(
                    *nodecol.finding_cells(self, None),
                    Text(g.severity, style=style),
                    Text(mark + g.rule + f" ×{g.count}", style="bold"),
                    plain(f"{g.count} objects"),
                    plain(self._state_tag(g.state) + g.title, style="dim" if g.state else ""),
                    key=f"g{len(self.row_items)}",
                )
                self.row_items.append((g, None))
                if g.rule not in self.expanded:
                    continue
            alike = sorted(
                g.findings,
                key=lambda f: (SEVERITY_RANK.get(f.severity, 9), natural_key(",".join(f.objects))),
            )
            for f in alike:
                state = self.mutes.finding_state(f)
                style = SEV_STYLE.get(f.severity, "")
                table.add_row(
                    *nodecol.finding_cells(self, f),
                    Text(f.severity, style=style),
                    plain(f.rule if single else "  " + f.rule),
                    plain(", ".join(f.objects)),
                    plain(
                        self._state_tag(state) + f.message,
                        "dim" if state else (style if f.severity == "error" else ""),
                    ),
                    key=f"f{len(self.row_items)}",
                )
                if keep_key == (f.rule, tuple(f.objects), f.message):
                    row = len(self.row_items)
                self.row_items.append((g, f))
        if self.row_items:
            table.move_cursor(row=row)
        self._title()
        self._detail()

    @staticmethod
    def _state_tag(state: str | None) -> str:
        return f"[{state}] " if state else ""

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

    def current_item(self) -> tuple[FindingGroup, Finding | None] | None:
        try:
            table = self.query_one(DataTable)
        except Exception:
            return None
        r = table.cursor_row
        return self.row_items[r] if 0 <= r < len(self.row_items) else None

    def current(self) -> Finding | None:
        """The finding under the cursor (a group's row: its first finding)."""
        item = self.current_item()
        if item is None:
            return None
        g, f = item
        return f if f is not None else (g.findings[0] if g.findings else None)

    def focus_main(self) -> None:
        self.query_one(DataTable).focus()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._fill()

    def set_stale(self, stale: bool) -> None:
        self.stale = stale
        self.set_class(stale, "-stale")

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
        item = self.current_item()
        if item is not None and item[1] is None:  # a group: open or close it
            rule = item[0].rule
            self.expanded.symmetric_difference_update({rule})
            self._fill()
            return
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
        copy_text(self.app, f.check)

    def action_filter(self) -> None:
        box = self.query_one("#findings-filter", Input)
        box.value = self.filter_text
        box.add_class("-open")
        box.focus()

    @on(Input.Changed, "#findings-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    @on(Input.Submitted, "#findings-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#findings-filter", Input).remove_class("-open")
        self.focus_main()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":  # esc goes on to the app unless a filter is there
            return bool(self.filter_text) or self.query_one("#findings-filter").has_class("-open")
        return True

    def action_clear_filter(self) -> None:
        self.query_one("#findings-filter", Input).remove_class("-open")
        self.set_filter("")
        self.focus_main()

    def action_mark(self, state: str) -> None:
        """Mute or acknowledge the rule (group row) or the finding; again clears it."""
        item = self.current_item()
        if item is None:
            return
        g, f = item
        key = g.rule if f is None else finding_key(f)
        now = self.mutes.rule_state(g.rule) if f is None else self.mutes.findings.get(key)
        if isinstance(now, dict):
            now = now.get("state")
        self.mutes.set(key, None if now == state else state)
        try:
            self.mutes.save()  # dockscope's own config dir: allowed in read-only mode too
        except OSError as e:
            self.notify(f"cannot save {self.mutes.path}: {e}", severity="error", markup=False)
        self.notify(
            f"{key}: {'cleared' if now == state else state}", title="findings", markup=False
        )
        self._fill()

    def action_toggle_muted(self) -> None:
        self.hide_muted = not self.hide_muted
        self.notify("muted findings " + ("hidden" if self.hide_muted else "shown"), markup=False)
        self._fill()
