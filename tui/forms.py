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
* the plan's confirmation: :class:`tui.confirm.PlanScreen` -> ``bool``
* :class:`DaemonDebugScreen` -> ``DebugRequest | None``

Every text that comes from the engine or the host (names, errors, paths) is
rendered with ``markup=False``: it can never inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from collections.abc import Callable, Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static, Switch

from actions.net_checks import PARENT_DRIVERS
from actions.networks import (
    DRIVERS,
    ConnectSpec,
    NetworkSpec,
    connect_command,
    create_command,
)
from actions.validate import FieldError, split_words
from tui.fastkeys import FOCUS_BINDINGS

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
    margin-left: 2;
}
.dsform .checks {
    height: auto;
}
.dsform .checks Checkbox {
    margin-right: 2;
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
    max-height: 50vh;
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
    BINDINGS: ClassVar[list[BindingType]] = [*FOCUS_BINDINGS]  # fast typing: tui/fastkeys.py

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
                yield Input(s.name, placeholder="my-net", id="name", compact=True)
                yield self._error_widget("name")
                yield Label("Driver", classes="field-label")
                yield Select(
                    [(d, d) for d in self.drivers],
                    value=s.driver or "bridge",
                    allow_blank=False,
                    id="driver",
                    compact=True,
                )
                yield self._error_widget("driver")
                yield Label("Parent interface (macvlan / ipvlan)", classes="field-label parent-row")
                yield Select(
                    self._parent_options(),
                    prompt="no parent (isolated)",
                    value=s.parent or Select.NULL,
                    id="parent",
                    classes="parent-row",
                    compact=True,
                )
                yield self._error_widget("parent")
                yield Label("Subnet (CIDR)", classes="field-label")
                yield Input(
                    s.subnet,
                    placeholder="10.10.0.0/24 (empty: automatic)",
                    id="subnet",
                    compact=True,
                )
                yield self._error_widget("subnet")
                yield Label("Gateway", classes="field-label")
                yield Input(s.gateway, placeholder="10.10.0.1", id="gateway", compact=True)
                yield self._error_widget("gateway")
                yield Label("IP range (CIDR inside the subnet)", classes="field-label")
                yield Input(s.ip_range, placeholder="10.10.0.128/25", id="ip_range", compact=True)
                yield self._error_widget("ip_range")
                with Horizontal(classes="checks"):
                    yield Checkbox("IPv6", s.ipv6, id="ipv6", compact=True)
                    yield Checkbox("Internal", s.internal, id="internal", compact=True)
                    yield Checkbox("Attachable", s.attachable, id="attachable", compact=True)
                yield self._error_widget("ipv6")
                yield self._error_widget("internal")
                yield self._error_widget("attachable")
                yield Label("IPv6 subnet", classes="field-label")
                yield Input(
                    s.subnet_v6, placeholder="fd00:db8:1::/64", id="subnet_v6", compact=True
                )
                yield self._error_widget("subnet_v6")
                yield Label("Driver options (k=v, space or comma separated)", classes="field-label")
                yield Input(
                    " ".join(s.options),
                    placeholder="com.docker.network.driver.mtu=1400",
                    id="options",
                    compact=True,
                )
                yield self._error_widget("options")
                yield Label("Labels (k=v, space or comma separated)", classes="field-label")
                yield Input(" ".join(s.labels), placeholder="team=ops", id="labels", compact=True)
                yield self._error_widget("labels")
                yield self._error_widget("form")
            yield Static(
                _plain(create_command(self.initial)), id="preview", classes="preview", markup=False
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Create (ctrl+s)", variant="primary", id="submit", compact=True)
        yield Footer()

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
                compact=True,
            )
            yield self._error_widget(self.pick_field)
            if self.pick_field == "network":
                yield self._error_widget("container")
            else:
                yield self._error_widget("network")
            yield Label(
                "Aliases (space or comma separated; user-defined networks)", classes="field-label"
            )
            yield Input("", placeholder="web db", id="aliases", compact=True)
            yield self._error_widget("aliases")
            yield Label(
                "IPv4 address (optional; networks with a configured subnet)", classes="field-label"
            )
            yield Input("", placeholder="automatic", id="ipv4", compact=True)
            yield self._error_widget("ipv4")
            yield self._error_widget("form")
            yield Static(_plain(self._command()), id="preview", classes="preview", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Connect (ctrl+s)", variant="primary", id="submit", compact=True)
        yield Footer()

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


# --------------------------------------------------------------------------- daemon debug


@dataclass
class DebugRequest:
    """What :class:`DaemonDebugScreen` dismisses with: plan ``debug=enable`` applied by ``apply``."""

    enable: bool
    apply: str  # "reload" | "restart"


class DaemonDebugScreen(ModalScreen["DebugRequest | None"]):
    """dockerd debug: current state, file, how dockerd runs; choose, then the plan
    is confirmed in :class:`tui.confirm.PlanScreen`.

    The switch starts at the CURRENT state (nothing to apply until it is moved)
    and Cancel has the focus. No letter keys: ``escape`` cancels, ``tab`` moves,
    ``enter``/``space`` press the focused control. ``status`` is an
    ``actions.daemon_config.DaemonStatus`` (plain data).
    """

    DEFAULT_CSS = _FORM_CSS
    SCOPED_CSS = False
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="debug.cancel")]

    def __init__(self, status) -> None:
        super().__init__(classes="dsform")
        self.status = status
        current = status.running_debug if status.running_debug is not None else status.file_debug
        self.current = bool(current)
        self.target = self.current

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

        in_file = (
            "unknown (daemon.json is invalid)"
            if st.config_error
            else ("absent" if st.file_debug is None else b(st.file_debug))
        )
        lines = [
            f"dockerd pid:     {st.pid or 'not found'}",
            f"config file:     {st.config_file or 'unknown'}"
            + ("" if st.config_exists or not st.config_file else " (absent: will be created)"),
            f"debug running:   {b(st.running_debug)}",
            f"debug in file:   {in_file}",
            f"live-restore:    {b(st.live_restore)}",
            f"started by:      {getattr(st, 'supervised_by', None) or 'unknown'}",
            f"reload with:     {st.reload_method or 'unknown'}",
            f"restart with:    {st.restart_method or 'none that works here'}",
        ]
        with Vertical(classes="form", id="debug-form"):
            yield Label("dockerd debug logging", classes="form-title")
            with Horizontal(classes="checks"):
                yield Label("Debug logging: ", classes="field-label")
                yield Switch(self.target, id="target")
            with VerticalScroll(classes="form-scroll"):
                if self.blocked:
                    yield Static(
                        _plain(f"✗ {self.blocked}"),
                        id="blocked",
                        classes="field-error",
                        markup=False,
                    )
                if st.live_restore:
                    warn = "live-restore is on: a restart keeps containers running"
                else:
                    warn = (
                        "⚠ live-restore is OFF: a restart STOPS every running container "
                        "(a reload does not)"
                    )
                yield Static(_plain(warn), id="restart-warning", classes="warning", markup=False)
                yield Static(_plain("\n".join(lines)), id="state", markup=False)
                if not st.restart_method and getattr(st, "restart_advice", None):
                    yield Static(_plain(st.restart_advice), classes="field-label", markup=False)
                for n in getattr(st, "notes", []) or []:
                    yield Static(_plain(f"note: {n}"), classes="field-label", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button(
                    "Restart…",
                    variant="error",
                    id="restart",
                    disabled=bool(self.blocked) or not st.restart_method,
                    compact=True,
                )
                yield Button(
                    "Reload…",
                    variant="primary",
                    id="reload",
                    disabled=bool(self.blocked) or not st.pid,
                    compact=True,
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Switch.Changed, "#target")
    def _switched(self, event: Switch.Changed) -> None:
        self.target = event.value

    def _choose(self, apply: str) -> None:
        if self.query_one(f"#{apply}", Button).disabled:
            why = self.blocked or (
                "no dockerd pid: cannot reload"
                if apply == "reload"
                else getattr(self.status, "restart_advice", None) or "no restart works here"
            )
            self.notify(why, severity="error", markup=False)
            return
        if self.target == self.current and self.status.file_debug == self.target:
            self.notify(
                f"debug is already {'on' if self.target else 'off'}: move the switch first",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(DebugRequest(self.target, apply))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#reload")
    def _reload(self, event: Button.Pressed) -> None:
        event.stop()
        self._choose("reload")

    @on(Button.Pressed, "#restart")
    def _restart(self, event: Button.Pressed) -> None:
        event.stop()
        self._choose("restart")

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()


def __getattr__(name: str):
    """``ActionFlows`` and ``PlanScreen`` live in tui/confirm.py (kept importable from here)."""
    if name in ("ActionFlows", "PlanScreen"):
        from tui import confirm

        return getattr(confirm, name)
    raise AttributeError(name)


__all__ = [
    "CreateNetworkScreen",
    "ConnectScreen",
    "DaemonDebugScreen",
    "DebugRequest",
]
