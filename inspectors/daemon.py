"""The dockerd process behind the engine in use: flags, config file, roots, logs.

* :func:`find_daemon` finds the pid of the dockerd that serves *this* engine
  even when several run on the host (each with its own ``-H``), parses its
  command line and tells where its daemon.json and its log are.
* :func:`daemon_flag_keys` maps command-line flags to daemon.json keys: dockerd
  refuses to start when a key is set both ways ("the following directives are
  specified both as a flag and in the configuration file").
* :func:`read_daemon_config` reads daemon.json the way dockerd does (UTF-8
  with or without BOM, UTF-16 with BOM, empty file = {}).

Processes come from psutil (the shared walk :func:`inspectors.sockets.process_table`);
psutil is imported inside functions (CLI start-up time).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterable, Mapping

from inspectors.model import DaemonProcess

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_HOST = "unix://" + DEFAULT_SOCKET
DEFAULT_PIDFILE = "/var/run/docker.pid"
DEFAULT_CONFIG = "/etc/docker/daemon.json"
DEFAULT_EXEC_ROOT = "/var/run/docker"
DEFAULT_DATA_ROOT = "/var/lib/docker"
KNOWN_LOG_FILES = ("/var/log/docker.log", "/var/log/upstart/docker.log", "/var/log/docker")

DOCKERD_NAMES = ("dockerd",)

# pflag shorthands of dockerd (20.10 .. 29)
SHORT_FLAGS = {
    "-D": "--debug",
    "-H": "--host",
    "-l": "--log-level",
    "-G": "--group",
    "-p": "--pidfile",
    "-g": "--graph",
    "-b": "--bridge",
    "-s": "--storage-driver",
    "-e": "--exec-driver",
    "-v": "--version",
    "-h": "--help",
    "-r": "--restart",
}

# boolean flags: pflag takes "--flag" or "--flag=false", never "--flag false"
BOOL_FLAGS = {
    "--debug",
    "--tls",
    "--tlsverify",
    "--iptables",
    "--ip6tables",
    "--ip-forward",
    "--ip-masq",
    "--icc",
    "--ipv6",
    "--userland-proxy",
    "--live-restore",
    "--experimental",
    "--selinux-enabled",
    "--init",
    "--no-new-privileges",
    "--raw-logs",
    "--rootless",
    "--validate",
    "--version",
    "--help",
    "--disable-legacy-registry",
    "--cri-containerd",
    "--allow-direct-routing",
    "--ip-forward-no-drop",
    "--bridge-accept-fwmark-all",
    "--userland-proxy-hairpin",
    "--restart",
}

# flag (long name, no dashes) -> daemon.json key, where they differ. Any other
# flag has the key of its own name, except NO_KEY.
FLAG_KEYS = {
    "debug": "debug",
    "host": "hosts",
    "label": "labels",
    "dns-opt": "dns-opts",
    "dns-search": "dns-search",
    "insecure-registry": "insecure-registries",
    "registry-mirror": "registry-mirrors",
    "authorization-plugin": "authorization-plugins",
    "add-runtime": "runtimes",
    "storage-opt": "storage-opts",
    "exec-opt": "exec-opts",
    "log-opt": "log-opts",
    "default-ulimit": "default-ulimits",
    "default-address-pool": "default-address-pools",
    "default-network-opt": "default-network-opts",
    "node-generic-resource": "node-generic-resources",
    "cluster-store-opt": "cluster-store-opts",
    "cdi-spec-dir": "cdi-spec-dirs",
    "feature": "features",
    # nested under "proxies" in daemon.json (dockerd flattens it when it checks conflicts)
    "http-proxy": "proxies.http-proxy",
    "https-proxy": "proxies.https-proxy",
    "no-proxy": "proxies.no-proxy",
}
NO_KEY = {"config-file", "validate", "version", "help", "exec-driver"}

SOURCE_FLAG = "host-flag"
SOURCE_CONFIG = "config-hosts"
SOURCE_DEFAULT = "default-socket"


# --------------------------------------------------------------------------- flags


def _long(flag: str) -> str:
    return SHORT_FLAGS.get(flag, flag)


def parse_flags(args: list[str]) -> dict[str, list[str]]:
    """dockerd's arguments (without argv[0]) -> ``{"--long-name": [values]}``.

    Handles ``--flag=value``, ``--flag value``, ``-H value``, ``-Hvalue``,
    ``-H=value`` and boolean flags (``-D`` -> ``{"--debug": ["true"]}``).
    Short flags are stored under their long name; repeated flags keep every
    value in order.
    """
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if not a.startswith("-") or a in ("-", "--"):
            continue
        if a.startswith("--"):
            name, eq, val = a.partition("=")
            has_val = bool(eq)
        else:
            short = a[:2]
            name = _long(short)
            rest = a[2:]
            if rest and name not in BOOL_FLAGS:
                has_val, val = True, rest[1:] if rest.startswith("=") else rest
            elif rest.startswith("="):
                has_val, val = True, rest[1:]
            else:
                has_val, val = False, ""
                if rest:  # combined booleans, e.g. -Dl? take the first, keep the rest
                    args = args[:i] + ["-" + rest] + args[i:]
        if not has_val:
            if name in BOOL_FLAGS:
                val = "true"
            elif i < len(args) and (not args[i].startswith("-") or args[i] == "-"):
                val = args[i]
                i += 1
            else:
                val = "true"
        out.setdefault(name, []).append(val)
    return out


def _flag_name(flag: str) -> str:
    flag = flag.split("=", 1)[0]
    if not flag.startswith("--") and flag.startswith("-"):
        flag = _long(flag[:2])
    return flag.lstrip("-")


def daemon_flag_keys(flags: Mapping[str, object] | Iterable[str]) -> dict[str, str]:
    """``{flag: daemon.json key}`` for the given flags (``-D``/``--debug`` ->
    ``debug``, ``-H`` -> ``hosts``, ``--label`` -> ``labels``,
    ``--default-address-pool`` -> ``default-address-pools`` ...). Flags without
    a key (``--config-file``, ``--validate``) are left out. Keys of options
    nested in daemon.json are dotted (``proxies.http-proxy``).

    A key in the values must not be written to daemon.json: dockerd would
    refuse to start ("specified both as a flag and in the configuration file").
    """
    out: dict[str, str] = {}
    for flag in flags:
        name = _flag_name(flag)
        if len(name) < 2 or name in NO_KEY:  # "" or an unknown shorthand (not dockerd's)
            continue
        out[flag] = FLAG_KEYS.get(name, name)
    return out


# --------------------------------------------------------------------------- daemon.json


def read_regular(path: str, limit: int = 16 << 20) -> bytes:
    """A regular file's bytes (at most ``limit``). The path may come from another
    process's command line: a FIFO or device there must not block or flood a root
    dockscope, so it is opened non-blocking and refused unless it is a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit)
    finally:
        os.close(fd)


def read_daemon_config(path: str) -> tuple[dict | None, str | None]:
    """Parse daemon.json as dockerd does: ``(config, None)`` or ``(None, error)``.

    Accepts UTF-8 with or without BOM and UTF-16 (LE or BE) with BOM. An empty
    (or whitespace-only) file is ``{}``; so is a missing one (dockerd then uses its defaults; check
    ``DaemonProcess.config_file_exists``). Invalid JSON gives an error naming
    the line and column.
    """
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        return {}, None
    except OSError as e:
        return None, f"cannot read {path}: {e.strerror or e}"
    return parse_daemon_json(raw, path)


def parse_daemon_json(raw: bytes, path: str) -> tuple[dict | None, str | None]:
    """The bytes of daemon.json as dockerd decodes them: ``(config, None)`` or ``(None, error)``."""
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            text = raw[3:].decode("utf-8")
        elif raw.startswith(b"\xff\xfe"):
            text = raw[2:].decode("utf-16-le")
        elif raw.startswith(b"\xfe\xff"):
            text = raw[2:].decode("utf-16-be")
        else:
            text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        return None, (
            f"{path}: line {line} column {col}: not valid text "
            f"(daemon.json must be UTF-8, or UTF-16 with a BOM)"
        )
    if not text.strip():  # dockerd trims whitespace: an empty config is valid
        return {}, None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, f"{path}: line {e.lineno} column {e.colno}: {e.msg}"
    if not isinstance(data, dict):
        return None, f"{path}: line 1 column 1: the top level must be a JSON object"
    return data, None


# --------------------------------------------------------------------------- hosts


def _socket_of_host(host: str) -> str | None:
    """unix socket path a -H value listens on (``fd://`` = systemd socket
    activation of the stock docker.socket = /var/run/docker.sock)."""
    if host.startswith("fd://"):
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host[len("unix://") :] or DEFAULT_SOCKET
    return None


def _canon(path: str) -> str:
    try:
        return os.path.realpath(path)
    except OSError:
        return os.path.normpath(path)


def _tcp_addr(host: str) -> tuple[str, int] | None:
    if not host.startswith("tcp://"):
        return None
    hp = host[len("tcp://") :].split("/", 1)[0]
    h, _, p = hp.rpartition(":")
    try:
        return h.strip("[]"), int(p)
    except ValueError:
        return None


def _tcp_matches(engine: tuple[str, int], daemon: tuple[str, int]) -> bool:
    eh, ep = engine
    dh, dp = daemon
    if ep != dp:
        return False
    local = {"127.0.0.1", "localhost", "::1", ""}
    return dh == eh or dh in ("0.0.0.0", "::", "") or (dh in local and eh in local)


def _engine_host(engine_host: str | None) -> str:
    if engine_host:
        return engine_host
    try:
        from inspectors.api import resolve_target

        return resolve_target(None).host
    except Exception:  # a broken context file: fall back like the CLI would
        return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


# --------------------------------------------------------------------------- process facts


def _environ(pid: int) -> dict[str, str]:
    import psutil

    try:
        return dict(psutil.Process(pid).environ())
    except (psutil.Error, OSError):
        return {}


def _uid(pid: int) -> int | None:
    import psutil

    try:
        return psutil.Process(pid).uids().real
    except (psutil.Error, OSError):
        return None


def _home(uid: int) -> str | None:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        return None


class _Candidate:
    """One dockerd process and what its command line and config say."""

    def __init__(self, pid: int, cmdline: list[str]):
        self.pid = pid
        self.cmdline = cmdline
        self.flags = parse_flags(cmdline[1:])
        self.uid = _uid(pid)
        self._env: dict[str, str] | None = None
        self.rootless = (
            (self.uid not in (0, None))
            or "--rootless" in self.flags
            or bool(self.env.get("ROOTLESSKIT_STATE_DIR"))
        )
        self.config_file = self._config_file()
        self._config: dict | None = None
        self.config_error: str | None = None

    @property
    def env(self) -> dict[str, str]:
        if self._env is None:
            self._env = _environ(self.pid)
        return self._env

    def flag(self, name: str) -> str | None:
        v = self.flags.get(name)
        return v[-1] if v else None

    @property
    def config(self) -> dict:
        if self._config is None:
            data, err = read_daemon_config(self.config_file)
            self._config = data or {}
            self.config_error = err
        return self._config

    def _xdg(self, var: str, fallback: str) -> str | None:
        if self.env.get(var):
            return self.env[var]
        home = self.env.get("HOME") or (_home(self.uid) if self.uid is not None else None)
        return os.path.join(home, fallback) if home else None

    def _runtime_dir(self) -> str:
        return self.env.get("XDG_RUNTIME_DIR") or f"/run/user/{self.uid}"

    def _config_file(self) -> str:
        f = self.flag("--config-file")
        if f:
            return f
        if self.rootless:
            base = self._xdg("XDG_CONFIG_HOME", ".config")
            if base:
                return os.path.join(base, "docker", "daemon.json")
        return DEFAULT_CONFIG

    def hosts(self) -> tuple[list[str], str]:
        if self.flags.get("--host"):
            return list(self.flags["--host"]), SOURCE_FLAG
        ch = self.config.get("hosts")
        if isinstance(ch, str):
            ch = [ch]
        if isinstance(ch, list) and ch:
            return [str(h) for h in ch], SOURCE_CONFIG
        if self.rootless:
            return [f"unix://{self._runtime_dir()}/docker.sock"], SOURCE_DEFAULT
        return [DEFAULT_HOST], SOURCE_DEFAULT

    def sockets(self) -> list[str]:
        return [s for s in (_socket_of_host(h) for h in self.hosts()[0]) if s]

    def setting(self, flag: str, key: str, rootless_default, default):
        v = self.flag(flag) or self.config.get(key)
        if v:
            return str(v)
        if self.rootless and rootless_default:
            return rootless_default
        return default

    def exec_root(self) -> str:
        return self.setting(
            "--exec-root", "exec-root", f"{self._runtime_dir()}/docker", DEFAULT_EXEC_ROOT
        )

    def data_root(self) -> str:
        v = (
            self.flag("--data-root")
            or self.flag("--graph")
            or self.config.get("data-root")
            or self.config.get("graph")
        )
        if v:
            return str(v)
        if self.rootless:
            base = self._xdg("XDG_DATA_HOME", ".local/share")
            if base:
                return os.path.join(base, "docker")
        return DEFAULT_DATA_ROOT

    def pidfile(self) -> str:
        return self.setting(
            "--pidfile", "pidfile", f"{self._runtime_dir()}/docker.pid", DEFAULT_PIDFILE
        )


def _dockerd_processes() -> list[_Candidate]:
    """dockerd processes, from the one process walk the listener owners share
    (:func:`inspectors.sockets.process_table`, psutil); the command line only
    for the matches."""
    import psutil

    from inspectors.sockets import process_table

    out = []
    for pid, p in process_table().items():
        name = (p.info or {}).get("name")
        if name not in DOCKERD_NAMES:
            continue
        try:
            cmd = p.cmdline()
        except (psutil.Error, OSError):  # gone, or hidden from us
            continue
        out.append(_Candidate(pid, cmd or [name]))
    out.sort(key=lambda c: c.pid)
    return out


def pid_with_unix_socket(path: str, pids: Iterable[int]) -> int | None:
    """The first of ``pids`` that holds the unix socket ``path`` open
    (psutil ``net_connections("unix")``; root needed for other users' fds)."""
    import psutil

    want = {path, _canon(path)}
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="unix")
        except (psutil.Error, OSError):
            continue
        if any(c.laddr in want for c in conns):
            return pid
    return None


def _read_pidfile(path: str) -> int | None:
    try:
        with open(path) as fh:
            return int(fh.read().strip() or "0") or None
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- logs


def systemd_unit(pid: int) -> tuple[str | None, bool]:
    """``(unit, is_user_unit)`` from ``/proc/<pid>/cgroup``: the last
    ``*.service`` in the systemd (v1 ``name=systemd`` or v2) cgroup path."""
    # by hand: psutil has no cgroup API
    try:
        with open(f"/proc/{pid}/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None, False
    paths = []
    for ln in lines:
        parts = ln.split(":", 2)
        if len(parts) == 3 and (parts[1] == "name=systemd" or parts[0] == "0"):
            paths.append(parts[2])
    for path in paths:
        comps = [c for c in path.split("/") if c]
        services = [c for c in comps if c.endswith(".service")]
        if not services:
            continue
        unit = services[-1]
        user = any(
            c.startswith("user@") and c.endswith(".service") for c in comps[:-1]
        ) and not unit.startswith("user@")
        if unit.startswith("user@"):
            continue
        return unit, user
    return None, False


def _fd_target(pid: int, fd: int) -> tuple[str | None, str | None]:
    """``(kind, target)`` with kind file|socket|pipe|null|tty|other, or
    ``(None, "permission")`` / ``(None, None)``."""
    # by hand: psutil's open_files() lists regular files only, not where a
    # pipe, socket or tty on stdout/stderr leads
    p = f"/proc/{pid}/fd/{fd}"
    try:
        link = os.readlink(p)
    except PermissionError:
        return None, "permission"
    except OSError:
        return None, None
    if link.startswith("socket:"):
        return "socket", link
    if link.startswith("pipe:"):
        return "pipe", link
    if link == "/dev/null":
        return "null", link
    if link.startswith(("/dev/pts/", "/dev/tty", "/dev/console")):
        return "tty", link
    try:
        if stat.S_ISREG(os.stat(p).st_mode):
            return "file", link
    except OSError:
        pass
    return "other", link


def log_source(pid: int) -> tuple[str | None, str | None]:
    """Where dockerd ``pid`` writes its log: ``("file:<path>" |
    "journald:<unit>" | "journald-user:<unit>" | None, note)``."""
    notes = []
    targets = [_fd_target(pid, 2), _fd_target(pid, 1)]  # logrus writes to stderr
    for kind, t in targets:
        if kind == "file":
            path = t[: -len(" (deleted)")] if t.endswith(" (deleted)") else t
            if path != t:
                notes.append(f"dockerd's log file {path} was deleted while open")
            return f"file:{path}", "; ".join(notes) or None
    unit, user = systemd_unit(pid)
    kinds = {k for k, _ in targets}
    denied = any(t == "permission" for _, t in targets)
    if unit and (kinds & {"socket", "pipe"} or denied):
        note = None
        if denied:
            note = f"not root: assumed journald from the cgroup ({unit})"
        return (f"journald-user:{unit}" if user else f"journald:{unit}"), note
    if denied:
        notes.append("not root: cannot see where dockerd's output goes")
    elif "null" in kinds and kinds <= {"null"}:
        notes.append("dockerd's output goes to /dev/null")
    elif "tty" in kinds:
        notes.append(f"dockerd writes to a terminal ({next(t for k, t in targets if k == 'tty')})")
    elif kinds & {"socket", "pipe"}:
        notes.append(
            "dockerd's output goes to a pipe or socket, not a systemd service "
            "(a supervisor or a logger reads it)"
        )
    for f in KNOWN_LOG_FILES:
        if os.path.isfile(f):
            notes.append(f"guessed from the known location {f}")
            return f"file:{f}", "; ".join(notes)
    if not notes:
        notes.append("dockerd's log location is unknown")
    return None, "; ".join(notes)


# --------------------------------------------------------------------------- find


def _matches(c: _Candidate, sock: str | None, tcp: tuple[str, int] | None) -> bool:
    hosts, _ = c.hosts()
    if sock:
        want = _canon(sock)
        return any(_canon(s) == want for s in (_socket_of_host(h) for h in hosts) if s)
    if tcp:
        return any(t and _tcp_matches(tcp, t) for t in (_tcp_addr(h) for h in hosts))
    return False


def find_daemon(engine_host: str | None = None) -> DaemonProcess:
    """The dockerd serving ``engine_host`` (``unix:///path``, ``tcp://127.0.0.1:N``;
    None = ``DOCKER_HOST`` / current context / ``unix:///var/run/docker.sock``).

    Matching, in order: the socket in each dockerd's ``-H/--host`` flags
    (``fd://`` = /var/run/docker.sock; no ``-H`` = daemon.json ``hosts`` or the
    default socket); else the pidfile next to the socket (or
    /var/run/docker.pid for the default socket); else the dockerd that holds
    the socket open. Never raises; what is unknown is said in ``note``.
    """
    return _find(engine_host)


def _find(engine_host: str | None) -> DaemonProcess:
    host = _engine_host(engine_host)
    sock = _socket_of_host(host) if host.startswith("unix://") else None
    tcp = _tcp_addr(host)
    if not sock and not (tcp and _tcp_matches(tcp, ("127.0.0.1", tcp[1]))):
        return DaemonProcess(
            note=f"the engine {host} is not on this host: no local dockerd to inspect"
        )
    notes: list[str] = []
    try:
        cands = _dockerd_processes()
    except Exception as e:  # psutil refused: very restricted /proc
        return DaemonProcess(socket=sock, note=f"cannot list processes: {e}")

    chosen: _Candidate | None = None
    matched_by: str | None = None
    matches = [c for c in cands if _matches(c, sock, tcp)]
    if len(matches) > 1 and sock:
        holder = pid_with_unix_socket(sock, [c.pid for c in matches])
        if holder:
            matches = [c for c in matches if c.pid == holder]
        else:
            notes.append(
                "several dockerd processes claim this socket: "
                + ", ".join(str(c.pid) for c in matches)
                + "; took the first"
            )
    if matches:
        chosen = matches[0]
        matched_by = {
            SOURCE_FLAG: "host-flag",
            SOURCE_CONFIG: "config-hosts",
            SOURCE_DEFAULT: "default-socket",
        }[chosen.hosts()[1]]
    elif sock:
        pidfiles = [os.path.join(os.path.dirname(sock), "docker.pid")]
        if _canon(sock) == _canon(DEFAULT_SOCKET):
            pidfiles.append(DEFAULT_PIDFILE)
        by_pid = {c.pid: c for c in cands}
        for pf in pidfiles:
            pid = _read_pidfile(pf)
            if pid in by_pid:
                chosen, matched_by = by_pid[pid], "pidfile"
                break
        if chosen is None:
            holder = pid_with_unix_socket(sock, [c.pid for c in cands])
            if holder:
                chosen, matched_by = by_pid[holder], "open-socket"

    if chosen is None:
        if not cands:
            why = (
                "no dockerd process is visible on this host (it runs in a VM, another "
                "pid namespace, or is stopped)"
            )
        else:
            why = (
                f"none of the {len(cands)} dockerd process(es) ("
                + ", ".join(str(c.pid) for c in cands)
                + f") serves {host}"
            )
            if os.geteuid() != 0:
                why += "; not root: their open sockets cannot be checked"
        return DaemonProcess(socket=sock, note=why, others=[c.pid for c in cands])

    c = chosen
    hosts, _ = c.hosts()
    c.config  # noqa: B018 - loads config and config_error
    if c.config_error:
        notes.append(f"daemon.json: {c.config_error}")
    if c.flag("--config-file") and not os.path.isfile(c.config_file):
        notes.append(
            f"dockerd was started with --config-file {c.config_file}, which does "
            "not exist now (it will not start again like this)"
        )
    socks = c.sockets()
    d = DaemonProcess(
        pid=c.pid,
        cmdline=c.cmdline,
        flags=c.flags,
        config_file=c.config_file,
        config_file_exists=os.path.isfile(c.config_file),
        exec_root=c.exec_root(),
        data_root=c.data_root(),
        socket=sock or (socks[0] if socks else None),
        hosts=hosts,
        pidfile=c.pidfile(),
        rootless=c.rootless,
        matched_by=matched_by,
        others=[o.pid for o in cands if o.pid != c.pid],
    )
    src, lnote = log_source(c.pid)
    d.log_source = src
    if lnote:
        notes.append(lnote)
    if os.geteuid() != 0 and not any("not root" in n for n in notes):
        notes.append("not root: dockerd's open files are not readable")
    d.note = "; ".join(notes) or None
    return d
