"""The one daemon-log reader: dockerd's own log from wherever it goes (a file
with ``tail -F`` semantics, journald, syslog), and :func:`last_daemon_lines`
for reports and the doctor."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from inspectors.logs.lines import (
    RAW_CAP,
    LogLine,
    LogSource,
    LogStreamError,
    PRIORITY_LEVEL,
    SYSLOG_RE,
    clean_line,
    meta_line,
    parse_daemon_line,
    parse_timestamp,
)


def tail_lines(
    f, n: int, block: int = 65536, max_bytes: int = 256 << 20
) -> tuple[list[bytes], int]:
    """The last ``n`` lines of a binary file object, seeking from the end: reads
    only the blocks that hold them (never more than ``max_bytes``).
    Returns (lines without newlines, offset just after what was read = EOF)."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    if n <= 0 or end == 0:
        return [], end
    pos = end
    blocks: list[bytes] = []
    count = 0
    while pos > 0 and count <= n and end - pos < max_bytes:
        step = min(block, pos)
        pos -= step
        f.seek(pos)
        b = f.read(step)
        blocks.append(b)
        count += b.count(b"\n")
    data = b"".join(reversed(blocks))
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if pos > 0 and lines:
        lines = lines[1:]  # the first one is probably partial
    return lines[-n:], end


def lines_since(
    f,
    since: float,
    parse: Callable[[bytes], datetime | None],
    max_lines: int,
    block: int = 262144,
    max_bytes: int = 256 << 20,
) -> tuple[list[bytes], int]:
    """Lines whose timestamp is >= ``since`` at the end of a file (seeking back a
    block at a time until a block starts before ``since``), at most ``max_lines``."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    pos = end
    blocks: list[bytes] = []
    count = 0
    while pos > 0 and end - pos < max_bytes:
        step = min(block, pos)
        pos -= step
        f.seek(pos)
        b = f.read(step)
        blocks.append(b)
        count += b.count(b"\n")
        parts = b.split(b"\n", 2)
        first = parts[1] if (pos > 0 and len(parts) > 1) else parts[0]
        ts = parse(first)
        if ts is not None and ts.timestamp() < since:
            break
        if count > max_lines * 2:
            break
    data = b"".join(reversed(blocks))
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if pos > 0 and lines:
        lines = lines[1:]
    out: list[bytes] = []
    keep = False
    for ln in lines:
        if not keep:
            ts = parse(ln)
            if ts is not None and ts.timestamp() >= since:
                keep = True
            else:
                continue
        out.append(ln)
    return out[-max_lines:], end


def _line_time(raw: bytes) -> datetime | None:
    """Timestamp of a dockerd log line without parsing all of it."""
    m = (
        re.search(rb'time="([^"]+)"', raw[:200])
        or re.search(rb"^[A-Z]{4}\[([0-9T:.+\-Z]+)\]", raw[:80])
        or re.search(rb'"time":"([^"]+)"', raw[:400])
    )
    if m:
        return parse_timestamp(m.group(1).decode(errors="replace"))
    return None


class FileLogSource(LogSource):
    """A log file with ``tail -F`` semantics.

    Reads the last ``tail`` lines (seeking from the end) or the lines since
    ``since``; with ``follow`` polls every ``poll`` seconds for more, notices
    truncation (size shrinks: re-read from the start) and rotation (the path
    now names another inode: finish the old file, open the new one), and waits
    for a file that disappeared to come back. ``line_filter`` keeps only some
    lines (syslog: dockerd's); ``parse`` turns a raw line into a LogLine.
    """

    def __init__(
        self,
        path: str,
        *,
        follow: bool = True,
        tail: int | str = 500,
        since: float | None = None,
        max_lines: int = 50_000,
        poll: float = 0.2,
        line_filter: Callable[[str], str | None] | None = None,
        parse: Callable[[str], LogLine] | None = None,
        source: str = "dockerd",
        describe: str | None = None,
    ):
        self.path = path
        self.follow = follow
        self.tail = tail
        self.since = since
        self.max_lines = max_lines
        self.poll = poll
        self.line_filter = line_filter
        self.name = source
        self.parse = parse or (lambda s: parse_daemon_line(s, source))
        self._closed = threading.Event()
        self.describe = describe or f"file {path}"

    def check(self) -> FileLogSource:
        try:
            with open(self.path, "rb"):
                pass
        except FileNotFoundError:
            raise LogStreamError(f"{self.path}: no such file", "notfound")
        except PermissionError:
            raise LogStreamError(f"{self.path}: permission denied (run as root?)", "unreadable")
        except IsADirectoryError:
            raise LogStreamError(f"{self.path}: is a directory", "unreadable")
        except OSError as e:
            raise LogStreamError(f"{self.path}: {e.strerror or e}", "unreadable")
        return self

    def _lines(self, raws: Iterable[bytes]) -> list[LogLine]:
        out = []
        flt = self.line_filter
        for raw in raws:
            s = decode_raw(raw)
            if flt is not None:
                s = flt(s)
                if s is None:
                    continue
            out.append(self.parse(s))
        return out

    def read(self) -> Iterator[list[LogLine]]:
        self.check()
        f = open(self.path, "rb")
        try:
            if self.since is not None:
                raws, pos = lines_since(f, self.since, _line_time, self.max_lines)
            else:
                n = self.max_lines if self.tail == "all" else min(int(self.tail), self.max_lines)
                if self.line_filter is not None and n:
                    n = n * 20  # syslog: most lines are someone else's
                raws, pos = tail_lines(f, n)
            lines = self._lines(raws)
            if self.tail != "all" and self.since is None:
                lines = lines[-int(self.tail) :] if int(self.tail) else []
            for i in range(0, len(lines), 5000):
                yield lines[i : i + 5000]
            if not self.follow:
                return
            ino = os.fstat(f.fileno()).st_ino
            partial = b""
            while not self._closed.is_set():
                data = f.read(1 << 20)
                if data:
                    data = partial + data
                    parts = data.split(b"\n")
                    partial = parts.pop()
                    if len(partial) > RAW_CAP * 4:
                        parts.append(partial)
                        partial = b""
                    pos += len(data) - len(partial)
                    out = self._lines(parts)
                    if out:
                        yield out
                    continue
                if self._closed.wait(self.poll):
                    break
                try:
                    st = os.stat(self.path)
                except FileNotFoundError:
                    continue  # rotated away, the new one not there yet
                except OSError:
                    continue
                if st.st_ino != ino:
                    rest = f.read()
                    out = self._lines((partial + rest).split(b"\n")) if (partial or rest) else []
                    out = [ln for ln in out if ln.text]
                    partial = b""
                    try:
                        nf = open(self.path, "rb")
                    except OSError:
                        continue
                    f.close()
                    f = nf
                    ino = os.fstat(f.fileno()).st_ino
                    pos = 0
                    out.append(
                        meta_line(self.name, f"{self.path} was rotated: reading the new file")
                    )
                    yield out
                elif st.st_size < pos:
                    f.seek(0)
                    pos = 0
                    partial = b""
                    yield [
                        meta_line(self.name, f"{self.path} was truncated: reading from its start")
                    ]
            if partial and not self._closed.is_set():
                yield self._lines([partial])
        finally:
            f.close()

    def close(self) -> None:
        self._closed.set()


def decode_raw(raw: bytes) -> str:
    """File bytes -> str (no sanitising: parsers sanitise what they keep)."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > RAW_CAP:
        return raw[:RAW_CAP].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def syslog_dockerd_filter(line: str) -> str | None:
    """Keep dockerd's lines of a syslog file, without the syslog prefix."""
    if "dockerd" not in line:
        return None
    m = SYSLOG_RE.match(line)
    if not m:
        return None
    return line[m.end() :]


# --------------------------------------------------------------------------- journald


class JournaldLogSource(LogSource):
    """``journalctl -u UNIT -o json`` (``-f`` to follow) as a subprocess.

    MESSAGE (a string, or an array of bytes for binary data) is parsed as a
    dockerd line; its time comes from ``__REALTIME_TIMESTAMP`` (µs) when the
    line has none, its level from PRIORITY when the line has none.
    """

    def __init__(
        self,
        unit: str,
        *,
        follow: bool = True,
        tail: int | str = 500,
        since: float | None = None,
        user: bool = False,
        journalctl: str | None = None,
        source: str = "dockerd",
    ):
        self.unit = unit
        self.follow = follow
        self.tail = tail
        self.since = since
        self.user = user
        self.name = source
        self.journalctl = journalctl or shutil.which("journalctl") or "journalctl"
        self._proc: subprocess.Popen | None = None
        self._closed = threading.Event()
        self.describe = f"journald unit {unit} (journalctl{' --user' if user else ''} -u {unit})"

    def argv(self) -> list[str]:
        a = [self.journalctl]
        if self.user:
            a.append("--user")
        a += ["-u", self.unit, "-o", "json", "--no-pager"]
        if self.since is not None:
            a += ["--since", f"@{self.since:.6f}"]
            a += ["-n", "all"]
        else:
            a += ["-n", str(self.tail)]
        if self.follow:
            a.append("-f")
        return a

    def parse_record(self, raw: bytes) -> LogLine | None:
        try:
            rec = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(rec, dict):
            return None
        msg = rec.get("MESSAGE", "")
        if isinstance(msg, list):  # binary-safe form: array of byte values
            try:
                msg = bytes(int(b) & 0xFF for b in msg).decode("utf-8", "replace")
            except (TypeError, ValueError):
                msg = ""
        elif msg is None:
            msg = ""
        ts = None
        rt = rec.get("__REALTIME_TIMESTAMP")
        if rt:
            try:
                ts = datetime.fromtimestamp(int(rt) / 1e6, UTC)
            except (TypeError, ValueError):
                ts = None
        level = PRIORITY_LEVEL.get(str(rec.get("PRIORITY", "")))
        line = parse_daemon_line(str(msg), self.name, ts, None)
        if line.level is None:
            line.level = level
        return line

    def read(self) -> Iterator[list[LogLine]]:
        try:
            self._proc = subprocess.Popen(
                self.argv(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise LogStreamError("journalctl is not installed", "unreadable")
        except OSError as e:
            raise LogStreamError(f"cannot run journalctl: {e}", "unreadable")
        if self._closed.is_set():
            self._stop()
        out_fd = self._proc.stdout
        partial = b""
        try:
            while True:
                try:
                    data = out_fd.read1(262144)
                except (OSError, ValueError):
                    break
                if not data:
                    break
                data = partial + data
                parts = data.split(b"\n")
                partial = parts.pop()
                lines = [ln for ln in (self.parse_record(p) for p in parts if p.strip()) if ln]
                if lines:
                    yield lines
            if partial.strip():
                ln = self.parse_record(partial)
                if ln:
                    yield [ln]
        finally:
            rc = self._stop()
        if not self._closed.is_set() and rc not in (0, None, -15):
            err = b""
            try:
                err = self._proc.stderr.read() or b""
            except (OSError, ValueError):
                pass
            first = (
                clean_line(err.decode(errors="replace").strip().splitlines()[0])
                if err.strip()
                else ""
            )
            raise LogStreamError(
                f"journalctl failed (exit {rc}){': ' + first if first else ''}", "unreadable"
            )

    def _stop(self) -> int | None:
        p = self._proc
        if p is None:
            return None
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(2)
        try:
            p.stdout.close()
        except (OSError, ValueError):
            pass
        return p.returncode

    def close(self) -> None:
        self._closed.set()
        p = self._proc
        if p is not None and p.poll() is None:
            try:
                p.terminate()
            except OSError:
                pass


# --------------------------------------------------------------------------- daemon log choice

KNOWN_DAEMON_LOGS = (
    ("/var/log/docker.log", None),
    ("/var/log/upstart/docker.log", None),
    ("/var/log/docker", None),
    ("/var/log/syslog", syslog_dockerd_filter),
    ("/var/log/messages", syslog_dockerd_filter),
    ("/var/log/daemon.log", syslog_dockerd_filter),
)


def _systemd_running() -> bool:
    return os.path.isdir("/run/systemd/system")


def daemon_log_source(
    daemon_process=None,
    settings=None,
    *,
    path: str | None = None,
    follow: bool = True,
    tail: int | str | None = None,
    since: float | None = None,
    journalctl: str | None = None,
    known_paths=KNOWN_DAEMON_LOGS,
    max_lines: int | None = None,
) -> LogSource:
    """Choose where to read dockerd's log, in this order:

    1. ``path`` (CLI ``--file``), then ``settings.daemon_log``;
    2. ``file:<path>`` from :func:`inspectors.daemon.find_daemon` (dockerd's
       stdout/stderr is a file);
    3. ``journald:<unit>`` from find_daemon (``journalctl -u UNIT``), or
       ``docker.service`` when systemd runs and find_daemon said nothing;
    4. the known files: /var/log/docker.log, /var/log/upstart/docker.log,
       /var/log/syslog (dockerd's lines only), ...

    The result's ``describe`` says which source and why. Raises
    :class:`LogStreamError` when a given path cannot be read, or when nothing
    was found (saying what was tried).
    """
    if max_lines is None:  # what a view keeps; the CLI may ask for everything
        max_lines = int(getattr(settings, "log_buffer_lines", 50_000) or 50_000)
    if tail is None:
        tail = int(getattr(settings, "log_tail", 500) or 500)
    kw = dict(follow=follow, tail=tail, since=since, max_lines=max_lines)
    tried: list[str] = []

    user_path = path or getattr(settings, "daemon_log", None)
    if user_path:
        why = "--file" if path else "settings daemon_log"
        flt = (
            syslog_dockerd_filter
            if os.path.basename(user_path) in ("syslog", "messages", "daemon.log")
            else None
        )
        return FileLogSource(
            user_path, line_filter=flt, describe=f"file {user_path} (given by {why})", **kw
        ).check()

    log_source = getattr(daemon_process, "log_source", None) if daemon_process else None
    pid = getattr(daemon_process, "pid", None) if daemon_process else None
    who = f"dockerd pid {pid}" if pid else "dockerd"
    if log_source and log_source.startswith("file:"):
        p = log_source[5:]
        try:
            return FileLogSource(
                p, describe=f"file {p} ({who} writes its output there)", **kw
            ).check()
        except LogStreamError as e:
            tried.append(str(e))
    unit = None
    user = False
    if log_source and log_source.startswith(("journald:", "journald-user:")):
        user = log_source.startswith("journald-user:")
        unit = log_source.split(":", 1)[1]
    elif not log_source and _systemd_running() and (journalctl or shutil.which("journalctl")):
        unit = "docker.service"
    if unit:
        src = JournaldLogSource(
            unit, follow=follow, tail=tail, since=since, user=user, journalctl=journalctl
        )
        src.describe = f"journald unit {unit} ({who} logs to the journal; journalctl -u {unit})"
        return src
    if log_source:
        tried.append(f"{who}: log source {log_source}")
    for p, flt in known_paths:
        if os.path.isfile(p) and os.access(p, os.R_OK):
            if flt is not None:
                return FileLogSource(
                    p,
                    line_filter=flt,
                    describe=f"file {p}, dockerd lines only (found at a known place)",
                    **kw,
                )
            return FileLogSource(p, describe=f"file {p} (found at a known place)", **kw)
        tried.append(f"{p}: not there")
    raise LogStreamError(
        f"no daemon log found ({who}: output not a file, no systemd journal; tried "
        + ", ".join(x for x, _ in known_paths)
        + "): pass --file PATH or set daemon_log "
        "in the settings",
        "notfound",
    )


def find_daemon_process(host: str | None = None):
    """The local dockerd (:func:`inspectors.daemon.find_daemon`); None if it fails."""
    from inspectors.daemon import find_daemon

    try:
        return find_daemon(host)
    except Exception:
        return None


def last_daemon_lines(
    n: int = 50, host: str | None = None, settings=None, daemon_process=None
) -> tuple[list[LogLine], str]:
    """The last ``n`` lines of dockerd's log (sanitised, parsed) and where they
    came from; ``([], why)`` when no log can be read. For reports and the doctor."""
    dp = daemon_process if daemon_process is not None else find_daemon_process(host)
    try:
        src = daemon_log_source(dp, settings, follow=False, tail=n, max_lines=n)
    except LogStreamError as e:
        return [], str(e)
    lines: list[LogLine] = []
    try:
        with src:
            for batch in src.read():
                lines.extend(batch)
    except LogStreamError as e:
        return lines[-n:], str(e)
    return lines[-n:], src.describe
