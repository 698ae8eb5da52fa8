"""The one confirmation of every change, and the flows that lead to it.

:class:`PlanScreen` shows an :class:`actions.plan.Plan` (what changes, the
equivalent command, how to undo it, warnings) with **Cancel focused**: ``enter``
right away cancels, ``escape`` cancels, the plan runs only after the user moves
to Confirm (``tab``/arrows) and presses it. It has no letter keys, so nothing a
user types out of habit (``r`` refresh, ``y``) can apply a change; a modal screen
also stops the app's own (non-priority) keys.

:class:`ActionFlows` is what the app calls: form -> plan (in a worker: it reads
the engine) -> PlanScreen -> execute (in a worker) -> notify. Undo plans the
reverse and confirms it the same way. Read-only is enforced by the actions
layer: a refused plan is shown as one line.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from actions.plan import Plan
from inspectors.text import clean
from tui.forms import (
    _FORM_CSS,
    ConnectScreen,
    CreateNetworkScreen,
    DaemonDebugScreen,
)


def _t(text: object) -> Text:
    return Text(clean(str(text)))


class PlanScreen(ModalScreen[bool]):
    """The plan, Cancel focused; dismisses True only from the Confirm button."""

    DEFAULT_CSS = _FORM_CSS
    SCOPED_CSS = False
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="plan.cancel"),
        Binding("left,right", "switch", "Cancel/Confirm", id="plan.switch"),
    ]

    def __init__(self, plan: Plan) -> None:
        super().__init__(classes="dsform")
        self.plan = plan

    def compose(self) -> ComposeResult:
        p = self.plan
        with Vertical(classes="form", id="plan-form"):
            yield Static(_t(p.title), classes="form-title", id="plan-title")
            with VerticalScroll(classes="form-scroll"):
                yield Static(Text("\n".join(clean(f"• {c}") for c in p.changes)), id="plan-changes")
                if p.command:
                    yield Static(_t(f"$ {p.command}"), classes="preview", id="plan-command")
                undo = (
                    f"undo: {p.undo}" + (f"  ({p.undo_command})" if p.undo_command else "")
                    if p.reversible
                    else f"undo: {p.undo or 'cannot be undone'}"
                )
                yield Static(_t(undo), classes="field-label", id="plan-undo")
                for w in p.warnings:
                    yield Static(_t(f"⚠ {w}"), classes="warning")
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button(
                    "Confirm",
                    variant="error" if p.danger else "primary",
                    id="confirm",
                    compact=True,
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_switch(self) -> None:
        cancel = self.query_one("#cancel", Button)
        (self.query_one("#confirm", Button) if cancel.has_focus else cancel).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)


class ActionFlows:
    """Form -> plan -> confirm -> execute -> notify, for an app.

    ``ActionFlows(app, host).open(which, **kw)`` with ``which`` one of
    ``CreateNetworkScreen``, ``ConnectScreen`` (``network=`` or ``container=``),
    ``disconnect`` (``network=``, ``container=``), ``remove_network``
    (``network=``), ``DaemonDebugScreen``. Engine reads, plans and actions run
    in thread workers (group ``actions``); every message is shown without
    markup. ``on_changed(result)`` runs on the app thread after a change;
    :meth:`undo_last` plans the reverse of the last result and confirms it.
    """

    def __init__(self, app, host=None, on_changed=None, settings=None) -> None:
        self.app = app
        self.host = host
        self.on_changed = on_changed
        self.settings = settings
        self.last = None  # last ActionResult with an undo plan

    # ---- plumbing
    def _client(self):
        from inspectors.api import open_engine

        return open_engine(self.host).client

    def _worker(self, fn: Callable[[], None], name: str) -> None:
        self.app.run_worker(
            fn, thread=True, group="actions", exit_on_error=False, name=name, description=name
        )

    def _notify(self, message: str, title: str = "actions", severity: str = "information") -> None:
        self.app.call_from_thread(
            self.app.notify,
            clean(message, multiline=True),
            title=title,
            severity=severity,
            markup=False,
            timeout=8 if severity == "information" else 15,
        )

    def _push(self, screen, callback) -> None:
        self.app.call_from_thread(self.app.push_screen, screen, callback)

    def _guarded(self, title: str, fn: Callable[[], object]):
        """Run ``fn`` (in a worker thread); refusals become one notification."""
        from actions.validate import ActionError, ValidationFailed

        try:
            return fn()
        except ValidationFailed as e:
            msg = "\n".join(str(x) for x in e.errors) + "\nnothing was changed"
        except ActionError as e:
            msg = f"{e.title}: {e.detail}" if e.detail else e.title
        except Exception as e:  # engine unreachable and the like: one line, no traceback
            msg = f"{type(e).__name__}: {e}"
        self._notify(msg, title=title, severity="error")
        return None

    def report(self, res, title: str = "actions") -> None:
        lines = list(res.changed)
        if getattr(res, "message", ""):
            lines.append(res.message)
        lines += [f"warning: {w}" for w in res.warnings]
        if res.command:
            lines.append(f"$ {res.command}")
        if res.ok:
            if res.undo_plan is not None:
                self.last = res
                lines.append(f"undo (u): {res.undo_description}")
        else:
            tail = getattr(res, "log_tail", None) or []
            if tail:
                lines.append("daemon log:")
                lines += [f"  {ln[:200]}" for ln in tail[-5:]]
        self._notify("\n".join(lines), title=title, severity="information" if res.ok else "error")
        if self.on_changed is not None:
            self.app.call_from_thread(self.on_changed, res)

    def confirm_and_run(self, title: str, make_plan: Callable[[], Plan], after=None) -> None:
        """In a worker: make the plan; on the app: PlanScreen; confirmed: execute."""
        from actions.plan import execute

        def gather():
            plan = self._guarded(title, make_plan)
            if plan is None:
                if after:
                    after()
                return

            def done(ok):
                if not ok:
                    self.app.notify("cancelled; nothing was changed", title=title, markup=False)
                    if after:
                        after()
                    return

                def act():
                    try:
                        res = self._guarded(title, lambda: execute(plan))
                        if res is not None:
                            self.report(res, title)
                    finally:
                        if after:
                            after()

                self._worker(act, title)

            self._push(PlanScreen(plan), done)

        self._worker(gather, f"plan {title}")

    # ---- entry point
    def open(self, which: str, **kw) -> None:
        flows = {
            "CreateNetworkScreen": self.create_network,
            "create": self.create_network,
            "ConnectScreen": self.connect,
            "connect": self.connect,
            "disconnect": self.disconnect,
            "remove_network": self.remove_network,
            "DaemonDebugScreen": self.daemon_debug,
            "debug": self.daemon_debug,
        }
        if which not in flows:
            raise ValueError(f"unknown flow {which!r}")
        flows[which](**kw)

    def undo_last(self) -> None:
        res = self.last
        if res is None or res.undo_plan is None:
            self.app.notify("nothing to undo", title="undo", severity="warning", markup=False)
            return
        self.last = None
        if res.action.startswith("daemon"):
            self.confirm_and_run("undo", lambda: res.undo_plan())
            return
        holder: dict = {}

        def make():
            holder["c"] = self._client()
            return res.undo_plan(holder["c"])

        self.confirm_and_run("undo", make, after=lambda: _close(holder.get("c")))

    # ---- flows
    def create_network(self, **_ignored) -> None:
        from actions.networks import gather_create_context, plan_create, validate_create

        def gather():
            client = self._guarded("create network", self._client)
            if client is None:
                return
            ctx = self._guarded("create network", lambda: gather_create_context(client))
            if ctx is None:
                client.close()
                return

            def done(spec):
                if spec is None:
                    client.close()
                    return
                self.confirm_and_run(
                    "create network",
                    lambda: plan_create(client, spec, ctx),
                    after=client.close,
                )

            self._push(
                CreateNetworkScreen(lambda s: validate_create(s, ctx), links=ctx.links), done
            )

        self._worker(gather, "gather create context")

    def connect(self, network: str | None = None, container: str | None = None, **_ignored) -> None:
        from actions.networks import gather_connect_context, plan_connect, validate_connect

        def gather():
            client = self._guarded("connect", self._client)
            if client is None:
                return
            ctx = self._guarded("connect", lambda: gather_connect_context(client))
            if ctx is None:
                client.close()
                return
            if container:
                ref = next(
                    (c for c in ctx.containers if c.name == container or c.id == container), None
                )
                joined = set(ref.networks) if ref else set()
                choices = sorted(
                    n.name
                    for n in ctx.networks
                    if n.name not in joined and n.driver not in ("host", "null")
                )
                screen = ConnectScreen(
                    lambda s: validate_connect(s, ctx),
                    choices,
                    container=ref.name if ref else container,
                )
            else:
                net = next((n for n in ctx.networks if n.name == network or n.id == network), None)
                name = net.name if net else (network or "")
                choices = sorted(c.name for c in ctx.containers if name not in c.networks)
                screen = ConnectScreen(lambda s: validate_connect(s, ctx), choices, network=name)

            def done(spec):
                if spec is None:
                    client.close()
                    return
                self.confirm_and_run(
                    "connect",
                    lambda: plan_connect(
                        client, spec.network, spec.container, spec.aliases, spec.ipv4 or None
                    ),
                    after=client.close,
                )

            self._push(screen, done)

        self._worker(gather, "gather connect context")

    def _with_client(self, title: str, make) -> None:
        holder: dict = {}

        def plan():
            holder["c"] = self._client()
            return make(holder["c"])

        self.confirm_and_run(title, plan, after=lambda: _close(holder.get("c")))

    def disconnect(self, network: str, container: str, force: bool = False, **_ignored) -> None:
        from actions.networks import plan_disconnect

        self._with_client(
            "disconnect", lambda c: plan_disconnect(c, network, container, force=force)
        )

    def remove_network(self, network: str, **_ignored) -> None:
        from actions.networks import plan_remove

        self._with_client("remove network", lambda c: plan_remove(c, network, force=True))

    def daemon_debug(self, **_ignored) -> None:
        from actions.daemon_config import daemon_status, plan_debug

        def gather():
            st = self._guarded(
                "daemon debug", lambda: daemon_status(engine_host=self.host, settings=self.settings)
            )
            if st is None:
                return

            def done(req):
                if req is None:
                    return
                self.confirm_and_run(
                    "daemon debug",
                    lambda: plan_debug(
                        req.enable, engine_host=self.host, apply=req.apply, settings=self.settings
                    ),
                )

            self._push(DaemonDebugScreen(st), done)

        self._worker(gather, "daemon status")


def _close(client) -> None:
    if client is not None:
        try:
            client.close()
        except Exception:
            pass


__all__ = ["PlanScreen", "ActionFlows"]
