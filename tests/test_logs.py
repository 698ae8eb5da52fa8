"""inspectors/logs.py and `dockscope logs` against the real test engine.

Everything runs on the harness dockerd (tests/harness.py) with busybox
containers. The one fake is ``journalctl``: no systemd runs here, so
test_journald_* put a fake ``journalctl`` script on PATH that prints records
in journalctl's ``-o json`` shape (said again in those tests).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, UTC
from pathlib import Path

import pytest

from inspectors import logs as L
from inspectors.text import MAX_LINE_CHARS, clean_line
from inspectors.logs import (
    ContainerLogSource,
    FileLogSource,
    JournaldLogSource,
    LogBuffer,
    LogLine,
    LogStreamError,
    daemon_log_source,
    open_container_logs,
    parse_daemon_line,
    parse_since,
    tail_lines,
)

ROOT = Path(__file__).resolve().parent.parent
INJECT = r"printf '\033]0;pwned\007\033[31mred [bold]x[/bold] [link=http://x]y[/link]\n'"


# --------------------------------------------------------------------------- helpers


def run(daemon, image, name, script, *extra, wait=True):
    daemon.docker("run", "-d", "--name", name, *extra, image, "sh", "-c", script)
    if wait:
        daemon.docker("wait", name, timeout=60)
    return name


def read_all(src, timeout=30.0) -> list[LogLine]:
    """Read a source to its end in a thread; fail (not hang) after ``timeout``."""
    out: list[LogLine] = []
    err: list[BaseException] = []

    def go():
        try:
            for b in src.read():
                out.extend(b)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            err.append(e)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        src.close()
        t.join(5)
        pytest.fail(f"reading {src.describe} did not end within {timeout}s")
    if err:
        raise err[0]
    return out


class Follower:
    """Follows a source in a thread, collecting lines."""

    def __init__(self, src):
        self.src = src
        self.lines: list[LogLine] = []
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self.t = threading.Thread(target=self._go, daemon=True)
        self.t.start()

    def _go(self):
        try:
            for b in self.src.read():
                self.lines.extend(b)
        except BaseException as e:  # noqa: BLE001
            self.error = e
        finally:
            self.ended.set()

    def wait_for(self, pred, timeout=20.0, what="lines"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.lines):
                return
            if self.ended.is_set() and not pred(self.lines):
                break
            time.sleep(0.05)
        pytest.fail(
            f"timed out waiting for {what}; got {len(self.lines)} lines: "
            f"{[ln.text for ln in self.lines[-5:]]} error={self.error!r}"
        )


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


# --------------------------------------------------------------------------- pure functions


def test_sanitize_strips_escape_sequences_and_controls_keeps_tab_and_markup():
    s = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m [bold]x[/bold]\tend\x00\x07\x9b2J\u202eevil\x1bPdcs\x1b\\ok"
    out = clean_line(s)
    assert out == "red [bold]x[/bold]\tendevilok"
    assert "\x1b" not in out and "\x9b" not in out
    assert clean_line("plain line") == "plain line"


def test_sanitize_caps_long_lines_and_says_how_much_was_cut():
    out = clean_line("a" * 25_000)
    assert out.startswith("a" * MAX_LINE_CHARS)
    assert out.endswith(f"… [{25_000 - MAX_LINE_CHARS} bytes cut]")
    assert len(out) < MAX_LINE_CHARS + 100


def test_parse_daemon_logfmt_text_and_json_formats():
    ln = parse_daemon_line(
        'time="2026-01-02T03:04:05.123456789Z" level=debug '
        'msg="Calling GET /v1.41/info" spanID=abc  status=200'
    )
    assert ln.level == "debug" and ln.stream == "daemon"
    assert ln.timestamp == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert ln.text == "Calling GET /v1.41/info  spanID=abc status=200"  # k=v kept visible
    ln = parse_daemon_line('time="2026-01-02T03:04:05Z" level=warning msg="a \\"quoted\\" word"')
    assert (ln.level, ln.text) == ("warning", 'a "quoted" word')
    ln = parse_daemon_line("ERRO[2026-01-02T03:04:05.000000000Z] boom   error=x")
    assert (ln.level, ln.text) == ("error", "boom   error=x")
    ln = parse_daemon_line('{"level":"info","msg":"hi","time":"2026-01-02T03:04:05Z","k":"v"}')
    assert (ln.level, ln.text) == ("info", "hi  k=v")
    ln = parse_daemon_line("goroutine 1 [running]:")
    assert (ln.level, ln.text, ln.timestamp) == (None, "goroutine 1 [running]:", None)
    ln = parse_daemon_line('time="x" level=info msg="\x1b[31mred\x1b[0m"')
    assert ln.text == "red"


def test_parse_since():
    now = 1_000_000.0
    assert parse_since("10m", now) == now - 600
    assert parse_since("1h30m", now) == now - 5400
    assert parse_since("1700000000", now) == 1_700_000_000
    assert (
        parse_since("2026-01-02T03:04:05Z", now)
        == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    )
    assert parse_since(None) is None
    with pytest.raises(ValueError, match="--since"):
        parse_since("yesterday-ish")


def test_ring_buffer_keeps_the_newest_with_stable_seqs():
    b = LogBuffer(5)
    assert b.extend([LogLine("s", "stdout", None, str(i)) for i in range(3)]) == 0
    assert b.extend([LogLine("s", "stdout", None, str(i)) for i in range(3, 9)]) == 4
    assert len(b) == 5 and b.first_seq == 4 and b.end_seq == 9
    assert [ln.text for ln in b] == ["4", "5", "6", "7", "8"]
    assert b.get(3) is None and b.get(6).text == "6"


# --------------------------------------------------------------------------- containers


TRANSPORTS = pytest.mark.parametrize("raw", ["sdk"])  # one transport: the SDK stream


@TRANSPORTS
def test_fast_writer_all_lines_in_order(daemon, client, image, uniq, raw):
    name = run(daemon, image, f"logs-fast-{uniq}", "seq 1 20000")
    src = ContainerLogSource(client, name, follow=False, tail="all").open()
    lines = read_all(src)
    assert [ln.text for ln in lines] == [str(i) for i in range(1, 20001)]
    assert all(ln.stream == "stdout" and ln.source == name for ln in lines)
    ts = [ln.timestamp for ln in lines]
    assert all(t is not None for t in ts) and ts == sorted(ts)
    tail = read_all(ContainerLogSource(client, name, follow=False, tail=5))
    assert [ln.text for ln in tail] == ["19996", "19997", "19998", "19999", "20000"]


@TRANSPORTS
def test_slow_writer_is_followed_live_and_close_interrupts(daemon, client, image, uniq, raw):
    name = run(
        daemon,
        image,
        f"logs-slow-{uniq}",
        "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
        wait=False,
    )
    src = ContainerLogSource(client, name, follow=True, tail=0).open()
    f = Follower(src)
    f.wait_for(lambda ls: len(ls) >= 5, what="5 live lines")
    texts = [ln.text for ln in f.lines]
    assert texts[0].startswith("tick ")
    nums = [int(t.split()[1]) for t in texts]
    assert nums == list(range(nums[0], nums[0] + len(nums)))  # consecutive, none lost
    # a line arrives soon after it is written (follow, not polling the whole log)
    age = datetime.now(UTC) - f.lines[-1].timestamp
    assert age.total_seconds() < 2.0
    # close() from this thread interrupts the blocking read in the other one
    t0 = time.monotonic()
    src.close()
    assert f.ended.wait(5), "close() did not interrupt the follow"
    assert time.monotonic() - t0 < 5
    assert f.error is None
    assert not any(ln.stream == "meta" for ln in f.lines)  # closing is not an "end"
    daemon.docker("rm", "-f", name)


@TRANSPORTS
def test_stdout_and_stderr_told_apart(daemon, client, image, uniq, raw):
    name = run(
        daemon,
        image,
        f"logs-oe-{uniq}",
        "echo out1; echo err1 >&2; sleep 0.05; echo out2; echo err2 >&2",
    )
    lines = read_all(ContainerLogSource(client, name, follow=False, tail="all"))
    got = sorted((ln.stream, ln.text) for ln in lines)
    assert got == [("stderr", "err1"), ("stderr", "err2"), ("stdout", "out1"), ("stdout", "out2")]


@TRANSPORTS
def test_container_removed_mid_follow_ends_cleanly(daemon, client, image, uniq, raw):
    name = run(
        daemon,
        image,
        f"logs-rm-{uniq}",
        "trap 'exit 0' TERM; while true; do echo alive; sleep 0.2; done",
        wait=False,
    )
    src = ContainerLogSource(client, name, follow=True, tail="all").open()
    f = Follower(src)
    f.wait_for(lambda ls: len(ls) >= 2, what="first lines")
    daemon.docker("rm", "-f", name)
    assert f.ended.wait(15), "the follow did not end after the container was removed"
    assert f.error is None
    last = f.lines[-1]
    assert last.stream == "meta" and last.text == "container removed"


def test_exited_container_follow_ends_with_exit_code(daemon, client, image, uniq):
    name = run(daemon, image, f"logs-exit-{uniq}", "echo bye; exit 3", wait=False)
    src = open_container_logs(client, [name], follow=True, tail="all")
    lines = read_all(src, timeout=20)
    assert lines[0].text == "bye"
    assert lines[-1].stream == "meta" and "exit code 3" in lines[-1].text


def test_log_driver_none_gives_a_clear_message(daemon, client, image, uniq):
    name = run(daemon, image, f"logs-none-{uniq}", "echo gone", "--log-driver", "none")
    with pytest.raises(LogStreamError) as ei:
        open_container_logs(client, [name], follow=False)
    assert ei.value.kind == "unsupported"
    assert "--log-driver none" in str(ei.value) and name in str(ei.value)


def test_driver_that_cannot_be_read_back_gives_the_501_message(daemon, client, image, uniq):
    # gelf over UDP needs no server; without the dual-logging cache the engine
    # answers 501 "configured logging driver does not support reading"
    gelf = ("--log-driver", "gelf", "--log-opt", "gelf-address=udp://127.0.0.1:12201")
    name = run(
        daemon, image, f"logs-gelf-{uniq}", "echo lost", *gelf, "--log-opt", "cache-disabled=true"
    )
    with pytest.raises(LogStreamError) as ei:
        read_all(open_container_logs(client, [name], follow=False))
    assert ei.value.kind == "unsupported"
    msg = str(ei.value)
    assert "'gelf' logging driver" in msg and "does not support reading" in msg
    # with the cache (the default since 20.10) the same driver is readable
    name = run(daemon, image, f"logs-gelfc-{uniq}", "echo kept", *gelf)
    src = open_container_logs(client, [name], follow=False)
    assert "gelf driver" in src.describe
    assert [ln.text for ln in read_all(src)] == ["kept"]


def test_unknown_container(client):
    with pytest.raises(LogStreamError) as ei:
        open_container_logs(client, ["no-such-container-xyz"])
    assert ei.value.kind == "notfound"
    assert str(ei.value) == "no such container: no-such-container-xyz"


def test_escape_and_markup_injection_is_inert(daemon, client, image, uniq):
    name = run(daemon, image, f"logs-inj-{uniq}", INJECT)
    (ln,) = read_all(open_container_logs(client, [name], follow=False, tail="all"))
    assert ln.text == "red [bold]x[/bold] [link=http://x]y[/link]"
    assert "\x1b" not in ln.text and "\x07" not in ln.text and "pwned" not in ln.text


@TRANSPORTS
def test_one_megabyte_line_is_truncated_quickly(daemon, client, image, uniq, raw):
    name = run(
        daemon,
        image,
        f"logs-1mb-{uniq}",
        "head -c 1000000 /dev/zero | tr '\\0' a; echo; echo after",
    )
    t0 = time.monotonic()
    lines = read_all(ContainerLogSource(client, name, follow=False, tail="all"), timeout=30)
    assert time.monotonic() - t0 < 10
    assert [ln.text for ln in lines][1:] == ["after"]
    big = lines[0].text
    # the engine splits >16 KiB lines into partial messages with their own
    # timestamps: they are joined back, and the timestamps do not leak into the text
    assert big == "a" * MAX_LINE_CHARS + f"… [{1_000_000 - MAX_LINE_CHARS} bytes cut]"


def test_binary_garbage_gives_safe_text(daemon, client, image, uniq):
    name = run(daemon, image, f"logs-bin-{uniq}", "head -c 100000 /dev/urandom; echo; echo done")
    lines = read_all(open_container_logs(client, [name], follow=False, tail="all"), timeout=30)
    assert lines[-1].text == "done"
    for ln in lines:
        assert all(
            ch == "\t" or (ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F) for ch in ln.text
        ), repr(ln.text[:80])
        assert len(ln.text) <= 10_100


@TRANSPORTS
def test_tty_container_lines_have_no_carriage_returns(daemon, client, image, uniq, raw):
    name = run(daemon, image, f"logs-tty-{uniq}", "echo one; echo two", "-t")
    src = ContainerLogSource(client, name, follow=False, tail="all").open()
    assert src.tty
    lines = read_all(src)
    assert [ln.text for ln in lines] == ["one", "two"]


def test_merged_containers_are_tagged_and_ordered_by_time(daemon, client, image, uniq):
    a, b = f"logs-ma-{uniq}", f"logs-mb-{uniq}"
    # created first, started by one call: on a loaded machine two `docker run`s
    # can be further apart than a's whole run, and nothing would interleave
    for n in (a, b):
        daemon.docker(
            "create",
            "--name",
            n,
            image,
            "sh",
            "-c",
            f"for i in 1 2 3 4 5 6 7 8; do echo {n[6]}$i; sleep 0.4; done",
        )
    daemon.docker("start", a, b)
    daemon.docker("wait", a, b, timeout=60)
    src = open_container_logs(client, [a, b], follow=False, tail="all")
    assert isinstance(src, L.MergedLogSource) and "2 containers merged" in src.describe
    lines = read_all(src)
    assert sorted(ln.text for ln in lines) == sorted(
        [f"a{i}" for i in range(1, 9)] + [f"b{i}" for i in range(1, 9)]
    )
    assert all(ln.source == (a if ln.text[0] == "a" else b) for ln in lines)
    ts = [ln.timestamp for ln in lines]
    assert ts == sorted(ts)  # merged by time ...
    sources = [ln.source for ln in lines]
    assert sources != sorted(sources)  # ... so interleaved, not one after the other
    assert [ln.text for ln in lines if ln.source == a] == [f"a{i}" for i in range(1, 9)]


def test_merged_follow_gets_new_lines_from_each(daemon, client, image, uniq):
    a, b = f"logs-fa-{uniq}", f"logs-fb-{uniq}"
    for n in (a, b):
        run(
            daemon,
            image,
            n,
            f"echo {n}-old; sleep 1; while true; do echo {n}-new; sleep 0.2; done",
            wait=False,
        )
    time.sleep(0.5)
    src = open_container_logs(client, [a, b], follow=True, tail="all")
    f = Follower(src)
    f.wait_for(
        lambda ls: {ln.text for ln in ls} >= {f"{a}-old", f"{b}-old", f"{a}-new", f"{b}-new"},
        what="old and new lines of both",
    )
    olds = [ln.text for ln in f.lines if ln.text.endswith("-old")]
    assert sorted(olds) == sorted([f"{a}-old", f"{b}-old"])  # history not repeated
    src.close()
    assert f.ended.wait(5)
    daemon.docker("rm", "-f", a, b)


# --------------------------------------------------------------------------- files


def test_tail_seeks_from_the_end_of_a_big_file(tmp_path):
    p = tmp_path / "big.log"
    with open(p, "wb") as f:
        for i in range(400_000):
            f.write(b'time="2026-01-01T00:00:00Z" level=info msg="line %d"\n' % i)
    size = p.stat().st_size

    class Counting(io.FileIO):
        read_bytes = 0

        def read(self, n=-1):
            d = super().read(n)
            Counting.read_bytes += len(d)
            return d

    with Counting(p, "rb") as f:
        lines, end = tail_lines(f, 10)
    assert end == size
    assert [ln.split(b'"')[-2] for ln in lines] == [b"line %d" % i for i in range(399_990, 400_000)]
    assert Counting.read_bytes <= 65536 * 2 < size // 100


def test_file_follow_survives_rotation_and_truncation(tmp_path):
    p = tmp_path / "docker.log"
    p.write_text('time="2026-01-01T00:00:00Z" level=info msg=first\n')
    src = FileLogSource(str(p), follow=True, tail=10, poll=0.05)
    f = Follower(src)
    f.wait_for(lambda ls: any(ln.text == "first" for ln in ls))
    with open(p, "a") as fh:
        fh.write('time="2026-01-01T00:00:01Z" level=error msg=second\n')
    f.wait_for(lambda ls: any(ln.text == "second" and ln.level == "error" for ln in ls))
    # rotation: logrotate moves the file away and a new one appears
    os.rename(p, tmp_path / "docker.log.1")
    with open(tmp_path / "docker.log.1", "a") as fh:
        fh.write("late line in the old file\n")
    p.write_text("in the new file\n")
    f.wait_for(lambda ls: any(ln.text == "in the new file" for ln in ls), what="new file")
    texts = [ln.text for ln in f.lines]
    assert "late line in the old file" in texts
    assert any("rotated" in t for t in texts)
    # truncation (copytruncate)
    with open(p, "a") as fh:
        fh.write("more\n")
    f.wait_for(lambda ls: any(ln.text == "more" for ln in ls))
    with open(p, "w") as fh:
        fh.write("after truncate\n")
    f.wait_for(lambda ls: any(ln.text == "after truncate" for ln in ls), what="after truncate")
    assert any("truncated" in ln.text for ln in f.lines)
    src.close()
    assert f.ended.wait(2)


def test_file_since_window(tmp_path):
    p = tmp_path / "d.log"
    with open(p, "w") as fh:
        for m in range(60):
            fh.write(f'time="2026-01-01T00:{m:02d}:00Z" level=info msg="minute {m}"\n')
    since = datetime(2026, 1, 1, 0, 55, tzinfo=UTC).timestamp()
    lines = read_all(FileLogSource(str(p), follow=False, since=since))
    assert [ln.text for ln in lines] == [f"minute {m}" for m in range(55, 60)]


# --------------------------------------------------------------------------- daemon log


def test_daemon_log_choice_order_and_describe(tmp_path, daemon):
    from inspectors.config import Settings
    from inspectors.model import DaemonProcess

    mine = tmp_path / "mine.log"
    mine.write_text("x\n")
    known = tmp_path / "known.log"
    known.write_text("y\n")
    dp = DaemonProcess(pid=daemon.proc.pid, log_source=f"file:{daemon.log_file}")
    # 1. --file beats everything
    s = daemon_log_source(dp, Settings(), path=str(mine), follow=False)
    assert s.path == str(mine) and "given by --file" in s.describe
    # settings.daemon_log next
    s = daemon_log_source(dp, Settings(daemon_log=str(mine)), follow=False)
    assert s.path == str(mine) and "settings" in s.describe
    # 2. file: from find_daemon
    s = daemon_log_source(dp, Settings(), follow=False, known_paths=((str(known), None),))
    assert s.path == str(daemon.log_file) and f"pid {daemon.proc.pid}" in s.describe
    # 3. journald unit
    dpj = DaemonProcess(pid=1, log_source="journald:docker.service")
    s = daemon_log_source(dpj, Settings(), follow=False)
    assert isinstance(s, JournaldLogSource) and s.unit == "docker.service"
    assert "journald unit docker.service" in s.describe
    dpu = DaemonProcess(pid=1, log_source="journald-user:docker.service")
    s = daemon_log_source(dpu, Settings(), follow=False)
    assert isinstance(s, JournaldLogSource) and s.user and "--user" in s.argv()
    # 4. known paths
    s = daemon_log_source(
        DaemonProcess(),
        Settings(),
        follow=False,
        known_paths=((str(tmp_path / "absent"), None), (str(known), None)),
    )
    assert s.path == str(known) and "known place" in s.describe
    # nothing at all: one clear error
    with pytest.raises(LogStreamError, match="no daemon log found"):
        daemon_log_source(DaemonProcess(), Settings(), follow=False, known_paths=())
    with pytest.raises(LogStreamError, match="no such file"):
        daemon_log_source(dp, Settings(), path=str(tmp_path / "nope"))


def test_find_daemon_points_at_the_harness_log(daemon):
    dp = L.find_daemon_process(daemon.host)
    assert dp is not None and dp.pid == daemon.proc.pid
    src = daemon_log_source(dp, None, follow=False, tail=5)
    assert isinstance(src, FileLogSource) and src.path == str(daemon.log_file)


def _set_debug(daemon, on: bool) -> None:
    """Debug on/off by a reload. A reload only applies the keys the file has:
    an empty ``{}`` would leave debug on, so off is ``{"debug": false}``."""
    Path(daemon.config_file).write_text(json.dumps({"debug": on}))
    os.kill(daemon.proc.pid, signal.SIGHUP)


def test_daemon_debug_lines_are_read_with_their_level(daemon, client):
    dp = L.find_daemon_process(daemon.host)
    src = daemon_log_source(dp, None, follow=True, tail=0)
    f = Follower(src)
    try:
        _set_debug(daemon, True)

        def api_debug(ln) -> bool:
            return ln.level == "debug" and (
                "Calling" in ln.text or "/info" in ln.text or "reload" in ln.text.lower()
            )

        # wait for the API call lines themselves: a daemon in swarm mode logs other
        # debug lines first
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(api_debug(ln) for ln in f.lines):
            client.ping()  # with debug on, every API call is logged at debug level
            client.api.info()
            time.sleep(0.2)
        debug = [ln for ln in f.lines if ln.level == "debug"]
        assert debug, f"no debug line; last: {[ln.text for ln in f.lines[-5:]]}"
        assert all(ln.timestamp is not None and ln.stream == "daemon" for ln in debug)
        assert any(api_debug(ln) for ln in debug)
        assert not any(ln.text.startswith("time=") for ln in f.lines)  # parsed, not raw
    finally:
        _set_debug(daemon, False)
        src.close()
        f.ended.wait(3)
    # debug is off again: the daemon says so
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and client.info().get("Debug"):
        time.sleep(0.2)
    assert client.info().get("Debug") is False
    Path(daemon.config_file).write_text("{}\n")  # as the harness wrote it
    os.kill(daemon.proc.pid, signal.SIGHUP)


# --------------------------------------------------------------------------- journald (fake)

FAKE_JOURNALCTL = textwrap.dedent("""\
    #!{python}
    # FAKE journalctl: no systemd runs on the test machine, so this stands in
    # for `journalctl -u UNIT -o json [-n N] [-f]`, printing records in its
    # JSON shape and, with -f, staying alive like journalctl does.
    import json, sys, time
    argv = sys.argv[1:]
    with open({argv_log!r}, "w") as f:
        json.dump(argv, f)
    recs = [
        {{"__REALTIME_TIMESTAMP": "1767323045000000", "PRIORITY": "6", "_SYSTEMD_UNIT": "docker.service",
          "MESSAGE": 'time="2026-01-02T03:04:05.000000000Z" level=info msg="API listen on /run/docker.sock"'}},
        {{"__REALTIME_TIMESTAMP": "1767323046000000", "PRIORITY": "3",
          "MESSAGE": "plain message without logfmt \\u001b[31mred"}},
        {{"__REALTIME_TIMESTAMP": "1767323047000000", "PRIORITY": "7",
          "MESSAGE": [98, 105, 110, 0, 255, 97, 114, 121]}},
    ]
    for r in recs:
        print(json.dumps(r), flush=True)
    if "-f" in argv:
        while True:
            time.sleep(0.2)
""")


@pytest.fixture
def fake_journalctl(tmp_path, monkeypatch):
    """A FAKE journalctl on PATH (no systemd here)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    argv_log = tmp_path / "argv.json"
    script = bindir / "journalctl"
    script.write_text(FAKE_JOURNALCTL.format(python=sys.executable, argv_log=str(argv_log)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return script, argv_log


def test_journald_records_parsed_fake_journalctl(fake_journalctl):
    """Uses a FAKE journalctl (no systemd on this machine)."""
    script, argv_log = fake_journalctl
    src = JournaldLogSource("docker.service", follow=False, tail=50, journalctl=str(script))
    lines = read_all(src)
    assert json.loads(argv_log.read_text()) == [
        "-u",
        "docker.service",
        "-o",
        "json",
        "--no-pager",
        "-n",
        "50",
    ]
    assert [ln.level for ln in lines] == ["info", "error", "debug"]
    assert lines[0].text == "API listen on /run/docker.sock"
    assert lines[0].timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert lines[1].text == "plain message without logfmt red"  # ESC stripped
    assert lines[1].timestamp == datetime.fromtimestamp(1767323046, UTC)
    assert lines[2].text == "bin\ufffdary"  # byte-array MESSAGE decoded, NUL dropped


def test_journald_follow_is_closed_fake_journalctl(fake_journalctl):
    """Uses a FAKE journalctl (no systemd on this machine): close() ends -f."""
    script, argv_log = fake_journalctl
    src = JournaldLogSource("docker.service", follow=True, tail=10, journalctl=str(script))
    f = Follower(src)
    f.wait_for(lambda ls: len(ls) >= 3)
    assert "-f" in json.loads(argv_log.read_text())
    src.close()
    assert f.ended.wait(5), "journalctl -f was not stopped"
    assert f.error is None
    assert src._proc.poll() is not None


# --------------------------------------------------------------------------- CLI


def cli(daemon, *args, timeout=60):
    env = daemon.env()
    env["DOCKSCOPE_CONFIG"] = "/nonexistent/dockscope.json"
    return subprocess.run(
        [sys.executable, "-m", "tui", "logs", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_cli_container_logs(daemon, image, uniq):
    # (stdout and stderr are copied by two goroutines: sleeps keep the order known)
    name = run(
        daemon,
        image,
        f"logs-cli-{uniq}",
        "echo hello; sleep 0.2; echo oops >&2; sleep 0.2; " + INJECT,
    )
    r = cli(daemon, name)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[0].startswith(f"dockscope: reading container {name} (json-file")
    assert r.stdout.splitlines() == [
        "hello",
        "[stderr] oops",
        "red [bold]x[/bold] [link=http://x]y[/link]",
    ]
    assert "\x1b" not in r.stdout
    r = cli(daemon, name, "--tail", "1", "-t")
    (line,) = r.stdout.splitlines()
    assert line.endswith(" red [bold]x[/bold] [link=http://x]y[/link]")
    assert datetime.fromisoformat(line.split(" ", 1)[0])


def test_cli_several_containers_are_prefixed(daemon, image, uniq):
    a, b = f"logs-c1-{uniq}", f"logs-c22-{uniq}"
    run(daemon, image, a, "echo from-a")
    run(daemon, image, b, "echo from-b >&2")
    r = cli(daemon, a, b)
    assert r.returncode == 0, r.stderr
    w = len(b)
    assert sorted(r.stdout.splitlines()) == sorted(
        [f"{a.ljust(w)} | from-a", f"{b} | [stderr] from-b"]
    )


def test_cli_follow_prints_live_lines(daemon, image, uniq):
    name = run(
        daemon,
        image,
        f"logs-cf-{uniq}",
        "sleep 1; for i in 1 2 3; do echo live$i; sleep 0.2; done",
        wait=False,
    )
    r = cli(daemon, name, "-f", timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["live1", "live2", "live3", "-- container exited (exit code 0)"]


def test_cli_errors_exit_2_with_one_line(daemon, image, uniq, tmp_path):
    r = cli(daemon, "no-such-ctr-" + uniq)
    assert r.returncode == 2
    assert r.stderr.strip() == f"dockscope: no such container: no-such-ctr-{uniq}"
    name = run(daemon, image, f"logs-cn-{uniq}", "echo x", "--log-driver", "none")
    r = cli(daemon, name)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--log-driver none" in r.stderr
    r = cli(daemon, "daemon", "--file", str(tmp_path / "absent.log"))
    assert r.returncode == 2
    assert r.stderr.strip() == f"dockscope: {tmp_path / 'absent.log'}: no such file"
    r = cli(daemon, name, "--since", "last tuesday")
    assert r.returncode == 2 and r.stderr.startswith("dockscope: cannot understand --since")


def test_cli_since(daemon, image, uniq):
    name = run(daemon, image, f"logs-cs-{uniq}", "echo recent")
    assert cli(daemon, name, "--since", "1h").stdout.splitlines() == ["recent"]
    assert cli(daemon, name, "--since", "2099-01-01T00:00:00Z").stdout == ""


def test_cli_daemon_log(daemon):
    r = cli(daemon, "daemon", "--tail", "5")
    assert r.returncode == 0, r.stderr
    first = r.stderr.splitlines()[0]
    assert first == (
        f"dockscope: reading file {daemon.log_file} "
        f"(dockerd pid {daemon.proc.pid} writes its output there)"
    )
    lines = r.stdout.splitlines()
    assert len(lines) == 5
    for ln in lines:
        ts, level = ln.split()[:2]
        assert datetime.fromisoformat(ts) and level in (
            "DEBUG",
            "INFO",
            "WARNING",
            "ERROR",
            "FATAL",
        )
    r = cli(daemon, "daemon", "--file", str(daemon.log_file), "--tail", "2")
    assert r.returncode == 0 and "given by --file" in r.stderr.splitlines()[0]
    assert len(r.stdout.splitlines()) == 2


def test_syslog_file_keeps_only_dockerd_lines(tmp_path):
    from inspectors.config import Settings
    from inspectors.model import DaemonProcess

    p = tmp_path / "syslog"
    p.write_text(
        "Nov 27 21:00:00 host systemd[1]: Started Docker.\n"
        'Nov 27 21:00:01 host dockerd[812]: time="2026-11-27T21:00:01.5Z" level=warning '
        'msg="Your kernel does not support swap limit capabilities"\n'
        "Nov 27 21:00:02 host kernel: [  12.3] docker0: port 1(veth1) entered forwarding state\n"
        'Nov 27 21:00:03 host dockerd[812]: time="2026-11-27T21:00:03Z" level=info '
        'msg="API listen on /run/docker.sock"\n'
    )
    src = daemon_log_source(
        DaemonProcess(),
        Settings(),
        follow=False,
        known_paths=((str(tmp_path / "none.log"), None), (str(p), L.syslog_dockerd_filter)),
    )
    assert "dockerd lines only" in src.describe
    lines = read_all(src)
    assert [(ln.level, ln.text) for ln in lines] == [
        ("warning", "Your kernel does not support swap limit capabilities"),
        ("info", "API listen on /run/docker.sock"),
    ]
    assert lines[0].timestamp == datetime(2026, 11, 27, 21, 0, 1, 500000, tzinfo=UTC)
