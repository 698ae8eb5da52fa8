"""Modal forms for the actions: self-contained, keyboard-first ModalScreens.

Each screen takes plain data (names, links, a status) and a validator callable,
never touches the engine, and dismisses with a spec (or None / False when
cancelled); the app runs the action in a worker::

    def open_create(self):
        ctx = ...  # gathered in a worker: actions.networks.gather_create_context(client)
        self.push_screen(CreateNetworkScreen(lambda s: validate_create(s, ctx), links=ctx.links),
                         self.on_create_spec)

* :class:`CreateNetworkScreen` -> ``NetworkSpec | None``
* :class:`ConnectScreen` -> ``ConnectSpec | None``
* :class:`ConfirmScreen` -> ``bool``
* :class:`DaemonDebugScreen` -> ``DebugRequest | None``

Every text that comes from the engine or the host (names, errors, paths) is
rendered with ``markup=False``: it can never inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, Switch

from actions.networks import (
    DRIVERS,
    PARENT_DRIVERS,
    ConnectSpec,
    NetworkSpec,
    connect_command,
    create_command,
)
from actions.validate import FieldError, split_words

Validator = Callable[[object], list[FieldError]]

_FORM_CSS = """
ModalScreen.dsform {
    align: center middle;
}
.dsform > .form {
    width: 86;
    max-width: 100%;
    height: auto;
    max-height: 95%;
    border: thick $primary;
    background: $surface;
    padding: 0 1;
}
.dsform .form-title {
    text-style: bold;
    color: $accent;
    width: 100%;
    margin-bottom: 1;
}
.dsform .field-label {
    width: 100%;
    color: $text-muted;
}
.dsform .field-error {
    color: $error;
    width: 100%;
    padding-left: 1;
}
.dsform .preview {
    width: 100%;
    color: $text;
    background: $panel;
    padding: 0 1;
    margin-top: 1;
}
.dsform .buttons {
    height: auto;
    width: 100%;
    align-horizontal: right;
    margin-top: 1;
}
.dsform .buttons Button {
    margin-left: 1;
}
.dsform .checks {
    height: auto;
}
.dsform .checks Label {
    width: auto;
    padding: 1 0 0 1;
}
.dsform .warning {
    color: $warning;
    width: 100%;
}
.dsform .form-scroll {
    height: auto;
    max-height: 30;
}
.dsform Input, .dsform Select {
    margin: 0;
}
"""


def _plain(text: object) -> Text:
    return Text(str(text))


class _FormScreen(ModalScreen):
    """Shared: inline per-field errors, a general error line, esc cancels."""

    DEFAULT_CSS = _FORM_CSS
    SCOPED_CSS = False

    def __init__(self) -> None:
        super().__init__(classes="dsform")

    FIELDS: tuple[str, ...] = ()

    def _error_widget(self, name: str) -> Static:
        w = Static("", id=f"err-{name}", classes="field-error", markup=False)
        w.display = False
        return w

    def show_errors(self, errors: Iterable[FieldError]) -> None:
        by_field: dict[str, list[str]] = {}
        for e in errors:
            f = e.field if e.field in self.FIELDS else "form"
            by_field.setdefault(f, []).append(e.message)
        for f in (*self.FIELDS, "form"):
            try:
                w = self.query_one(f"#err-{f}", Static)
            except Exception:
                continue
            msgs = by_field.get(f)
            w.update(_plain("\n".join(f"✗ {m}" for m in msgs)) if msgs else "")
            w.display = bool(msgs)
        self.errors = list(errors)

    def action_cancel(self) -> None:
        self.dismiss(None)

    # --------------------------------------------------------------------------- create

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_submit(self) -> None:
        """Validate; show errors inline and focus the first bad field, or dismiss with the spec."""
        self.submitted = True
        spec = self.spec()
        errors = self.validator(spec)
        self.show_errors(errors)
        if errors:
            first = next((e.field for e in errors if e.field in self.FIELDS), None)
            if first:
                try:
                    self.query_one(f"#{first}").focus()
                except Exception:
                    pass
            return
        self.dismiss(spec)


class CreateNetworkScreen(_FormScreen):
    """Create a network: every field validated inline before anything is created.

    ``validator(spec) -> list[FieldError]`` (e.g. ``validate_create`` bound to a
    context); ``links``: host links (``Link`` or names) for the parent Select.
    Dismisses with a valid :class:`NetworkSpec`, or None.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Create", id="form.submit"),
    ]
    FIELDS = (
        "name",
        "driver",
        "subnet",
        "gateway",
        "ip_range",
        "ipv6",
        "subnet_v6",
        "internal",
        "attachable",
        "parent",
        "options",
        "labels",
    )

    def __init__(
        self,
        validator: Validator,
        links: Iterable = (),
        drivers: Iterable[str] = DRIVERS,
        initial: NetworkSpec | None = None,
        title: str = "Create network",
    ) -> None:
        super().__init__()
        self.validator = validator
        self.links = list(links)
        self.drivers = list(drivers)
        self.initial = initial or NetworkSpec()
        self.title_text = title
        self.errors: list[FieldError] = []
        self.submitted = False

    def _parent_options(self) -> list[tuple[Text, str]]:
        out = []
        for l in self.links:
            name = l if isinstance(l, str) else l.name
            if not name or name == "lo":
                continue
            if isinstance(l, str):
                out.append((_plain(name), name))
            else:
                state = l.operstate or ("UP" if l.admin_up else "DOWN")
                bits = ", ".join(b for b in (l.kind or "device", state) if b)
                out.append((_plain(f"{name} ({bits})"), name))
        return out

    def compose(self) -> ComposeResult:
        s = self.initial
        with Vertical(classes="form", id="create-form"):
            yield Label(self.title_text, classes="form-title")
            with VerticalScroll(classes="form-scroll"):
                yield Label("Name", classes="field-label")
                yield Input(s.name, placeholder="my-net", id="name")
                yield self._error_widget("name")
                yield Label("Driver", classes="field-label")
                yield Select(
                    [(d, d) for d in self.drivers],
                    value=s.driver or "bridge",
                    allow_blank=False,
                    id="driver",
                )
                yield self._error_widget("driver")
                yield Label("Parent interface (macvlan / ipvlan)", classes="field-label parent-row")
                yield Select(
                    self._parent_options(),
                    prompt="no parent (isolated)",
                    value=s.parent or Select.NULL,
                    id="parent",
                    classes="parent-row",
                )
                yield self._error_widget("parent")
                yield Label("Subnet (CIDR)", classes="field-label")
                yield Input(s.subnet, placeholder="10.10.0.0/24 (empty: automatic)", id="subnet")
                yield self._error_widget("subnet")
                yield Label("Gateway", classes="field-label")
                yield Input(s.gateway, placeholder="10.10.0.1", id="gateway")
                yield self._error_widget("gateway")
                yield Label("IP range (CIDR inside the subnet)", classes="field-label")
                yield Input(s.ip_range, placeholder="10.10.0.128/25", id="ip_range")
                yield self._error_widget("ip_range")
                with Horizontal(classes="checks"):
                    yield Checkbox("IPv6", s.ipv6, id="ipv6")
                    yield Checkbox("Internal", s.internal, id="internal")
                    yield Checkbox("Attachable", s.attachable, id="attachable")
                yield self._error_widget("ipv6")
                yield self._error_widget("internal")
                yield self._error_widget("attachable")
                yield Label("IPv6 subnet", classes="field-label")
                yield Input(s.subnet_v6, placeholder="fd00:db8:1::/64", id="subnet_v6")
                yield self._error_widget("subnet_v6")
                yield Label("Driver options (k=v, space or comma separated)", classes="field-label")
                yield Input(
                    " ".join(s.options),
                    placeholder="com.docker.network.driver.mtu=1400",
                    id="options",
                )
                yield self._error_widget("options")
                yield Label("Labels (k=v, space or comma separated)", classes="field-label")
                yield Input(" ".join(s.labels), placeholder="team=ops", id="labels")
                yield self._error_widget("labels")
                yield self._error_widget("form")
            yield Static(
                _plain(create_command(self.initial)), id="preview", classes="preview", markup=False
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Create (ctrl+s)", variant="primary", id="submit")

    def on_mount(self) -> None:
        self._sync_parent()
        self.call_after_refresh(self._sync_parent)
        try:
            self.query_one("#name", Input).focus()
        except NoMatches:
            self.call_after_refresh(lambda: self.query_one("#name", Input).focus())

    def spec(self) -> NetworkSpec:
        q = self.query_one
        driver = q("#driver", Select).value
        parent = q("#parent", Select).value
        return NetworkSpec(
            name=q("#name", Input).value.strip(),
            driver=driver if isinstance(driver, str) else "",
            subnet=q("#subnet", Input).value.strip(),
            gateway=q("#gateway", Input).value.strip(),
            ip_range=q("#ip_range", Input).value.strip(),
            ipv6=q("#ipv6", Checkbox).value,
            subnet_v6=q("#subnet_v6", Input).value.strip(),
            internal=q("#internal", Checkbox).value,
            attachable=q("#attachable", Checkbox).value,
            parent=parent if isinstance(parent, str) and driver in PARENT_DRIVERS else "",
            options=split_words(q("#options", Input).value),
            labels=split_words(q("#labels", Input).value),
        )

    def _sync_parent(self) -> None:
        try:
            driver = self.query_one("#driver", Select).value
        except NoMatches:  # an event during compose: the next one will do
            return
        for w in self.query(".parent-row"):
            w.display = driver in PARENT_DRIVERS

    def _refresh(self) -> None:
        try:
            spec = self.spec()
        except NoMatches:
            return
        self.query_one("#preview", Static).update(_plain(create_command(spec)))
        if self.submitted:  # after a first attempt, errors follow the typing
            self.show_errors(self.validator(spec))

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._refresh()

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._sync_parent()
        self._refresh()


# --------------------------------------------------------------------------- connect


class ConnectScreen(_FormScreen):
    """Connect a container to a network.

    Opened from a container (``container=`` given: pick the network among
    ``choices``) or from a network (``network=`` given: pick the container).
    Dismisses with a valid :class:`ConnectSpec`, or None.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Connect", id="form.submit"),
    ]
    FIELDS = ("network", "container", "aliases", "ipv4")

    def __init__(
        self,
        validator: Validator,
        choices: Iterable[str],
        *,
        container: str | None = None,
        network: str | None = None,
    ) -> None:
        super().__init__()
        if (container is None) == (network is None):
            raise ValueError("give exactly one of container= or network=")
        self.validator = validator
        self.choices = list(choices)
        self.fixed_container = container
        self.fixed_network = network
        self.errors: list[FieldError] = []
        self.submitted = False

    @property
    def pick_field(self) -> str:
        return "network" if self.fixed_container is not None else "container"

    def compose(self) -> ComposeResult:
        if self.fixed_container is not None:
            title = Text("Connect container ")
            title.append(self.fixed_container, style="bold")
            title.append(" to a network")
            pick_label = "Network"
        else:
            title = Text("Connect a container to network ")
            title.append(self.fixed_network or "", style="bold")
            pick_label = "Container"
        with Vertical(classes="form", id="connect-form"):
            yield Static(title, classes="form-title", markup=False)
            yield Label(pick_label, classes="field-label")
            yield Select(
                [(_plain(c), c) for c in self.choices],
                prompt=f"choose a {pick_label.lower()}",
                id="pick",
            )
            yield self._error_widget(self.pick_field)
            if self.pick_field == "network":
                yield self._error_widget("container")
            else:
                yield self._error_widget("network")
            yield Label(
                "Aliases (space or comma separated; user-defined networks)", classes="field-label"
            )
            yield Input("", placeholder="web db", id="aliases")
            yield self._error_widget("aliases")
            yield Label(
                "IPv4 address (optional; networks with a configured subnet)", classes="field-label"
            )
            yield Input("", placeholder="automatic", id="ipv4")
            yield self._error_widget("ipv4")
            yield self._error_widget("form")
            yield Static(_plain(self._command()), id="preview", classes="preview", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Connect (ctrl+s)", variant="primary", id="submit")

    def on_mount(self) -> None:
        self.query_one("#pick", Select).focus()

    def spec(self) -> ConnectSpec:
        picked = self.query_one("#pick", Select).value
        picked = picked if isinstance(picked, str) else ""
        return ConnectSpec(
            network=self.fixed_network if self.fixed_network is not None else picked,
            container=self.fixed_container if self.fixed_container is not None else picked,
            aliases=split_words(self.query_one("#aliases", Input).value),
            ipv4=self.query_one("#ipv4", Input).value.strip(),
        )

    def _command(self) -> str:
        try:
            s = self.spec()
        except NoMatches:
            s = ConnectSpec(network=self.fixed_network or "", container=self.fixed_container or "")
        return connect_command(s.network, s.container, s.aliases, s.ipv4 or None)

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        try:
            self.query_one("#preview", Static).update(_plain(self._command()))
        except NoMatches:
            return
        if self.submitted:
            self.show_errors(self.validator(self.spec()))


# --------------------------------------------------------------------------- confirm


class ConfirmScreen(ModalScreen[bool]):
    """Shows the exact action and command; y/enter confirms, n/esc cancels."""

    DEFAULT_CSS = _FORM_CSS
    SCOPED_CSS = False
    BINDINGS = [
        Binding("y", "confirm", "Confirm", id="confirm.yes"),
        Binding("enter", "confirm", "Confirm", id="confirm.enter", show=False),
        Binding("n", "cancel", "Cancel", id="confirm.no"),
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
    ]

    def __init__(
        self,
        title: str,
        command: str = "",
        detail: str = "",
        confirm_label: str = "Confirm",
        danger: bool = False,
    ) -> None:
        super().__init__(classes="dsform")
        self.title_text = title
        self.command = command
        self.detail = detail
        self.confirm_label = confirm_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="form", id="confirm-form"):
            yield Static(_plain(self.title_text), classes="form-title", markup=False)
            if self.detail:
                yield Static(
                    _plain(self.detail),
                    id="detail",
                    classes="warning" if self.danger else "field-label",
                    markup=False,
                )
            if self.command:
                yield Static(_plain(self.command), id="command", classes="preview", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("No (n/esc)", id="no")
                yield Button(
                    f"{self.confirm_label} (y/enter)",
                    variant="error" if self.danger else "primary",
                    id="yes",
                )

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#yes")
    def _yes(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)


# --------------------------------------------------------------------------- daemon debug


@dataclass
class DebugRequest:
    """What :class:`DaemonDebugScreen` dismisses with: run ``set_debug(enable, apply=apply)``."""

    enable: bool
    apply: str  # "reload" | "restart"


class DaemonDebugScreen(ModalScreen["DebugRequest | None"]):
    """dockerd debug: current state, file, flag conflicts; reload or restart.

    ``status`` is an ``actions.daemon_config.DaemonStatus`` (plain data).
    """

    DEFAULT_CSS = _FORM_CSS
    SCOPED_CSS = False
    BINDINGS = [
        Binding("t", "toggle", "Toggle on/off", id="debug.toggle"),
        Binding("r", "reload", "Apply with reload", id="debug.reload"),
        Binding("R", "restart", "Apply with restart", id="debug.restart"),
        Binding("escape", "cancel", "Cancel", id="debug.cancel"),
    ]

    def __init__(self, status) -> None:
        super().__init__(classes="dsform")
        self.status = status
        current = status.running_debug if status.running_debug is not None else status.file_debug
        self.target = not bool(current)

    @property
    def blocked(self) -> str | None:
        st = self.status
        if st.flag_conflicts:
            return (
                "; ".join(st.flag_conflicts)
                + ": debug cannot be set in daemon.json (dockerd would refuse to start)"
            )
        if st.config_error:
            return f"daemon.json is not valid: {st.config_error} (fix it by hand first)"
        if not st.config_file:
            return "the daemon's config file is unknown"
        return None

    def compose(self) -> ComposeResult:
        st = self.status

        def b(v):
            return "unknown" if v is None else ("on" if v else "off")

        lines = [
            f"dockerd pid:     {st.pid or 'not found'}",
            f"config file:     {st.config_file or 'unknown'}"
            + ("" if st.config_exists or not st.config_file else " (absent: will be created)"),
            f"debug running:   {b(st.running_debug)}",
            f"debug in file:   {'absent' if st.file_debug is None else b(st.file_debug)}",
            f"live-restore:    {b(st.live_restore)}",
            f"reload with:     {st.reload_method or 'unknown'}",
            f"restart with:    {st.restart_method or 'unknown (set restart_command in settings)'}",
        ]
        with Vertical(classes="form", id="debug-form"):
            yield Label("dockerd debug logging", classes="form-title")
            yield Static(_plain("\n".join(lines)), id="state", markup=False)
            for n in getattr(st, "notes", []) or []:
                yield Static(_plain(f"note: {n}"), classes="field-label", markup=False)
            if self.blocked:
                yield Static(
                    _plain(f"✗ {self.blocked}"), id="blocked", classes="field-error", markup=False
                )
            with Horizontal(classes="checks"):
                yield Label("Turn debug on: ", classes="field-label")
                yield Switch(self.target, id="target")
            if st.live_restore:
                warn = "live-restore is on: a restart keeps containers running"
            else:
                warn = (
                    "⚠ live-restore is OFF: a restart STOPS every running container "
                    "(a reload does not)"
                )
            yield Static(_plain(warn), id="restart-warning", classes="warning", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button(
                    "Restart (R)",
                    variant="error",
                    id="restart",
                    disabled=bool(self.blocked) or not st.restart_method,
                )
                yield Button(
                    "Reload (r)",
                    variant="primary",
                    id="reload",
                    disabled=bool(self.blocked) or not st.pid,
                )

    def on_mount(self) -> None:
        self.query_one("#target", Switch).focus()

    @on(Switch.Changed, "#target")
    def _switched(self, event: Switch.Changed) -> None:
        self.target = event.value

    def action_toggle(self) -> None:
        sw = self.query_one("#target", Switch)
        sw.value = not sw.value
        self.target = sw.value

    def action_reload(self) -> None:
        if not self.query_one("#reload", Button).disabled:
            self.dismiss(DebugRequest(self.target, "reload"))
        else:
            self.notify(
                self.blocked or "no dockerd pid: cannot reload", severity="error", markup=False
            )

    def action_restart(self) -> None:
        if not self.query_one("#restart", Button).disabled:
            self.dismiss(DebugRequest(self.target, "restart"))
        else:
            self.notify(
                self.blocked or "no restart command known (set restart_command)",
                severity="error",
                markup=False,
            )

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#reload")
    def _reload(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_reload()

    @on(Button.Pressed, "#restart")
    def _restart(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_restart()

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()


# --------------------------------------------------------------------------- flows


class ActionFlows:
    """Form -> confirm -> action-in-a-worker -> notify, for an app.

    ``ActionFlows(app, host).open(which, **kw)`` with ``which`` one of
    ``CreateNetworkScreen``, ``ConnectScreen`` (``network=`` or ``container=``),
    ``disconnect`` (``network=``, ``container=``), ``remove_network``
    (``network=``), ``DaemonDebugScreen``. Engine reads and actions run in
    thread workers (group ``actions``); every message is shown with
    ``markup=False``. ``on_changed(result)`` runs on the app thread after a
    change (e.g. to refresh); :meth:`undo_last` reverts the last result that
    has an undo.
    """

    def __init__(
        self,
        app,
        host: str | None = None,
        on_changed: Callable[[object], None] | None = None,
        settings=None,
    ) -> None:
        self.app = app
        self.host = host
        self.on_changed = on_changed
        self.settings = settings
        self.last = None  # last ActionResult with an undo

    # ---- plumbing
    def _client(self):
        from inspectors.api import sdk_client

        return sdk_client(self.host)

    def _worker(self, fn: Callable[[], None], name: str) -> None:
        self.app.run_worker(
            fn, thread=True, group="actions", exit_on_error=False, name=name, description=name
        )

    def _notify(self, message: str, title: str = "actions", severity: str = "information") -> None:
        self.app.call_from_thread(
            self.app.notify,
            message,
            title=title,
            severity=severity,
            markup=False,
            timeout=8 if severity == "information" else 15,
        )

    def _push(self, screen, callback) -> None:
        self.app.call_from_thread(self.app.push_screen, screen, callback)

    def _guarded(self, title: str, fn: Callable[[], object]) -> None:
        """Run ``fn`` (in a worker thread); report its result or error."""
        from actions.validate import ActionError, ValidationFailed

        try:
            res = fn()
        except ValidationFailed as e:
            self._notify(
                "\n".join(str(x) for x in e.errors) + "\nnothing was changed",
                title=title,
                severity="error",
            )
            return
        except ActionError as e:
            self._notify(
                f"{e.title}: {e.detail}" if e.detail else e.title, title=title, severity="error"
            )
            return
        except Exception as e:  # engine unreachable and the like: one line, no traceback
            self._notify(f"{type(e).__name__}: {e}", title=title, severity="error")
            return
        if res is None:
            return
        self.report(res, title)

    def report(self, res, title: str = "actions") -> None:
        lines = list(res.changed)
        if getattr(res, "message", ""):
            lines.append(res.message)
        lines += [f"warning: {w}" for w in res.warnings]
        if res.command:
            lines.append(f"$ {res.command}")
        if res.ok:
            if res.undo is not None:
                self.last = res
                lines.append(f"undo: {res.undo_description}")
        else:
            tail = getattr(res, "log_tail", None) or []
            if tail:
                lines.append("daemon log:")
                lines += [f"  {ln[:200]}" for ln in tail[-5:]]
        self._notify("\n".join(lines), title=title, severity="information" if res.ok else "error")
        if self.on_changed is not None:
            self.app.call_from_thread(self.on_changed, res)

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
        if res is None or res.undo is None:
            self.app.notify("nothing to undo", title="undo", severity="warning", markup=False)
            return
        self.last = None

        def go():
            if res.action.startswith("daemon.json"):
                self._guarded("undo", res.undo)
                return
            client = self._client()
            try:
                self._guarded("undo", lambda: res.undo(client))
            finally:
                client.close()

        self._worker(go, "undo")

    def _act_on_dismiss(self, client, title: str, action):
        """The form's dismiss callback: None closes the client; a spec runs
        ``action(spec)`` in a worker (guarded, notified), then closes the client."""

        def done(spec):
            if spec is None:
                client.close()
                return

            def act():
                try:
                    self._guarded(title, lambda: action(spec))
                finally:
                    client.close()

            self._worker(act, title)

        return done

    # ---- flows
    def create_network(self, **_ignored) -> None:
        from actions.networks import create_network, gather_create_context, validate_create

        def gather():
            client = self._client()
            try:
                ctx = gather_create_context(client)
            except Exception as e:
                client.close()
                self._notify(
                    f"cannot read the engine: {e}", title="create network", severity="error"
                )
                return

            done = self._act_on_dismiss(
                client, "create network", lambda spec: create_network(client, spec)
            )
            self._push(
                CreateNetworkScreen(lambda s: validate_create(s, ctx), links=ctx.links), done
            )

        self._worker(gather, "gather create context")

    def connect(self, network: str | None = None, container: str | None = None, **_ignored) -> None:
        from actions.networks import connect, gather_connect_context, validate_connect

        def gather():
            client = self._client()
            try:
                ctx = gather_connect_context(client)
            except Exception as e:
                client.close()
                self._notify(f"cannot read the engine: {e}", title="connect", severity="error")
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

            done = self._act_on_dismiss(
                client,
                "connect",
                lambda spec: connect(
                    client,
                    spec.network,
                    spec.container,
                    aliases=spec.aliases,
                    ipv4=spec.ipv4 or None,
                ),
            )
            self._push(screen, done)

        self._worker(gather, "gather connect context")

    def disconnect(self, network: str, container: str, force: bool = False, **_ignored) -> None:
        from actions.networks import disconnect
        from actions.validate import cli

        command = cli(
            "docker", "network", "disconnect", "-f" if force else None, network, container
        )

        def done(ok):
            if not ok:
                return

            def act():
                client = self._client()
                try:
                    self._guarded(
                        "disconnect", lambda: disconnect(client, network, container, force=force)
                    )
                finally:
                    client.close()

            self._worker(act, "disconnect")

        self.app.push_screen(
            ConfirmScreen(
                f"Disconnect {container} from {network}?",
                command,
                detail="undo (u) reconnects it with the same IP and aliases",
            ),
            done,
        )

    def remove_network(self, network: str, **_ignored) -> None:
        from actions.networks import remove_network
        from actions.validate import cli

        def gather():
            client = self._client()
            try:
                attrs = client.api.inspect_network(network)
            except Exception as e:
                client.close()
                self._notify(f"{e}", title="remove network", severity="error")
                return
            name = attrs.get("Name", network)
            eps = sorted(
                (ep.get("Name") or cid[:12])
                for cid, ep in (attrs.get("Containers") or {}).items()
                if not cid.startswith("lb-")
            )
            if eps:
                detail = f"{len(eps)} endpoint(s) will be disconnected first: {', '.join(eps)}"
                command = " && ".join(
                    [cli("docker", "network", "disconnect", "-f", name, e) for e in eps]
                    + [cli("docker", "network", "rm", name)]
                )
            else:
                detail, command = "", cli("docker", "network", "rm", name)

            def done(ok):
                if not ok:
                    client.close()
                    return

                def act():
                    try:
                        self._guarded(
                            "remove network", lambda: remove_network(client, name, force=bool(eps))
                        )
                    finally:
                        client.close()

                self._worker(act, "remove network")

            self._push(
                ConfirmScreen(
                    f"Remove network {name}?",
                    command,
                    detail=detail,
                    confirm_label="Remove",
                    danger=bool(eps),
                ),
                done,
            )

        self._worker(gather, "inspect network")

    def daemon_debug(self, **_ignored) -> None:
        from actions.daemon_config import daemon_status, set_debug

        def gather():
            try:
                st = daemon_status(engine_host=self.host, settings=self.settings)
            except Exception as e:
                self._notify(f"cannot read the daemon: {e}", title="daemon debug", severity="error")
                return

            def run(req: DebugRequest):
                self._worker(
                    lambda: self._guarded(
                        "daemon debug",
                        lambda: set_debug(
                            req.enable,
                            engine_host=self.host,
                            apply=req.apply,
                            settings=self.settings,
                        ),
                    ),
                    "daemon debug",
                )

            def done(req):
                if req is None:
                    return
                if req.apply != "restart":
                    run(req)
                    return
                warn = (
                    "live-restore is on: containers keep running"
                    if st.live_restore
                    else "live-restore is OFF: restarting dockerd STOPS every running container"
                )
                self.app.push_screen(
                    ConfirmScreen(
                        f"Restart dockerd to turn debug {'on' if req.enable else 'off'}?",
                        st.restart_method or "",
                        detail=warn,
                        confirm_label="Restart",
                        danger=not st.live_restore,
                    ),
                    lambda ok: run(req) if ok else None,
                )

            self._push(DaemonDebugScreen(st), done)

        self._worker(gather, "daemon status")


__all__ = [
    "CreateNetworkScreen",
    "ConnectScreen",
    "ConfirmScreen",
    "DaemonDebugScreen",
    "DebugRequest",
    "ActionFlows",
]
