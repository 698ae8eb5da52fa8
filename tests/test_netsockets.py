"""Sockets inside a sandbox against `nsenter -t PID -n ss`, and neighbour tables
and counters, on real containers of the harness engine."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from inspectors import neighbours as nb
from inspectors.model import LinkStats
from inspectors.netsockets import format_ss, sandbox_sockets
from tests.helpers import dock, snapshot

pytestmark = pytest.mark.engine


@pytest.fixture
def srv(daemon, uniq):
    net = f"h6sk{uniq}"
    a, b = f"h6ska{uniq}", f"h6skb{uniq}"
    daemon.docker("network", "create", net)
    dock(daemon, "run", "-d", "--name", a, "--network", net, "dockscope-busybox:test", "sh", "-c",
         "httpd -f -p 80 -h / & nc -l -p 5000 & nc -u -l -p 5353 & sleep 600")  # fmt: skip
    dock(daemon, "run", "-d", "--name", b, "--network", net, "dockscope-busybox:test",
         "sleep", "600")  # fmt: skip
    yield net, a, b
    daemon.docker("rm", "-f", a, b, check=False)
    daemon.docker("network", "rm", net, check=False)


def _pid(daemon, name) -> int:
    return int(daemon.docker("inspect", "-f", "{{.State.Pid}}", name).stdout)


def _norm(addr: str) -> str:
    host, _, port = addr.rpartition(":")
    host = host.strip("[]").split("%")[0]
    return f"{'*' if host in ('*', '0.0.0.0', '::') else host}:{port}"


def _ss(pid: int, flags: str) -> list[tuple[str, str, str, set[int]]]:
    out = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "ss", "-H", flags], capture_output=True, text=True
    ).stdout
    rows = []
    for ln in out.splitlines():
        p = ln.split()
        pids = {int(x) for x in re.findall(r"pid=(\d+)", ln)}
        rows.append((p[0], _norm(p[4]), p[1], pids))
    return rows


def test_sandbox_sockets_match_ss(daemon, srv):
    net, a, b = srv
    pid = _pid(daemon, a)
    # an established connection inside the sandbox
    daemon.docker("exec", "-d", a, "sh", "-c", "sleep 30 | nc 127.0.0.1 5000")
    deadline = time.time() + 5
    while time.time() < deadline:
        got = sandbox_sockets(pid)
        if any(e.state == "ESTAB" for e in got):
            break
        time.sleep(0.2)
    theirs = _ss(pid, "-ltnup")
    mine = [e for e in got if e.listening]
    assert {(p, ad) for p, ad, _s, _ in theirs} == {(e.proto, _norm(e.local())) for e in mine}
    assert {(p, ad): pids for p, ad, _s, pids in theirs} == {
        (e.proto, _norm(e.local())): {p for p, _n in e.processes} for e in mine
    }
    names = {n for e in mine for _p, n in e.processes}
    assert {"httpd", "dockerd"} <= names  # dockerd: the embedded DNS on 127.0.0.11
    est = _ss(pid, "-tnp")  # established TCP, as ss shows them
    assert {ad for _p, ad, _s, _ in est} == {_norm(e.local()) for e in got if e.state == "ESTAB"}
    lines = format_ss(got)
    assert lines[0].startswith("Netid State") and any(
        "LISTEN" in ln and ":80" in ln for ln in lines
    )


def test_neighbours_in_a_sandbox_and_failed_entries(daemon, srv):
    net, a, b = srv
    snap = snapshot(daemon)
    b_ip = snap.container(b).endpoints[0].ipv4
    daemon.docker("exec", a, "ping", "-c", "1", "-W", "1", b_ip)
    ns = f"/proc/{_pid(daemon, a)}/ns/net"
    got = nb.read_neighbours(ns, "eth0")
    hit = [n for n in got if n.ip == b_ip]
    assert hit and hit[0].mac == snap.container(b).endpoints[0].mac and not hit[0].bad
    # an address nobody holds: ARP goes unanswered
    parts = b_ip.split(".")
    ghost = ".".join(parts[:3] + ["250"])
    daemon.docker("exec", a, "ping", "-c", "1", "-W", "1", ghost, check=False)
    deadline = time.time() + 6
    while time.time() < deadline:
        bad = [n for n in nb.bad(nb.read_neighbours(ns)) if n.ip == ghost]
        if bad:
            break
        time.sleep(0.5)
    assert bad and bad[0].state in ("INCOMPLETE", "FAILED")
    # the bridge's own table on the host knows the containers it talked to
    br = snap.network(net).bridge
    assert all(n.ifname == br for n in nb.read_neighbours(None, br))


def test_counter_rates_flag_rising_drops(daemon, srv):
    net, a, b = srv
    br = snapshot(daemon).network(net).bridge
    host = nb.sample_links()
    assert br in host and host[br].rx_packets >= 0
    r = nb.Rates(rising=2)
    r.update({"x": LinkStats(rx_packets=10)}, now=0.0)
    got = r.update({"x": LinkStats(rx_packets=30, rx_dropped=5)}, now=1.0)["x"]
    assert got.per_s["rx_packets"] == 20 and not got.rising_drops
    got = r.update({"x": LinkStats(rx_packets=40, rx_dropped=9)}, now=2.0)["x"]
    assert got.rising_drops and got.per_s["rx_dropped"] == 4
    got = r.update({"x": LinkStats(rx_packets=50, rx_dropped=9)}, now=3.0)["x"]
    assert not got.rising_drops
    assert len(nb.sparkline(got.history["rx_packets"])) == 3
