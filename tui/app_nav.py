"""The console's drill-in: enter on a row standing for a container, or on a
finding, selects that object in the pane that shows it (a mixin of DockscopeApp,
which owns the panes and the snapshot)."""

from __future__ import annotations


class Navigation:
    """open a container's endpoint detail; jump from a finding to its object."""

    def on_open_container(self, msg) -> None:
        """enter on a row standing for a container (a port, a network's endpoint):
        its endpoint detail in pane 3."""
        w = self.pane("endpoints")
        if w is not None and self.snapshot is not None:
            if w.dirty:
                w.update_snapshot(self.snapshot)
                w.dirty = False
            if self.snapshot.container(msg.container_id) is None:
                self.notify("that container is gone", title="open", markup=False)
                return
            self.action_pane("endpoints")
            w.open_detail(self.snapshot.container(msg.container_id).id)

    def on_findings_pane_jump_to(self, msg) -> None:
        """enter on a finding: select its object in its pane."""
        self.jump_to(msg.kind, msg.name)

    def jump_to(self, kind: str, name: str) -> bool:
        """Drill in: the first pane that shows this object selects it."""
        if not name:
            return False
        for pane in self.panes():
            if pane.PANE_ID == "findings":
                continue
            if pane.dirty and self.snapshot is not None:
                pane.update_snapshot(self.snapshot)  # reveal in what is current
                pane.dirty = False
            if pane.reveal(kind, name):
                self.action_pane(pane.PANE_ID)
                return True
        self.notify(f"{kind} {name}: no pane shows it", title="jump", markup=False)
        return False
