"""Log lines as plain data: :class:`LogLine`, timestamps, ``--since``, dockerd
line formats (logfmt, TTY text, JSON) and the :class:`LogSource` interface.

Every ``LogLine.text`` went through :func:`inspectors.text.clean_line` (the one
sanitizer): no escape sequences, no controls but tab, capped length.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inspectors.text import MAX_LINE_CHARS, clean_line

RAW_CAP = MAX_LINE_CHARS * 4 + 1024  # bytes kept of one unterminated line while assembling

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
PRIORITY_LEVEL = {
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
    return LogLine(source, "meta", datetime.now(UTC), clean_line(text), level)


def decode(data: bytes | bytearray, cut_bytes: int = 0) -> str:
    """Bytes from a container or file -> sanitised text (invalid UTF-8 -> U+FFFD)."""
    if data.endswith(b"\r"):
        data = data[:-1]
    return clean_line(bytes(data).decode("utf-8", "replace"), cut_bytes=cut_bytes)


TS_RE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")


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
SYSLOG_RE = re.compile(
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
            return LogLine(source, "daemon", ts, clean_line(f"{msg}  {rest}" if rest else msg), lvl)
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
            return LogLine(source, "daemon", ts, clean_line(text), lvl)
    m = _TEXTFMT_RE.match(s)
    if m:
        lvl = _LEVEL_ALIASES.get(m.group(1).lower(), level)
        ts = timestamp
        when = m.group(2)
        if "T" in when:
            ts = parse_timestamp(when) or ts
        return LogLine(source, "daemon", ts, clean_line(m.group(3).rstrip()), lvl)
    return LogLine(source, "daemon", timestamp, clean_line(raw), level)


def _fmt_value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v) if (" " in v or '"' in v or not v) else v
    return json.dumps(v)


# --------------------------------------------------------------------------- ring buffer


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
