"""A dedicated Docker engine for the test run.

Starts its own ``dockerd`` with its own socket, data-root, exec-root, pidfile,
config file, log file, default bridge (pre-created, so it never touches a host
``docker0``) and a default address pool that avoids what the host already
routes. Never talks to a user's daemon. ``stop()`` removes everything.

Also usable by hand and by ``bench/``::

    python -m tests.harness start   # prints DOCKER_HOST=... and keeps running
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

IMAGE = "dockscope-busybox:test"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def _host_prefixes() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(
        ["ip", "-4", "-j", "route", "show", "table", "all"], capture_output=True, text=True
    ).stdout
    nets = []
    for r in json.loads(out or "[]"):
        dst = r.get("dst")
        if not dst or dst == "default":
            continue
        try:
            nets.append(ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False))
        except ValueError:
            pass
    return nets


def _free_slash16(start: int = 200) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    """Two free /16s under 10.0.0.0/8: one for the default bridge, one for the pool."""
    used = _host_prefixes()
    lockdir = Path("/tmp/dockscope-test-pools")
    lockdir.mkdir(exist_ok=True)
    found = []
    for second in range(start, 250):
        cand = ipaddress.ip_network(f"10.{second}.0.0/16")
        if any(cand.overlaps(u) for u in used if u.prefixlen > 0):
            continue
        marker = lockdir / str(second)
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            # stale marker from a dead run?
            try:
                pid = int(marker.read_text() or "0")
                os.kill(pid, 0)
                continue
            except (ValueError, ProcessLookupError):
                marker.write_text(str(os.getpid()))
                found.append((cand, marker))
        else:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            found.append((cand, marker))
        if len(found) == 2:
            break
    if len(found) < 2:
        raise RuntimeError("no free 10.x/16 for the test daemon")
    return found[0][0], found[1][0]


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return not fh.read().rsplit(") ", 1)[-1].startswith("Z")
    except OSError:
        return False


def _is_dockerd(pid: int) -> bool:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("dockerd")
    except OSError:
        return False


class _ExternalProcess:
    """A dockerd the harness did not spawn (restarted from outside, found by its
    pidfile), with the part of the Popen interface the harness and tests use."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _alive(self.pid):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.time() + timeout
        while self.poll() is None:
            if deadline is not None and time.time() > deadline:
                raise subprocess.TimeoutExpired("dockerd", timeout)
            time.sleep(0.1)
        return self.returncode or 0

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def docker_cli(
    host: str,
    *args: str,
    check: bool = True,
    input: str | None = None,
    timeout: float = 120,
    who: str = "",
) -> subprocess.CompletedProcess:
    """``docker -H host args...``; with ``check`` a failure raises RuntimeError naming it."""
    r = subprocess.run(
        ["docker", "-H", host, *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )
    if check and r.returncode != 0:
        raise RuntimeError(f"{who}docker {' '.join(args)} failed: {r.stderr.strip()}")
    return r


class TestDaemon:
    """One dockerd owned by the test run."""

    __test__ = False  # a fixture class, not a test class

    def __init__(self, base: str | None = None, iptables: bool = True):
        # A dockerd starting with iptables on removes and re-creates the shared DOCKER
        # chains (libnetwork's bridge driver configure), wiping the rules of every other
        # engine on the host: extra test engines run with --iptables=false.
        self.iptables = iptables
        self.id = uuid.uuid4().hex[:6]
        self.root = Path(base or tempfile.mkdtemp(prefix=f"dockscope-{self.id}-"))
        self.socket = self.root / "docker.sock"
        self.data_root = self.root / "data"
        self.exec_root = Path(f"/tmp/dsx-{self.id}")  # short: unix socket paths are limited
        self.pidfile = self.root / "docker.pid"
        self.config_file = self.root / "daemon.json"
        self.log_file = self.root / "dockerd.log"
        self.bridge = f"dsbr{self.id}"[:15]
        self.proc: subprocess.Popen | None = None
        self.swarm = False
        self.swarm_since = 0  # when swarm_init ran (its overlays are swept at stop)
        self.bridge_net, self.pool = _free_slash16()
        self.bridge_cidr = ipaddress.ip_network(f"{self.bridge_net.network_address}/24")
        self.bridge_ip = f"{self.bridge_cidr.network_address + 1}/24"

    # ------------------------------------------------------------------ lifecycle
    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env.pop("DOCKER_CONTEXT", None)
        return env

    def argv(self) -> list[str]:
        return [
            shutil.which("dockerd") or "dockerd",
            "--host",
            self.host,
            "--data-root",
            str(self.data_root),
            "--exec-root",
            str(self.exec_root),
            "--pidfile",
            str(self.pidfile),
            "--config-file",
            str(self.config_file),
            "--bridge",
            self.bridge,
            "--default-address-pool",
            f"base={self.pool},size=24",
        ] + ([] if self.iptables else ["--iptables=false"])

    def start(self, timeout: float = 60.0) -> TestDaemon:
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.config_file.exists():
            self.config_file.write_text("{}\n")
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", self.bridge_ip, "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        for attempt in range(3):
            self._spawn()
            try:
                self.wait_ready(timeout)
                break
            except RuntimeError:
                # two dockerds starting at once can race on the shared iptables chains
                self.stop_process()
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)
        self.build_image()
        return self

    def _spawn(self, extra_args: tuple[str, ...] | list[str] = ()) -> None:
        logf = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            self.argv() + list(extra_args),
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logf.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError("dockerd exited:\n" + self.log_tail())
            if self.socket.exists():
                r = subprocess.run(
                    ["docker", "-H", self.host, "version", "-f", "{{.Server.Version}}"],
                    capture_output=True,
                    text=True,
                )
                if r.returncode == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("dockerd did not come up:\n" + self.log_tail())

    def restart(self, extra_args: tuple[str, ...] | list[str] = ()) -> None:
        """Stop and start dockerd keeping its state (for reconnect tests).

        ``extra_args`` are appended to :meth:`argv` for this run only (e.g. ``-D``).
        """
        self.stop_process()
        for attempt in range(3):
            self._spawn(extra_args)
            try:
                self.wait_ready()
                return
            except RuntimeError:
                # another dockerd starting at the same time can race on the iptables chains
                self.stop_process()
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)

    def pid(self) -> int | None:
        """The running dockerd's pid from its pidfile (also after an outside restart)."""
        try:
            pid = int(self.pidfile.read_text().strip() or "0")
        except (OSError, ValueError):
            return None
        return pid if pid and _alive(pid) else None

    def restart_script(self, path: str | Path, extra_args: tuple[str, ...] | list[str] = ()) -> str:
        """Write a shell script that restarts this dockerd (found by its pidfile) with
        :meth:`argv`, the way an init script would; returns the command to run it.
        After it ran, call :meth:`adopt` (``proc`` then stands for the new process)."""
        argv = " ".join(shlex.quote(a) for a in self.argv() + list(extra_args))
        script = f"""#!/bin/sh
pidfile={shlex.quote(str(self.pidfile))}
pid=$(cat "$pidfile" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -TERM "$pid" 2>/dev/null
  i=0
  while [ -e "$pidfile" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
fi
setsid {argv} >>{shlex.quote(str(self.log_file))} 2>&1 </dev/null &
i=0
while [ ! -S {shlex.quote(str(self.socket))} ] || ! docker -H {shlex.quote(self.host)} version >/dev/null 2>&1; do
  sleep 0.2; i=$((i+1)); [ $i -lt 300 ] || exit 1
done
"""
        path = Path(path)
        path.write_text(script)
        path.chmod(0o755)
        return str(path)

    def adopt(self, timeout: float = 60.0) -> None:
        """After dockerd was restarted from outside (restart_script, a restart
        command): forget the old child and wait for the new process."""
        if self.proc is not None:
            with contextlib.suppress(Exception):
                self.proc.wait(timeout)
            self.proc = None
        self.wait_ready(timeout)
        pid = self.pid()
        if pid:
            self.proc = _ExternalProcess(pid)  # daemon.proc.pid stays meaningful

    def stop_process(self, timeout: float = 30.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        # a dockerd started from outside (restart_script): stop it through the pidfile
        pid = self.pid()
        if pid and (self.proc is None or pid != self.proc.pid) and _is_dockerd(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.time() + timeout
            while _alive(pid) and time.time() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cleanup_objects()
        overlays: list[str] = []
        if self.swarm:
            with contextlib.suppress(Exception):  # every overlay it made, removed or not
                overlays = self.docker(
                    "events", "--since", str(self.swarm_since), "--until", str(int(time.time()) + 1),
                    "--filter", "type=network", "--filter", "event=create",
                    "--format", "{{.Actor.ID}}", check=False,
                ).stdout.split()  # fmt: skip
            self.docker("swarm", "leave", "--force", check=False)
            self.docker("network", "rm", "docker_gwbridge", check=False)
        # bridges of networks still there (docker_gwbridge, a failed rm) outlive dockerd
        left: list[str] = []
        with contextlib.suppress(Exception):
            for raw in self.docker(
                "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge", check=False
            ).stdout.split():
                left.append("br-" + raw[:12])
        if self.swarm:
            left.append("docker_gwbridge")
        self.stop_process()
        self._kill_orphan_shims()
        # unmount whatever dockerd left (netns bind mounts, overlay mounts)
        for base in (str(self.exec_root), str(self.data_root)):
            with contextlib.suppress(OSError):
                mounts = [
                    ln.split()[1]
                    for ln in open("/proc/self/mounts")
                    if ln.split()[1].startswith(base)
                ]
                for m in sorted(mounts, key=len, reverse=True):
                    subprocess.run(["umount", "-l", m], capture_output=True)
        for name in (self.bridge, *left):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        # dockerd 20.10 writes each overlay's load-balancer sandbox files (lb_<network id>)
        # under /var/lib/docker/network/files whatever its data-root (libnetwork's
        # default prefix; moby/moby#31610 fixed only the ingress one): ours go with it
        for nid in overlays:
            if nid.isalnum():
                shutil.rmtree(f"/var/lib/docker/network/files/lb_{nid}", ignore_errors=True)
        for net in (self.bridge_net, self.pool):
            with contextlib.suppress(OSError):
                os.unlink(f"/tmp/dockscope-test-pools/{str(net).split('.')[1]}")

    # ------------------------------------------------------------------ helpers
    def docker(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        return docker_cli(self.host, *args, check=check, input=input, timeout=timeout)

    def client(self, **kw):
        import docker  # lazy

        return docker.DockerClient(base_url=self.host, version="auto", **kw)

    def build_image(self) -> None:
        busybox = next((p for p in BUSYBOX_CANDIDATES if Path(p).exists()), None)
        if not busybox:
            raise RuntimeError("busybox-static is not installed (apt-get install busybox-static)")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(busybox, arcname="busybox")
            df = (
                b"FROM scratch\nCOPY busybox /bin/busybox\n"
                b'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
                b'CMD ["/bin/sh"]\n'
            )
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(df)
            tar.addfile(info, io.BytesIO(df))
        buf.seek(0)
        cli = self.client()
        try:
            cli.images.build(fileobj=buf, custom_context=True, tag=IMAGE, rm=True)
        finally:
            cli.close()

    def swarm_init(self) -> None:
        if not self.swarm:
            self.swarm_since = int(time.time()) - 1
            self.docker(
                "swarm",
                "init",
                "--advertise-addr",
                "127.0.0.1",
                "--listen-addr",
                "127.0.0.1:2377",
                timeout=120,
            )
            self.swarm = True

    def _kill_orphan_shims(self) -> None:
        """Containers this engine left running (a dockerd killed before it stopped
        them): their shims name this engine's containerd socket; kill each shim's
        processes, then the shim. Left alone, they hold veths and memory on the
        host and slow every later run."""
        import psutil

        mark = f"{self.exec_root}/containerd/"
        for p in psutil.process_iter(["name", "cmdline"]):
            try:
                if not (p.info["name"] or "").startswith("containerd-shim"):
                    continue
                if not any(a.startswith(mark) for a in p.info["cmdline"] or []):
                    continue
                for c in p.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        c.kill()
                p.kill()
            except psutil.Error:
                continue

    def cleanup_objects(self) -> None:
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:  # a bench's 1,000 containers take minutes: the wait grows with them
            self.docker("rm", "-f", *ids, check=False, timeout=120 + 0.5 * len(ids))
        nets = self.docker(
            "network", "ls", "-q", "--filter", "type=custom", check=False
        ).stdout.split()
        for n in nets:
            self.docker("network", "rm", n, check=False)


# --------------------------------------------------------------------------- TLS engine


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path, cn: str = "dockscope-test-ca") -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate,
    made with openssl in ``d``. Returns the client directory laid out as
    DOCKER_CERT_PATH expects (ca.pem, cert.pem, key.pem). Keys are 0600."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", f"/CN={cn}", cwd=d)  # fmt: skip
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl("req", *ec, "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-CAcreateserial", "-out", f"{name}-cert.pem", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=d)  # fmt: skip
    client = d / "client"
    client.mkdir(exist_ok=True)
    shutil.copy(d / "ca.pem", client / "ca.pem")
    shutil.copy(d / "client-cert.pem", client / "cert.pem")
    shutil.copy(d / "client-key.pem", client / "key.pem")
    for p in list(d.glob("*key.pem")) + [client / "key.pem"]:
        p.chmod(0o600)
    return client


class TLSDaemon(TestDaemon):
    """A second dockerd that also listens on a loopback TCP port with ``--tlsverify``
    (CA, server and client certificates made by :func:`make_certs`)."""

    __test__ = False

    def __init__(self, base: str | None = None):
        super().__init__(base, iptables=False)  # a second engine: leave the host's chains alone
        self.port = _free_port()
        self.certs = self.root / "certs"
        self.client_certs = self.certs / "client"

    @property
    def tcp_host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        c = self.certs
        return super().argv() + [
            "--host",
            self.tcp_host,
            "--tlsverify",
            "--tlscacert",
            str(c / "ca.pem"),
            "--tlscert",
            str(c / "server-cert.pem"),
            "--tlskey",
            str(c / "server-key.pem"),
        ]

    def start(self, timeout: float = 60.0) -> TLSDaemon:
        self.root.mkdir(parents=True, exist_ok=True)
        make_certs(self.certs)
        super().start(timeout)
        return self

    def tls_env(self, cert_path: str | Path | None = None) -> dict[str, str]:
        """DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH for this engine."""
        env = dict(os.environ)
        env.pop("DOCKER_CONTEXT", None)
        env.update(
            DOCKER_HOST=self.tcp_host,
            DOCKER_TLS_VERIFY="1",
            DOCKER_CERT_PATH=str(cert_path or self.client_certs),
        )
        return env

    def write_context(self, config_dir: str | Path, name: str) -> None:
        """A docker context for this engine under ``config_dir`` (DOCKER_CONFIG), laid
        out as `docker context create --docker host=...,ca=...,cert=...,key=...` does."""
        import hashlib

        digest = hashlib.sha256(name.encode()).hexdigest()
        meta = Path(config_dir) / "contexts" / "meta" / digest
        tls = Path(config_dir) / "contexts" / "tls" / digest / "docker"
        meta.mkdir(parents=True, exist_ok=True)
        tls.mkdir(parents=True, exist_ok=True)
        (meta / "meta.json").write_text(
            json.dumps(
                {
                    "Name": name,
                    "Metadata": {},
                    "Endpoints": {"docker": {"Host": self.tcp_host, "SkipTLSVerify": False}},
                }
            )
        )
        for f in ("ca.pem", "cert.pem", "key.pem"):
            shutil.copy(self.client_certs / f, tls / f)
        (tls / "key.pem").chmod(0o600)


# --------------------------------------------------------------------------- ssh engine


class SSHNode:
    """sshd in a network namespace this run creates, reachable from the host over a
    veth pair, key auth with a temporary key. A login runs with DOCKER_HOST set to
    ``docker_host`` (sshd's SetEnv), so ``ssh root@IP docker system dial-stdio`` (what
    ``docker -H ssh://`` and the SDK run) reaches that engine through the docker CLI
    found on sshd's default PATH (/usr/local/bin or /usr/bin).

    ssh reads ~/.ssh from the passwd home, not $HOME: :meth:`env` puts a wrapper named
    ``ssh`` first on PATH that adds ``-F`` with this node's client config (identity,
    known_hosts with the node's host key, StrictHostKeyChecking yes), so nothing of
    root's own ssh setup is read or changed."""

    __test__ = False

    def __init__(self, docker_host: str):
        self.id = uuid.uuid4().hex[:6]
        self.docker_host = docker_host
        self.dir = Path(tempfile.mkdtemp(prefix=f"dockscope-ssh-{self.id}-"))
        self.ns = f"dsssh{self.id}"
        self.veth = f"dssh{self.id}"
        net, self._spare = _free_slash16()
        self.net = net
        self.host_ip = str(net.network_address + 1)
        self.ip = str(net.network_address + 2)
        self.pidfile = self.dir / "sshd.pid"

    def start(self) -> SSHNode:
        d, run = self.dir, subprocess.run
        run(["ip", "netns", "add", self.ns], check=True)
        run(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0",
             "netns", self.ns], check=True)  # fmt: skip
        run(["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.veth], check=True)
        run(["ip", "link", "set", self.veth, "up"], check=True)
        nsx = ["ip", "netns", "exec", self.ns]
        run([*nsx, "ip", "addr", "add", f"{self.ip}/30", "dev", "eth0"], check=True)
        run([*nsx, "ip", "link", "set", "eth0", "up"], check=True)
        run([*nsx, "ip", "link", "set", "lo", "up"], check=True)
        for k in ("host_key", "id_key"):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / k)], check=True)
        (d / "authorized_keys").write_text((d / "id_key.pub").read_text())
        hostpub = (d / "host_key.pub").read_text().split()
        (d / "known_hosts").write_text(f"{self.ip} {hostpub[0]} {hostpub[1]}\n")
        (d / "ssh_config").write_text(
            f"Host {self.ip}\n  IdentityFile {d / 'id_key'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {d / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
        )
        bindir = d / "bin"
        bindir.mkdir()
        (bindir / "ssh").write_text(
            f'#!/bin/sh\nexec {shutil.which("ssh") or "/usr/bin/ssh"} -F {d / "ssh_config"} "$@"\n'
        )
        (bindir / "ssh").chmod(0o755)
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        opts = {
            "ListenAddress": self.ip,
            "PidFile": str(self.pidfile),
            "HostKey": str(d / "host_key"),
            "AuthorizedKeysFile": str(d / "authorized_keys"),
            "PermitRootLogin": "prohibit-password",
            "PasswordAuthentication": "no",
            "StrictModes": "no",
            "UsePAM": "no",
            "SetEnv": f"DOCKER_HOST={self.docker_host}",
        }
        argv = [*nsx, shutil.which("sshd") or "/usr/sbin/sshd", "-f", "/dev/null"]
        for k, v in opts.items():
            argv += ["-o", f"{k}={v}"]
        run(argv, check=True, capture_output=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            r = run(["ssh", "-F", str(d / "ssh_config"), f"root@{self.ip}", "true"],
                    capture_output=True, text=True, timeout=10)  # fmt: skip
            if r.returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"sshd in {self.ns} did not answer: {r.stderr.strip()}")

    @property
    def host(self) -> str:
        return f"ssh://root@{self.ip}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for k in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            env.pop(k, None)
        env["DOCKER_HOST"] = self.host
        env["PATH"] = f"{self.dir / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        return env

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self.pidfile.read_text().strip()), signal.SIGTERM)
        # whatever else still runs in the namespace (ssh sessions, dial-stdio)
        pids = subprocess.run(
            ["ip", "netns", "pids", self.ns], capture_output=True, text=True
        ).stdout.split()
        for p in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(p), signal.SIGKILL)
        subprocess.run(["ip", "link", "del", self.veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        for net in (self.net, self._spare):
            with contextlib.suppress(OSError):
                os.unlink(f"/tmp/dockscope-test-pools/{str(net).split('.')[1]}")


def _main() -> None:  # pragma: no cover - manual use
    import sys

    def _term(signum, frame):  # `kill` and ^C both clean up
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    d = TestDaemon()
    d.start()
    print(f"DOCKER_HOST={d.host}")
    print(f"log: {d.log_file}  config: {d.config_file}", flush=True)
    if "--swarm" in sys.argv:
        d.swarm_init()
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        d.stop()


if __name__ == "__main__":  # pragma: no cover
    _main()
