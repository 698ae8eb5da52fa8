"""Live capture on real sandboxes: pings between two containers of the harness
engine, captured inside one container's namespace, written as pcap and read
back by tcpdump; filters and the bounded queue on real traffic."""

from __future__ import annotations

import os
import subprocess

import pytest

from inspectors import capture as cap
from tests.helpers import dock, snapshot

pytestmark = pytest.mark.engine


@pytest.fixture
def pair(daemon, uniq):
    net = f"h6cap{uniq}"
    a, b = f"h6a{uniq}", f"h6b{uniq}"
    daemon.docker("network", "create", net)
    for n in (a, b):
        dock(daemon, "run", "-d", "--name", n, "--network", net, "dockscope-busybox:test",
             "sleep", "600")  # fmt: skip
    yield net, a, b
    daemon.docker("rm", "-f", a, b, check=False)
    daemon.docker("network", "rm", net, check=False)


def test_filter_grammar():
    f = cap.parse_filter("host 10.0.0.2 and port 80")
    d = cap.Decoded("ip", "tcp", "10.0.0.2", "10.0.0.3", 40000, 80, "")
    assert f(d) and not f(cap.Decoded("ip", "tcp", "10.0.0.9", "10.0.0.3", 1, 80, ""))
    assert cap.parse_filter("icmp or arp")(cap.Decoded("arp", "arp", None, None, None, None, ""))
    assert not cap.parse_filter("not tcp")(d)
    assert cap.parse_filter("src net 10.0.0.0/24 and dst port 80")(d)
    assert not cap.parse_filter("dst host 10.0.0.2")(d)
    for bad in ("port x", "host", "and", "frobnicate 3", "tcp or"):
        with pytest.raises(ValueError):
            cap.parse_filter(bad)


def test_ping_capture_written_as_pcap_and_read_by_tcpdump(daemon, pair, tmp_path):
    net, a, b = pair
    snap = snapshot(daemon)
    t = cap.resolve_target(snap, a)
    assert t.ifname == "eth0" and t.netns and t.container == a
    b_ip = snap.container(b).endpoints[0].ipv4
    a_ip = snap.container(a).endpoints[0].ipv4
    out = tmp_path / "ping.pcap"
    c = cap.Capture(t, cap.parse_filter("icmp"), pcap_path=str(out)).start()
    try:
        daemon.docker("exec", a, "ping", "-c", "3", "-W", "1", b_ip)
        c.wait(1.0)
    finally:
        c.stop()
    lines = c.poll()
    assert c.stats.matched == 6 and len(lines) == 6, lines  # 3 requests, 3 replies
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    r = subprocess.run(["tcpdump", "-n", "-r", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    theirs = r.stdout.splitlines()
    assert len(theirs) == c.stats.written == 6
    # the same lines as tcpdump -n prints them (timestamps aside)
    mine = [ln.split(" ", 1)[1] for ln in lines]
    assert mine == [ln.split(" ", 1)[1] for ln in theirs]
    assert f"IP {a_ip} > {b_ip}: ICMP echo request" in mine[0]


def test_bridge_capture_with_filter_and_bounded_queue(daemon, pair, tmp_path):
    net, a, b = pair
    snap = snapshot(daemon)
    t = cap.resolve_target(snap, net)
    assert t.netns is None and t.ifname == snap.network(net).bridge
    b_ip = snap.container(b).endpoints[0].ipv4
    c = cap.Capture(t, cap.parse_filter(f"icmp and dst host {b_ip}"), max_pending=2).start()
    try:
        daemon.docker("exec", a, "ping", "-c", "4", "-i", "0.2", "-W", "1", b_ip)
        c.wait(1.0)
    finally:
        c.stop()
    assert c.stats.matched == 4  # only the requests to B
    assert c.stats.queued == 2 and c.stats.dropped == 2  # bounded: the rest counted
    assert all(f"> {b_ip}: ICMP echo request" in ln for ln in c.poll())


def test_pcap_refuses_symlinks(tmp_path):
    target = tmp_path / "real"
    target.write_text("keep")
    link = tmp_path / "link.pcap"
    link.symlink_to(target)
    with pytest.raises(cap.CaptureError, match="symlink"):
        cap.open_pcap(str(link))
    assert target.read_text() == "keep"


def test_unknown_target_is_one_line(daemon):
    with pytest.raises(ValueError, match="no container"):
        cap.resolve_target(snapshot(daemon), "no-such-thing-h6")
