"""The joined model against oracles on the same host (issue #2).

One topology on the harness engine: two user-defined bridges, an internal
network, a container on two networks with an alias, a stopped container, a
container on the default bridge, host and none networks, published TCP and UDP
ports, a port range, a port bound to 127.0.0.1, a macvlan network on a veth
parent, and a host listener owned by a known process. The overlay case needs
swarm mode: it runs on the namespaced test cluster (tests/test_cluster.py). Oracles: `docker network inspect`,
`docker inspect`, `brctl show`/`showmacs`, `bridge -j fdb`, `ip -j link`,
`nsenter`+`ip -j addr/route`, `ss -ltnup`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

from inspectors.model import to_jsonable
from inspectors.snapshot import Model

pytestmark = pytest.mark.engine
IMG = "dockscope-busybox:test"


def free_port(proto=socket.SOCK_STREAM) -> int:
    s = socket.socket(socket.AF_INET, proto)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def free_range(n: int) -> int:
    for _ in range(200):
        base = free_port()
        if base + n > 65000:
            continue
        ok = True
        for p in range(base, base + n):
            s = socket.socket()
            try:
                s.bind(("0.0.0.0", p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return base
    raise RuntimeError("no free port range")


def sh(*cmd: str, **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def cli(daemon, *args: str, check=True) -> subprocess.CompletedProcess:
    env = daemon.env()
    r = subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        timeout=120,
    )
    if check and r.returncode != 0:
        raise AssertionError(f"dockscope {args} rc={r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def topo(daemon):
    u = os.urandom(3).hex()
    d = daemon.docker
    t = {"u": u}
    t["fa"], t["fb"], t["fi"], t["mv"] = f"fa{u}", f"fb{u}", f"fi{u}", f"mv{u}"
    d("network", "create", t["fa"])
    d("network", "create", t["fb"])
    d("network", "create", "--internal", t["fi"])
    # macvlan on a veth parent (no dummy module here)
    t["parent"], t["peer"] = f"dsmv{u}a", f"dsmv{u}b"
    sh("ip", "link", "add", t["parent"], "type", "veth", "peer", "name", t["peer"])
    sh("ip", "link", "set", t["parent"], "up")
    sh("ip", "link", "set", t["peer"], "up")
    second = str(daemon.pool).split(".")[1]
    t["mv_subnet"] = f"10.{second}.250.0/24"
    d(
        "network",
        "create",
        "-d",
        "macvlan",
        "-o",
        f"parent={t['parent']}",
        "--subnet",
        t["mv_subnet"],
        t["mv"],
    )
    t["p_tcp"], t["p_lo"], t["p_udp"] = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    t["p_range"] = free_range(2)
    t["web"], t["dflt"], t["stop"] = f"web{u}", f"def{u}", f"stp{u}"
    t["hostc"], t["nonec"], t["intc"], t["mvc"] = f"hst{u}", f"non{u}", f"int{u}", f"mvc{u}"
    d(
        "run",
        "-d",
        "--name",
        t["web"],
        "--network",
        t["fa"],
        "--network-alias",
        f"api{u}",
        "-p",
        f"{t['p_tcp']}:80",
        "-p",
        f"127.0.0.1:{t['p_lo']}:8080",
        "-p",
        f"{t['p_udp']}:53/udp",
        "-p",
        f"{t['p_range']}-{t['p_range'] + 1}:9000-9001",
        IMG,
        "httpd",
        "-f",
        "-p",
        "80",
    )
    d("network", "connect", "--alias", f"second{u}", t["fb"], t["web"])
    d("run", "-d", "--name", t["dflt"], IMG, "sleep", "3600")
    d("run", "-d", "--name", t["stop"], "--network", t["fa"], IMG, "sleep", "3600")
    d("stop", "-t", "0", t["stop"])
    d("run", "-d", "--name", t["hostc"], "--network", "host", IMG, "sleep", "3600")
    d("run", "-d", "--name", t["nonec"], "--network", "none", IMG, "sleep", "3600")
    d("run", "-d", "--name", t["intc"], "--network", t["fi"], IMG, "sleep", "3600")
    d("run", "-d", "--name", t["mvc"], "--network", t["mv"], IMG, "sleep", "3600")
    # traffic so the bridge FDB learns the container MACs
    d("exec", t["web"], "ping", "-c", "1", "-W", "1", f"api{u}", check=False)
    gw = json.loads(d("network", "inspect", t["fa"]).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    d("exec", t["web"], "ping", "-c", "1", "-W", "1", gw, check=False)
    # a host listener owned by a known process
    t["p_host"] = free_port()
    lst = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket,time;s=socket.socket();"
            "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
            f"s.bind(('127.0.0.1',{t['p_host']}));s.listen();time.sleep(600)",
        ]
    )
    t["listener_pid"] = lst.pid
    time.sleep(0.5)
    m = Model(host=daemon.host)
    t["snap"] = m.build()
    t["model"] = m
    yield t
    m.close()
    lst.kill()
    for c in ("web", "dflt", "stop", "hostc", "nonec", "intc", "mvc"):
        d("rm", "-f", t[c], check=False)
    for n in ("fa", "fb", "fi", "mv"):
        d("network", "rm", t[n], check=False)
    subprocess.run(["ip", "link", "del", t["parent"]], capture_output=True)


def inspect(daemon, *names):
    return json.loads(daemon.docker("inspect", *names).stdout)


def net_inspect(daemon, name):
    return json.loads(daemon.docker("network", "inspect", name).stdout)[0]


# ------------------------------------------------------------------ engine


def test_engine_facts_match_docker_version_and_the_daemon_process(daemon, topo):
    e = topo["snap"].engine
    assert e.reachable
    assert e.server_version == daemon.docker("version", "-f", "{{.Server.Version}}").stdout.strip()
    assert e.api_version == daemon.docker("version", "-f", "{{.Server.APIVersion}}").stdout.strip()
    assert e.debug is False
    assert e.daemon.pid == daemon.proc.pid
    assert e.daemon.config_file == str(daemon.config_file)
    assert e.daemon.log_source == f"file:{daemon.log_file}"


# ------------------------------------------------------------------ networks


def test_networks_match_docker_network_inspect(daemon, topo):
    snap = topo["snap"]
    names = daemon.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert sorted(n.name for n in snap.networks) == sorted(names)
    for name in (topo["fa"], topo["fb"], topo["fi"], topo["mv"], "bridge", "host", "none"):
        raw = net_inspect(daemon, name)
        n = snap.network(name)
        assert n.id == raw["Id"] and n.driver == raw["Driver"] and n.scope == raw["Scope"]
        assert n.internal == raw["Internal"] and n.attachable == raw["Attachable"]
        assert [(s.subnet, s.gateway) for s in n.subnets] == [
            (c["Subnet"], c.get("Gateway")) for c in (raw["IPAM"]["Config"] or [])
        ]
        want = {
            cid: (c["EndpointID"], c["IPv4Address"].split("/")[0] or None, c["MacAddress"] or None)
            for cid, c in (raw["Containers"] or {}).items()
        }
        got = {e.container_id: (e.endpoint_id, e.ipv4, e.mac) for e in n.endpoints}
        assert got == want, name
    assert snap.network(topo["fi"]).internal
    assert snap.network("bridge").dns_by_name is False
    assert snap.network(topo["fa"]).dns_by_name is True
    assert snap.network("bridge").bridge == daemon.bridge
    assert snap.network(topo["fa"]).bridge == "br-" + snap.network(topo["fa"]).id[:12]
    mv = snap.network(topo["mv"])
    assert mv.parent == topo["parent"] and mv.bridge is None
    assert snap.network("host").bridge is None and snap.network("host").parent is None


def test_endpoints_have_aliases_veths_and_sandbox_ifnames(daemon, topo):
    snap = topo["snap"]
    web = inspect(daemon, topo["web"])[0]
    pid = web["State"]["Pid"]
    links_in_ns = json.loads(sh("nsenter", "-t", str(pid), "-n", "ip", "-j", "link"))
    host_links = {l["ifindex"]: l["ifname"] for l in json.loads(sh("ip", "-j", "link"))}
    by_mac = {l["address"]: l for l in links_in_ns}
    for netname in (topo["fa"], topo["fb"]):
        raw = web["NetworkSettings"]["Networks"][netname]
        ep = next(e for e in snap.network(netname).endpoints if e.container == topo["web"])
        assert ep.aliases == raw["Aliases"]
        assert ep.ipv4 == raw["IPAddress"] and ep.mac == raw["MacAddress"]
        inner = by_mac[raw["MacAddress"]]
        assert ep.sandbox_ifname == inner["ifname"]
        assert ep.host_veth == host_links[inner["link_index"]]
    assert (
        f"api{topo['u']}"
        in next(e for e in snap.network(topo["fa"]).endpoints if e.container == topo["web"]).aliases
    )


# ------------------------------------------------------------------ containers


def test_containers_sandboxes_match_nsenter(daemon, topo):
    snap = topo["snap"]
    for key in ("web", "dflt", "intc", "mvc", "nonec"):
        name = topo[key]
        c = snap.container(name)
        raw = inspect(daemon, name)[0]
        assert (
            c.id == raw["Id"] and c.state == raw["State"]["Status"] and c.pid == raw["State"]["Pid"]
        )
        assert c.networks == sorted(raw["NetworkSettings"]["Networks"])
        addrs = json.loads(sh("nsenter", "-t", str(c.pid), "-n", "ip", "-j", "addr"))
        want = {
            a["ifname"]: (
                a.get("address"),
                sorted(f"{i['local']}/{i['prefixlen']}" for i in a["addr_info"]),
            )
            for a in addrs
        }
        got = {i.name: (i.mac, sorted(i.addresses)) for i in c.interfaces}
        assert got == want, name
        routes = json.loads(sh("nsenter", "-t", str(c.pid), "-n", "ip", "-j", "-4", "route"))
        want_r = sorted((r["dst"], r.get("gateway"), r.get("dev")) for r in routes)
        got_r = sorted(
            (r.dst, r.gateway, r.dev)
            for r in c.routes
            if r.family == 4 and (r.table in (None, 254))
        )
        assert got_r == want_r, name
        resolv = open(f"/proc/{c.pid}/root/etc/resolv.conf").read()
        ns = re.findall(r"^nameserver\s+(\S+)", resolv, re.M)
        assert c.dns.nameservers == ns, name
    # user-defined network: embedded DNS; default bridge: the host's servers
    assert snap.container(topo["web"]).dns.nameservers == ["127.0.0.11"]
    assert "127.0.0.11" not in snap.container(topo["dflt"]).dns.nameservers
    # host veth of each interface, checked with the iflink oracle
    host_links = {l["ifindex"]: l for l in json.loads(sh("ip", "-j", "link"))}
    web = snap.container(topo["web"])
    for i in web.interfaces:
        if i.name == "lo":
            continue
        iflink = int(open(f"/proc/{web.pid}/root/sys/class/net/{i.name}/iflink").read())
        assert i.host_veth == host_links[iflink]["ifname"]
        assert i.bridge == host_links[iflink]["master"]


def test_stopped_host_and_none_containers(daemon, topo):
    snap = topo["snap"]
    st = snap.container(topo["stop"])
    assert st.state == "exited" and st.pid is None and st.interfaces == []
    assert st.networks == [topo["fa"]]
    assert all(e.container != topo["stop"] for e in snap.network(topo["fa"]).endpoints)
    h = snap.container(topo["hostc"])
    assert h.network_mode == "host" and h.networks == ["host"]
    n = snap.container(topo["nonec"])
    assert n.networks == ["none"] and [i.name for i in n.interfaces] == ["lo"]


def test_ports_match_docker_and_name_their_holder(daemon, topo):
    snap = topo["snap"]
    raw = inspect(daemon, topo["web"])[0]["NetworkSettings"]["Ports"]
    want = sorted(
        (int(k.split("/")[0]), k.split("/")[1], b["HostIp"], int(b["HostPort"]))
        for k, v in raw.items()
        for b in (v or [])
    )
    c = snap.container(topo["web"])
    got = sorted((p.container_port, p.protocol, p.host_ip, p.host_port) for p in c.ports)
    assert got == want
    lo = next(p for p in c.ports if p.host_port == topo["p_lo"])
    assert lo.host_ip == "127.0.0.1"
    assert {
        p.container_port for p in c.ports if p.host_port in (topo["p_range"], topo["p_range"] + 1)
    } == {9000, 9001}
    # the userland proxy holds the published ports on this engine
    tcp = next(p for p in c.ports if p.host_port == topo["p_tcp"] and p.host_ip == "0.0.0.0")
    assert tcp.listener_process == "docker-proxy" and tcp.owner == "docker-proxy"
    udp = next(p for p in c.ports if p.host_port == topo["p_udp"] and p.protocol == "udp")
    assert udp.listener_pid is not None


def _ss_listeners() -> set:
    out = set()
    for line in sh("ss", "-ltnupH").splitlines():
        parts = line.split()
        proto, local = parts[0], parts[4]
        _, _, port = local.rpartition(":")
        m = re.search(r"pid=(\d+)", line)
        out.add((proto, int(port), int(m.group(1)) if m else None))
    return out


def test_listeners_match_ss(topo):
    snap = topo["snap"]
    mine = [l for l in snap.listeners if l.port == topo["p_host"]]
    assert [(l.protocol, l.ip, l.pid) for l in mine] == [("tcp", "127.0.0.1", topo["listener_pid"])]
    # other processes open and close sockets meanwhile: compare what ss saw both
    # before and after our read (stable) with what we read
    before = _ss_listeners()
    snap = topo["model"].refresh_listeners()
    after = _ss_listeners()
    got = {(l.protocol, l.port, l.pid) for l in snap.listeners}
    assert before & after <= got <= before | after


# ------------------------------------------------------------------ bridges


def test_bridges_and_their_ports(daemon, topo):
    snap = topo["snap"]
    fa = snap.network(topo["fa"])
    br = snap.bridge(fa.bridge)
    assert br.network == topo["fa"]
    assert br.bridge_id == open(f"/sys/class/net/{br.name}/bridge/bridge_id").read().strip()
    assert br.stp_enabled is False
    ifaces = sorted(os.listdir(f"/sys/class/net/{br.name}/brif"))
    assert sorted(br.interfaces) == ifaces
    web_port = next(p for p in br.ports if p.container == topo["web"])
    assert web_port.sandbox_ifname in ("eth0", "eth1") and web_port.state == "forwarding"
    fdb = json.loads(sh("bridge", "-j", "fdb", "show", "br", br.name))
    want = {
        (f["mac"], f["ifname"])
        for f in fdb
        if f.get("master") == br.name
        or ("master" not in f and f.get("ifname") != br.name and "self" not in f.get("flags", []))
    }
    got = {(f.mac, f.port) for f in br.fdb}
    assert got >= {w for w in want if w[1] != br.name}
    web_mac = inspect(daemon, topo["web"])[0]["NetworkSettings"]["Networks"][topo["fa"]][
        "MacAddress"
    ]
    assert any(f.mac == web_mac and not f.is_local and f.port == web_port.name for f in br.fdb)


def test_brctl_show_is_byte_for_byte_brctl(daemon, topo):
    assert cli(daemon, "brctl", "show").stdout == sh("brctl", "show")
    br = topo["snap"].network(topo["fa"]).bridge
    assert cli(daemon, "brctl", "show", br).stdout == sh("brctl", "show", br)
    mask = lambda s: re.sub(r"\d+\.\d\d\s*$", "T", s, flags=re.M)  # noqa: E731 ageing timer
    assert mask(cli(daemon, "brctl", "showmacs", br).stdout) == mask(sh("brctl", "showmacs", br))


def test_brctl_show_containers_names_who_sits_behind_each_veth(daemon, topo):
    out = cli(daemon, "brctl", "show", "--containers").stdout
    web_port = next(
        p
        for p in topo["snap"].bridge(topo["snap"].network(topo["fa"]).bridge).ports
        if p.container == topo["web"]
    )
    line = next(ln for ln in out.splitlines() if web_port.name in ln)
    assert topo["web"] in line and topo["fa"] in line


# ------------------------------------------------------------------ CLI contract


CONTRACT = {
    "engine": ["server_version", "api_version", "debug", "daemon"],
    "networks": [
        "id",
        "name",
        "driver",
        "scope",
        "internal",
        "attachable",
        "subnets",
        "bridge",
        "parent",
        "endpoints",
    ],
    "endpoints": [
        "container",
        "container_id",
        "endpoint_id",
        "ipv4",
        "mac",
        "aliases",
        "host_veth",
        "sandbox_ifname",
    ],
    "bridges": ["name", "bridge_id", "stp_enabled", "interfaces", "network", "fdb"],
    "fdb": ["port", "mac", "is_local", "ageing_timer"],
    "containers": [
        "id",
        "name",
        "state",
        "pid",
        "networks",
        "interfaces",
        "routes",
        "dns",
        "ports",
    ],
    "interfaces": ["name", "mac", "addresses", "host_veth"],
    "ports": ["container_port", "protocol", "host_ip", "host_port"],
    "listeners": ["protocol", "ip", "port", "pid", "process"],
}


def test_snapshot_json_contract(daemon, topo):
    data = json.loads(cli(daemon, "snapshot", "--json").stdout)
    for k in CONTRACT["engine"]:
        assert k in data["engine"]
    for k in ("pid", "config_file", "log_source"):
        assert k in data["engine"]["daemon"]
    assert data["engine"]["daemon"]["pid"] == daemon.proc.pid
    for n in data["networks"]:
        assert set(CONTRACT["networks"]) <= set(n)
        for s in n["subnets"]:
            assert {"subnet", "gateway"} <= set(s)
        for e in n["endpoints"]:
            assert set(CONTRACT["endpoints"]) <= set(e)
    for b in data["bridges"]:
        assert set(CONTRACT["bridges"]) <= set(b)
        for f in b["fdb"]:
            assert set(CONTRACT["fdb"]) <= set(f)
    for c in data["containers"]:
        assert set(CONTRACT["containers"]) <= set(c)
        assert {"nameservers", "search"} <= set(c["dns"])
        for i in c["interfaces"]:
            assert set(CONTRACT["interfaces"]) <= set(i)
        for p in c["ports"]:
            assert set(CONTRACT["ports"]) <= set(p)
    for l in data["listeners"]:
        assert set(CONTRACT["listeners"]) <= set(l)
    web = next(c for c in data["containers"] if c["name"] == topo["web"])
    assert web == to_jsonable(topo["snap"].container(topo["web"])) | {
        k: web[k] for k in ("status",)
    }  # same model in the CLI and the library


def test_text_snapshot_mentions_every_container(daemon, topo):
    out = cli(daemon, "snapshot").stdout
    for key in ("web", "dflt", "stop", "hostc", "nonec", "intc", "mvc"):
        assert topo[key] in out


def test_text_snapshot_and_brctl_print_no_escape_sequences(daemon, image, uniq):
    """Names, labels and aliases come from whoever created the containers: the text
    views (not --json, which escapes) print them through the one sanitizer."""
    net, ctr = f"esc-{uniq}", f"escc-{uniq}"
    osc = "\x1b]0;TTL\x07"
    daemon.docker("network", "create", "--label", f"x=a{osc}b", net)
    try:
        daemon.docker(
            "run", "-d", "--name", ctr, "--network", net, "--network-alias",
            f"al\x1b[2Jx{osc}\u202eq", image, "sleep", "300",
        )  # fmt: skip
        for argv in (("snapshot",), ("brctl", "show", "--containers")):
            out = cli(daemon, *argv).stdout
            assert ctr in out
            assert not any(c in out for c in ("\x1b", "\x07", "\u202e")), argv
        assert "alxq" in cli(daemon, "snapshot").stdout
    finally:
        daemon.docker("rm", "-f", ctr, check=False)
        daemon.docker("network", "rm", net, check=False)


def test_no_engine_is_one_line_exit_2_and_kernel_still_prints(tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/nope.sock")
    r = subprocess.run(
        [sys.executable, "-m", "tui", "snapshot", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr
    data = json.loads(r.stdout)
    assert data["engine"]["reachable"] is False
    assert data["bridges"] and data["listeners"]  # kernel and sockets still there


def test_permission_denied_on_the_socket_is_named(daemon):
    """Fork, drop to nobody, and connect to the harness socket."""
    from inspectors.api import EngineError, open_engine

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                open_engine(daemon.host)
                msg = "connected"
            except EngineError as e:
                msg = f"{e.kind}|{e}"
            os.write(w, msg.encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    msg = os.read(r, 4096).decode()
    os.close(r)
    kind, _, text = msg.partition("|")
    assert kind == "permission", msg
    assert "permission denied" in text and "docker" in text


def test_docker_context_is_honoured(daemon, tmp_path):
    import hashlib

    name = "dstest"
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": daemon.host}}})
    )
    env = dict(os.environ, DOCKER_CONFIG=str(tmp_path))
    env.pop("DOCKER_HOST", None)
    r = subprocess.run(
        [sys.executable, "-m", "tui", "--context", name, "snapshot", "--json", "--no-sandboxes"],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["engine"]["host"] == daemon.host and data["engine"]["context"] == name


# ------------------------------------------------------------------ targeted refresh


def test_refresh_one_container_after_an_event(daemon, topo):
    m = topo["model"]
    u = topo["u"]
    name = f"new{u}"
    daemon.docker("run", "-d", "--name", name, "--network", topo["fb"], IMG, "sleep", "600")
    try:
        cid = daemon.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
        snap = m.refresh_container(cid)
        c = snap.container(name)
        assert c is not None and c.state == "running" and c.pid
        # the one-container join leaves the snapshot as the full join would
        from inspectors.model import to_jsonable
        from inspectors.snapshot import join

        one = to_jsonable(snap)
        join(snap)
        assert to_jsonable(snap) == one
        ep = next(e for e in snap.network(topo["fb"]).endpoints if e.container == name)
        assert ep.host_veth and ep.sandbox_ifname == "eth0"
        br = snap.bridge(snap.network(topo["fb"]).bridge)
        assert any(p.name == ep.host_veth and p.container == name for p in br.ports)
        daemon.docker("rm", "-f", name)
        snap = m.refresh_container(cid)
        assert snap.container(name) is None
        one = to_jsonable(snap)
        join(snap)
        assert to_jsonable(snap) == one
        assert all(e.container != name for e in snap.network(topo["fb"]).endpoints)
    finally:
        daemon.docker("rm", "-f", name, check=False)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_model_with_few_worker_threads_builds_what_eight_build(daemon, topo, threads):
    """The engine reads that fan out into the worker pool (networks, containers) wait
    outside it: with one or two workers a build used to wait forever on itself."""

    def view(snap):
        d = to_jsonable(snap)
        return (
            sorted((c["name"], c["state"], c["pid"]) for c in d["containers"]),
            sorted((n["name"], len(n["endpoints"])) for n in d["networks"]),
        )

    m = Model(host=daemon.host, threads=threads, with_sandboxes=False, with_listeners=False)
    try:
        got: list = []
        t = threading.Thread(target=lambda: got.append(m.build()), daemon=True)
        t.start()
        t.join(60)
        assert not t.is_alive(), f"a build with {threads} worker thread(s) never ended"
    finally:
        m.close()
    want = Model(host=daemon.host, with_sandboxes=False, with_listeners=False)
    try:
        assert view(got[0]) == view(want.build())
    finally:
        want.close()


def test_refresh_one_network(daemon, topo):
    m = topo["model"]
    name = f"rn{topo['u']}"
    nid = daemon.docker("network", "create", name).stdout.strip()
    try:
        snap = m.refresh_network(nid)
        n = snap.network(name)
        assert n is not None and n.bridge == "br-" + nid[:12]
        assert snap.bridge(n.bridge) is not None and snap.bridge(n.bridge).network == name
        daemon.docker("network", "rm", name)
        snap = m.refresh_network(nid)
        assert snap.network(name) is None
    finally:
        daemon.docker("network", "rm", name, check=False)


def test_warm_rebuild_sees_changes_the_inspect_cache_must_not_hide(daemon, topo):
    """A warm build reuses inspects only while the container list entry is unchanged."""
    m = topo["model"]
    u = topo["u"]
    name = f"wc{u}"
    daemon.docker("run", "-d", "--name", name, "--network", topo["fa"], IMG, "sleep", "600")
    try:
        snap = m.build()
        pid1 = snap.container(name).pid
        daemon.docker("network", "connect", "--alias", f"late{u}", topo["fb"], name)
        snap = m.build()
        ep = next(e for e in snap.network(topo["fb"]).endpoints if e.container == name)
        assert f"late{u}" in ep.aliases and ep.host_veth
        daemon.docker("restart", "-t", "0", name)
        snap = m.build()
        c = snap.container(name)
        assert c.pid and c.pid != pid1
        assert c.pid == int(daemon.docker("inspect", "-f", "{{.State.Pid}}", name).stdout)
        assert all(i.host_veth for i in c.interfaces if i.name != "lo")
    finally:
        daemon.docker("rm", "-f", name, check=False)


def test_remote_engine_engine_part_works_kernel_part_says_why(daemon, tmp_path):
    """A tcp:// engine that is not loopback counts as remote: the engine views come
    through the docker SDK, the kernel/sandbox/socket views are empty with a note.
    The "remote" engine is the harness daemon behind a TCP relay on an address of a
    veth this test creates."""
    import threading

    u = os.urandom(3).hex()
    a, b = f"dsr{u}a", f"dsr{u}b"
    second = str(daemon.pool).split(".")[1]
    ip = f"10.{second}.251.1"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    sh("ip", "addr", "add", f"{ip}/32", "dev", a)
    sh("ip", "link", "set", a, "up")
    srv = socket.socket()
    srv.bind((ip, 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    stop = threading.Event()

    def pipe(x, y):
        try:
            while True:
                d = x.recv(65536)
                if not d:
                    break
                y.sendall(d)
        except OSError:
            pass
        finally:
            for s in (x, y):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def relay():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            up = socket.socket(socket.AF_UNIX)
            up.connect(str(daemon.socket))
            threading.Thread(target=pipe, args=(c, up), daemon=True).start()
            threading.Thread(target=pipe, args=(up, c), daemon=True).start()

    t = threading.Thread(target=relay, daemon=True)
    t.start()
    try:
        env = dict(os.environ, DOCKER_HOST=f"tcp://{ip}:{port}")
        r = subprocess.run(
            [sys.executable, "-m", "tui", "snapshot", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=os.path.dirname(os.path.dirname(__file__)),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["engine"]["reachable"] and data["engine"]["local"] is False
        assert {n["name"] for n in data["networks"]} >= {"bridge", "host", "none"}
        assert data["bridges"] == [] and data["listeners"] == []
        assert any("not on this host" in n for n in data["notes"])
    finally:
        stop.set()
        t.join(2)
        srv.close()
        subprocess.run(["ip", "link", "del", a], capture_output=True)


def _comparable(d: dict, ports: set[int]) -> dict:
    """A snapshot (as JSON) without what moves between two reads (counters,
    clocks, uptimes) and with only the listeners on ``ports`` (other tests open
    and close sockets meanwhile)."""
    volatile = {"taken_at", "stats", "updated", "status", "ageing_timer"}

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in volatile}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    d = strip(d)
    d["listeners"] = sorted(
        (li["protocol"], li["ip"], li["port"], li.get("pid"))
        for li in d["listeners"]
        if li["port"] in ports
    )
    return d


def _fresh_process_json(code: str) -> dict:
    """``python -c code`` in this checkout, a process with no thread of its own
    (so a cold build forks its reader); its stdout read as JSON."""
    return json.loads(
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )


def _diff(a, b, path=""):
    """The first place two JSON values differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _diff(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _diff(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces)")
def test_cold_build_in_a_reader_process_equals_the_in_process_build(daemon, topo, monkeypatch):
    """A cold build may read the host tables, the sockets and the namespaces in a
    second process (forked by a one-shot command, spawned where threads run): the
    snapshot is the one this process reads by itself."""
    import threading

    import inspectors.snapshot as snapmod

    ports = {topo["p_tcp"], topo["p_lo"], topo["p_udp"], topo["p_range"]}

    def cold(**kw) -> tuple[dict, str | None]:
        m = Model(host=daemon.host, **kw)
        try:
            return _comparable(to_jsonable(m.build()), ports), m.reader_method
        finally:
            m.close()

    base, how = cold(reader_process=False)
    assert how is None
    assert base["listeners"]  # the published ports' docker-proxy
    # spawned: a thread runs, and the container count gate is lowered to this engine's
    monkeypatch.setattr(snapmod, "READER_PROCESS_MIN", 1)
    hold = threading.Event()
    t = threading.Thread(target=hold.wait, daemon=True)
    t.start()
    try:
        spawned, how = cold()
    finally:
        hold.set()
        t.join()
    assert how == "spawn"
    # forked: a one-shot command's process, which has no other thread
    code = (
        "import json, sys; sys.path.insert(0, '.');"
        "from inspectors.snapshot import Model; from inspectors.model import to_jsonable;"
        f"m = Model(host={daemon.host!r}); s = m.build();"
        "print(json.dumps({'how': m.reader_method, 'snap': to_jsonable(s)}))"
    )
    out = _fresh_process_json(code)
    assert out["how"] == "fork"
    forked = _comparable(out["snap"], ports)
    for got in (spawned, forked):
        for key in ("containers", "bridges", "links", "networks", "notes", "listeners"):
            for a, b in zip(got[key], base[key]):
                assert a == b, (key, _diff(a, b))
            assert len(got[key]) == len(base[key]), key
    web = next(c for c in spawned["containers"] if c["name"] == topo["web"])
    assert any(i["host_veth"] for i in web["interfaces"])  # the join ran on the child's reads


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces)")
def test_console_first_read_runs_in_a_forked_process_that_then_serves_the_first_build(daemon, topo):
    """tui/prefetch.py forks before Textual is imported: the networks list comes
    from the child, and the model's first build reads the kernel in that child;
    both equal what this process reads by itself."""
    code = (
        "import json, sys; sys.path.insert(0, '.');"
        "from tui import prefetch; from inspectors.model import to_jsonable;"
        f"fr = prefetch.start({daemon.host!r}); q = fr.result(30);"
        "kind = type(fr).__name__; s = fr.model.build(); fr.model.close();"
        "print(json.dumps({'kind': kind, 'how': fr.model.reader_method,"
        " 'quick': [n.name for n in q.networks], 'snap': to_jsonable(s)}))"
    )
    out = _fresh_process_json(code)
    assert out["kind"] == "ForkedFirstRead" and out["how"] == "fork"
    m = Model(host=daemon.host, reader_process=False)
    try:
        base = m.build()
    finally:
        m.close()
    assert out["quick"] == sorted(n.name for n in base.networks)
    ports = {topo["p_tcp"], topo["p_lo"], topo["p_udp"], topo["p_range"]}
    got, want = _comparable(out["snap"], ports), _comparable(to_jsonable(base), ports)
    for key in ("containers", "bridges", "links", "networks", "listeners"):
        for a, b in zip(got[key], want[key]):
            assert a == b, (key, _diff(a, b))
        assert len(got[key]) == len(want[key]), key


def test_join_twice_is_join_once_and_a_macvlan_on_a_veth_parent_owns_no_veth(daemon, topo):
    """A macvlan's link is its parent; here the parent is a veth, which a join once
    took for the container's host side (and only on a second pass, so a targeted
    refresh and a build disagreed)."""
    from inspectors.snapshot import join

    m = Model(host=daemon.host)
    try:
        snap = m.build()
    finally:
        m.close()
    once = to_jsonable(snap)
    join(snap)
    assert to_jsonable(snap) == once
    c = snap.container(topo["mvc"])
    assert c is not None and c.pid
    assert all(i.host_veth is None for i in c.interfaces)
    assert all(e.host_veth is None for e in c.endpoints)
    assert any(i.kind == "macvlan" for i in c.interfaces)
    assert all(p.container != topo["mvc"] for b in snap.bridges for p in b.ports)


def test_a_trimmed_inspect_parses_and_names_peers_as_the_whole_one(daemon, topo):
    """The model caches container inspects trimmed to what is read again
    (inspectors.engine.INSPECT_KEEP): the container and the doctor's refs parsed from
    the trimmed JSON equal those parsed from the whole one, for every kind of
    container here (published ports, a stopped one with bindings, aliases, host, none,
    macvlan), and the trimmed one is much smaller."""
    from inspectors.engine import parse_container, trim_inspect
    from inspectors.hostfacts import container_refs_from_inspect

    names = [topo[k] for k in ("web", "dflt", "stop", "hostc", "nonec", "intc", "mvc")]
    raws = inspect(daemon, *names)
    others = set(names)
    for raw in raws:
        small = trim_inspect(raw)
        assert to_jsonable(parse_container(small)) == to_jsonable(parse_container(raw))
        name = raw["Name"].lstrip("/")
        assert container_refs_from_inspect(small, others, {}, name) == (
            container_refs_from_inspect(raw, others, {}, name)
        )
        assert len(json.dumps(small)) < len(json.dumps(raw)) / 2
    # the model's cache holds the trimmed form
    cached = topo["model"].container_inspects()
    web = next(r for r in raws if r["Name"] == "/" + topo["web"])
    assert cached[web["Id"]] == trim_inspect(web)
