"""SVG snapshot tests of every pane, from a fixed Snapshot built here.

No engine, no kernel: the app is ``tests.fixed_app.FixedApp(demo_snapshot())`` with fixed names, addresses and times (TZ=UTC), so the pictures
only change when the UI does. Regenerate after a deliberate UI change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import time

import pytest

from inspectors.config import Settings
from inspectors.doctor import Finding
from inspectors.model import (
    Bridge,
    BridgePort,
    Container,
    DaemonProcess,
    DnsConfig,
    Endpoint,
    Engine,
    FdbEntry,
    Interface,
    Link,
    LinkStats,
    Listener,
    Network,
    PortBinding,
    Route,
    Snapshot,
    Subnet,
)
from inspectors.snapshot import join
from tests.fixed_app import FixedApp
from tui.app import DockscopeApp
from tui.live import EngineLost

SIZE = (120, 40)
T0 = 1767225600.0  # 2026-01-01 00:00:00 UTC

NET_IDS = {
    "bridge": "3f1c2b0a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
    "frontend": "8a1f0c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    "backend": "5b6c7d8e9f0112233445566778899aabbccddeeff00112233445566778899aab",
    "host": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d",
    "none": "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b",
    "lan": "77aa88bb99cc00dd11ee22ff33aa44bb55cc66dd77ee88ff99aa00bb11cc22dd",
}
CTR_IDS = {
    "web": "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc",
    "proxy": "beef0011223344556677889900aabbccddeeff0011223344556677889900aabb",
    "db": "d00d0011223344556677889900aabbccddeeff0011223344556677889900aabb",
    "legacy": "1e9ac10011223344556677889900aabbccddeeff0011223344556677889900aa",
    "worker": "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1",
}
MACS = {
    "web0": "02:42:ac:14:00:02",
    "web1": "02:42:ac:15:00:03",
    "proxy0": "02:42:ac:14:00:03",
    "db0": "02:42:ac:15:00:02",
    "legacy0": "02:42:ac:11:00:02",
}


def _ep(ctr: str, net: str, ip: str, plen: int, mac: str, gw: str, aliases=(), dns=()) -> Endpoint:
    return Endpoint(
        container=ctr,
        container_id=CTR_IDS[ctr],
        network=net,
        network_id=NET_IDS[net],
        endpoint_id=(CTR_IDS[ctr][:8] + NET_IDS[net][:8]) * 4,
        ipv4=ip,
        ipv4_prefixlen=plen,
        mac=mac,
        gateway=gw,
        aliases=list(aliases),
        dns_names=list(dns),
    )


def _stats(rx: int, tx: int) -> LinkStats:
    return LinkStats(rx_bytes=rx, tx_bytes=tx, rx_packets=rx // 500, tx_packets=tx // 500)


def demo_snapshot() -> Snapshot:
    """A small production-like host: 2 user bridges (one internal), the default
    bridge, a macvlan, a container on two networks with aliases, published ports
    (one on 127.0.0.1 only), a stopped container whose port a stranger holds, and
    a leftover bridge."""
    eps = {
        "web": [
            _ep(
                "web",
                "backend",
                "172.21.0.3",
                24,
                MACS["web1"],
                "172.21.0.1",
                ["api", "c0ffee001122"],
                ["web", "api"],
            ),
            _ep(
                "web",
                "frontend",
                "172.20.0.2",
                16,
                MACS["web0"],
                "172.20.0.1",
                ["www", "c0ffee001122"],
                ["web", "www"],
            ),
        ],
        "proxy": [
            _ep(
                "proxy",
                "frontend",
                "172.20.0.3",
                16,
                MACS["proxy0"],
                "172.20.0.1",
                ["beef00112233"],
                ["proxy"],
            )
        ],
        "db": [
            _ep(
                "db",
                "backend",
                "172.21.0.2",
                24,
                MACS["db0"],
                "172.21.0.1",
                ["postgres", "d00d00112233"],
                ["db", "postgres"],
            )
        ],
        "legacy": [_ep("legacy", "bridge", "172.17.0.2", 16, MACS["legacy0"], "172.17.0.1")],
    }
    worker_ep = Endpoint(
        container="worker",
        container_id=CTR_IDS["worker"],
        network="frontend",
        network_id=NET_IDS["frontend"],
        attached=False,
    )

    def net(name, driver, subnet=None, gw=None, bridge=None, **kw) -> Network:
        n = Network(
            id=NET_IDS[name],
            name=name,
            driver=driver,
            created="2025-12-30T09:14:02.123Z",
            subnets=[Subnet(subnet, gw)] if subnet else [],
            ipam_driver="default",
            bridge=bridge,
            **kw,
        )
        n.endpoints = sorted(
            (
                Endpoint(**{**e.__dict__, "aliases": []})
                for es in eps.values()
                for e in es
                if e.network == name
            ),
            key=lambda e: e.container,
        )
        return n

    networks = [
        net(
            "backend",
            "bridge",
            "172.21.0.0/24",
            "172.21.0.1",
            "br-5b6c7d8e9f01",
            internal=True,
            labels={"com.example.team": "payments"},
        ),
        net(
            "bridge",
            "bridge",
            "172.17.0.0/16",
            "172.17.0.1",
            "docker0",
            dns_by_name=False,
            options={
                "com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.bridge.name": "docker0",
                "com.docker.network.driver.mtu": "1500",
            },
        ),
        net(
            "frontend",
            "bridge",
            "172.20.0.0/16",
            "172.20.0.1",
            "br-8a1f0c2d3e4f",
            attachable=True,
            labels={"com.docker.compose.project": "shop"},
            options={"com.docker.network.driver.mtu": "1500"},
        ),
        net("host", "host"),
        net(
            "lan",
            "macvlan",
            "192.168.50.0/24",
            "192.168.50.1",
            None,
            parent="eth0",
            options={"parent": "eth0", "macvlan_mode": "bridge"},
        ),
        net("none", "null"),
    ]

    # ---- kernel: links and bridges
    links: list[Link] = [
        Link(
            1,
            "lo",
            None,
            65536,
            "UNKNOWN",
            True,
            True,
            "00:00:00:00:00:00",
            addresses=["127.0.0.1/8"],
        ),
        Link(
            2,
            "eth0",
            None,
            1500,
            "UP",
            True,
            True,
            "52:54:00:12:34:56",
            promiscuity=1,
            addresses=["192.168.50.10/24"],
            stats=_stats(9_800_000_000, 2_400_000_000),
        ),
        Link(
            3,
            "docker0",
            "bridge",
            1500,
            "UP",
            True,
            True,
            "02:42:5d:7e:11:01",
            addresses=["172.17.0.1/16"],
            stats=_stats(52_000, 81_000),
        ),
        Link(
            4,
            "br-8a1f0c2d3e4f",
            "bridge",
            1500,
            "UP",
            True,
            True,
            "02:42:8a:1f:0c:2d",
            addresses=["172.20.0.1/16"],
            stats=_stats(7_100_000, 93_000_000),
        ),
        Link(
            5,
            "br-5b6c7d8e9f01",
            "bridge",
            1500,
            "UP",
            True,
            True,
            "02:42:5b:6c:7d:8e",
            addresses=["172.21.0.1/24"],
            stats=_stats(1_000, 2_000),
        ),
        Link(6, "br-dead00beef00", "bridge", 1500, "DOWN", False, False, "02:42:de:ad:00:be"),
    ]
    veths = [  # (index, name, bridge, bridge index, container, sandbox if, mac of container side)
        (11, "veth1a2b3c4", "br-8a1f0c2d3e4f", 4, "web", "eth0", MACS["web0"]),
        (12, "veth5d6e7f8", "br-8a1f0c2d3e4f", 4, "proxy", "eth0", MACS["proxy0"]),
        (13, "veth9a0b1c2", "br-5b6c7d8e9f01", 5, "web", "eth1", MACS["web1"]),
        (14, "veth3d4e5f6", "br-5b6c7d8e9f01", 5, "db", "eth0", MACS["db0"]),
        (15, "veth7a8b9c0", "docker0", 3, "legacy", "eth0", MACS["legacy0"]),
    ]
    for idx, name, br, bri, _c, _i, _m in veths:
        links.append(
            Link(
                idx,
                name,
                "veth",
                1500,
                "UP",
                True,
                True,
                f"6a:1b:2c:3d:4e:{idx:02x}",
                master=bri,
                master_name=br,
                peer_ifindex=2,
                peer_netnsid=idx - 10,
                stats=_stats(idx * 1_000_000, idx * 3_000_000),
            )
        )

    def bridge(name, idx, bid, ports, fdb=(), **kw) -> Bridge:
        return Bridge(
            name=name,
            ifindex=idx,
            bridge_id=bid,
            stp_enabled=False,
            interfaces=[p.name for p in ports],
            ports=ports,
            fdb=list(fdb),
            mtu=1500,
            operstate=kw.pop("operstate", "UP"),
            ageing_time=300.0,
            **kw,
        )

    def port(name, idx, no) -> BridgePort:
        return BridgePort(
            name=name,
            ifindex=idx,
            port_no=no,
            state="forwarding",
            hairpin=False,
            path_cost=2,
            kind="veth",
            operstate="UP",
            mtu=1500,
        )

    bridges = [
        bridge(
            "br-5b6c7d8e9f01",
            5,
            "8000.02425b6c7d8e",
            [port("veth3d4e5f6", 14, 2), port("veth9a0b1c2", 13, 1)],
            [
                FdbEntry("veth9a0b1c2", 1, "6a:1b:2c:3d:4e:0d", True, 0.0),
                FdbEntry("veth9a0b1c2", 1, MACS["web1"], False, 12.5),
                FdbEntry("veth3d4e5f6", 2, MACS["db0"], False, 3.25),
            ],
            addresses=["172.21.0.1/24"],
        ),
        bridge(
            "br-8a1f0c2d3e4f",
            4,
            "8000.02428a1f0c2d",
            [port("veth1a2b3c4", 11, 1), port("veth5d6e7f8", 12, 2)],
            [
                FdbEntry("br-8a1f0c2d3e4f", None, "02:42:8a:1f:0c:2d", True, 0.0),
                FdbEntry("veth1a2b3c4", 1, "6a:1b:2c:3d:4e:0b", True, 0.0),
                FdbEntry("veth1a2b3c4", 1, MACS["web0"], False, 1.75),
                FdbEntry("veth5d6e7f8", 2, "6a:1b:2c:3d:4e:0c", True, 0.0),
                FdbEntry("veth5d6e7f8", 2, MACS["proxy0"], False, 0.5),
            ],
            addresses=["172.20.0.1/16"],
        ),
        bridge("br-dead00beef00", 6, "8000.0242dead00be", [], operstate="DOWN"),
        bridge(
            "docker0",
            3,
            "8000.02425d7e1101",
            [port("veth7a8b9c0", 15, 1)],
            [FdbEntry("veth7a8b9c0", 1, MACS["legacy0"], False, 44.0)],
            addresses=["172.17.0.1/16"],
        ),
    ]

    # ---- containers (inspect + sandbox)
    def ifaces(name) -> list[Interface]:
        out = [Interface("lo", 1, "00:00:00:00:00:00", 65536, "UNKNOWN", None, ["127.0.0.1/8"])]
        for idx, veth, br, _bi, c, ifn, mac in veths:
            if c == name:
                ip = next(e for e in eps[name] if e.mac == mac)
                out.append(
                    Interface(
                        ifn,
                        40 + idx,
                        mac,
                        1500,
                        "UP",
                        "veth",
                        [f"{ip.ipv4}/{ip.ipv4_prefixlen}"],
                        idx,
                        veth,
                        br,
                    )
                )
        return sorted(out, key=lambda i: i.name)

    def routes(name) -> list[Route]:
        out = []
        for e in sorted(eps[name], key=lambda e: e.network != "frontend"):
            iface = next(i for i in ifaces(name) if i.mac == e.mac)
            if not out and e.network != "backend":
                out.append(Route("default", e.gateway, iface.name, table=254, scope="global"))
            out.append(
                Route(
                    f"{e.ipv4.rsplit('.', 2)[0]}.0.0/{e.ipv4_prefixlen}"
                    if e.ipv4_prefixlen == 16
                    else f"{e.ipv4.rsplit('.', 1)[0]}.0/24",
                    None,
                    iface.name,
                    e.ipv4,
                    table=254,
                    scope="link",
                )
            )
        return out

    def ctr(name, image, pid, ports=(), labels=None, state="running", mode=None) -> Container:
        c = Container(
            id=CTR_IDS[name],
            name=name,
            image=image,
            state=state,
            status="Up 3 days" if state == "running" else "Exited (137) 2 hours ago",
            pid=pid,
            network_mode=mode or (eps[name][0].network if name in eps else "frontend"),
            labels=labels or {},
            created="2025-12-29T11:00:00Z",
            log_driver="json-file",
        )
        c.endpoints = [
            Endpoint(**{**e.__dict__, "aliases": list(e.aliases)}) for e in eps.get(name, [])
        ]
        c.networks = [e.network for e in c.endpoints]
        c.ports = list(ports)
        if state == "running":
            c.sandbox_key = f"/var/run/docker/netns/{CTR_IDS[name][:12]}"
            c.sandbox_id = CTR_IDS[name][::-1]
            c.netns = f"/proc/{pid}/ns/net"
            c.interfaces = ifaces(name)
            c.routes = routes(name)
            user_net = any(e.network != "bridge" for e in c.endpoints)
            c.dns = DnsConfig(
                nameservers=["127.0.0.11"] if user_net else ["192.168.50.1"],
                search=["corp.example"],
                options=["ndots:0"] if user_net else [],
                path=f"/var/lib/docker/containers/{CTR_IDS[name]}/resolv.conf",
                ext_servers=["host(192.168.50.1)"] if user_net else [],
            )
        return c

    containers = [
        ctr("db", "postgres:16", 4311, labels={"com.example.tier": "data"}),
        ctr("legacy", "busybox:1.36", 4402, mode="default"),
        ctr("proxy", "nginx:1.27", 4120, [PortBinding(443, "tcp", "0.0.0.0", 443)]),
        ctr(
            "web",
            "shop/web:2.3.1",
            4242,
            [PortBinding(80, "tcp", "0.0.0.0", 8080), PortBinding(9090, "tcp", "127.0.0.1", 9090)],
            labels={"com.docker.compose.service": "web", "note": "[b]not markup[/b]"},
        ),
        ctr(
            "worker",
            "shop/worker:2.3.1",
            None,
            [PortBinding(5000, "tcp", "", 5000, requested=True)],
            state="exited",
        ),
    ]
    containers[-1].endpoints = [worker_ep]
    containers[-1].networks = ["frontend"]

    def proxy(pid, ip, port, cip, cport) -> Listener:
        return Listener(
            "tcp",
            ip,
            port,
            pid,
            "docker-proxy",
            4 if ":" not in ip else 6,
            [
                "/usr/bin/docker-proxy",
                "-proto",
                "tcp",
                "-host-ip",
                ip,
                "-host-port",
                str(port),
                "-container-ip",
                cip,
                "-container-port",
                str(cport),
            ],
        )

    listeners = [
        Listener("tcp", "0.0.0.0", 22, 612, "sshd", 4, ["/usr/sbin/sshd", "-D"]),
        proxy(3103, "0.0.0.0", 443, "172.20.0.3", 443),
        Listener(
            "tcp", "0.0.0.0", 5000, 7781, "python3", 4, ["python3", "-m", "http.server", "5000"]
        ),
        proxy(3101, "0.0.0.0", 8080, "172.20.0.2", 80),
        proxy(3102, "127.0.0.1", 9090, "172.20.0.2", 9090),
        Listener(
            "udp", "127.0.0.53", 53, 455, "systemd-resolve", 4, ["/lib/systemd/systemd-resolved"]
        ),
    ]

    snap = Snapshot(
        taken_at=T0,
        engine=Engine(
            host="unix:///var/run/docker.sock",
            context="default",
            reachable=True,
            local=True,
            server_version="20.10.24",
            api_version="1.41",
            min_api_version="1.12",
            os="Debian GNU/Linux 12 (bookworm)",
            kernel_version="6.1.0-28-amd64",
            debug=False,
            name="shop-prod-1",
            swarm_state="inactive",
            live_restore=False,
            logging_driver="json-file",
            daemon=DaemonProcess(
                pid=812,
                config_file="/etc/docker/daemon.json",
                config_file_exists=True,
                log_source="journald:docker.service",
            ),
        ),
        networks=sorted(networks, key=lambda n: n.name),
        bridges=bridges,
        links=links,
        containers=sorted(containers, key=lambda c: c.name),
        listeners=listeners,
        is_root=True,
    )
    join(snap)
    return snap


def demo_events() -> list[dict]:
    def ev(dt, typ, action, aid, **attrs):
        t = T0 - 600 + dt
        return {
            "Type": typ,
            "Action": action,
            "Actor": {"ID": aid, "Attributes": attrs},
            "scope": "local",
            "time": int(t),
            "timeNano": int(t * 1e9),
        }

    return [
        ev(0.0, "network", "create", NET_IDS["backend"], name="backend", type="bridge"),
        ev(1.25, "container", "create", CTR_IDS["db"], name="db", image="postgres:16"),
        ev(
            1.5,
            "network",
            "connect",
            NET_IDS["backend"],
            name="backend",
            type="bridge",
            container=CTR_IDS["db"],
        ),
        ev(1.75, "container", "start", CTR_IDS["db"], name="db", image="postgres:16"),
        ev(
            300.0,
            "container",
            "die",
            CTR_IDS["worker"],
            name="worker",
            image="shop/worker:2.3.1",
            exitCode="137",
        ),
        ev(
            300.5,
            "network",
            "disconnect",
            NET_IDS["frontend"],
            name="frontend",
            type="bridge",
            container=CTR_IDS["worker"],
        ),
        ev(
            420.0, "container", "start", CTR_IDS["worker"], name="worker", image="shop/worker:2.3.1"
        ),
        ev(
            420.1,
            "container",
            "die",
            CTR_IDS["worker"],
            name="worker",
            image="shop/worker:2.3.1",
            exitCode="128",
        ),
        ev(421.0, "daemon", "reload", "QX3H:ABCD", name="shop-prod-1", debug="false"),
    ]


def demo_findings() -> list[Finding]:
    return [
        Finding(
            "port_conflict",
            "error",
            ["worker", "5000/tcp"],
            "worker requests host port 5000/tcp but python3 (pid 7781) holds it",
            why="the engine cannot bind the port, so the container cannot start",
            evidence=["0.0.0.0:5000/tcp held by python3 (pid 7781)"],
            fix="stop the process or publish another port",
            check="ss -ltnp 'sport = :5000'",
            kind="container",
            ref="R5",
        ),
        Finding(
            "orphan_bridge",
            "warning",
            ["br-dead00beef00"],
            "br-dead00beef00 looks Docker-made but is not a network of this engine",
            fix="ip link del br-dead00beef00 (after checking nothing uses it)",
            check="ip -d link show br-dead00beef00",
            kind="bridge",
            ref="R21",
        ),
        Finding(
            "default_bridge_names",
            "info",
            ["legacy"],
            "legacy is on the default bridge: it cannot resolve other containers by name",
            kind="container",
            ref="R2",
        ),
    ]


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.delenv("DOCKSCOPE_READ_ONLY", raising=False)
    yield
    monkeypatch.undo()
    time.tzset()


def demo_app(**kw) -> DockscopeApp:
    app = FixedApp(
        demo_snapshot(),
        settings=Settings(),
        theme="textual-dark",
        findings=demo_findings(),
        **kw,
    )
    return app


async def _with_events(pilot) -> None:
    pilot.app.query_one("#events").add_events(demo_events())
    await pilot.pause()


def _keys(*keys):
    async def run(pilot):
        await _with_events(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return run


# --------------------------------------------------------------------------- panes


def test_networks(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys())


def test_network_detail(snap_compare):
    async def run(pilot):
        await _with_events(pilot)
        pilot.app.query_one("#networks #list").select_key(NET_IDS["frontend"])
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run)


def test_bridges(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("2"))


def test_bridge_fdb(snap_compare):
    async def run(pilot):
        await _with_events(pilot)
        await pilot.press("2")
        pilot.app.query_one("#bridges #list").select_key("br:br-8a1f0c2d3e4f")
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run)


def test_endpoints(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("3", "j", "j", "j"))


def test_endpoint_detail(snap_compare):
    async def run(pilot):
        await _with_events(pilot)
        await pilot.press("3")
        pilot.app.query_one("#endpoints #list").select_key(CTR_IDS["web"])
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run)


def test_ports(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("4"))


def test_ports_all_listeners(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("4", "a"))


def test_logs_pane(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("5"))


def test_events(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("6"))


def test_findings(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("7"))


# --------------------------------------------------------------------------- states


def test_filter_active(snap_compare):
    assert snap_compare(
        demo_app(), terminal_size=SIZE, run_before=_keys("3", "slash", *"front", "enter")
    )


def test_help_screen(snap_compare):
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=_keys("2", "question_mark"))


def test_engine_lost_banner(snap_compare):
    async def run(pilot):
        await _with_events(pilot)
        pilot.app.post_message(
            EngineLost(
                "cannot connect to the Docker engine: /var/run/docker.sock refuses connections "
                "(dockerd not running? `sudo systemctl start docker`)",
                "unreachable",
                3,
                2.0,
            )
        )
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=run)


def test_no_engine_not_root(snap_compare):
    snap = demo_snapshot()
    snap.engine = Engine(
        host="unix:///var/run/docker.sock",
        reachable=False,
        error_kind="permission",
        error="permission denied on /var/run/docker.sock: run as root (sudo) or "
        "join the `docker` group (`sudo usermod -aG docker $USER`, then "
        "log in again)",
    )
    snap.networks, snap.containers = [], []
    snap.is_root = False
    snap.notes = [
        "not root: container namespaces (interfaces, routes), the pids of other users' "
        "sockets and daemon.json edits are unavailable; run with sudo"
    ]
    app = FixedApp(
        snap,
        settings=Settings(),
        theme="textual-dark",
        findings=[],
        read_only=True,
    )
    assert snap_compare(app, terminal_size=SIZE)


def test_networks_80x24(snap_compare):
    assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=_keys())


def test_markup_in_labels_is_literal():
    """The demo's label `[b]not markup[/b]` must come out as those characters."""
    from tui.panes.endpoints import container_detail

    snap = demo_snapshot()
    text = container_detail(snap.container("web"), snap)
    assert "[b]not markup[/b]" in text.plain
    assert all(
        "bold" not in str(span.style) or "not markup" not in text.plain[span.start : span.end]
        for span in text.spans
    )
