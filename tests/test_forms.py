"""Pilot tests of the modal forms (tui/forms.py), with the real validators."""

from __future__ import annotations

import ipaddress
import random

import pytest
from textual.app import App
from textual.widgets import Button, Input, Select, Static

from actions.daemon_config import DaemonStatus
from actions.networks import (
    ConnectSpec,
    NetworkSpec,
    create_network,
    gather_connect_context,
    gather_create_context,
    validate_connect,
    validate_create,
)
from actions.validate import FieldError
from tests.harness import IMAGE
from actions.plan import Plan
from tui.confirm import PlanScreen
from tui.forms import (
    ConnectScreen,
    CreateNetworkScreen,
    DaemonDebugScreen,
    DebugRequest,
)

UNSET = object()


class Host(App):
    """A bare app that opens one screen and keeps what it dismisses with."""

    def __init__(self, screen) -> None:
        super().__init__()
        self.form = screen
        self.result = UNSET

    def on_mount(self) -> None:
        self.push_screen(self.form, self._done)

    def _done(self, result) -> None:
        self.result = result


def _text(w: Static) -> str:
    return str(w.render())


def _free_subnet(ctx) -> str:
    for _ in range(200):
        cand = f"10.{random.randint(64, 127)}.{random.randint(0, 255)}.0/24"
        if not validate_create(NetworkSpec(name="probe", subnet=cand), ctx):
            return cand
    raise RuntimeError("no free subnet")


async def _type(pilot, widget_id: str, text: str) -> None:
    scr = pilot.app.screen
    scr.query_one(f"#{widget_id}", Input).focus()
    await pilot.press(*text)


# --------------------------------------------------------------------------- create


@pytest.mark.engine
async def test_create_form_bad_subnet_shows_inline_error_and_creates_nothing(daemon, uniq):
    client = daemon.client()
    try:
        ctx = gather_create_context(client)
        before = {n.name for n in client.networks.list()}
        app = Host(CreateNetworkScreen(lambda s: validate_create(s, ctx), links=ctx.links))
        async with app.run_test(size=(110, 50)) as pilot:
            await pilot.pause()
            scr = app.screen
            assert isinstance(scr, CreateNetworkScreen)
            await _type(pilot, "name", f"form-{uniq}")
            await _type(pilot, "subnet", "10.1.2.3/24")
            await pilot.press("ctrl+s")
            await pilot.pause()
            err = scr.query_one("#err-subnet", Static)
            assert err.display
            assert "host bits set (did you mean 10.1.2.0/24?)" in _text(err)
            assert not scr.query_one("#err-name", Static).display
            assert app.screen is scr and app.result is UNSET
            # the preview shows the exact command
            assert _text(scr.query_one("#preview", Static)) == (
                f"docker network create --subnet 10.1.2.3/24 form-{uniq}"
            )
            # errors follow the typing after the first attempt
            scr.query_one("#subnet", Input).value = "10.1.2.0/24x"
            await pilot.pause()
            assert "not a valid CIDR" in _text(err)
            await pilot.press("escape")
            await pilot.pause()
            assert app.result is None
        assert {n.name for n in client.networks.list()} == before
    finally:
        client.close()


@pytest.mark.engine
async def test_create_form_valid_dismisses_with_the_spec(daemon, uniq):
    client = daemon.client()
    name = f"formok-{uniq}"
    try:
        ctx = gather_create_context(client)
        sub = _free_subnet(ctx)
        gw = str(ipaddress.ip_network(sub).network_address + 1)
        app = Host(CreateNetworkScreen(lambda s: validate_create(s, ctx), links=ctx.links))
        async with app.run_test(size=(110, 50)) as pilot:
            await pilot.pause()
            await _type(pilot, "name", name)
            await _type(pilot, "subnet", sub)
            await _type(pilot, "gateway", gw)
            await _type(pilot, "labels", "team=ops")
            await pilot.press("enter")  # enter in a field submits
            await pilot.pause()
        assert app.result == NetworkSpec(name=name, subnet=sub, gateway=gw, labels=["team=ops"])
        res = create_network(client, app.result)  # what the app's worker does
        assert res.details["subnets"] == [sub]
    finally:
        try:
            client.networks.get(name).remove()
        except Exception:
            pass
        client.close()


async def test_create_form_parent_select_for_macvlan_only():
    from inspectors.model import Link

    links = [
        Link(index=1, name="lo"),
        Link(index=2, name="eth0", operstate="UP", admin_up=True),
        Link(index=3, name="wg0", kind="wireguard", operstate="UNKNOWN", admin_up=True),
    ]
    seen = []
    app = Host(CreateNetworkScreen(lambda s: seen.append(s) or [], links=links))
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        scr = app.screen
        parent = scr.query_one("#parent", Select)
        assert not parent.display
        assert [v for _, v in parent._options if isinstance(v, str)] == ["eth0", "wg0"]
        scr.query_one("#driver", Select).value = "macvlan"
        await pilot.pause()
        assert parent.display
        parent.value = "eth0"
        await _type(pilot, "name", "mv")
        await pilot.pause()
        assert _text(scr.query_one("#preview", Static)) == (
            "docker network create --driver macvlan -o parent=eth0 mv"
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.result.driver == "macvlan" and app.result.parent == "eth0"


async def test_errors_never_inject_markup():
    msg = "[b]bold[/b] [link=http://x]click[/link] [@click=app.quit]q[/]"
    app = Host(CreateNetworkScreen(lambda s: [FieldError("name", msg), FieldError("weird", msg)]))
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        scr = app.screen
        assert msg in _text(scr.query_one("#err-name", Static))
        assert msg in _text(scr.query_one("#err-form", Static))  # unknown fields land there
        assert app.result is UNSET


# --------------------------------------------------------------------------- connect


@pytest.mark.engine
async def test_connect_form_from_a_container(daemon, uniq):
    client = daemon.client()
    net = f"fc-{uniq}"
    ctr = f"fcc-{uniq}"
    try:
        ctx0 = gather_create_context(client)
        sub = ipaddress.ip_network(_free_subnet(ctx0))
        create_network(client, NetworkSpec(name=net, subnet=str(sub)))
        daemon.docker("run", "-d", "--name", ctr, IMAGE, "sleep", "600")
        ctx = gather_connect_context(client)
        choices = sorted(n.name for n in ctx.networks)
        app = Host(ConnectScreen(lambda s: validate_connect(s, ctx), choices, container=ctr))
        async with app.run_test(size=(110, 40)) as pilot:
            await pilot.pause()
            scr = app.screen
            scr.query_one("#pick", Select).value = net
            await _type(pilot, "aliases", "web, api")
            await _type(pilot, "ipv4", "192.0.2.5")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "not inside" in _text(scr.query_one("#err-ipv4", Static))
            assert app.result is UNSET
            scr.query_one("#ipv4", Input).value = str(sub.network_address + 7)
            await pilot.pause()
            assert _text(scr.query_one("#preview", Static)) == (
                f"docker network connect --alias web --alias api --ip {sub.network_address + 7} {net} {ctr}"
            )
            await pilot.press("ctrl+s")
            await pilot.pause()
        assert app.result == ConnectSpec(
            network=net, container=ctr, aliases=["web", "api"], ipv4=str(sub.network_address + 7)
        )
        # nothing was connected by the form itself
        attrs = client.api.inspect_container(ctr)
        assert net not in attrs["NetworkSettings"]["Networks"]
    finally:
        daemon.docker("rm", "-f", ctr, check=False)
        daemon.docker("network", "rm", net, check=False)
        client.close()


async def test_connect_form_from_a_network_picks_the_container():
    seen: list[ConnectSpec] = []

    def v(spec):
        seen.append(spec)
        return [] if spec.container else [FieldError("container", "a container is required")]

    app = Host(ConnectScreen(v, ["web1", "web2"], network="front"))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "a container is required" in _text(app.screen.query_one("#err-container", Static))
        app.screen.query_one("#pick", Select).value = "web2"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.result == ConnectSpec(network="front", container="web2", aliases=[], ipv4="")


# --------------------------------------------------------------------------- the plan's confirmation


def _plan(**kw) -> Plan:
    base = dict(
        action="network rm",
        title="Remove network [b]x[/b]?",
        changes=["disconnect c1 from x", "remove network x"],
        command="docker network rm x",
        undo="recreate network x",
        undo_command="docker network create x",
        reversible=True,
        warnings=["1 container(s) lose their address on x"],
        danger=True,
    )
    base.update(kw)
    return Plan(**base)


@pytest.mark.parametrize(
    "keys, expected",
    [
        (["enter"], False),  # Cancel has the focus: enter right away cancels
        (["escape"], False),
        (["tab", "enter"], True),  # move to Confirm, press it
        (["right", "enter"], True),
        (["right", "left", "enter"], False),
    ],
)
async def test_plan_screen_cancel_is_the_default(keys, expected):
    app = Host(PlanScreen(_plan()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        scr = app.screen
        assert scr.query_one("#cancel", Button).has_focus
        assert _text(scr.query_one("#plan-title", Static)) == "Remove network [b]x[/b]?"
        assert _text(scr.query_one("#plan-command", Static)) == "$ docker network rm x"
        assert "docker network create x" in _text(scr.query_one("#plan-undo", Static))
        await pilot.press(*keys)
        await pilot.pause()
    assert app.result is expected


async def test_plan_screen_letters_do_nothing():
    """No letter applies a plan (r is the app's refresh, y/n habits from other tools)."""
    app = Host(PlanScreen(_plan()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        scr = app.screen
        await pilot.press("y", "r", "R", "n", "D", "u")
        await pilot.pause()
        assert app.result is UNSET and app.screen is scr
        await pilot.press("enter")  # the focused Cancel
        await pilot.pause()
    assert app.result is False


# --------------------------------------------------------------------------- daemon debug


def _status(**kw) -> DaemonStatus:
    base = dict(
        pid=1234,
        config_file="/etc/docker/daemon.json",
        config_exists=True,
        running_debug=False,
        file_debug=None,
        live_restore=False,
        reload_method="kill -HUP 1234",
        restart_method="systemctl restart docker.service",
        supervised_by="dockerd 1234 runs in the systemd unit docker.service",
    )
    base.update(kw)
    return DaemonStatus(**base)


async def test_debug_screen_starts_at_the_current_state_with_cancel_focused():
    app = Host(DaemonDebugScreen(_status()))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        scr = app.screen
        from textual.widgets import Switch

        assert scr.query_one("#target", Switch).value is False  # debug is off: switch off
        assert scr.query_one("#cancel", Button).has_focus
        assert "STOPS every running container" in _text(scr.query_one("#restart-warning", Static))
        await pilot.press("r", "R", "t")  # no letter keys: nothing happens
        await pilot.pause()
        assert app.result is UNSET and app.screen is scr
        await pilot.press("enter")  # Cancel
        await pilot.pause()
    assert app.result is None


async def test_debug_screen_choose_then_reload_or_restart():
    app = Host(DaemonDebugScreen(_status(file_debug=False)))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        await pilot.click("#reload")  # unchanged switch: says so, stays
        await pilot.pause()
        assert app.result is UNSET
        await pilot.click("#target")
        await pilot.click("#reload")
        await pilot.pause()
    assert app.result == DebugRequest(enable=True, apply="reload")

    app = Host(DaemonDebugScreen(_status(running_debug=True, file_debug=True, live_restore=True)))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        assert "keeps containers running" in _text(app.screen.query_one("#restart-warning", Static))
        await pilot.click("#target")
        await pilot.click("#restart")
        await pilot.pause()
    assert app.result == DebugRequest(enable=False, apply="restart")


async def test_debug_screen_blocks_on_flag_conflict_and_no_restart():
    st = _status(
        flag_conflicts=["the dockerd command line has --debug, which sets 'debug'"],
        restart_method=None,
        restart_advice="dockerd 1234 was started by hand: stop it and start it again",
    )
    app = Host(DaemonDebugScreen(st))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        scr = app.screen
        assert "--debug" in _text(scr.query_one("#blocked", Static))
        assert (
            scr.query_one("#reload", Button).disabled and scr.query_one("#restart", Button).disabled
        )
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None


def test_every_binding_has_a_description_and_no_modal_letter_applies():
    for cls in (CreateNetworkScreen, ConnectScreen, PlanScreen, DaemonDebugScreen):
        keys = set()
        for b in cls.BINDINGS:
            assert b.description, (cls.__name__, b.key)
            assert b.id, (cls.__name__, b.key)
            keys.update(b.key.split(","))
        assert "escape" in keys, cls.__name__
        if cls in (PlanScreen, DaemonDebugScreen):
            assert not [k for k in keys if len(k) == 1], cls.__name__


# --------------------------------------------------------------------------- flows (form -> plan -> confirm -> action)


class FlowHost(App):
    def __init__(self, host: str) -> None:
        super().__init__()
        from tui.confirm import ActionFlows

        self.changes: list = []
        self.flows = ActionFlows(
            self,
            host,
            on_changed=self.changes.append,
            settings=__import__("inspectors.config", fromlist=["Settings"]).Settings(),
        )


async def _until(pilot, cond, timeout: float = 20.0):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        await pilot.pause(0.05)
        if cond():
            return True
    raise AssertionError("timed out waiting")


def _showing(app, cls) -> bool:
    """``cls`` is on top and composed (its buttons, the last widgets, are mounted)."""
    scr = app.screen
    return isinstance(scr, cls) and scr.is_mounted and bool(scr.query(Button))


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _confirm(pilot, app):
    await _until(pilot, lambda: _showing(app, PlanScreen))
    await pilot.press("tab", "enter")


@pytest.mark.engine
async def test_flow_create_confirm_then_undo_and_remove(daemon, uniq):
    client = daemon.client()
    name = f"flow-{uniq}"
    ctr = f"flowc-{uniq}"
    try:
        sub = _free_subnet(gather_create_context(client))
        app = FlowHost(daemon.host)
        async with app.run_test(size=(110, 50)) as pilot:
            app.flows.open("CreateNetworkScreen")
            await _until(pilot, lambda: _showing(app, CreateNetworkScreen))
            await _type(pilot, "name", name)
            await _type(pilot, "subnet", sub)
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: _showing(app, PlanScreen))
            scr = app.screen
            assert _text(scr.query_one("#plan-command", Static)) == (
                f"$ docker network create --subnet {sub} {name}"
            )
            assert name not in {n.name for n in client.networks.list()}  # not before confirm
            await pilot.press("escape")  # cancelled: nothing created
            await _until(pilot, lambda: any("cancelled" in n for n in _notes(app)))
            assert name not in {n.name for n in client.networks.list()} and not app.changes
            app.flows.open("CreateNetworkScreen")
            await _until(pilot, lambda: _showing(app, CreateNetworkScreen))
            await _type(pilot, "name", name)
            await _type(pilot, "subnet", sub)
            await pilot.press("ctrl+s")
            await _confirm(pilot, app)
            await _until(pilot, lambda: app.changes)
            assert client.networks.get(name).attrs["IPAM"]["Config"][0]["Subnet"] == sub
            # undo: planned and confirmed like any change
            app.flows.undo_last()
            await _until(pilot, lambda: _showing(app, PlanScreen))
            assert f"remove network {name}" in _text(app.screen.query_one("#plan-changes", Static))
            await pilot.press("tab", "enter")
            await _until(pilot, lambda: len(app.changes) == 2)
            assert name not in {n.name for n in client.networks.list()}
            # remove with an endpoint: the plan lists it
            create_network(client, NetworkSpec(name=name, subnet=sub))
            daemon.docker("run", "-d", "--name", ctr, "--network", name, IMAGE, "sleep", "600")
            app.flows.open("remove_network", network=name)
            await _until(pilot, lambda: _showing(app, PlanScreen))
            assert ctr in _text(app.screen.query_one("#plan-changes", Static))
            assert f"$ docker network disconnect -f {name} {ctr} && docker network rm {name}" == (
                _text(app.screen.query_one("#plan-command", Static))
            )
            await pilot.press("tab", "enter")
            await _until(pilot, lambda: len(app.changes) == 3)
            assert name not in {n.name for n in client.networks.list()}
    finally:
        daemon.docker("rm", "-f", ctr, check=False)
        daemon.docker("network", "rm", name, check=False)
        client.close()


@pytest.mark.engine
async def test_flow_engine_refusal_is_notified_as_text(daemon, uniq):
    app = FlowHost(daemon.host)
    async with app.run_test(size=(110, 50)) as pilot:
        app.flows.open("CreateNetworkScreen")
        await _until(pilot, lambda: _showing(app, CreateNetworkScreen))
        await _type(pilot, "name", f"fr-{uniq}")
        await _type(pilot, "options", "com.docker.network.driver.mtu=[b]x[/b]")
        await pilot.press("ctrl+s")
        await _confirm(pilot, app)
        await _until(pilot, lambda: any("the engine refused" in n for n in _notes(app)))
    note = next(n for n in _notes(app) if "the engine refused" in n)
    assert "failed to parse com.docker.network.driver.mtu value: [b]x[/b]" in note
    assert not app.changes


def _debug_now(daemon) -> bool:
    c = daemon.client()
    try:
        return c.info()["Debug"]
    finally:
        c.close()


@pytest.mark.engine
async def test_flow_daemon_debug_cancelled_then_applied(daemon):
    import json as _json
    import os
    import signal
    import time

    raw = daemon.config_file.read_bytes()
    app = FlowHost(daemon.host)
    try:
        async with app.run_test(size=(110, 50)) as pilot:
            # cancelled at the plan: nothing written, nothing signalled
            app.flows.open("DaemonDebugScreen")
            await _until(pilot, lambda: _showing(app, DaemonDebugScreen))
            await pilot.click("#target")
            await pilot.click("#reload")
            await _until(pilot, lambda: _showing(app, PlanScreen))
            assert "debug" in _text(app.screen.query_one("#plan-changes", Static))
            await pilot.press("enter")  # Cancel is focused
            await _until(pilot, lambda: any("cancelled" in n for n in _notes(app)))
            assert daemon.config_file.read_bytes() == raw and _debug_now(daemon) is False
            # applied
            app.flows.open("DaemonDebugScreen")
            await _until(pilot, lambda: _showing(app, DaemonDebugScreen))
            await pilot.click("#target")
            await pilot.click("#reload")
            await _confirm(pilot, app)
            await _until(pilot, lambda: app.changes, timeout=30)
            assert app.changes[0].ok and app.changes[0].confirmed
            assert _debug_now(daemon) is True
    finally:
        daemon.config_file.write_text(_json.dumps({**_json.loads(raw or b"{}"), "debug": False}))
        os.kill(daemon.pid(), signal.SIGHUP)
        deadline = time.time() + 10
        while _debug_now(daemon) and time.time() < deadline:
            time.sleep(0.2)
        daemon.config_file.write_bytes(raw)
        for f in os.listdir(daemon.config_file.parent):
            if f.startswith("daemon.json.bak."):
                os.unlink(daemon.config_file.parent / f)


@pytest.mark.engine
async def test_console_D_opens_at_the_current_state_and_r_applies_nothing(daemon):
    """The real console: `D` shows the switch at the current state with Cancel focused;
    `r` (the app's refresh) and every letter do nothing there; the change happens only
    through the plan's Confirm."""
    from textual.widgets import Switch

    from inspectors.config import Settings
    from inspectors.snapshot import Model
    from tui.app import DockscopeApp

    raw = daemon.config_file.read_bytes()
    app = DockscopeApp(model=Model(daemon.host), settings=Settings())
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: "build" in app.painted or "reconnect" in app.painted, 30)
            await pilot.press("D")
            await _until(pilot, lambda: _showing(app, DaemonDebugScreen))
            scr = app.screen
            assert scr.query_one("#target", Switch).value is _debug_now(daemon) is False
            assert scr.query_one("#cancel", Button).has_focus
            await pilot.press("r", "R", "t", "y")
            await pilot.pause(0.3)
            assert app.screen is scr
            assert daemon.config_file.read_bytes() == raw and _debug_now(daemon) is False
            await pilot.click("#target")
            await pilot.click("#reload")
            await _until(pilot, lambda: _showing(app, PlanScreen))
            await pilot.press("r", "y", "enter")  # letters ignored; enter = the focused Cancel
            await _until(pilot, lambda: not isinstance(app.screen, (PlanScreen, DaemonDebugScreen)))
            await pilot.pause(0.5)
            assert daemon.config_file.read_bytes() == raw and _debug_now(daemon) is False
    finally:
        daemon.config_file.write_bytes(raw)
