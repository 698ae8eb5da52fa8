"""An overlay network as one node sees it: its own namespace, br0, the vxlan
device (VNI, UDP port, counters) and its FDB (which remote VTEP each remote MAC
sits behind), the peers and service VIPs from ``network inspect --verbose``, the
load-balancer namespace with its IPVS table, encryption, and the MTU stack.

Runs on the node itself (locally, or as part of ``dockscope snapshot --json``
run over ssh on that node): the overlay's namespace file is a bind mount that
only the node's mount namespace shows (``<exec-root>/netns/<epoch>-<id[:10]>``,
libnetwork ``ov_network.go``; ``lb_<id[:9]>`` for the load balancer).

All netlink through pyroute2, in a thread that entered the namespace
(``hostfacts.run_in_netns``); IPVS through pyroute2's generic-netlink ``IPVS``.
Never imports textual.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field

VXLAN_ENCAP = 50  # bytes of outer Ethernet+IP+UDP+VXLAN (libnetwork overlay vxlanEncap)
VXLAN_OPT = "com.docker.network.driver.overlay.vxlanid_list"
MTU_OPT = "com.docker.network.driver.mtu"
NTF_SELF, NUD_PERMANENT = 0x02, 0x80


@dataclass
class VxlanDevice:
    name: str
    ifindex: int
    vni: int | None
    port: int | None  # UDP destination port (4789 unless --data-path-port)
    mtu: int | None
    operstate: str | None
    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0


@dataclass
class VtepEntry:
    """One FDB row of the vxlan device: a remote MAC behind a remote VTEP."""

    mac: str
    vtep: str | None  # the remote node's underlay IP (NDA_DST); None for local rows
    permanent: bool
    device: str


@dataclass
class OverlayPeer:
    name: str  # the node's gossip name (a short id, not the hostname)
    ip: str  # its underlay IP


@dataclass
class ServiceTaskEndpoint:
    name: str
    ip: str
    host_ip: str | None  # the node the task runs on (underlay)


@dataclass
class OverlayService:
    name: str
    vip: str | None
    lb_index: int | None  # the fwmark the IPVS service uses
    tasks: list[ServiceTaskEndpoint] = field(default_factory=list)


@dataclass
class IpvsReal:
    addr: str
    port: int
    weight: int
    active: int
    inactive: int


@dataclass
class IpvsService:
    fwmark: int | None
    addr: str | None
    port: int | None
    protocol: int | None
    scheduler: str | None
    reals: list[IpvsReal] = field(default_factory=list)


@dataclass
class OverlayDetail:
    network_id: str
    name: str
    vnis: list[int]
    encrypted: bool
    mtu_option: int | None  # com.docker.network.driver.mtu, when set
    namespace: str | None = None  # the overlay's netns path on this node
    bridge: str | None = None  # br0
    bridge_mtu: int | None = None
    ports: list[str] = field(default_factory=list)  # br0's ports (vxlan + one veth per local ep)
    vxlan: list[VxlanDevice] = field(default_factory=list)
    fdb: list[VtepEntry] = field(default_factory=list)
    peers: list[OverlayPeer] = field(default_factory=list)
    services: list[OverlayService] = field(default_factory=list)
    lb_namespace: str | None = None
    ipvs: list[IpvsService] = field(default_factory=list)
    ipvs_note: str | None = None
    underlay_if: str | None = None
    underlay_addr: str | None = None
    underlay_mtu: int | None = None
    note: str | None = None  # why the kernel side is missing
    # encrypted: remote VTEP -> SPI of this node's outbound ESP SA to it (None: no SA;
    # the remote is listed because it is a peer or an outbound ESP policy names it)
    ipsec_out: dict[str, str | None] = field(default_factory=dict)
    ipsec_policy: list[str] = field(default_factory=list)  # VTEPs an ESP policy covers
    ipsec_note: str | None = None  # the kernel's ESP support / why xfrm was not read

    @property
    def overlay_mtu(self) -> int | None:
        """The MTU inside the overlay (the vxlan device's, else the option's less 50)."""
        for v in self.vxlan:
            if v.mtu:
                return v.mtu
        if self.bridge_mtu:
            return self.bridge_mtu
        return (self.mtu_option or 1500) - VXLAN_ENCAP

    @property
    def mtu_ok(self) -> bool | None:
        if self.underlay_mtu is None or self.overlay_mtu is None:
            return None
        return self.overlay_mtu <= self.underlay_mtu - VXLAN_ENCAP

    @property
    def remote_vteps(self) -> dict[str, list[str]]:
        """remote VTEP IP -> the MACs behind it."""
        out: dict[str, list[str]] = {}
        for e in self.fdb:
            if e.vtep:
                out.setdefault(e.vtep, []).append(e.mac)
        return out


# ---------------------------------------------------------------------------- engine side


def _int(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def from_network(raw: dict) -> OverlayDetail:
    """The engine's view (``network inspect --verbose``) of one overlay."""
    opts = raw.get("Options") or {}
    vnis = [int(x) for x in (opts.get(VXLAN_OPT) or "").split(",") if x.strip().isdigit()]
    d = OverlayDetail(
        network_id=raw.get("Id", ""),
        name=raw.get("Name", ""),
        vnis=vnis,
        encrypted="encrypted" in opts,
        mtu_option=_int(opts.get(MTU_OPT)),
    )
    d.peers = [OverlayPeer(p.get("Name", ""), p.get("IP", "")) for p in raw.get("Peers") or []]
    for name, s in (raw.get("Services") or {}).items():
        vip = s.get("VIP")
        d.services.append(
            OverlayService(
                name=name,
                vip=None if vip in (None, "", "<nil>") else vip,
                lb_index=_int(s.get("LocalLBIndex")) or None,
                tasks=[
                    ServiceTaskEndpoint(
                        t.get("Name", ""),
                        t.get("EndpointIP", ""),
                        (t.get("Info") or {}).get("Host IP"),
                    )
                    for t in s.get("Tasks") or []
                ],
            )
        )
    return d


def task_hosts(d: OverlayDetail) -> dict[str, list[str]]:
    """underlay IP -> names of the tasks/containers the engine says run there."""
    out: dict[str, list[str]] = {}
    for s in d.services:
        for t in s.tasks:
            if t.host_ip:
                out.setdefault(t.host_ip, []).append(t.name)
    return out


# ---------------------------------------------------------------------------- kernel side


def find_namespaces(network_id: str, exec_root: str = "/var/run/docker") -> tuple[list, str | None]:
    """(overlay namespace candidates, lb namespace) under ``exec_root``/netns."""
    base = os.path.join(exec_root, "netns")
    try:
        names = os.listdir(base)
    except OSError:
        return [], None
    ov = re.compile(r"^(\d+)-" + re.escape(network_id[:10]) + r"$")
    cands = sorted((n for n in names if ov.match(n)), key=lambda n: -int(ov.match(n).group(1)))
    lb = f"lb_{network_id[:9]}"
    return [os.path.join(base, n) for n in cands], (os.path.join(base, lb) if lb in names else None)


def _read_ns(path: str) -> dict:
    """Inside the overlay namespace: links (with vxlan data and stats) and the FDB."""
    from pyroute2 import IPRoute

    from inspectors.kernel import _STATS_KEYS, link_record  # the one link decoder

    with IPRoute() as ipr:
        links = []
        for m in ipr.get_links():
            r = link_record(m)
            info = m.get("IFLA_LINKINFO") if r["kind"] == "vxlan" else None
            data = info.get("IFLA_INFO_DATA") if info is not None else None
            links.append(
                {
                    "index": r["index"],
                    "name": r["name"],
                    "kind": r["kind"],
                    "mtu": r["mtu"],
                    "master": r["master"],
                    "operstate": r["operstate"],
                    "vni": data.get("IFLA_VXLAN_ID") if data else None,
                    "port": data.get("IFLA_VXLAN_PORT") if data else None,
                    "stats": dict(zip(_STATS_KEYS, r["stats"])) if r["stats"] else {},
                }
            )
        fdb = [
            {
                "ifindex": m["ifindex"],
                "mac": m.get("NDA_LLADDR"),
                "dst": m.get("NDA_DST"),
                "state": m["state"],
                "flags": m["flags"],
            }
            for m in ipr.fdb("dump")
        ]
    return {"links": links, "fdb": fdb}


def ip_vs_config() -> str:
    """'CONFIG_IP_VS not set' when the running kernel's config says so."""
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            cfg = f.read()
    except OSError:
        return ""
    return "" if ("CONFIG_IP_VS=y" in cfg or "CONFIG_IP_VS=m" in cfg) else "CONFIG_IP_VS not set"


def _read_ipvs(path: str) -> tuple[list[IpvsService], str | None]:
    from pyroute2 import IPVS
    from .nlcodec import whole_pyroute2

    whole_pyroute2()
    from pyroute2.ipvs import IPVSService
    from pyroute2.netlink.exceptions import NetlinkError

    out: list[IpvsService] = []
    try:
        ipvs = IPVS()
    except NetlinkError as e:
        return [], (
            f"IPVS is not available in this kernel ({ip_vs_config() or 'no ip_vs loaded'}; "
            f"netlink IPVS family: {e.args[-1]}): "
            "the service VIPs have no load balancer on this node"
        )
    try:
        for m in ipvs.service("dump"):
            sa = m.get("IPVS_CMD_ATTR_SERVICE")
            svc = IpvsService(
                fwmark=sa.get("IPVS_SVC_ATTR_FWMARK") or None,
                addr=sa.get("IPVS_SVC_ATTR_ADDR"),
                port=sa.get("IPVS_SVC_ATTR_PORT"),
                protocol=sa.get("IPVS_SVC_ATTR_PROTOCOL"),
                scheduler=sa.get("IPVS_SVC_ATTR_SCHED_NAME"),
            )
            key = IPVSService(
                af=sa.get("IPVS_SVC_ATTR_AF") or socket.AF_INET,
                fwmark=svc.fwmark or 0,
                protocol=svc.protocol or 0,
                port=svc.port or 0,
                addr=svc.addr or "0.0.0.0",
            )
            for dm in ipvs.dest("dump", service=key):
                da = dm.get("IPVS_CMD_ATTR_DEST")
                svc.reals.append(
                    IpvsReal(
                        addr=da.get("IPVS_DEST_ATTR_ADDR"),
                        port=da.get("IPVS_DEST_ATTR_PORT") or 0,
                        weight=da.get("IPVS_DEST_ATTR_WEIGHT") or 0,
                        active=da.get("IPVS_DEST_ATTR_ACTIVE_CONNS") or 0,
                        inactive=da.get("IPVS_DEST_ATTR_INACT_CONNS") or 0,
                    )
                )
            out.append(svc)
    finally:
        ipvs.close()
    return out, None


def underlay_for(addr: str | None) -> tuple[str | None, int | None]:
    """(interface, MTU) holding ``addr`` in this (the node's) namespace."""
    if not addr:
        return None, None
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        idx = None
        for a in ipr.get_addr():
            if (a.get("IFA_LOCAL") or a.get("IFA_ADDRESS")) == addr:
                idx = a["index"]
                break
        if idx is None:
            return None, None
        (link,) = ipr.get_links(idx)
        return link.get("IFLA_IFNAME"), link.get("IFLA_MTU")


def add_ipsec(d: OverlayDetail, view) -> None:
    """An encrypted overlay's IPsec on this node: for each peer, this node's
    outbound ESP SA (docker programs one per remote node; inspectors/ipsec.py)."""
    if not d.encrypted or view is None:
        return
    me = d.underlay_addr
    remotes = {p.ip for p in d.peers if p.ip and p.ip != me}
    remotes |= {p.dst.split("/")[0] for p in view.policies if p.dir == "out" and p.requires_esp}
    for r in sorted(remotes):
        sa = view.sa(me, r) if me else None
        d.ipsec_out[r] = sa.spi if sa else None
        if view.esp_policy_to(r):
            d.ipsec_policy.append(r)
    d.ipsec_note = view.note or view.kernel


def read_overlay(
    raw: dict, exec_root: str = "/var/run/docker", node_addr: str | None = None, ipsec=None
) -> OverlayDetail:
    """Engine view + this node's kernel view of one overlay (``raw``: the
    ``network inspect --verbose`` dict). Needs root to enter the namespaces."""
    from inspectors.hostfacts import run_in_netns
    from inspectors.kernel import _STATS_KEYS  # the one list of link counters

    d = from_network(raw)
    d.underlay_addr = node_addr
    try:
        d.underlay_if, d.underlay_mtu = underlay_for(node_addr)
    except OSError:
        pass
    if d.encrypted and os.geteuid() == 0:
        from inspectors.ipsec import read_ipsec

        add_ipsec(d, ipsec if ipsec is not None else read_ipsec())
    cands, lb = find_namespaces(d.network_id, exec_root)
    if raw.get("Ingress"):  # the routing mesh's load balancer lives in ingress_sbox
        sbox = os.path.join(exec_root, "netns", "ingress_sbox")
        lb = sbox if os.path.exists(sbox) else lb
    if not cands:
        d.note = (
            "no overlay namespace on this node (no local endpoint on it yet, "
            f"or another exec-root than {exec_root})"
        )
        return d
    if os.geteuid() != 0:
        d.note = "needs root to enter the overlay namespace"
        return d
    for path in cands:
        try:
            got = run_in_netns(path, _read_ns, path)
        except OSError as e:
            d.note = f"cannot enter {path}: {e}"
            continue
        vx = [x for x in got["links"] if x["kind"] == "vxlan"]
        if d.vnis and vx and not any(x["vni"] in d.vnis for x in vx):
            continue  # an older epoch's namespace for another VNI
        d.namespace, d.note = path, None
        by_index = {x["index"]: x for x in got["links"]}
        br = next((x for x in got["links"] if x["kind"] == "bridge"), None)
        if br:
            d.bridge, d.bridge_mtu = br["name"], br["mtu"]
            d.ports = sorted(x["name"] for x in got["links"] if x["master"] == br["index"])
        for x in vx:
            st = x["stats"]
            d.vxlan.append(
                VxlanDevice(
                    name=x["name"],
                    ifindex=x["index"],
                    vni=x["vni"],
                    port=x["port"],
                    mtu=x["mtu"],
                    operstate=x["operstate"],
                    **{k: st.get(k, 0) for k in _STATS_KEYS},
                )
            )
        vx_idx = {x["index"] for x in vx}
        for f in got["fdb"]:
            if f["ifindex"] in vx_idx and f["mac"] and f["dst"]:
                d.fdb.append(
                    VtepEntry(
                        mac=f["mac"],
                        vtep=f["dst"],
                        permanent=bool(f["state"] & NUD_PERMANENT),
                        device=by_index[f["ifindex"]]["name"],
                    )
                )
        d.fdb.sort(key=lambda e: (ipaddress.ip_address(e.vtep), e.mac))
        break
    if lb:
        d.lb_namespace = lb
        try:
            d.ipvs, d.ipvs_note = run_in_netns(lb, _read_ipvs, lb)
        except OSError as e:
            d.ipvs_note = f"cannot read IPVS in {lb}: {e}"
    return d


def read_overlays(
    api, info: dict | None = None, exec_root: str | None = None
) -> list[OverlayDetail]:
    """Every overlay this engine knows, with this node's kernel view of each.
    ``api``: the engine object (``network(id, verbose=True)``, ``networks()``, ``info()``)."""
    info = info if info is not None else api.info()
    node_addr = (info.get("Swarm") or {}).get("NodeAddr") or None
    if exec_root is None:
        exec_root = "/var/run/docker"
    out = []
    ipsec = None  # the node's xfrm tables, read once for every encrypted overlay
    for n in api.networks():
        if n.get("Driver") != "overlay":
            continue
        try:
            raw = api.network(n["Id"], verbose=True)
        except Exception:  # noqa: BLE001 - a network removed between the list and the read
            continue
        if ipsec is None and "encrypted" in (raw.get("Options") or {}) and os.geteuid() == 0:
            from inspectors.ipsec import read_ipsec

            ipsec = read_ipsec()
        out.append(read_overlay(raw, exec_root, node_addr, ipsec))
    return out
