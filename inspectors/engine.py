"""Read the engine: daemon facts, networks with their endpoints, containers.

Calls that scale: one network list + one inspect per *network* (the list call
never fills ``Containers``: lazydocker's bug), one container list, and
container inspects (for pid, sandbox, aliases, requested ports) spread over a
few threads on a full build only; after an event, one inspect of the one
container. Per-network fields are always read from
``NetworkSettings.Networks`` (API 1.52 dropped the top-level ones).
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

from inspectors.api import EngineAPI, EngineError, api_at_least
from inspectors.model import Container, Endpoint, Engine, Network, PortBinding, Subnet

BRIDGE_NAME_OPT = "com.docker.network.bridge.name"
THREADS = 8


# --------------------------------------------------------------------------- engine


def engine_header(api: EngineAPI, version: dict, **more) -> Engine:
    """The reachable engine as its target and version show it (no info() call)."""
    return Engine(
        host=api.target.host,
        context=api.target.context,
        reachable=True,
        local=api.target.is_local,
        server_version=version.get("Version"),
        api_version=api.api_version,
        **more,
    )


def read_engine(api: EngineAPI, info: dict | None = None) -> Engine:
    v = getattr(api, "server_version_info", None) or api.version()
    info = info if info is not None else api.info()
    swarm = info.get("Swarm") or {}
    sec = info.get("SecurityOptions") or []
    return engine_header(
        api,
        v,
        min_api_version=v.get("MinAPIVersion"),
        os=info.get("OperatingSystem"),
        kernel_version=info.get("KernelVersion"),
        debug=info.get("Debug"),
        name=info.get("Name"),
        swarm_state=swarm.get("LocalNodeState"),
        swarm_node_addr=swarm.get("NodeAddr") or None,
        live_restore=info.get("LiveRestoreEnabled"),
        logging_driver=info.get("LoggingDriver"),
        ipv4_forwarding=info.get("IPv4Forwarding"),
        warnings=list(info.get("Warnings") or []),
        rootless=any("rootless" in s for s in sec),
        containers_total=info.get("Containers") or 0,
        containers_running=info.get("ContainersRunning") or 0,
    )


# --------------------------------------------------------------------------- networks


def bridge_name_for(raw: dict) -> str | None:
    if raw.get("Driver") != "bridge":
        return None
    opts = raw.get("Options") or {}
    if opts.get(BRIDGE_NAME_OPT):
        return opts[BRIDGE_NAME_OPT]
    if raw.get("Name") == "bridge":
        return "docker0"
    return "br-" + raw["Id"][:12]


def _split_cidr(addr: str | None) -> tuple[str | None, int | None]:
    if not addr:
        return None, None
    if "/" in addr:
        a, p = addr.split("/", 1)
        try:
            return a, int(p)
        except ValueError:
            return a, None
    return addr, None


def parse_network(raw: dict) -> Network:
    opts = raw.get("Options") or {}
    ipam = raw.get("IPAM") or {}
    subnets = [
        Subnet(
            subnet=c.get("Subnet", ""),
            gateway=c.get("Gateway") or None,
            ip_range=c.get("IPRange") or None,
            aux_addresses=dict(c.get("AuxiliaryAddresses") or {}),
        )
        for c in (ipam.get("Config") or [])
        if c.get("Subnet")
    ]
    driver = raw.get("Driver") or ""
    net = Network(
        id=raw["Id"],
        name=raw.get("Name", ""),
        driver=driver,
        scope=raw.get("Scope", "local"),
        internal=bool(raw.get("Internal")),
        attachable=bool(raw.get("Attachable")),
        ingress=bool(raw.get("Ingress")),
        enable_ipv6=bool(raw.get("EnableIPv6")),
        created=raw.get("Created"),
        subnets=subnets,
        ipam_driver=ipam.get("Driver"),
        options=dict(opts),
        labels=dict(raw.get("Labels") or {}),
        bridge=bridge_name_for(raw),
        parent=opts.get("parent") if driver in ("macvlan", "ipvlan") else None,
        vxlan_ids=[
            x
            for x in (opts.get("com.docker.network.driver.overlay.vxlanid_list") or "").split(",")
            if x
        ],
        peers=[
            {"name": p.get("Name", ""), "ip": p.get("IP", "")} for p in (raw.get("Peers") or [])
        ],
        dns_by_name=not (
            driver == "bridge"
            and (
                raw.get("Name") == "bridge"
                or opts.get("com.docker.network.bridge.default_bridge") == "true"
            )
        ),
        icc=opts.get("com.docker.network.bridge.enable_icc", "true") != "false",
    )
    mtu = opts.get("com.docker.network.driver.mtu")
    if mtu and str(mtu).isdigit():
        net.mtu = int(mtu)
    # API >= 1.52: Status.IPAM.Subnets[cidr].{IPsInUse, DynamicIPsAvailable}
    status = ((raw.get("Status") or {}).get("IPAM") or {}).get("Subnets") or {}
    if status:
        net.ips_in_use = sum(int(s.get("IPsInUse") or 0) for s in status.values())
        net.ips_available = sum(int(s.get("DynamicIPsAvailable") or 0) for s in status.values())
    for cid, ep in (raw.get("Containers") or {}).items():
        ip4, plen = _split_cidr(ep.get("IPv4Address"))
        ip6, _ = _split_cidr(ep.get("IPv6Address"))
        net.endpoints.append(
            Endpoint(
                container=(ep.get("Name") or "").lstrip("/"),
                container_id=cid,
                network=net.name,
                network_id=net.id,
                endpoint_id=ep.get("EndpointID") or None,
                ipv4=ip4,
                ipv4_prefixlen=plen,
                ipv6=ip6,
                mac=ep.get("MacAddress") or None,
            )
        )
    net.endpoints.sort(key=lambda e: (e.container, e.container_id))
    return net


def read_network(api: EngineAPI, net_id: str, driver: str | None = None) -> Network:
    # verbose adds overlay Peers/Services (swarm scope); harmless elsewhere but costs more
    raw = api.network(net_id, verbose=(driver == "overlay"))
    return parse_network(raw)


def read_networks(api: EngineAPI, pool: ThreadPoolExecutor | None = None) -> list[Network]:
    summaries = api.networks()

    def one(s):
        try:
            return read_network(api, s["Id"], s.get("Driver"))
        except EngineError as e:
            if e.kind == "notfound":  # removed between list and inspect
                return None
            raise

    if pool is None or len(summaries) < 3:
        nets = [one(s) for s in summaries]
    else:
        nets = list(pool.map(one, summaries))
    return sorted((n for n in nets if n), key=lambda n: n.name)


# --------------------------------------------------------------------------- containers


def _ports(raw_ports: dict | None, requested: bool = False) -> list[PortBinding]:
    out: list[PortBinding] = []
    seen = set()
    for key, binds in (raw_ports or {}).items():
        port, _, proto = key.partition("/")
        try:
            cport = int(port)
        except ValueError:
            continue
        proto = proto or "tcp"
        for b in binds or []:
            hp = b.get("HostPort") or ""
            hip = b.get("HostIp") or ("" if requested else None)
            k = (cport, proto, hip, hp)
            if k in seen:
                continue
            seen.add(k)
            out.append(
                PortBinding(
                    container_port=cport,
                    protocol=proto,
                    host_ip=hip if hip != "" or requested else None,
                    host_port=int(hp) if str(hp).isdigit() else None,
                    requested=requested,
                )
            )
    out.sort(key=lambda p: (p.container_port, p.protocol, p.host_ip or "", p.host_port or 0))
    return out


def _endpoint(c: Container, network: str, ep: dict, **more) -> Endpoint:
    """One entry of NetworkSettings.Networks (inspect or list call) as an Endpoint."""
    return Endpoint(
        container=c.name,
        container_id=c.id,
        network=network,
        network_id=ep.get("NetworkID") or "",
        endpoint_id=ep.get("EndpointID") or None,
        ipv4=ep.get("IPAddress") or None,
        ipv4_prefixlen=ep.get("IPPrefixLen") or None,
        ipv6=ep.get("GlobalIPv6Address") or None,
        mac=ep.get("MacAddress") or None,
        gateway=ep.get("Gateway") or None,
        **more,
    )


def parse_container(raw: dict, summary: dict | None = None) -> Container:
    """From a container inspect (``raw``)."""
    ns = raw.get("NetworkSettings") or {}
    hc = raw.get("HostConfig") or {}
    st = raw.get("State") or {}
    cfg = raw.get("Config") or {}
    c = Container(
        id=raw["Id"],
        name=(raw.get("Name") or "").lstrip("/"),
        image=cfg.get("Image") or raw.get("Image", ""),
        state=st.get("Status", ""),
        status=(summary or {}).get("Status", ""),
        pid=st.get("Pid") or None,
        network_mode=hc.get("NetworkMode"),
        sandbox_key=ns.get("SandboxKey") or None,
        sandbox_id=ns.get("SandboxID") or None,
        labels=dict(cfg.get("Labels") or {}),
        extra_hosts=list(hc.get("ExtraHosts") or []),
        log_driver=(hc.get("LogConfig") or {}).get("Type"),
        created=raw.get("Created"),
    )
    c.dns.path = raw.get("ResolvConfPath") or None
    running = st.get("Running") or st.get("Status") in ("running", "paused", "restarting")
    for name, ep in sorted((ns.get("Networks") or {}).items()):
        c.networks.append(name)
        ipam = ep.get("IPAMConfig") or {}
        ip4 = ep.get("IPAddress") or None
        aliases = [a for a in (ep.get("Aliases") or [])]
        c.endpoints.append(
            _endpoint(
                c,
                name,
                ep,
                aliases=aliases,
                dns_names=list(ep.get("DNSNames") or []),
                attached=bool(running and ep.get("EndpointID")),
            )
        )
        if ipam.get("IPv4Address") and not ip4:
            c.endpoints[-1].ipv4 = None  # requested but not attached: keep None
    if running:
        c.ports = _ports(ns.get("Ports"))
    else:
        c.ports = _ports(hc.get("PortBindings"), requested=True)
    return c


# The parts of a container inspect that are read after the model has parsed it: by
# parse_container again (a warm rebuild from the cache) and by the doctor's container
# refs (inspectors.hostfacts.container_refs_from_inspect). A cached inspect keeps
# only these: 4.0 KB a container as Python objects against 10.7 KB for the whole JSON
# (bench/inspect_cache at 1,000 busybox containers: 3.9 MB against 10.4 MB).
INSPECT_KEEP: dict[str, tuple[str, ...] | None] = {
    "Id": None,
    "Name": None,
    "Image": None,
    "Created": None,
    "ResolvConfPath": None,
    "State": ("Status", "Pid", "Running"),
    "Config": ("Image", "Labels", "Env", "Cmd", "Entrypoint"),
    "HostConfig": ("NetworkMode", "ExtraHosts", "LogConfig", "PortBindings", "Links", "Dns"),
    "NetworkSettings": ("SandboxKey", "SandboxID", "Networks", "Ports"),
}


def trim_inspect(raw: dict) -> dict:
    """``raw`` with only :data:`INSPECT_KEEP` (parse_container(trim_inspect(raw)) ==
    parse_container(raw))."""
    out: dict = {}
    for key, sub in INSPECT_KEEP.items():
        if key not in raw:
            continue
        v = raw[key]
        if sub is not None and isinstance(v, dict):
            v = {k: v[k] for k in sub if k in v}
        out[key] = v
    return out


def parse_summary(s: dict) -> Container:
    """Cheap container from the list call (no pid/aliases): first paint, remote hosts."""
    ns = (s.get("NetworkSettings") or {}).get("Networks") or {}
    c = Container(
        id=s["Id"],
        name=(s.get("Names") or ["/"])[0].lstrip("/"),
        image=s.get("Image", ""),
        state=s.get("State", ""),
        status=s.get("Status", ""),
        network_mode=(s.get("HostConfig") or {}).get("NetworkMode"),
        labels=dict(s.get("Labels") or {}),
    )
    for name, ep in sorted(ns.items()):
        c.networks.append(name)
        c.endpoints.append(_endpoint(c, name, ep, attached=c.state == "running"))
    seen = set()
    for p in s.get("Ports") or []:
        if not p.get("PublicPort"):
            continue
        k = (p.get("PrivatePort"), p.get("Type"), p.get("IP"), p.get("PublicPort"))
        if k in seen:
            continue
        seen.add(k)
        c.ports.append(
            PortBinding(
                container_port=p.get("PrivatePort"),
                protocol=p.get("Type", "tcp"),
                host_ip=p.get("IP"),
                host_port=p.get("PublicPort"),
            )
        )
    return c


def inspect_container(api: EngineAPI, cid: str) -> dict | None:
    """The container's inspect JSON; None when it is gone (removed meanwhile)."""
    try:
        return api.container(cid)
    except EngineError as e:
        if e.kind == "notfound":
            return None
        raise


def read_container(api: EngineAPI, cid: str, summary: dict | None = None) -> Container | None:
    raw = inspect_container(api, cid)
    return parse_container(raw, summary) if raw is not None else None


def list_fingerprint(s: dict) -> tuple:
    """What the container list says about a container that an inspect could change.

    Aliases, pid, sandbox and port bindings can only change together with one of
    these (a connect or a restart makes new endpoint IDs), so an inspect cached
    under the same fingerprint is still true.
    """
    nets = (s.get("NetworkSettings") or {}).get("Networks") or {}
    return (
        s.get("State"),
        s.get("Created"),
        tuple(
            sorted(
                (n, e.get("EndpointID"), e.get("IPAddress"), e.get("MacAddress"))
                for n, e in nets.items()
            )
        ),
        tuple(
            sorted(
                (p.get("IP"), p.get("PrivatePort"), p.get("PublicPort"), p.get("Type"))
                for p in s.get("Ports") or []
            )
        ),
    )


def read_containers(
    api: EngineAPI,
    pool: ThreadPoolExecutor | None = None,
    cache: dict | None = None,
    pid_alive=None,
    on_container=None,
    on_list=None,
    workers: int | None = None,
) -> list[Container]:
    """Every container, inspected. With ``cache`` (id -> (fingerprint, inspect)),
    only containers whose list entry changed are inspected again; ``pid_alive``
    (pid -> bool) double-checks a cached running container's pid.
    ``on_container(c)`` runs in the worker thread right after each container is
    parsed (to pipeline namespace reads with the remaining inspects);
    ``on_list(summaries)`` runs once, before the first inspect. ``workers``: at
    most that many inspects in flight (default: one per thread of ``pool``)."""
    summaries = api.containers(all=True)
    if on_list is not None:
        on_list(summaries)

    def one(s):
        c = _one(s)
        if c is not None and on_container is not None:
            on_container(c)
        return c

    def _one(s):
        if cache is not None:
            hit = cache.get(s["Id"])
            fp = list_fingerprint(s)
            if hit and hit[0] == fp:
                pid = ((hit[1].get("State") or {}).get("Pid")) or None
                if not (pid and pid_alive and not pid_alive(pid)):
                    return parse_container(hit[1], s)
            try:
                raw = api.container(s["Id"])
            except EngineError as e:
                if e.kind == "notfound":
                    return None
                raise
            cache[s["Id"]] = (fp, trim_inspect(raw))
            return parse_container(raw, s)
        return read_container(api, s["Id"], s)

    todo = summaries
    if pool is None or (
        cache is not None
        and all(cache.get(s["Id"], (None,))[0] == list_fingerprint(s) for s in summaries)
    ):
        out = [one(s) for s in todo]
    elif workers is not None and 0 < workers < len(todo):
        parts = [todo[i::workers] for i in range(workers)]
        out = [c for part in pool.map(lambda p: [one(s) for s in p], parts) for c in part]
    else:
        out = list(pool.map(one, todo))
    if cache is not None:
        live = {s["Id"] for s in summaries}
        for k in [k for k in cache if k not in live]:
            del cache[k]
    return sorted((c for c in out if c), key=lambda c: c.name)


def ip_in_subnets(ip: str, subnets: list[Subnet]) -> bool:
    try:
        a = ipaddress.ip_address(ip)
        return any(a in ipaddress.ip_network(s.subnet, strict=False) for s in subnets)
    except ValueError:
        return False


__all__ = [
    "read_engine",
    "read_networks",
    "read_network",
    "parse_network",
    "read_containers",
    "read_container",
    "inspect_container",
    "parse_container",
    "parse_summary",
    "trim_inspect",
    "bridge_name_for",
    "api_at_least",
]
