"""`dockscope firewall|conntrack|sockets|neigh|capture` and `path host:PORT` as a
user runs them, against the harness engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.helpers import dock, run_cli

pytestmark = pytest.mark.engine


def run(daemon, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_cli(*args, env=daemon.env(), timeout=timeout)


@pytest.fixture
def box(daemon, uniq):
    net, a, b = f"h6cl{uniq}", f"h6cla{uniq}", f"h6clb{uniq}"
    daemon.docker("network", "create", net)
    with socket.socket() as s:  # several engines share this host: no ephemeral clash
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    dock(daemon, "run", "-d", "--name", a, "--network", net, "-p", f"{port}:80",
         "dockscope-busybox:test", "httpd", "-f", "-p", "80", "-h", "/")  # fmt: skip
    dock(daemon, "run", "-d", "--name", b, "--network", net, "dockscope-busybox:test",
         "sleep", "600")  # fmt: skip
    yield net, a, b
    daemon.docker("rm", "-f", a, b, check=False)
    daemon.docker("network", "rm", net, check=False)


def test_bad_input_is_one_line_and_exit_2(daemon, box):
    for args in (
        ["firewall", "no-such-h6"],
        ["conntrack", "no-such-h6"],
        ["sockets", "no-such-h6"],
        ["capture", box[1], "port", "x"],
        ["capture", "no-such-h6"],
        ["capture", box[1], "-c", "0"],
        ["path", "-", box[1]],
    ):
        r = run(daemon, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and not r.stdout, (args, r.stderr)


def test_firewall_sockets_neigh_and_path(daemon, box):
    net, a, b = box
    r = run(daemon, "firewall", a)
    assert r.returncode in (0, 1), r.stderr
    assert "backend: iptables-" in r.stdout and f"->{a}:80/tcp" in r.stdout
    assert "DOCKER-USER" in r.stdout and "MASQUERADE" in r.stdout
    r = run(daemon, "sockets", a, "-l")
    assert r.returncode == 0 and "LISTEN" in r.stdout and '("httpd",pid=' in r.stdout
    daemon.docker("exec", b, "ping", "-c", "1", "-W", "1", a)
    r = run(daemon, "neigh", b)
    assert r.returncode in (0, 1) and "REACHABLE" in r.stdout or "STALE" in r.stdout
    r = run(daemon, "path", "-", a, "--port", "80")
    assert "listener" in r.stdout and "container" in r.stdout and "verdict:" in r.stdout
    assert f"inside {a} (httpd" in r.stdout
    r = run(daemon, "path", "-", a, "--port", "80", "--json")
    assert '"container_port": 80' in r.stdout
    # a connection to the published port through loopback: docker-proxy -> container
    port = int(daemon.docker("port", a, "80/tcp").stdout.split(":")[-1].split()[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.recv(100)
    r = run(daemon, "conntrack", a)
    assert r.returncode == 0, r.stderr
    assert f"-> [{a}]" in r.stdout and ":80" in r.stdout
    assert any(ln.startswith("states: ") and "tcp " in ln for ln in r.stdout.splitlines())
    assert f"who talks to {a}:" in r.stdout and " tcp/80 " in r.stdout
    r = run(daemon, "firewall", a, "--json")
    assert '"active": "iptables-' in r.stdout and '"container": "' + a in r.stdout


def test_capture_cli_writes_pcap_tcpdump_reads(daemon, box, tmp_path):
    net, a, b = box
    out = tmp_path / "c.pcap"
    p = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "capture", b, "-c", "4", "-w", str(out), "icmp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=daemon.env(),
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        first = p.stderr.readline()  # "capturing on ...": the socket is open
        assert "capturing on" in first, first
        daemon.docker("exec", a, "ping", "-c", "2", "-W", "1", b)
        so, se = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, se
    assert len(so.splitlines()) == 4 and "4 packets captured" in se, (so, se)
    r = subprocess.run(["tcpdump", "-n", "-r", str(out)], capture_output=True, text=True)
    assert len(r.stdout.splitlines()) == 4
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
