"""The path explainer's report model (checks, hops, the report) and how a
destination and a route are looked up in the snapshot. UI-free."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from inspectors.model import Container, Network, Snapshot

OK, FAIL, WARN, INFO, SKIP = "ok", "fail", "warn", "info", "skip"


@dataclass
class Check:
    name: str
    status: str  # ok | fail | warn | info | skip
    detail: str = ""
    unknown: bool = False  # a skipped check that leaves the verdict unknown


@dataclass
class Hop:
    name: str  # e.g. "web eth0 (10.0.0.2/24)", "veth1234 (host side of web)", "bridge br-x"
    kind: str  # source|dns|interface|veth|bridge|routing|host|destination|listener|probe
    object: str | None = None  # the object to jump to (container/interface/bridge name)
    checks: list[Check] = field(default_factory=list)

    @property
    def status(self) -> str:
        st = {c.status for c in self.checks}
        for s in (FAIL, WARN, OK):
            if s in st:
                return s
        return INFO if INFO in st else SKIP

    def add(self, name: str, status: str, detail: str = "") -> Check:
        unknown = name.startswith("!")
        c = Check(name.lstrip("!"), status, detail, unknown)
        self.checks.append(c)
        return c


@dataclass
class PathReport:
    src: str
    dst: str
    port: int | None = None
    proto: str = "tcp"
    dst_kind: str = "container"  # container | host | address
    dst_ip: str | None = None
    hops: list[Hop] = field(default_factory=list)
    verdict: str = "unknown"  # reachable | unreachable | unknown
    first_failure: str | None = None  # name of the first failing hop
    first_failure_index: int | None = None
    probed: bool = False
    notes: list[str] = field(default_factory=list)

    def hop(self, name: str, kind: str, obj: str | None = None) -> Hop:
        h = Hop(name=name, kind=kind, object=obj)
        self.hops.append(h)
        return h

    def finish(self) -> PathReport:
        probe = next((h for h in self.hops if h.kind == "probe"), None)
        if probe is not None:
            conn = next((c for c in probe.checks if c.name in ("tcp connect", "udp send")), None)
            if conn is None:
                conn = next((c for c in probe.checks if c.name == "ping"), None)
            dnsc = next((c for c in probe.checks if c.name == "dns query"), None)
            for h in self.hops:
                if h is probe:
                    continue
                probe_ok = (
                    (dnsc is not None and dnsc.status == OK)
                    if h.kind == "dns"
                    else (conn is not None and conn.status == OK)
                )
                if probe_ok:  # what really happened beats what the rules predict
                    for c in h.checks:
                        if c.status == FAIL:
                            c.status = WARN
                            c.detail += " (but the probe got through)"
        self.first_failure = None
        self.first_failure_index = None
        for i, h in enumerate(self.hops):
            if h.status == FAIL:
                self.first_failure, self.first_failure_index = h.name, i
                break
        if self.first_failure is not None:
            self.verdict = "unreachable"
        elif any(c.unknown for h in self.hops for c in h.checks):
            self.verdict = "unknown"
        elif self.hops:
            self.verdict = "reachable"
        return self

    def to_dict(self) -> dict:
        return {
            "src": self.src,
            "dst": self.dst,
            "port": self.port,
            "proto": self.proto,
            "dst_kind": self.dst_kind,
            "dst_ip": self.dst_ip,
            "verdict": self.verdict,
            "first_failure": self.first_failure,
            "first_failure_index": self.first_failure_index,
            "probed": self.probed,
            "notes": list(self.notes),
            "hops": [
                {
                    "name": h.name,
                    "kind": h.kind,
                    "object": h.object,
                    "status": h.status,
                    "checks": [
                        {
                            "name": c.name,
                            "status": c.status,
                            "detail": c.detail,
                            "unknown": c.unknown,
                        }
                        for c in h.checks
                    ],
                }
                for h in self.hops
            ],
        }


# --------------------------------------------------------------------------- helpers


def _ip(s: str | None):
    try:
        return ipaddress.ip_address(s) if s else None
    except ValueError:
        return None


def _net(s: str | None):
    try:
        return ipaddress.ip_network(s, strict=False) if s else None
    except ValueError:
        return None


def parse_target(
    snap: Snapshot, dst: str, port: int | None
) -> tuple[str, object, str | None, int | None, bool]:
    """``dst`` -> (kind, obj, ip, port, by_name). kind: container | host | address."""
    d = dst.strip()
    if d in ("host", "host.docker.internal") or d.startswith(("host:", "host.docker.internal:")):
        _, _, p = d.partition(":")
        return "host", None, None, int(p) if p.isdigit() else port, d.startswith("host.docker")
    c = snap.container(d)
    if c is not None:
        return "container", c, None, port, True
    host, p = d, None
    if d.startswith("[") and "]" in d:  # [v6]:port
        host, _, rest = d[1:].partition("]")
        p = rest.lstrip(":") or None
    elif d.count(":") == 1:
        host, p = d.split(":")
    if p and p.isdigit():
        port = int(p)
    c = snap.container(host)
    if c is not None:
        return "container", c, None, port, True
    a = _ip(host)
    if a is None:
        return "address", None, host, port, True  # an unknown name
    for c in snap.containers:
        for e in c.endpoints:
            if e.ipv4 == host or e.ipv6 == host:
                return "container", c, host, port, False
    for n in snap.networks:
        for s in n.subnets:
            if s.gateway == host:
                return "host", None, host, port, False
    for l in snap.links:
        if any(x.split("/")[0] == host for x in l.addresses):
            return "host", None, host, port, False
    return "address", None, host, port, False


def _endpoint(c: Container, net: Network):
    return next((e for e in c.endpoints if e.network_id == net.id or e.network == net.name), None)


def _iface_for(c: Container, net: Network):
    e = _endpoint(c, net)
    if e is None:
        return None, None
    i = None
    if e.sandbox_ifname:
        i = next((x for x in c.interfaces if x.name == e.sandbox_ifname), None)
    if i is None and e.mac:
        i = next((x for x in c.interfaces if (x.mac or "").lower() == e.mac.lower()), None)
    if i is None:
        i = next((x for x in c.interfaces if x.network == net.name), None)
    return e, i


def route_for(routes, ip: str):
    """Longest-prefix match of ``ip`` in a container's routes (main table)."""
    a = _ip(ip)
    best, blen = None, -1
    for r in routes:
        if r.table not in (None, 254):
            continue
        n = (
            ipaddress.ip_network("0.0.0.0/0" if a and a.version == 4 else "::/0")
            if r.dst == "default"
            else _net(r.dst)
        )
        if n is None or a is None or n.version != a.version or a not in n:
            continue
        if n.prefixlen > blen:
            best, blen = r, n.prefixlen
    return best


def _link(snap: Snapshot, name: str | None):
    return next((l for l in snap.links if l.name == name), None) if name else None


def _port_of(snap: Snapshot, bridge: str | None, veth: str | None):
    b = snap.bridge(bridge) if bridge else None
    if b is None:
        return None
    return next((p for p in b.ports if p.name == veth), None)


def route_get(c: Container, dst: str) -> tuple[str | None, str | None, str]:
    """(dev, gateway, how) for ``dst`` as ``c``'s kernel routes it: ``ip route get`` in
    its namespace through pyroute2 (root, local), else a longest-prefix match in the
    routes read with the sandbox."""
    path = f"/proc/{c.pid}/ns/net" if c.pid else c.netns
    if path and os.geteuid() == 0 and os.path.exists(path):
        try:
            from inspectors.hostfacts import run_in_netns

            def get():
                from pyroute2 import IPRoute

                with IPRoute() as ipr:
                    r = ipr.route("get", dst=dst)[0]
                    oif = r.get_attr("RTA_OIF")
                    dev = ipr.get_links(oif)[0].get_attr("IFLA_IFNAME") if oif else None
                    return dev, r.get_attr("RTA_GATEWAY")

            dev, gw = run_in_netns(path, get, timeout=5)
            return dev, gw, "route get in the container's namespace"
        except Exception:  # noqa: BLE001 - no route, or the namespace went away
            pass
    r = route_for(c.routes, dst)
    if r is None:
        return None, None, "no route in the container's table"
    return r.dev, r.gateway, "the container's routing table"


def _self_loopback(rep: PathReport, a: Container, ip: str, port, proto: str) -> None:
    """``127.0.0.1`` seen from inside a container is the container's own loopback."""
    h = rep.hop(f"{a.name} lo ({ip})", "interface", a.name)
    h.add("loopback", OK, f"inside {a.name}, {ip} is {a.name}'s own loopback, not the host's")
    rep.dst_ip = ip
    if not port:
        return
    if not a.pid:
        h.add("listener", SKIP, f"{a.name} has no process to read sockets from")
        return
    from inspectors.sockets import read_netns_listeners

    try:
        ls = read_netns_listeners(a.pid, with_pids=False)
    except OSError as e:
        h.add("listener", SKIP, f"sockets of {a.name} unreadable: {e}")
        return
    got = [
        l
        for l in ls
        if l.protocol == proto
        and l.port == port
        and (l.ip in ("0.0.0.0", "::") or _ip(l.ip) is not None and _ip(l.ip).is_loopback)
    ]
    h.add(
        "listener",
        OK if got else FAIL,
        ", ".join(f"{l.ip}:{l.port}" for l in got)
        if got
        else f"nothing in {a.name} listens on {ip}:{port}/{proto}",
    )


def _host_route_check(h: Hop, snap: Snapshot, nb: Network | None, dst: str | None) -> None:
    """The host's own route lookup for the destination (``ip route get``, the one
    host-route reader): a packet routed by the host leaves where this says."""
    if not dst or _ip(dst) is None:
        return
    if not snap.engine.local:
        h.add("!host route", SKIP, "the engine is not on this host: its routes are not read")
        return
    try:
        from inspectors.routes import route_get as host_route_get

        r = host_route_get(dst)
    except Exception as e:  # noqa: BLE001 - netlink unavailable: say so
        h.add("!host route", SKIP, f"host route lookup failed: {e}")
        return
    if r is None:
        h.add("host route", FAIL, f"the host has no route to {dst} (ip route get {dst})")
        return
    via = f" via {r.gateway}" if r.gateway else ""
    text = f"ip route get {dst}: dev {r.dev or '?'}{via}"
    want = nb.bridge if nb is not None and nb.driver == "bridge" else None
    if nb is not None and nb.driver in ("macvlan", "ipvlan"):
        h.add("host route", FAIL, f"{text}: not into {nb.name} (the host has no way in)")
    elif want and r.dev != want:
        h.add("host route", FAIL, f"{text}, not {want}: the host sends it elsewhere")
    else:
        h.add("host route", OK if want else INFO, text)
