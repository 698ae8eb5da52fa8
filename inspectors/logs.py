"""Container and daemon logs as plain data (no Textual).

Everything that comes out of here is a :class:`LogLine` whose ``text`` went
through :func:`sanitize`: no ANSI/OSC/other ESC sequences, no C0/C1 control
characters (tab kept), no bidi overrides, capped at :data:`MAX_LINE_CHARS`.
Rendering as markup is the widget's business (it must not: plain Text only).

Sources (all have ``describe``, ``read()`` -> iterator of *lists* of lines, one
list per read from the source, and ``close()`` that interrupts a blocking read
from another thread):

* :class:`ContainerLogSource`: one container through the Engine API, one
  connection, stdout/stderr told apart by the 8-byte frame headers (TTY
  containers: raw bytes, all stdout).
* :class:`MergedLogSource`: several containers, history merged by timestamp,
  then followed live; every line tagged with its container name.
* :class:`FileLogSource`: a daemon log file, ``tail -F`` semantics (rotation,
  truncation), last N lines read by seeking from the end.
* :class:`JournaldLogSource`: ``journalctl -u UNIT -o json [-f]``.

:func:`daemon_log_source` picks the daemon's source and says which one.
"""

from __future__ import annotations

import collections
import heapq
import json
import os
import queue
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, UTC
from typing import Any
from collections.abc import Callable, Iterable, Iterator

# --------------------------------------------------------------------------- lines

MAX_LINE_CHARS = 10_000  # display cap per line
_RAW_CAP = MAX_LINE_CHARS * 4 + 1024  # bytes kept of one unterminated line while assembling

LEVELS = ("debug", "info", "warning", "error", "fatal")
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
_LEVEL_ALIASES = {
    "debug": "debug",
    "debu": "debug",
    "trace": "debug",
    "trac": "debug",
    "info": "info",
    "notice": "info",
    "warning": "warning",
    "warn": "warning",
    "error": "error",
    "erro": "error",
    "err": "error",
    "fatal": "fatal",
    "fata": "fatal",
    "panic": "fatal",
    "pani": "fatal",
    "crit": "fatal",
}
# syslog PRIORITY (journald) -> level
_PRIORITY_LEVEL = {
    "0": "fatal",
    "1": "fatal",
    "2": "fatal",
    "3": "error",
    "4": "warning",
    "5": "info",
    "6": "info",
    "7": "debug",
}


@dataclass(slots=True)
class LogLine:
    """One log line, ready to show.

    ``stream`` is ``stdout``, ``stderr``, ``daemon`` or ``meta`` (a line dockscope
    adds itself: "container removed", "file rotated", ...).
    """

    source: str
    stream: str
    timestamp: datetime | None
    text: str
    level: str | None = None


def meta_line(source: str, text: str, level: str | None = None) -> LogLine:
    return LogLine(source, "meta", datetime.now(UTC), sanitize(text), level)


# ESC sequences: CSI, OSC (BEL or ST terminated), DCS/SOS/PM/APC (ST terminated),
# and two-byte ESC x; plus their 8-bit C1 forms. An unterminated string
# sequence swallows the rest of the line (a terminal would too).
_ESC_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS SOS PM APC
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (nF, Fp, Fe, Fs)
)
# What is left that must not reach a terminal: C0 but tab, DEL, C1, bidi
# embeddings/overrides/isolates (they reorder what is displayed), line/para
# separators. Also the replacement for lone surrogates.
_CTRL = "\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CTRL_RE = re.compile(f"[{_CTRL}]")
_NEEDS_RE = re.compile(f"[{_CTRL}]|\x1b")


def sanitize(text: str, limit: int = MAX_LINE_CHARS, cut_bytes: int = 0) -> str:
    """Make ``text`` inert for a terminal: strip ESC sequences and control
    characters (tab is kept), cap the length.

    A line longer than ``limit`` keeps its first ``limit`` characters followed by
    ``… [N bytes cut]`` (N counts UTF-8 bytes, plus ``cut_bytes`` already cut by
    the caller). Markup is not interpreted here, nor anywhere: render as Text.
    """
    if (
        len(text) <= limit
        and not cut_bytes
        and (text.isprintable() or _NEEDS_RE.search(text) is None)
    ):
        return text  # isprintable() is False for every character removed below (and a few more)
    if "\x1b" in text or "\x9b" in text or "\x9d" in text or "\x90" in text:
        text = _ESC_RE.sub("", text)
    text = _CTRL_RE.sub("", text)
    if len(text) > limit:
        cut_bytes += len(text[limit:].encode("utf-8", "replace"))
        text = text[:limit]
    if cut_bytes:
        text = f"{text}… [{cut_bytes} bytes cut]"
    return text


def decode(data: bytes | bytearray, cut_bytes: int = 0) -> str:
    """Bytes from a container or file -> sanitised text (invalid UTF-8 -> U+FFFD)."""
    if data.endswith(b"\r"):
        data = data[:-1]
    return sanitize(bytes(data).decode("utf-8", "replace"), cut_bytes=cut_bytes)


_TS_RE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")


def parse_timestamp(s: str) -> datetime | None:
    """RFC 3339 (nanoseconds allowed; extra digits dropped) -> aware datetime."""
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        try:
            dt = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", s.replace("Z", "+00:00")))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def format_timestamp(dt: datetime | None) -> str:
    """``2026-11-27T21:04:18.123Z`` (UTC, milliseconds) or 24 spaces."""
    if dt is None:
        return " " * 24
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(
    value: str | float | int | datetime | None, now: float | None = None
) -> float | None:
    """``--since`` like docker's: ``10m``, ``1h30m``, ``90s``, an RFC 3339 time,
    a date, or unix seconds -> epoch seconds (None for None/"").

    Raises ValueError with a clear message otherwise.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    now = time.time() if now is None else now
    if re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+", s):
        return now - sum(float(n) * _DURATION_UNIT[u] for n, u in _DURATION_RE.findall(s))
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    dt = parse_timestamp(s if "T" in s or " " in s else s + "T00:00:00")
    if dt is None:
        dt = parse_timestamp(s.replace(" ", "T"))
    if dt is None:
        raise ValueError(
            f"cannot understand --since {value!r}: use e.g. 10m, 1h30m, "
            "2026-01-31T12:00:00Z or unix seconds"
        )
    return dt.timestamp()


# --------------------------------------------------------------------------- dockerd lines

_LOGFMT_RE = re.compile(r'([A-Za-z_][\w.\-/]*)=("(?:[^"\\]|\\.)*"|\S*)')
_TEXTFMT_RE = re.compile(r"^(DEBU|INFO|WARN|ERRO|FATA|PANI|TRAC)\[([^\]]*)\]\s?(.*)$", re.S)
_SYSLOG_RE = re.compile(
    r"^(?:\S+\s+\d+\s+[\d:]+|\d{4}-\d\d-\d\dT\S+)\s+\S+\s+dockerd(?:\[\d+\])?:\s?"
)


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        try:
            return json.loads(v)
        except ValueError:
            return v[1:-1]
    return v


def parse_daemon_line(
    raw: str, source: str = "dockerd", timestamp: datetime | None = None, level: str | None = None
) -> LogLine:
    """One dockerd log line -> LogLine with timestamp, level and message.

    Understands logrus logfmt (``time="..." level=debug msg="..." k=v``), the
    TTY text format (``DEBU[2026-...] msg k=v``) and ``--log-format json``.
    Other fields stay visible after the message as ``k=v``. Anything else is
    kept as it is (Go stack traces, plain lines). ``raw`` need not be sanitised.
    """
    raw = raw.rstrip("\r\n")
    s = raw.lstrip()
    if s.startswith("{") and s.endswith("}"):
        try:
            obj = json.loads(s)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and ("msg" in obj or "level" in obj):
            ts = parse_timestamp(str(obj.pop("time", ""))) or timestamp
            lvl = _LEVEL_ALIASES.get(str(obj.pop("level", "")).lower(), level)
            msg = str(obj.pop("msg", ""))
            rest = " ".join(f"{k}={_fmt_value(v)}" for k, v in obj.items())
            return LogLine(source, "daemon", ts, sanitize(f"{msg}  {rest}" if rest else msg), lvl)
    if "level=" in s and ("msg=" in s or "time=" in s):
        fields = _LOGFMT_RE.findall(s)
        if fields:
            ts, lvl, msg, rest = timestamp, level, None, []
            for k, v in fields:
                if k == "time":
                    ts = parse_timestamp(_unquote(v)) or ts
                elif k == "level":
                    lvl = _LEVEL_ALIASES.get(_unquote(v).lower(), lvl)
                elif k == "msg" and msg is None:
                    msg = _unquote(v).replace("\r", "").replace("\n", " ").rstrip()
                else:
                    rest.append(f"{k}={v}")
            text = msg if msg is not None else ""
            if rest:
                text = f"{text}  {' '.join(rest)}" if text else " ".join(rest)
            return LogLine(source, "daemon", ts, sanitize(text), lvl)
    m = _TEXTFMT_RE.match(s)
    if m:
        lvl = _LEVEL_ALIASES.get(m.group(1).lower(), level)
        ts = timestamp
        when = m.group(2)
        if "T" in when:
            ts = parse_timestamp(when) or ts
        return LogLine(source, "daemon", ts, sanitize(m.group(3).rstrip()), lvl)
    return LogLine(source, "daemon", timestamp, sanitize(raw), level)


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v) if (" " in v or '"' in v or not v) else v
    return json.dumps(v)


# --------------------------------------------------------------------------- ring buffer


class LogBuffer:
    """A bounded ring of lines with stable sequence numbers.

    ``seq`` of the oldest kept line is :attr:`first_seq`; line ``seq`` is at
    ``seq - first_seq``. Appending past ``maxlen`` drops the oldest lines and
    returns how many were dropped, so a view can keep its position.
    """

    def __init__(self, maxlen: int = 50_000):
        self.maxlen = max(1, int(maxlen))
        self._lines: collections.deque[LogLine] = collections.deque(maxlen=self.maxlen)
        self.first_seq = 0  # seq of self._lines[0]
        self.total = 0  # lines ever appended (== next seq)

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[LogLine]:
        return iter(self._lines)

    @property
    def end_seq(self) -> int:
        """One past the newest line's seq."""
        return self.total

    def extend(self, lines: list[LogLine]) -> int:
        """Append; returns the number of old lines evicted."""
        before = len(self._lines)
        n = len(lines)
        self._lines.extend(lines)
        self.total += n
        evicted = before + n - len(self._lines)
        self.first_seq += evicted
        return evicted

    def clear(self) -> None:
        self._lines.clear()
        self.first_seq = self.total

    def get(self, seq: int) -> LogLine | None:
        i = seq - self.first_seq
        if 0 <= i < len(self._lines):
            return self._lines[i]
        return None

    def __getitem__(self, i: int) -> LogLine:
        return self._lines[i]

    def range(self, start_seq: int, end_seq: int) -> Iterator[tuple[int, LogLine]]:
        start = max(start_seq, self.first_seq)
        for i in range(start - self.first_seq, min(end_seq, self.total) - self.first_seq):
            yield self.first_seq + i, self._lines[i]


# --------------------------------------------------------------------------- sources


class LogStreamError(Exception):
    """A log cannot be read; the message is one clear line.

    ``kind``: notfound | unsupported | unreadable | engine
    """

    def __init__(self, message: str, kind: str = "unreadable"):
        super().__init__(message)
        self.kind = kind


class LogSource:
    """Base: ``describe`` says what is read; ``read()`` yields lists of lines."""

    describe: str = ""
    name: str = ""

    def read(self) -> Iterator[list[LogLine]]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _since_param(since: float | None) -> str | None:
    if since is None:
        return None
    ns = int(round(since * 1e9))
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


class ContainerLogSource(LogSource):
    """One container's log through the Engine API on one connection.

    ``client`` is a ``docker.DockerClient``. Timestamps are always requested
    (needed for merging; the view may hide them). ``tail`` is an int or
    ``"all"``; ``since`` epoch seconds. ``follow`` keeps reading until the
    container stops (then a meta line says exited/removed) or :meth:`close`.

    ``reattach`` (with ``follow``): when the container exited or was removed,
    do not end: wait (docker events, no polling) for a container of that NAME
    to start again (the same one restarted, or a new one created under the
    name), then yield a meta line "container NAME started again (new id ...):
    following" and follow it from that start on (no old line twice).
    ``on_state(kind, text)`` is called from the reading thread: ``"waiting"``
    (text: why the follow ended) and ``"resumed"`` (text: the marker).
    :meth:`close` also interrupts the wait.
    """

    def __init__(
        self,
        client,
        container: str,
        *,
        follow: bool = True,
        tail: int | str = 500,
        since: float | None = None,
        name: str | None = None,
        after: datetime | None = None,
        raw_socket: bool = True,
        reattach: bool = False,
        on_state: Callable[[str, str], None] | None = None,
    ):
        self.client = client
        self.raw_socket = raw_socket  # HTTP/1.0 on a local unix socket (else docker-py, chunked)
        self.container = container
        self.follow = follow
        self.tail = tail if (tail == "all" or (isinstance(tail, int) and tail >= 0)) else "all"
        self.since = since
        self.after = after  # drop lines at or before this (merge dedup)
        self.name = name or container
        self.id: str | None = None
        self.tty = False
        self.driver: str | None = None
        self._res = None
        self._sock: _RawResponse | None = None
        self._closed = threading.Event()
        self._opened = False
        self.reattach = reattach
        self.on_state = on_state
        self.started_at: str | None = None  # State.StartedAt of the run being read
        self.restarts = 0  # times the follow re-attached
        self._end_kind: str | None = None  # exited | removed | restarted | running | engine
        self._finished_at: datetime | None = None  # State.FinishedAt seen at the end
        self._waiter = None  # the docker events stream while waiting for a start
        self._end_text = ""
        self._lock = threading.Lock()
        self.describe = f"container {self.name}"

    # ---------------------------------------------------------------- open
    def inspect(self) -> dict:
        import docker.errors as derr

        try:
            attrs = self.client.api.inspect_container(self.container)
        except derr.NotFound:
            raise LogStreamError(f"no such container: {self.container}", "notfound")
        except derr.APIError as e:
            raise LogStreamError(
                f"cannot inspect container {self.container}: {e.explanation or e}", "engine"
            )
        except derr.DockerException as e:
            raise LogStreamError(f"engine unreachable: {e}", "engine")
        except Exception as e:  # requests ConnectionError ...
            raise LogStreamError(f"engine unreachable: {e}", "engine")
        self.id = attrs.get("Id")
        self.name = (attrs.get("Name") or self.container).lstrip("/")
        self.tty = bool((attrs.get("Config") or {}).get("Tty"))
        self.driver = ((attrs.get("HostConfig") or {}).get("LogConfig") or {}).get("Type")
        self.started_at = (attrs.get("State") or {}).get("StartedAt")
        return attrs

    def open(self) -> ContainerLogSource:
        """Inspect and start the request; raises :class:`LogStreamError`."""
        import docker.errors as derr

        if self._opened:
            return self
        self.inspect()
        if self.driver == "none":
            raise LogStreamError(
                f"container {self.name} was started with --log-driver none: "
                "the engine keeps no log to read back",
                "unsupported",
            )
        api = self.client.api
        params: dict[str, Any] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": 1 if self.follow else 0,
            "tail": self.tail,
        }
        if self.since is not None:
            params["since"] = _since_param(self.since)
        window = "all" if self.tail == "all" else f"tail {self.tail}"
        if self.since is not None:
            window = f"since {format_timestamp(datetime.fromtimestamp(self.since, UTC))}"
        self.describe = (
            f"container {self.name} ({self.driver or '?'} driver{', tty' if self.tty else ''}), "
            f"{window}{', following' if self.follow else ''}"
        )
        sock_path = _unix_socket_of(self.client) if self.raw_socket else None
        try:
            if sock_path:
                self._sock = _raw_get(sock_path, api._url("/containers/{0}/logs", self.id), params)
            else:
                res = api._get(
                    api._url("/containers/{0}/logs", self.id), params=params, stream=True
                )
                api._raise_for_status(res)
                self._res = res
        except (derr.APIError, _HTTPStatus) as e:
            status = e.status_code
            msg = str(getattr(e, "explanation", None) or e).strip()
            if status == 501 or "does not support reading" in msg:
                raise LogStreamError(
                    f"container {self.name} uses the {self.driver!r} logging driver, which the "
                    f"engine cannot read back (no dual-logging cache): {msg}",
                    "unsupported",
                )
            if status == 404:
                raise LogStreamError(f"no such container: {self.container}", "notfound")
            if status == 409:
                raise LogStreamError(f"container {self.name}: {msg}", "unsupported")
            raise LogStreamError(f"container {self.name}: {msg}", "engine")
        except Exception as e:
            raise LogStreamError(
                f"engine unreachable while opening logs of {self.name}: {e}", "engine"
            )
        if self._res is not None:
            try:  # follow may sit idle for hours: no read timeout
                sock = api._get_raw_response_socket(self._res)
                api._disable_socket_timeout(sock)
            except Exception:
                pass
        self._opened = True
        if self._closed.is_set():
            self._shutdown()
        return self

    # ---------------------------------------------------------------- read
    def _chunks(self) -> Iterator[bytes]:
        """The response body, de-chunked, as it arrives (one recv per read)."""
        if self._sock is not None:
            yield from self._sock.body()
            return
        res = self._res
        hr = getattr(res.raw, "_fp", None)
        fp = getattr(hr, "fp", None)
        if (
            hr is not None
            and getattr(hr, "chunked", False)
            and fp is not None
            and hasattr(fp, "read1")
            and hr.chunk_left is None
        ):
            yield from _dechunk(fp)
            return
        read1 = getattr(res.raw, "read1", None)
        while True:  # generic fallback (ssh transports, odd proxies)
            try:
                d = read1(65536) if read1 else res.raw.read(4096)
            except Exception:
                return
            if not d:
                return
            yield d

    def read(self) -> Iterator[list[LogLine]]:
        """Lists of lines as they arrive; at the end of a follow, a meta line
        saying why (exited, removed, engine gone). Nothing after close().
        With ``reattach``, then waits for the container to start again and
        goes on (see the class doc)."""
        while True:
            last: datetime | None = None
            for batch in self._read_run():
                for ln in reversed(batch):
                    if ln.stream != "meta" and ln.timestamp is not None:
                        last = ln.timestamp if last is None or ln.timestamp > last else last
                        break
                yield batch
            if (
                not (self.reattach and self.follow)
                or self._closed.is_set()
                or self._end_kind not in ("exited", "removed", "restarted")
            ):
                return
            if self.on_state is not None:
                self.on_state("waiting", self._end_text)
            attrs = self._wait_for_start()
            if attrs is None:
                return  # closed
            marker = self._reopen(attrs, last)
            if self._closed.is_set():
                return
            if self.on_state is not None:
                self.on_state("resumed", marker.text)
            yield [marker]

    def _reopen(self, attrs: dict, last: datetime | None) -> LogLine:
        """Point this source at the run that just started (``attrs``: its
        inspect); returns the marker line. Lines of an earlier run of the same
        container are skipped by time (after the last one read, or its end)."""
        old_id = self.id
        new_id = attrs.get("Id") or ""
        self._sock = None
        self._res = None
        self._opened = False
        self.container = new_id or self.name
        if new_id and new_id == old_id:
            cut = (
                last
                or self._finished_at
                or parse_timestamp(str((attrs.get("State") or {}).get("StartedAt") or ""))
            )
            self.tail = "all"
            self.since = cut.timestamp() if cut is not None else None
            self.after = cut
            what = "same id"
        else:
            self.tail, self.since, self.after = "all", None, None  # a new log: all of it
            what = "new id"
        self._end_kind = None
        self._finished_at = None
        self.restarts += 1
        return meta_line(
            self.name,
            f"container {self.name} started again ({what} {new_id[:12]}): following",
            "info",
        )

    def _started_since(
        self, ref: str, old_id: str | None, old_started: str | None, evented: bool = False
    ) -> dict | None:
        """Inspect ``ref``: its attrs when it is a run other than the one read
        before (another id, or another StartedAt) that has started; else None."""
        try:
            attrs = self.client.api.inspect_container(ref)
        except Exception:
            return None
        if (attrs.get("Name") or "").lstrip("/") != self.name:
            return None
        started = (attrs.get("State") or {}).get("StartedAt") or ""
        if not evented and (not started or started.startswith("0001-")):
            return None  # created, never started
        if attrs.get("Id") == old_id and started == old_started:
            return None
        return attrs

    def _wait_for_start(self) -> dict | None:
        """Block until a container named ``self.name`` starts (another run than
        the one read); its inspect attrs, or None when closed."""
        name = self.name
        old_id, old_started = self.id, self.started_at
        while not self._closed.is_set():
            try:
                stream = self.client.events(
                    decode=True, filters={"type": "container", "container": name, "event": "start"}
                )
            except Exception:  # engine away for now: try again
                if self._closed.wait(1.0):
                    return None
                continue
            with self._lock:
                self._waiter = stream
                closed = self._closed.is_set()
            try:
                if closed:
                    return None
                # subscribed: now a start cannot be missed; did it happen already?
                attrs = self._started_since(name, old_id, old_started)
                if attrs is not None:
                    return attrs
                for ev in stream:
                    if self._closed.is_set():
                        return None
                    actor = ev.get("Actor") or {}
                    # the engine's filter matches name prefixes: want exactly this one
                    if (actor.get("Attributes") or {}).get("name") != name:
                        continue
                    attrs = self._started_since(
                        actor.get("ID") or name, old_id, old_started, evented=True
                    )
                    if attrs is not None:
                        return attrs
            except Exception:
                pass  # the stream broke (closed, engine restarting)
            finally:
                with self._lock:
                    self._waiter = None
                try:
                    stream.close()
                except Exception:
                    pass
            if self._closed.wait(1.0):
                return None
        return None

    def _read_run(self) -> Iterator[list[LogLine]]:
        if not self._opened:
            self.open()
        asm = _FrameAssembler(self.name, self.after)
        broke: str | None = None
        try:
            if self.tty:
                for chunk in self._chunks():
                    out: list[LogLine] = []
                    asm.feed(1, chunk, out, False)
                    if out:
                        yield out
            else:
                for out in asm.frames(self._chunks()):
                    yield out
        except Exception as e:  # connection reset, engine stopped
            if not self._closed.is_set():
                broke = str(e) or e.__class__.__name__
        tail_lines = asm.flush()
        if self._closed.is_set():
            if tail_lines:
                yield tail_lines
            return
        if broke:
            self._end_kind = "engine"
            tail_lines.append(meta_line(self.name, f"log stream broke: {broke}", "error"))
        elif self.follow:
            end = self._end_marker()
            self._end_text = end.text
            tail_lines.append(end)
        if tail_lines:
            yield tail_lines

    def _end_marker(self) -> LogLine:
        """Why a follow ended: exited (code), removed, or the engine went away."""
        import docker.errors as derr

        deadline = time.monotonic() + 3.0
        self._end_kind, self._finished_at = "removed", None
        while True:
            try:
                attrs = self.client.api.inspect_container(self.id or self.container)
            except derr.NotFound:
                return meta_line(self.name, "container removed", "warning")
            except Exception as e:
                self._end_kind = "engine"
                return meta_line(self.name, f"log stream ended (engine: {e})", "error")
            state = attrs.get("State") or {}
            status = state.get("Status")
            if (
                status == "running"
                and self.started_at
                and state.get("StartedAt")
                and state.get("StartedAt") != self.started_at
            ):
                # stopped and started again before we looked (docker restart)
                self._end_kind = "restarted"
                self._finished_at = parse_timestamp(str(state.get("FinishedAt") or ""))
                return meta_line(self.name, "container restarted", "info")
            if status in ("removing", "dead") or (
                status == "running" and time.monotonic() < deadline
            ):
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
            if status == "running":
                self._end_kind = "running"
                return meta_line(self.name, "log stream ended (container still running)", "warning")
            if status in ("removing", "dead"):
                return meta_line(self.name, "container removed", "warning")
            self._end_kind = "exited"
            self._finished_at = parse_timestamp(str(state.get("FinishedAt") or ""))
            code = state.get("ExitCode")
            return meta_line(
                self.name,
                f"container {status or 'stopped'} (exit code {code})",
                "info" if code == 0 else "error",
            )

    # ---------------------------------------------------------------- close
    def _shutdown(self) -> None:
        if self._sock is not None:
            self._sock.close()
            return
        res = self._res
        if res is None:
            return
        try:
            from docker.types.daemon import CancellableStream

            CancellableStream(iter(()), res).close()
        except Exception:
            try:
                res.close()
            except Exception:
                pass

    def close(self) -> None:
        """Stop reading; safe from any thread, interrupts a blocking read (and
        a wait for a restart)."""
        self._closed.set()
        self._shutdown()
        with self._lock:
            waiter = self._waiter
        if waiter is not None:
            try:
                waiter.close()
            except Exception:
                pass


class _HTTPStatus(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status_code = status


def _unix_socket_of(client) -> str | None:
    """The socket path when ``client`` talks to a local unix socket."""
    try:
        api = client.api
        if not str(api.base_url).startswith("http+docker://"):
            return None
        adapter = api.get_adapter(api.base_url)
        path = getattr(adapter, "socket_path", None)
        return path if path and os.path.exists(path) else None
    except Exception:
        return None


class _RawResponse:
    """An HTTP/1.0 response on a unix socket: no chunked encoding, the body
    ends when the engine closes the connection. ``close()`` from any thread
    interrupts a blocking recv (shutdown)."""

    def __init__(self, sock: socket.socket, first: bytes):
        self.sock = sock
        self.first = first
        self._closed = False

    def body(self) -> Iterator[bytes]:
        if self.first:
            yield self.first
        recv = self.sock.recv
        sleep = time.sleep
        while not self._closed:
            try:
                d = recv(262144)
            except OSError:
                return
            if not d:
                return
            yield d
            if len(d) < 32768:
                # a trickle (the engine writes a frame per line): let a few ms of
                # them pile up rather than wake up for each; costs 2 ms of latency
                sleep(0.002)

    def close(self) -> None:
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def _raw_get(sock_path: str, url: str, params: dict, timeout: float = 30.0) -> _RawResponse:
    """GET ``url``'s path on the engine's unix socket with HTTP/1.0.

    dockerd answers an HTTP/1.0 request with a plain body closed at its end
    (HTTP/1.1 would be chunked: one chunk per log line to decode). Raises
    :class:`_HTTPStatus` for an error status (with the engine's message).
    """
    from urllib.parse import urlencode, urlsplit

    u = urlsplit(url)
    target = u.path + ("?" + urlencode(params) if params else "")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(
            f"GET {target} HTTP/1.0\r\nHost: docker\r\nUser-Agent: dockscope\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(65536)
            if not d:
                raise OSError("the engine closed the connection before answering")
            head += d
            if len(head) > 1 << 20:
                raise OSError("no end of HTTP headers in the first MiB")
        head, _, rest = head.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if status >= 400 or status == 0:
            body = rest
            while len(body) < 1 << 20:
                d = s.recv(65536)
                if not d:
                    break
                body += d
            try:
                msg = json.loads(body).get("message", "")
            except (ValueError, AttributeError):
                msg = body.decode("utf-8", "replace").strip()
            raise _HTTPStatus(status, msg or status_line)
        s.settimeout(None)  # a follow may sit idle for hours
        return _RawResponse(s, rest)
    except BaseException:
        s.close()
        raise


def _dechunk(fp) -> Iterator[bytes]:
    """HTTP/1.1 chunked body from a buffered socket file, as data arrives.

    http.client's own chunk reader costs a few µs per chunk and dockerd sends
    one chunk per log line; this takes whatever one recv brought in one go.
    """
    buf = b""
    while True:
        try:
            d = fp.read1(262144)
        except (OSError, ValueError):
            return
        if not d:
            return
        buf = buf + d if buf else d
        n = len(buf)
        pos = 0
        out: list[bytes] = []
        find = buf.find
        append = out.append
        while True:
            i = find(b"\r\n", pos, pos + 20)
            if i < 0:
                if n - pos >= 20:
                    return  # not chunked encoding after all: give up cleanly
                break
            try:
                size = int(buf[pos:i].split(b";")[0], 16)
            except ValueError:
                return
            if size == 0:
                if out:
                    yield b"".join(out)
                return
            end = i + 2 + size
            if end + 2 > n:
                break  # the rest of this chunk is still on its way
            append(buf[i + 2 : end])
            pos = end + 2
        if pos:
            buf = buf[pos:]
        if out:
            yield b"".join(out)


_SNAMES = {0: "stdout", 1: "stdout", 2: "stderr"}
_unpack_header = struct.Struct(">BxxxL").unpack_from


class _FrameAssembler:
    """Engine log frames (8-byte headers: stream, 0,0,0, big-endian length) or
    raw TTY bytes -> lines per stream, with the leading RFC 3339 timestamp
    parsed. A frame is one log message; a message > 16 KiB arrives as several
    partial frames without a newline, each with its own timestamp (dropped on
    continuations). One unterminated line keeps at most ``_RAW_CAP`` bytes.
    """

    def __init__(self, name: str, after: datetime | None = None):
        self.name = name
        self.after = after
        self.pend: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self.cut: dict[int, int] = {1: 0, 2: 0}

    def line(self, st: int, data: bytes | bytearray, extra_cut: int) -> LogLine | None:
        ts = None
        sp = data.find(b" ", 0, 40)
        if sp > 0 and data[:1].isdigit():
            ts = parse_timestamp(bytes(data[:sp]).decode(errors="replace"))
            if ts is not None:
                data = data[sp + 1 :]
        if self.after is not None and ts is not None and ts <= self.after:
            return None
        return LogLine(self.name, _SNAMES.get(st, "stdout"), ts, decode(data, extra_cut))

    def _add(self, st: int, p: bytearray, seg: bytes | bytearray) -> None:
        room = _RAW_CAP - len(p)
        if room >= len(seg):
            p += seg
        else:
            if room > 0:
                p += seg[:room]
            self.cut[st] += len(seg) - max(room, 0)

    def feed(self, st: int, payload: bytes, out: list[LogLine], framed: bool) -> None:
        """General path: any payload, any number of newlines, partial lines."""
        p = self.pend[st]
        if p and framed:
            m = _TS_RE.match(payload)
            if m:
                payload = payload[m.end() :]
        start = 0
        while True:
            nl = payload.find(b"\n", start)
            if nl < 0:
                break
            if p:
                self._add(st, p, payload[start:nl])
                ln = self.line(st, p, self.cut[st])
                p.clear()
                self.cut[st] = 0
            else:
                seg = payload[start:nl]
                if len(seg) > _RAW_CAP:
                    ln = self.line(st, seg[:_RAW_CAP], len(seg) - _RAW_CAP)
                else:
                    ln = self.line(st, seg, 0)
            if ln is not None:
                out.append(ln)
            start = nl + 1
        if start < len(payload):
            self._add(st, p, payload[start:])

    def frames(self, chunks: Iterable[bytes]) -> Iterator[list[LogLine]]:
        """Multiplexed stream -> lists of lines (one list per chunk read)."""
        name = self.name
        pend = self.pend
        after = self.after
        fromiso = datetime.fromisoformat
        needs = _NEEDS_RE.search
        limit = MAX_LINE_CHARS
        unpack = _unpack_header
        buf = b""
        for chunk in chunks:
            buf = buf + chunk if buf else chunk
            n = len(buf)
            pos = 0
            out: list[LogLine] = []
            find = buf.find
            while n - pos >= 8:
                st, ln_ = unpack(buf, pos)
                s = pos + 8
                end = s + ln_
                if end > n:
                    break
                pos = end
                if st > 2:
                    continue
                if (
                    ln_
                    and buf[end - 1] == 10
                    and ln_ <= _RAW_CAP
                    and not pend.get(st or 1)
                    and find(b"\n", s, end - 1) < 0
                ):
                    # fast path: one whole line
                    ts = None
                    sp = find(b" ", s, s + 40)
                    if sp > 0:
                        try:
                            ts = fromiso(buf[s:sp].decode())
                            s = sp + 1
                        except ValueError:
                            ts = parse_timestamp(buf[s:sp].decode(errors="replace"))
                            if ts is not None:
                                s = sp + 1
                    if after is not None and ts is not None and ts <= after:
                        continue
                    e = end - 1
                    if e > s and buf[e - 1] == 13:
                        e -= 1
                    text = buf[s:e].decode("utf-8", "replace")
                    if len(text) > limit or (not text.isprintable() and needs(text) is not None):
                        text = sanitize(text)
                    out.append(LogLine(name, "stderr" if st == 2 else "stdout", ts, text))
                else:
                    self.feed(st or 1, buf[s:end], out, True)
            buf = buf[pos:] if pos else buf
            if out:
                yield out

    def flush(self) -> list[LogLine]:
        out = []
        for st in (1, 2):
            if self.pend[st]:
                ln = self.line(st, self.pend[st], self.cut[st])
                if ln is not None:
                    out.append(ln)
                self.pend[st].clear()
                self.cut[st] = 0
        return out


class MergedLogSource(LogSource):
    """Several containers as one stream, each line tagged with its container.

    History (``tail``/``since``) of all containers is read first and merged by
    timestamp; then, when following, each container is followed from its last
    line on (lines at or before it are dropped) by a reader thread of its own,
    and lines are passed on as they arrive. :meth:`close` stops them all.

    ``reattach``/``on_state``: as :class:`ContainerLogSource`, per container;
    ``on_state("waiting", ...)`` comes when every followed container waits,
    ``on_state("resumed", ...)`` when one of them starts again.
    """

    def __init__(
        self,
        client,
        containers: list[str],
        *,
        follow: bool = True,
        tail: int | str = 500,
        since: float | None = None,
        reattach: bool = False,
        on_state: Callable[[str, str], None] | None = None,
    ):
        self.client = client
        self.reattach = reattach
        self.on_state = on_state
        self._alive: set[str] = set()  # followed containers whose reader runs
        self._waiting: dict[str, str] = {}  # ... of those, the ones waiting for a start
        self.containers = list(containers)
        self.follow = follow
        self.tail = tail
        self.since = since
        self.name = ",".join(self.containers)
        self._subs: list[ContainerLogSource] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self.names: list[str] = []
        self.describe = f"containers {self.name}"

    def _track(self, src: ContainerLogSource) -> ContainerLogSource:
        with self._lock:
            self._subs.append(src)
            if self._closed.is_set():
                src.close()
        return src

    def open(self) -> MergedLogSource:
        """Check every container exists and can be read (clear error if not)."""
        probes = [ContainerLogSource(self.client, c, follow=False, tail=0) for c in self.containers]
        for p in probes:
            p.inspect()
            if p.driver == "none":
                raise LogStreamError(
                    f"container {p.name} was started with --log-driver none: "
                    "the engine keeps no log to read back",
                    "unsupported",
                )
        self.names = [p.name for p in probes]
        self.name = ",".join(self.names)
        window = "all" if self.tail == "all" else f"tail {self.tail} each"
        if self.since is not None:
            window = f"since {format_timestamp(datetime.fromtimestamp(self.since, UTC))}"
        self.describe = (
            f"{len(self.names)} containers merged ({', '.join(self.names)}), {window}"
            f"{', following' if self.follow else ''}"
        )
        return self

    def read(self) -> Iterator[list[LogLine]]:
        if not self.names:
            self.open()
        t0 = time.time()
        # 1. history, in parallel, merged by time
        hist: dict[str, list[LogLine]] = {}
        errors: list[LogLine] = []

        def fetch(name: str) -> None:
            src = self._track(
                ContainerLogSource(
                    self.client, name, follow=False, tail=self.tail, since=self.since
                )
            )
            lines: list[LogLine] = []
            try:
                for batch in src.read():
                    lines.extend(batch)
            except LogStreamError as e:
                errors.append(meta_line(name, str(e), "error"))
            hist[name] = lines

        threads = [threading.Thread(target=fetch, args=(n,), daemon=True) for n in self.names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self._closed.is_set():
            return
        far = datetime.max.replace(tzinfo=UTC)
        merged = list(heapq.merge(*hist.values(), key=lambda ln: ln.timestamp or far))
        merged.extend(errors)
        for i in range(0, len(merged), 5000):
            yield merged[i : i + 5000]
        if not self.follow or self._closed.is_set():
            return
        # 2. follow each from where its history ended
        live = len(self.names)
        self._alive = set(self.names)

        def sub_state(name: str, kind: str, text: str) -> None:
            if self.on_state is None:
                return
            with self._lock:
                if kind == "waiting":
                    self._waiting[name] = text
                else:
                    self._waiting.pop(name, None)
                all_wait = bool(self._alive) and self._alive <= set(self._waiting)
                why = "; ".join(f"{n}: {t}" for n, t in self._waiting.items())
            if kind == "resumed":
                self.on_state("resumed", text)
            elif all_wait:
                self.on_state("waiting", why)

        def follow(name: str) -> None:
            lines = hist.get(name) or []
            last = next((ln.timestamp for ln in reversed(lines) if ln.timestamp), None)
            since = None if last else (self.since if self.since is not None else t0)
            src = self._track(
                ContainerLogSource(
                    self.client,
                    name,
                    follow=True,
                    tail="all",
                    since=since if last is None else last.timestamp(),
                    after=last,
                    reattach=self.reattach,
                    on_state=lambda kind, text, n=name: sub_state(n, kind, text),
                )
            )
            try:
                for batch in src.read():
                    self._q.put(batch)
            except LogStreamError as e:
                self._q.put([meta_line(name, str(e), "error")])
            except Exception as e:  # never let a reader die silently
                self._q.put([meta_line(name, f"log stream broke: {e}", "error")])
            finally:
                with self._lock:
                    self._alive.discard(name)
                    self._waiting.pop(name, None)
                    all_wait = bool(self._alive) and self._alive <= set(self._waiting)
                    why = "; ".join(f"{n}: {t}" for n, t in self._waiting.items())
                if all_wait and self.on_state is not None and not self._closed.is_set():
                    self.on_state("waiting", why)
                self._q.put(None)

        for n in self.names:
            threading.Thread(
                target=follow, args=(n,), daemon=True, name=f"dockscope-logs-{n}"
            ).start()
        while live:
            item = self._q.get()
            if item is None:
                live -= 1
                continue
            if self._closed.is_set():
                continue
            # drain what else is there: fewer, bigger lists
            out = list(item)
            while True:
                try:
                    more = self._q.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    live -= 1
                elif not self._closed.is_set():
                    out.extend(more)
            if not self._closed.is_set():
                yield out

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            s.close()


def open_container_logs(
    client,
    containers: list[str],
    *,
    follow: bool = True,
    tail: int | str = 500,
    since: float | None = None,
    reattach: bool = False,
    on_state: Callable[[str, str], None] | None = None,
) -> LogSource:
    """One container -> :class:`ContainerLogSource`; several -> :class:`MergedLogSource`.
    Opened (so errors come out here, as :class:`LogStreamError`). ``reattach``:
    a follow waits for a stopped/removed container to start again (see
    :class:`ContainerLogSource`)."""
    if not containers:
        raise LogStreamError("no container given", "notfound")
    if len(containers) == 1:
        return ContainerLogSource(
            client,
            containers[0],
            follow=follow,
            tail=tail,
            since=since,
            reattach=reattach,
            on_state=on_state,
        ).open()
    return MergedLogSource(
        client,
        containers,
        follow=follow,
        tail=tail,
        since=since,
        reattach=reattach,
        on_state=on_state,
    ).open()


# --------------------------------------------------------------------------- files


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
                    if len(partial) > _RAW_CAP * 4:
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
    if len(raw) > _RAW_CAP:
        return raw[:_RAW_CAP].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def syslog_dockerd_filter(line: str) -> str | None:
    """Keep dockerd's lines of a syslog file, without the syslog prefix."""
    if "dockerd" not in line:
        return None
    m = _SYSLOG_RE.match(line)
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
        level = _PRIORITY_LEVEL.get(str(rec.get("PRIORITY", "")))
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
                sanitize(err.decode(errors="replace").strip().splitlines()[0])
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
    """``inspectors.daemon.find_daemon`` when it is there; None if it fails."""
    try:
        from inspectors.daemon import find_daemon  # another module of this project
    except ImportError:
        return None
    try:
        return find_daemon(host)
    except Exception:
        return None


__all__ = [
    "LogLine",
    "sanitize",
    "decode",
    "parse_timestamp",
    "format_timestamp",
    "parse_since",
    "parse_daemon_line",
    "LogBuffer",
    "LogStreamError",
    "LogSource",
    "ContainerLogSource",
    "MergedLogSource",
    "open_container_logs",
    "FileLogSource",
    "JournaldLogSource",
    "daemon_log_source",
    "find_daemon_process",
    "tail_lines",
    "syslog_dockerd_filter",
    "LEVELS",
    "LEVEL_RANK",
    "MAX_LINE_CHARS",
    "meta_line",
]
