"""Container and daemon logs as plain data (no Textual).

Everything that comes out of here is a :class:`LogLine` whose ``text`` went
through :func:`inspectors.text.clean_line`. Rendering as markup is the
widget's business (it must not: plain Text only).

Sources (``describe``, ``read()`` -> iterator of *lists* of lines, ``close()``
that interrupts a blocking read from another thread):

* :class:`ContainerLogSource` (``container``): one container through the
  engine's docker client (one request on the SDK's session, demuxed by frame).
* :class:`MergedLogSource` (``merge``): several containers, history merged by
  timestamp, then followed live; every line tagged with its container name.
* :class:`FileLogSource`, :class:`JournaldLogSource` (``daemon``): the one
  daemon-log reader; :func:`daemon_log_source` picks where dockerd logs and
  says which; :func:`last_daemon_lines` for "the last N daemon log lines".
* :class:`LogBuffer` (``ring``): the bounded ring a view keeps.
"""

from inspectors.logs.container import ContainerLogSource, LineAssembler
from inspectors.logs.daemon import (
    KNOWN_DAEMON_LOGS,
    FileLogSource,
    JournaldLogSource,
    daemon_log_source,
    find_daemon_process,
    last_daemon_lines,
    lines_since,
    syslog_dockerd_filter,
    tail_lines,
)
from inspectors.logs.lines import (
    LEVEL_RANK,
    LEVELS,
    MAX_LINE_CHARS,
    LogLine,
    LogSource,
    LogStreamError,
    decode,
    format_timestamp,
    meta_line,
    parse_daemon_line,
    parse_since,
    parse_timestamp,
)
from inspectors.logs.merge import MergedLogSource, open_container_logs
from inspectors.logs.ring import LogBuffer

__all__ = [
    "KNOWN_DAEMON_LOGS",
    "LEVELS",
    "LEVEL_RANK",
    "MAX_LINE_CHARS",
    "ContainerLogSource",
    "FileLogSource",
    "JournaldLogSource",
    "LineAssembler",
    "LogBuffer",
    "LogLine",
    "LogSource",
    "LogStreamError",
    "MergedLogSource",
    "daemon_log_source",
    "decode",
    "find_daemon_process",
    "format_timestamp",
    "last_daemon_lines",
    "lines_since",
    "meta_line",
    "open_container_logs",
    "parse_daemon_line",
    "parse_since",
    "parse_timestamp",
    "syslog_dockerd_filter",
    "tail_lines",
]
