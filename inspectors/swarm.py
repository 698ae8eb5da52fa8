"""Swarm objects as plain dataclasses: nodes, services, tasks; service logs.

Read through the docker SDK's public low-level API (``client.api.nodes()``,
``services(status=True)``, ``tasks()``, ``service_logs(details=True)``): one
call per object kind per read, never one per task. Nodes, services and tasks
only answer on a manager; a worker says so (``SwarmView.note``) and keeps what
it knows of itself (``info()["Swarm"]``).

Never imports textual. Strings from the engine are kept raw here (JSON output
carries them as they are); every text output path sanitizes with
``inspectors.text.clean``.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------- data


@dataclass
class SwarmNode:
    id: str
    hostname: str
    role: str  # manager | worker
    availability: str  # active | pause | drain
    state: str  # ready | down | unknown | disconnected
    address: str  # Status.Addr: the address the node is reached at (underlay)
    engine_version: str
    leader: bool = False
    reachability: str | None = None  # managers: reachable | unreachable
    manager_addr: str | None = None  # managers: ip:2377
    message: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Can take tasks: ready and active."""
        return self.state == "ready" and self.availability == "active"


@dataclass
class PublishedPort:
    published: int | None
    target: int
    protocol: str
    mode: str  # ingress (routing mesh, every node) | host (only where a task runs)

    def __str__(self) -> str:
        pub = "" if self.published is None else f"{self.published}->"
        where = "*:" if self.mode == "ingress" else "host:"
        return f"{where}{pub}{self.target}/{self.protocol}"


@dataclass
class ServiceVip:
    network_id: str
    network: str | None  # name, when the network list is known
    addr: str  # CIDR form, as the engine gives it


@dataclass
class SwarmService:
    id: str
    name: str
    mode: str  # replicated | global | replicated-job | global-job
    image: str
    replicas_desired: int | None
    replicas_running: int | None
    endpoint_mode: str  # vip | dnsrr
    ports: list[PublishedPort] = field(default_factory=list)
    vips: list[ServiceVip] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)  # network ids the tasks attach to
    labels: dict[str, str] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)  # placement, e.g. node.hostname==n3


@dataclass
class TaskAddress:
    network_id: str
    network: str
    addresses: list[str]


@dataclass
class SwarmTask:
    id: str
    name: str  # service.slot (replicated) or service.nodeid (global), as `docker service ps`
    service_id: str
    service: str
    slot: int | None
    node_id: str | None
    node: str | None  # hostname
    container_id: str | None
    state: str  # current state (running, failed, pending, ...)
    desired_state: str
    error: str | None
    message: str | None
    timestamp: str | None
    networks: list[TaskAddress] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass
class SwarmView:
    """What one engine knows of its swarm."""

    state: str  # inactive | pending | active | error | locked
    node_id: str | None = None
    node_addr: str | None = None
    is_manager: bool = False
    cluster_id: str | None = None
    managers: int | None = None
    nodes_total: int | None = None
    nodes: list[SwarmNode] = field(default_factory=list)
    services: list[SwarmService] = field(default_factory=list)
    tasks: list[SwarmTask] = field(default_factory=list)
    note: str | None = None  # why nodes/services/tasks are empty
    remote_managers: list[str] = field(default_factory=list)  # ip:2377 (workers know these)

    def node(self, key: str) -> SwarmNode | None:
        for n in self.nodes:
            if key in (n.id, n.hostname, n.address) or (len(key) >= 6 and n.id.startswith(key)):
                return n
        return None

    def service(self, key: str) -> SwarmService | None:
        for s in self.services:
            if key in (s.id, s.name) or (len(key) >= 6 and s.id.startswith(key)):
                return s
        return None

    def tasks_of(self, service: str) -> list[SwarmTask]:
        s = self.service(service)
        return [t for t in self.tasks if s and t.service_id == s.id]

    def tasks_on(self, node: str) -> list[SwarmTask]:
        n = self.node(node)
        return [t for t in self.tasks if n and t.node_id == n.id]


# ---------------------------------------------------------------------------- parse


def parse_node(raw: dict) -> SwarmNode:
    spec, desc, status = (
        raw.get("Spec") or {},
        raw.get("Description") or {},
        raw.get("Status") or {},
    )
    ms = raw.get("ManagerStatus") or {}
    return SwarmNode(
        id=raw.get("ID", ""),
        hostname=desc.get("Hostname", ""),
        role=spec.get("Role", ""),
        availability=spec.get("Availability", ""),
        state=status.get("State", ""),
        address=status.get("Addr", ""),
        engine_version=(desc.get("Engine") or {}).get("EngineVersion", ""),
        leader=bool(ms.get("Leader")),
        reachability=ms.get("Reachability"),
        manager_addr=ms.get("Addr"),
        message=status.get("Message") or None,
        labels=dict(spec.get("Labels") or {}),
    )


def _ports(endpoint: dict) -> list[PublishedPort]:
    ports = endpoint.get("Ports") or (endpoint.get("Spec") or {}).get("Ports") or []
    return [
        PublishedPort(
            published=p.get("PublishedPort"),
            target=p.get("TargetPort", 0),
            protocol=p.get("Protocol", "tcp"),
            mode=p.get("PublishMode", "ingress"),
        )
        for p in ports
    ]


def parse_service(raw: dict, net_names: dict[str, str] | None = None) -> SwarmService:
    spec = raw.get("Spec") or {}
    mode_spec = spec.get("Mode") or {}
    mode = next(iter(mode_spec), "replicated").lower()
    mode = {"replicatedjob": "replicated-job", "globaljob": "global-job"}.get(mode, mode)
    desired = (mode_spec.get("Replicated") or {}).get("Replicas")
    status = raw.get("ServiceStatus") or {}
    if status:
        desired = status.get("DesiredTasks", desired)
    endpoint = raw.get("Endpoint") or {}
    names = net_names or {}
    task_tmpl = spec.get("TaskTemplate") or {}
    nets = [n.get("Target", "") for n in task_tmpl.get("Networks") or spec.get("Networks") or []]
    image = (task_tmpl.get("ContainerSpec") or {}).get("Image", "")
    return SwarmService(
        id=raw.get("ID", ""),
        name=spec.get("Name", ""),
        mode=mode,
        image=image.split("@", 1)[0],
        replicas_desired=desired,
        replicas_running=status.get("RunningTasks") if status else None,
        endpoint_mode=((spec.get("EndpointSpec") or {}).get("Mode") or "vip"),
        ports=_ports(endpoint),
        vips=[
            ServiceVip(v.get("NetworkID", ""), names.get(v.get("NetworkID", "")), v.get("Addr", ""))
            for v in endpoint.get("VirtualIPs") or []
        ],
        networks=[names.get(n, n) for n in nets],
        labels=dict(spec.get("Labels") or {}),
        constraints=list((task_tmpl.get("Placement") or {}).get("Constraints") or []),
    )


def parse_task(
    raw: dict, services: dict[str, SwarmService], nodes: dict[str, SwarmNode]
) -> SwarmTask:
    status = raw.get("Status") or {}
    svc = services.get(raw.get("ServiceID", ""))
    node = nodes.get(raw.get("NodeID") or "")
    slot = raw.get("Slot")
    sname = svc.name if svc else raw.get("ServiceID", "")[:12]
    name = f"{sname}.{slot}" if slot else f"{sname}.{raw.get('NodeID', '')}"
    cid = (status.get("ContainerStatus") or {}).get("ContainerID") or None
    nets = []
    for att in raw.get("NetworksAttachments") or []:
        net = att.get("Network") or {}
        nets.append(
            TaskAddress(
                network_id=net.get("ID", ""),
                network=(net.get("Spec") or {}).get("Name", ""),
                addresses=list(att.get("Addresses") or []),
            )
        )
    return SwarmTask(
        id=raw.get("ID", ""),
        name=name,
        service_id=raw.get("ServiceID", ""),
        service=sname,
        slot=slot,
        node_id=raw.get("NodeID") or None,
        node=node.hostname if node else None,
        container_id=cid,
        state=status.get("State", ""),
        desired_state=raw.get("DesiredState", ""),
        error=status.get("Err") or None,
        message=status.get("Message") or None,
        timestamp=status.get("Timestamp"),
        networks=nets,
    )


# ---------------------------------------------------------------------------- read


def _not_manager(e: Exception) -> bool:
    text = str(e).lower()
    return "not a swarm manager" in text or "503" in text


def read_swarm(client, info: dict | None = None, with_tasks: bool = True) -> SwarmView:
    """The swarm as this engine sees it. ``client`` is the docker SDK client
    (the engine object's ``.client``); ``info`` an ``info()`` already read."""
    import docker.errors

    info = info if info is not None else client.api.info()
    sw = info.get("Swarm") or {}
    view = SwarmView(
        state=sw.get("LocalNodeState") or "inactive",
        node_id=sw.get("NodeID") or None,
        node_addr=sw.get("NodeAddr") or None,
        is_manager=bool(sw.get("ControlAvailable")),
        cluster_id=(sw.get("Cluster") or {}).get("ID"),
        managers=sw.get("Managers"),
        nodes_total=sw.get("Nodes"),
        remote_managers=[m.get("Addr", "") for m in sw.get("RemoteManagers") or []],
    )
    if view.state != "active":
        view.note = f"swarm is {view.state} on this engine"
        if sw.get("Error"):
            view.note += f": {sw['Error']}"
        return view
    if not view.is_manager:
        view.note = "a worker node: nodes, services and tasks are only listed by a manager"
        return view
    try:
        view.nodes = sorted(
            (parse_node(n) for n in client.api.nodes()), key=lambda n: (n.hostname, n.id)
        )
        net_names = {n["Id"]: n.get("Name", "") for n in client.api.networks()}
        view.services = [parse_service(s, net_names) for s in client.api.services(status=True)]
        if with_tasks:
            by_svc = {s.id: s for s in view.services}
            by_node = {n.id: n for n in view.nodes}
            view.tasks = [parse_task(t, by_svc, by_node) for t in client.api.tasks()]
            view.tasks.sort(
                key=lambda t: (t.service, t.slot or 0, t.timestamp or ""), reverse=False
            )
    except docker.errors.APIError as e:
        if not _not_manager(e):
            raise
        view.note = "this node is not a swarm manager (the engine said so)"
        view.nodes, view.services, view.tasks = [], [], []
    return view


# ---------------------------------------------------------------------------- service logs


@dataclass
class ServiceLogLine:
    timestamp: str | None
    task_id: str
    task: str  # service.slot.taskid, as `docker service logs` names it
    node: str
    text: str
    stream: str = "stdout"

    @property
    def source(self) -> str:
        """The prefix `docker service logs` prints: task@node."""
        return f"{self.task}@{self.node}"


_DETAILS = re.compile(r"^(?P<details>(?:com\.docker\.swarm\.[a-z.]+=[^, ]*,?)+) ?")
_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")


def parse_service_log_line(
    raw: bytes | str, tasks: dict[str, SwarmTask], nodes: dict[str, SwarmNode]
) -> ServiceLogLine:
    """One line of ``service_logs(details=True, timestamps=True)``:
    ``<ts> com.docker.swarm.node.id=..,com.docker.swarm.service.id=..,com.docker.swarm.task.id=.. <text>``."""
    line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    line = line.rstrip("\n")
    ts = None
    m = _TS.match(line)
    if m:
        ts, line = m.group(1), line[m.end() :]
    details: dict[str, str] = {}
    m = _DETAILS.match(line)
    if m:
        for kv in m.group("details").rstrip(",").split(","):
            k, _, v = kv.partition("=")
            details[k] = v
        line = line[m.end() :]
    tid = details.get("com.docker.swarm.task.id", "")
    nid = details.get("com.docker.swarm.node.id", "")
    t = tasks.get(tid)
    n = nodes.get(nid)
    tname = f"{t.name}.{tid[:12]}" if t else tid[:12]
    return ServiceLogLine(
        timestamp=ts, task_id=tid, task=tname, node=n.hostname if n else nid[:12], text=line
    )


def service_log_lines(
    client,
    service: str,
    view: SwarmView | None = None,
    tail: int | str = "all",
    since: int | float | None = None,
    follow: bool = False,
) -> Iterator[ServiceLogLine]:
    """The service's task logs merged, as `docker service logs` prints them.

    Without ``follow`` the lines are ordered by timestamp across tasks (the
    engine sends them task by task); with it they are yielded as they come.
    """
    view = view or read_swarm(client)
    svc = view.service(service)
    if svc is None:
        raise LookupError(f"no such service: {service}")
    tasks = {t.id: t for t in view.tasks}
    nodes = {n.id: n for n in view.nodes}
    kw: dict = dict(
        stdout=True, stderr=True, timestamps=True, details=True, follow=follow, tail=tail
    )
    if since is not None:
        kw["since"] = since
    gen = client.api.service_logs(svc.id, **kw)
    lines = (parse_service_log_line(raw, tasks, nodes) for raw in gen)
    if follow:
        yield from lines
        return
    yield from sorted(lines, key=lambda ln: ln.timestamp or "")


def merge_by_time(streams: Iterable[Iterable[ServiceLogLine]]) -> Iterator[ServiceLogLine]:
    """Merge several already-ordered line streams by timestamp."""
    return heapq.merge(*streams, key=lambda ln: ln.timestamp or "")


# ---------------------------------------------------------------------------- text


def text_table(rows: list[list[str]], header: list[str]) -> str:
    from .text import clean

    rows = [[clean(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def format_nodes(view) -> str:
    rows = [
        [
            n.hostname,
            n.role + (" (leader)" if n.leader else ""),
            n.availability,
            n.state,
            n.address,
            n.engine_version,
            n.id[:12],
        ]
        for n in view.nodes
    ]
    return text_table(rows, ["NODE", "ROLE", "AVAILABILITY", "STATE", "ADDRESS", "ENGINE", "ID"])


def format_services(view) -> str:
    rows = []
    for s in view.services:
        if s.replicas_desired is not None:
            reps = f"{s.replicas_running if s.replicas_running is not None else '?'}/{s.replicas_desired}"
        else:
            reps = "-"
        vips = " ".join(f"{v.network or v.network_id[:12]}={v.addr}" for v in s.vips) or "-"
        ports = " ".join(str(p) for p in s.ports) or "-"
        rows.append([s.name, s.mode, reps, ports, vips, s.image])
    return text_table(rows, ["SERVICE", "MODE", "REPLICAS", "PORTS", "VIPS", "IMAGE"])


def format_tasks(view) -> str:
    rows = [
        [
            t.name,
            t.node or (t.node_id or "-")[:12],
            (t.container_id or "-")[:12],
            t.state,
            t.desired_state,
            t.error or "",
        ]
        for t in view.tasks
    ]
    return text_table(rows, ["TASK", "NODE", "CONTAINER", "STATE", "DESIRED", "ERROR"])


def swarm_from_json(d: dict) -> SwarmView:
    """A SwarmView back from its ``to_jsonable`` form (a node's report)."""
    v = SwarmView(**{k: d.get(k) for k in (
        "state", "node_id", "node_addr", "is_manager", "cluster_id", "managers",
        "nodes_total", "note")})  # fmt: skip
    v.remote_managers = list(d.get("remote_managers") or [])
    v.nodes = [SwarmNode(**n) for n in d.get("nodes") or []]
    v.services = [
        SwarmService(
            **{
                **s,
                "ports": [PublishedPort(**p) for p in s.get("ports") or []],
                "vips": [ServiceVip(**x) for x in s.get("vips") or []],
            }
        )
        for s in d.get("services") or []
    ]
    v.tasks = [
        SwarmTask(**{**t, "networks": [TaskAddress(**a) for a in t.get("networks") or []]})
        for t in d.get("tasks") or []
    ]
    return v
