"""Who listens where: host sockets (psutil) and a namespace's sockets (/proc).

* :func:`process_table` - ONE pass over the processes (psutil), shared by
  whoever asks while it runs: the dockerd finder (:mod:`inspectors.daemon`) and
  the owners of a container namespace's sockets. Host listener owners need no
  pass of their own: ``psutil.net_connections`` names their pids.
* :func:`read_listeners` - every listening TCP socket and bound (unconnected)
  UDP socket of the host network namespace, IPv4 and IPv6, with the owning
  pid, process name and command line. The socket list comes from the kernel's
  sock_diag (pyroute2 ``DiagSocket``: one netlink round trip, with inodes);
  the owners from ``psutil.net_connections`` (its walk of every process's
  fds), only for sockets not seen before. :class:`ListenerReader` keeps
  the owners warm in a long-lived process.
* :func:`classify_owner` / :func:`proxy_target` - docker-proxy, dockerd,
  rootlesskit or a foreign process.
* :func:`read_netns_listeners` - the same for another network namespace
  (a container's), read from ``/proc/<pid>/net/*``: psutil only ever reads the
  caller's namespace.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from inspectors.model import Listener

TCP_LISTEN = "0A"
TCP_CLOSE = "07"  # what an unconnected (bound) UDP socket shows

PROXY_NAMES = ("docker-proxy", "rootlesskit-docker-proxy")
ROOTLESSKIT_NAMES = ("rootlesskit",)
DOCKERD_NAMES = ("dockerd",)

NOTE_NOT_ROOT = (
    "not root: the owning process of sockets of other users is unknown "
    "(pid is empty); run as root to see it"
)
NOTE_NO_PID = (
    "{n} listening socket(s) have no owning process visible here "
    "(held by a process outside this pid namespace, or by the kernel)"
)


# --------------------------------------------------------------------------- processes

_PT_LOCK = threading.Lock()
_PT: tuple[float, dict] | None = None
_PT_BUSY: threading.Event | None = None


def process_table(max_age: float = 0.0) -> dict:
    """pid -> ``psutil.Process`` (its ``info`` holds ``name``), from one
    ``psutil.process_iter`` pass.

    Single flight: a caller arriving while a pass runs waits for it and shares
    its result, so the readers of one snapshot build (listener owners, the
    dockerd finder, run concurrently) walk the processes once between them.
    A finished pass is reused only if younger than ``max_age`` seconds (default
    0: a process started since must be seen)."""
    global _PT, _PT_BUSY
    import psutil

    with _PT_LOCK:
        if _PT is not None and time.monotonic() - _PT[0] <= max_age:
            return _PT[1]
        ev = _PT_BUSY
        mine = ev is None
        if mine:
            ev = _PT_BUSY = threading.Event()
    if not mine:
        ev.wait()
        if _PT is not None:
            return _PT[1]
    try:
        table = {p.pid: p for p in psutil.process_iter(["name"])}
        with _PT_LOCK:
            _PT = (time.monotonic(), table)
        return table
    finally:
        with _PT_LOCK:
            _PT_BUSY = None
        ev.set()


def proc_name_cmdline(pid: int, table: dict | None = None) -> tuple[str | None, list[str]]:
    """(name, cmdline) of ``pid`` through psutil; (None, []) if gone or hidden.

    psutil's name is the command line's basename when comm was cut at 15 chars."""
    import psutil

    p = (table or {}).get(pid)
    try:
        if p is None:
            p = psutil.Process(pid)
        name = (p.info or {}).get("name") if hasattr(p, "info") else None
        name = name or p.name()
    except (psutil.Error, OSError):
        return None, []
    try:
        cmd = p.cmdline()
    except (psutil.Error, OSError):
        cmd = []
    return name, cmd


# --------------------------------------------------------------------------- host


def _dedupe(items: list[Listener]) -> list[Listener]:
    """One entry per (protocol, family, ip, port, pid).

    psutil attributes a socket to the first (pid, fd) it finds holding it, so a
    socket shared by a pre-fork server's processes is one row (``ss`` lists
    every pid on one line). Several sockets on one address (SO_REUSEPORT) in
    one process become one row. A pid-less row is dropped when the same
    address also has a row with a pid.
    """
    seen: dict[tuple, Listener] = {}
    for li in items:
        seen.setdefault((li.protocol, li.family, li.ip, li.port, li.pid), li)
    with_pid = {k[:4] for k in seen if k[4] is not None}
    out = [li for k, li in seen.items() if k[4] is not None or k[:4] not in with_pid]
    out.sort(key=lambda li: (li.protocol, li.port, li.family, li.ip, li.pid or 0))
    return out


def _diag_table() -> list[tuple[Listener, int]] | None:
    """``(listener without pid, socket inode)`` for the listening TCP and bound,
    unconnected UDP sockets of this netns, from the one sock_diag dump
    (:mod:`inspectors.netsockets`, pyroute2 ``DiagSocket``); None when the
    kernel does not answer (no inet_diag/udp_diag)."""
    from inspectors.netsockets import _dump as sock_diag_dump

    try:
        entries = sock_diag_dump()
    except Exception:
        return None
    out = []
    for e in entries:
        if not e.listening or (e.proto == "udp" and e.peer_port):
            continue
        ip = e.local_ip
        if e.family == 6:
            ip = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, ip))
        li = Listener(protocol=e.proto, ip=ip, port=e.local_port, family=e.family)
        out.append((li, e.inode))
    return out


def _addr_key(proto: str, family: int, ip: str, port: int) -> tuple:
    return (proto, family, ip, port)


def _psutil_rows() -> list[tuple[Listener, int | None, int | None]]:
    """``(listener, pid, fd)`` for every listening/bound socket, from
    ``psutil.net_connections`` (one walk over every process's fds)."""
    import psutil

    out = []
    for c in psutil.net_connections(kind="inet"):
        proto = "tcp" if c.type == socket.SOCK_STREAM else "udp"
        if proto == "tcp" and c.status != psutil.CONN_LISTEN:
            continue
        if proto == "udp" and c.raddr:
            continue
        if not c.laddr:
            continue
        li = Listener(
            protocol=proto,
            ip=c.laddr.ip,
            port=c.laddr.port,
            family=4 if c.family == socket.AF_INET else 6,
        )
        out.append((li, c.pid, c.fd if c.fd not in (None, -1) else None))
    return out


def read_listeners(notes: list[str] | None = None) -> list[Listener]:
    """Listening TCP and bound UDP sockets of this (the host) network namespace,
    each with its owning process (psutil). ``notes`` (optional) receives one
    line per thing that could not be known (not root: pids of other users'
    sockets are None). Never raises for lack of privileges.
    """
    return ListenerReader().read(notes)


class ListenerReader:
    """:func:`read_listeners` for a long-lived process (the console).

    The socket list (sock_diag) is re-read every time; the owners, which cost
    psutil's walk over every fd of every process, are remembered per socket
    inode and re-checked with ``Process.is_running()``. Only sockets not seen
    before trigger a walk.
    """

    RETRY_UNOWNED = 30.0  # seconds before looking again for a socket no process showed

    def __init__(self) -> None:
        self._owner: dict[int, list] = {}  # inode -> [(psutil.Process, name, cmdline)]
        self._unowned: dict[int, float] = {}  # inode -> when a walk did not find it

    def _owners_of(self, wanted: dict[int, Listener]) -> None:
        import psutil

        by_addr: dict[tuple, list[int]] = {}
        for li, pid, _fd in _psutil_rows():
            if pid is not None:
                lst = by_addr.setdefault(_addr_key(li.protocol, li.family, li.ip, li.port), [])
                if pid not in lst:
                    lst.append(pid)
        for ino, li in wanted.items():
            pids = by_addr.get(_addr_key(li.protocol, li.family, li.ip, li.port))
            if not pids:
                continue
            procs = []
            for pid in pids:
                try:
                    p = psutil.Process(pid)
                except psutil.Error:
                    continue
                name, cmd = proc_name_cmdline(pid, {pid: p})
                procs.append((p, name, cmd))
            if procs:
                self._owner[ino] = procs

    def read(self, notes: list[str] | None = None) -> list[Listener]:
        import psutil

        rows = _diag_table()
        if rows is None:  # no sock_diag: psutil alone, no inodes to remember
            out = []
            for li, pid, _fd in _psutil_rows():
                if pid is not None:
                    li.pid = pid
                    li.process, li.cmdline = proc_name_cmdline(pid)
                out.append(li)
            return self._finish(_dedupe(out), notes)
        live = {ino: li for li, ino in rows}
        for ino in [i for i in self._owner if i not in live]:
            del self._owner[ino]
        for ino in [i for i in self._unowned if i not in live]:
            del self._unowned[ino]
        now = time.monotonic()
        unknown: dict[int, Listener] = {}
        for ino, li in live.items():
            procs = self._owner.get(ino)
            if procs is None:
                if now - self._unowned.get(ino, -1e9) > self.RETRY_UNOWNED:
                    unknown[ino] = li
                continue
            try:
                alive = all(p.is_running() for p, _n, _c in procs)
            except psutil.Error:
                alive = False
            if not alive:
                del self._owner[ino]
                unknown[ino] = li
        if unknown:
            self._owners_of(unknown)
            for ino in unknown:
                if ino not in self._owner:
                    self._unowned[ino] = now
        out = []
        for li, ino in rows:
            procs = self._owner.get(ino)
            if not procs:
                out.append(li)
                continue
            for p, name, cmd in procs:
                out.append(
                    Listener(
                        protocol=li.protocol,
                        ip=li.ip,
                        port=li.port,
                        family=li.family,
                        pid=p.pid,
                        process=name,
                        cmdline=list(cmd),
                    )
                )
        return self._finish(_dedupe(out), notes)

    @staticmethod
    def _finish(out: list[Listener], notes: list[str] | None) -> list[Listener]:
        if notes is not None:
            missing = sum(1 for li in out if li.pid is None)
            if missing:
                notes.append(NOTE_NOT_ROOT if os.geteuid() != 0 else NOTE_NO_PID.format(n=missing))
        return out


# --------------------------------------------------------------------------- owners


def _go_flags(args: list[str]) -> dict[str, str]:
    """Go ``flag`` package syntax: -f v, -f=v, --f v, --f=v."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1:
            name = a.lstrip("-")
            if "=" in name:
                k, v = name.split("=", 1)
                out[k] = v
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                out[name] = args[i + 1]
                i += 1
            else:
                out[name] = "true"
        i += 1
    return out


def _basename(cmdline: list[str]) -> str:
    return os.path.basename(cmdline[0]) if cmdline else ""


def proxy_target(cmdline: list[str]) -> tuple[str, str | None, int | None, str, int] | None:
    """``(proto, host_ip, host_port, container_ip, container_port)`` of a
    docker-proxy command line, or None if it is not one.

    ``docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080
    -container-ip 172.17.0.2 -container-port 80 [-use-listen-fd]``
    """
    if not cmdline:
        return None
    f = _go_flags(cmdline[1:])
    cip, cport = f.get("container-ip"), f.get("container-port")
    if not cip or not cport:
        return None
    try:
        container_port = int(cport)
    except ValueError:
        return None
    hport: int | None
    try:
        hport = int(f["host-port"]) if f.get("host-port") else None
    except ValueError:
        hport = None
    return (f.get("proto") or "tcp", f.get("host-ip") or None, hport, cip, container_port)


def classify_owner(listener: Listener) -> str | None:
    """docker-proxy | dockerd | rootlesskit | foreign; None when the owner is
    unknown (no pid: not root, or outside our pid namespace).

    Sets ``listener.owner`` and, for docker-proxy, ``listener.container_ip`` /
    ``listener.container_port`` (the join maps the IP to a container).
    """
    names = {listener.process or "", _basename(listener.cmdline)}
    names.discard("")
    if not names:
        listener.owner = None
        return None
    target = proxy_target(listener.cmdline)
    if target and (names & set(PROXY_NAMES) or any("docker-proxy" in n for n in names)):
        owner = "docker-proxy"
        listener.container_ip, listener.container_port = target[3], target[4]
    elif names & set(DOCKERD_NAMES):
        owner = "dockerd"
    elif any(n.startswith(ROOTLESSKIT_NAMES) for n in names):
        owner = "rootlesskit"
    else:
        owner = "foreign"
    listener.owner = owner
    return owner


# --------------------------------------------------------------------------- other netns


def _hex_ip(h: str, family: int) -> str:
    """Kernel hex address -> text, formatted as psutil does (inet_ntop)."""
    # the kernel prints each 32-bit word of the address as a number in host
    # byte order: the printed value, stored natively, gives the address bytes
    words = struct.unpack(">%dI" % (len(h) // 8), bytes.fromhex(h))
    packed = struct.pack("=%dI" % len(words), *words)
    return socket.inet_ntop(socket.AF_INET if family == 4 else socket.AF_INET6, packed)


def parse_proc_net(text: str, proto: str, family: int) -> list[tuple[str, int, str, int]]:
    """Rows of a ``/proc/<pid>/net/{tcp,tcp6,udp,udp6}`` file that listen
    (TCP state 0A) or are bound and unconnected (UDP state 07, no peer):
    ``(ip, port, state, inode)``."""
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        local, remote, state = parts[1], parts[2], parts[3]
        if proto == "tcp":
            if state != TCP_LISTEN:
                continue
        else:
            rport = remote.rsplit(":", 1)[1]
            if state != TCP_CLOSE or int(rport, 16) != 0:
                continue
        lip, lport = local.rsplit(":", 1)
        try:
            out.append((_hex_ip(lip, family), int(lport, 16), state, int(parts[9])))
        except ValueError:
            continue
    return out


def _read_proc_net(base: str) -> list[tuple[Listener, int]]:
    """``(listener without pid, socket inode)`` rows of ``<base>/{tcp,tcp6,udp,udp6}``."""
    out = []
    for fname, proto, fam in (
        ("tcp", "tcp", 4),
        ("tcp6", "tcp", 6),
        ("udp", "udp", 4),
        ("udp6", "udp", 6),
    ):
        try:
            with open(f"{base}/{fname}") as fh:
                text = fh.read()
        except (FileNotFoundError, ProcessLookupError):
            continue  # no IPv6 in that namespace, or the process is gone
        for ip, port, _state, inode in parse_proc_net(text, proto, fam):
            out.append((Listener(protocol=proto, ip=ip, port=port, family=fam), inode))
    return out


def _socket_fds(p: int):
    """(fd, socket inode) for each socket process ``p`` holds (nothing if it is gone).

    By hand: psutil joins a process's socket fds only with the tables of OUR
    netns (/proc/net/*), so it cannot name the sockets of another netns."""
    try:
        fds = os.listdir(f"/proc/{p}/fd")
    except OSError:
        return
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{p}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            yield fd, int(link[8:-1])


def _scan_fds(p: int, result: dict, wanted: set[int] | None = None) -> None:
    info = None
    for _fd, ino in _socket_fds(p):
        if wanted is not None and ino not in wanted:
            continue
        if info is None:
            info = proc_name_cmdline(p)
        lst = result.setdefault(ino, [])
        if all(x[0] != p for x in lst):
            lst.append((p, *info))


def _netns_inode_map(
    pid: int, inodes: set[int]
) -> dict[int, list[tuple[int, str | None, list[str]]]]:
    """socket inode -> [(pid, name, cmdline)].

    First the processes sharing ``pid``'s network namespace (one readlink per
    process, then only their fds); then, for sockets still without an owner,
    the dockerd processes (the embedded DNS server on 127.0.0.11 is a socket
    that dockerd, in the host namespace, opened inside the container's).
    The processes come from the shared :func:`process_table`.
    """
    try:
        # by hand: psutil does not expose a process's network namespace
        target_ns = os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return {}
    table = process_table()
    result: dict[int, list[tuple[int, str | None, list[str]]]] = {}
    others: list[int] = []
    for p in sorted(set(table) | {pid}):
        try:
            same = p == pid or os.readlink(f"/proc/{p}/ns/net") == target_ns
        except OSError:
            continue
        if same:
            _scan_fds(p, result)
        else:
            others.append(p)
    left = inodes - result.keys()
    if left:
        for p in others:
            proc = table.get(p)
            if proc is None or (proc.info or {}).get("name") not in DOCKERD_NAMES:
                continue
            _scan_fds(p, result, left)
    return result


def read_netns_listeners(pid: int, with_pids: bool = True) -> list[Listener]:
    """Listeners of the network namespace that process ``pid`` is in, from
    ``/proc/<pid>/net/{tcp,tcp6,udp,udp6}`` (root needed for another user's
    process). With ``with_pids`` the owning processes are found among the
    processes of that namespace; otherwise ``pid`` is None.

    Raises ``ProcessLookupError`` if the process is gone and ``PermissionError``
    if its namespace files are not readable.
    """
    if not os.path.exists(f"/proc/{pid}"):
        raise ProcessLookupError(f"no process {pid}")
    rows = _read_proc_net(f"/proc/{pid}/net")
    if not with_pids or not rows:
        return _dedupe([li for li, _ in rows])
    inode_map = _netns_inode_map(pid, {ino for _, ino in rows})
    out = []
    for li, ino in rows:
        for p, name, cmd in inode_map.get(ino) or [(None, None, [])]:
            out.append(
                Listener(
                    protocol=li.protocol,
                    ip=li.ip,
                    port=li.port,
                    pid=p,
                    process=name,
                    family=li.family,
                    cmdline=list(cmd),
                )
            )
    return _dedupe(out)


# socket inode -> [(pid, name, cmdline)] for a netns: the public name that
# inspectors/netsockets.py (sandbox sockets, every state) uses
socket_owners = _netns_inode_map
