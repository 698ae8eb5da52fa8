"""The console showing a fixed snapshot (no engine, no live loops): a test
subclass of the real app, for snapshot pictures and layout tests. The product
has no fixed-snapshot branch; this overrides its two hooks (make_model,
make_pane) and hands the snapshot in once mounted."""

from __future__ import annotations

from tui.app import DockscopeApp
from tui.panes.findings import FindingsPane


class FixedFindingsPane(FindingsPane):
    """Shows the given findings instead of running the doctor."""

    def __init__(self, findings: list, **kw) -> None:
        super().__init__(**kw)
        self.fixed = list(findings)

    def update_snapshot(self, snap) -> None:
        self.snapshot = snap
        self.dirty = False
        self.set_findings(self.fixed)


class FixedApp(DockscopeApp):
    def __init__(self, snapshot, findings: list | None = None, **kw) -> None:
        self.fixed_snapshot = snapshot
        self.fixed_findings = list(findings or [])
        super().__init__(**kw)

    def make_model(self):
        return None  # no engine: nothing live

    def make_pane(self, pane_id: str):
        if pane_id == "findings":
            return FixedFindingsPane(self.fixed_findings, id="findings")
        pane = super().make_pane(pane_id)
        if pane_id == "ports":
            pane.live_doctor = False  # the demo's containers are not on this host
        return pane

    def on_mount(self) -> None:
        super().on_mount()
        self.apply_snapshot(self.fixed_snapshot)
