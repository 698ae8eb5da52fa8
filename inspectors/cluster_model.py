"""Several engines in one model: the nodes of a swarm (or any hosts named with
repeated ``-H``), read in parallel.

Per node:

* engine views through the docker SDK (``ssh://`` included), a fixed handful of
  calls per node (version, info, networks, containers, one verbose inspect per
  overlay), never one per container;
* kernel, sandbox and socket views by running ``dockscope snapshot --json`` and
  ``dockscope overlay --json`` on the node over ssh (one ssh session; the
  engine's own ssh connection is the docker SDK's). A node without dockscope
  says so and keeps its engine views.

A node that does not answer stays in the model, ``stale``, with what a previous
build knew of it (or what the swarm's node list says). Each overlay is joined
across nodes: a container on node3 is a *remote* endpoint of the overlay seen
from node2, with the VTEP node2's FDB sends its MAC to.

Never imports textual.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlparse

from .overlay import OverlayDetail, from_network
from .underlay import PortVerdict, UnderlayFacts
from .swarm import (
    SwarmView,
    format_nodes,
    swarm_from_json,
    format_services,
    format_tasks,
    text_table,
)

REMOTE_TIMEOUT = 30.0
RS = "\x1e"  # separates the two JSON documents of the one remote session


def engine_client(host: str | None = None, context: str | None = None, timeout: float = 15.0):
    """The docker SDK client for a target, from the ONE engine object when it
    exists (inspectors.api.open_engine)."""
    from inspectors import api

    return api.open_engine(host=host, context=context, timeout=timeout).client


# ---------------------------------------------------------------------------- data


@dataclass
class NodeTarget:
    host: str | None  # None: the default engine (DOCKER_HOST, context, socket)
    context: str | None = None
    label: str | None = None  # e.g. the swarm hostname, for display before we connect

    @property
    def ssh_dest(self) -> tuple[str, str | None, int | None] | None:
        """(host, user, port) when the engine is reached over ssh."""
        if not self.host or not self.host.startswith("ssh://"):
            return None
        u = urlparse(self.host)
        return u.hostname or "", u.username, u.port


@dataclass
class ClusterContainer:
    node: str
    id: str
    name: str
    state: str
    networks: dict[str, str]  # network name -> IPv4
    macs: dict[str, str]  # network name -> MAC


@dataclass
class ClusterNode:
    name: str
    host: str
    reachable: bool = False
    stale: bool = False
    error: str | None = None
    server_version: str | None = None
    swarm_state: str | None = None
    swarm_node_id: str | None = None
    swarm_addr: str | None = None
    is_manager: bool = False
    kernel: dict | None = None  # the node's own `dockscope snapshot --json`
    kernel_note: str | None = None  # why kernel views are missing
    overlays: list[OverlayDetail] = field(default_factory=list)
    containers: list[ClusterContainer] = field(default_factory=list)
    networks: list[dict] = field(default_factory=list)  # name, id, driver, scope, subnets
    read_seconds: float | None = None
    report_swarm: dict | None = None  # the swarm as the node's own dockscope read it
    underlay: UnderlayFacts | None = None  # routes + firewall verdicts for swarm ports


@dataclass
class OverlayEndpoint:
    container: str
    node: str
    ip: str
    mac: str


@dataclass
class OverlayOnNode:
    node: str
    namespace: str | None
    vxlan: str | None
    vni: int | None
    port: int | None
    rx_packets: int | None
    tx_packets: int | None
    peers: list[str]  # underlay IPs in this node's peers list
    local: list[OverlayEndpoint] = field(default_factory=list)
    remote: list[OverlayEndpoint] = field(default_factory=list)
    remote_vtep: dict[str, str | None] = field(default_factory=dict)  # mac -> VTEP in the FDB
    note: str | None = None


@dataclass
class ClusterOverlay:
    id: str
    name: str
    vnis: list[int]
    encrypted: bool
    subnets: list[str]
    nodes: list[OverlayOnNode] = field(default_factory=list)

    def on(self, node: str) -> OverlayOnNode | None:
        return next((o for o in self.nodes if o.node == node), None)


@dataclass
class ClusterSnapshot:
    taken_at: float
    nodes: list[ClusterNode]
    swarm: SwarmView | None = None
    overlays: list[ClusterOverlay] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def node(self, name: str) -> ClusterNode | None:
        return next((n for n in self.nodes if name in (n.name, n.host, n.swarm_addr)), None)

    def overlay(self, name: str) -> ClusterOverlay | None:
        return next((o for o in self.overlays if name in (o.name, o.id)), None)

    def node_by_addr(self, addr: str) -> ClusterNode | None:
        return next((n for n in self.nodes if n.swarm_addr == addr), None)


# ---------------------------------------------------------------------------- targets


def targets_from_args(args) -> list[NodeTarget]:
    """-H/--host (repeatable), --context (repeatable), --swarm (discovery)."""
    hosts = list(getattr(args, "hosts", None) or [])
    contexts = list(getattr(args, "contexts", None) or [])
    targets = [NodeTarget(h) for h in hosts] + [NodeTarget(None, c) for c in contexts]
    if getattr(args, "swarm", False):
        seed = targets[0] if targets else NodeTarget(None)
        return discover_swarm(seed)
    if not targets:
        targets = [NodeTarget(None)]
    return targets


def discover_swarm(seed: NodeTarget) -> list[NodeTarget]:
    """Every node of the swarm the seed engine manages: ``ssh://<user>@<addr>``
    (the seed's ssh user, else root). Raises ValueError when the seed is not a manager."""
    from .swarm import read_swarm

    try:
        client = engine_client(seed.host, seed.context)
        view = read_swarm(client, with_tasks=False)
    except Exception as e:  # noqa: BLE001 - one line for the CLI
        raise ValueError(f"--swarm: cannot read the swarm from {seed.host or 'the engine'}: {e}")
    if not view.nodes:
        raise ValueError(f"--swarm: {view.note or 'no nodes listed'} (name a manager with -H)")
    user = "root"
    port = None
    if seed.ssh_dest:
        _, u, port = seed.ssh_dest
        user = u or user
    out = []
    for n in view.nodes:
        hp = f"{n.address}:{port}" if port else n.address
        out.append(NodeTarget(f"ssh://{user}@{hp}", label=n.hostname))
    return out


# ---------------------------------------------------------------------------- remote kernel


def _control_dir() -> str | None:
    """A private directory for ssh connection sharing (ControlMaster), or None."""
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    d = os.path.join(base, f"dockscope-ssh-{os.getuid()}")
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(d)
    import stat

    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # not ours, a symlink, or open to others: no sharing
    return d


def _ssh_argv(dest: tuple[str, str | None, int | None]) -> list[str]:
    host, user, port = dest
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
    cdir = _control_dir()
    if cdir:  # later reads of the same node reuse the connection
        argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={cdir}/%C",
                 "-o", "ControlPersist=60"]  # fmt: skip
    if user:
        argv += ["-l", user]
    if port:
        argv += ["-p", str(port)]
    return [*argv, "--", host]


def remote_report(
    target: NodeTarget, remote_cmd: str | None = None, timeout: float = REMOTE_TIMEOUT
) -> tuple[dict | None, str | None]:
    """(``dockscope node-report`` JSON, note) from running dockscope on the node:
    its snapshot (engine + kernel + sandboxes + sockets), swarm objects when it
    is a manager, and its overlays' namespaces, in one ssh session."""
    cmd = remote_cmd or os.environ.get("DOCKSCOPE_REMOTE") or "dockscope"
    words = shlex.split(cmd)
    dest = target.ssh_dest
    q = " ".join(shlex.quote(x) for x in words)
    script = f"command -v {shlex.quote(words[0])} >/dev/null 2>&1 || exit 127; {q} node-report"
    if dest:
        argv = [*_ssh_argv(dest), script]
    elif target.host is None or target.host.startswith("unix://"):
        env = dict(os.environ)  # a local engine: the kernel is this machine's
        if target.host:
            env["DOCKER_HOST"] = target.host
        argv = ["sh", "-c", script]
    else:
        return None, "kernel views need ssh:// for this node (engine views only)"
    try:
        r = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if dest else env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"dockscope on the node did not answer within {timeout:.0f}s"
    except OSError as e:
        return None, f"cannot run ssh: {e}"
    if r.returncode == 127:
        return (
            None,
            f"dockscope is not installed on this node ({cmd!r} not found): engine views only",
        )
    if r.returncode == 255 and dest:
        last = (r.stderr.strip().splitlines() or ["ssh failed"])[-1]
        return None, f"ssh: {last}"
    try:
        return json.loads(r.stdout), None
    except ValueError:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"dockscope on the node failed: {last}"


def _overlay_from_json(d: dict) -> OverlayDetail:
    from . import overlay as O

    od = OverlayDetail(
        network_id=d["network_id"],
        name=d["name"],
        vnis=d.get("vnis") or [],
        encrypted=bool(d.get("encrypted")),
        mtu_option=d.get("mtu_option"),
    )
    for k in ("namespace", "bridge", "bridge_mtu", "lb_namespace", "ipvs_note",
              "underlay_if", "underlay_addr", "underlay_mtu", "note"):  # fmt: skip
        setattr(od, k, d.get(k))
    od.ports = list(d.get("ports") or [])
    od.ipsec_out = dict(d.get("ipsec_out") or {})
    od.ipsec_policy = list(d.get("ipsec_policy") or [])
    od.ipsec_note = d.get("ipsec_note")
    od.vxlan = [O.VxlanDevice(**v) for v in d.get("vxlan") or []]
    od.fdb = [O.VtepEntry(**v) for v in d.get("fdb") or []]
    od.peers = [O.OverlayPeer(**p) for p in d.get("peers") or []]
    od.services = [
        O.OverlayService(
            name=s["name"],
            vip=s.get("vip"),
            lb_index=s.get("lb_index"),
            tasks=[O.ServiceTaskEndpoint(**t) for t in s.get("tasks") or []],
        )
        for s in d.get("services") or []
    ]
    od.ipvs = [
        O.IpvsService(**{**s, "reals": [O.IpvsReal(**r) for r in s.get("reals") or []]})
        for s in d.get("ipvs") or []
    ]
    return od


# ---------------------------------------------------------------------------- one node


def read_node(
    target: NodeTarget, remote_cmd: str | None = None, kernel: bool = True
) -> ClusterNode:
    """One node: its own dockscope's report when it has one (one ssh session),
    else the engine views through the docker SDK."""
    t0 = time.monotonic()
    node = ClusterNode(name=target.label or target.host or "local", host=target.host or "default")
    report, note = remote_report(target, remote_cmd) if kernel else (None, None)
    if report is not None and (report.get("snapshot") or {}).get("engine", {}).get("reachable"):
        _from_report(node, report)
    else:
        node.kernel_note = note or (report or {}).get("note")
        _read_engine_sdk(node, target)
    node.read_seconds = round(time.monotonic() - t0, 3)
    return node


def _from_report(node: ClusterNode, report: dict) -> None:
    snap = report["snapshot"]
    eng = snap["engine"]
    node.reachable = True
    node.kernel = snap
    node.name = eng.get("name") or node.name
    node.server_version = eng.get("server_version")
    node.swarm_state = eng.get("swarm_state")
    node.swarm_addr = eng.get("swarm_node_addr") or None
    sw = report.get("swarm") or {}
    node.swarm_node_id = sw.get("node_id")
    node.is_manager = bool(sw.get("is_manager"))
    node.networks = [
        {
            "id": n.get("id", ""),
            "name": n.get("name", ""),
            "driver": n.get("driver", ""),
            "scope": n.get("scope", ""),
            "subnets": [s.get("subnet") for s in n.get("subnets") or []],
        }
        for n in snap.get("networks") or []
    ]
    for c in snap.get("containers") or []:
        eps = c.get("endpoints") or []
        node.containers.append(
            ClusterContainer(
                node=node.name,
                id=c.get("id", ""),
                name=c.get("name", ""),
                state=c.get("state", ""),
                networks={e["network"]: e.get("ipv4") or "" for e in eps},
                macs={e["network"]: e.get("mac") or "" for e in eps},
            )
        )
    node.overlays = [_overlay_from_json(d) for d in report.get("overlays") or []]
    node.report_swarm = sw or None
    u = report.get("underlay")
    if u:
        node.underlay = UnderlayFacts(
            node_addr=u.get("node_addr"),
            interface=u.get("interface"),
            mtu=u.get("mtu"),
            routes=list(u.get("routes") or []),
            verdicts=[PortVerdict(**v) for v in u.get("verdicts") or []],
            note=u.get("note"),
        )


def _read_engine_sdk(node: ClusterNode, target: NodeTarget) -> None:
    try:
        client = engine_client(target.host, target.context)
    except Exception as e:  # noqa: BLE001
        node.error = (str(e).splitlines() or [type(e).__name__])[0]
        node.stale = True
        return
    try:
        _read_engine(node, client)
    except Exception as e:  # noqa: BLE001 - a node down is data, not a crash
        node.reachable = False
        node.stale = True
        node.error = (str(e).splitlines() or [type(e).__name__])[0]
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass


def _read_engine(node: ClusterNode, client) -> None:
    api = client.api
    info = api.info()
    node.reachable = True
    node.name = info.get("Name") or node.name
    node.server_version = info.get("ServerVersion")
    sw = info.get("Swarm") or {}
    node.swarm_state = sw.get("LocalNodeState")
    node.swarm_node_id = sw.get("NodeID") or None
    node.swarm_addr = sw.get("NodeAddr") or None
    node.is_manager = bool(sw.get("ControlAvailable"))
    nets = api.networks()
    node.networks = [
        {
            "id": n.get("Id", ""),
            "name": n.get("Name", ""),
            "driver": n.get("Driver", ""),
            "scope": n.get("Scope", ""),
            "subnets": [c.get("Subnet") for c in (n.get("IPAM") or {}).get("Config") or []],
        }
        for n in nets
    ]
    for c in api.containers(all=True):
        settings = (c.get("NetworkSettings") or {}).get("Networks") or {}
        node.containers.append(
            ClusterContainer(
                node=node.name,
                id=c.get("Id", ""),
                name=(c.get("Names") or ["/?"])[0].lstrip("/"),
                state=c.get("State", ""),
                networks={k: v.get("IPAddress", "") for k, v in settings.items()},
                macs={k: v.get("MacAddress", "") for k, v in settings.items()},
            )
        )
    if not node.overlays:  # the engine half of each overlay (the kernel half comes from the node)
        for n in nets:
            if n.get("Driver") == "overlay":
                try:
                    node.overlays.append(from_network(api.inspect_network(n["Id"], verbose=True)))
                except Exception:  # noqa: BLE001 - removed meanwhile
                    pass


# ---------------------------------------------------------------------------- the join


def join_overlays(nodes: list[ClusterNode]) -> list[ClusterOverlay]:
    by_id: dict[str, ClusterOverlay] = {}
    live = [n for n in nodes if n.reachable]
    for n in live:
        for net in n.networks:
            if net["driver"] != "overlay":
                continue
            ov = by_id.setdefault(
                net["id"],
                ClusterOverlay(
                    id=net["id"], name=net["name"], vnis=[], encrypted=False,
                    subnets=[s for s in net["subnets"] if s],
                ),
            )  # fmt: skip
            det = next((d for d in n.overlays if d.network_id == net["id"]), None)
            if det is not None:
                ov.vnis = ov.vnis or det.vnis
                ov.encrypted = ov.encrypted or det.encrypted
            vx = det.vxlan[0] if det and det.vxlan else None
            on = OverlayOnNode(
                node=n.name,
                namespace=det.namespace if det else None,
                vxlan=vx.name if vx else None,
                vni=vx.vni if vx else None,
                port=vx.port if vx else None,
                rx_packets=vx.rx_packets if vx else None,
                tx_packets=vx.tx_packets if vx else None,
                peers=sorted(p.ip for p in det.peers) if det else [],
                note=det.note if det else None,
            )
            for c in n.containers:
                if net["name"] in c.networks and c.state == "running":
                    on.local.append(
                        OverlayEndpoint(
                            c.name, n.name, c.networks[net["name"]], c.macs[net["name"]]
                        )
                    )
            ov.nodes.append(on)
    for ov in by_id.values():
        for on in ov.nodes:
            det = next(
                (d for n in live if n.name == on.node for d in n.overlays if d.network_id == ov.id),
                None,
            )
            fdb = {e.mac: e.vtep for e in det.fdb} if det else {}
            for other in ov.nodes:
                if other.node == on.node:
                    continue
                for ep in other.local:
                    on.remote.append(ep)
                    on.remote_vtep[ep.mac] = fdb.get(ep.mac)
    return sorted(by_id.values(), key=lambda o: o.name)


def build_cluster(
    targets: list[NodeTarget],
    remote_cmd: str | None = None,
    previous: ClusterSnapshot | None = None,
    kernel: bool = True,
) -> ClusterSnapshot:
    """Read every target in parallel; join swarm objects and overlays."""
    from .swarm import read_swarm

    with ThreadPoolExecutor(max(1, min(len(targets), 16))) as ex:
        nodes = list(ex.map(lambda t: read_node(t, remote_cmd, kernel), targets))
    snap = ClusterSnapshot(taken_at=time.time(), nodes=nodes)
    # the swarm, from the first reachable manager (its own report, else the SDK)
    for t, n in zip(targets, nodes):
        if n.reachable and n.is_manager and n.report_swarm and n.report_swarm.get("nodes"):
            snap.swarm = swarm_from_json(n.report_swarm)
            break
        if n.reachable and n.is_manager:
            try:
                snap.swarm = read_swarm(engine_client(t.host, t.context))
            except Exception as e:  # noqa: BLE001
                snap.notes.append(f"swarm objects from {n.name}: {e}")
            break
    # stale nodes keep what was known: the previous build, or the swarm's node list
    for n in nodes:
        if n.reachable:
            continue
        old = previous.node(n.name) if previous else None
        if old is None and previous:
            old = next((o for o in previous.nodes if o.host == n.host), None)
        if old is not None:
            err = n.error
            n.__dict__.update({k: v for k, v in old.__dict__.items() if k not in ("error",)})
            n.error, n.reachable, n.stale = err, False, True
        elif snap.swarm:
            host = NodeTarget(n.host).ssh_dest
            sn = snap.swarm.node(host[0]) if host else None
            if sn:
                n.name, n.swarm_addr, n.swarm_node_id = sn.hostname, sn.address, sn.id
                n.server_version = sn.engine_version
    snap.overlays = join_overlays(nodes)
    return snap


# ---------------------------------------------------------------------------- text


def format_cluster(snap: ClusterSnapshot) -> str:
    parts = []
    rows = []
    for n in snap.nodes:
        status = "ok" if n.reachable else "STALE"
        rows.append(
            [
                n.name,
                status,
                n.swarm_addr or "-",
                ("manager" if n.is_manager else "worker") if n.swarm_state == "active" else "-",
                n.server_version or "-",
                "yes" if n.kernel else "no",
                n.error or n.kernel_note or "",
            ]
        )
    parts.append(
        text_table(rows, ["NODE", "STATUS", "ADDRESS", "ROLE", "ENGINE", "KERNEL", "NOTE"])
    )
    rows = []
    for n in snap.nodes:
        for c in n.containers:
            ips = " ".join(f"{k}={v}" for k, v in sorted(c.networks.items()))
            rows.append([n.name, c.name, c.state, ips or "-"])
    if rows:
        parts.append(text_table(rows, ["NODE", "CONTAINER", "STATE", "NETWORKS"]))
    rows = []
    for ov in snap.overlays:
        for on in ov.nodes:
            rem = " ".join(
                f"{e.container}@{e.node}->{on.remote_vtep.get(e.mac) or 'NO-FDB'}"
                for e in on.remote
            )
            rows.append(
                [
                    ov.name,
                    on.node,
                    str(on.vni or (ov.vnis[0] if ov.vnis else "-")),
                    f"{on.rx_packets}/{on.tx_packets}" if on.tx_packets is not None else "-",
                    " ".join(on.peers) or "-",
                    " ".join(f"{e.container}={e.ip}" for e in on.local) or "-",
                    rem or "-",
                ]
            )
    if rows:
        parts.append(
            text_table(rows, ["OVERLAY", "NODE", "VNI", "RX/TX", "PEERS", "LOCAL", "REMOTE (VTEP)"])
        )
    if snap.swarm and snap.swarm.nodes:
        parts.append(format_nodes(snap.swarm))
    if snap.swarm and snap.swarm.services:
        parts.append(format_services(snap.swarm))
        parts.append(format_tasks(snap.swarm))
    for note in snap.notes:
        parts.append(f"note: {note}")
    return "\n\n".join(parts)
