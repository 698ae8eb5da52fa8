""" "Why can't A reach B?": the path from a container to a container, the host or
an address, hop by hop, with checks on each hop, and optional real probes.

:func:`explain_path` walks the joined snapshot:

    A's interface + route -> A's host veth -> bridge -> (same bridge? else
    host routing and the isolation between bridge networks) -> B's veth ->
    B's interface -> a listener in B on the port

and evaluates every hop statically (shared network? internal? ICC? does the
embedded DNS know B's name? is the port published / listened on? veth up
and forwarding?). With ``probe=True`` it also tests for real from inside A's
network namespace, without ``docker exec`` and without a helper image: a
thread ``setns()``-es into ``/proc/<A pid>/ns/net`` and does a TCP connect
(2 s), a UDP send, a DNS query to 127.0.0.11 for B's name and an ICMP echo.
Probes only ever go to addresses of this snapshot's containers, their bridge
gateways (the host) and A's own loopback; other addresses are evaluated
statically and never contacted.

Never imports Textual.
"""

from __future__ import annotations

import ipaddress
import os
import random
import select
import socket
import struct
import time
from dataclasses import dataclass, field

from inspectors.model import Container, Network, Snapshot

OK, FAIL, WARN, INFO, SKIP = "ok", "fail", "warn", "info", "skip"
PROBE_TIMEOUT = 2.0
EMBEDDED_DNS = "127.0.0.11"


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


# --------------------------------------------------------------------------- hops


def _source_hop(rep: PathReport, a: Container) -> bool:
    h = rep.hop(f"{a.name} (source)", "source", a.name)
    if a.state != "running":
        h.add("running", FAIL, f"{a.name} is {a.state or 'not running'}")
        return False
    h.add("running", OK, f"pid {a.pid}")
    m = a.network_mode or "default"
    if m == "none":
        h.add("network mode", FAIL, "network mode none: only loopback")
        return False
    if m == "host":
        h.add("network mode", INFO, "network mode host: uses the host's interfaces directly")
    elif m.startswith("container:"):
        h.add("network mode", INFO, f"shares the network namespace of {m[10:]}")
    if a.sandbox_note:
        h.add("!sandbox", SKIP, a.sandbox_note)
    elif not a.interfaces and m != "host":
        h.add("!sandbox", SKIP, "the container's interfaces could not be read (needs root)")
    return True


def _dns_hop(
    rep: PathReport, snap: Snapshot, a: Container, b: Container, shared: list[Network], name: str
) -> None:
    h = rep.hop(f"name '{name}'", "dns", b.name)
    user_nets = [n for n in shared if n.dns_by_name]
    if user_nets:
        n = user_nets[0]
        e = _endpoint(b, n)
        names = (
            {b.name} | set((e.aliases if e else []) or []) | set((e.dns_names if e else []) or [])
        )
        if name in names or name == b.id[:12] or b.id.startswith(name):
            h.add(
                "embedded DNS",
                OK,
                f"{EMBEDDED_DNS} on network {n.name} answers '{name}' with {e.ipv4 if e else '?'}",
            )
        else:
            h.add(
                "embedded DNS", WARN, f"'{name}' is not among {b.name}'s names/aliases on {n.name}"
            )
        return
    links = [x for x in a.extra_hosts if x.split(":", 1)[0] == name]
    if links:
        h.add("extra hosts", OK, f"--add-host {links[0]}")
        return
    if shared:
        h.add(
            "embedded DNS",
            FAIL,
            f"{a.name} and {b.name} share only the default bridge "
            f"({shared[0].name}): it has no DNS, names don't resolve (use a user-defined "
            "network, or the IP address)",
        )
    else:
        own = [snap.network(x) for x in a.networks]
        if any(n is not None and n.dns_by_name for n in own):
            h.add(
                "embedded DNS",
                FAIL,
                f"{b.name} is on none of {a.name}'s networks: the embedded "
                "DNS does not know its name",
            )
        else:
            h.add(
                "embedded DNS",
                FAIL,
                f"{a.name} is only on the default bridge: no embedded DNS, "
                "container names don't resolve",
            )


def _side_hops(
    rep: PathReport,
    snap: Snapshot,
    c: Container,
    net: Network,
    target_ip: str | None,
    facts,
    is_src: bool,
) -> None:
    """Source side: interface (+route), veth, bridge. Destination side: veth, interface."""
    e, iface = _iface_for(c, net)
    ip = e.ipv4 if e else None
    ifname = iface.name if iface else (e.sandbox_ifname if e else None) or "?"
    h_if = rep.hop(f"{c.name} {ifname} ({ip or 'no address'})", "interface", c.name)
    if e is None or not e.attached:
        h_if.add("attached", FAIL, f"{c.name} has no active endpoint on {net.name}")
        return
    if not ip:
        h_if.add("address", FAIL, f"no IPv4 address on {net.name}")
    else:
        h_if.add("address", OK, f"{ip}/{e.ipv4_prefixlen or '?'} on {net.name}")
    if iface is not None:
        st = (iface.operstate or "").upper()
        h_if.add(
            "link up", OK if st in ("UP", "UNKNOWN") else FAIL, f"{iface.name} {iface.operstate}"
        )
    if is_src and target_ip:
        r = route_for(c.routes, target_ip)
        if not c.routes:
            h_if.add("route", SKIP, "routes not read")
        elif r is None:
            h_if.add(
                "route", FAIL, f"no route to {target_ip} (internal network without a gateway?)"
            )
        else:
            via = f" via {r.gateway}" if r.gateway else ""
            good = r.dev == ifname or iface is None
            h_if.add(
                "route",
                OK if good else WARN,
                f"{target_ip}: {r.dst}{via} dev {r.dev}"
                + ("" if good else f" (leaves by {r.dev}, not {ifname})"),
            )
    veth = (iface.host_veth if iface else None) or (e.host_veth if e else None)
    if net.driver != "bridge":
        h_if.add("driver", INFO, f"{net.driver} network: no host veth/bridge on the path")
        return
    h_v = rep.hop(f"{veth or '?'} (host side of {c.name})", "veth", veth)
    link = _link(snap, veth)
    if veth is None or link is None:
        h_v.add("!veth", SKIP, "host veth unknown (sandbox or kernel view unavailable)")
    else:
        up = link.admin_up and (link.operstate or "").upper() not in ("DOWN", "LOWERLAYERDOWN")
        h_v.add(
            "up",
            OK if up else FAIL,
            f"admin {'up' if link.admin_up else 'down'}, operstate {link.operstate}",
        )
        if link.master_name != net.bridge:
            h_v.add(
                "on bridge", FAIL, f"master {link.master_name or 'none'}, expected {net.bridge}"
            )
        else:
            h_v.add("on bridge", OK, f"port of {net.bridge}")
        p = _port_of(snap, net.bridge, veth)
        if p is not None and p.state:
            h_v.add(
                "forwarding",
                OK if p.state == "forwarding" else FAIL,
                f"bridge port state {p.state}",
            )
    if is_src:
        _bridge_hop(rep, snap, net)
    else:  # the destination side is walked from the bridge: veth first, then the interface
        rep.hops.remove(h_v)
        rep.hops.insert(rep.hops.index(h_if), h_v)


def _bridge_hop(rep: PathReport, snap: Snapshot, net: Network) -> Hop:
    h = rep.hop(f"bridge {net.bridge} (network {net.name})", "bridge", net.bridge)
    link = _link(snap, net.bridge)
    if link is None:
        h.add(
            "!exists",
            SKIP if not snap.links else FAIL,
            "kernel view unavailable" if not snap.links else f"no link {net.bridge}",
        )
        return h
    h.add("up", OK if link.admin_up else FAIL, f"admin {'up' if link.admin_up else 'down'}")
    gw = [s.gateway for s in net.subnets if s.gateway and ":" not in s.gateway]
    addrs = {a.split("/")[0] for a in link.addresses}
    for g in gw:
        h.add(
            "gateway address",
            OK if g in addrs else FAIL,
            f"{g} {'on' if g in addrs else 'missing from'} {net.bridge}",
        )
    return h


def _routing_hop(
    rep: PathReport, snap: Snapshot, na: Network, nb: Network | None, facts, to_what: str
) -> Hop:
    h = rep.hop(f"host routing ({na.name} -> {to_what})", "routing", None)
    if na.internal:
        h.add("internal", FAIL, f"{na.name} is internal: no route leaves it")
    if nb is not None and nb.internal:
        h.add("internal", FAIL, f"{nb.name} is internal: nothing enters it from other networks")
    if facts is not None:
        if facts.ip_forward == 0:
            h.add("ip_forward", FAIL, "net.ipv4.ip_forward = 0")
        elif facts.ip_forward == 1:
            h.add("ip_forward", OK, "net.ipv4.ip_forward = 1")
        for br in {na.bridge, nb.bridge if nb else None} - {None}:
            if facts.forwarding.get(br) == 0:
                h.add("forwarding", FAIL, f"net.ipv4.conf.{br}.forwarding = 0")
    if nb is not None and na.driver == "bridge" and nb.driver == "bridge":
        rules = (
            facts.iptables.rules.get("filter", [])
            if facts is not None and facts.iptables.available
            else []
        )
        st1 = [
            r
            for r in rules
            if r.startswith("-A DOCKER-ISOLATION-STAGE-1") and f"-i {na.bridge} " in r + " "
        ]
        st2 = [
            r
            for r in rules
            if r.startswith("-A DOCKER-ISOLATION-STAGE-2")
            and f"-o {nb.bridge} " in r + " "
            and "DROP" in r
        ]
        fix = (
            f"; connect both containers to one network (docker network connect {nb.name} <source>)"
        )
        if not rules:
            h.add(
                "isolation",
                FAIL,
                f"Docker isolates bridge networks from each other: "
                f"{na.bridge} -> {nb.bridge} is dropped (iptables not read: assumed)" + fix,
            )
        elif st1 or st2:
            h.add(
                "isolation",
                FAIL,
                f"Docker isolates bridge networks: traffic from {na.bridge} "
                f"to {nb.bridge} is dropped by " + "; ".join((st1 + st2)[:2]) + fix,
            )
        else:
            h.add(
                "isolation",
                WARN,
                f"Docker normally isolates bridge networks, but no "
                f"DOCKER-ISOLATION rule covers {na.bridge} -> {nb.bridge} (flushed by a firewall "
                "reload or another dockerd?): traffic may pass" + fix,
            )
    return h


def _listener_hop(rep: PathReport, c: Container, ip: str | None, port: int, proto: str) -> None:
    h = rep.hop(f"{c.name} listens on {port}/{proto}", "listener", c.name)
    if not c.pid:
        h.add("!listener", SKIP, "no pid")
        return
    if (c.network_mode or "") == "host":
        h.add("!listener", SKIP, "host network mode: see the host's sockets")
        return
    try:
        from inspectors.sockets import read_netns_listeners

        ls = read_netns_listeners(c.pid, with_pids=False)
    except (OSError, ProcessLookupError) as e:
        h.add("!listener", SKIP, f"/proc/{c.pid}/net unreadable: {e}")
        return
    mine = [l for l in ls if l.protocol == proto and l.port == port]
    if not mine:
        h.add(
            "listener",
            FAIL,
            f"nothing listens on {port}/{proto} in {c.name} "
            f"(connection refused); listening: "
            + (", ".join(sorted({f"{l.ip}:{l.port}/{l.protocol}" for l in ls})) or "nothing"),
        )
        return
    good = [l for l in mine if l.ip in ("0.0.0.0", "::") or l.ip == ip]
    if good:
        h.add("listener", OK, ", ".join(sorted({f"{l.ip}:{l.port}" for l in good})))
    else:
        h.add(
            "listener",
            FAIL,
            "listens only on "
            + ", ".join(sorted({l.ip for l in mine}))
            + f": traffic to {ip or 'the container address'} is refused",
        )


def _host_hop(
    rep: PathReport, snap: Snapshot, gw: str | None, port: int | None, proto: str, facts
) -> None:
    h = rep.hop(f"host ({gw or 'gateway'})", "host", None)
    if port is None:
        h.add("address", OK if gw else WARN, f"host reachable at the bridge gateway {gw}")
        return
    if not snap.listeners:
        h.add("!listener", SKIP, "host sockets not read")
        return
    ls = [l for l in snap.listeners if l.protocol == proto and l.port == port]
    good = [l for l in ls if l.ip in ("0.0.0.0", "::") or l.ip == gw]
    if good:
        h.add("listener", OK, ", ".join(f"{l.ip}:{l.port} {l.process or ''}".strip() for l in good))
    elif ls:
        h.add(
            "listener",
            FAIL,
            "host service listens only on "
            + ", ".join(sorted({l.ip for l in ls}))
            + ": containers can't reach it through "
            f"{gw}; bind it to 0.0.0.0 or {gw}",
        )
    else:
        h.add("listener", FAIL, f"nothing listens on host port {port}/{proto}")
    if (
        facts is not None
        and facts.iptables.available
        and facts.iptables.policy("filter", "INPUT") == "DROP"
    ):
        h.add("INPUT policy", WARN, "filter INPUT policy is DROP: needs an accept for the bridge")


def _egress_hop(rep: PathReport, snap: Snapshot, na: Network, ip: str, facts) -> None:
    h = _routing_hop(rep, snap, na, None, facts, ip)
    if facts is None:
        return
    subnets = [s.subnet for s in na.subnets if ":" not in s.subnet]
    ipt = facts.iptables
    if ipt.available and not na.internal:
        masq = [
            r
            for r in ipt.rules.get("nat", [])
            if "MASQUERADE" in r and any(f"-s {s}" in r for s in subnets)
        ]
        h.add(
            "masquerade",
            OK if masq else FAIL,
            masq[0]
            if masq
            else f"no MASQUERADE rule for {', '.join(subnets)}: replies can't come back",
        )
        if ipt.policy("filter", "FORWARD") == "DROP":
            acc = [
                r
                for r in ipt.rules.get("filter", [])
                if r.startswith("-A FORWARD") and f"-i {na.bridge} " in r + " "
            ]
            h.add(
                "FORWARD",
                OK if acc else FAIL,
                acc[0] if acc else f"FORWARD policy DROP and no accept for -i {na.bridge}",
            )
    a = _ip(ip)
    best = None
    for r in facts.routes:
        n = _net(
            "0.0.0.0/0"
            if r.dst == "default" and r.family == 4
            else "::/0"
            if r.dst == "default"
            else r.dst
        )
        if (
            n is None
            or a is None
            or n.version != a.version
            or a not in n
            or r.table not in (None, 254)
        ):
            continue
        if best is None or n.prefixlen > best[0]:
            best = (n.prefixlen, r)
    if best is None:
        h.add("egress route", FAIL, f"the host has no route to {ip}")
    else:
        r = best[1]
        h.add("egress route", OK, f"{ip} via {r.gateway or 'direct'} dev {r.dev}")
    h.add("outside address", INFO, f"{ip} is not on this host: evaluated statically, never probed")


# --------------------------------------------------------------------------- probes


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def probe_ping(ip: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """One ICMP echo to ``ip`` from the calling thread's netns."""
    ident = random.randint(1, 0xFFFF)
    raw = True
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        raw = False
    with s:
        payload = b"dockscope-probe"
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
        pkt = struct.pack("!BBHHH", 8, 0, _checksum(hdr + payload), ident, 1) + payload
        t0 = time.monotonic()
        try:
            s.sendto(pkt, (ip, 0))
        except OSError as e:
            return False, f"send failed: {e.strerror or e}"
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, f"no echo reply from {ip} in {timeout:.0f}s"
            r, _, _ = select.select([s], [], [], left)
            if not r:
                continue
            data, addr = s.recvfrom(2048)
            if raw:
                ihl = (data[0] & 0x0F) * 4
                data = data[ihl:]
            if len(data) < 8:
                continue
            typ, _code, _ck, rid, _seq = struct.unpack("!BBHHH", data[:8])
            if typ == 0 and addr[0] == ip and (rid == ident or not raw):
                return True, f"echo reply from {ip} in {(time.monotonic() - t0) * 1000:.1f} ms"
            if typ == 3 and raw:
                return False, f"ICMP destination unreachable (code {_code}) from {addr[0]}"


def probe_tcp(ip: str, port: int, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        t0 = time.monotonic()
        try:
            s.connect((ip, port))
        except TimeoutError:
            return False, f"connect to {ip}:{port} timed out after {timeout:.0f}s (dropped)"
        except ConnectionRefusedError:
            return False, f"connection to {ip}:{port} refused (nothing listening there)"
        except OSError as e:
            return False, f"connect to {ip}:{port}: {e.strerror or e}"
        return True, f"connected to {ip}:{port} in {(time.monotonic() - t0) * 1000:.1f} ms"


def probe_udp(ip: str, port: int, timeout: float = 1.0) -> tuple[bool | None, str]:
    """Send one datagram; an ICMP port-unreachable comes back as ECONNREFUSED.
    (True: an answer; None: sent, no answer (open or filtered); False: refused.)"""
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            s.send(b"dockscope-probe\n")
            s.recv(512)
            return True, f"{ip}:{port}/udp answered"
        except TimeoutError:
            return (
                None,
                f"datagram sent to {ip}:{port}, no answer and no ICMP error (open or filtered)",
            )
        except ConnectionRefusedError:
            return False, f"{ip}:{port}/udp: port unreachable (nothing bound)"
        except OSError as e:
            return False, f"{ip}:{port}/udp: {e.strerror or e}"


def build_dns_query(name: str, qid: int, qtype: int = 1) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".") if p) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def _skip_name(buf: bytes, off: int) -> int:
    while True:
        ln = buf[off]
        if ln == 0:
            return off + 1
        if ln & 0xC0 == 0xC0:
            return off + 2
        off += 1 + ln


def parse_dns_answer(buf: bytes, qid: int) -> tuple[int, list[str]]:
    """(rcode, [A/AAAA addresses]) of a DNS response."""
    rid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", buf[:12])
    if rid != qid:
        raise ValueError("answer id mismatch")
    off = 12
    for _ in range(qd):
        off = _skip_name(buf, off) + 4
    out = []
    for _ in range(an):
        off = _skip_name(buf, off)
        typ, _cls, _ttl, rdlen = struct.unpack("!HHIH", buf[off : off + 10])
        off += 10
        rd = buf[off : off + rdlen]
        off += rdlen
        if typ == 1 and rdlen == 4:
            out.append(socket.inet_ntop(socket.AF_INET, rd))
        elif typ == 28 and rdlen == 16:
            out.append(socket.inet_ntop(socket.AF_INET6, rd))
    return flags & 0x0F, out


def probe_dns(
    name: str, server: str = EMBEDDED_DNS, timeout: float = PROBE_TIMEOUT
) -> tuple[bool, list[str], str]:
    qid = random.randint(0, 0xFFFF)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((server, 53))
            s.send(build_dns_query(name, qid))
            data = s.recv(4096)
        except TimeoutError:
            return False, [], f"no answer from {server} in {timeout:.0f}s"
        except ConnectionRefusedError:
            return False, [], f"no DNS server at {server} (port unreachable)"
        except OSError as e:
            return False, [], f"{server}: {e.strerror or e}"
    try:
        rcode, ips = parse_dns_answer(data, qid)
    except (ValueError, struct.error, IndexError) as e:
        return False, [], f"bad answer: {e}"
    if rcode == 3:
        return False, [], f"{server}: NXDOMAIN for '{name}'"
    if rcode != 0:
        return False, [], f"{server}: rcode {rcode}"
    if not ips:
        return False, [], f"{server}: no address for '{name}'"
    return True, ips, f"{server} answered {', '.join(ips)}"


def run_probes(
    netns_path: str, ip: str | None, port: int | None, proto: str, dns_name: str | None
) -> list[Check]:
    """All probes from inside ``netns_path`` (a thread setns()-es there)."""
    from inspectors.hostfacts import run_in_netns

    def work():
        out = []
        if dns_name:
            ok, ips, detail = probe_dns(dns_name)
            c = Check("dns query", OK if ok else FAIL, detail)
            if ok and ip and ip not in ips:
                c.status, c.detail = WARN, detail + f" (expected {ip})"
            out.append(c)
        if ip:
            ok, detail = probe_ping(ip)
            # without a port the echo is the reachability test; with one, ICMP may be filtered
            out.append(Check("ping", OK if ok else (WARN if port else FAIL), detail))
            if port and proto == "tcp":
                ok, detail = probe_tcp(ip, port)
                out.append(Check("tcp connect", OK if ok else FAIL, detail))
            elif port and proto == "udp":
                ok, detail = probe_udp(ip, port)
                out.append(Check("udp send", OK if ok else (FAIL if ok is False else WARN), detail))
        return out

    return run_in_netns(netns_path, work, timeout=4 * PROBE_TIMEOUT + 5)


# --------------------------------------------------------------------------- main


def explain_path(
    snap: Snapshot,
    src: str,
    dst: str,
    port: int | None = None,
    proto: str = "tcp",
    probe: bool = False,
    facts=None,
) -> PathReport:
    """Explain the path from container ``src`` to ``dst`` (a container, ``host[:PORT]``
    or ``IP[:PORT]``); with ``probe`` test it for real from inside ``src``'s netns."""
    proto = (proto or "tcp").lower()
    rep = PathReport(src=src, dst=dst, port=port, proto=proto)
    a = snap.container(src)
    if a is None:
        h = rep.hop(f"{src} (source)", "source", src)
        h.add("exists", FAIL, f"no container named {src}")
        return rep.finish()
    kind, b, ip, port, by_name = parse_target(snap, dst, port)
    rep.port, rep.dst_kind = port, kind
    if facts is None and snap.engine.local:
        try:
            from inspectors.hostfacts import gather_facts

            facts = gather_facts(snap, container_refs=False)
        except Exception as e:  # noqa: BLE001
            rep.notes.append(f"host facts unavailable: {e}")
    if not _source_hop(rep, a):
        return rep.finish()
    mode = a.network_mode or ""
    if mode.startswith("container:"):  # the path is the namespace owner's
        owner = snap.container(mode[10:])
        if owner is not None:
            rep.notes.append(
                f"{a.name} shares the network namespace of {owner.name}: its path is {owner.name}'s"
            )
            a = owner
    if mode == "host":
        return _from_host_mode(rep, snap, a, kind, b, ip, port, proto, by_name, dst, probe, facts)
    a_nets = [n for n in (snap.network(x) for x in a.networks) if n is not None]
    probe_ip, dns_name = None, None

    if kind == "container":
        assert isinstance(b, Container)
        if b.id == a.id:
            rep.notes.append("source and destination are the same container")
        b_nets = [n for n in (snap.network(x) for x in b.networks) if n is not None]
        shared = [n for n in a_nets if any(n.id == m.id for m in b_nets)]
        shared.sort(key=lambda n: (not n.dns_by_name, n.name))  # user-defined first
        if by_name:
            name = dst.split(":")[0] if ":" in dst and not dst.startswith("[") else dst
            _dns_hop(rep, snap, a, b, shared, name)
            dns_name = name
        if ip:  # addressed by IP: which network holds it?
            net_b = next(
                (n for n in b_nets if (_endpoint(b, n) or None) and _endpoint(b, n).ipv4 == ip),
                None,
            )
            if net_b is not None and any(n.id == net_b.id for n in a_nets):
                shared = [net_b]
            elif net_b is not None:
                shared = []
        if b.state != "running":
            h = rep.hop(f"{b.name} (destination)", "destination", b.name)
            h.add("running", FAIL, f"{b.name} is {b.state or 'not running'}")
            return rep.finish()
        if shared:
            n = shared[0]
            eb = _endpoint(b, n)
            rep.dst_ip = ip or (eb.ipv4 if eb else None)
            _side_hops(rep, snap, a, n, rep.dst_ip, facts, True)
            h = rep.hops[-1] if rep.hops and rep.hops[-1].kind == "bridge" else None
            if h is not None:
                h.add("same bridge", OK, f"{a.name} and {b.name} are both on {n.name}")
                if not n.icc:
                    h.add(
                        "icc",
                        FAIL,
                        f"network {n.name} disables inter-container communication "
                        "(enable_icc=false)",
                    )
            _side_hops(rep, snap, b, n, None, facts, False)
            if n.driver != "bridge" and n.driver in ("macvlan", "ipvlan"):
                rep.notes.append(f"{n.driver}: containers talk through the parent {n.parent}")
        else:
            if not a_nets or not b_nets:
                h = rep.hop("networks", "routing")
                h.add("networks", FAIL, f"{a.name if not a_nets else b.name} has no network")
                return rep.finish()
            na, nb = a_nets[0], b_nets[0]
            eb = _endpoint(b, nb)
            rep.dst_ip = ip or (eb.ipv4 if eb else None)
            _side_hops(rep, snap, a, na, rep.dst_ip, facts, True)
            h = rep.hops[-1] if rep.hops and rep.hops[-1].kind == "bridge" else None
            if h is not None:
                h.add(
                    "same bridge",
                    WARN,
                    f"{b.name} is not on {na.name} (networks of {b.name}: "
                    f"{', '.join(b.networks)}): the packet goes to the host",
                )
            _routing_hop(rep, snap, na, nb, facts, nb.name)
            if nb.bridge:
                _bridge_hop(rep, snap, nb)
            _side_hops(rep, snap, b, nb, None, facts, False)
        if port:
            _listener_hop(rep, b, rep.dst_ip, port, proto)
            pb = [
                p
                for p in b.ports
                if p.container_port == port and p.protocol == proto and p.host_port
            ]
            if pb:
                rep.notes.append(
                    f"{b.name} also publishes {port}/{proto} on the host as "
                    + ", ".join(f"{p.host_ip or '0.0.0.0'}:{p.host_port}" for p in pb)
                )
        probe_ip = rep.dst_ip
    elif kind == "host":
        n = next((x for x in a_nets if x.driver == "bridge"), a_nets[0] if a_nets else None)
        gw = ip
        if n is not None and gw is None:
            gw = next((s.gateway for s in n.subnets if s.gateway and ":" not in s.gateway), None)
        rep.dst_ip = gw
        if by_name and dst.startswith("host.docker.internal"):
            h = rep.hop("name 'host.docker.internal'", "dns", a.name)
            hg = [x for x in a.extra_hosts if x.startswith("host.docker.internal:")]
            h.add(
                "extra hosts",
                OK if hg else FAIL,
                hg[0]
                if hg
                else "no --add-host host.docker.internal:host-gateway (Linux has no "
                "such name by default)",
            )
        if n is None:
            h = rep.hop("networks", "routing")
            h.add("networks", FAIL, f"{a.name} has no network")
            return rep.finish()
        _side_hops(rep, snap, a, n, gw, facts, True)
        _host_hop(rep, snap, gw, port, proto, facts)
        probe_ip = gw
    else:
        rep.dst_ip = ip
        n = a_nets[0] if a_nets else None
        if n is None:
            h = rep.hop("networks", "routing")
            h.add("networks", FAIL, f"{a.name} has no network")
            return rep.finish()
        if _ip(ip) is None:
            h = rep.hop(f"name '{ip}'", "dns", None)
            h.add(
                "!resolve",
                SKIP,
                f"'{ip}' is not a container of this engine; external names are not resolved here",
            )
        _side_hops(rep, snap, a, n, ip if _ip(ip) else None, facts, True)
        if _ip(ip):
            _egress_hop(rep, snap, n, ip, facts)
        probe_ip = None  # never probe outside addresses
        dns_name = None

    if probe:
        _probe(rep, snap, a, probe_ip, port, proto, dns_name if kind == "container" else None)
    return rep.finish()


def _from_host_mode(
    rep: PathReport,
    snap: Snapshot,
    a: Container,
    kind: str,
    b,
    ip,
    port,
    proto,
    by_name: bool,
    dst: str,
    probe: bool,
    facts,
) -> PathReport:
    """Source in network mode host: it is the host talking."""
    h = rep.hop(f"{a.name} uses the host's network stack", "routing", a.name)
    h.add("network mode", INFO, "network mode host: packets leave through the host's own routes")
    probe_ip = None
    if kind == "container":
        if by_name:
            d = rep.hop(f"name '{dst.split(':')[0]}'", "dns", b.name)
            d.add(
                "embedded DNS",
                FAIL,
                "host network mode has no embedded DNS: container names "
                "don't resolve (use the container's IP or publish a port)",
            )
        if b.state != "running":
            d = rep.hop(f"{b.name} (destination)", "destination", b.name)
            d.add("running", FAIL, f"{b.name} is {b.state or 'not running'}")
            return rep.finish()
        nets = [n for n in (snap.network(x) for x in b.networks) if n is not None and n.bridge]
        if ip:
            nets = [n for n in nets if (_endpoint(b, n) and _endpoint(b, n).ipv4 == ip)] or nets
        if not nets:
            d = rep.hop(f"{b.name} (destination)", "destination", b.name)
            d.add("networks", FAIL, f"{b.name} is on no bridge network the host routes to")
            return rep.finish()
        n = nets[0]
        eb = _endpoint(b, n)
        rep.dst_ip = ip or (eb.ipv4 if eb else None)
        _bridge_hop(rep, snap, n)
        _side_hops(rep, snap, b, n, None, facts, False)
        if port:
            _listener_hop(rep, b, rep.dst_ip, port, proto)
        probe_ip = rep.dst_ip
    elif kind == "host":
        rep.dst_ip = ip or "127.0.0.1"
        _host_hop(rep, snap, rep.dst_ip, port, proto, facts)
        probe_ip = rep.dst_ip
    else:
        rep.dst_ip = ip
        h.add(
            "outside address", INFO, f"{ip} is not on this host: evaluated statically, never probed"
        )
    if probe:
        _probe(rep, snap, a, probe_ip, port, proto, None)
    return rep.finish()


def _probe(
    rep: PathReport,
    snap: Snapshot,
    a: Container,
    ip: str | None,
    port: int | None,
    proto: str,
    dns_name: str | None,
) -> None:
    h = rep.hop(f"probe from inside {a.name}", "probe", a.name)
    rep.probed = True
    if ip is None and dns_name is None:
        h.add(
            "probe", SKIP, "nothing to probe on this host (outside addresses are never contacted)"
        )
        return
    if not snap.engine.local:
        h.add("probe", SKIP, "the engine is not on this host")
        return
    if os.geteuid() != 0:
        h.add("probe", SKIP, "needs root to enter the container's network namespace")
        return
    path = f"/proc/{a.pid}/ns/net" if a.pid else a.netns
    if not path or not os.path.exists(path):
        h.add("probe", SKIP, "the container's network namespace is gone")
        return
    try:
        for c in run_probes(path, ip, port, proto, dns_name):
            h.checks.append(c)
    except (OSError, TimeoutError) as e:
        h.add("probe", SKIP, f"could not probe: {e}")


__all__ = [
    "Check",
    "Hop",
    "PathReport",
    "explain_path",
    "parse_target",
    "run_probes",
    "probe_tcp",
    "probe_udp",
    "probe_ping",
    "probe_dns",
    "build_dns_query",
    "parse_dns_answer",
    "route_for",
]
