"""Driver truth: the path a container's endpoint really takes, per driver.

One UI-free answer used by the Endpoints pane, ``dockscope path`` and the doctor:

* bridge: ``eth0 -> host veth -> bridge -> host`` (NAT unless internal); a bridge or
  veth deleted from under the engine is a MISSING hop with what that breaks;
* overlay: ``eth0`` into the overlay's own namespace (``br0``, the vxlan device and
  its VNI, the remote VTEPs), then the underlay; outside traffic leaves by the
  container's ``docker_gwbridge`` interface with NAT;
* macvlan/ipvlan: no NAT, no veth peer; the host cannot reach its own macvlan
  containers through the parent;
* host: the host stack; none: only ``lo``; ``container:X``: X's namespace.

Also here, because they are the same facts seen from the network side: the
network FLAGS (:func:`network_flags`), the effective gateway
(:func:`effective_gateway`), swarm sandboxes (:func:`swarm_sandbox`) and leftover
veth pairs (:func:`leftover_veths`). Pure functions over a snapshot; no I/O.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from dataclasses import dataclass, field

from inspectors.model import Container, Interface, Link, Network, Snapshot

GWBRIDGE = "docker_gwbridge"


@dataclass
class Hop:
    name: str  # what is there: "eth0 10.0.0.2/24", "veth1234", "br-abc (web)"...
    role: str  # iface | veth | bridge | host | overlay-ns | br0 | vxlan | vtep | underlay |
    # gwbridge | parent | wire | loopback | stack | namespace
    status: str = "ok"  # ok | missing | down | detached | blocked | unknown
    note: str = ""  # e.g. "NAT", "internal: no egress", "deleted from under the engine"


@dataclass
class EndpointPath:
    container: str
    driver: str  # bridge | overlay | macvlan | ipvlan | host | none | container | unknown
    iface: str | None = None
    network: str | None = None
    address: str | None = None
    hops: list[Hop] = field(default_factory=list)
    says: list[str] = field(default_factory=list)  # what applies to this driver
    breaks: list[str] = field(default_factory=list)  # what is broken and what that breaks

    @property
    def ok(self) -> bool:
        return not self.breaks and all(h.status == "ok" for h in self.hops)

    def text(self) -> str:
        """One line: ``eth0 10.0.0.2/24 -> veth12 -> br-1 (web) -> host eth0 (NAT)``."""
        parts = []
        for h in self.hops:
            s = h.name
            if h.status != "ok":
                s += f" [{h.status.upper()}]"
            if h.note:
                s += f" ({h.note})"
            parts.append(s)
        return " -> ".join(parts)

    def to_dict(self) -> dict:
        return {
            "container": self.container,
            "driver": self.driver,
            "iface": self.iface,
            "network": self.network,
            "address": self.address,
            "ok": self.ok,
            "hops": [h.__dict__.copy() for h in self.hops],
            "says": list(self.says),
            "breaks": list(self.breaks),
        }


# --------------------------------------------------------------------------- helpers


_batch = threading.local()  # .memo: (snap, links by name, uplink) inside batch()


@contextlib.contextmanager
def batch(snap: Snapshot):
    """Paths of many containers of one snapshot: the link index and the host uplink are
    computed once for the batch, not once per container (a scan of every host link each
    time, hundreds of links on a busy host). The snapshot must not change meanwhile."""
    prev = getattr(_batch, "memo", None)
    _batch.memo = (snap, {l.name: l for l in snap.links}, _uplink(snap))
    try:
        yield
    finally:
        _batch.memo = prev


def _memo(snap: Snapshot):
    m = getattr(_batch, "memo", None)
    return m if m is not None and m[0] is snap else None


def _link(snap: Snapshot, name: str | None) -> Link | None:
    if not name:
        return None
    m = _memo(snap)
    if m is not None:
        return m[1].get(name)
    return next((l for l in snap.links if l.name == name), None)


def _kernel_known(snap: Snapshot) -> bool:
    return snap.engine.local and bool(snap.links)


def host_uplink(snap: Snapshot) -> Link | None:
    """The host NIC traffic most likely leaves by (a physical/vlan/bond link that is up
    and has an address)."""
    m = _memo(snap)
    return m[2] if m is not None else _uplink(snap)


def _uplink(snap: Snapshot) -> Link | None:
    cands = [
        l
        for l in snap.links
        if l.name != "lo"
        and l.kind in (None, "vlan", "bond", "team")
        and (l.operstate or "").upper() in ("UP", "UNKNOWN")
        and l.addresses
    ]
    cands.sort(key=lambda l: (not l.name.startswith(("eth", "en", "wl", "bond")), l.index))
    return cands[0] if cands else None


def _v4(addrs: list[str]) -> str | None:
    a = [x for x in addrs if ":" not in x] or addrs
    return a[0] if a else None


def overlay_netns(n: Network, exec_root: str = "/var/run/docker") -> str:
    """Where the engine keeps an overlay's own namespace (``1-<first 10 of the id>``)."""
    return f"{exec_root.rstrip('/')}/netns/1-{n.id[:10]}"


def swarm_sandbox(name: str | None) -> str | None:
    """What a swarm-made endpoint or namespace name is, or None for anything else."""
    if not name:
        return None
    if name in ("ingress_sbox", "ingress-sbox", "gateway_ingress-sbox"):
        return "swarm ingress sandbox (routing mesh, IPVS for published service ports)"
    if name.startswith(("lb-", "lb_")):
        return f"swarm load balancer of network {name[3:]} (service VIPs, IPVS)"
    if name.startswith("gateway_"):
        return (
            f"egress endpoint of sandbox {name[8:]} on {GWBRIDGE} "
            "(an overlay container's way out, NAT)"
        )
    return None


# --------------------------------------------------------------------------- flags, gateway


def network_flags(n: Network) -> list[str]:
    """The FLAGS of a network, one decision for the CLI snapshot and the console."""
    out = []
    if n.internal:
        out.append("internal")
    if n.attachable:
        out.append("attachable")
    if n.ingress:
        out.append("ingress")
    if n.enable_ipv6:
        out.append("ipv6")
    if n.driver == "bridge" and not n.dns_by_name:
        out.append("no-dns")
    if not n.icc:
        out.append("no-icc")
    if n.driver == "overlay" and "encrypted" in (n.options or {}):
        out.append("encrypted")
    return out


def effective_gateway(n: Network, snap: Snapshot | None = None) -> tuple[str | None, str]:
    """(gateway IP, where it comes from): IPAM's, else the address the network's bridge
    holds in its subnet (default bridge, internal networks), else none and why."""
    for s in n.subnets:
        if s.gateway:
            return s.gateway, "ipam"
    if n.driver in ("macvlan", "ipvlan"):
        return None, "none (the parent's LAN router, outside Docker)"
    if n.driver in ("null", "host"):
        return None, "none"
    if snap is not None and n.bridge:
        b = snap.bridge(n.bridge)
        addrs = list(b.addresses) if b else []
        if not addrs:
            l = _link(snap, n.bridge)
            addrs = list(l.addresses) if l else []
        nets = []
        for s in n.subnets:
            try:
                nets.append(ipaddress.ip_network(s.subnet, strict=False))
            except ValueError:
                pass
        for a in addrs:
            try:
                ip = ipaddress.ip_interface(a).ip
            except ValueError:
                continue
            if not nets or any(ip in net for net in nets):
                return str(ip), f"bridge {n.bridge}"
        if b is None and _link(snap, n.bridge) is None and _kernel_known(snap):
            return None, f"none: bridge {n.bridge} is missing"
    if n.internal and n.driver == "bridge":
        return None, "none (internal)"
    return None, "unknown"


# --------------------------------------------------------------------------- per driver


def _missing_bridge_breaks(n: Network) -> str:
    return (
        f"bridge {n.bridge} of network {n.name} is missing (deleted from under the engine): "
        f"containers on {n.name} cannot reach each other, the host or the outside, and "
        f"published ports to them do not answer; recreate it by restarting the engine or "
        f"`docker network rm` + create {n.name} again"
    )


def _bridge_path(p: EndpointPath, snap: Snapshot, c: Container, i: Interface, n: Network | None):
    kernel = _kernel_known(snap)
    want = n.bridge if n else i.bridge
    veth = i.host_veth
    vlink = _link(snap, veth) if veth else None
    if not veth:
        p.hops.append(Hop("host veth", "veth", "missing" if kernel else "unknown"))
        if kernel:
            p.breaks.append(
                f"{i.name} has no veth peer on the host: the container is cut off from "
                f"{n.name if n else 'its network'}"
            )
    elif kernel and vlink is None:
        p.hops.append(Hop(veth, "veth", "missing"))
        p.breaks.append(f"host veth {veth} is gone: {c.name} is cut off")
    else:
        st = "ok"
        if vlink is not None and (vlink.operstate or "").upper() in ("DOWN", "LOWERLAYERDOWN"):
            st = "down"
            p.breaks.append(f"host veth {veth} is {vlink.operstate}: {c.name} is cut off")
        p.hops.append(Hop(veth, "veth", st))
    master = vlink.master_name if vlink is not None else i.bridge
    bname = want or master
    blink = snap.bridge(bname) if bname else None
    present = blink is not None or _link(snap, bname) is not None
    if not bname:
        p.hops.append(Hop("bridge", "bridge", "missing" if kernel else "unknown"))
    elif kernel and not present:
        p.hops.append(Hop(bname, "bridge", "missing", f"network {n.name}" if n else ""))
        if n is not None:
            p.breaks.append(_missing_bridge_breaks(n))
        else:
            p.breaks.append(f"bridge {bname} is missing")
    else:
        st, note = "ok", f"network {n.name}" if n else ""
        if kernel and vlink is not None and want and master != want:
            st = "detached"
            note = f"veth enslaved to {master}" if master else "veth has no master"
            p.breaks.append(
                f"host veth {veth} is not on bridge {want}"
                + (f" but on {master}" if master else "")
                + f": {c.name}'s traffic never reaches {n.name if n else want}"
            )
        l = blink or _link(snap, bname)
        if st == "ok" and l is not None and (l.operstate or "").upper() == "DOWN":
            st = "down"
            p.breaks.append(f"bridge {bname} is DOWN: nothing on it forwards")
        p.hops.append(Hop(bname, "bridge", st, note))
    if p.breaks:
        p.hops.append(Hop("no path", "host", "blocked"))
        return
    if n is not None and n.internal:
        p.hops.append(Hop("host", "host", "blocked", "internal: no egress"))
        p.says.append("internal network: no route out and no published ports")
        return
    if bname == GWBRIDGE:
        p.says.append(f"{GWBRIDGE}: the way out of this container's overlay networks")
    up = host_uplink(snap)
    p.hops.append(Hop(f"host {up.name}" if up else "host", "host", "ok", "NAT"))


def _overlay_path(p: EndpointPath, snap: Snapshot, c: Container, i: Interface, n: Network):
    exec_root = snap.engine.daemon.exec_root or "/var/run/docker"
    p.hops.append(Hop(overlay_netns(n, exec_root), "overlay-ns", note="the overlay's namespace"))
    p.hops.append(Hop("br0", "br0"))
    vni = ",".join(n.vxlan_ids) or (n.options or {}).get(
        "com.docker.network.driver.overlay.vxlanid_list", ""
    )
    p.hops.append(Hop(f"vxlan VNI {vni or '?'}", "vxlan", note="UDP 4789"))
    me = snap.engine.swarm_node_addr
    peers = [
        (x.get("name") or x.get("Name") or "?", x.get("ip") or x.get("IP") or "") for x in n.peers
    ]
    remotes = [(name, ip) for name, ip in peers if ip and ip != me]
    if remotes:
        p.hops.append(Hop("VTEPs " + ", ".join(f"{nm} {ip}" for nm, ip in remotes), "vtep"))
    else:
        p.hops.append(Hop("no remote VTEP", "vtep", note="no other node on this overlay"))
    up = host_uplink(snap)
    p.hops.append(Hop(f"underlay {up.name}" if up else "underlay", "underlay"))
    gw = next((x for x in c.interfaces if x.bridge == GWBRIDGE), None)
    if n.internal:
        p.says.append("internal overlay: no way out, only the overlay's peers")
    elif gw is not None:
        p.says.append(
            f"outside traffic leaves by {gw.name} through {GWBRIDGE} with NAT, not by the overlay"
        )
    else:
        p.says.append(f"no {GWBRIDGE} interface: this container has no way out of the overlay")
    p.says.append(
        "containers on other nodes are reached over VXLAN (UDP 4789 between the nodes' "
        "underlay addresses); MTU is the network's minus 50"
    )


def _macvlan_path(p: EndpointPath, snap: Snapshot, c: Container, i: Interface, n: Network | None):
    kernel = _kernel_known(snap)
    parent = n.parent if n else None
    pl = _link(snap, parent)
    if not parent:
        p.hops.append(Hop("parent?", "parent", "unknown"))
    elif kernel and pl is None:
        p.hops.append(Hop(parent, "parent", "missing"))
        p.breaks.append(f"parent interface {parent} is missing: {c.name} has no link at all")
    elif pl is not None and (pl.operstate or "").upper() in ("DOWN", "LOWERLAYERDOWN"):
        p.hops.append(Hop(parent, "parent", "down"))
        p.breaks.append(f"parent {parent} is {pl.operstate}: {c.name} is off the wire")
    else:
        p.hops.append(Hop(parent, "parent", note=f"{i.kind} parent"))
    p.hops.append(Hop("LAN", "wire", "blocked" if p.breaks else "ok", "no NAT"))
    p.says.append(
        f"{i.kind}: no NAT and no veth peer: {c.name} sits on {parent or 'the parent'}'s LAN "
        "with its own address, and the LAN's router is its gateway"
    )
    if i.kind == "macvlan":
        p.says.append(
            f"the host cannot reach its own macvlan containers through {parent or 'the parent'} "
            "(the kernel filters parent <-> child traffic); a host-side macvlan shim on the "
            "same parent is the workaround"
        )
    else:
        p.says.append("ipvlan: the container cannot reach the parent host's own addresses")


# --------------------------------------------------------------------------- entry points


def container_paths(snap: Snapshot, c: Container) -> list[EndpointPath]:
    """Every path out of ``c``, one per interface (or one that says why there is none)."""
    mode = c.network_mode or ""
    if mode == "host":
        return [
            EndpointPath(
                c.name,
                "host",
                hops=[Hop("host network stack", "stack")],
                says=[
                    "shares the host network namespace: no veth, no bridge, no NAT; its "
                    "sockets are host sockets and -p does not apply"
                ],
            )
        ]
    if mode.startswith("container:"):
        ref = mode.split(":", 1)[1]
        other = snap.container(ref)
        name = other.name if other else ref
        return [
            EndpointPath(
                c.name,
                "container",
                hops=[Hop(f"namespace of {name}", "namespace")],
                says=[f"shares the network namespace of {name}: its paths are {name}'s"],
            )
        ]
    if c.state not in ("running", "paused", "restarting"):
        return [
            EndpointPath(
                c.name,
                "unknown",
                says=[
                    f"not running ({c.state or '?'}): no sandbox; configured on "
                    + (", ".join(c.networks) or "no network")
                ],
            )
        ]
    ifaces = [i for i in c.interfaces if i.name != "lo"]
    has_lo = any(i.name == "lo" for i in c.interfaces)
    if mode == "none" or (not ifaces and has_lo and not c.endpoints):
        return [
            EndpointPath(
                c.name,
                "none",
                hops=[Hop("lo", "loopback")],
                says=["network none: only the loopback interface; no way in or out"],
            )
        ]
    if not ifaces:
        read = has_lo and not c.sandbox_note  # the namespace was read: the interfaces are gone
        why = c.sandbox_note or (
            "the sandbox holds only lo although the engine lists endpoints"
            if read
            else "the sandbox's interfaces were not read"
            + ("" if snap.is_root else " (needs root)")
        )
        out = []
        for e in c.endpoints:
            n = snap.network(e.network_id or e.network)
            if n is not None and n.driver in ("host", "null"):
                continue
            p = EndpointPath(
                c.name,
                n.driver if n else "unknown",
                network=e.network,
                address=e.ipv4,
                hops=[Hop(e.ipv4 or "?", "iface", "missing" if read else "unknown")],
                says=[] if read else [why],
            )
            if read:
                p.breaks.append(
                    f"no interface in the sandbox for the endpoint on {e.network} "
                    f"({e.ipv4 or 'no IP'}): its veth was deleted from under the engine; "
                    f"{c.name} is cut off from {e.network}"
                )
            out.append(p)
        return out or [EndpointPath(c.name, "unknown", says=[why])]
    out = []
    for i in ifaces:
        n = snap.network(i.network) if i.network else None
        if n is None and i.bridge == GWBRIDGE:
            n = snap.network(GWBRIDGE)
        driver = n.driver if n else ("bridge" if i.bridge else (i.kind or "unknown"))
        p = EndpointPath(c.name, driver, iface=i.name, network=n.name if n else None)
        p.address = _v4(i.addresses)
        p.hops.append(Hop(f"{i.name} {p.address or ''}".strip(), "iface"))
        if driver == "overlay" and n is not None:
            _overlay_path(p, snap, c, i, n)
        elif i.kind in ("macvlan", "ipvlan") or driver in ("macvlan", "ipvlan"):
            if not i.kind or i.kind not in ("macvlan", "ipvlan"):
                i = Interface(name=i.name, kind=driver)
            _macvlan_path(p, snap, c, i, n)
        elif driver == "bridge" or i.kind == "veth" or i.host_veth:
            _bridge_path(p, snap, c, i, n)
        else:
            p.hops.append(Hop(i.kind or "device", "iface", "unknown"))
        out.append(p)
    seen = {p.network for p in out}
    for e in c.endpoints:
        if e.attached and e.network not in seen:
            n = snap.network(e.network_id or e.network)
            if n is not None and n.driver in ("host", "null"):
                continue
            out.append(
                EndpointPath(
                    c.name,
                    n.driver if n else "unknown",
                    network=e.network,
                    address=e.ipv4,
                    hops=[Hop(f"{e.ipv4 or '?'}", "iface", "missing")],
                    breaks=[
                        f"the engine lists an endpoint on {e.network} ({e.ipv4 or 'no IP'}) "
                        "but the sandbox holds no interface with its MAC"
                    ],
                )
            )
    return out


# --------------------------------------------------------------------------- leftovers


@dataclass
class LeftoverVeth:
    name: str  # the enslaved end
    peer: str | None  # the other end, also in the host namespace
    bridge: str | None
    network: str | None

    @property
    def fix(self) -> str:
        return f"ip link del {self.name}"


def leftover_veths(snap: Snapshot) -> list[LeftoverVeth]:
    """veth pairs with both ends in the host namespace and one still enslaved to a bridge:
    what an engine that died uncleanly leaves behind. No container owns them (a
    host-network container has no veth)."""
    if not _kernel_known(snap):
        return []
    by_index = {l.index: l for l in snap.links}
    owned = {
        i.host_veth
        for c in snap.containers
        if c.network_mode != "host"  # the host's own links: never a container's veth
        for i in c.interfaces
        if i.host_veth
    }
    out, seen = [], set()
    for l in snap.links:
        if l.kind != "veth" or l.name in seen or l.name in owned:
            continue
        if l.peer_netnsid is not None or not l.peer_ifindex:
            continue  # the peer lives in another namespace: a real sandbox
        peer = by_index.get(l.peer_ifindex)
        if peer is None or peer.kind != "veth" or peer.peer_ifindex != l.index:
            continue
        if peer.name in owned:
            continue
        for end, other in ((l, peer), (peer, l)):
            if end.master_name and end.name not in seen:
                seen.update((end.name, other.name))
                bridge_net = next(
                    (n.name for n in snap.networks if n.bridge == end.master_name), None
                )
                out.append(LeftoverVeth(end.name, other.name, end.master_name, bridge_net))
                break
    return out


def port_owner(snap: Snapshot, bridge: str, port: str) -> str:
    """Who is behind a bridge port, in words: a container, a swarm sandbox, a leftover."""
    b = snap.bridge(bridge)
    p = next((x for x in b.ports if x.name == port), None) if b else None
    if p is not None and p.container:
        return f"container {p.container}"
    for lv in leftover_veths(snap):
        if lv.name == port:
            return f"leftover veth pair ({port} <-> {lv.peer}, both on the host): {lv.fix}"
    if bridge == GWBRIDGE:
        n = snap.network(GWBRIDGE)
        macs = {f.mac.lower() for f in (b.fdb if b else []) if f.port == port and not f.is_local}
        for e in n.endpoints if n else []:
            if e.mac and e.mac.lower() in macs:
                return swarm_sandbox(e.container) or f"{GWBRIDGE} endpoint {e.container}"
        return (
            f"a swarm sandbox's egress on {GWBRIDGE} (ingress_sbox or a container's "
            "gateway_*): not an orphan, do not delete it"
        )
    return "no container (peer in another namespace)"


__all__ = [
    "Hop",
    "EndpointPath",
    "LeftoverVeth",
    "container_paths",
    "effective_gateway",
    "host_uplink",
    "leftover_veths",
    "network_flags",
    "overlay_netns",
    "port_owner",
    "swarm_sandbox",
]
