"""The one engine object: which engine, and the one docker client for it.

:func:`resolve_target` picks the engine exactly as the docker CLI does:
``--host`` > ``--context`` > ``DOCKER_HOST`` > ``DOCKER_CONTEXT`` >
``currentContext`` in ``$DOCKER_CONFIG/config.json`` > ``unix:///var/run/docker.sock``.
TLS comes from the context's TLS directory, or (for a host given by ``--host`` or
``DOCKER_HOST``) from ``DOCKER_TLS_VERIFY``/``DOCKER_TLS`` + ``DOCKER_CERT_PATH``.

:func:`open_engine` returns an :class:`EngineAPI`: the ONE ``docker.DockerClient``
(``.client``) plus the read calls the inspectors use, all on the SDK's public API.
Every failure is mapped once, here (:meth:`EngineAPI.errors`), into an
:class:`EngineError` with a ``kind`` and one line saying what and how to fix it.

Transports: ``unix://``, ``tcp://`` (TLS or not), and ``ssh://``: the system
``ssh`` runs ``docker system dial-stdio`` on the remote host, exactly what
``docker -H ssh://`` does, so ``~/.ssh/config``, the agent, ProxyJump and
known_hosts behave as they do for the CLI. The SDK's own ssh transport is not
used: it needs paramiko importable, which the SDK then imports on EVERY
``import docker`` (measured here: +70 ms idle, +0.7 s on a loaded host, for every
command, ssh or not); its shell-out mode ignores timeouts (a hung remote engine
blocks forever) and writes ssh's stderr onto the console. Instead
:class:`_SSHBridge` (hand-written: no library bridges a unix socket to a
subprocess) gives the SDK a private unix socket and connects each connection to
its own ``ssh ... docker system dial-stdio``, so the SDK speaks plain ``unix://``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from inspectors.text import clean

DEFAULT_HOST = "unix:///var/run/docker.sock"
MAX_API = "1.52"  # newest API shape we know how to read
MIN_API = "1.41"  # Docker 20.10
SCHEMES = ("unix", "tcp", "ssh", "http", "https")
KINDS = ("unreachable", "permission", "api", "notfound", "tls", "ssh", "badhost")


class EngineError(Exception):
    """The engine cannot be used. ``kind`` is one of :data:`KINDS`; ``str()`` is one line."""

    def __init__(self, message: str, kind: str = "api", status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass
class TLSFiles:
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    verify: bool = True
    where: str = ""  # the directory they came from (for error lines)


@dataclass
class Target:
    host: str
    context: str | None = None
    tls: TLSFiles | None = None
    source: str = (
        "default"  # --host | --context | DOCKER_HOST | DOCKER_CONTEXT | config.json | default
    )
    ssh_opts: dict = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return self.host.split("://", 1)[0].lower() if "://" in self.host else ""

    @property
    def is_unix(self) -> bool:
        return self.scheme == "unix"

    @property
    def is_ssh(self) -> bool:
        return self.scheme == "ssh"

    @property
    def socket_path(self) -> str | None:
        return self.host[len("unix://") :] if self.is_unix else None

    @property
    def is_local(self) -> bool:
        """Kernel data on this machine describes this engine."""
        if self.is_unix:
            return True
        try:
            h = urlsplit(self.host).hostname or ""
        except ValueError:
            return False
        return self.scheme in ("tcp", "http", "https") and (
            h.startswith("127.") or h in ("localhost", "::1")
        )


# --------------------------------------------------------------------------- resolution


def _docker_config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _context_dirs(name: str) -> tuple[str, str]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    base = os.path.join(_docker_config_dir(), "contexts")
    return (
        os.path.join(base, "meta", digest, "meta.json"),
        os.path.join(base, "tls", digest, "docker"),
    )


def _tls_files(d: str, verify: bool) -> TLSFiles:
    def f(name):
        p = os.path.join(d, name)
        return p if os.path.exists(p) else None

    return TLSFiles(ca=f("ca.pem"), cert=f("cert.pem"), key=f("key.pem"), verify=verify, where=d)


def _context_target(name: str, source: str) -> Target:
    meta, tlsdir = _context_dirs(name)
    try:
        with open(meta) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise EngineError(
            f"docker context {clean(name)!r} not found (no {meta}; `docker context ls`)",
            "notfound",
        ) from None
    except (OSError, ValueError) as e:
        raise EngineError(f"docker context {clean(name)!r} unreadable: {clean(e)}", "badhost")
    ep = (data.get("Endpoints") or {}).get("docker") or {}
    host = ep.get("Host") or DEFAULT_HOST
    tls = None
    if os.path.isdir(tlsdir):
        tls = _tls_files(tlsdir, verify=not ep.get("SkipTLSVerify"))
    elif ep.get("SkipTLSVerify") is not None and host.startswith("tcp://"):
        tls = TLSFiles(verify=not ep.get("SkipTLSVerify"), where=tlsdir)
        if tls.verify:
            tls = None  # no TLS material: plain tcp like the CLI
    return Target(host=host, context=name, tls=tls, source=source)


def _env_tls() -> TLSFiles | None:
    """DOCKER_TLS_VERIFY (any non-empty value) or DOCKER_TLS, certs from DOCKER_CERT_PATH."""
    verify = bool(os.environ.get("DOCKER_TLS_VERIFY"))
    if not verify and not os.environ.get("DOCKER_TLS"):
        return None
    return _tls_files(os.environ.get("DOCKER_CERT_PATH") or _docker_config_dir(), verify)


_selected: Target | None = None


def select_target(target: Target | None) -> None:
    """The front's choice (``dockscope -H/--context``), made once per process: later
    ``resolve_target()`` calls without flags, or with the selected host, return it
    (with its TLS), like the docker CLI's global flags."""
    global _selected
    _selected = target


def resolve_target(host: str | None = None, context: str | None = None) -> Target:
    """The engine the docker CLI would use with these flags and this environment."""
    sel = _selected
    if sel is not None and not context and (not host or host == sel.host):
        return sel
    if host:
        return _check_host(Target(host=host, tls=_env_tls(), source="--host"))
    if context:
        if context == "default":
            return _default_target("--context")
        return _check_host(_context_target(context, "--context"))
    if os.environ.get("DOCKER_HOST"):
        return _check_host(
            Target(host=os.environ["DOCKER_HOST"], tls=_env_tls(), source="DOCKER_HOST")
        )
    ctx, source = os.environ.get("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
    if not ctx:
        try:
            with open(os.path.join(_docker_config_dir(), "config.json")) as fh:
                ctx, source = json.load(fh).get("currentContext"), "config.json"
        except (OSError, ValueError, AttributeError):
            ctx = None
    if ctx and ctx != "default":
        return _check_host(_context_target(ctx, source))
    return _default_target(source if ctx else "default")


def _default_target(source: str) -> Target:
    return Target(host=DEFAULT_HOST, context="default", tls=_env_tls(), source=source)


def _check_host(t: Target) -> Target:
    """A bad address is one line (exit 2), never a traceback from deep in the SDK."""
    where = f" (from {t.source})" if t.source != "--host" else ""

    def bad(why: str) -> EngineError:
        return EngineError(
            f"bad engine address {clean(t.host)!r}{where}: {why} "
            "(expected unix:///path, tcp://host:port or ssh://[user@]host)",
            "badhost",
        )

    if t.scheme not in SCHEMES:
        raise bad("unknown scheme" if "://" in t.host else "no scheme")
    try:
        u = urlsplit(t.host)
        u.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise bad(clean(e)) from None
    if t.is_unix and not t.socket_path:
        raise bad("no socket path")
    if not t.is_unix and not u.hostname:
        raise bad("no host name")
    return t


# --------------------------------------------------------------------------- versions


def _vtuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in v.split("."))
    except (ValueError, AttributeError):
        return (0,)


def api_at_least(api_version: str | None, want: str) -> bool:
    return bool(api_version) and _vtuple(api_version) >= _vtuple(want)


# --------------------------------------------------------------------------- errors


def _causes(e: BaseException) -> Iterator[BaseException]:
    """``e`` and every exception under requests' and urllib3's wrappers."""
    seen: set[int] = set()
    todo: list = [e]
    while todo:
        x = todo.pop(0)
        if x is None or id(x) in seen or not isinstance(x, BaseException):
            continue
        seen.add(id(x))
        yield x
        todo.extend(a for a in getattr(x, "args", ()) if isinstance(a, BaseException))
        todo.extend([getattr(x, "reason", None), x.__cause__, x.__context__])


def _root_oserror(e: BaseException) -> OSError | None:
    return next((x for x in _causes(e) if isinstance(x, OSError) and x.errno is not None), None)


def _first_line(e: BaseException | str) -> str:
    s = str(e).strip() or (type(e).__name__ if isinstance(e, BaseException) else "")
    return clean(s.splitlines()[0] if s else s, limit=300)


def map_error(e: BaseException, target: Target, timeout: float | None = None) -> EngineError:
    """One :class:`EngineError` for whatever docker/requests/urllib3/OS raised."""
    import docker.errors
    import requests.exceptions

    if isinstance(e, EngineError):
        return e
    host = clean(target.host)
    if isinstance(e, docker.errors.NotFound):
        return EngineError(_first_line(e.explanation or e), "notfound", 404)
    if isinstance(e, docker.errors.APIError):
        status = e.status_code
        return EngineError(_first_line(e.explanation or e), "api", status)
    if isinstance(e, docker.errors.TLSParameterError):
        return EngineError(f"TLS setup for {host} failed: {_first_line(e)}", "tls")
    if isinstance(e, requests.exceptions.SSLError) or _is_ssl(e):
        return EngineError(
            f"TLS with {host} failed: {_ssl_reason(e)} (check the CA and client certificate in "
            f"{clean(target.tls.where) if target.tls else 'DOCKER_CERT_PATH'})",
            "tls",
        )
    if isinstance(e, requests.exceptions.Timeout) or isinstance(e, TimeoutError):
        t = f"{timeout:g}s" if timeout else "the timeout"
        return EngineError(
            f"engine at {host} not answering within {t} (dockerd hung or overloaded?)",
            "unreachable",
        )
    if isinstance(
        e, requests.exceptions.InvalidURL | ValueError | requests.exceptions.InvalidSchema
    ):
        return EngineError(f"bad engine address {host!r}: {_first_line(e)}", "badhost")
    os_err = _root_oserror(e)
    if target.is_ssh and not (os_err and os_err.errno == errno.EACCES):
        return EngineError(
            f"ssh to {host} failed: {_first_line(e)} "
            f"(check `ssh {clean(_ssh_dest(target))} docker version`)",
            "ssh",
        )
    if os_err is not None:
        where = clean(target.socket_path) if target.is_unix else host
        if os_err.errno == errno.ENOENT:
            return EngineError(
                f"cannot connect to the Docker engine: {where} does not exist "
                "(is dockerd running? `sudo systemctl start docker`, or set DOCKER_HOST / --host)",
                "unreachable",
            )
        if os_err.errno in (errno.EACCES, errno.EPERM):
            return EngineError(
                f"permission denied on {where}: run as root (sudo) or join the `docker` group "
                "(`sudo usermod -aG docker $USER`, then log in again)",
                "permission",
            )
        if os_err.errno == errno.ECONNREFUSED:
            return EngineError(
                f"cannot connect to the Docker engine at {where}: connection refused "
                "(dockerd not running? `sudo systemctl start docker`)",
                "unreachable",
            )
        if os_err.errno in (errno.ETIMEDOUT,):
            return EngineError(
                f"engine at {host} not answering (connection timed out)", "unreachable"
            )
    if isinstance(e, docker.errors.DockerException):
        s = str(e)
        if "bind address" in s or "Invalid" in s:
            return EngineError(f"bad engine address {host!r}: {_first_line(e)}", "badhost")
    return EngineError(
        f"cannot connect to the Docker engine at {host}: {_first_line(e)}", "unreachable"
    )


def _is_ssl(e: BaseException) -> bool:
    import ssl

    return any(isinstance(x, ssl.SSLError) for x in _causes(e))


def _ssl_reason(e: BaseException) -> str:
    s = str(e)
    i = s.find("certificate verify failed")
    if i >= 0:  # "...certificate verify failed: unable to get local issuer certificate (_ssl.c"
        return clean(s[i:].split(" (_ssl")[0].split("'")[0].split('"')[0].rstrip(")"))
    if "ALERT" in s or "alert" in s:
        return "the engine refused our client certificate (" + _first_line(e)[-120:] + ")"
    return _first_line(e)


# --------------------------------------------------------------------------- ssh


def _ssh_dest(t: Target) -> str:
    u = urlsplit(t.host)
    dest = u.hostname or ""
    if u.username:
        dest = f"{u.username}@{dest}"
    return dest


def _ssh_error(err: EngineError, bridge) -> EngineError:
    """For ssh://, ssh's own last line (auth, host key, no docker on the remote) is the
    only useful reason; a broken connection says nothing."""
    if bridge is None or err.kind != "ssh":
        return err
    why = bridge.why()
    if not why:
        return err
    dest = clean(_ssh_dest(bridge.target))
    return EngineError(
        f"ssh to {dest} failed: {clean(why)} (check `ssh {dest} docker version`; "
        "key or agent auth is needed)",
        "ssh",
    )


def _ssh_argv(t: Target, timeout: float) -> list[str]:
    u = urlsplit(t.host)
    argv = ["ssh", "-T", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(timeout))}"]
    if u.username:
        argv += ["-l", u.username]
    if u.port:
        argv += ["-p", str(u.port)]
    return argv + ["--", u.hostname or "", "docker system dial-stdio"]


class _SSHBridge:
    """A private unix socket (in a 0700 directory) whose every connection is handed, as
    stdin/stdout, to its own ``ssh HOST docker system dial-stdio`` (what the docker
    CLI runs). ssh's stderr is kept (the last line names the failure), never printed."""

    def __init__(self, target: Target, timeout: float):
        import socket
        import tempfile

        self.target = target
        self.argv = _ssh_argv(target, timeout)
        self.dir = tempfile.mkdtemp(prefix="dockscope-ssh-")
        self.path = os.path.join(self.dir, "engine.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.procs: list[subprocess.Popen] = []
        self.drains: list[threading.Thread] = []
        self.last_error = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, name="dockscope-ssh", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            try:
                p = subprocess.Popen(
                    self.argv,
                    stdin=conn.fileno(),
                    stdout=conn.fileno(),
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # no terminal: ssh can never prompt on it
                )
            except OSError as e:
                self.last_error = str(e)
                conn.close()
                continue
            conn.close()  # ssh holds it now
            t = threading.Thread(target=self._drain, args=(p,), daemon=True)
            with self._lock:
                self.procs = [x for x in self.procs if x.poll() is None] + [p]
                self.drains = [x for x in self.drains if x.is_alive()] + [t]
            t.start()

    def _drain(self, p: subprocess.Popen) -> None:
        err = p.stderr.read().decode(errors="replace")
        p.wait()
        lines = [ln for ln in err.splitlines() if ln.strip() and "Warning:" not in ln]
        if p.returncode and lines:
            self.last_error = lines[-1]

    def why(self, wait: float = 3.0) -> str:
        """ssh's last error line, once the ssh that failed has exited."""
        with self._lock:
            drains = list(self.drains)
        deadline = time.monotonic() + wait
        for t in drains:
            t.join(max(0.0, deadline - time.monotonic()))
        return self.last_error

    def close(self) -> None:
        import shutil as _shutil

        with contextlib.suppress(OSError):
            self.sock.close()
        with self._lock:
            procs, self.procs = self.procs, []
        for p in procs:
            with contextlib.suppress(OSError):
                p.terminate()
        _shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- the engine


class EngineAPI:
    """The ONE docker client (``.client``, a ``docker.DockerClient``) and the read calls
    the inspectors use, returning the engine's JSON dicts. Shared by every thread:
    requests' connection pool is thread-safe for these calls."""

    def __init__(
        self, target: Target, client, api_version: str, version_info: dict, timeout, bridge=None
    ):
        self.target = target
        self._bridge = bridge  # ssh:// only
        self.client = client
        self.api_version = api_version
        self.server_version_info = version_info
        self.timeout = timeout
        self._hb = None  # (timeout, client) for heartbeat()
        self._hb_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<EngineAPI {self.target.host} API {self.api_version}>"

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Map docker/requests/OS exceptions raised inside to one :class:`EngineError`."""
        try:
            yield
        except EngineError:
            raise
        except Exception as e:
            raise _ssh_error(map_error(e, self.target, self.timeout), self._bridge) from e

    # reads (the engine's JSON, as the inspectors expect it)
    def version(self) -> dict:
        with self.errors():
            return self.client.api.version(api_version=False)

    def ping(self) -> bool:
        with self.errors():
            return bool(self.client.api.ping())

    def heartbeat(self, timeout: float = 3.0) -> None:
        """Ping with a short timeout (a hung dockerd, e.g. SIGSTOPped, keeps its socket
        open and answers nothing). Uses a second small client of this object with that
        timeout, so the main client's long reads are not cut short."""
        with self._hb_lock:
            if self._hb is None or self._hb[0] != timeout:
                if self._hb is not None:
                    self._hb[1].close()
                hb = _make_client(self.target, self.api_version, timeout, self._bridge)
                self._hb = (timeout, hb)
            client = self._hb[1]
        try:
            client.api.ping()
        except Exception as e:
            raise map_error(e, self.target, timeout) from e

    def info(self) -> dict:
        with self.errors():
            return self.client.api.info()

    def networks(self) -> list[dict]:
        with self.errors():
            return self.client.api.networks()

    def network(self, net_id: str, verbose: bool = False) -> dict:
        with self.errors():
            return self.client.api.inspect_network(net_id, verbose=True if verbose else None)

    def containers(self, all: bool = True, filters: dict | None = None) -> list[dict]:
        with self.errors():
            return self.client.api.containers(all=all, filters=filters)

    def container(self, cid: str) -> dict:
        with self.errors():
            return self.client.api.inspect_container(cid)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        hb, self._hb = self._hb, None
        if hb is not None:
            with contextlib.suppress(Exception):
                hb[1].close()
        if self._bridge is not None:
            self._bridge.close()

    def __enter__(self) -> EngineAPI:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_ONE_POOL_CLASS = None


def _one_pool_adapter(socket_path: str, timeout: float, size: int):
    """The docker SDK's unix-socket adapter with one connection pool for the socket.
    The SDK keys its pools by request URL (docker/transport/unixconn.py), so every
    container inspect is a new URL: a new pool and a new connection to dockerd, and
    urllib3 closes the least recently used of its 25 pools (one connect and close per
    inspect). All requests of a client go to one socket: one pool serves them, its
    connections kept alive (bench/inspect_pool: 300 inspects, CPU and wall before and
    after). A subclass, not a transport of our own: the SDK still makes every
    connection; only the pool's key changes."""
    global _ONE_POOL_CLASS
    if _ONE_POOL_CLASS is None:
        from docker.transport import UnixHTTPAdapter

        class OnePoolUnixAdapter(UnixHTTPAdapter):
            def get_connection(self, url, proxies=None):
                return super().get_connection("http+docker://localhost", proxies)

        _ONE_POOL_CLASS = OnePoolUnixAdapter
    return _ONE_POOL_CLASS("http+unix://" + socket_path, timeout, max_pool_size=size)


def _make_client(target: Target, version: str, timeout: float, bridge=None):
    import docker

    # one client for every thread: the model's 8 inspect threads, the console's 32
    # workers (the event stream, log streams, forms) each hold a connection while they
    # call; above the pool size urllib3 would open extra ones and log "pool is full"
    # onto the console's stderr. The size bounds the idle connections kept, never the
    # calls. On a unix socket (and the ssh bridge's) every request goes through the
    # one pool of _one_pool_adapter.
    kw: dict = {"base_url": target.host, "version": version, "timeout": timeout}
    kw["max_pool_size"] = 64
    if bridge is not None:
        kw["base_url"] = f"unix://{bridge.path}"  # ssh:// through _SSHBridge
    elif target.tls is not None and target.scheme in ("tcp", "https"):
        t = target.tls
        if t.verify and not t.ca:
            raise EngineError(
                f"TLS verification for {clean(target.host)} needs ca.pem in {clean(t.where)}",
                "tls",
            )
        kw["tls"] = docker.tls.TLSConfig(
            client_cert=(t.cert, t.key) if t.cert and t.key else None,
            ca_cert=t.ca if t.verify else None,
            verify=bool(t.verify),
        )
    client = docker.DockerClient(**kw)
    s = client.api  # a requests.Session
    sock = bridge.path if bridge is not None else target.socket_path
    if sock is not None:
        s.mount("http+docker://", _one_pool_adapter(sock, timeout, kw["max_pool_size"]))
    # docker-py #2433: with trust_env, requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
    # replace the engine's CA. Turn the environment lookup off and keep only what the
    # docker CLI does take from it (HTTP(S)_PROXY/NO_PROXY for tcp engines).
    s.trust_env = False
    if target.scheme in ("tcp", "http", "https"):
        import requests.utils

        url = target.host.replace("tcp://", "https://" if target.tls else "http://", 1)
        s.proxies = requests.utils.get_environ_proxies(url)
    return client


def open_engine(
    host: str | None = None,
    context: str | None = None,
    timeout: float = 10.0,
    target: Target | None = None,
) -> EngineAPI:
    """Connect to the engine in use, negotiating the API version (capped at
    :data:`MAX_API`, refused below :data:`MIN_API`). Raises :class:`EngineError`."""
    target = target or resolve_target(host, context)
    bridge = None
    if target.is_ssh:
        if not shutil.which("ssh"):
            raise EngineError(
                "ssh:// needs the `ssh` client (apt-get install openssh-client)", "ssh"
            )
        bridge = _SSHBridge(target, timeout)
    client = None
    try:
        client = _make_client(target, MIN_API, timeout, bridge)
        info = client.api.version(api_version=False)
        server = str(info.get("ApiVersion") or "")
        if not api_at_least(server, MIN_API):
            raise EngineError(
                f"engine API {clean(server) or '?'} at {clean(target.host)} is too old: "
                f"dockscope needs API {MIN_API} or newer (Docker 20.10+)",
                "api",
            )
        want = server if _vtuple(server) <= _vtuple(MAX_API) else MAX_API
        if want != MIN_API:
            client.close()
            client = None
            client = _make_client(target, want, timeout, bridge)
        return EngineAPI(target, client, want, info, timeout, bridge)
    except Exception as e:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if bridge is not None:
            bridge.close()
        if isinstance(e, EngineError):
            raise
        raise _ssh_error(map_error(e, target, timeout), bridge) from e
