"""Network actions on the harness engine: create per driver, validation, connect, rm, CLI."""

from __future__ import annotations

import ipaddress
import json
import random
import subprocess
import time

import pytest

from actions import guard
from actions.networks import (
    ConnectSpec,
    HasEndpoints,
    NetworkSpec,
    connect,
    create_command,
    create_network,
    disconnect,
    gather_connect_context,
    gather_create_context,
    remove_network,
    validate_connect,
    validate_create,
)
from actions.validate import EngineRefused, ValidationFailed
from tests.harness import IMAGE

pytestmark = pytest.mark.engine


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _writable():
    guard.set_read_only(False)
    yield
    guard.set_read_only(False)


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


@pytest.fixture
def made(daemon):
    """Collects networks/containers/links a test creates; removes them after."""
    things = {"containers": [], "networks": [], "links": []}
    yield things
    for c in things["containers"]:
        daemon.docker("rm", "-f", c, check=False)
    for n in reversed(things["networks"]):
        daemon.docker("network", "rm", n, check=False)
    for l in things["links"]:
        subprocess.run(["ip", "link", "del", l], capture_output=True)


def free_subnet(client, prefix: int = 24) -> str:
    """A /24 under 10.64.0.0/10 that nothing on the host or the engine uses."""
    ctx = gather_create_context(client)
    rnd = random.Random()
    for _ in range(200):
        cand = f"10.{rnd.randint(64, 127)}.{rnd.randint(0, 255)}.0/{prefix}"
        if not [e for e in validate_create(NetworkSpec(name="probe-x", subnet=cand), ctx)]:
            return cand
    raise RuntimeError("no free subnet")


def net_names(daemon) -> list[str]:
    return daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()


def inspect(daemon, *args) -> dict:
    return json.loads(daemon.docker("inspect", *args).stdout)[0]


def run_container(daemon, made, name: str, *extra: str) -> str:
    daemon.docker("run", "-d", "--name", name, *extra, IMAGE, "sleep", "600")
    made["containers"].append(name)
    return name


def veth(made, name: str, peer: str, up: bool = True) -> str:
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    made["links"].append(name)
    if up:
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        subprocess.run(["ip", "link", "set", peer, "up"], check=True)
    return name


def errors_of(spec, client) -> dict[str, str]:
    errs = validate_create(spec, gather_create_context(client))
    out: dict[str, str] = {}
    for e in errs:
        out[e.field] = (out.get(e.field, "") + " | " + e.message).strip(" |")
    return out


def assert_refused_nothing_created(daemon, client, spec, field, fragment):
    before = net_names(daemon)
    with pytest.raises(ValidationFailed) as ei:
        create_network(client, spec)
    msgs = [e.message for e in ei.value.errors if e.field == field]
    assert msgs, f"no error on {field}: {ei.value.errors}"
    assert any(fragment in m for m in msgs), msgs
    assert set(net_names(daemon)) <= set(before)  # nothing new (swarm removals are async)


# --------------------------------------------------------------------------- create


def test_create_bridge_with_everything_then_undo(daemon, client, made, uniq):
    sub = free_subnet(client)
    net = ipaddress.ip_network(sub)
    gw = str(net.network_address + 1)
    rng = str(list(net.subnets(new_prefix=25))[1])
    name = f"dsbr-{uniq}"
    spec = NetworkSpec(
        name=name,
        subnet=sub,
        gateway=gw,
        ip_range=rng,
        internal=True,
        options=["com.docker.network.driver.mtu=1400"],
        labels=["team=ops"],
    )
    res = create_network(client, spec)
    made["networks"].append(name)
    assert res.command == (
        f"docker network create --subnet {sub} --gateway {gw} --ip-range {rng} "
        f"--internal -o com.docker.network.driver.mtu=1400 --label team=ops {name}"
    )
    assert res.changed == [f"created network {name} (bridge, {sub})"]
    attrs = json.loads(daemon.docker("network", "inspect", name).stdout)[0]
    cfg = attrs["IPAM"]["Config"][0]
    assert (cfg["Subnet"], cfg["Gateway"], cfg["IPRange"]) == (sub, gw, rng)
    assert attrs["Internal"] is True
    assert attrs["Labels"] == {"team": "ops"}
    assert attrs["Options"]["com.docker.network.driver.mtu"] == "1400"
    # undo removes it
    assert res.undo_command == f"docker network rm {name}"
    res.undo()
    assert name not in net_names(daemon)


def test_create_the_same_command_as_docker_cli(client, uniq):
    spec = NetworkSpec(
        name=f"n{uniq}",
        driver="macvlan",
        parent="eth9",
        subnet="10.9.0.0/24",
        ipv6=True,
        subnet_v6="fd00:9::/64",
        attachable=True,
        labels=["a=b c"],
    )
    assert create_command(spec) == (
        f"docker network create --driver macvlan --subnet 10.9.0.0/24 "
        f"--ipv6 --subnet fd00:9::/64 --attachable -o parent=eth9 "
        f"--label 'a=b c' n{uniq}"
    )


@pytest.mark.parametrize(
    "spec_kw, field, fragment",
    [
        (dict(name="-bad"), "name", "must start with a letter or digit"),
        (dict(name="bad name"), "name", "invalid network name"),
        (dict(name=""), "name", "required"),
        (dict(driver="weave"), "driver", "not one of bridge, macvlan, ipvlan, overlay"),
        (dict(subnet="10.1.2.0"), "subnet", "CIDR"),
        (dict(subnet="10.1.300.0/24"), "subnet", "not a valid CIDR"),
        (dict(subnet="10.1.2.3/24"), "subnet", "host bits set (did you mean 10.1.2.0/24?)"),
        (dict(subnet="fd00::/64"), "subnet", "not an IPv4 subnet"),
        (dict(gateway="10.1.2.1"), "gateway", "needs a subnet"),
        (dict(subnet="SUB", gateway="192.0.2.77"), "gateway", "is not inside the subnet"),
        (dict(subnet="SUB", gateway="NETADDR"), "gateway", "is the network address"),
        (dict(subnet="SUB", gateway="BCAST"), "gateway", "is the broadcast address"),
        (dict(subnet="SUB", gateway="nope"), "gateway", "not a valid IP address"),
        (dict(subnet="SUB", ip_range="192.0.2.0/25"), "ip_range", "is not inside the subnet"),
        (dict(ip_range="10.1.2.0/25"), "ip_range", "needs a subnet"),
        (dict(ipv6=True), "subnet_v6", "give an IPv6 subnet"),
        (dict(subnet_v6="fd00:1::/64"), "subnet_v6", "needs IPv6 enabled"),
        (dict(ipv6=True, subnet_v6="10.1.0.0/24"), "subnet_v6", "not an IPv6 subnet"),
        (dict(options=["mtu"]), "options", "is not key=value"),
        (dict(options=["=1400"]), "options", "invalid key"),
        (dict(labels=["team ops=x"]), "labels", "invalid key"),
        (dict(labels=["team"]), "labels", "is not key=value"),
        (dict(driver="macvlan", parent="nosuch0"), "parent", "does not exist on this host"),
        (dict(driver="bridge", parent="eth0"), "parent", "only used by macvlan/ipvlan"),
    ],
)
def test_validation_errors_create_nothing(daemon, client, uniq, spec_kw, field, fragment):
    kw = dict(spec_kw)
    sub = ipaddress.ip_network(free_subnet(client))
    repl = {
        "SUB": str(sub),
        "NETADDR": str(sub.network_address),
        "BCAST": str(sub.broadcast_address),
    }
    kw = {k: repl.get(v, v) if isinstance(v, str) else v for k, v in kw.items()}
    kw.setdefault("name", f"val-{uniq}")
    assert_refused_nothing_created(daemon, client, NetworkSpec(**kw), field, fragment)


def test_duplicate_name_and_overlap_with_a_docker_network(daemon, client, made, uniq):
    sub = free_subnet(client)
    name = f"dsa-{uniq}"
    create_network(client, NetworkSpec(name=name, subnet=sub))
    made["networks"].append(name)
    assert_refused_nothing_created(daemon, client, NetworkSpec(name=name), "name", "already exists")
    wider = str(ipaddress.ip_network(sub).supernet(new_prefix=20))
    assert_refused_nothing_created(
        daemon,
        client,
        NetworkSpec(name=f"dsb-{uniq}", subnet=wider),
        "subnet",
        f"overlaps {sub} of docker network '{name}'",
    )


def test_overlap_with_host_interface_and_host_route(daemon, client, made, uniq):
    # a "VPN" interface: a veth named like wireguard, with an address and a route
    sub = ipaddress.ip_network(free_subnet(client))
    routed = ipaddress.ip_network(free_subnet(client))
    wg = veth(made, f"wg{uniq}", f"wp{uniq}")
    subprocess.run(["ip", "addr", "add", f"{sub.network_address + 5}/24", "dev", wg], check=True)
    subprocess.run(["ip", "route", "add", str(routed), "dev", wg], check=True)
    assert_refused_nothing_created(
        daemon,
        client,
        NetworkSpec(name=f"ov-{uniq}", subnet=str(sub)),
        "subnet",
        f"overlaps {sub} on host interface {wg} (a VPN interface?) (address {sub.network_address + 5}/24)",
    )
    assert_refused_nothing_created(
        daemon,
        client,
        NetworkSpec(name=f"ov-{uniq}", subnet=str(routed)),
        "subnet",
        f"overlaps the host route {routed} via {wg} (a VPN interface?)",
    )


def test_macvlan_on_a_veth_parent(daemon, client, made, uniq):
    parent = veth(made, f"dsm{uniq}", f"dsn{uniq}")
    sub = free_subnet(client)
    name = f"mv-{uniq}"
    res = create_network(
        client, NetworkSpec(name=name, driver="macvlan", parent=parent, subnet=sub)
    )
    made["networks"].append(name)
    assert (
        res.command
        == f"docker network create --driver macvlan --subnet {sub} -o parent={parent} {name}"
    )
    attrs = json.loads(daemon.docker("network", "inspect", name).stdout)[0]
    assert attrs["Driver"] == "macvlan" and attrs["Options"]["parent"] == parent
    c = run_container(daemon, made, f"mvc-{uniq}", "--network", name)
    ip = inspect(daemon, c)["NetworkSettings"]["Networks"][name]["IPAddress"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(sub)
    # one macvlan network per parent
    assert_refused_nothing_created(
        daemon,
        client,
        NetworkSpec(
            name=f"mv2-{uniq}", driver="macvlan", parent=parent, subnet=free_subnet(client)
        ),
        "parent",
        f"network '{name}' (macvlan) already uses parent {parent}",
    )
    # a parent that is down
    down = veth(made, f"dsd{uniq}", f"dse{uniq}", up=False)
    assert_refused_nothing_created(
        daemon,
        client,
        NetworkSpec(name=f"mv3-{uniq}", driver="macvlan", parent=down),
        "parent",
        f"parent interface {down} is down",
    )


def test_ipvlan_tried_for_real(daemon, client, made, uniq):
    parent = veth(made, f"dsi{uniq}", f"dsj{uniq}")
    name = f"ipv-{uniq}"
    create_network(
        client, NetworkSpec(name=name, driver="ipvlan", parent=parent, subnet=free_subnet(client))
    )
    made["networks"].append(name)
    r = daemon.docker(
        "run", "-d", "--name", f"ipc-{uniq}", "--network", name, IMAGE, "sleep", "60", check=False
    )
    made["containers"].append(f"ipc-{uniq}")
    if r.returncode != 0:
        pytest.skip("ipvlan is not supported by this kernel: " + r.stderr.strip().splitlines()[0])
    assert inspect(daemon, f"ipc-{uniq}")["NetworkSettings"]["Networks"][name]["IPAddress"]


def test_overlay_needs_swarm_is_checked(client, uniq):
    ctx = gather_create_context(client)
    ctx.swarm_state = "inactive"
    errs = validate_create(NetworkSpec(name=f"o{uniq}", driver="overlay"), ctx)
    assert [e.field for e in errs] == ["driver"]
    assert "overlay needs swarm mode" in errs[0].message and "docker swarm init" in errs[0].message


@pytest.mark.swarm
def test_overlay_after_swarm_init(daemon, client, made, uniq):
    try:
        daemon.swarm_init()
    except RuntimeError as e:
        if "address already in use" in str(e):
            pytest.skip(f"another daemon on this host is in swarm mode: {e}")
        raise
    name = f"ovl-{uniq}"
    res = create_network(
        client,
        NetworkSpec(name=name, driver="overlay", attachable=True, subnet=free_subnet(client)),
    )
    made["networks"].append(name)
    assert "--driver overlay" in res.command and "--attachable" in res.command
    attrs = json.loads(daemon.docker("network", "inspect", name).stdout)[0]
    assert attrs["Driver"] == "overlay" and attrs["Scope"] == "swarm" and attrs["Attachable"]
    c = run_container(daemon, made, f"ovc-{uniq}", "--network", name)
    assert inspect(daemon, c)["NetworkSettings"]["Networks"][name]["IPAddress"]


def test_engine_refusal_is_verbatim(daemon, client, uniq):
    before = net_names(daemon)
    with pytest.raises(EngineRefused) as ei:
        create_network(
            client, NetworkSpec(name=f"mtu-{uniq}", options=["com.docker.network.driver.mtu=abc"])
        )
    assert "failed to parse com.docker.network.driver.mtu value: abc" in ei.value.detail
    assert "Traceback" not in str(ei.value)
    assert set(net_names(daemon)) <= set(before)  # nothing new (swarm removals are async)


# --------------------------------------------------------------------------- connect


def _net(client, made, uniq, suffix="") -> tuple[str, ipaddress.IPv4Network]:
    sub = free_subnet(client)
    name = f"cn{suffix}-{uniq}"
    create_network(client, NetworkSpec(name=name, subnet=sub))
    made["networks"].append(name)
    return name, ipaddress.ip_network(sub)


def _resolve(daemon, container: str, name: str) -> str:
    deadline = time.time() + 10
    out = ""
    while time.time() < deadline:
        r = daemon.docker("exec", container, "nslookup", name, check=False)
        out = r.stdout + r.stderr
        if r.returncode == 0:
            return out
        time.sleep(0.5)
    return out


def test_connect_with_alias_and_ip_resolves_then_undo(daemon, client, made, uniq):
    net, sub = _net(client, made, uniq)
    c1 = run_container(daemon, made, f"c1-{uniq}")
    c2 = run_container(daemon, made, f"c2-{uniq}", "--network", net)
    ip = str(sub.network_address + 50)
    res = connect(client, net, c1, aliases=[f"web-{uniq}"], ipv4=ip)
    assert res.command == f"docker network connect --alias web-{uniq} --ip {ip} {net} {c1}"
    assert res.changed == [f"connected {c1} to {net} as {ip} (aliases: web-{uniq})"]
    ep = inspect(daemon, c1)["NetworkSettings"]["Networks"][net]
    assert ep["IPAddress"] == ip and f"web-{uniq}" in ep["Aliases"]
    assert ep["IPAMConfig"]["IPv4Address"] == ip
    out = _resolve(daemon, c2, f"web-{uniq}")
    assert ip in out, out
    # undo = disconnect
    assert res.undo_command == f"docker network disconnect {net} {c1}"
    res.undo()
    assert net not in inspect(daemon, c1)["NetworkSettings"]["Networks"]


def test_disconnect_remembers_ip_and_aliases_for_undo(daemon, client, made, uniq):
    net, sub = _net(client, made, uniq)
    c1 = run_container(daemon, made, f"d1-{uniq}")
    ip = str(sub.network_address + 60)
    connect(client, net, c1, aliases=["db", "db2"], ipv4=ip)
    res = disconnect(client, net, c1)
    assert res.command == f"docker network disconnect {net} {c1}"
    assert res.changed == [f"disconnected {c1} from {net} (was {ip})"]
    assert net not in inspect(daemon, c1)["NetworkSettings"]["Networks"]
    assert res.undo_command == f"docker network connect --alias db --alias db2 --ip {ip} {net} {c1}"
    back = res.undo()
    ep = inspect(daemon, c1)["NetworkSettings"]["Networks"][net]
    assert ep["IPAddress"] == ip
    assert {"db", "db2"} <= set(ep["Aliases"])
    assert back.action == "network connect"


def test_connect_validation(daemon, client, made, uniq):
    net, sub = _net(client, made, uniq)
    c1 = run_container(
        daemon, made, f"v1-{uniq}", "--network", net, "--ip", str(sub.network_address + 9)
    )
    c2 = run_container(daemon, made, f"v2-{uniq}")
    hostc = run_container(daemon, made, f"vh-{uniq}", "--network", "host")
    ctx = gather_connect_context(client)

    def errs(**kw):
        return {e.field: e.message for e in validate_connect(ConnectSpec(**kw), ctx)}

    assert "no such container" in errs(network=net, container=f"nope-{uniq}")["container"]
    assert "no such network" in errs(network=f"nope-{uniq}", container=c2)["network"]
    assert "already connected" in errs(network=net, container=c1)["container"]
    assert "uses network mode 'host'" in errs(network=net, container=hostc)["container"]
    assert "not inside" in errs(network=net, container=c2, ipv4="192.0.2.9")["ipv4"]
    assert "not a valid IP" in errs(network=net, container=c2, ipv4="10.0.0.300")["ipv4"]
    assert (
        "is the gateway"
        in errs(network=net, container=c2, ipv4=str(sub.network_address + 1))["ipv4"]
    )
    assert "user-defined networks" in errs(network="bridge", container=c2, ipv4="10.0.0.5")["ipv4"]
    assert "user-defined network" in errs(network="bridge", container=c2, aliases=["x"])["aliases"]
    assert "invalid alias" in errs(network=net, container=c2, aliases=["bad alias"])["aliases"]
    assert "cannot be connected" in errs(network="none", container=c2)["network"]
    # the action validates too (IP in use is only known from the network's endpoints)
    before = inspect(daemon, c2)["NetworkSettings"]["Networks"]
    with pytest.raises(ValidationFailed) as ei:
        connect(client, net, c2, ipv4=str(sub.network_address + 9))
    assert f"already used by {c1}" in str(ei.value)
    assert inspect(daemon, c2)["NetworkSettings"]["Networks"] == before


def test_fixed_ip_on_an_automatic_subnet_is_the_engines_refusal(daemon, client, made, uniq):
    name = f"auto-{uniq}"
    create_network(client, NetworkSpec(name=name))
    made["networks"].append(name)
    c = run_container(daemon, made, f"a1-{uniq}")
    sub = json.loads(daemon.docker("network", "inspect", name).stdout)[0]["IPAM"]["Config"][0][
        "Subnet"
    ]
    ip = str(ipaddress.ip_network(sub).network_address + 77)
    with pytest.raises(EngineRefused) as ei:
        connect(client, name, c, ipv4=ip)
    assert ei.value.detail == (
        "user specified IP address is supported only when connecting to "
        "networks with user configured subnets"
    )
    assert name not in inspect(daemon, c)["NetworkSettings"]["Networks"]


# --------------------------------------------------------------------------- remove


def test_remove_with_endpoints_refused_then_forced_then_undone(daemon, client, made, uniq):
    net, sub = _net(client, made, uniq, "r")
    a = run_container(daemon, made, f"ra-{uniq}", "--network", net)
    b = run_container(daemon, made, f"rb-{uniq}")
    connect(client, net, b, aliases=["bee"], ipv4=str(sub.network_address + 40))
    with pytest.raises(HasEndpoints) as ei:
        remove_network(client, net)
    assert [e["container"] for e in ei.value.endpoints] == sorted([a, b])
    assert f"{b} ({sub.network_address + 40})" in ei.value.detail
    assert net in net_names(daemon)
    res = remove_network(client, net, force=True)
    assert net not in net_names(daemon)
    assert res.details["disconnected"] == sorted([a, b])
    assert res.changed[-1] == f"removed network {net}"
    assert net not in inspect(daemon, b)["NetworkSettings"]["Networks"]
    # undo recreates it with the same subnet and reconnects both (b keeps its IP and alias)
    res.undo()
    attrs = json.loads(daemon.docker("network", "inspect", net).stdout)[0]
    assert attrs["IPAM"]["Config"][0]["Subnet"] == str(sub)
    epb = inspect(daemon, b)["NetworkSettings"]["Networks"][net]
    assert epb["IPAddress"] == str(sub.network_address + 40) and "bee" in epb["Aliases"]
    assert net in inspect(daemon, a)["NetworkSettings"]["Networks"]


def test_remove_predefined_and_missing(daemon, client, uniq):
    with pytest.raises(ValidationFailed, match="pre-defined"):
        remove_network(client, "bridge")
    with pytest.raises(ValidationFailed, match="no such network"):
        remove_network(client, f"nope-{uniq}")


# --------------------------------------------------------------------------- CLI


def _cli(daemon, monkeypatch, tmp_path, capsys, *argv):
    from tui.cli import main

    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    monkeypatch.setenv("DOCKSCOPE_CONFIG", str(tmp_path / "dockscope.json"))
    monkeypatch.delenv("DOCKSCOPE_READ_ONLY", raising=False)
    argv = list(argv)
    if argv and argv[-1] == "--ask":  # no terminal here: what an unconfirmed run does
        argv.pop()
    elif len(argv) > 1 and argv[0 if argv[0] != "--read-only" else 1] == "network":
        argv.append("--yes")
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_network_create_invalid_exit_2_one_line_per_field(
    daemon, monkeypatch, tmp_path, capsys, uniq
):
    before = net_names(daemon)
    rc, out, err = _cli(
        daemon,
        monkeypatch,
        tmp_path,
        capsys,
        "network",
        "create",
        "bad/name",
        "--subnet",
        "10.1.2.3/24",
        "--label",
        "nolabel",
    )
    assert rc == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("invalid name: invalid network name 'bad/name'")
    assert any(l.startswith("invalid subnet: '10.1.2.3/24' has host bits set") for l in lines)
    assert any(l.startswith("invalid labels: label 'nolabel' is not key=value") for l in lines)
    assert len(lines) == 3  # one line per problem, nothing more (walk 8)
    assert set(net_names(daemon)) <= set(before)  # nothing new (swarm removals are async)


def test_cli_network_lifecycle(daemon, client, made, monkeypatch, tmp_path, capsys, uniq):
    sub = free_subnet(client)
    name = f"cli-{uniq}"
    made["networks"].append(name)
    rc, out, err = _cli(
        daemon,
        monkeypatch,
        tmp_path,
        capsys,
        "network",
        "create",
        name,
        "--subnet",
        sub,
        "--label",
        "a=b",
    )
    assert rc == 0, err
    assert f"equivalent: docker network create --subnet {sub} --label a=b {name}" in out
    c = run_container(daemon, made, f"clic-{uniq}")
    ip = str(ipaddress.ip_network(sub).network_address + 8)
    rc, out, err = _cli(
        daemon,
        monkeypatch,
        tmp_path,
        capsys,
        "network",
        "connect",
        "--alias",
        "w",
        "--ip",
        ip,
        name,
        c,
    )
    assert rc == 0, err
    assert inspect(daemon, c)["NetworkSettings"]["Networks"][name]["IPAddress"] == ip
    rc, out, err = _cli(daemon, monkeypatch, tmp_path, capsys, "network", "rm", name)
    assert rc == 2 and f"has 1 endpoint(s): {c} ({ip})" in err
    rc, out, err = _cli(daemon, monkeypatch, tmp_path, capsys, "network", "disconnect", name, c)
    assert rc == 0 and f"undo: docker network connect --alias w --ip {ip} {name} {c}" in out
    rc, out, err = _cli(daemon, monkeypatch, tmp_path, capsys, "network", "rm", name)
    assert rc == 0 and name not in net_names(daemon)
    # engine refusal: exit 1 with its message
    rc, out, err = _cli(
        daemon,
        monkeypatch,
        tmp_path,
        capsys,
        "network",
        "create",
        name,
        "-o",
        "com.docker.network.driver.mtu=abc",
    )
    assert rc == 1
    assert err.startswith(
        "Error response from daemon: failed to parse com.docker.network.driver.mtu"
    )
    # read-only: exit 2, nothing created
    rc, out, err = _cli(
        daemon, monkeypatch, tmp_path, capsys, "--read-only", "network", "create", name
    )
    assert rc == 2 and "read-only" in err
    assert name not in net_names(daemon)
