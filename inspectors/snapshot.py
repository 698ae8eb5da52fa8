"""The joined model: network <-> bridge <-> veth <-> endpoint <-> sandbox <-> container,
and published port <-> host listener.

:class:`Model` builds a :class:`~inspectors.model.Snapshot` once (engine, kernel,
sandboxes, sockets read concurrently) and then keeps it current with cheap,
targeted updates after docker events: :meth:`Model.refresh_container` costs one
container inspect plus one namespace read; :meth:`Model.refresh_network` one
network inspect. The join itself is in-memory.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from inspectors import engine as eng
from inspectors.api import EngineAPI, EngineError, open_engine, resolve_target
from inspectors.join import join, join_container
from inspectors.kernel import off_loop  # netlink calls must leave a running asyncio loop
from inspectors.model import (
    Bridge,
    Container,
    DaemonProcess,
    Engine,
    Endpoint,
    Link,
    Listener,
    Snapshot,
)

# a cold build with at least this many running containers reads their namespaces
# in a second process (bench/snapshot: below it the process start costs more)
READER_PROCESS_MIN = 40


# inspects in flight against an engine on this host: each costs the SDK ~0.8 ms of
# CPU under the GIL and dockerd about as much; more threads than that only trade
# the GIL (300 containers, 2 cores: snapshot and doctor 5-7% faster with 3 than 8,
# interleaved by hand; bench/RESULTS.md, stop 23). A remote engine's round trips want
# every thread of the pool.
LOCAL_INSPECTS = 3


class Model:
    """Holds the engine object, a warm netlink socket and the current snapshot.

    Give it the front's :class:`~inspectors.api.EngineAPI` (``engine=``), or a
    ``host``/``context`` to open one lazily (retried on every build while the
    engine is away). Once open the engine object is kept: requests reconnects by
    itself after a dockerd restart.

    A model built more than once (the console) watches the kernel from its second
    build on (:class:`inspectors.netwatch.KernelWatch`): a warm rebuild reuses the
    host link/address/FDB tables and each container's sandbox read until netlink
    reports a change of them, so a change made by hand shows at the next build
    (a namespace the host has no nsid for: within ``sandbox.CACHE_TTL``). Reused
    link counters are those of the last dump: :meth:`refresh_kernel` re-reads.
    """

    def __init__(
        self,
        host: str | None = None,
        context: str | None = None,
        with_kernel: bool = True,
        with_sandboxes: bool = True,
        host_side: bool = False,
        with_listeners: bool = True,
        threads: int = 8,
        with_fdb: bool = True,
        reader_process: bool = True,
        engine: EngineAPI | None = None,
        timeout: float = 10.0,
        engine_error: EngineError | None = None,
    ):
        self.host = host if host is not None or engine is None else engine.target.host
        self.context = context
        self.timeout = timeout
        self.with_kernel = with_kernel
        self.with_sandboxes = with_sandboxes
        # True (the doctor): a namespace is read only when the host side does not
        # show its container's veths healthy (inspectors.hostside)
        self.host_side = host_side
        self.with_listeners = with_listeners
        self.with_fdb = with_fdb  # False: bridges without their FDB (the doctor reads none)
        self.reader_process = reader_process  # a cold build may read namespaces in a 2nd process
        self.reader_method: str | None = None  # how the last cold build's reads ran: fork/spawn
        self._given_procs = None  # a ReaderProcess handed over for the first build
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="dockscope")
        # the engine reads that fan out into self.pool (networks, containers) wait in
        # threads of their own: a waiting reader never holds a worker its work needs
        self._outer = ThreadPoolExecutor(3, thread_name_prefix="dockscope-read")
        self.engine: EngineAPI | None = engine
        self._owns_engine = engine is None
        self.last_error: EngineError | None = engine_error
        self._no_retry = engine_error is not None  # a one-shot CLI already tried
        self._ipr = None
        self._inspects: dict[str, tuple] = {}  # container id -> (list fingerprint, inspect)
        self._daemon: DaemonProcess | None = None
        self._sockets = None
        self._watch = None  # netwatch.KernelWatch, from the second build on
        self._tables = None  # kernel.KernelTables: host dumps reused while unchanged
        self._builds = 0
        self._lock = threading.RLock()
        self._open_lock = threading.Lock()
        self.snapshot = Snapshot()
        self.is_root = os.geteuid() == 0

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        if self.engine is not None and self._owns_engine:
            self.engine.close()
        given, self._given_procs = self._given_procs, None
        if given is not None:
            given.close()
        if self._ipr is not None:
            try:
                self._ipr.close()
            except Exception:
                pass
            self._ipr = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._outer.shutdown(wait=False, cancel_futures=True)

    def connect(self) -> EngineAPI:
        """The engine object, opened on first use. Raises :class:`EngineError`."""
        api, err = self._connect()
        if api is None:
            raise err
        return api

    def _connect(self) -> tuple[EngineAPI | None, EngineError | None]:
        if self.engine is not None:
            return self.engine, None
        with self._open_lock:
            return self._open()

    def _open(self) -> tuple[EngineAPI | None, EngineError | None]:
        if self.engine is not None:
            return self.engine, None
        if self._no_retry:
            return None, self.last_error
        try:
            self.engine = open_engine(self.host, self.context, timeout=self.timeout)
            self._owns_engine = True
            return self.engine, None
        except EngineError as e:
            self.last_error = e
            return None, e

    def ipr(self):
        """A warm host-netns netlink reader (:class:`inspectors.kernel.HostReader`:
        one pyroute2 AsyncIPRoute, each dump one pass of its loop; its lock makes it
        shareable)."""
        if self._ipr is None:
            from inspectors.kernel import HostReader

            self._ipr = off_loop(HostReader)()
        return self._ipr

    def container_inspects(self) -> dict[str, dict]:
        """Container id -> the engine's inspect JSON, as read by the last build (for
        readers that need fields the model does not keep, e.g. the doctor's refs)."""
        with self._lock:
            return {cid: raw for cid, (_fp, raw) in self._inspects.items()}

    # ------------------------------------------------------------------ first paint
    def quick(self, containers: bool = True) -> Snapshot:
        """Two list calls, no inspects, no kernel: enough to paint names at once.

        Networks come from the list call (no endpoints yet), containers from the
        container list (IPs, MACs, ports; no pid or aliases). :meth:`build`
        fills the rest. ``containers=False``: the networks list alone (the
        console's first frame, whatever the container count).
        """
        snap = Snapshot(taken_at=time.time(), is_root=self.is_root)
        api, err = self._connect()
        if api is None:
            snap.engine = Engine(
                host=self.host or "", reachable=False, error=str(err), error_kind=err.kind
            )
            return snap
        try:
            snap.engine = eng.engine_header(api, getattr(api, "server_version_info", None) or {})
            snap.networks = sorted(
                (eng.parse_network(n) for n in api.networks()), key=lambda n: n.name
            )
            if containers:
                snap.containers = sorted(
                    (eng.parse_summary(s) for s in api.containers(all=True)), key=lambda c: c.name
                )
        except EngineError as e:
            snap.engine.reachable = False
            snap.engine.error, snap.engine.error_kind = str(e), e.kind
        return snap

    # ------------------------------------------------------------------ full build
    @off_loop
    def build(self) -> Snapshot:
        with self._lock:
            snap = Snapshot(taken_at=time.time(), is_root=self.is_root)
            api, err = self._connect()
            local = True
            if api is None:
                try:
                    target = resolve_target(self.host, self.context)
                    local = target.is_local
                    snap.engine = Engine(host=target.host, context=target.context, local=local)
                except EngineError as e2:
                    snap.engine = Engine(host=self.host or "")
                    err = err or e2
                snap.engine.reachable = False
                snap.engine.error = str(err)
                snap.engine.error_kind = err.kind
            else:
                local = api.target.is_local

            futures = {}
            sandboxes: dict = {}
            changes = self._poll_watch(local)
            reader = self._sandbox_reader() if (local and self.with_sandboxes) else None
            on_container = on_list = None
            listed = threading.Event()  # set once the container list is in (or failed)
            cold: dict = {}  # "kernel": the host dumps' future in the reader process
            given, self._given_procs = self._given_procs, None
            if reader is None or self._builds > 0 or not self.reader_process:
                if given is not None:
                    given.close()
                given = None
            if reader is not None:
                on_container = lambda c: self._read_one_sandbox(  # noqa: E731
                    reader, c, sandboxes, netns=not self.host_side
                )
                if given is not None:  # forked before the console imported Textual
                    self._start_reader_process(reader, cold, local, given)
                elif self._builds == 0 and self.reader_process and threading.active_count() == 1:
                    # a one-shot command with no thread yet: fork the reader now (~10 ms)
                    self._start_reader_process(reader, cold, local)
                elif self._builds == 0 and self.reader_process:
                    # threads run (the console): spawn one only for many containers
                    on_list = self._on_list(reader, cold, local, listed)

            warm_import = None
            if reader is not None and reader.procs is not None and not self.host_side:
                # the namespace reads this process takes back at the end need pyroute2
                # (the doctor's: few, the suspects' only; it pays the import if any).
                # Nothing else here imports a part of pyroute2 before this import is
                # over (waited for below): a submodule imported by one thread while
                # another runs the package's first import can come out half made
                # (`module 'pyroute2.netns' has no attribute 'create_socket'`)
                warm_import = self.pool.submit(importlib.import_module, "pyroute2")
            if api is not None:
                if (
                    local
                    and reader is not None
                    and reader.procs is not None
                    and self._daemon is None
                ):
                    # a cold build's dockerd walk in the reader process, beside its walk
                    # for the listeners' owners: psutil is never imported here
                    futures["daemon"] = reader.procs.call(_find_daemon, api.target.host)
                elif local:
                    futures["daemon"] = self.pool.submit(self._find_daemon, api.target.host)
                futures["info"] = self._outer.submit(api.info)
                futures["networks"] = self._outer.submit(eng.read_networks, api, self.pool)
                futures["containers"] = self._outer.submit(
                    eng.read_containers,
                    api,
                    self.pool,
                    self._inspects,
                    _pid_alive if local else None,
                    on_container,
                    on_list,
                    LOCAL_INSPECTS if local else None,
                )
                futures["containers"].add_done_callback(lambda _f: listed.set())
            if on_list is not None and api is not None:
                # a cold build: the container count decides where the host reads run
                listed.wait(self.timeout)
            if local and self.with_listeners:
                if reader is not None and reader.procs is not None:
                    futures["listeners"] = reader.procs.call(_read_listeners)
                else:
                    futures["listeners"] = self.pool.submit(
                        _read_listeners, self._listener_reader()
                    )
            if local and self.with_kernel:
                links, bridges = self._read_kernel(changes, cold.get("kernel"))
                snap.links, snap.bridges = links, bridges
            elif not local:
                snap.notes.append(
                    f"engine {snap.engine.host} is not on this host: kernel, sandbox and "
                    "socket views are empty (they can only be read on the engine's host)"
                )
            try:
                if api is not None:
                    try:
                        info = futures["info"].result()
                        snap.engine = eng.read_engine(api, info)
                        snap.networks = futures["networks"].result()
                        snap.containers = futures["containers"].result()
                    except EngineError as e:
                        snap.engine.reachable = False
                        snap.engine.error = str(e)
                        snap.engine.error_kind = e.kind
                        self.last_error = e
                if "listeners" in futures:
                    try:
                        got = futures["listeners"].result()
                    except Exception:  # the reader process died: walk here
                        got = _read_listeners(self._listener_reader())
                    snap.listeners, note = got
                    if note:
                        snap.notes.append(note)
                if "daemon" in futures and snap.engine.reachable:
                    try:
                        self._daemon = futures["daemon"].result()
                    except Exception:  # the reader process died: walk here
                        self._find_daemon(api.target.host)
                    snap.engine.daemon = self._daemon
                if reader is not None and self.host_side and snap.engine.reachable:
                    self._host_side(snap, reader, sandboxes)
                if warm_import is not None:
                    _settled(warm_import)
                if sandboxes:
                    if reader.procs is not None:  # share the reads not started yet
                        self.pool.submit(reader.steal).result()
                    self._apply_sandboxes(snap, snap.containers, sandboxes)
            finally:
                if warm_import is not None:  # the caller's next pyroute2 use is safe too
                    _settled(warm_import)
                if reader is not None:
                    reader.close()
            if not self.is_root and local:
                snap.notes.append(
                    "not root: container namespaces (interfaces, routes), the pids of other "
                    "users' sockets and daemon.json edits are unavailable; run with sudo"
                )
            prev = self.snapshot
            if not snap.engine.reachable and (prev.engine.reachable or prev.stale):
                # keep the last good state, marked stale (its age is now - taken_at)
                return self._mark_stale(snap.engine.error, snap.engine.error_kind)
            join(snap)
            self.snapshot = snap
            self._builds += 1
            return snap

    def _poll_watch(self, local: bool):
        """What the kernel watch saw since the last build (None: no watch, read all).

        A one-shot build (the CLI) runs without one; a model built again (the
        console) binds one before its second build's reads, and from then on
        re-reads only the host tables and the container namespaces it saw change.
        """
        if not (local and self.is_root and (self.with_kernel or self.with_sandboxes)):
            return None
        if self._watch is None:
            if self._builds == 0:
                return None
            try:
                from inspectors.netwatch import KernelWatch

                self._watch = KernelWatch()
            except Exception as e:  # no netlink: read everything every time
                self.snapshot.notes.append(f"kernel change watch unavailable: {e}")
                return None
        changes = self._watch.poll()
        from inspectors.sandbox import forget

        forget(changes.nsids)  # reads from before the watch keep their TTL
        return changes

    def mark_stale(self, error: str | None, kind: str | None) -> Snapshot:
        """The engine is away: keep the last good state, marked stale."""
        with self._lock:
            return self._mark_stale(error, kind)

    def _mark_stale(self, error: str | None, kind: str | None) -> Snapshot:
        prev = self.snapshot
        if not (prev.engine.reachable or prev.stale):
            return prev  # nothing good to keep
        prev.stale = True
        prev.engine.reachable = False
        prev.engine.error, prev.engine.error_kind = error, kind
        return prev

    def _read_kernel(self, changes=None, dumped=None) -> tuple[list[Link], list[Bridge]]:
        """Host links and bridges; with ``changes`` (a watch's poll), the tables it
        saw no change of are rebuilt from the last dump's records. ``dumped``: the
        future of the same dumps run in the reader process (a cold build)."""
        try:
            from inspectors import kernel

            if self._tables is None:
                self._tables = kernel.KernelTables()
            if dumped is not None:
                try:
                    self._tables.adopt(dumped.result())
                    return self._tables.read(
                        None, links_changed=False, fdb_changed=False, with_fdb=self.with_fdb
                    )
                except Exception:  # the process failed: dump here
                    pass
            every = changes is None or changes.everything
            with self.ipr().lock:
                return self._tables.read(
                    self.ipr(),
                    links_changed=every or changes.links,
                    fdb_changed=every or changes.fdb,
                    with_fdb=self.with_fdb,
                )
        except Exception as e:  # netlink unavailable (not Linux, seccomp...)
            self.snapshot.notes.append(f"kernel view unavailable: {e}")
            return [], []

    def _sandbox_reader(self):
        try:
            from inspectors.sandbox import SandboxReader

            return SandboxReader(watch=self._watch)
        except Exception as e:  # not root, no netlink
            self.snapshot.notes.append(f"sandbox view unavailable: {e}")
            return None

    def _on_list(self, reader, cold: dict, local, listed: threading.Event):
        def on_list(summaries):
            try:
                self._maybe_reader_process(reader, summaries, cold, local)
            finally:
                listed.set()

        return on_list

    def _maybe_reader_process(self, reader, summaries: list[dict], cold: dict, local) -> None:
        """Once the container list is in: a second process only for many running
        containers (a spawned interpreter costs ~0.15 s of CPU)."""
        running = sum(1 for s in summaries if s.get("State") in ("running", "paused"))
        if running >= READER_PROCESS_MIN:
            self._start_reader_process(reader, cold, local)

    def give_reader_process(self, procs) -> None:
        """A :class:`inspectors.readerproc.ReaderProcess` started earlier (the console's
        first read, tui/prefetch.py) for the first build to read in."""
        self._given_procs = procs

    def _start_reader_process(self, reader, cold: dict, local, procs=None) -> None:
        """A cold build reads the host tables, the host sockets and the containers'
        namespaces in a second process (:class:`inspectors.readerproc.ReaderProcess`):
        on two cores those pyroute2 and psutil reads overlap this process's engine
        calls; the namespace reads it has not started by the end are shared back."""
        from inspectors.readerproc import ReaderProcess, cpus

        if procs is None and cpus() < 2:
            return
        try:
            reader.procs = procs or ReaderProcess()
            self.reader_method = reader.procs.method
            if local and self.with_kernel:
                cold["kernel"] = reader.procs.host_dumps(self.with_fdb)
        except Exception:  # no multiprocessing here (e.g. no /dev/shm): read in-process
            reader.procs = None

    @staticmethod
    def _read_one_sandbox(reader, c: Container, out: dict, netns: bool = True) -> None:
        """In a worker thread, right after the container's inspect: the read
        starts (in the reader process, or here), :meth:`_apply_sandboxes` collects.
        ``netns=False``: its resolv.conf only (:meth:`_host_side` decides later)."""
        if not c.pid or c.state not in ("running", "paused", "restarting"):
            return
        from inspectors.sandbox import read_resolv_conf, sandbox_token

        get = reader.start(c.pid, c.sandbox_key, sandbox_token(c)) if netns else None
        dns = read_resolv_conf(c.dns.path) if c.dns.path else None
        out[c.id] = (get, dns)

    def _host_side(self, snap: Snapshot, reader, got: dict) -> None:
        """The doctor's sandboxes: each container's host veths by the id the host
        gives its namespace (:mod:`inspectors.hostside`); only the suspects' namespaces
        are read, in the reader process when there is one."""
        from inspectors.hostside import netnsids, own_netns, split
        from inspectors.sandbox import sandbox_token

        pids = [c.pid for c in snap.containers if own_netns(c)]
        nsids = None
        if reader.procs is not None:
            try:
                nsids = reader.procs.call(netnsids, pids).result(self.timeout)
            except Exception:  # the process died: ask here
                nsids = None
        if nsids is None:
            nsids = netnsids(pids)
        ok, suspects = split(snap.containers, snap.links, snap.networks, nsids)
        for c in snap.containers:
            if c.id in ok:
                c.interfaces = ok[c.id]
        for c in suspects:
            dns = got.get(c.id, (None, None))[1]
            got[c.id] = (reader.start(c.pid, c.sandbox_key, sandbox_token(c)), dns)

    def _apply_sandboxes(self, snap: Snapshot, containers: list[Container], got: dict) -> None:
        from inspectors.sandbox import join_sandbox

        links_by_index = {l.index: l for l in snap.links}
        for c in containers:
            hit = got.get(c.id)
            if hit is None:
                continue
            get, dns = hit
            if dns is not None:
                path = c.dns.path
                c.dns = dns
                c.dns.path = path
            if get is None:  # resolv.conf only: the host side told the rest
                continue
            info = get()
            if info.error:
                c.sandbox_note = info.error
                continue
            join_sandbox(info, links_by_index)
            c.interfaces = info.interfaces
            c.routes = info.routes
            c.netns = info.netns

    def _read_sandboxes(self, snap: Snapshot, containers: list[Container]) -> None:
        """Sequential variant for one or a few containers (targeted refresh)."""
        reader = self._sandbox_reader()
        if reader is None:
            return
        reader.fresh = True  # after an event: read, never reuse
        got: dict = {}
        try:
            for c in containers:
                self.pool.submit(self._read_one_sandbox, reader, c, got).result()
        finally:
            reader.close()
        self._apply_sandboxes(snap, containers, got)

    def _listener_reader(self):
        """Warm inode -> process map for host listeners (see sockets.ListenerReader)."""
        if self._sockets is None:
            from inspectors.sockets import ListenerReader

            self._sockets = ListenerReader()
        return self._sockets

    def _find_daemon(self, host: str) -> DaemonProcess:
        """The dockerd behind the engine; cached while that process lives."""
        d = self._daemon
        if d is not None and d.pid and d.cmdline:
            try:
                with open(f"/proc/{d.pid}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[:-1] == [a.encode() for a in d.cmdline]:
                        return d
            except OSError:
                pass
        self._daemon = _find_daemon(host)
        return self._daemon

    # ------------------------------------------------------------------ targeted updates
    @off_loop
    def refresh_container(self, cid: str) -> Snapshot:
        """After a container event: one inspect, one namespace read, the container's own
        host veths fetched by ifindex, and an in-memory join. No dumps, no lists."""
        with self._lock:
            snap = self.snapshot
            api, err = self._connect()
            if api is None:
                return snap
            old = next((x for x in snap.containers if x.id == cid or x.id.startswith(cid)), None)
            raw = eng.inspect_container(api, cid)
            c = eng.parse_container(raw) if raw is not None else None
            if c is not None:
                cid = c.id
            elif old is not None:
                cid = old.id
            self._inspects.pop(cid, None)
            if raw is not None:  # for the doctor's refs; no list fingerprint: a build re-reads
                self._inspects[cid] = (None, eng.trim_inspect(raw))
            snap.containers = [x for x in snap.containers if x.id != cid]
            old_veths = {i.host_veth for i in old.interfaces if i.host_veth} if old else set()
            new_veths: set[str] = set()
            if c is not None:
                if api.target.is_local and self.with_sandboxes and c.pid:
                    self._read_sandboxes(snap, [c])
                    if self.with_kernel:
                        new_veths = self._adopt_veths(snap, c)
                snap.containers.append(c)
                snap.containers.sort(key=lambda x: x.name)
            gone = old_veths - new_veths
            if gone:  # the kernel deletes a stopped container's veths
                snap.links = [l for l in snap.links if l.name not in gone]
                for b in snap.bridges:
                    if any(p.name in gone for p in b.ports):
                        b.ports = [p for p in b.ports if p.name not in gone]
                        b.interfaces = [n for n in b.interfaces if n not in gone]
                        b.fdb = [f for f in b.fdb if f.port not in gone]
            # the container's attachments, as the networks see them
            for n in snap.networks:
                n.endpoints = [e for e in n.endpoints if e.container_id != cid]
                if c is not None:
                    for e in c.endpoints:
                        if e.attached and (e.network_id == n.id or e.network == n.name):
                            n.endpoints.append(
                                Endpoint(**{**e.__dict__, "aliases": list(e.aliases)})
                            )
                    n.endpoints.sort(key=lambda e: (e.container, e.container_id))
            snap.taken_at = time.time()
            join_container(snap, cid, c, old.name if old else None)
            return snap

    def _adopt_veths(self, snap: Snapshot, c: Container) -> set[str]:
        """Fetch the host side of each of ``c``'s interfaces that the cached link list
        does not know (a container that just started), by ifindex, and put the veth
        into its bridge's port list."""
        from inspectors import kernel

        by_index = {l.index: l for l in snap.links}
        names: set[str] = set()
        masters: set[int] = set()
        for i in c.interfaces:
            if i.name == "lo" or i.peer_ifindex is None:
                continue
            if i.host_veth:
                names.add(i.host_veth)
                continue
            try:
                with self.ipr().lock:
                    link = kernel.read_link(i.peer_ifindex, self.ipr())
            except OSError:
                link = None
            if link is None or link.kind != "veth" or link.peer_ifindex != i.ifindex:
                continue
            if link.master and link.master in by_index:
                link.master_name = by_index[link.master].name
            snap.links = [l for l in snap.links if l.index != link.index] + [link]
            snap.links.sort(key=lambda l: l.index)
            by_index[link.index] = link
            i.host_veth, i.bridge = link.name, link.master_name
            names.add(link.name)
            if link.master:
                masters.add(link.master)
        for m in masters:
            bl = by_index.get(m)
            br = snap.bridge(bl.name) if bl else None
            if br is None:
                continue
            was = {p.name: p for p in br.ports}
            br.ports = kernel.bridge_ports(bl, [l for l in snap.links if l.master == m])
            for p in br.ports:  # the other ports keep who sits behind them
                q = was.get(p.name)
                if q is not None:
                    p.container, p.container_id = q.container, q.container_id
                    p.sandbox_ifname, p.network = q.sandbox_ifname, q.network
            br.interfaces = [p.name for p in br.ports]
        return names

    @off_loop
    def refresh_network(self, nid: str, kernel: bool = True) -> Snapshot:
        """After a network event: one network inspect; with ``kernel``, the links and
        bridges are read again (a network made or removed its bridge)."""
        with self._lock:
            snap = self.snapshot
            api, err = self._connect()
            if api is None:
                return snap
            try:
                n = eng.read_network(api, nid)
            except EngineError as e:
                if e.kind != "notfound":
                    raise
                n = None
            snap.networks = [x for x in snap.networks if x.id != nid and x.name != nid]
            if n is not None:
                snap.networks.append(n)
                snap.networks.sort(key=lambda x: x.name)
            if kernel and api.target.is_local and self.with_kernel:
                try:
                    snap.links, snap.bridges = self._read_kernel()
                except Exception:
                    pass
            snap.taken_at = time.time()
            join(snap)
            return snap

    @off_loop
    def refresh_listeners(self) -> Snapshot:
        with self._lock:
            snap = self.snapshot
            snap.listeners, _ = _read_listeners(self._listener_reader())
            join(snap)
            return snap

    @off_loop
    def refresh_kernel(self) -> Snapshot:
        with self._lock:
            snap = self.snapshot
            snap.links, snap.bridges = self._read_kernel()
            join(snap)
            return snap


# --------------------------------------------------------------------------- helpers


def _read_listeners(reader=None) -> tuple[list[Listener], str | None]:
    try:
        from inspectors import sockets

        notes: list[str] = []
        got = reader.read(notes) if reader is not None else sockets.read_listeners(notes)
        return got, (notes[0] if notes else None)
    except Exception as e:
        return [], f"host sockets unavailable: {e}"


def _settled(fut) -> None:
    """Wait for a background import; its failure is the first real user's to report."""
    try:
        fut.result()
    except Exception:  # noqa: BLE001
        pass


def _pid_alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def _find_daemon(host: str) -> DaemonProcess:
    try:
        from inspectors import daemon

        return daemon.find_daemon(host)
    except Exception as e:
        return DaemonProcess(note=f"daemon process not found: {e}")


def build_snapshot(host: str | None = None, context: str | None = None) -> Snapshot:
    m = Model(host, context)
    try:
        return m.build()
    finally:
        m.close()
