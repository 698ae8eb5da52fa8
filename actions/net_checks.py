"""Network specs, the facts they are checked against, and every validation rule.

Reads only: gathering (engine networks and containers, host links, routes, the
bridges other engines use) and validation (one :class:`FieldError` per
problem). Nothing here changes the host; :mod:`actions.networks` plans and
runs the changes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from actions.validate import (
    FieldError,
    check_name,
    cli,
    iface_hint,
    reserved_range,
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
BRIDGE_NAME_OPT = "com.docker.network.bridge.name"
# names Docker gives the bridges it creates: docker0 and br-<12 hex of the network id>
DOCKER_BRIDGE_RE = re.compile(r"^(docker0|br-[0-9a-f]{12})$")
IFNAME_RE = re.compile(r"^[^\s/:]{1,15}$")


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
    # Linux bridge names other dockerds on this host use (name -> which dockerd)
    engine_bridges: dict[str, str] = field(default_factory=dict)

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
        ctx.engine_bridges = engine_bridges()
    else:
        ctx.notes.append("remote engine: host interfaces and routes were not checked")
    return ctx


def engine_bridges() -> dict[str, str]:
    """Linux bridge names the dockerds on this host use for their default network
    (``--bridge``/``-b`` or daemon.json ``bridge``; docker0 otherwise): name -> which dockerd.
    Reads each dockerd's command line and config file; runs nothing."""
    import psutil

    from inspectors.daemon import parse_flags, read_daemon_config

    out = {"docker0": "the default bridge of a dockerd started without --bridge"}
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        if p.info.get("name") != "dockerd" or not p.info.get("cmdline"):
            continue
        flags = parse_flags(p.info["cmdline"][1:])
        name = (flags.get("--bridge") or [None])[-1]
        if name is None:
            cfile = (flags.get("--config-file") or ["/etc/docker/daemon.json"])[-1]
            cfg, _ = read_daemon_config(cfile)
            name = (cfg or {}).get("bridge") if isinstance(cfg, dict) else None
        name = name or "docker0"
        if name != "none":
            out[name] = f"the default bridge of dockerd {p.info['pid']}"
    return out


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
    if subnet is not None and reserved_range(subnet):
        add("subnet", reserved_range(subnet))
    if spec.gateway.strip():
        gw, m = parse_ip(spec.gateway, 4)
        if m:
            add("gateway", m)
        elif reserved_range(gw):
            add("gateway", reserved_range(gw))
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
        elif reserved_range(rng):
            add("ip_range", reserved_range(rng))
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
        elif reserved_range(subnet6):
            add("subnet_v6", reserved_range(subnet6))

    # the Linux bridge the network would use
    bname = opts.get(BRIDGE_NAME_OPT)
    if bname is not None:
        msg = bridge_name_refusal(bname, driver, context)
        if msg:
            add("options", msg)

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


def bridge_name_refusal(name: str, driver: str, context: CreateContext) -> str | None:
    """Why ``-o com.docker.network.bridge.name=NAME`` must be refused, or None."""
    if driver != "bridge":
        return f"{BRIDGE_NAME_OPT} only applies to the bridge driver"
    if not IFNAME_RE.match(name):
        return f"{name!r} is not a valid interface name (1 to 15 characters, no spaces, '/' or ':')"
    for n in context.networks:
        if n.bridge == name:
            return (
                f"bridge {name} is already used by docker network {n.name!r}: two networks "
                "on one bridge break both (removing one deletes the other's bridge)"
            )
    if name in context.engine_bridges:
        return (
            f"bridge {name} is {context.engine_bridges[name]}: taking it breaks that "
            "engine's default network, and removing this network deletes the bridge"
        )
    if DOCKER_BRIDGE_RE.match(name):
        return f"{name} is a name Docker gives its own bridges: choose another name"
    link = _link(context.links, name)
    if link is not None and (link.kind or "") != "bridge":
        return f"{name} exists on this host and is not a bridge ({link.kind or 'a device'})"
    return None


def existing_bridge_warning(spec: NetworkSpec, context: CreateContext) -> str | None:
    """For an existing non-Docker bridge named by the spec: what attaching means."""
    name = parse_kv(spec.options, "option")[0].get(BRIDGE_NAME_OPT)
    if not name:
        return None
    link = _link(context.links, name)
    if link is None:
        return None
    if (link.kind or "") != "bridge":
        return None
    addrs = ", ".join(a for a in link.addresses if ":" not in a) or "none"
    return (
        f"{name} already exists on this host and is not Docker's: the network's containers "
        f"are plugged into it, on its LAN with its other ports; Docker REPLACES its IPv4 "
        f"address (now {addrs}) with the network's gateway and adds NAT rules for it. "
        f"Removing the network later leaves {name} in place, still holding Docker's gateway "
        "address and without its old one (tested on Docker 20.10)"
    )


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
