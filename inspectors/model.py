"""Plain typed data for the joined model of a host's Docker networking.

Everything here is a dataclass with JSON-friendly fields, so the TUI renders it
and the CLI prints it with :func:`to_jsonable`. No Textual, no docker SDK.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


# --------------------------------------------------------------------------- engine


@dataclass
class DaemonProcess:
    """The dockerd process that serves the engine in use (psutil)."""

    pid: int | None = None
    cmdline: list[str] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)  # "--debug": ["true"], ...
    config_file: str | None = None  # the daemon.json it really reads
    config_file_exists: bool = False
    exec_root: str = "/var/run/docker"
    data_root: str | None = None
    log_source: str | None = None  # "journald:docker.service", "file:/var/log/docker.log", ...
    socket: str | None = None  # unix socket path it listens on (when known)
    note: str | None = None  # why something is unknown
    # added by inspectors.daemon:
    hosts: list[str] = field(default_factory=list)  # every -H/--host (or daemon.json "hosts")
    pidfile: str | None = None  # --pidfile / daemon.json "pidfile" / default
    rootless: bool = False  # runs as a non-root user (rootlesskit)
    matched_by: str | None = None  # host-flag | default-socket | pidfile | open-socket
    others: list[int] = field(default_factory=list)  # pids of other dockerds on the host


@dataclass
class Engine:
    host: str = ""  # DOCKER_HOST / context endpoint actually used
    context: str | None = None
    reachable: bool = False
    error: str | None = None  # one clear line when not reachable
    error_kind: str | None = None  # "unreachable" | "permission" | "api"
    local: bool = True  # unix socket on this host: kernel data relates to it
    server_version: str | None = None
    api_version: str | None = None
    min_api_version: str | None = None
    os: str | None = None
    kernel_version: str | None = None
    debug: bool | None = None
    name: str | None = None
    swarm_state: str | None = None  # inactive | active | ...
    swarm_node_addr: str | None = None
    live_restore: bool | None = None
    logging_driver: str | None = None
    ipv4_forwarding: bool | None = None
    warnings: list[str] = field(default_factory=list)
    rootless: bool = False
    containers_total: int = 0
    containers_running: int = 0
    daemon: DaemonProcess = field(default_factory=DaemonProcess)


# --------------------------------------------------------------------------- networks


@dataclass
class Subnet:
    subnet: str
    gateway: str | None = None
    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass
class Endpoint:
    """A CNM endpoint: one container's attachment to one network."""

    container: str  # container name (no leading slash)
    container_id: str
    network: str  # network name
    network_id: str
    endpoint_id: str | None = None
    ipv4: str | None = None  # address without prefix
    ipv4_prefixlen: int | None = None
    ipv6: str | None = None
    mac: str | None = None
    gateway: str | None = None
    aliases: list[str] = field(default_factory=list)
    dns_names: list[str] = field(default_factory=list)
    host_veth: str | None = None  # host-side veth name, when the kernel tells
    sandbox_ifname: str | None = None  # interface name inside the sandbox (eth0, ...)
    attached: bool = True  # False: configured on a stopped container, not attached
    node: str | None = None  # several engines: the node this endpoint is on


@dataclass
class Network:
    id: str
    name: str
    driver: str
    scope: str = "local"
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    enable_ipv6: bool = False
    created: str | None = None
    subnets: list[Subnet] = field(default_factory=list)
    ipam_driver: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    bridge: str | None = None  # host bridge name (bridge driver) or None
    parent: str | None = None  # macvlan/ipvlan parent or None
    vxlan_ids: list[str] = field(default_factory=list)  # overlay
    peers: list[dict[str, str]] = field(default_factory=list)  # overlay peers {Name, IP}
    endpoints: list[Endpoint] = field(default_factory=list)
    dns_by_name: bool = True  # False for the default bridge (no embedded DNS)
    icc: bool = True
    mtu: int | None = None
    ips_in_use: int | None = None  # API >= 1.52 Status.IPAM
    ips_available: int | None = None
    node: str | None = None  # several engines: the node this network is seen from


# --------------------------------------------------------------------------- kernel


@dataclass
class LinkStats:
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_packets: int = 0
    tx_packets: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0
    rx_errors: int = 0
    tx_errors: int = 0


@dataclass
class Link:
    index: int
    name: str
    kind: str | None = None  # bridge, veth, macvlan, vxlan, dummy, None (physical/lo)
    mtu: int | None = None
    operstate: str | None = None  # UP, DOWN, UNKNOWN, LOWERLAYERDOWN
    admin_up: bool = False
    carrier: bool | None = None
    mac: str | None = None
    promiscuity: int = 0
    master: int | None = None  # ifindex of the bridge it is enslaved to
    master_name: str | None = None
    peer_ifindex: int | None = None  # IFLA_LINK (veth peer / macvlan parent)
    peer_netnsid: int | None = None  # IFLA_LINK_NETNSID (peer's netns id as seen here)
    addresses: list[str] = field(default_factory=list)  # "10.0.0.1/24"
    stats: LinkStats = field(default_factory=LinkStats)
    # enriched by the join:
    container: str | None = None
    container_id: str | None = None
    network: str | None = None


@dataclass
class FdbEntry:
    port: str  # interface name
    port_no: int | None
    mac: str
    is_local: bool
    ageing_timer: float  # seconds since last seen (0.0 for local entries)
    vlan: int | None = None


@dataclass
class BridgePort:
    name: str
    ifindex: int
    port_no: int | None = None
    state: str | None = None  # disabled/listening/learning/forwarding/blocking
    hairpin: bool | None = None
    path_cost: int | None = None
    kind: str | None = None
    operstate: str | None = None
    mtu: int | None = None
    peer_ifindex: int | None = None
    peer_netnsid: int | None = None
    # enriched by the join:
    container: str | None = None
    container_id: str | None = None
    network: str | None = None
    sandbox_ifname: str | None = None


@dataclass
class Bridge:
    name: str
    ifindex: int
    bridge_id: str  # brctl format 8000.0242ac110002
    stp_enabled: bool
    interfaces: list[str] = field(default_factory=list)  # port names, sorted as brctl does
    ports: list[BridgePort] = field(default_factory=list)
    fdb: list[FdbEntry] = field(default_factory=list)
    mtu: int | None = None
    operstate: str | None = None
    addresses: list[str] = field(default_factory=list)
    ageing_time: float | None = None  # seconds
    stats: LinkStats = field(default_factory=LinkStats)
    network: str | None = None  # docker network name (join)
    network_id: str | None = None
    docker_owned: bool = False  # name looks like docker0/br-<12hex> or matched a network
    orphan: bool = False  # looks docker-made but no network matches it
    node: str | None = None  # several engines: the node this bridge is on


# --------------------------------------------------------------------------- sandbox


@dataclass
class Interface:
    name: str
    ifindex: int | None = None
    mac: str | None = None
    mtu: int | None = None
    operstate: str | None = None
    kind: str | None = None
    addresses: list[str] = field(default_factory=list)  # CIDR strings
    peer_ifindex: int | None = None  # host-side ifindex of the veth peer
    host_veth: str | None = None
    bridge: str | None = None
    network: str | None = None


@dataclass
class Route:
    dst: str  # "default" or CIDR
    gateway: str | None = None
    dev: str | None = None
    src: str | None = None
    family: int = 4
    table: int | None = None
    scope: str | None = None


@dataclass
class DnsConfig:
    nameservers: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    path: str | None = None
    ext_servers: list[str] = field(default_factory=list)  # "# ExtServers: [...]" (>= 26)
    error: str | None = None


@dataclass
class PortBinding:
    container_port: int
    protocol: str  # tcp | udp | sctp
    host_ip: str | None = None
    host_port: int | None = None
    # enriched by the join:
    listener_pid: int | None = None
    listener_process: str | None = None
    owner: str | None = None  # docker-proxy | dockerd | foreign | none
    requested: bool = False  # from HostConfig.PortBindings (not actually published)


@dataclass
class Container:
    id: str
    name: str
    image: str = ""
    state: str = ""  # running, exited, created, paused, restarting, dead
    status: str = ""
    pid: int | None = None
    network_mode: str | None = None
    networks: list[str] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    sandbox_key: str | None = None
    sandbox_id: str | None = None
    netns: str | None = None  # the path actually used to read the namespace
    interfaces: list[Interface] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    dns: DnsConfig = field(default_factory=DnsConfig)
    ports: list[PortBinding] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    extra_hosts: list[str] = field(default_factory=list)
    log_driver: str | None = None
    created: str | None = None
    sandbox_note: str | None = None  # why the sandbox could not be read
    node: str | None = None  # several engines: the node it runs on


# --------------------------------------------------------------------------- sockets


@dataclass
class Listener:
    protocol: str  # tcp | udp | tcp6 | udp6 -> normalised to tcp/udp, family in `family`
    ip: str
    port: int
    pid: int | None = None
    process: str | None = None
    family: int = 4
    cmdline: list[str] = field(default_factory=list)
    # enriched by the join:
    container: str | None = None  # for docker-proxy listeners: the container behind it
    owner: str | None = None  # docker-proxy | dockerd | rootlesskit | foreign
    # set by sockets.classify_owner for docker-proxy (its -container-ip/-container-port):
    container_ip: str | None = None
    container_port: int | None = None
    node: str | None = None  # several engines: the node it listens on


# --------------------------------------------------------------------------- snapshot


NODE_SEP = "@"  # "<key>@<node>": an object of one node when several engines are shown


def split_node(key: str) -> tuple[str, str | None]:
    """``"abc@node2"`` -> ``("abc", "node2")``; a key without a node -> ``(key, None)``
    (docker names and ids never hold ``@``)."""
    head, sep, node = key.rpartition(NODE_SEP)
    return (head, node) if sep and head and node else (key, None)


@dataclass
class Snapshot:
    taken_at: float = 0.0
    engine: Engine = field(default_factory=Engine)
    networks: list[Network] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    is_root: bool = True
    notes: list[str] = field(default_factory=list)  # what is missing and why
    # the engine failed since: this is the last good state, from taken_at (its age)
    stale: bool = False

    def network(self, key: str) -> Network | None:
        key, node = split_node(key)
        for n in self.networks:
            if node is not None and n.node != node:
                continue
            if n.id == key or n.name == key or (len(key) >= 4 and n.id.startswith(key)):
                return n
        return None

    def container(self, key: str) -> Container | None:
        key, node = split_node(key.lstrip("/"))
        for c in self.containers:
            if node is not None and c.node != node:
                continue
            if c.id == key or c.name == key or (len(key) >= 4 and c.id.startswith(key)):
                return c
        return None

    def bridge(self, name: str) -> Bridge | None:
        name, node = split_node(name)
        for b in self.bridges:
            if b.name == name and (node is None or b.node == node):
                return b
        return None


def to_jsonable(obj: Any) -> Any:
    """Dataclasses -> dicts, recursively (for `--json`)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


_FIELDS: dict[type, tuple[str, ...]] = {}


def _json_default(obj: Any) -> Any:
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(obj):
            raise TypeError(f"not JSON serialisable: {cls.__name__}")
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(obj))
    d = obj.__dict__
    return {n: d[n] for n in names}


def dumps_json(obj: Any) -> str:
    """Fast compact JSON of dataclasses (json's C encoder; same data as to_jsonable)."""
    import json

    return json.dumps(obj, default=_json_default, separators=(",", ":"))
