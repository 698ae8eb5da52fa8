"""Network actions: create, connect, disconnect, remove.

Each one checks the read-only switch, validates against what the engine and
the host kernel say (nothing is sent to the engine on invalid input: a
:class:`~actions.validate.ValidationFailed` lists the :class:`FieldError`\\ s),
does one thing, and returns an :class:`~actions.validate.ActionResult` with
what changed, the equivalent ``docker`` command line and an ``undo`` where the
reverse exists. The engine's own refusal is raised as
:class:`~actions.validate.EngineRefused` with its message verbatim.

``client`` is a ``docker.DockerClient`` (``inspectors.api.sdk_client``).
The docker SDK is imported lazily.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from actions import guard
from actions.validate import (
    ActionError,
    ActionResult,
    EngineRefused,
    FieldError,
    ValidationFailed,
    check_name,
    cli,
    engine_message,
    iface_hint,
    parse_cidr,
    parse_ip,
    parse_kv,
    split_words,
)
from inspectors.model import Link, Network

DRIVERS = ("bridge", "macvlan", "ipvlan", "overlay")
PARENT_DRIVERS = ("macvlan", "ipvlan")
PREDEFINED = ("bridge", "host", "none")
DEFAULT_BRIDGE_OPT = "com.docker.network.bridge.default_bridge"


# --------------------------------------------------------------------------- specs


@dataclass
class NetworkSpec:
    """What `docker network create` takes. ``options``/``labels``: ["k=v", ...]."""

    name: str = ""
    driver: str = "bridge"
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    ipv6: bool = False
    subnet_v6: str = ""
    internal: bool = False
    attachable: bool = False
    parent: str = ""  # macvlan/ipvlan: becomes -o parent=...
    options: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass
class ConnectSpec:
    network: str = ""
    container: str = ""
    aliases: list[str] = field(default_factory=list)
    ipv4: str = ""


@dataclass
class HostRoute:
    dst: str  # CIDR
    dev: str | None = None


@dataclass
class ContainerRef:
    id: str
    name: str
    networks: list[str] = field(default_factory=list)  # network names it is attached to
    network_mode: str | None = None
    state: str | None = None


@dataclass
class CreateContext:
    """What create validation checks against (gathered once, e.g. when a form opens)."""

    networks: list[Network] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    routes: list[HostRoute] = field(default_factory=list)
    swarm_state: str | None = None  # info()['Swarm']['LocalNodeState']
    local: bool = True  # the engine runs on this host: links/routes describe it
    notes: list[str] = field(default_factory=list)

    @property
    def swarm_active(self) -> bool:
        return self.swarm_state == "active"


@dataclass
class ConnectContext:
    networks: list[Network] = field(default_factory=list)
    containers: list[ContainerRef] = field(default_factory=list)


# --------------------------------------------------------------------------- gathering (reads only)


def _is_local_client(client) -> bool:
    base = getattr(getattr(client, "api", None), "base_url", "") or ""
    return base.startswith("http+docker://localhost") or "localunixsocket" in base


def _api_error():
    from docker.errors import APIError

    return APIError


def read_host_links() -> list[Link]:
    """Host links with their addresses (``inspectors.kernel.read_links``)."""
    from inspectors import kernel

    return list(kernel.read_links())


def read_host_routes() -> list[HostRoute]:
    """Host routes a new subnet can collide with, with their device: the one
    route reader and overlap rule the doctor uses too
    (``inspectors.routes.read_routes`` + ``overlap_candidates``)."""
    from inspectors import routes

    return [
        HostRoute(str(net), r.dev) for net, r in routes.overlap_candidates(routes.read_routes())
    ]


def _parse_raw_networks(raws: list[dict]) -> list[Network]:
    from inspectors.engine import parse_network

    return [parse_network(r) for r in raws]


def gather_create_context(client, local: bool | None = None) -> CreateContext:
    ctx = CreateContext(local=_is_local_client(client) if local is None else local)
    ctx.networks = _parse_raw_networks(client.api.networks())
    info = client.info()
    ctx.swarm_state = (info.get("Swarm") or {}).get("LocalNodeState")
    if ctx.local:
        try:
            ctx.links = read_host_links()
            ctx.routes = read_host_routes()
        except Exception as e:  # netlink unavailable
            ctx.notes.append(f"host links/routes unavailable: {e}")
    else:
        ctx.notes.append("remote engine: host interfaces and routes were not checked")
    return ctx


def _container_ref(summary: dict) -> ContainerRef:
    names = summary.get("Names") or []
    nets = (summary.get("NetworkSettings") or {}).get("Networks") or {}
    return ContainerRef(
        id=summary.get("Id", ""),
        name=(names[0] if names else "").lstrip("/"),
        networks=sorted(nets),
        network_mode=(summary.get("HostConfig") or {}).get("NetworkMode"),
        state=summary.get("State"),
    )


def _container_ref_from_inspect(attrs: dict) -> ContainerRef:
    return ContainerRef(
        id=attrs.get("Id", ""),
        name=(attrs.get("Name") or "").lstrip("/"),
        networks=sorted((attrs.get("NetworkSettings") or {}).get("Networks") or {}),
        network_mode=(attrs.get("HostConfig") or {}).get("NetworkMode"),
        state=(attrs.get("State") or {}).get("Status"),
    )


def gather_connect_context(
    client, network: str | None = None, container: str | None = None
) -> ConnectContext:
    """All networks and containers, or (cheaper) just the two named ones."""
    from docker.errors import NotFound

    ctx = ConnectContext()
    if network is None and container is None:
        ctx.networks = _parse_raw_networks(client.api.networks())
        ctx.containers = [_container_ref(s) for s in client.api.containers(all=True)]
        return ctx
    from inspectors.engine import parse_network

    if network:
        try:
            ctx.networks = [parse_network(client.api.inspect_network(network))]
        except NotFound:
            pass
    if container:
        try:
            ctx.containers = [_container_ref_from_inspect(client.api.inspect_container(container))]
        except NotFound:
            pass
    return ctx


# --------------------------------------------------------------------------- lookups


def find_network(networks: list[Network], key: str) -> Network | None:
    for n in networks:
        if n.name == key or n.id == key:
            return n
    matches = [n for n in networks if len(key) >= 3 and n.id.startswith(key)]
    return matches[0] if len(matches) == 1 else None


def find_container(containers: list[ContainerRef], key: str) -> ContainerRef | None:
    key = key.lstrip("/")
    for c in containers:
        if c.name == key or c.id == key:
            return c
    matches = [c for c in containers if len(key) >= 3 and c.id.startswith(key)]
    return matches[0] if len(matches) == 1 else None


def is_user_defined(net: Network) -> bool:
    """docker's rule: not the default bridge, host or none."""
    if net.name in PREDEFINED or net.driver in ("host", "null"):
        return False
    return net.options.get(DEFAULT_BRIDGE_OPT) != "true"


def _link(links: list[Link], name: str) -> Link | None:
    return next((l for l in links if l.name == name), None)


# --------------------------------------------------------------------------- create


def spec_options(spec: NetworkSpec) -> tuple[dict[str, str], dict[str, str], list[FieldError]]:
    errs: list[FieldError] = []
    opts, oerr = parse_kv(spec.options, "option")
    errs += [FieldError("options", m) for m in oerr]
    labels, lerr = parse_kv(spec.labels, "label")
    errs += [FieldError("labels", m) for m in lerr]
    return opts, labels, errs


def effective_parent(spec: NetworkSpec, opts: dict[str, str] | None = None) -> str:
    if opts is None:
        opts, _ = parse_kv(spec.options, "option")
    return (spec.parent or opts.get("parent") or "").strip()


def validate_create(spec: NetworkSpec, context: CreateContext) -> list[FieldError]:
    """Every reason `docker network create` would fail or do harm, per field."""
    errs: list[FieldError] = []
    add = lambda f, m: errs.append(FieldError(f, m))  # noqa: E731

    # name
    msg = check_name(spec.name.strip(), "network name")
    if msg:
        add("name", msg)
    elif any(n.name == spec.name.strip() for n in context.networks):
        add("name", f"a network named {spec.name.strip()!r} already exists")

    # driver
    driver = (spec.driver or "").strip()
    if driver not in DRIVERS:
        add("driver", f"driver {driver!r} is not one of {', '.join(DRIVERS)}")

    opts, _labels, kv_errs = spec_options(spec)
    errs += kv_errs

    # v4 subnet, gateway, ip-range
    subnet = None
    if spec.subnet.strip():
        subnet, m = parse_cidr(spec.subnet, 4)
        if m:
            add("subnet", m)
    if spec.gateway.strip():
        gw, m = parse_ip(spec.gateway, 4)
        if m:
            add("gateway", m)
        elif not spec.subnet.strip():
            add("gateway", "a gateway needs a subnet (--subnet)")
        elif subnet is not None:
            if gw not in subnet:
                add("gateway", f"{gw} is not inside the subnet {subnet}")
            elif subnet.prefixlen <= 30 and gw == subnet.network_address:
                add("gateway", f"{gw} is the network address of {subnet}")
            elif subnet.prefixlen <= 30 and gw == subnet.broadcast_address:
                add("gateway", f"{gw} is the broadcast address of {subnet}")
    if spec.ip_range.strip():
        rng, m = parse_cidr(spec.ip_range, 4)
        if m:
            add("ip_range", m)
        elif not spec.subnet.strip():
            add("ip_range", "an IP range needs a subnet (--subnet)")
        elif subnet is not None and not rng.subnet_of(subnet):
            add("ip_range", f"{rng} is not inside the subnet {subnet}")

    # IPv6
    subnet6 = None
    if spec.ipv6 and not spec.subnet_v6.strip():
        add("subnet_v6", "IPv6 is enabled: give an IPv6 subnet (e.g. fd00:db8:1::/64)")
    if spec.subnet_v6.strip():
        if not spec.ipv6:
            add("subnet_v6", "an IPv6 subnet needs IPv6 enabled (--ipv6)")
        subnet6, m = parse_cidr(spec.subnet_v6, 6)
        if m:
            add("subnet_v6", m)

    # parent (macvlan / ipvlan)
    parent = effective_parent(spec, opts)
    if spec.parent.strip() and opts.get("parent") and opts["parent"] != spec.parent.strip():
        add("parent", f"parent {spec.parent.strip()!r} differs from -o parent={opts['parent']}")
    if parent and driver not in PARENT_DRIVERS:
        add(
            "parent",
            f"a parent interface is only used by macvlan/ipvlan, not {driver or 'this driver'}",
        )
    if parent and driver in PARENT_DRIVERS:
        base = parent.split(".", 1)[0] if "." in parent else parent
        if context.local:
            link = _link(context.links, parent) or (
                _link(context.links, base) if base != parent else None
            )
            if link is None:
                add("parent", f"parent interface {parent!r} does not exist on this host")
            elif not link.admin_up and (link.operstate or "").upper() not in ("UP", "UNKNOWN"):
                add("parent", f"parent interface {link.name} is down (ip link set {link.name} up)")
        for n in context.networks:
            if n.driver in PARENT_DRIVERS and n.parent and n.parent == parent:
                add(
                    "parent",
                    f"network {n.name!r} ({n.driver}) already uses parent {parent}: "
                    "one macvlan/ipvlan network per parent (add subnets to it instead)",
                )

    # overlay
    if driver == "overlay" and not context.swarm_active:
        add(
            "driver",
            "overlay needs swarm mode: this engine's swarm state is "
            f"{context.swarm_state or 'inactive'!r} (docker swarm init)",
        )

    # overlaps (docker networks, then host routes and interface addresses)
    skip_devs = set()
    if parent and driver in PARENT_DRIVERS:
        skip_devs = {parent, parent.split(".", 1)[0]}  # macvlan lives on the parent's LAN
    for fname, net in (("subnet", subnet), ("subnet_v6", subnet6)):
        if net is None:
            continue
        msg = _overlap(net, context, skip_devs)
        if msg:
            add(fname, msg)
    return errs


def _overlap(net, context: CreateContext, skip_devs: set[str]) -> str | None:
    docker_bridges = set()
    for n in context.networks:
        if n.bridge:
            docker_bridges.add(n.bridge)
        for s in n.subnets:
            try:
                other = ipaddress.ip_network(s.subnet, strict=False)
            except ValueError:
                continue
            if other.version == net.version and net.overlaps(other):
                return f"{net} overlaps {other} of docker network {n.name!r}"
    if not context.local:
        return None
    for link in context.links:
        if link.name in skip_devs or link.name in docker_bridges:
            continue
        for a in link.addresses:
            try:
                iface = ipaddress.ip_interface(a)
            except ValueError:
                continue
            if iface.version != net.version or iface.network.prefixlen == 0:
                continue
            if iface.is_link_local or iface.ip.is_loopback:
                continue
            if net.overlaps(iface.network):
                return (
                    f"{net} overlaps {iface.network} on host interface "
                    f"{link.name}{iface_hint(link.name)} (address {a})"
                )
    for r in context.routes:
        if r.dev in skip_devs or r.dev in docker_bridges:
            continue
        other = ipaddress.ip_network(r.dst, strict=False)
        if other.version == net.version and net.overlaps(other):
            dev = r.dev or "?"
            return f"{net} overlaps the host route {other} via {dev}{iface_hint(dev)}"
    return None


def create_command(spec: NetworkSpec) -> str:
    """The equivalent `docker network create ...` line (also the form's preview)."""
    opts = parse_kv(spec.options, "option")[0]
    raw_opts = (
        split_words(spec.options)
        if isinstance(spec.options, str)
        else (
            [f"{k}={v}" for k, v in spec.options.items()]
            if isinstance(spec.options, dict)
            else [o.strip() for o in spec.options if o.strip()]
        )
    )
    raw_labels = (
        split_words(spec.labels)
        if isinstance(spec.labels, str)
        else (
            [f"{k}={v}" for k, v in spec.labels.items()]
            if isinstance(spec.labels, dict)
            else [o.strip() for o in spec.labels if o.strip()]
        )
    )
    words: list[Any] = ["docker", "network", "create"]
    if spec.driver and spec.driver != "bridge":
        words += ["--driver", spec.driver]
    if spec.subnet.strip():
        words += ["--subnet", spec.subnet.strip()]
    if spec.gateway.strip():
        words += ["--gateway", spec.gateway.strip()]
    if spec.ip_range.strip():
        words += ["--ip-range", spec.ip_range.strip()]
    if spec.ipv6:
        words.append("--ipv6")
    if spec.subnet_v6.strip():
        words += ["--subnet", spec.subnet_v6.strip()]
    if spec.internal:
        words.append("--internal")
    if spec.attachable:
        words.append("--attachable")
    parent = spec.parent.strip()
    if parent and "parent" not in opts:
        words += ["-o", f"parent={parent}"]
    for o in raw_opts:
        words += ["-o", o]
    for lab in raw_labels:
        words += ["--label", lab]
    words.append(spec.name.strip() or "NAME")
    return cli(*words)


def create_network(client, spec: NetworkSpec, context: CreateContext | None = None) -> ActionResult:
    guard.check_writable(f"create network {spec.name!r}")
    command = create_command(spec)
    if context is None:
        context = gather_create_context(client)
    errors = validate_create(spec, context)
    if errors:
        raise ValidationFailed(errors, command)
    from docker.types import IPAMConfig, IPAMPool

    opts, labels, _ = spec_options(spec)
    parent = effective_parent(spec, opts)
    if parent:
        opts["parent"] = parent
    pools = []
    if spec.subnet.strip():
        pools.append(
            IPAMPool(
                subnet=spec.subnet.strip(),
                gateway=spec.gateway.strip() or None,
                iprange=spec.ip_range.strip() or None,
            )
        )
    if spec.ipv6 and spec.subnet_v6.strip():
        pools.append(IPAMPool(subnet=spec.subnet_v6.strip()))
    name = spec.name.strip()
    guard.check_writable(f"create network {name!r}")
    try:
        net = client.networks.create(
            name,
            driver=spec.driver,
            options=opts or None,
            ipam=IPAMConfig(pool_configs=pools) if pools else None,
            check_duplicate=True,
            internal=bool(spec.internal),
            labels=labels or None,
            enable_ipv6=bool(spec.ipv6),
            attachable=bool(spec.attachable),
        )
    except _api_error() as e:
        raise EngineRefused(engine_message(e), command, getattr(e, "status_code", None))
    try:
        net.reload()
        attrs = net.attrs
    except Exception:
        attrs = {"Id": net.id, "IPAM": {"Config": []}}
    subnets = [
        c.get("Subnet") for c in ((attrs.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")
    ]
    what = (
        f"created network {name} ({spec.driver}"
        + (f", {', '.join(subnets)}" if subnets else "")
        + ")"
    )
    return ActionResult(
        action="network create",
        target=name,
        changed=[what],
        command=command,
        undo_description=f"remove network {name}",
        undo_command=cli("docker", "network", "rm", name),
        undo=lambda c=None: remove_network(c or client, name),
        details={"id": net.id, "subnets": subnets},
    )


# --------------------------------------------------------------------------- connect


def validate_connect(spec: ConnectSpec, context: ConnectContext) -> list[FieldError]:
    errs: list[FieldError] = []
    add = lambda f, m: errs.append(FieldError(f, m))  # noqa: E731
    net = ctr = None
    if not spec.network.strip():
        add("network", "a network is required")
    else:
        net = find_network(context.networks, spec.network.strip())
        if net is None:
            add("network", f"no such network: {spec.network.strip()}")
        elif net.driver in ("host", "null"):
            add(
                "network",
                f"containers cannot be connected to the {net.name!r} network "
                f"(driver {net.driver}); it is chosen at docker run",
            )
    if not spec.container.strip():
        add("container", "a container is required")
    else:
        ctr = find_container(context.containers, spec.container.strip())
        if ctr is None:
            add("container", f"no such container: {spec.container.strip()}")
        else:
            mode = ctr.network_mode or ""
            if mode == "host" or mode.startswith("container:"):
                add(
                    "container",
                    f"container {ctr.name} uses network mode {mode!r}: "
                    "it cannot join other networks",
                )
            elif net is not None and net.name in ctr.networks:
                add("container", f"container {ctr.name} is already connected to {net.name}")
    for a in spec.aliases:
        m = check_name(a, "alias")
        if m:
            add("aliases", m)
    if spec.aliases and net is not None and not is_user_defined(net):
        add("aliases", f"network-scoped aliases need a user-defined network ({net.name} is not)")
    if spec.ipv4.strip():
        ip, m = parse_ip(spec.ipv4, 4)
        if m:
            add("ipv4", m)
        elif net is not None:
            if not is_user_defined(net):
                add(
                    "ipv4",
                    f"a fixed IP is only supported on user-defined networks ({net.name} is not)",
                )
            else:
                v4 = [
                    ipaddress.ip_network(s.subnet, strict=False)
                    for s in net.subnets
                    if ":" not in s.subnet
                ]
                if not v4:
                    add(
                        "ipv4",
                        f"a fixed IP needs a network with a configured subnet ({net.name} has none)",
                    )
                elif not any(ip in s for s in v4):
                    add(
                        "ipv4",
                        f"{ip} is not inside {net.name}'s subnet {', '.join(str(s) for s in v4)}",
                    )
                else:
                    s = next(s for s in v4 if ip in s)
                    # without a configured gateway the default IPAM takes the first address
                    gws = {
                        sn.gateway
                        or str(ipaddress.ip_network(sn.subnet, strict=False).network_address + 1)
                        for sn in net.subnets
                        if ":" not in sn.subnet
                    }
                    if s.prefixlen <= 30 and ip in (s.network_address, s.broadcast_address):
                        add("ipv4", f"{ip} is the network or broadcast address of {s}")
                    elif str(ip) in gws:
                        add("ipv4", f"{ip} is the gateway of {net.name}")
                    else:
                        used = next((e for e in net.endpoints if e.ipv4 == str(ip)), None)
                        if used is not None:
                            add("ipv4", f"{ip} is already used by {used.container} on {net.name}")
    return errs


def connect_command(
    network: str, container: str, aliases: list[str] | None = None, ipv4: str | None = None
) -> str:
    words: list[Any] = ["docker", "network", "connect"]
    for a in aliases or []:
        words += ["--alias", a]
    if ipv4:
        words += ["--ip", ipv4]
    return cli(*words, network or "NETWORK", container or "CONTAINER")


def connect(
    client, network: str, container: str, aliases: list[str] | None = None, ipv4: str | None = None
) -> ActionResult:
    if isinstance(aliases, str):
        aliases = split_words(aliases)
    aliases = [a.strip() for a in (aliases or []) if a and a.strip()]
    ipv4 = (ipv4 or "").strip() or None
    command = connect_command(network, container, aliases, ipv4)
    guard.check_writable(f"connect {container} to {network}")
    ctx = gather_connect_context(client, network, container)
    spec = ConnectSpec(network=network, container=container, aliases=aliases, ipv4=ipv4 or "")
    errors = validate_connect(spec, ctx)
    if errors:
        raise ValidationFailed(errors, command)
    net, ctr = ctx.networks[0], ctx.containers[0]
    try:
        client.api.connect_container_to_network(
            ctr.id, net.id, aliases=aliases or None, ipv4_address=ipv4
        )
    except _api_error() as e:
        raise EngineRefused(engine_message(e), command, getattr(e, "status_code", None))
    ep = _endpoint_of(client, ctr.id, net.name)
    what = f"connected {ctr.name} to {net.name}"
    if ep.get("IPAddress"):
        what += f" as {ep['IPAddress']}"
    if aliases:
        what += f" (aliases: {', '.join(aliases)})"
    return ActionResult(
        action="network connect",
        target=f"{net.name}/{ctr.name}",
        changed=[what],
        command=command,
        undo_description=f"disconnect {ctr.name} from {net.name}",
        undo_command=cli("docker", "network", "disconnect", net.name, ctr.name),
        undo=lambda c=None: disconnect(c or client, net.name, ctr.name),
        details={
            "network": net.name,
            "network_id": net.id,
            "container": ctr.name,
            "container_id": ctr.id,
            "ipv4": ep.get("IPAddress") or None,
            "aliases": _user_aliases(ep, ctr.id),
        },
    )


def _endpoint_of(client, container_id: str, network_name: str) -> dict:
    try:
        attrs = client.api.inspect_container(container_id)
    except Exception:
        return {}
    return ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(network_name) or {}


def _user_aliases(ep: dict, container_id: str) -> list[str]:
    """Aliases the user gave (docker adds the short container id itself)."""
    return [a for a in (ep.get("Aliases") or []) if a != container_id[:12]]


# --------------------------------------------------------------------------- disconnect


def validate_disconnect(network: str, container: str, context: ConnectContext) -> list[FieldError]:
    errs: list[FieldError] = []
    net = find_network(context.networks, network) if network else None
    ctr = find_container(context.containers, container) if container else None
    if not network:
        errs.append(FieldError("network", "a network is required"))
    elif net is None:
        errs.append(FieldError("network", f"no such network: {network}"))
    if not container:
        errs.append(FieldError("container", "a container is required"))
    elif ctr is None:
        errs.append(FieldError("container", f"no such container: {container}"))
    elif net is not None and net.name not in ctr.networks:
        errs.append(FieldError("container", f"container {ctr.name} is not connected to {net.name}"))
    return errs


def disconnect(client, network: str, container: str, force: bool = False) -> ActionResult:
    command = cli("docker", "network", "disconnect", "-f" if force else None, network, container)
    guard.check_writable(f"disconnect {container} from {network}")
    ctx = gather_connect_context(client, network, container)
    errors = validate_disconnect(network, container, ctx)
    if errors:
        raise ValidationFailed(errors, command)
    net, ctr = ctx.networks[0], ctx.containers[0]
    ep = _endpoint_of(client, ctr.id, net.name)
    fixed_ip = ((ep.get("IPAMConfig") or {}).get("IPv4Address")) or None
    ip = ep.get("IPAddress") or None
    aliases = _user_aliases(ep, ctr.id)
    try:
        client.api.disconnect_container_from_network(ctr.id, net.id, force=force)
    except _api_error() as e:
        raise EngineRefused(engine_message(e), command, getattr(e, "status_code", None))
    what = f"disconnected {ctr.name} from {net.name}" + (f" (was {ip})" if ip else "")
    reuse_ip = fixed_ip or (ip if is_user_defined(net) else None)

    def undo(c=None):
        c = c or client
        try:
            return connect(c, net.name, ctr.name, aliases=aliases, ipv4=reuse_ip)
        except EngineRefused as e:
            if not reuse_ip or fixed_ip:
                raise
            # a dynamic IP on a network without a user-configured subnet cannot be pinned
            res = connect(c, net.name, ctr.name, aliases=aliases)
            res.warnings.append(f"could not reuse {reuse_ip}: {e.detail}")
            return res

    return ActionResult(
        action="network disconnect",
        target=f"{net.name}/{ctr.name}",
        changed=[what],
        command=command,
        undo_description=f"reconnect {ctr.name} to {net.name}"
        + (f" with {reuse_ip}" if reuse_ip else "")
        + (f" and aliases {', '.join(aliases)}" if aliases else ""),
        undo_command=connect_command(net.name, ctr.name, aliases, reuse_ip),
        undo=undo,
        details={
            "network": net.name,
            "container": ctr.name,
            "ipv4": ip,
            "fixed_ipv4": fixed_ip,
            "aliases": aliases,
        },
    )


# --------------------------------------------------------------------------- remove


class HasEndpoints(ActionError):
    """remove_network refused: the network still has endpoints (use force)."""

    def __init__(self, network: str, endpoints: list[dict], command: str):
        self.network = network
        self.endpoints = endpoints
        listing = ", ".join(
            f"{e['container']}" + (f" ({e['ipv4']})" if e.get("ipv4") else "") for e in endpoints
        )
        super().__init__(
            "network has endpoints",
            f"network {network} has {len(endpoints)} endpoint(s): {listing}; "
            "disconnect them first, or force (disconnects them, then removes)",
            command,
        )


def _spec_from_inspect(attrs: dict) -> NetworkSpec:
    cfg = (attrs.get("IPAM") or {}).get("Config") or []
    v4 = next((c for c in cfg if ":" not in (c.get("Subnet") or "")), {})
    v6 = next((c for c in cfg if ":" in (c.get("Subnet") or "")), {})
    opts = {
        k: v
        for k, v in (attrs.get("Options") or {}).items()
        if not k.startswith("com.docker.network.driver.overlay.vxlanid")
    }
    return NetworkSpec(
        name=attrs.get("Name", ""),
        driver=attrs.get("Driver", "bridge"),
        subnet=v4.get("Subnet", ""),
        gateway=v4.get("Gateway", ""),
        ip_range=v4.get("IPRange", ""),
        ipv6=bool(attrs.get("EnableIPv6")),
        subnet_v6=v6.get("Subnet", ""),
        internal=bool(attrs.get("Internal")),
        attachable=bool(attrs.get("Attachable")),
        options=[f"{k}={v}" for k, v in opts.items()],
        labels=[f"{k}={v}" for k, v in (attrs.get("Labels") or {}).items()],
    )


def remove_network(client, network: str, force: bool = False) -> ActionResult:
    """Remove a network; with endpoints, refuse (listing them) unless ``force``."""
    from docker.errors import NotFound

    command = cli("docker", "network", "rm", network)
    guard.check_writable(f"remove network {network}")
    try:
        attrs = client.api.inspect_network(network)
    except NotFound:
        raise ValidationFailed([FieldError("network", f"no such network: {network}")], command)
    name, net_id = attrs.get("Name", network), attrs.get("Id", network)
    if name in PREDEFINED or (attrs.get("Options") or {}).get(DEFAULT_BRIDGE_OPT) == "true":
        raise ValidationFailed(
            [FieldError("network", f"{name} is a pre-defined network and cannot be removed")],
            command,
        )
    endpoints = []
    for cid, ep in (attrs.get("Containers") or {}).items():
        if cid.startswith("lb-"):  # overlay load-balancer endpoint, not a container
            continue
        endpoints.append(
            {
                "container": (ep.get("Name") or cid[:12]).lstrip("/"),
                "id": cid,
                "ipv4": (ep.get("IPv4Address") or "").split("/")[0] or None,
            }
        )
    endpoints.sort(key=lambda e: e["container"])
    if endpoints and not force:
        raise HasEndpoints(name, endpoints, command)
    spec = _spec_from_inspect(attrs)
    changed, commands, reconnect = [], [], []
    for e in endpoints:
        ep = _endpoint_of(client, e["id"], name)
        fixed = ((ep.get("IPAMConfig") or {}).get("IPv4Address")) or None
        guard.check_writable(f"disconnect {e['container']} from {name}")
        try:
            client.api.disconnect_container_from_network(e["id"], net_id, force=True)
        except _api_error() as ex:
            raise EngineRefused(
                engine_message(ex),
                cli("docker", "network", "disconnect", "-f", name, e["container"]),
            )
        reconnect.append((e["container"], _user_aliases(ep, e["id"]), fixed))
        changed.append(
            f"disconnected {e['container']} from {name}"
            + (f" (was {e['ipv4']})" if e.get("ipv4") else "")
        )
        commands.append(cli("docker", "network", "disconnect", "-f", name, e["container"]))
    try:
        client.api.remove_network(net_id)
    except _api_error() as ex:
        raise EngineRefused(engine_message(ex), command, getattr(ex, "status_code", None))
    changed.append(f"removed network {name}")
    commands.append(command)

    def undo(c=None):
        c = c or client
        res = create_network(
            c,
            spec,
            context=CreateContext(
                networks=_parse_raw_networks(c.api.networks()),
                local=False,
                swarm_state=((c.info().get("Swarm") or {}).get("LocalNodeState")),
            ),
        )
        for ctr, aliases, fixed in reconnect:
            r = connect(c, name, ctr, aliases=aliases, ipv4=fixed)
            res.changed += r.changed
        return res

    return ActionResult(
        action="network rm",
        target=name,
        changed=changed,
        command=" && ".join(commands),
        undo_description=f"recreate network {name}"
        + (" and reconnect its containers" if reconnect else ""),
        undo_command=create_command(spec),
        undo=undo,
        details={"id": net_id, "disconnected": [e["container"] for e in endpoints]},
    )


__all__ = [
    "DRIVERS",
    "NetworkSpec",
    "ConnectSpec",
    "CreateContext",
    "ConnectContext",
    "ContainerRef",
    "HostRoute",
    "HasEndpoints",
    "gather_create_context",
    "gather_connect_context",
    "validate_create",
    "validate_connect",
    "validate_disconnect",
    "create_command",
    "connect_command",
    "create_network",
    "connect",
    "disconnect",
    "remove_network",
    "read_host_links",
    "read_host_routes",
    "is_user_defined",
]
