"""The console over several engines: ``dockscope -H ssh://.. -H ssh://..`` (no
command) or ``dockscope --swarm``.

The same seven panes as on one host, fed by ONE snapshot of every node
(:func:`inspectors.cluster_merge.merge`): every table gains a NODE column
(tui/panes/nodecol.py), an overlay is listed per node with the other nodes'
containers as remote endpoints, and a node that stops answering is marked STALE
in that column with its rows kept. ``M`` draws the cluster map, Findings runs the
cross-node doctor.

Live: each node's docker events (over its ssh engine connection) are tagged with
the node and shown in Events; they, ``r`` and a timer (every REBUILD_EVERY
seconds) rebuild the cluster, never more often than MIN_REBUILD apart. What
reads THIS machine's kernel (packet path, capture, daemon log) and what changes
an engine are not offered here: they would act on the wrong host.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from inspectors.model import Snapshot
from tui.app import DockscopeApp
from tui.live import Live
from tui.panes.findings import FindingsPane

REBUILD_EVERY = 30.0
MIN_REBUILD = 5.0
EVENT_RETRY = 10.0


class ClusterModel:
    """What :class:`tui.live.Live` needs of a model, over several nodes."""

    with_kernel = False  # no netlink subscription: the kernels are the nodes'

    def __init__(self, targets, remote_cmd: str | None = None) -> None:
        self.targets = targets
        self.remote_cmd = remote_cmd
        self.host = None
        self.snapshot = Snapshot()
        self.cluster = None  # the last ClusterSnapshot
        self.stale_nodes: set[str] = set()
        self._lock = threading.RLock()
        self._built_at = 0.0

    def quick(self, containers: bool = True) -> Snapshot:
        s = Snapshot(taken_at=time.time())
        s.engine.reachable = True
        s.engine.local = False
        s.engine.name = f"{len(self.targets)} nodes"
        s.engine.host = " ".join(t.host or "default" for t in self.targets)
        s.notes.append(f"reading {len(self.targets)} nodes over ssh ...")
        return s

    def build(self) -> Snapshot:
        from inspectors.cluster_merge import merge
        from inspectors.cluster_model import build_cluster

        cs = build_cluster(self.targets, remote_cmd=self.remote_cmd, previous=self.cluster)
        snap, stale = merge(cs)
        with self._lock:
            self.cluster, self.snapshot, self.stale_nodes = cs, snap, stale
            self._built_at = time.monotonic()
        return snap

    def _soon(self) -> None:
        if time.monotonic() - self._built_at >= MIN_REBUILD:
            self.build()

    # a docker event of one node: the whole cluster again (at most every MIN_REBUILD s)
    def refresh_network(self, nid: str, kernel: bool = True) -> Snapshot:
        self._soon()
        return self.snapshot

    def refresh_container(self, cid: str) -> Snapshot:
        self._soon()
        return self.snapshot

    def refresh_kernel(self) -> Snapshot:
        return self.snapshot

    def refresh_listeners(self) -> Snapshot:
        return self.snapshot

    def close(self) -> None:
        pass


class ClusterLive(Live):
    """Events from every node, tagged with it; a rebuild every REBUILD_EVERY s."""

    def events_loop(self) -> None:
        threads = []
        for t in self.model.targets:
            th = threading.Thread(
                target=self._node_events, args=(t,), name="dockscope-node-events", daemon=True
            )
            th.start()
            threads.append(th)
        while not self.stop.wait(REBUILD_EVERY):
            self.request("rebuild")

    def _node_events(self, target) -> None:
        from inspectors.cluster_model import engine_client

        since = self.started_at
        filters = {"type": ["container", "network", "daemon", "node", "service"]}
        while not self.stop.is_set():
            client = None
            try:
                client = engine_client(target.host, target.context)
                name = client.api.info().get("Name") or target.label or target.host
                stream = client.events(decode=True, filters=filters, since=f"{since:.9f}")
                with self._lock:
                    self._streams = [*getattr(self, "_streams", []), stream]
                for ev in stream:
                    if self.stop.is_set():
                        break
                    if isinstance(ev, dict):
                        ev["node"] = name
                        since = max(since, (ev.get("timeNano") or 0) / 1e9)
                        self.queue.put(("event", ev))
            except Exception:  # noqa: BLE001 - a node down: the rebuild marks it stale
                pass
            finally:
                if client is not None:
                    try:
                        client.close()
                    except Exception:  # noqa: BLE001
                        pass
            self.stop.wait(EVENT_RETRY)

    def close(self) -> None:
        super().close()
        with self._lock:
            streams = list(getattr(self, "_streams", []))
        for s in streams:
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass


class ClusterFindingsPane(FindingsPane):
    """Findings: the cross-node doctor on the cluster the snapshot came from."""

    def _doctor(self, snap) -> None:
        from inspectors.cluster_doctor import run_cluster_doctor

        model = self.app.model
        try:
            cs = model.cluster
            findings = run_cluster_doctor(cs) if cs is not None else []
            err = None
        except Exception as e:  # noqa: BLE001 - shown in the title line
            findings, err = [], f"{type(e).__name__}: {e}"
        try:
            self.app.call_from_thread(self._done, findings, err)
        except RuntimeError:
            pass


class ClusterConsole(DockscopeApp):
    """The console of several engines (see the module doc)."""

    several_nodes = True  # tui/panes/nodecol.py: every table gains a NODE column
    NOT_HERE: ClassVar[set[str]] = DockscopeApp.MUTATING | {"daemon_logs", "path"}

    def __init__(self, targets, remote_cmd: str | None = None, **kw) -> None:
        kw.setdefault("read_only", True)
        super().__init__(model=ClusterModel(targets, remote_cmd), **kw)
        self.title = f"dockscope: {len(targets)} nodes"

    @property
    def stale_nodes(self) -> set[str]:
        return self.model.stale_nodes

    @property
    def node_names(self) -> set[str]:
        cs = self.model.cluster
        return {n.name for n in cs.nodes} if cs is not None else set()

    def make_pane(self, pane_id: str):
        if pane_id == "findings":
            return ClusterFindingsPane(id="findings")
        return super().make_pane(pane_id)

    def on_load(self, event) -> None:
        """DockscopeApp.on_load, with the cluster's Live (the base handler is not run)."""
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=32, thread_name_prefix="dockscope-worker")
        )
        event.prevent_default()
        self.live = ClusterLive(self.model, self.post_message, started_at=self.started_at)
        self._apply_worker()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in self.NOT_HERE:
            return False  # it would read or change this machine, not the node
        return super().check_action(action, parameters)

    def _on_node(self, what: str) -> None:
        """The packet path and capture read the kernel of the machine they run on:
        say the command that runs them on the selection's node."""
        from inspectors.text import clean

        c, net = self.selected_container(), self.selected_network()
        obj = c or net
        cs = self.model.cluster
        node = cs.node(obj.node) if (obj is not None and obj.node and cs is not None) else None
        if node is None or not node.host.startswith("ssh://"):
            self.notify(f"{what}: put the cursor on a container or network first", markup=False)
            return
        dest = node.host.removeprefix("ssh://")
        self.notify(
            f"{what} reads the kernel of the node it runs on: on {clean(node.name)} run\n"
            f"ssh -t {clean(dest)} dockscope {'firewall' if what == 'packet path' else 'capture'}"
            f" {clean(obj.name)}",
            title=what,
            timeout=12,
            markup=False,
        )

    def action_packet(self) -> None:
        self._on_node("packet path")

    def action_capture(self) -> None:
        self._on_node("capture")

    def action_logs(self) -> None:
        """``l``: the selected container's log, read from the engine of its node."""
        c = self.selected_container()
        cs = self.model.cluster
        node = cs.node(c.node) if (c is not None and c.node and cs is not None) else None
        logs = self.pane("logs")
        if node is not None and logs is not None and node.host != "default":
            logs.host = node.host  # the pane opens its engine per stream (tui/panes/logs.py)
        super().action_logs()

    def open_service_logs(self, service: str) -> None:
        """``l`` on a service in the map: its tasks' logs merged, task@node | line."""
        from inspectors.cluster_model import engine_client
        from inspectors.swarm import service_log_lines
        from tui.panes.map import ServiceLogScreen

        cs = self.model.cluster
        mgr = next((n for n in cs.nodes if n.reachable and n.is_manager), None) if cs else None
        if mgr is None:
            self.notify("no reachable manager among the nodes", markup=False)
            return

        def lines(name: str):
            client = engine_client(None if mgr.host == "default" else mgr.host)
            return service_log_lines(client, name, tail=200, follow=True)

        self.push_screen(ServiceLogScreen(service, lines))
