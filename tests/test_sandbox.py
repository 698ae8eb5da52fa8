"""inspectors.sandbox against real network namespaces (and one real container).

The namespaces are the test's own (``ip netns add dstest-...``), removed in
finalizers. Reference data comes from ``nsenter -t PID -n ip -j ...``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid

import pytest

from inspectors import kernel, readerproc, sandbox
from inspectors.model import DnsConfig

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns creation)")


def sh(cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.stderr.strip()}")
    return r


def ipj(cmd: str):
    return json.loads(sh(cmd).stdout or "[]")


def _batch(ns: str | None, lines: list[str]) -> None:
    argv = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
    r = subprocess.run(argv, input="\n".join(lines) + "\n", text=True, capture_output=True)
    if r.returncode:
        raise RuntimeError(f"{argv}: {r.stderr.strip()}")


class Lab:
    """A bridge and N namespaces, each with eth0 on the bridge; a sleeper per
    namespace gives a pid (optional)."""

    def __init__(self, n: int, tag: str | None = None):
        self.tag = tag or uuid.uuid4().hex[:5]
        self.bridge = f"dss{self.tag}br"
        self.ns = [f"dstest-{self.tag}-{i}" for i in range(n)]
        self.veth = [f"dss{self.tag}v{i}" for i in range(n)]
        self.net = f"10.253.{int(self.tag[:2], 16)}"
        self.procs: list[subprocess.Popen] = []
        self.pids: dict[str, int] = {}

    def up(self, sleepers: bool = True) -> Lab:
        sh(f"ip link add {self.bridge} type bridge")
        sh(f"ip addr add {self.net}.1/24 dev {self.bridge}")
        sh(f"ip link set {self.bridge} up")
        host_batch = []
        for ns, veth in zip(self.ns, self.veth):
            sh(f"ip netns add {ns}")
            host_batch += [
                f"link add {veth} type veth peer name eth0 netns {ns}",
                f"link set {veth} master {self.bridge} up",
            ]
        _batch(None, host_batch)
        for i, ns in enumerate(self.ns):
            _batch(
                ns,
                [
                    "link set lo up",
                    f"addr add {self.net}.{i + 2}/24 dev eth0",
                    f"addr add fd53:{self.tag[:4]}::{i + 2}/64 dev eth0 nodad",
                    "link set eth0 up",
                    f"route add default via {self.net}.1",
                ],
            )
        if sleepers:
            for ns in self.ns:
                p = subprocess.Popen(
                    ["ip", "netns", "exec", ns, "sleep", "300"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                self.procs.append(p)
                self.pids[ns] = p.pid
            # ip netns exec has switched namespaces once /proc/<pid>/ns/net differs
            host = os.stat("/proc/self/ns/net").st_ino
            deadline = time.time() + 10
            for p in self.procs:
                while time.time() < deadline:
                    try:
                        if os.stat(f"/proc/{p.pid}/ns/net").st_ino != host:
                            break
                    except FileNotFoundError:
                        pass
                    time.sleep(0.01)
        return self

    def down(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        for ns in self.ns:
            sh(f"ip netns del {ns}", check=False)
        sh(f"ip link del {self.bridge}", check=False)


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    lab = Lab(2)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


# --------------------------------------------------------------------------- one namespace


@root_only
def test_read_sandbox_matches_ip_inside(lab):
    pid = lab.pids[lab.ns[0]]
    links = kernel.read_links()
    info = sandbox.read_sandboxes([("c0", pid, None)], kernel.links_by_index(links))["c0"]
    assert info.error is None, info.error
    assert info.netns == f"/proc/{pid}/ns/net"
    assert not info.host_netns

    ref_links = {d["ifname"]: d for d in ipj(f"nsenter -t {pid} -n ip -d -j link show")}
    ref_addrs = {d["ifname"]: d for d in ipj(f"nsenter -t {pid} -n ip -j addr show")}
    got = {i.name: i for i in info.interfaces}
    assert set(got) == set(ref_links) == {"lo", "eth0"}
    for name, itf in got.items():
        ref = ref_links[name]
        assert itf.ifindex == ref["ifindex"]
        assert itf.mtu == ref["mtu"]
        assert itf.operstate == ref["operstate"]
        assert itf.mac == ref["address"]
        assert itf.kind == (ref.get("linkinfo") or {}).get("info_kind")
        assert itf.peer_ifindex == ref.get("link_index")
        assert itf.addresses == [
            f"{a['local']}/{a['prefixlen']}" for a in ref_addrs[name].get("addr_info", [])
        ]

    # the join: eth0's peer is our host veth on our bridge, both ways round
    eth0 = got["eth0"]
    assert eth0.host_veth == lab.veth[0] and eth0.bridge == lab.bridge
    host = next(lk for lk in links if lk.name == lab.veth[0])
    assert eth0.peer_ifindex == host.index and host.peer_ifindex == eth0.ifindex
    assert info.nsid is not None and info.nsid == host.peer_netnsid
    assert sandbox.veth_map(links)[host.index] == (info.nsid, eth0.ifindex)
    assert got["lo"].host_veth is None

    def norm(r):
        return (r["dst"], r.get("gateway"), r.get("dev"), r.get("prefsrc"), r.get("scope"))

    want4 = [norm(r) for r in ipj(f"nsenter -t {pid} -n ip -4 -j route show table main")]
    want6 = [norm(r) for r in ipj(f"nsenter -t {pid} -n ip -6 -j route show table main")]
    got4 = [
        (r.dst, r.gateway, r.dev, r.src, None if r.scope == "global" else r.scope)
        for r in info.routes
        if r.family == 4
    ]
    got6 = [
        (r.dst, r.gateway, r.dev, r.src, None if r.scope == "global" else r.scope)
        for r in info.routes
        if r.family == 6
    ]
    assert got4 == want4
    assert got6 == want6
    assert ("default", f"{lab.net}.1", "eth0", None, None) in got4
    assert all(r.table == 254 for r in info.routes)


@root_only
def test_sandbox_key_fallback_and_errors(lab):
    links_idx = kernel.links_by_index(kernel.read_links())
    dead = 4_000_000  # above pid_max
    gone = f"/run/netns/dstest-{lab.tag}-missing"
    res = sandbox.read_sandboxes(
        [
            ("key", None, f"/run/netns/{lab.ns[1]}"),
            ("deadpid", dead, f"/run/netns/{lab.ns[1]}"),
            ("nothing", dead, gone),
            ("none", None, None),
        ],
        links_idx,
    )
    assert res["key"].error is None and res["key"].netns == f"/run/netns/{lab.ns[1]}"
    eth0 = next(i for i in res["key"].interfaces if i.name == "eth0")
    assert eth0.host_veth == lab.veth[1] and eth0.bridge == lab.bridge
    d = res["deadpid"]
    assert d.error is None and d.netns == f"/run/netns/{lab.ns[1]}"
    assert any("SandboxKey" in n for n in d.notes)
    assert res["nothing"].error and not res["nothing"].interfaces
    assert not os.path.exists(gone)  # nothing was created on the way
    assert res["none"].error


@root_only
def test_pid_that_is_not_the_sandbox_defers_to_the_key(lab):
    """A pid from another PID namespace (or reused) points elsewhere: the
    SandboxKey, when it is a real netns handle, wins."""
    wrong_pid = lab.pids[lab.ns[1]]
    info = sandbox.read_sandboxes(
        [("c", wrong_pid, f"/run/netns/{lab.ns[0]}")], kernel.links_by_index(kernel.read_links())
    )["c"]
    assert info.netns == f"/run/netns/{lab.ns[0]}" and any("reused" in n for n in info.notes)
    eth0 = next(i for i in info.interfaces if i.name == "eth0")
    assert eth0.host_veth == lab.veth[0]
    # a key that is a plain file (dockerd in a private mount namespace) is ignored
    plain = f"/tmp/dstest-{lab.tag}-plainkey"
    open(plain, "w").close()
    try:
        info = sandbox.read_sandboxes([("c", lab.pids[lab.ns[1]], plain)])["c"]
        assert info.error is None and info.netns == f"/proc/{lab.pids[lab.ns[1]]}/ns/net"
        only_key = sandbox.read_sandboxes([("c", None, plain)])["c"]
        assert only_key.error and "not a network namespace" in only_key.error
    finally:
        os.unlink(plain)


@root_only
def test_shared_and_host_namespaces(lab):
    pid = lab.pids[lab.ns[0]]
    res = sandbox.read_sandboxes(
        [
            ("a", pid, None),
            ("b", None, f"/run/netns/{lab.ns[0]}"),  # same netns as "a"
            ("host", os.getpid(), None),
        ],
        kernel.links_by_index(kernel.read_links()),
    )
    a, b, host = res["a"], res["b"], res["host"]
    assert a.netns_inode == b.netns_inode and a.interfaces == b.interfaces
    assert a.interfaces is not b.interfaces  # copies: the join may enrich each
    assert host.host_netns and host.error is None
    assert {i.name for i in host.interfaces} >= {"lo", lab.bridge}
    assert all(i.host_veth is None for i in host.interfaces)


@root_only
def test_without_root_says_so(lab):
    """A forked child drops to nobody: an error, not an exception."""
    pid = lab.pids[lab.ns[0]]
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            res = sandbox.read_sandboxes([("c", pid, f"/run/netns/{lab.ns[0]}")], None)
            os.write(w, json.dumps({"error": res["c"].error}).encode())
        except BaseException as e:
            os.write(w, json.dumps({"exc": repr(e)}).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = json.loads(f.read() or "{}")
    os.waitpid(child, 0)
    assert data == {"error": sandbox.NEEDS_ROOT}


# --------------------------------------------------------------------------- many namespaces


@root_only
def test_thirty_namespaces_fast():
    lab = Lab(30)
    try:
        lab.up()
        links = kernel.read_links()
        idx = kernel.links_by_index(links)
        # half by pid, half by SandboxKey-style path only
        targets = [
            (ns, lab.pids[ns] if i % 2 == 0 else None, f"/run/netns/{ns}")
            for i, ns in enumerate(lab.ns)
        ]
        sandbox.read_sandboxes(targets[:2], idx)  # warm up imports
        t0 = time.perf_counter()
        res = sandbox.read_sandboxes(targets, idx)
        t_one = time.perf_counter() - t0
        t0 = time.perf_counter()
        res8 = sandbox.read_sandboxes(targets, idx, workers=8)
        t_pool = time.perf_counter() - t0
        msg = (
            f"read_sandboxes: {len(targets)} namespaces in {t_one * 1000:.1f} ms "
            f"(default, 1 thread), {t_pool * 1000:.1f} ms (8 threads)"
        )
        # (no comparison with pyroute2's IPRoute(netns=...): it forks the test process,
        # and a child that fails there goes on running the rest of the session)
        print(msg)
        for i, ns in enumerate(lab.ns):
            info = res[ns]
            assert info.error is None, (ns, info.error)
            eth0 = next(x for x in info.interfaces if x.name == "eth0")
            assert eth0.host_veth == lab.veth[i] and eth0.bridge == lab.bridge
            assert f"{lab.net}.{i + 2}/24" in eth0.addresses
            assert info.nsid is not None
            assert res8[ns].interfaces == info.interfaces and res8[ns].nsid == info.nsid
        assert len({r.nsid for r in res.values()}) == 30
    finally:
        lab.down()


@root_only
def test_namespace_ids_of_many_pids_match_the_host_veths(monkeypatch):
    """hostside.netnsids sends its RTM_GETNSID requests in windows over one socket
    (inspectors.nlsock): each pid's id is the one the host's veth names for its
    peer's namespace (IFLA_LINK_NETNSID, from the kernel's own link dump), across
    window boundaries, and a pid that is gone has none (the rest still answer)."""
    from inspectors import hostside, nlsock

    monkeypatch.setattr(nlsock, "NSID_WINDOW", 4)  # 13 pids: four windows
    lab = Lab(12)
    try:
        lab.up()
        gone = subprocess.Popen(["true"])
        gone.wait()
        pids = [lab.pids[ns] for ns in lab.ns]
        pids.insert(5, gone.pid)
        got = hostside.netnsids(pids)
        by_name = {lk.name: lk for lk in kernel.read_links()}
        want = {lab.pids[ns]: by_name[v].peer_netnsid for ns, v in zip(lab.ns, lab.veth)}
        assert all(v is not None for v in want.values())
        assert got == want
        assert gone.pid not in got
        assert len(set(got.values())) == 12
    finally:
        lab.down()


# --------------------------------------------------------------------------- resolv.conf


DOCKER26 = """# Generated by Docker Engine.
# This file can be edited; Docker Engine will not make further changes once it
# has been modified.

nameserver 127.0.0.11
search corp.example svc.example
options edns0 trust-ad ndots:0

# Based on host file: '/etc/resolv.conf' (internal resolver)
# ExtServers: [host(127.0.0.53) 10.0.0.2]
# Overrides: []
# Option ndots from: internal
"""


def test_read_resolv_conf_docker26(tmp_path):
    p = tmp_path / "resolv.conf"
    p.write_text(DOCKER26)
    cfg = sandbox.read_resolv_conf(str(p))
    assert cfg == DnsConfig(
        nameservers=["127.0.0.11"],
        search=["corp.example", "svc.example"],
        options=["edns0", "trust-ad", "ndots:0"],
        path=str(p),
        ext_servers=["host(127.0.0.53)", "10.0.0.2"],
        error=None,
    )


def test_read_resolv_conf_variants(tmp_path):
    p = tmp_path / "r"
    p.write_text(
        "; comment\ndomain a.example\nnameserver 8.8.8.8\nnameserver  1.1.1.1 \n"
        "options rotate\noptions timeout:2\n"
    )
    cfg = sandbox.read_resolv_conf(str(p))
    assert cfg.nameservers == ["8.8.8.8", "1.1.1.1"]
    assert cfg.search == ["a.example"] and cfg.options == ["rotate", "timeout:2"]
    assert cfg.ext_servers == [] and cfg.error is None
    p.write_text("search x.example\ndomain y.example\n")  # the last one wins
    assert sandbox.read_resolv_conf(str(p)).search == ["y.example"]
    p.write_text("domain y.example\nsearch x.example z.example\n")
    assert sandbox.read_resolv_conf(str(p)).search == ["x.example", "z.example"]
    missing = sandbox.read_resolv_conf(str(tmp_path / "nope"))
    assert missing.error and missing.nameservers == [] and missing.path.endswith("nope")


def test_resolv_conf_parse_is_reused_only_while_the_file_is_unchanged(tmp_path):
    """A warm rebuild's resolv.conf reads: an unchanged, settled file gives a copy
    of the last parse (the caller's changes to it never reach the next one), a
    rewrite of the same size is seen, and so is one too recent to trust its mtime."""
    p = tmp_path / "resolv.conf"
    old = time.time() - 60
    p.write_text("nameserver 10.0.0.1\nsearch a.example\n")
    os.utime(p, (old, old))
    first = sandbox.read_resolv_conf(str(p))
    assert str(p) in sandbox._RESOLV  # settled: kept
    first.nameservers.append("mutated")
    first.search[:] = []
    again = sandbox.read_resolv_conf(str(p))
    assert again.nameservers == ["10.0.0.1"] and again.search == ["a.example"]
    p.write_text("nameserver 10.0.0.2\nsearch b.example\n")  # same size, new inode times
    os.utime(p, (old, old))  # even with the old mtime back: ctime moved
    assert sandbox.read_resolv_conf(str(p)).nameservers == ["10.0.0.2"]
    p.write_text("nameserver 10.0.0.3\nsearch c.example\n")  # fresh: read, not kept
    assert sandbox.read_resolv_conf(str(p)).nameservers == ["10.0.0.3"]
    p.write_text("nameserver 10.0.0.4\nsearch d.example\n")
    assert sandbox.read_resolv_conf(str(p)).nameservers == ["10.0.0.4"]


# --------------------------------------------------------------------------- a real container


@pytest.mark.engine
def test_container_eth0_maps_to_the_veth_brctl_lists(daemon, uniq, image):
    name = f"k{uniq}"
    net = f"n{uniq}"
    daemon.docker("run", "-d", "--name", name, image, "sleep", "600")
    daemon.docker("network", "create", net)
    daemon.docker("run", "-d", "--name", f"{name}u", "--network", net, image, "sleep", "600")
    try:
        cs = json.loads(daemon.docker("inspect", name, f"{name}u").stdout)
        nets = json.loads(daemon.docker("network", "inspect", net).stdout)
        user_bridge = "br-" + nets[0]["Id"][:12]
        links = kernel.read_links()
        targets = [(c["Id"], c["State"]["Pid"], c["NetworkSettings"]["SandboxKey"]) for c in cs]
        res = sandbox.read_sandboxes(targets, kernel.links_by_index(links))
        bridges = kernel.read_bridges(links)
        for c, want_bridge in zip(cs, (daemon.bridge, user_bridge)):
            info = res[c["Id"]]
            assert info.error is None, info.error
            eth0 = next(i for i in info.interfaces if i.name == "eth0")
            (ep,) = c["NetworkSettings"]["Networks"].values()
            assert f"{ep['IPAddress']}/{ep['IPPrefixLen']}" in eth0.addresses
            assert eth0.mac == ep["MacAddress"]
            assert eth0.bridge == want_bridge and eth0.host_veth.startswith("veth")
            # brctl lists that veth under that bridge
            out = subprocess.run(
                ["brctl", "show", want_bridge], capture_output=True, text=True, check=True
            ).stdout
            assert eth0.host_veth in out.split()
            assert kernel.format_brctl_show(bridges, names=want_bridge) == out
            assert any(
                r.dst == "default" and r.gateway == ep["Gateway"] and r.dev == "eth0"
                for r in info.routes
            )
            # the SandboxKey (under the test daemon's exec-root) leads to the same netns
            by_key = sandbox.read_sandboxes(
                [("k", None, c["NetworkSettings"]["SandboxKey"])], kernel.links_by_index(links)
            )["k"]
            assert by_key.netns_inode == info.netns_inode and by_key.nsid == info.nsid
            # resolv.conf: ResolvConfPath on the host == /proc/<pid>/root/etc/resolv.conf
            dns = sandbox.read_resolv_conf(c["ResolvConfPath"])
            assert dns.error is None and dns.nameservers
            inside = sandbox.read_resolv_conf(f"/proc/{c['State']['Pid']}/root/etc/resolv.conf")
            assert (inside.nameservers, inside.search, inside.options) == (
                dns.nameservers,
                dns.search,
                dns.options,
            )
            exec_out = daemon.docker(
                "exec", c["Name"].lstrip("/"), "cat", "/etc/resolv.conf"
            ).stdout
            assert [
                ln.split()[1] for ln in exec_out.splitlines() if ln.startswith("nameserver")
            ] == dns.nameservers
        user_dns = sandbox.read_resolv_conf(cs[1]["ResolvConfPath"])
        assert user_dns.nameservers == ["127.0.0.11"]  # embedded DNS on user networks
    finally:
        daemon.docker("rm", "-f", name, f"{name}u", check=False)
        daemon.docker("network", "rm", net, check=False)


@pytest.mark.engine
def test_snapshot_cli_reads_through_pyroute2_and_psutil(daemon, uniq, image):
    """`dockscope snapshot --json` (a fresh process) imports pyroute2 and psutil
    while it runs, and what it read from each container's netns agrees with
    iproute2 run inside that netns (`nsenter -t PID -n ip -j addr|route`)."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    net = f"n{uniq}"
    names = [f"s{uniq}a", f"s{uniq}b"]
    daemon.docker("network", "create", net)
    daemon.docker("run", "-d", "--name", names[0], image, "sleep", "600")
    daemon.docker(
        "run", "-d", "--name", names[1], "--network", net, "-p", "127.0.0.1::80",
        image, "httpd", "-f", "-p", "80",
    )  # fmt: skip
    try:
        r = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "tui", "snapshot", "--json"],
            env=daemon.env(),
            cwd=str(root),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr[-2000:]
        imported = {
            ln.rsplit("|", 1)[-1].strip()
            for ln in r.stderr.splitlines()
            if ln.startswith("import time:")
        }
        # (the top-level "pyroute2" line is not always printed: its submodules are)
        want = {"pyroute2.iproute.linux", "pyroute2.netlink.rtnl.ifinfmsg", "psutil"}
        assert want <= imported, f"not imported: {sorted(want - imported)}"
        snap = json.loads(r.stdout)
        by_name = {c["name"]: c for c in snap["containers"]}
        for n in names:
            c = by_name[n]
            pid = c["pid"]
            ref_addr = json.loads(
                subprocess.run(
                    ["nsenter", "-t", str(pid), "-n", "ip", "-j", "addr"],
                    capture_output=True, text=True, check=True,
                ).stdout
            )  # fmt: skip
            want = {
                d["ifname"]: (
                    d["ifindex"],
                    d.get("address"),
                    d["mtu"],
                    [f"{a['local']}/{a['prefixlen']}" for a in d.get("addr_info", [])],
                )
                for d in ref_addr
            }
            got = {
                i["name"]: (i["ifindex"], i["mac"], i["mtu"], i["addresses"])
                for i in c["interfaces"]
            }
            assert got == want, n
            ref_route = json.loads(
                subprocess.run(
                    ["nsenter", "-t", str(pid), "-n", "ip", "-j", "route"],
                    capture_output=True, text=True, check=True,
                ).stdout
            )  # fmt: skip
            want_r = sorted((d["dst"], d.get("gateway"), d.get("dev")) for d in ref_route)
            got_r = sorted(
                (rt["dst"].removesuffix("/32"), rt["gateway"], rt["dev"])
                for rt in c["routes"]
                if rt["family"] == 4
            )
            assert got_r == want_r, n
            eth0 = next(i for i in c["interfaces"] if i["name"] == "eth0")
            iflink = int(
                open(f"/proc/{pid}/root/sys/class/net/eth0/iflink").read()  # noqa: SIM115
            )
            host_name = socket.if_indextoname(iflink)
            assert eth0["host_veth"] == host_name
        # the published port's host listener was found, with its owner (psutil)
        ports = [p for p in by_name[names[1]]["ports"] if p.get("host_port")]
        assert ports and ports[0]["listener_pid"], ports
    finally:
        daemon.docker("rm", "-f", *names, check=False)
        daemon.docker("network", "rm", net, check=False)


@root_only
def test_warm_rebuild_reuses_a_sandbox_read_until_the_engine_changes_it():
    """With a token (what the engine says about the sandbox) a read is reused
    within CACHE_TTL; a new token or a targeted refresh (fresh=True) reads again."""
    from types import SimpleNamespace

    lab = Lab(1)
    try:
        lab.up()
        ns = lab.ns[0]
        pid = lab.pids[ns]

        def token(ip):
            ep = SimpleNamespace(network_id="n", network="n", ipv4=ip, ipv6=None, mac=None)
            return sandbox.sandbox_token(
                SimpleNamespace(id=ns, pid=pid, sandbox_key=None, endpoints=[ep])
            )

        def addrs(info):
            return {a for i in info.interfaces for a in i.addresses}

        def build(tok, fresh=False):  # one reader per build, as the Model does
            r = sandbox.SandboxReader(fresh=fresh)
            try:
                return addrs(r.read(pid, None, tok))
            finally:
                r.close()

        first = build(token("a"))
        extra = f"{lab.net}.200/32"
        sh(f"ip -n {ns} addr add {extra} dev eth0")
        assert extra not in build(token("a"))  # reused
        assert extra in build(token("b"))  # the engine changed it
        sh(f"ip -n {ns} addr del {extra} dev eth0")
        assert extra not in build(token("b"), fresh=True)  # a refresh after an event
        assert extra not in build(token("b"))  # ... is what later builds reuse
        assert first == build(None)  # no token: always read
    finally:
        lab.down()


@root_only
def test_run_in_netns_threads_leave_no_fd_behind():
    """Each run_in_netns thread opens its home netns once; the fd goes with it."""
    import gc

    from inspectors.hostfacts import run_in_netns

    lab = Lab(1)
    try:
        lab.up(sleepers=False)
        path = f"/run/netns/{lab.ns[0]}"
        run_in_netns(path, lambda: None)
        gc.collect()
        before = len(os.listdir("/proc/self/fd"))
        got = [
            run_in_netns(path, lambda: os.readlink("/proc/thread-self/ns/net")) for _ in range(20)
        ]
        gc.collect()
        assert len(os.listdir("/proc/self/fd")) <= before
        assert len(set(got)) == 1 and got[0] != os.readlink("/proc/thread-self/ns/net")
    finally:
        lab.down()


# --------------------------------------------------------------------------- reader process


def _same_read(a: sandbox.SandboxInfo, b: sandbox.SandboxInfo) -> bool:
    return (a.error, a.interfaces, a.routes, a.netns_inode) == (
        b.error,
        b.interfaces,
        b.routes,
        b.netns_inode,
    )


@root_only
def test_reader_process_reads_what_this_process_reads_shares_its_tail_and_survives_death(
    monkeypatch,
):
    """The second process of a cold build (readerproc.ReaderProcess): its reads equal
    the in-process reads of the same namespaces; what it has not started when the
    caller is done is read by the caller instead (steal); and once it dies, every
    read falls back to the caller."""
    import threading

    monkeypatch.setattr(readerproc, "CHUNK", 4)  # 12 namespaces: three chunks
    lab = Lab(12)
    try:
        lab.up()
        targets = [(lab.pids[ns], f"/run/netns/{ns}") for ns in lab.ns]
        here = sandbox.SandboxReader()
        try:
            want = [here.read(pid, key) for pid, key in targets]
        finally:
            here.close()
        assert all(w.error is None for w in want)

        # a thread runs: the process is spawned (as in the console)
        hold = threading.Event()
        t = threading.Thread(target=hold.wait, daemon=True)
        t.start()
        rp = readerproc.ReaderProcess()
        hold.set()
        assert rp.method == "spawn"
        r = sandbox.SandboxReader(procs=rp)
        try:
            gets = [r.start(pid, key) for pid, key in targets]
            # the first chunk is handed to the process (it can no longer be taken
            # back), the child is still importing: the caller takes the rest from the
            # back (without the wait, a caller quicker than the executor's hand-over
            # thread took all twelve)
            deadline = time.monotonic() + 10
            while not rp._chunks[0][0].running() and time.monotonic() < deadline:
                time.sleep(0.005)
            stolen = []
            th = threading.Thread(target=lambda: stolen.append(r.steal()))
            th.start()
            th.join()
            got = [g() for g in gets]
            assert 1 <= stolen[0] < len(targets), stolen  # both processes read some
            for w, g in zip(want, got):
                assert _same_read(w, g), (w, g)
            # the process dies: the reads still come back, read here
            rp.call(os._exit, 3)
            time.sleep(0.5)
            again = [r.start(pid, key)() for pid, key in targets[:3]]
            for w, g in zip(want, again):
                assert _same_read(w, g), (w, g)
        finally:
            r.close()
    finally:
        lab.down()
