"""Host facts the doctor rules need, read once and read-only.

:func:`gather_facts` collects, in one pass:

* sysctls: ``net.ipv4.ip_forward``, per-interface ``forwarding`` of the
  engine's bridges and of the egress interface, ``bridge-nf-call-iptables``,
  conntrack ``count``/``max``;
* the host's routes (all tables) and interface addresses, the default
  gateway and the egress interface with its MTU (a kernel route lookup of the
  gateway: no packet is sent);
* ``iptables-save`` (one run; plus the other variant's save when both
  ``iptables-legacy`` and ``iptables-nft`` exist, to spot a split ruleset),
  parsed into chains, policies and Docker's DNAT rules;
* the host ``/etc/resolv.conf`` nameservers;
* the engine's daemon.json (parsed as dockerd does) and dockerd's flags;
* per container, *which other containers it names* (env values, command,
  legacy links): only the names, never the values (secrets stay out).

Two knobs make the facts testable without breaking the host:

* ``netns=PATH`` reads everything that is per network namespace (sysctls
  under ``/proc/sys/net``, routes, addresses, iptables) from inside that
  namespace: a worker thread ``setns()``-es into it; subprocesses it starts
  inherit the namespace.
* ``proc_root=DIR`` reads sysctls from ``DIR/sys/...`` instead of
  ``/proc/sys/...`` (a directory laid out like ``/proc``).

Never imports Textual. Never writes anything.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from inspectors.firewall import DnatRule, parse_dnat, parse_iptables_save  # the one parser
from inspectors.model import Snapshot

LOOPBACK_NETS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

# env keys whose values never name a peer
_ENV_SKIP = {
    "PATH",
    "HOME",
    "HOSTNAME",
    "TERM",
    "LANG",
    "SHLVL",
    "PWD",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "GOPATH",
    "JAVA_HOME",
    "TZ",
    "USER",
    "SHELL",
}
_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


# --------------------------------------------------------------------------- dataclasses


@dataclass
class HostRoute:
    dst: str  # CIDR or "default"
    dev: str | None = None
    gateway: str | None = None
    table: int | None = None
    type: str | None = None  # unicast, local, blackhole...
    metric: int | None = None
    family: int = 4


@dataclass
class IptablesFacts:
    available: bool = False
    command: str | None = None  # iptables-save binary used
    variant: str | None = None  # "nf_tables" | "legacy"
    version: str | None = None
    error: str | None = None
    # table -> chain -> policy ("-" for user chains)
    chains: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, list[str]] = field(default_factory=dict)  # table -> ["-A ...", ...]
    dnat: list[DnatRule] = field(default_factory=list)
    # the other variant (legacy vs nft) also holds DOCKER chains: split ruleset
    other_variant: str | None = None
    other_variant_docker: bool = False

    def has_chain(self, table: str, chain: str) -> bool:
        return chain in self.chains.get(table, {})

    def policy(self, table: str, chain: str) -> str | None:
        return self.chains.get(table, {}).get(chain)


@dataclass
class ContainerRefs:
    """What a container's configuration says about its peers (no values kept)."""

    name: str
    refs: dict[str, str] = field(
        default_factory=dict
    )  # other container -> "env DB_HOST" | "command" | "link"
    links: list[str] = field(default_factory=list)  # legacy --link targets (container names)
    dns: list[str] = field(default_factory=list)  # HostConfig.Dns
    env_keys: list[str] = field(default_factory=list)  # keys only


@dataclass
class HostFacts:
    proc_root: str = "/proc"
    netns: str | None = None
    is_root: bool = True
    ip_forward: int | None = None
    forwarding: dict[str, int] = field(default_factory=dict)  # iface -> conf/<if>/forwarding
    bridge_nf_call_iptables: int | None = None  # None: br_netfilter not loaded
    conntrack_count: int | None = None
    conntrack_max: int | None = None
    routes: list[HostRoute] = field(default_factory=list)
    addresses: list[tuple[str, str]] = field(default_factory=list)  # (ifname, cidr)
    link_mtu: dict[str, int] = field(default_factory=dict)  # ifname -> mtu (the netns read)
    default_gateway: str | None = None
    egress_iface: str | None = None
    egress_mtu: int | None = None
    iptables: IptablesFacts = field(default_factory=IptablesFacts)
    resolv_conf_path: str = "/etc/resolv.conf"
    resolv_nameservers: list[str] = field(default_factory=list)
    resolv_error: str | None = None
    daemon_config_path: str | None = None
    daemon_config: dict | None = None
    daemon_config_error: str | None = None
    daemon_flags: dict[str, list[str]] = field(default_factory=dict)
    container_refs: dict[str, ContainerRefs] = field(default_factory=dict)
    daemon_log: list[tuple[str | None, str]] = field(default_factory=list)  # (level, message)
    notes: list[str] = field(default_factory=list)

    def daemon_setting(self, key: str, default=None):
        """Effective value of a daemon option: flag first, then daemon.json, then default."""
        flag = "--" + key
        vals = self.daemon_flags.get(flag)
        if vals:
            v = vals[-1]
            if v.lower() in ("true", "false"):
                return v.lower() == "true"
            return v
        if self.daemon_config and key in self.daemon_config:
            return self.daemon_config[key]
        return default


# --------------------------------------------------------------------------- netns runner


def run_in_netns(path: str | None, fn, *args, timeout: float = 30.0):
    """Run ``fn(*args)`` in a fresh thread that first enters the network
    namespace ``path`` (only that thread moves; :func:`inspectors.sandbox.in_netns`,
    pyroute2's ``setns``). ``path=None``: no switch."""
    if path is None:
        return fn(*args)
    from inspectors.sandbox import in_netns

    box: dict = {}

    def target():
        try:
            with in_netns(path):
                box["v"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["e"] = e

    t = threading.Thread(target=target, name="dockscope-netns", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"reading netns {path} took more than {timeout:.0f}s")
    if "e" in box:
        raise box["e"]
    return box.get("v")


# --------------------------------------------------------------------------- small readers


def read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def parse_resolv_conf(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append(parts[1])
    return out


def is_loopback(addr: str) -> bool:
    try:
        a = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    return a.is_loopback


# --------------------------------------------------------------------------- iptables


def _run(cmd: list[str], timeout: float = 10.0) -> tuple[int, str, str]:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr
    except FileNotFoundError:
        return 127, "", f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"{cmd[0]}: timed out"


def _has_docker_chain(text: str) -> bool:
    """Whether an ``iptables-save`` text declares or appends to a chain named *DOCKER*
    (the chain names of :func:`parse_iptables_save`, without parsing every rule)."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):  # iptables-save -c: "[pk:bytes] -A ..."
            line = line.split("]", 1)[-1].lstrip()
        if line.startswith(":"):
            name = line[1:].split(None, 1)[0] if len(line) > 1 else ""
        elif line.startswith("-A "):
            name = line[3:].split(None, 1)[0] if len(line) > 3 else ""
        else:
            continue
        if "DOCKER" in name:
            return True
    return False


def read_iptables() -> IptablesFacts:
    """Run ``iptables-save`` once (in the calling thread's netns) and parse it."""
    f = IptablesFacts()
    save = shutil.which("iptables-save")
    if not save:
        f.error = "iptables-save is not installed"
        return f
    rc, out, _ = _run(["iptables", "-V"], 5)
    if rc == 0:
        f.version = out.strip()
        f.variant = "nf_tables" if "nf_tables" in out else "legacy" if "legacy" in out else None
    rc, out, err = _run([save])
    f.command = save
    if rc != 0:
        f.error = (err.strip() or f"iptables-save exited {rc}").splitlines()[-1]
        return f
    f.available = True
    f.chains, f.rules = parse_iptables_save(out)
    f.dnat = parse_dnat(f.rules.get("nat", []))
    # the other variant: a DOCKER chain there means two rulesets fight (R19)
    other = {"nf_tables": "iptables-legacy-save", "legacy": "iptables-nft-save"}.get(
        f.variant or ""
    )
    if other and shutil.which(other):
        rc, out2, _ = _run([other])
        if rc == 0:
            f.other_variant = other
            f.other_variant_docker = _has_docker_chain(out2)
    return f


# --------------------------------------------------------------------------- routes


def _route_rows(ipr, names, routes, ipv6: bool):
    """IPv4 routes of every table; IPv6 ones only when an engine network uses IPv6
    (hundreds of per-veth fe80 and local-table IPv6 routes cost most of the dump's
    decoding and no rule reads them otherwise)."""
    import socket

    msgs = list(ipr.get_routes(family=socket.AF_INET))
    if ipv6:
        msgs += list(ipr.get_routes(family=socket.AF_INET6))
    return routes.entries(msgs, names)


@dataclass
class RoutePart:
    """The routes half of :func:`_read_net`, picklable: what a reader process reads
    (:func:`route_part_in_child`) for this process to adopt."""

    routes: list[HostRoute] = field(default_factory=list)
    default_gateway: str | None = None
    egress_iface: str | None = None
    ipv6: bool = False  # IPv6 routes included


def _route_part(ipr, names: dict, ipv6: bool) -> RoutePart:
    from inspectors import routes

    part = RoutePart(ipv6=ipv6)
    default = None
    for r in _route_rows(ipr, names, routes, ipv6):
        hr = HostRoute(
            dst=r.dst,
            dev=r.dev,
            gateway=r.gateway,
            table=r.table,
            type=r.type,
            metric=r.metric,
            family=r.family,
        )
        part.routes.append(hr)
        if (
            hr.dst == "default"
            and hr.family == 4
            and r.table == routes.RT_TABLE_MAIN
            and default is None
        ):
            default = hr
    if default is not None:
        part.default_gateway = default.gateway
        target = default.gateway
        got = routes.route_get(target, ipr, names) if target else None
        part.egress_iface = got.dev if got and got.dev else default.dev
    return part


def route_part_in_child(ipv6: bool) -> RoutePart:
    """In a reader process (:class:`inspectors.readerproc.ReaderProcess`, where
    pyroute2 is imported already): the host netns's routes, the link names taken
    from the host dumps it made just before (:func:`inspectors.kernel.dump_in_child`),
    else from a link dump of its own. The doctor's process then never imports
    pyroute2 (~0.19 s of its GIL at 300 containers, bench/RESULTS.md stop 22)."""
    from inspectors import kernel

    with kernel.open_ipr() as ipr:
        recs = kernel.last_link_records()
        if recs is not None:
            names = {r["index"]: r["name"] for r in recs}
        else:
            names = {lk.index: lk.name for lk in kernel.read_links(ipr)}
        return _route_part(ipr, names, ipv6)


def _read_net(
    facts: HostFacts, links=None, ipv6: bool = True, routes: RoutePart | None = None
) -> None:
    """Routes, addresses, link MTUs, default gateway and egress (this thread's netns),
    through the one route reader (:mod:`inspectors.routes`, pyroute2). ``links``: the
    links the snapshot already read in this namespace (then not read again);
    ``routes``: the routes a reader process read (used when it has the families
    asked for)."""
    from inspectors import kernel

    if routes is not None and (routes.ipv6 or not ipv6) and links:
        part = routes
        _links_part(facts, links)
    else:
        with kernel.open_ipr() as ipr:
            if not links:
                links = kernel.read_links(ipr)
            _links_part(facts, links)
            part = _route_part(ipr, {lk.index: lk.name for lk in links}, ipv6)
    facts.routes.extend(part.routes)
    facts.default_gateway = part.default_gateway
    facts.egress_iface = part.egress_iface
    if part.egress_iface:
        facts.egress_mtu = facts.link_mtu.get(part.egress_iface)


def _links_part(facts: HostFacts, links) -> None:
    facts.link_mtu = {lk.name: lk.mtu for lk in links if lk.mtu is not None}
    for lk in links:
        facts.addresses.extend((lk.name, a) for a in lk.addresses)


# --------------------------------------------------------------------------- per-netns block


def _netns_part(
    facts: HostFacts,
    bridges: list[str],
    want_iptables,
    links=None,
    ipv6: bool = True,
    routes: RoutePart | None = None,
) -> None:
    root = facts.proc_root.rstrip("/")
    sysnet = f"{root}/sys/net"
    facts.ip_forward = read_int(f"{sysnet}/ipv4/ip_forward")
    facts.bridge_nf_call_iptables = read_int(f"{sysnet}/bridge/bridge-nf-call-iptables")
    facts.conntrack_count = read_int(f"{sysnet}/netfilter/nf_conntrack_count")
    facts.conntrack_max = read_int(f"{sysnet}/netfilter/nf_conntrack_max")
    try:
        _read_net(facts, links, ipv6, routes)
    except OSError as e:
        facts.notes.append(f"routes and addresses unavailable: {e}")
    for ifname in set(bridges) | ({facts.egress_iface} if facts.egress_iface else set()):
        v = read_int(f"{sysnet}/ipv4/conf/{ifname}/forwarding")
        if v is not None:
            facts.forwarding[ifname] = v
    if isinstance(want_iptables, IptablesFacts):  # read already (in parallel with the build)
        facts.iptables = want_iptables
        if facts.iptables.error:
            facts.notes.append(f"iptables: {facts.iptables.error}")
    elif want_iptables:
        if facts.is_root:
            facts.iptables = read_iptables()
        else:
            facts.iptables = IptablesFacts(error="needs root to read iptables")
        if facts.iptables.error:
            facts.notes.append(f"iptables: {facts.iptables.error}")


# --------------------------------------------------------------------------- daemon


def _daemon_part(facts: HostFacts, snap: Snapshot) -> None:
    d = snap.engine.daemon
    facts.daemon_flags = dict(d.flags or {})
    path = d.config_file
    if path is None and d.pid is not None:
        path = "/etc/docker/daemon.json"
    facts.daemon_config_path = path
    if not path:
        if snap.engine.local:
            facts.notes.append(
                "dockerd process not found: daemon.json and flags unchecked"
                + (f" ({d.note})" if d.note else "")
            )
        return
    from inspectors.daemon import read_daemon_config

    facts.daemon_config, facts.daemon_config_error = read_daemon_config(path)


# --------------------------------------------------------------------------- container refs


def container_refs_from_inspect(
    raw: dict, names: set[str], services: dict[str, str], self_name: str
) -> ContainerRefs:
    """Which of ``names`` (other containers, or compose service names mapped to
    their container in ``services``) this container's config mentions."""
    cfg = raw.get("Config") or {}
    hc = raw.get("HostConfig") or {}
    r = ContainerRefs(name=self_name)
    r.dns = list(hc.get("Dns") or [])

    def look(text: str, how: str) -> None:
        for tok in _TOKEN_RE.findall(text or ""):
            for cand in (tok, tok.split(".")[0]):
                target = cand if cand in names else services.get(cand)
                if target and target != self_name and target not in r.refs:
                    r.refs[target] = how

    for kv in cfg.get("Env") or []:
        k, _, v = kv.partition("=")
        r.env_keys.append(k)
        if k in _ENV_SKIP or k.startswith("LC_"):
            continue
        look(v, f"env {k}")
    cmd = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    look(" ".join(str(x) for x in cmd), "command")
    for link in hc.get("Links") or []:  # "/db:/web/db"
        src = link.split(":", 1)[0].lstrip("/")
        r.links.append(src)
        if src != self_name:
            r.refs.setdefault(src, "link")
    return r


# container id -> the few inspect fields the refs need (immutable after create):
# repeated doctor runs in the console inspect only new containers
_CONFIG_CACHE: dict[str, dict] = {}
_CACHE_MAX = 4096
_cache_lock = threading.Lock()


def _config_subset(raw: dict) -> dict:
    cfg, hc = raw.get("Config") or {}, raw.get("HostConfig") or {}
    return {
        "Config": {k: cfg.get(k) for k in ("Env", "Cmd", "Entrypoint")},
        "HostConfig": {k: hc.get(k) for k in ("Links", "Dns")},
    }


def _ref_names(snap: Snapshot) -> tuple[set[str], dict[str, str]]:
    """Container names, and compose service names / aliases -> their container."""
    names = {c.name for c in snap.containers}
    services: dict[str, str] = {}
    for c in snap.containers:
        svc = c.labels.get("com.docker.compose.service")
        if svc and svc not in names:
            services.setdefault(svc, c.name)
        for e in c.endpoints:
            for a in e.aliases:
                if a not in names and len(a) >= 2 and not re.fullmatch(r"[0-9a-f]{12}", a):
                    services.setdefault(a, c.name)
    return names, services


def read_container_refs(
    snap: Snapshot, pool: ThreadPoolExecutor | None = None, inspects: dict | None = None
) -> dict[str, ContainerRefs]:
    """Per container: which other containers its env/command/links name. ``inspects``
    (id -> inspect JSON, what the model already read): no engine call at all; else one
    inspect per container the first time, then from a small cache."""
    if not snap.engine.reachable or not snap.containers:
        return {}
    if inspects is not None:
        names, services = _ref_names(snap)
        out = {}
        for c in snap.containers:
            raw = inspects.get(c.id)
            if raw is not None:
                out[c.name] = container_refs_from_inspect(raw, names, services, c.name)
        return out
    from inspectors.api import EngineError, open_engine

    try:
        api = open_engine(snap.engine.host or None)
    except EngineError:
        return {}
    names, services = _ref_names(snap)

    def one(c):
        with _cache_lock:
            raw = _CONFIG_CACHE.get(c.id)
        if raw is None:
            try:
                raw = _config_subset(api.container(c.id))
            except EngineError:
                return None
            with _cache_lock:
                if len(_CONFIG_CACHE) >= _CACHE_MAX:
                    _CONFIG_CACHE.clear()
                _CONFIG_CACHE[c.id] = raw
        return container_refs_from_inspect(raw, names, services, c.name)

    try:
        if pool is not None:
            res = list(pool.map(one, snap.containers))
        else:
            with ThreadPoolExecutor(4) as p:
                res = list(p.map(one, snap.containers))
    finally:
        api.close()
    return {r.name: r for r in res if r is not None}


# --------------------------------------------------------------------------- daemon log


def read_daemon_log(daemon, n: int) -> list:
    """The last ``n`` lines of dockerd's own log as LogLines (through the one daemon-log
    reader, inspectors.logs)."""
    from inspectors.logs import daemon_log_source

    src = daemon_log_source(daemon, follow=False, tail=n)
    lines: list = []
    try:
        for chunk in src.read():
            lines.extend(chunk)
    finally:
        src.close()
    return lines[-n:]


def _daemon_log_part(facts: HostFacts, snap: Snapshot, n: int) -> None:
    try:
        got = read_daemon_log(snap.engine.daemon, n)
    except Exception as e:  # noqa: BLE001 - the other facts still count
        facts.notes.append(f"daemon log unread: {e}")
        return
    facts.daemon_log = [(getattr(l, "level", None), getattr(l, "text", str(l))) for l in got]


# --------------------------------------------------------------------------- entry point


def gather_facts(
    snap: Snapshot,
    *,
    proc_root: str = "/proc",
    netns: str | None = None,
    resolv_conf: str = "/etc/resolv.conf",
    iptables: bool | IptablesFacts = True,
    container_refs: bool = True,
    daemon_log: int = 0,
    inspects: dict | None = None,
    routes: RoutePart | None = None,
) -> HostFacts:
    """Read every host fact the doctor needs, once.

    ``netns``: a netns handle path (``/var/run/netns/NAME``, ``/proc/PID/ns/net``)
    to read the per-namespace facts from instead of the host's.
    ``proc_root``: where sysctls live (``<proc_root>/sys/net/...``).
    ``routes``: the host's routes as a reader process read them
    (:func:`route_part_in_child`), for the host netns only.
    """
    facts = HostFacts(
        proc_root=proc_root, netns=netns, is_root=os.geteuid() == 0, resolv_conf_path=resolv_conf
    )
    local = snap.engine.local
    if not local:
        facts.notes.append(
            "engine is not on this host: host facts describe this machine, "
            "not the engine's; kernel rules are skipped"
        )
    bridges = [n.bridge for n in snap.networks if n.bridge]
    with ThreadPoolExecutor(2, thread_name_prefix="dockscope-facts") as pool:
        refs_f = pool.submit(read_container_refs, snap, None, inspects) if container_refs else None
        try:
            # the host's links are the snapshot's (read once); another netns reads its own
            shared = snap.links if netns is None and local else None
            v6 = any(n.enable_ipv6 for n in snap.networks) or not snap.networks
            ipt = iptables if isinstance(iptables, IptablesFacts) else (iptables and local)
            pre = routes if netns is None and local else None
            run_in_netns(netns, _netns_part, facts, bridges, ipt, shared, v6, pre)
        except OSError as e:
            facts.notes.append(f"namespace {netns} unreadable: {e}")
        try:
            with open(resolv_conf) as fh:
                facts.resolv_nameservers = parse_resolv_conf(fh.read())
        except OSError as e:
            facts.resolv_error = str(e)
        if local:
            _daemon_part(facts, snap)
        if local and daemon_log > 0:
            _daemon_log_part(facts, snap, daemon_log)
        if refs_f is not None:
            try:
                facts.container_refs = refs_f.result()
            except Exception as e:  # noqa: BLE001
                facts.notes.append(f"container configs unreadable: {e}")
    return facts


__all__ = [
    "HostFacts",
    "IptablesFacts",
    "DnatRule",
    "HostRoute",
    "RoutePart",
    "ContainerRefs",
    "gather_facts",
    "run_in_netns",
    "parse_iptables_save",
    "parse_dnat",
    "parse_resolv_conf",
    "read_iptables",
    "is_loopback",
    "read_int",
]
