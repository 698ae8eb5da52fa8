"""A real multi-node Docker Swarm on this one machine, for the cluster tests.

Each node is a ``dockerd`` in its own network, mount and UTS namespace, with its
own ``/run`` (tmpfs), ``/var/lib/docker``, ``/etc/docker`` and a fresh sysfs, the
nodes joined over a bridge this harness creates, each running ``sshd`` on its
address (key auth with a key made for the run), in one swarm (node1 manager).
See ../shared/reference/multi-node.md for why each step is as it is.

Nothing here touches a dockerd the user runs: the nodes' sockets, data, netns
and iptables are their own. What the harness changes on the host, and removes:
one bridge ``dsc<id>`` with a veth per node, one FORWARD accept rule for that
bridge (br_netfilter would drop frames bridged between the nodes), one
``/etc/ssh/ssh_config.d/dockscope-cluster-<id>.conf`` naming the run's key and
known_hosts for the nodes' addresses only, and the state directory
``/tmp/dockscope-cluster/<id>``. A run killed hard leaves these behind with a
dead owner pid; the next run sweeps them first (:func:`sweep_stale`).

By hand::

    python -m tests.cluster start [N]   # prints the nodes, keeps running until ^C
    python -m tests.cluster sweep       # remove what dead runs left
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.harness import IMAGE, TestDaemon, _alive, _free_slash16

STATE = Path("/tmp/dockscope-cluster")
SSH_CONF_DIR = Path("/etc/ssh/ssh_config.d")
REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


def _run(argv, check=True, timeout=120, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed: {r.stderr.strip()}")
    return r


def _mnt_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def _kill_pids(pids, sig=signal.SIGKILL) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def _pids_in_mnt_ns(ns: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and _mnt_ns(int(d)) == ns:
            out.append(int(d))
    return out


def _cgroup_pids(parent: str) -> list[int]:
    """Every process under a cgroup parent, any controller (cgroup v1 and v2)."""
    pids: set[int] = set()
    root = Path("/sys/fs/cgroup")
    for base in [root / parent, *root.glob(f"*/{parent}")]:
        if not base.is_dir():
            continue
        for procs in base.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(x) for x in procs.read_text().split())
    return sorted(pids)


def _rm_cgroups(parent: str) -> None:
    root = Path("/sys/fs/cgroup")
    for base in [root / parent, *root.glob(f"*/{parent}")]:
        if base.is_dir():
            for d in sorted(
                (p for p in base.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
            ):
                with contextlib.suppress(OSError):
                    d.rmdir()
            with contextlib.suppress(OSError):
                base.rmdir()


def _ipt_rules(bridge: str, cid: str, underlay: str) -> list[list[str]]:
    """The host rules the cluster's bridge needs: br_netfilter sends frames bridged
    between the nodes through the host's FORWARD (policy DROP under docker) and nat
    POSTROUTING (where a MASQUERADE another dockerd left for this range would rewrite
    the nodes' source addresses)."""
    tag = ["-m", "comment", "--comment", f"dockscope-cluster-{cid}"]
    return [
        ["-t", "filter", "FORWARD", "-i", bridge, "-o", bridge, *tag, "-j", "ACCEPT"],
        ["-t", "nat", "POSTROUTING", "-s", underlay, "-d", underlay, *tag, "-j", "RETURN"],
    ]


def _ipt(op: str, rule: list[str]) -> subprocess.CompletedProcess:
    return _run(["iptables", "-w", rule[0], rule[1], op, *rule[2:]], check=False)


class Node:
    """One swarm node: its namespaces, dockerd, sshd and addresses."""

    def __init__(self, cluster: Cluster, index: int):
        self.cluster = cluster
        self.index = index
        self.name = f"node{index}"
        self.netns = f"dsc{cluster.id}n{index}"
        self.ip = str(cluster.underlay.network_address + 10 + index)
        self.dir = cluster.dir / self.name
        self.socket = self.dir / "docker.sock"
        self.pidfile = self.dir / "dockerd.pid"
        self.log_file = self.dir / "dockerd.log"
        self.host_veth = f"dsc{cluster.id}h{index}"
        self.cgroup_parent = f"dockscope-cluster-{cluster.id}-{self.name}"
        self.proc: subprocess.Popen | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def host(self) -> str:
        """The node's engine from the host, over a unix socket."""
        return f"unix://{self.socket}"

    @property
    def ssh_host(self) -> str:
        return f"ssh://root@{self.ip}"

    def __repr__(self) -> str:
        return f"<Node {self.name} {self.ip}>"

    # ------------------------------------------------------------------ commands
    def docker(
        self, *args: str, check=True, input=None, timeout=120
    ) -> subprocess.CompletedProcess:
        from tests.harness import docker_cli  # the one way tests run the docker CLI

        return docker_cli(
            self.host, *args, check=check, input=input, timeout=timeout, who=f"{self.name}: "
        )

    def dockerd_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip() or "0")
        except (OSError, ValueError):
            return None
        return pid if pid and _alive(pid) else None

    def nsenter(self) -> list[str]:
        """argv prefix that runs a command inside the node (its net + mount + uts ns)."""
        pid = self.dockerd_pid()
        if not pid:
            raise RuntimeError(f"{self.name}: dockerd is not running")
        return ["nsenter", "-t", str(pid), "-m", "-n", "-u"]

    def sh(self, script: str, check=True, timeout=60) -> subprocess.CompletedProcess:
        """Run a shell script on the node (as sshd would, without ssh)."""
        return _run([*self.nsenter(), "sh", "-c", script], check=check, timeout=timeout)

    def ssh(self, *cmd: str, check=True, timeout=60, input=None) -> subprocess.CompletedProcess:
        """Run a command on the node over real ssh."""
        return _run(
            ["ssh", "-o", "BatchMode=yes", f"root@{self.ip}", *cmd],
            check=check,
            timeout=timeout,
            input=input,
        )

    def iptables(self, *args: str, check=True) -> subprocess.CompletedProcess:
        """iptables in the node's network namespace (fault injection)."""
        return _run(["ip", "netns", "exec", self.netns, "iptables", "-w", *args], check=check)

    def client(self, **kw):
        import docker

        return docker.DockerClient(base_url=self.host, version="auto", **kw)

    # ------------------------------------------------------------------ lifecycle
    def _node_script(self) -> str:
        c = self.cluster
        d = shlex.quote(str(self.dir))
        sshd_conf = shlex.quote(str(self.dir / "sshd_config"))
        return f"""set -e
hostname {self.name}
mkdir -p {d}/cg
mount --rbind /sys/fs/cgroup {d}/cg
mount -t sysfs none /sys
mount --rbind {d}/cg /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/containerd
# the mount points: a fresh install without a started engine has no /var/lib/docker
# (dockerd makes it, 0710, on its first start); made here on the host as dockerd would
# (-p: the nodes start at once, and another may have just made it)
mkdir -p -m 0710 /var/lib/docker
mkdir -p -m 0755 /etc/docker
mount --bind {d}/lib /var/lib/docker
mount --bind {d}/etc /etc/docker
/usr/sbin/sshd -f {sshd_conf} -E {d}/sshd.log
exec dockerd --host unix:///var/run/docker.sock --host unix://{d}/docker.sock \\
  --pidfile {d}/dockerd.pid {" ".join(c.dockerd_args)}
"""

    def write_config(self) -> None:
        c = self.cluster
        for sub in ("lib", "etc", "cg"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "etc" / "daemon.json").write_text(
            json.dumps(
                {
                    "cgroup-parent": self.cgroup_parent,
                    "default-address-pools": [{"base": str(c.local_pool), "size": 24}],
                },
                indent=2,
            )
            + "\n"
        )
        # PATH on the node: the venv first, so `dockscope` is there (unless told not)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        if self.index not in c.without_dockscope:
            path = f"{VENV_BIN}:{path}"
        (self.dir / "sshd_config").write_text(
            f"""ListenAddress {self.ip}
PidFile {self.dir}/sshd.pid
HostKey {c.dir}/ssh_host_ed25519_key
AuthorizedKeysFile {c.dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
SetEnv PATH={path}
Subsystem sftp internal-sftp
"""
        )

    def plumb(self) -> None:
        c = self.cluster
        _run(["ip", "netns", "add", self.netns])
        peer = f"dsc{c.id}p{self.index}"
        _run(["ip", "link", "add", self.host_veth, "type", "veth", "peer", "name", peer])
        _run(["ip", "link", "set", self.host_veth, "master", c.bridge, "up"])
        _run(["ip", "link", "set", peer, "netns", self.netns])
        for cmd in (
            ["ip", "link", "set", peer, "name", "eth0"],
            ["ip", "link", "set", "eth0", "mtu", str(c.mtu), "up"],
            ["ip", "addr", "add", f"{self.ip}/{c.underlay.prefixlen}", "dev", "eth0"],
            ["ip", "link", "set", "lo", "up"],
            ["ip", "route", "add", "default", "via", c.gateway],
        ):
            _run(["ip", "netns", "exec", self.netns, *cmd])

    def start(self, timeout: float = 90.0) -> None:
        self.write_config()
        self.plumb()
        logf = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            [
                "nsenter",
                f"--net=/var/run/netns/{self.netns}",
                "unshare",
                "-m",
                "-u",
                "--propagation",
                "private",
                "sh",
                "-c",
                self._node_script(),
            ],  # fmt: skip
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: dockerd exited:\n{self.log_tail()}")
            if self.socket.exists() and self.docker("version", check=False).returncode == 0:
                ns = _mnt_ns(self.proc.pid)
                if ns:
                    (self.dir / "mntns").write_text(ns)
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: dockerd did not come up:\n{self.log_tail()}")

    def start_dockerd(self, timeout: float = 90.0) -> None:
        """Start the node's dockerd again (after :meth:`stop_dockerd`), inside the
        namespaces its sshd still holds: same paths, same state, it rejoins."""
        try:
            sshd = int((self.dir / "sshd.pid").read_text().strip())
        except (OSError, ValueError):
            raise RuntimeError(f"{self.name}: no sshd holds the node's namespaces")
        d = str(self.dir)
        logf = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            [
                "nsenter",
                "-t",
                str(sshd),
                "-m",
                "-n",
                "-u",
                "dockerd",
                "--host",
                "unix:///var/run/docker.sock",
                "--host",
                f"unix://{d}/docker.sock",
                "--pidfile",
                f"{d}/dockerd.pid",
                *self.cluster.dockerd_args,
            ],  # fmt: skip
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: dockerd exited:\n{self.log_tail()}")
            if self.docker("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: dockerd did not come back:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop_dockerd(self, timeout: float = 20.0) -> None:
        """Stop the node's dockerd (a 'node down' fault, or teardown)."""
        pid = self.dockerd_pid() or (self.proc.pid if self.proc else None)
        if not pid or not _alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while _alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _kill_pids([pid])
        if self.proc:
            with contextlib.suppress(Exception):
                self.proc.wait(5)


class Cluster:
    """N nodes in one swarm; node1 is the manager."""

    __test__ = False

    def __init__(self, n: int = 3, without_dockscope: tuple[int, ...] = ()):
        self.id = uuid.uuid4().hex[:6]
        self.dir = STATE / self.id
        self.bridge = f"dsc{self.id}"
        self.under16, self.pool = _free_slash16()
        self.underlay = ipaddress.ip_network(f"{self.under16.network_address}/24")
        # swarm (overlays, ingress) from the lower half, node-local (docker0,
        # docker_gwbridge) from the upper: one pool for both makes ingress fail
        self.swarm_pool, self.local_pool = self.pool.subnets(1)
        self.gateway = str(self.underlay.network_address + 1)
        self.mtu = 1500
        self.without_dockscope = set(without_dockscope)
        self.nodes = [Node(self, i) for i in range(1, n + 1)]
        self.dockerd_args: list[str] = []
        self.ssh_conf = SSH_CONF_DIR / f"dockscope-cluster-{self.id}.conf"
        self.ssh_home = self.dir / "home"  # HOME for ssh (it reads ~/.ssh by $HOME)
        self.swarm_token: str | None = None

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    def node(self, name_or_index) -> Node:
        for n in self.nodes:
            if name_or_index in (n.index, n.name, n.ip):
                return n
        raise KeyError(name_or_index)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Cluster:
        sweep_stale()
        self.dir.mkdir(parents=True, mode=0o700)
        (self.dir / "owner").write_text(str(os.getpid()))
        (self.dir / "meta.json").write_text(
            json.dumps(
                {
                    "bridge": self.bridge,
                    "underlay": str(self.underlay),
                    "nets": [str(self.under16), str(self.pool)],
                    "nodes": [
                        {"netns": n.netns, "cgroup": n.cgroup_parent, "veth": n.host_veth}
                        for n in self.nodes
                    ],
                }
            )
        )
        self._ssh_setup()
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{self.gateway}/{self.underlay.prefixlen}", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])
        for rule in _ipt_rules(self.bridge, self.id, str(self.underlay)):
            if _ipt("-I", rule).returncode:
                raise RuntimeError(f"iptables {rule} failed")
        with ThreadPoolExecutor(len(self.nodes)) as ex:
            list(ex.map(lambda n: n.start(), self.nodes))
        self._known_hosts()
        self._images()
        self._swarm()
        return self

    def _ssh_setup(self) -> None:
        key = self.dir / "id_ed25519"
        _run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockscope-test", "-f", str(key)]
        )
        hk = self.dir / "ssh_host_ed25519_key"
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockscope-node", "-f", str(hk)])
        (self.dir / "authorized_keys").write_text((self.dir / "id_ed25519.pub").read_text())
        ips = " ".join(n.ip for n in self.nodes)
        self.ssh_conf.write_text(
            f"# dockscope test cluster {self.id} (tests/cluster.py); removed at teardown\n"
            f"Host {ips}\n"
            f"  User root\n"
            f"  IdentityFile {key}\n"
            f"  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {self.dir}/known_hosts\n"
            f"  StrictHostKeyChecking yes\n"
            f"  ConnectTimeout 5\n"
        )
        os.chmod(self.ssh_conf, 0o644)
        home = self.ssh_home / ".ssh"
        home.mkdir(parents=True, mode=0o700)
        shutil.copy(key, home / "id_ed25519")
        (home / "config").write_text(
            f"Host {ips}\n  User root\n  IdentityFile {home / 'id_ed25519'}\n"
        )

    def _known_hosts(self) -> None:
        pub = (self.dir / "ssh_host_ed25519_key.pub").read_text().split()
        lines = "".join(f"{n.ip} {pub[0]} {pub[1]}\n" for n in self.nodes)
        (self.dir / "known_hosts").write_text(lines)
        (self.ssh_home / ".ssh" / "known_hosts").write_text(lines)

    def _images(self) -> None:
        """The busybox image FROM scratch, built on node1 and loaded into the others."""
        m = self.manager
        d = TestDaemon.__new__(TestDaemon)  # only for build_image(): the one recipe
        d.client = m.client
        d.build_image()
        tar = self.dir / "image.tar"
        m.docker("save", "-o", str(tar), IMAGE)
        with ThreadPoolExecutor(len(self.nodes)) as ex:
            list(ex.map(lambda n: n.docker("load", "-q", "-i", str(tar)), self.nodes[1:]))
        tar.unlink()

    def _swarm(self) -> None:
        m = self.manager
        m.docker(
            "swarm", "init", "--advertise-addr", m.ip, "--listen-addr", f"{m.ip}:2377",
            "--default-addr-pool", str(self.swarm_pool), "--default-addr-pool-mask-length", "24",
            # a stopped node is marked down in seconds, not in ~15 s (the default 5 s)
            "--dispatcher-heartbeat", "2s",
        )  # fmt: skip
        self.swarm_token = m.docker("swarm", "join-token", "-q", "worker").stdout.strip()
        with ThreadPoolExecutor(len(self.nodes)) as ex:
            list(ex.map(self._join, self.nodes[1:]))
        self.wait_nodes_ready()

    def _join(self, n: Node) -> None:
        n.docker("swarm", "join", "--advertise-addr", n.ip, "--listen-addr", f"{n.ip}:2377",
                 "--token", self.swarm_token, f"{self.manager.ip}:2377")  # fmt: skip

    def wait_nodes_ready(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.manager.docker("node", "ls", "--format", "{{.Status}}", check=False).stdout
            states = out.split()
            if len(states) == len(self.nodes) and all(s == "Ready" for s in states):
                return
            time.sleep(0.3)
        raise RuntimeError("swarm nodes not ready: " + out)

    def stop(self) -> None:
        def leave_and_stop(n: Node) -> None:
            with contextlib.suppress(Exception):
                if n.dockerd_pid():
                    n.docker("swarm", "leave", "--force", check=False, timeout=20)
            n.stop_dockerd()

        with ThreadPoolExecutor(len(self.nodes)) as ex:
            list(ex.map(leave_and_stop, self.nodes))
        _teardown(self.dir)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _teardown(d: Path) -> None:
    """Remove everything a cluster made, from its state directory (works for a dead run)."""
    cid = d.name
    try:
        meta = json.loads((d / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {"bridge": f"dsc{cid}", "nets": [], "nodes": []}
    for node in meta["nodes"]:
        _kill_pids(_cgroup_pids(node["cgroup"]))  # containers (their own namespaces)
    for sub in sorted(d.glob("node*")):
        with contextlib.suppress(OSError):
            ns = (sub / "mntns").read_text().strip()
            _kill_pids(_pids_in_mnt_ns(ns))  # dockerd, containerd, shims, sshd
    for node in meta["nodes"]:
        r = _run(["ip", "netns", "pids", node["netns"]], check=False)
        _kill_pids(int(p) for p in r.stdout.split() if p.isdigit())
    time.sleep(0.2)
    for node in meta["nodes"]:
        _run(["ip", "netns", "del", node["netns"]], check=False)
        _run(["ip", "link", "del", node["veth"]], check=False)
        _rm_cgroups(node["cgroup"])
    _run(["ip", "link", "del", meta["bridge"]], check=False)
    if meta.get("underlay"):
        for rule in _ipt_rules(meta["bridge"], cid, meta["underlay"]):
            while _ipt("-D", rule).returncode == 0:
                pass
    with contextlib.suppress(OSError):
        (SSH_CONF_DIR / f"dockscope-cluster-{cid}.conf").unlink()
    for net in meta["nets"]:
        with contextlib.suppress(OSError):
            os.unlink(f"/tmp/dockscope-test-pools/{net.split('.')[1]}")
    shutil.rmtree(d, ignore_errors=True)


_sweep_lock = threading.Lock()


def sweep_stale() -> list[str]:
    """Tear down clusters whose owning process is gone; returns their ids."""
    swept = []
    with _sweep_lock:
        if not STATE.is_dir():
            return swept
        for d in STATE.iterdir():
            try:
                owner = int((d / "owner").read_text())
            except (OSError, ValueError):
                owner = 0
            if owner and _alive(owner):
                continue
            _teardown(d)
            swept.append(d.name)
        # a config snippet without a state directory
        for f in SSH_CONF_DIR.glob("dockscope-cluster-*.conf"):
            if not (STATE / f.stem.rsplit("-", 1)[-1]).exists():
                with contextlib.suppress(OSError):
                    f.unlink()
    return swept


def _main() -> None:  # pragma: no cover - manual use
    import sys

    if sys.argv[1:2] == ["sweep"]:
        print("swept:", sweep_stale())
        return

    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    t0 = time.time()
    c = Cluster(n)
    try:
        c.start()
        print(f"cluster {c.id} up in {time.time() - t0:.1f}s")
        for node in c.nodes:
            print(f"{node.name} {node.ip} DOCKER_HOST={node.host} ssh root@{node.ip}", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()


if __name__ == "__main__":  # pragma: no cover
    _main()


# ---------------------------------------------------------------------- pytest
def _unavailable() -> str | None:
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("sshd"):
        return "the cluster needs root, dockerd and sshd (openssh-server)"
    return None


# The session's cluster, started early (prestart) and handed to the fixture.
_early: dict = {}


def prestart(items) -> None:
    """Start the session's cluster in a thread once the collected tests are known, if
    one of them uses it: its ~40 s of setup (mostly waiting on three dockerds and the
    swarm) runs beside the tests before the first cluster test instead of in front of
    it. The fixture joins the thread; :func:`finish` stops a cluster no test took."""
    if (
        _early
        or _unavailable()
        or not any("cluster" in getattr(i, "fixturenames", ()) for i in items)
    ):
        return
    c = Cluster(3)

    def run() -> None:
        try:
            c.start()
        except BaseException as e:  # re-raised by the fixture, in the test that asked
            _early["error"] = e

    _early["prev_term"] = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _term)  # a SIGTERM still tears the cluster down
    t = threading.Thread(target=run, name="cluster-prestart", daemon=True)
    _early.update(cluster=c, thread=t)
    t.start()


def _term(signum, frame):
    raise KeyboardInterrupt  # unwinds through the fixture's teardown, or finish()


def _take_early() -> Cluster | None:
    t = _early.pop("thread", None)
    if t is None:
        return None
    t.join()
    c = _early.pop("cluster")
    err = _early.pop("error", None)
    if err is not None:
        c.stop()
        raise err
    return c


def finish() -> None:
    """Session end: stop a prestarted cluster that no test took (tests deselected
    after collection, an interrupted run); restore SIGTERM."""
    with contextlib.suppress(BaseException):
        c = _take_early()
        if c is not None:
            c.stop()
    if "prev_term" in _early:
        signal.signal(signal.SIGTERM, _early.pop("prev_term"))


def _cluster_fixture():
    import pytest

    @pytest.fixture(scope="session")
    def cluster():
        """The run's 3-node swarm (node1 manager), usually started by :func:`prestart`.
        Torn down at the end, also on SIGTERM; a run killed harder is swept by the
        next one."""
        why = _unavailable()
        if why:
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the cluster tests: {why}")
            pytest.skip(why)
        prev = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _term)
        try:
            c = _take_early()
            if c is None:
                c = Cluster(3)
                try:
                    c.start()
                except BaseException:
                    c.stop()
                    raise
            try:
                yield c
            finally:
                c.stop()
        finally:
            signal.signal(signal.SIGTERM, prev)

    return cluster


cluster = _cluster_fixture()
