"""Which engine, and through what: the one engine object (inspectors/api.py) against
real engines. A second dockerd of this run listens on a loopback TCP port with
``--tlsverify`` (certificates made here with openssl); an sshd in a network
namespace this test creates reaches the first test dockerd for ``ssh://``.
Nothing is mocked: the commands run as subprocesses, as a user runs them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inspectors import api
from tests.harness import IMAGE, SSHNode, TLSDaemon, make_certs
from tests.helpers import run_cli, started

pytestmark = pytest.mark.engine
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def ds(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_cli(*args, env=env, timeout=timeout)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("dockscope: ")]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def tls_daemon(daemon):  # after the session daemon: never two dockerds starting at once
    if not os.path.exists(SYSTEM_BUNDLE):
        pytest.fail(f"{SYSTEM_BUNDLE} is missing (ca-certificates)")
    yield from started(TLSDaemon())


@pytest.fixture(scope="module")
def tls_env(tls_daemon):
    """DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, with the docker-py #2433 trap
    armed: requests would let these bundles replace the engine's CA."""
    env = tls_daemon.tls_env()
    env["REQUESTS_CA_BUNDLE"] = env["CURL_CA_BUNDLE"] = SYSTEM_BUNDLE
    return env


@pytest.fixture(scope="module")
def context_config(tls_daemon, tmp_path_factory):
    cfg = tmp_path_factory.mktemp("dockercfg")
    tls_daemon.write_context(cfg, "dstls")
    return cfg


@pytest.fixture(scope="module")
def ssh_node(daemon):
    yield from started(SSHNode(daemon.host))


@pytest.fixture
def no_selection():
    yield
    api.select_target(None)


# --------------------------------------------------------------------------- resolution


def test_resolution_order_is_the_docker_clis(tmp_path, monkeypatch, no_selection):
    """--host > --context > DOCKER_HOST > DOCKER_CONTEXT > currentContext > default."""
    d = TLSDaemon.__new__(TLSDaemon)  # only write_context's layout: no daemon needed
    d.port, d.client_certs = 2376, tmp_path / "certs"
    d.client_certs.mkdir()
    for f in ("ca.pem", "cert.pem", "key.pem"):
        (d.client_certs / f).write_text("x")
    d.write_context(tmp_path, "ctxa")
    d.port = 2377
    d.write_context(tmp_path, "ctxb")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "ctxb"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    for k in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(k, raising=False)

    t = api.resolve_target()
    assert (t.host, t.context, t.source) == ("tcp://127.0.0.1:2377", "ctxb", "config.json")
    assert t.tls and t.tls.ca.endswith("/docker/ca.pem") and t.tls.verify
    monkeypatch.setenv("DOCKER_CONTEXT", "ctxa")
    assert api.resolve_target().host == "tcp://127.0.0.1:2376"
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/x.sock")
    t = api.resolve_target()
    assert (t.host, t.source, t.tls) == ("unix:///tmp/x.sock", "DOCKER_HOST", None)
    t = api.resolve_target(context="ctxb")  # --context beats DOCKER_HOST
    assert (t.host, t.source) == ("tcp://127.0.0.1:2377", "--context")
    t = api.resolve_target(host="unix:///tmp/y.sock", context="ctxb")  # --host beats all
    assert (t.host, t.source) == ("unix:///tmp/y.sock", "--host")
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.delenv("DOCKER_CONTEXT")
    (tmp_path / "config.json").write_text("{}")
    assert api.resolve_target().host == api.DEFAULT_HOST
    # the front's choice is what later calls without flags get
    api.select_target(api.resolve_target(context="ctxa"))
    assert api.resolve_target().context == "ctxa"
    assert api.resolve_target("tcp://127.0.0.1:2376").tls is not None


def test_bad_host_is_one_line_and_exit_2_from_every_command(daemon):
    env = dict(os.environ, DOCKER_HOST="http://[::1")  # issue 14: was a traceback
    for argv in (["snapshot"], ["network", "create", "never-made"], ["doctor"], ["logs", "x"]):
        r = ds(*argv, env=env)
        assert r.returncode == 2, (argv, r.stderr)
        assert "bad engine address" in one_line_error(r)


@pytest.mark.parametrize("host", ["tcp://host:99999", "foo", "unix://", "ftp://x"])
def test_bad_host_forms(host, no_selection):
    with pytest.raises(api.EngineError) as ei:
        api.resolve_target(host)
    assert ei.value.kind == "badhost" and "\n" not in str(ei.value)


def test_no_engine_is_one_line_and_exit_2(daemon, tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    for argv in (["snapshot", "--json"], ["network", "create", "never-made"], ["doctor"]):
        r = ds(*argv, env=env)
        assert r.returncode == 2, (argv, r.stderr)
        assert "does not exist" in one_line_error(r)


# --------------------------------------------------------------------------- TLS


def test_tls_engine_through_env_despite_requests_ca_bundle(tls_daemon, tls_env):
    r = ds("snapshot", "--json", env=tls_env)
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert snap["engine"]["reachable"] and snap["engine"]["host"] == tls_daemon.tcp_host
    assert {"bridge", "host", "none"} <= {n["name"] for n in snap["networks"]}
    assert snap["engine"]["local"]  # loopback: the kernel views are this host's


def test_the_ca_bundle_trap_is_real_here(tls_daemon, tls_env):
    """The SDK used as docker-py documents it fails with these variables set (so the
    test above can fail): requests replaces the engine CA with the system bundle."""
    code = (
        "import docker,sys\n"
        "c=sys.argv[2]\n"
        "t=docker.tls.TLSConfig(client_cert=(c+'/cert.pem',c+'/key.pem'),"
        "ca_cert=c+'/ca.pem',verify=True)\n"
        "docker.DockerClient(base_url=sys.argv[1],tls=t,version='1.41').ping()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, tls_daemon.tcp_host, str(tls_daemon.client_certs)],
        env=tls_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in r.stderr


def test_tls_engine_through_a_context_beats_docker_host(tls_daemon, context_config, daemon):
    env = dict(os.environ, DOCKER_CONFIG=str(context_config), DOCKER_HOST=daemon.host)
    env["REQUESTS_CA_BUNDLE"] = env["CURL_CA_BUNDLE"] = SYSTEM_BUNDLE
    r = ds("--context", "dstls", "snapshot", "--json", env=env)
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)["engine"]
    assert (e["host"], e["context"]) == (tls_daemon.tcp_host, "dstls")
    # DOCKER_CONTEXT loses to DOCKER_HOST, as in the docker CLI
    r = ds("snapshot", "--json", env=dict(env, DOCKER_CONTEXT="dstls"))
    assert json.loads(r.stdout)["engine"]["host"] == daemon.host


def test_wrong_ca_is_the_tls_one_liner(tls_daemon, tls_env, tmp_path):
    other = make_certs(tmp_path / "other", cn="not-the-engine-ca")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ca.pem").write_bytes((other / "ca.pem").read_bytes())
    for f in ("cert.pem", "key.pem"):
        (bad / f).write_bytes((tls_daemon.client_certs / f).read_bytes())
    env = dict(tls_env, DOCKER_CERT_PATH=str(bad))
    for argv in (["snapshot", "--json"], ["network", "create", "never-made"]):
        r = ds(*argv, env=env)
        assert r.returncode == 2, r.stderr
        line = one_line_error(r)
        assert "TLS with tcp://127.0.0.1" in line and "certificate verify failed" in line, line
    # no client certificate: the engine refuses the handshake, also one line
    nocert = tmp_path / "nocert"
    nocert.mkdir()
    (nocert / "ca.pem").write_bytes((tls_daemon.client_certs / "ca.pem").read_bytes())
    r = ds("snapshot", env=dict(tls_env, DOCKER_CERT_PATH=str(nocert)))
    assert r.returncode == 2 and "TLS with" in one_line_error(r)


@pytest.mark.parametrize("via", ["env", "context"])
def test_tls_network_create_logs_follow_and_doctor(
    via, tls_daemon, tls_env, context_config, tmp_path, uniq
):
    if via == "context":  # --context dstls, with a DOCKER_HOST it must beat
        env = dict(tls_env, DOCKER_CONFIG=str(context_config))
        env["DOCKER_HOST"] = f"unix://{tmp_path}/not-this.sock"
        for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            env.pop(k)
        pre = ["--context", "dstls"]
    else:
        env, pre = tls_env, []
    name = f"tlsnet-{uniq}"
    args = [*pre, "network", "create", name]
    help_ = ds("network", "create", "--help", env=env).stdout
    if "--yes" in help_:
        args.append("--yes")
    r = ds(*args, env=env)
    assert r.returncode == 0, r.stderr
    assert tls_daemon.docker("network", "inspect", name).returncode == 0

    ctr = f"tlslog-{uniq}"
    tls_daemon.docker(
        "run", "-d", "--name", ctr, IMAGE, "sh", "-c",
        "i=0; while true; do echo tls-line-$i; i=$((i+1)); sleep 0.1; done",
    )  # fmt: skip
    p = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *pre, "logs", ctr, "-f", "--tail", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    got: list[str] = []
    try:
        deadline = time.time() + 20
        while len(got) < 3 and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            if "tls-line-" in line:
                got.append(line)
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    assert len(got) == 3, (got, p.stderr.read())

    r = ds(*pre, "doctor", "--json", env=env)
    assert r.returncode in (0, 1), r.stderr
    assert isinstance(json.loads(r.stdout), dict | list)
    tls_daemon.docker("rm", "-f", ctr, check=False)
    tls_daemon.docker("network", "rm", name, check=False)


async def test_console_updates_live_over_a_tls_context(
    tls_daemon, context_config, monkeypatch, uniq, no_selection
):
    from inspectors.config import Settings
    from inspectors.snapshot import Model
    from tests.test_tui import SIZE, keys, loaded, table, wait_for
    from tui.app import DockscopeApp

    monkeypatch.setenv("DOCKER_CONFIG", str(context_config))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)
    api.select_target(api.resolve_target(context="dstls"))  # as `dockscope --context dstls`
    app = DockscopeApp(model=Model(), settings=Settings())
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_for(pilot, lambda: app.live.engine_up is True, 15)
        assert app.snapshot.engine.host == tls_daemon.tcp_host
        nid = tls_daemon.docker("network", "create", f"tlslive-{uniq}").stdout.strip()
        try:
            t = table(app, "networks")
            await wait_for(pilot, lambda: nid in keys(t), 20)
        finally:
            tls_daemon.docker("network", "rm", nid, check=False)


# --------------------------------------------------------------------------- ssh


def test_ssh_engine_views(ssh_node, daemon, uniq):
    net = f"sshnet-{uniq}"
    daemon.docker("network", "create", net)
    try:
        t0 = time.monotonic()
        r = ds("snapshot", "--json", env=ssh_node.env())
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        snap = json.loads(r.stdout)
        assert snap["engine"]["reachable"] and snap["engine"]["host"] == ssh_node.host
        assert net in {n["name"] for n in snap["networks"]}
        assert not snap["engine"]["local"]  # the kernel views say why they are empty
        assert any("not on this host" in n for n in snap["notes"])
        assert took < 20
    finally:
        daemon.docker("network", "rm", net, check=False)


def test_ssh_engine_in_process_times_out_on_a_hung_remote(ssh_node, daemon, monkeypatch):
    """The ssh transport keeps the SDK's timeouts (the SDK's own shell-out transport
    blocks forever on a hung remote engine): SIGSTOP the engine behind sshd."""
    monkeypatch.setenv("PATH", ssh_node.env()["PATH"])
    eng = api.open_engine(ssh_node.host, timeout=2)
    pid = daemon.pid()
    try:
        assert {"bridge", "host", "none"} <= {n["Name"] for n in eng.networks()}
        eng.heartbeat(2)
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(api.EngineError) as ei:
            eng.info()
        assert time.monotonic() - t0 < 6
        assert ei.value.kind == "unreachable" and "not answering within 2s" in str(ei.value)
    finally:
        os.kill(pid, signal.SIGCONT)
    eng.heartbeat(5)  # and it answers again on the same object
    eng.close()


def _connects(monkeypatch) -> list:
    """Every connect() this process makes from here on, by address (real sockets)."""
    import socket

    seen: list = []
    real = socket.socket.connect

    def connect(sock, address):
        seen.append(address)
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


@pytest.mark.parametrize("via", ["unix", "ssh"])
def test_many_inspects_share_one_connection(via, daemon, ssh_node, monkeypatch, uniq):
    """The docker SDK keys a unix socket's connection pools by request URL, so every
    container inspect would open a connection to dockerd (and, through the ssh bridge,
    start an ssh session of its own) and close the least recently used of 25 pools.
    The engine object keeps one pool: 30 inspects under 30 different URLs (the same
    container by ids of 12 to 41 hex digits) reuse the connection of the first call."""
    cid = daemon.docker("create", "--name", f"pool-{uniq}", IMAGE, "true").stdout.strip()
    try:
        if via == "ssh":
            monkeypatch.setenv("PATH", ssh_node.env()["PATH"])
        eng = api.open_engine(daemon.host if via == "unix" else ssh_node.host, timeout=10)
        try:
            sock = eng.client.api.get_adapter("http+docker://localhost").socket_path
            seen = _connects(monkeypatch)
            for k in range(12, 42):
                assert eng.container(cid[:k])["Id"] == cid
            assert len(seen) <= 1 and all(a == sock for a in seen), seen
        finally:
            eng.close()
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_forty_concurrent_calls_never_overflow_the_pool(daemon, caplog):
    """The console's 32 workers and the model's 8 threads may call the engine at once:
    the one pool keeps every connection they return (urllib3 would otherwise log
    "Connection pool is full" onto the console's stderr)."""
    import logging

    eng = api.open_engine(daemon.host, timeout=30)
    barrier = threading.Barrier(40)

    def call(_i):
        barrier.wait(10)
        return eng.info()["ID"]

    try:
        with caplog.at_level(logging.WARNING, logger="urllib3"):
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(40) as ex:
                assert len(set(ex.map(call, range(40)))) == 1
        assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
    finally:
        eng.close()


def test_ssh_failure_is_the_ssh_one_liner(ssh_node):
    env = ssh_node.env()
    env["DOCKER_HOST"] = f"ssh://nobody-{os.getpid()}@{ssh_node.ip}"
    r = ds("snapshot", env=env)
    assert r.returncode == 2
    line = one_line_error(r)
    assert "ssh to nobody-" in line and "Permission denied" in line, line


# --------------------------------------------------------------------------- hung engine


def test_hung_engine_keeps_the_last_state_stale_and_recovers(tls_daemon, tls_env, no_selection):
    """SIGSTOP the TLS engine under a running Live: the heartbeat says so (EngineLost),
    the last good snapshot is kept and marked stale; SIGCONT rebuilds by itself."""
    from inspectors.snapshot import Model
    from tui import live as L

    api.select_target(
        api.Target(
            host=tls_daemon.tcp_host,
            tls=api._tls_files(str(tls_daemon.client_certs), True),
            source="--host",
        )
    )
    m = Model(with_sandboxes=False, with_listeners=False, timeout=4)
    got: list = []
    lv = L.Live(m, got.append)
    threads = [
        threading.Thread(target=lv.apply_loop, daemon=True),
        threading.Thread(target=lv.events_loop, daemon=True),
    ]
    for t in threads:
        t.start()

    def wait(cond, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.05)
        raise AssertionError(f"not within {timeout}s: {[type(x).__name__ for x in got]}")

    pid = tls_daemon.pid()
    try:
        wait(lambda: any(isinstance(x, L.LiveUpdate) and x.reason == "build" for x in got), 20)
        wait(lambda: lv.engine_up is True, 10)
        nets = len(m.snapshot.networks)
        assert nets >= 3
        os.kill(pid, signal.SIGSTOP)
        t0 = time.time()
        wait(lambda: any(isinstance(x, L.EngineLost) for x in got), 15)
        lost = next(x for x in got if isinstance(x, L.EngineLost))
        assert time.time() - t0 < L.HEARTBEAT_INTERVAL + L.HEARTBEAT_TIMEOUT + 3
        assert lost.kind == "unreachable" and "not answering within" in lost.error
        wait(lambda: any(isinstance(x, L.LiveUpdate) and x.reason == "stale" for x in got), 10)
        stale = next(x for x in got if isinstance(x, L.LiveUpdate) and x.reason == "stale")
        assert stale.snapshot.stale and len(stale.snapshot.networks) == nets
        assert not stale.snapshot.engine.reachable
        # a manual rebuild while hung keeps the last state too
        lv.request("rebuild")
        time.sleep(1)
        os.kill(pid, signal.SIGCONT)
        wait(lambda: any(isinstance(x, L.EngineBack) for x in got), 40)
        wait(lambda: not m.snapshot.stale and m.snapshot.engine.reachable, 20)
        assert len(m.snapshot.networks) == nets
        rebuilt = [x for x in got if isinstance(x, L.LiveUpdate) and x.reason == "rebuild"]
        for x in rebuilt:  # a rebuild during the hang published the kept state
            assert x.snapshot.networks
    finally:
        os.kill(pid, signal.SIGCONT)
        lv.close()
        for t in threads:
            t.join(10)
        m.close()


async def test_console_keeps_its_rows_while_the_engine_is_hung(tls_daemon, no_selection):
    """Issue 14 item 5 in the real console: SIGSTOP the engine, no key pressed: the
    engine is reported lost, the rows stay (marked stale), SIGCONT rebuilds."""
    from inspectors.config import Settings
    from inspectors.snapshot import Model
    from tests.test_tui import SIZE, keys, loaded, table, wait_for
    from tui.app import DockscopeApp

    api.select_target(
        api.Target(
            host=tls_daemon.tcp_host,
            tls=api._tls_files(str(tls_daemon.client_certs), True),
            source="--host",
        )
    )
    app = DockscopeApp(model=Model(timeout=4), settings=Settings())
    pid = tls_daemon.pid()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await wait_for(pilot, lambda: app.live.engine_up is True, 15)
            t = table(app, "networks")
            rows = keys(t)
            assert len(rows) >= 3
            os.kill(pid, signal.SIGSTOP)
            await wait_for(pilot, lambda: app.engine_lost is not None, 15)
            await wait_for(pilot, lambda: "stale" in app.painted, 15)  # Live's stale post
            assert app.query_one("#tabs").has_class("-stale")
            assert keys(t) == rows  # the last good state, not 0 rows
            os.kill(pid, signal.SIGCONT)
            await wait_for(pilot, lambda: app.engine_lost is None, 40)
            await wait_for(pilot, lambda: not app.query_one("#tabs").has_class("-stale"), 10)
            assert app.snapshot.engine.reachable and keys(t) == rows
    finally:
        os.kill(pid, signal.SIGCONT)
