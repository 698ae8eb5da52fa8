"""Which engine, and a light read-only client for it.

Host resolution follows the docker CLI: ``--host`` > ``DOCKER_HOST`` >
``--context``/``DOCKER_CONTEXT`` > ``currentContext`` in ~/.docker/config.json >
``unix:///var/run/docker.sock``.

Reads on a local unix socket go through :class:`UnixAPI`, a few lines on top of
``http.client`` (the docker SDK plus requests cost ~0.25 s to import, which a
short CLI command should not pay). Every other transport (tcp/TLS, ssh) goes
through the docker SDK's low-level client. Both negotiate the API version.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlencode

DEFAULT_HOST = "unix:///var/run/docker.sock"
MAX_API = "1.52"  # newest API shape we know how to read
MIN_API = "1.41"  # Docker 20.10


class EngineError(Exception):
    """The engine cannot be used; ``kind`` is unreachable|permission|api|notfound."""

    def __init__(self, message: str, kind: str = "api", status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass
class Target:
    host: str
    context: str | None = None
    tls: dict | None = None  # from a context's TLS material, when present

    @property
    def is_unix(self) -> bool:
        return self.host.startswith("unix://")

    @property
    def socket_path(self) -> str | None:
        return self.host[len("unix://") :] if self.is_unix else None

    @property
    def is_local(self) -> bool:
        """Kernel data on this machine describes this engine."""
        if self.is_unix:
            return True
        h = self.host
        return h.startswith(("tcp://127.", "tcp://localhost", "tcp://[::1]"))


def _docker_config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _context_endpoint(name: str) -> Target:
    meta = os.path.join(
        _docker_config_dir(),
        "contexts",
        "meta",
        hashlib.sha256(name.encode()).hexdigest(),
        "meta.json",
    )
    try:
        with open(meta) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise EngineError(f"docker context {name!r} not found ({meta})", "notfound")
    except (OSError, ValueError) as e:
        raise EngineError(f"docker context {name!r} unreadable: {e}", "api")
    host = (data.get("Endpoints", {}).get("docker", {}) or {}).get("Host") or DEFAULT_HOST
    tlsdir = os.path.join(
        _docker_config_dir(), "contexts", "tls", hashlib.sha256(name.encode()).hexdigest(), "docker"
    )
    tls = None
    if os.path.isdir(tlsdir):
        tls = {
            k: os.path.join(tlsdir, f)
            for k, f in (("ca", "ca.pem"), ("cert", "cert.pem"), ("key", "key.pem"))
            if os.path.exists(os.path.join(tlsdir, f))
        }
    return Target(host=host, context=name, tls=tls)


def resolve_target(host: str | None = None, context: str | None = None) -> Target:
    if host:
        return Target(host=host)
    if os.environ.get("DOCKER_HOST"):
        return Target(host=os.environ["DOCKER_HOST"])
    ctx = context or os.environ.get("DOCKER_CONTEXT")
    if not ctx:
        try:
            with open(os.path.join(_docker_config_dir(), "config.json")) as f:
                ctx = json.load(f).get("currentContext")
        except (OSError, ValueError):
            ctx = None
    if ctx and ctx != "default":
        return _context_endpoint(ctx)
    return Target(host=DEFAULT_HOST, context="default" if ctx else None)


def _vtuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in v.split("."))
    except ValueError:
        return (0,)


def api_at_least(api_version: str | None, want: str) -> bool:
    return bool(api_version) and _vtuple(api_version) >= _vtuple(want)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except FileNotFoundError:
            s.close()
            raise EngineError(
                f"cannot connect to the Docker engine: {self._path} does not exist "
                "(is dockerd running? `sudo systemctl start docker`, or set DOCKER_HOST)",
                "unreachable",
            )
        except PermissionError:
            s.close()
            raise EngineError(
                f"permission denied on {self._path}: run as root (sudo) or join the "
                "`docker` group (`sudo usermod -aG docker $USER`, then log in again)",
                "permission",
            )
        except ConnectionRefusedError:
            s.close()
            raise EngineError(
                f"cannot connect to the Docker engine: {self._path} refuses connections "
                "(dockerd not running? `sudo systemctl start docker`)",
                "unreachable",
            )
        self.sock = s


class BaseAPI:
    """The read calls dockscope's inspectors use."""

    api_version: str = MIN_API
    target: Target

    def get(self, path: str, **params):  # pragma: no cover - interface
        raise NotImplementedError

    def version(self) -> dict:
        return self.get("/version", _raw=True)

    def info(self) -> dict:
        return self.get("/info")

    def networks(self) -> list[dict]:
        return self.get("/networks")

    def network(self, net_id: str, verbose: bool = False) -> dict:
        if verbose:
            return self.get(f"/networks/{quote(net_id)}", verbose="true")
        return self.get(f"/networks/{quote(net_id)}")

    def containers(self, all: bool = True, filters: dict | None = None) -> list[dict]:
        params = {"all": "1" if all else "0"}
        if filters:
            params["filters"] = json.dumps(filters)
        return self.get("/containers/json", **params)

    def container(self, cid: str) -> dict:
        return self.get(f"/containers/{quote(cid)}/json")

    def close(self) -> None:
        pass


class UnixAPI(BaseAPI):
    """Minimal HTTP/1.1 over a unix socket; one keep-alive connection per thread."""

    def __init__(self, target: Target, timeout: float = 10.0):
        self.target = target
        self.path = target.socket_path or "/var/run/docker.sock"
        self.timeout = timeout
        import threading

        self._local = threading.local()
        v = self.get("/version", _raw=True)
        server = v.get("ApiVersion") or MIN_API
        self.server_version_info = v
        self.api_version = server if _vtuple(server) <= _vtuple(MAX_API) else MAX_API

    def _conn(self) -> _UnixConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = _UnixConnection(self.path, self.timeout)
            self._local.conn = c
        return c

    def get(self, path: str, _raw: bool = False, **params):
        url = path if _raw else f"/v{self.api_version}{path}"
        if params:
            url += "?" + urlencode(params)
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request("GET", url, headers={"Host": "docker"})
                resp = conn.getresponse()
                body = resp.read()
                break
            except EngineError:
                self._local.conn = None
                raise
            except (http.client.HTTPException, ConnectionError, BrokenPipeError, OSError) as e:
                conn.close()
                self._local.conn = None
                if attempt:
                    raise EngineError(f"engine connection failed: {e}", "unreachable")
        if resp.status >= 400:
            try:
                msg = json.loads(body).get("message", body.decode(errors="replace"))
            except ValueError:
                msg = body.decode(errors="replace")
            kind = "notfound" if resp.status == 404 else "api"
            raise EngineError(msg.strip(), kind, resp.status)
        return json.loads(body) if body else None

    def close(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None


class SDKAPI(BaseAPI):
    """Same calls through the docker SDK (tcp, TLS, ssh hosts)."""

    def __init__(self, target: Target, timeout: float = 10.0):
        import docker  # lazy: 0.25 s
        from docker.errors import DockerException

        self.target = target
        kw: dict = {"base_url": target.host, "version": "auto", "timeout": timeout}
        if target.tls:
            kw["tls"] = docker.tls.TLSConfig(
                client_cert=(target.tls["cert"], target.tls["key"])
                if "cert" in target.tls
                else None,
                ca_cert=target.tls.get("ca"),
                verify=bool(target.tls.get("ca")),
            )
        elif os.environ.get("DOCKER_TLS_VERIFY") or os.environ.get("DOCKER_CERT_PATH"):
            kw = {"version": "auto", "timeout": timeout, "environment": os.environ}
        try:
            if "environment" in kw:
                self.client = docker.APIClient(
                    **docker.utils.kwargs_from_env(), version="auto", timeout=timeout
                )
            else:
                self.client = docker.APIClient(**kw)
        except DockerException as e:
            raise EngineError(_sdk_error_line(e, target.host), _sdk_error_kind(e))
        server = self.client.api_version
        self.api_version = server if _vtuple(server) <= _vtuple(MAX_API) else MAX_API

    def get(self, path: str, _raw: bool = False, **params):
        from docker.errors import APIError, DockerException

        url = self.client.base_url + (path if _raw else f"/v{self.api_version}{path}")
        try:
            res = self.client._get(url, params=params or None)
            self.client._raise_for_status(res)
            return res.json()
        except APIError as e:
            raise EngineError(
                str(e.explanation or e),
                "notfound" if e.status_code == 404 else "api",
                e.status_code,
            )
        except DockerException as e:
            raise EngineError(_sdk_error_line(e, self.target.host), _sdk_error_kind(e))
        except Exception as e:  # requests' ConnectionError and friends
            raise EngineError(
                f"cannot connect to the Docker engine at {self.target.host}: {e}", "unreachable"
            )

    def close(self) -> None:
        self.client.close()


def _sdk_error_kind(e: Exception) -> str:
    s = str(e).lower()
    if "permission denied" in s:
        return "permission"
    return "unreachable"


def _sdk_error_line(e: Exception, host: str) -> str:
    s = str(e)
    if "permission denied" in s.lower():
        return f"permission denied on {host}: run as root (sudo) or join the `docker` group"
    return f"cannot connect to the Docker engine at {host}: {s.splitlines()[0] if s else e!r}"


def open_api(host: str | None = None, context: str | None = None, timeout: float = 10.0) -> BaseAPI:
    """Connect to the engine in use. Raises :class:`EngineError` with one clear line."""
    target = resolve_target(host, context)
    if target.is_unix:
        return UnixAPI(target, timeout)
    return SDKAPI(target, timeout)


def sdk_client(host: str | None = None, context: str | None = None, timeout: float = 30.0):
    """A full ``docker.DockerClient`` for the same engine (actions, logs, events)."""
    import docker

    target = resolve_target(host, context)
    kw: dict = {"base_url": target.host, "version": "auto", "timeout": timeout}
    if target.tls:
        kw["tls"] = docker.tls.TLSConfig(
            client_cert=(target.tls["cert"], target.tls["key"]) if "cert" in target.tls else None,
            ca_cert=target.tls.get("ca"),
            verify=bool(target.tls.get("ca")),
        )
    try:
        return docker.DockerClient(**kw)
    except docker.errors.DockerException as e:
        raise EngineError(_sdk_error_line(e, target.host), _sdk_error_kind(e))
