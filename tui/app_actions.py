"""The console's change actions (n, c, d, x, D, u): the keys of
:class:`tui.app.DockscopeApp` that open tui/forms.py's flows. Every one goes
through the actions layer's read-only guard first and says why when it refuses.
A mixin of the app (it reads the app's selection and snapshot)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actions import guard
from tui.panes.common import natural_key

if TYPE_CHECKING:  # tui/forms.py loads on the first action, not before the first frame
    from tui.forms import ActionFlows


class ActionKeys:
    """n new network, c connect, d disconnect, x remove, D daemon debug, u undo."""

    flows: ActionFlows | None = None

    def _flows(self) -> ActionFlows:
        """tui/forms.py's ActionFlows: form -> confirm -> action in a worker -> notify."""
        if self.flows is None:
            from tui.forms import ActionFlows

            self.flows = ActionFlows(
                self, host=self.host, settings=self.settings, on_changed=self._action_done
            )
        return self.flows

    def _action_done(self, result) -> None:
        """An action changed something: docker events bring the change; the daemon
        config (debug) has no event before its reload, so re-read the engine."""
        if self.live is not None and str(getattr(result, "action", "")).startswith("daemon"):
            self.live.request("rebuild")

    def _refuse_read_only(self, what: str) -> bool:
        try:
            guard.check_writable(what)
        except guard.ReadOnlyError as e:
            self.notify(str(e), title="read-only", severity="warning", markup=False)
            return True
        return False

    def selected_names(self) -> tuple[str | None, str | None]:
        """(network name, container name) under the cursor."""
        sel = self.selection()
        snap = self.snapshot
        net = snap.network(sel["network"]) if snap and sel.get("network") else None
        ctr = snap.container(sel["container"]) if snap and sel.get("container") else None
        return (net.name if net else sel.get("network"), ctr.name if ctr else sel.get("container"))

    def action_new_network(self) -> None:
        if not self._refuse_read_only("create a network"):
            self._flows().open("CreateNetworkScreen")

    def action_connect(self) -> None:
        if self._refuse_read_only("connect a container"):
            return
        net, ctr = self.selected_names()
        if self.active_pane_id == "networks" and net:
            self._flows().open("ConnectScreen", network=net)  # a container onto this network
        elif ctr:
            self._flows().open("ConnectScreen", container=ctr)  # this container onto a network
        elif net:
            self._flows().open("ConnectScreen", network=net)
        else:
            self.notify(
                "select a network (pane 1) or a container (pane 3) first",
                title="connect",
                severity="warning",
                markup=False,
            )

    def action_disconnect(self) -> None:
        if self._refuse_read_only("disconnect a container"):
            return
        net, ctr = self.selected_names()
        if net and not ctr:
            self._offer_containers(net)
            return
        if not net or not ctr:
            self.notify(
                "select a network (pane 1) or a container on a network first",
                title="disconnect",
                severity="warning",
                markup=False,
            )
            return
        self._flows().open("disconnect", network=net, container=ctr)

    def _offer_containers(self, net_name: str) -> None:
        """``d`` on a network row: pick which of its containers to disconnect."""
        from tui.help import PickScreen

        snap = self.snapshot
        n = snap.network(net_name) if snap else None
        names = sorted(
            {e.container for e in (n.endpoints if n else []) if e.container}, key=natural_key
        )
        if not names:
            self.notify(
                f"no container is on {net_name}",
                title="disconnect",
                severity="warning",
                markup=False,
            )
            return

        def chosen(name: str | None) -> None:
            if name:
                self._flows().open("disconnect", network=net_name, container=name)

        self.push_screen(PickScreen(f"Disconnect from {net_name}", names), chosen)

    def action_remove_network(self) -> None:
        if self._refuse_read_only("remove a network"):
            return
        net, _ = self.selected_names()
        if not net:
            self.notify(
                "select a network first (pane 1)", title="remove", severity="warning", markup=False
            )
            return
        self._flows().open("remove_network", network=net)

    def action_daemon_debug(self) -> None:
        if not self._refuse_read_only("change the daemon configuration"):
            self._flows().open("DaemonDebugScreen")

    def action_undo(self) -> None:
        if not self._refuse_read_only("undo"):
            self._flows().undo_last()
