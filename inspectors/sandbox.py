"""Container sandboxes (network namespaces) read from the host, with no process
per container.

For each running container: open ``/proc/<pid>/ns/net`` (fallback: the
``SandboxKey`` path, e.g. ``/var/run/docker/netns/<id>`` or under a custom
exec-root), move one worker thread into it (``pyroute2.netns.setns``) just
long enough to open a netlink socket (it stays bound to the namespace it was
created in), move the thread back, then dump links, addresses and routes (main
table) through that socket, decoded by pyroute2 (:mod:`inspectors.nlsock`). No
process per container (``IPRoute(netns=...)`` would fork one), no ``docker
exec``, nothing created: namespace files are only ever opened read-only
(``flags=0``: the pyroute2 ``O_CREAT`` trap does not apply). The namespace
switching always happens in worker threads, never in the caller's thread:
:func:`in_netns` is the one
"run this in that netns" primitive (``hostfacts.run_in_netns`` builds on it).

The join with the host (see :func:`veth_map`): a host veth whose
``peer_netnsid == SandboxInfo.nsid`` and ``peer_ifindex == Interface.ifindex``
is that interface's other end. Equivalently, from inside: ``Interface.peer_ifindex``
(IFLA_LINK) *is* the host veth's ifindex. Ifindexes are only unique per
netns, so :func:`read_sandboxes` checks both directions (and the nsid when
known) before it fills ``host_veth`` / ``bridge``.

A cold build of many namespaces shares them with one second process of
ours (:class:`inspectors.readerproc.ReaderProcess`: pyroute2 decodes under the
GIL, and the machine has another core); the caller takes back what that
process has not started.

Never imports textual; pyroute2 is imported when the first sandbox is read.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

from .model import DnsConfig, Interface, Link, Route

NEEDS_ROOT = "needs root to enter network namespaces"

__all__ = [
    "SandboxInfo",
    "read_sandboxes",
    "read_sandbox",
    "read_resolv_conf",
    "veth_map",
    "NEEDS_ROOT",
    "SandboxReader",
    "join_sandbox",
    "in_netns",
    "open_netns",
    "sandbox_token",
    "forget",
]


@dataclass
class SandboxInfo:
    """What one container's network namespace holds."""

    interfaces: list[Interface] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    netns: str | None = None  # the path actually used (/proc/<pid>/ns/net or SandboxKey)
    nsid: int | None = None  # the host's id for this netns (matches Link.peer_netnsid)
    error: str | None = None  # why it could not be read (then lists are empty)
    host_netns: bool = False  # the namespace is the reader's own (network_mode: host)
    netns_inode: int | None = None  # equal inodes == shared sandbox (network_mode: container:)
    notes: list[str] = field(default_factory=list)  # e.g. why a fallback path was used


Target = tuple  # (container_id, pid | None, sandbox_key | None)


# --------------------------------------------------------------------------- join helpers


def veth_map(links: list[Link]) -> dict[int, tuple[int | None, int]]:
    """host veth ifindex -> (peer_netnsid, peer_ifindex) for every host link
    whose peer lives in another netns (veth, and macvlan/ipvlan parents seen
    from inside are not here: this is the host side).

    Match a sandbox interface ``i`` of a sandbox ``s`` with
    ``veth_map[h] == (s.nsid, i.ifindex)``; or simply ``h == i.peer_ifindex``
    after checking the former (ifindexes repeat across namespaces).
    """
    return {
        lk.index: (lk.peer_netnsid, lk.peer_ifindex)
        for lk in links
        if lk.peer_ifindex is not None and lk.peer_netnsid is not None
    }


def _join(info: SandboxInfo, by_index: dict[int, Link]) -> None:
    if info.host_netns:
        return
    for itf in info.interfaces:
        if itf.peer_ifindex is None:
            continue
        host = by_index.get(itf.peer_ifindex)
        # both directions must agree; a host link without IFLA_LINK_NETNSID has
        # its peer in the host netns, so it cannot be this interface's peer
        if host is None or host.peer_ifindex != itf.ifindex or host.peer_netnsid is None:
            continue
        if info.nsid is not None and host.peer_netnsid != info.nsid:
            continue
        if info.nsid is None:
            info.nsid = host.peer_netnsid  # every veth of one netns shows the same id
        itf.host_veth = host.name
        itf.bridge = host.master_name


# --------------------------------------------------------------------------- entering a netns


class NetnsError(OSError):
    """Entering a namespace failed; the message says why in one line."""


def open_netns(path: str) -> int:
    """O_RDONLY fd for a netns handle. Never creates anything."""
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


_tls = threading.local()


class _OwnedFd:
    """An fd closed when the object goes (a thread's locals die with the thread)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int):
        self.fd = fd

    def __del__(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


def _home_fd() -> int:
    """This thread's own netns, opened once per thread (where in_netns returns to)."""
    home = getattr(_tls, "home", None)
    if home is None:
        path = (
            "/proc/thread-self/ns/net"
            if os.path.exists("/proc/thread-self")
            else f"/proc/self/task/{threading.get_native_id()}/ns/net"
        )
        home = _tls.home = _OwnedFd(open_netns(path))
    return home.fd


@contextmanager
def in_netns(target: str | int):
    """Move the calling thread (only it) into the netns ``target`` (a path such
    as ``/proc/PID/ns/net`` or ``/run/netns/NAME``, or an open fd) and back on
    exit, through ``pyroute2.netns.setns``. Raises :class:`NetnsError` with a
    readable message when the thread cannot enter."""
    from .nlcodec import whole_pyroute2

    whole_pyroute2()
    from pyroute2.netns import setns

    home = _home_fd()
    fd = open_netns(target) if isinstance(target, str) else target
    try:
        try:
            setns(fd, flags=0)
        except OSError as e:
            if e.errno == errno.EPERM:
                raise NetnsError(e.errno, NEEDS_ROOT) from None
            if e.errno == errno.EINVAL:
                raise NetnsError(
                    e.errno,
                    "not a network namespace handle (a netns file "
                    "bind-mounted in another mount namespace?)",
                ) from None
            raise NetnsError(e.errno, f"setns failed: {os.strerror(e.errno or 0)}") from None
        try:
            yield
        finally:
            try:
                setns(home, flags=0)
            except OSError as e:  # pragma: no cover - would need a vanished home netns
                raise NetnsError(e.errno, _NO_WAY_HOME) from None
    finally:
        if isinstance(target, str):
            os.close(fd)


_NO_WAY_HOME = "could not return to the original netns"


# --------------------------------------------------------------------------- reading one netns


def _build(links_msgs, addr_msgs, route_msgs) -> tuple[list[Interface], list[Route]]:
    from .kernel import addr_record, link_record
    from .routes import RT_TABLE_MAIN, entries

    links = [link_record(m) for m in links_msgs]
    by_idx: dict[int, list[str]] = {}
    for m in addr_msgs:
        a = addr_record(m)
        if a["address"]:
            by_idx.setdefault(a["index"], []).append(a["address"])
    names = {r["index"]: r["name"] for r in links}
    ifaces = []
    for r in links:
        peer = r["link"]
        ifaces.append(
            Interface(
                name=r["name"],
                ifindex=r["index"],
                mac=r["mac"],
                mtu=r["mtu"],
                operstate=r["operstate"],
                kind=r["kind"],
                addresses=by_idx.get(r["index"], []),
                peer_ifindex=peer if peer and peer != r["index"] else None,
            )
        )
    out_routes = [
        # unicast only: model.Route has no type, and a blackhole/unreachable/
        # prohibit route would read as a normal one
        Route(
            dst=e.dst,
            gateway=e.gateway,
            dev=e.dev,
            src=e.prefsrc,
            family=e.family,
            table=e.table,
            scope=e.scope,
        )
        for e in entries(route_msgs, names, RT_TABLE_MAIN)
        if e.type == "unicast"
    ]
    return ifaces, out_routes


class _NsReader:
    """Per worker thread: reads one netns after another through pyroute2's
    codecs over a plain socket (:class:`inspectors.nlsock.RtnlSocket`), opened
    while the thread is inside the namespace: links, addresses and routes, and
    from a host-netns socket the host's id for the namespace (RTM_GETNSID)."""

    def __init__(self):
        self.host = None  # host-netns socket for RTM_GETNSID

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
            self.host = None

    def read(self, fd: int, want_nsid: bool) -> tuple[list[Interface], list[Route], int | None]:
        from .nlsock import RtnlSocket

        with in_netns(fd):
            s = RtnlSocket()
        try:
            links, addrs, routes = s.dump("links"), s.dump("addrs"), s.dump("routes")
        finally:
            s.close()
        nsid = None
        if want_nsid:
            if self.host is None:
                self.host = RtnlSocket()
            nsid = self.host.nsids(fds=[fd])[0]
        return (*_build(links, addrs, routes), nsid)


def _ns_reader() -> _NsReader:
    r = getattr(_tls, "reader", None)
    if r is None:
        r = _tls.reader = _NsReader()
    return r


def _copy(obj):
    """A shallow copy of a plain dataclass instance (its ``__dict__``):
    ``dataclasses.replace`` runs ``__init__`` and costs ~10x more, and a warm
    rebuild clones every container's read (1,000 at a time)."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _clone(info: SandboxInfo) -> SandboxInfo:
    """A copy the join may enrich independently (cheaper than deepcopy)."""
    new = _copy(info)
    ifaces = []
    for i in info.interfaces:
        c = _copy(i)
        c.addresses = list(i.addresses)
        ifaces.append(c)
    new.interfaces = ifaces
    new.routes = [_copy(r) for r in info.routes]
    new.notes = list(info.notes)
    return new


def _errmsg(e: OSError, path: str) -> str:
    if e.errno in (errno.EPERM, errno.EACCES):
        if os.geteuid() != 0:
            return NEEDS_ROOT
        # root and still refused: ptrace access check (LSM, yama, another user ns)
        return f"{path}: permission denied even as root (LSM/ptrace restriction?)"
    if e.errno in (errno.ENOENT, errno.ESRCH):
        return f"{path}: no such namespace (container stopped?)"
    return f"{path}: {e.strerror or e}"


class _Reader:
    """Shared state of one read_sandboxes() call."""

    def __init__(self, want_nsid: bool = True):
        import importlib.util

        # fail here, once, when pyroute2 is missing; found, not imported: a cold
        # build forks its reader process before this process pays the import
        if importlib.util.find_spec("pyroute2") is None:
            raise ImportError("pyroute2 is not installed")

        st = os.stat(
            "/proc/thread-self/ns/net"
            if os.path.exists("/proc/thread-self")
            else "/proc/self/ns/net"
        )
        self.home_key = (st.st_dev, st.st_ino)
        # RTM_GETNSID per namespace (~0.15 ms each): only when the caller keys
        # something on the nsid (a warm model's change watch); otherwise the join
        # takes it from the host veth's IFLA_LINK_NETNSID
        self.want_nsid = want_nsid
        self.lock = threading.Lock()
        self.by_inode: dict[tuple[int, int], Future] = {}

    def close(self) -> None:
        pass

    def open_target(self, pid, key) -> tuple[int | None, str | None, str | None, list[str]]:
        """(fd, path, error, notes) trying /proc/<pid>/ns/net then SandboxKey."""
        notes: list[str] = []
        err = None
        cands = []
        if pid:
            cands.append(f"/proc/{int(pid)}/ns/net")
        if key:
            cands.append(key)
        for path in cands:
            try:
                fd = open_netns(path)
            except OSError as e:
                msg = _errmsg(e, path)
                if msg == NEEDS_ROOT:  # the SandboxKey would be refused as well
                    return None, path, NEEDS_ROOT, notes
                notes.append(msg)
                err = err or msg
                continue
            if path != cands[0]:
                notes.append(f"used SandboxKey {path}")
            elif key and path != key:
                fd, path = self._check_pid_against_key(fd, path, key, notes)
            return fd, path, None, notes
        if not cands:
            err = "no pid and no SandboxKey: not running?"
        return None, None, err, notes

    @staticmethod
    def _check_pid_against_key(fd: int, path: str, key: str, notes: list[str]) -> tuple[int, str]:
        """Both handles are nsfs files but differ: the pid is not the container's
        (we run in another PID namespace, or the pid was reused). Trust the key.
        A key that is not an nsfs file (dockerd's private mount namespace) is ignored."""
        try:
            kfd = open_netns(key)
        except OSError:
            return fd, path
        a, b = os.fstat(fd), os.fstat(kfd)
        if a.st_dev == b.st_dev and a.st_ino != b.st_ino:
            os.close(fd)
            notes.append(
                f"{path} is not the SandboxKey's netns (another PID namespace, "
                f"or the pid was reused): used SandboxKey {key}"
            )
            return kfd, key
        os.close(kfd)
        return fd, path

    def read_fd(self, fd: int) -> SandboxInfo:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        info = SandboxInfo(netns_inode=st.st_ino, host_netns=key == self.home_key)
        try:
            info.interfaces, info.routes, nsid = _ns_reader().read(
                fd, self.want_nsid and not info.host_netns
            )
        except NetnsError as e:
            if e.errno == errno.EPERM and os.geteuid() == 0:
                info.error = "setns refused (netns owned by another user namespace, e.g. rootless?)"
            else:
                info.error = e.strerror or str(e)
            return info
        except OSError as e:
            info.error = f"netlink: {e.strerror or e}"
            return info
        if nsid is not None and 0 <= nsid < 0xFFFFFFFF:
            info.nsid = nsid
        return info

    def read_target(self, pid, key) -> SandboxInfo:
        fd, path, err, notes = self.open_target(pid, key)
        if fd is None:
            return SandboxInfo(netns=path, error=err, notes=notes)
        try:
            st = os.fstat(fd)
            ikey = (st.st_dev, st.st_ino)
            with self.lock:
                fut = self.by_inode.get(ikey)
                owner = fut is None
                if owner:
                    fut = self.by_inode[ikey] = Future()
            if owner:
                try:
                    fut.set_result(self.read_fd(fd))
                except BaseException as e:  # pragma: no cover - programming error
                    fut.set_exception(e)
                    raise
            info = _clone(fut.result())
        finally:
            os.close(fd)
        info.netns = path
        info.notes = notes + info.notes
        return info


def read_sandboxes(
    targets: list[Target], links_by_index: dict[int, Link] | None = None, workers: int = 1
) -> dict[str, SandboxInfo]:
    """container_id -> SandboxInfo for each (container_id, pid, sandbox_key).

    ``links_by_index``: host links by ifindex (from :func:`inspectors.kernel.read_links`,
    read *before* this call so the kernel has assigned nsids); when given,
    each interface gets ``host_veth`` and ``bridge``. Never raises for one
    container: problems land in ``SandboxInfo.error`` ("needs root to enter
    network namespaces" without privileges).
    """
    targets = list(targets)
    if not targets:
        return {}
    try:
        reader = _Reader()
    except OSError as e:
        msg = NEEDS_ROOT if e.errno in (errno.EPERM, errno.EACCES) else str(e)
        return {t[0]: SandboxInfo(error=msg) for t in targets}
    results: dict[str, SandboxInfo] = {}
    try:

        def one(t) -> SandboxInfo:
            cid, pid, key = (tuple(t) + (None, None))[:3]
            try:
                return reader.read_target(pid, key)
            except Exception as e:  # never let one container break the batch
                return SandboxInfo(error=f"{type(e).__name__}: {e}")

        # Always in worker threads, never the caller's: setns() switches the
        # calling thread, and a thread that failed to switch back must not be
        # the caller's. One thread is the default: the work is CPU-bound
        # Python (decoding), so on CPython more threads only add GIL hand-offs
        # (measured: 300 namespaces ~105 ms with 1 thread, ~200 ms with 2-16).
        from concurrent.futures import ThreadPoolExecutor

        n = max(1, min(workers, len(targets)))
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="dockscope-netns") as ex:
            for t, info in zip(targets, ex.map(one, targets)):
                results[t[0]] = info
    finally:
        reader.close()
    if links_by_index:
        for info in results.values():
            _join(info, links_by_index)
    return results


_CACHE_LOCK = threading.Lock()
_CACHE: dict[tuple, tuple[float, SandboxInfo]] = {}
CACHE_TTL = 30.0  # seconds a sandbox read may be reused by a warm rebuild


def sandbox_token(container) -> tuple:
    """What the engine says about a container's sandbox (pid, SandboxKey,
    endpoints): a warm rebuild reuses a read only while this is unchanged."""
    return (
        container.id,
        container.pid,
        container.sandbox_key,
        tuple(
            sorted((e.network_id or e.network, e.ipv4, e.ipv6, e.mac) for e in container.endpoints)
        ),
    )


class SandboxReader:
    """For pipelining: read sandboxes one by one from worker threads (never the
    caller's own thread: ``setns`` switches the calling thread), e.g. right after
    each container inspect, then :func:`join_sandbox` once the host links are in.

    With a ``token`` (:func:`sandbox_token`), a read whose token and namespace
    inode are unchanged is reused (pyroute2 costs ~2 ms per namespace):

    * with a ``watch`` (:class:`inspectors.netwatch.KernelWatch`, bound before the
      read): for as long as the watch reports no change of that namespace (by its
      nsid; the caller passes what ``watch.poll()`` said to :func:`forget` before
      reading). A change made inside the namespace by hand shows at the next read.
      A namespace the host has no nsid for sends no notification: TTL as below.
    * without: for :data:`CACHE_TTL` seconds (a change made by hand behind the
      engine's back shows after at most that).

    ``fresh=True`` (a targeted refresh after an event) always reads, and updates
    what later rebuilds reuse.
    """

    def __init__(self, fresh: bool = False, watch=None, procs=None):
        self.watch = watch
        self._r = _Reader(want_nsid=watch is not None)
        self.fresh = fresh
        self.procs = procs  # a ReaderProcess: reads run on another core

    def read(self, pid: int | None, sandbox_key: str | None, token=None) -> SandboxInfo:
        return self.start(pid, sandbox_key, token)()

    def start(self, pid: int | None, sandbox_key: str | None, token=None):
        """Begin one read; returns ``get()`` -> SandboxInfo. With ``procs``, the
        read runs in the reader process while the caller goes on; otherwise it
        runs now, in the calling thread."""
        key = None
        if token is not None and pid:
            try:
                st = os.stat(f"/proc/{int(pid)}/ns/net")
                key = (token, st.st_dev, st.st_ino)
            except OSError:
                key = None
        if key is not None and not self.fresh:
            with _CACHE_LOCK:
                hit = _CACHE.get(key)
            if hit is not None and _valid(hit, self.watch, time.monotonic()):
                info = _clone(hit[1])
                return lambda: info
        if self.procs is not None:
            fut = self.procs.submit(pid, sandbox_key, self._r.want_nsid)

            def get() -> SandboxInfo:
                if self.procs is not None:
                    self.procs.flush()  # a read still waiting for its chunk goes now
                try:
                    got = fut.result()
                except Exception:  # the process died: read here instead
                    with _READ_LOCK:
                        got = self._read_now(pid, sandbox_key)
                self._store(key, got)
                return got

            return get
        # one namespace read at a time, in the calling worker thread: the work
        # is pyroute2 decoding under the GIL, and 8 engine threads reading
        # namespaces at once cost twice the CPU per namespace (measured); a
        # lock, not a hand-off to another thread, so a sequential caller pays
        # no thread switch per container
        with _READ_LOCK:
            info = self._read_now(pid, sandbox_key)
        self._store(key, info)
        return lambda: info

    def steal(self) -> int:
        """Before collecting: read here what the reader process has not started
        (:meth:`inspectors.readerproc.ReaderProcess.steal`). Call from a worker thread, never the caller's."""
        if self.procs is None:
            return 0

        def here(pid, sandbox_key):
            with _READ_LOCK:
                return self._read_now(pid, sandbox_key)

        return self.procs.steal(here)

    def _store(self, key, info: SandboxInfo) -> None:
        if key is not None and info.error is None:
            with _CACHE_LOCK:
                now = time.monotonic()
                for k in [k for k, v in _CACHE.items() if not _valid(v, v[2], now)]:
                    del _CACHE[k]
                _CACHE[key] = (now, _clone(info), self.watch)

    def _read_now(self, pid, sandbox_key) -> SandboxInfo:
        try:
            return self._r.read_target(pid, sandbox_key)
        except Exception as e:  # one container never breaks the batch
            return SandboxInfo(error=f"{type(e).__name__}: {e}")

    def close(self) -> None:
        self._r.close()
        if self.procs is not None:
            self.procs.close()
            self.procs = None


WATCHED_TTL = 600.0  # backstop for reads a watch covers (they go when it reports a change)


def _valid(entry: tuple, watch, now: float) -> bool:
    at, info, by = entry
    if (
        by is not None
        and by is watch
        and not by.closed
        and info.nsid is not None
        and at > by.lost_at  # read after the watch last lost notifications
    ):
        return now - at <= WATCHED_TTL
    return now - at <= CACHE_TTL


def forget(nsids=(), everything: bool = False) -> None:
    """Drop reuse entries of the namespaces a watch saw change (by host nsid)."""
    with _CACHE_LOCK:
        if everything:
            _CACHE.clear()
            return
        if not nsids:
            return
        for k in [k for k, v in _CACHE.items() if v[1].nsid in nsids]:
            del _CACHE[k]


_READ_LOCK = threading.Lock()


def join_sandbox(info: SandboxInfo, links_by_index: dict[int, Link]) -> None:
    """Fill ``host_veth``/``bridge`` of each interface (both directions checked)."""
    _join(info, links_by_index)


def read_sandbox(
    pid: int | None = None,
    sandbox_key: str | None = None,
    links_by_index: dict[int, Link] | None = None,
) -> SandboxInfo:
    """One sandbox (convenience for the CLI)."""
    return read_sandboxes([("_", pid, sandbox_key)], links_by_index, workers=1)["_"]


# --------------------------------------------------------------------------- resolv.conf

_EXT_RE = re.compile(r"^#\s*ExtServers:\s*\[(.*)\]\s*$")


_RESOLV_LOCK = threading.Lock()
_RESOLV: dict[str, tuple[tuple, DnsConfig]] = {}  # path -> (its stat, the parse)
RESOLV_CACHE_MAX = 8192
RESOLV_SETTLED = 2.0  # seconds: a file changed more recently than this is never reused


def _dns_copy(cfg: DnsConfig) -> DnsConfig:
    new = _copy(cfg)
    new.nameservers, new.search = list(cfg.nameservers), list(cfg.search)
    new.options, new.ext_servers = list(cfg.options), list(cfg.ext_servers)
    return new


def read_resolv_conf(path: str) -> DnsConfig:
    """Parse a resolv.conf: nameservers, search (``domain`` when no ``search``),
    options, and Docker's ``# ExtServers: [host(127.0.0.53) 8.8.8.8]`` comment
    (entries kept verbatim, ``host(...)`` means queried from the host netns).

    The container's file is inspect's ``ResolvConfPath`` (under data-root) or
    ``/proc/<pid>/root/etc/resolv.conf``. Errors go to ``DnsConfig.error``.

    A warm rebuild reads every container's file again: a parse is reused while the
    file's stat (inode, size, mtime, ctime) is the one it was parsed at, and only once
    that mtime is :data:`RESOLV_SETTLED` old (a rewrite within the filesystem's
    timestamp granularity could otherwise keep size and mtime).
    """
    try:
        st = os.stat(path)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    except OSError:
        key = None
    if key is not None:
        with _RESOLV_LOCK:
            hit = _RESOLV.get(path)
        if hit is not None and hit[0] == key:
            return _dns_copy(hit[1])
    cfg = _parse_resolv_conf(path)
    if key is not None and cfg.error is None and time.time() - st.st_mtime > RESOLV_SETTLED:
        with _RESOLV_LOCK:
            if len(_RESOLV) >= RESOLV_CACHE_MAX:
                _RESOLV.clear()
            _RESOLV[path] = (key, _dns_copy(cfg))
    return cfg


def _parse_resolv_conf(path: str) -> DnsConfig:
    cfg = DnsConfig(path=path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        cfg.error = (
            f"{path}: permission denied (needs root)"
            if e.errno in (errno.EPERM, errno.EACCES)
            else f"{path}: {e.strerror or e}"
        )
        return cfg
    domain: list[str] = []
    search_seen = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line[0] in "#;":
            m = _EXT_RE.match(line)
            if m:
                cfg.ext_servers = [x for x in re.split(r"[\s,]+", m.group(1)) if x]
            continue
        parts = line.split()
        kw, args = parts[0], parts[1:]
        if kw == "nameserver" and args:
            cfg.nameservers.append(args[0])
        elif kw == "search":
            cfg.search = args  # the last search/domain line wins (resolv.conf(5))
            search_seen, domain = True, []
        elif kw == "domain" and args:
            domain, search_seen = [args[0]], False
            cfg.search = []
        elif kw == "options":
            cfg.options.extend(args)
    if domain and not search_seen:
        cfg.search = domain
    return cfg
