"""``dockscope logs``: container and daemon logs, sanitised, on stdout.

::

    dockscope logs daemon [-f] [--tail N] [--since D] [--file PATH]
    dockscope logs CONTAINER... [-f] [--tail N] [--since D] [-t]

The first line, on stderr, says which source is read. Several containers are
merged by time with a ``name | `` prefix; stderr lines are marked
``[stderr]``. Exit 2 with one clear line for an unknown container or a log
that cannot be read.
"""

from __future__ import annotations

import argparse
from inspectors.text import clean
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "logs",
        help="container or daemon logs (sanitised), like docker logs",
        description="Print container logs (several: merged by time, with a name prefix) or "
        "the Docker daemon's log (`logs daemon`, found automatically: dockerd's log file, "
        "journald, or the usual files). Escape sequences and control characters are removed.",
    )
    p.add_argument(
        "targets",
        nargs="+",
        metavar="CONTAINER|daemon",
        help="container names or ids, or `daemon` for dockerd's own log",
    )
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument(
        "-n",
        "--tail",
        default=None,
        help="lines from the end to show (a number or `all`; default: the "
        "settings' log_tail for the daemon, all for containers)",
    )
    p.add_argument(
        "--since",
        default=None,
        help="only lines since: 10m, 1h30m, 2026-01-31T12:00:00Z or unix seconds",
    )
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--file", metavar="PATH", help="daemon: read this log file instead")
    p.set_defaults(func=run)


def _tail(value: str | None, default):
    if value is None:
        return default
    if str(value).lower() == "all":
        return "all"
    try:
        n = int(value)
    except ValueError:
        raise SystemExit(_die(f"--tail: {value!r} is not a number or `all`"))
    return "all" if n < 0 else n


def _die(msg: str) -> int:
    print(f"dockscope: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from inspectors import logs as L
    from inspectors.config import load_settings

    settings = load_settings()
    try:
        since = L.parse_since(args.since)
    except ValueError as e:
        return _die(str(e))
    daemon = args.targets == ["daemon"]
    if args.file and not daemon:
        return _die("--file is for `dockscope logs daemon`")
    try:
        if daemon:
            tail = _tail(args.tail, int(settings.log_tail or 500))
            dp = None if (args.file or settings.daemon_log) else L.find_daemon_process(None)
            src = L.daemon_log_source(
                dp,
                settings,
                path=args.file,
                follow=args.follow,
                tail=tail,
                since=since,
                max_lines=10**9,
            )
            if dp is not None and getattr(dp, "note", None) and "guessed" in dp.note:
                src.describe += f" [{clean(dp.note)}]"
        else:
            from inspectors.api import EngineError
            from tui.cli import engine

            try:
                client = engine(args).client
            except EngineError as e:
                return _die(str(e))
            except Exception as e:
                return _die(f"cannot connect to the Docker engine: {e}")
            from tui.cli_cluster import maybe_service_logs  # a swarm service (issue 11)

            rc = maybe_service_logs(client, args)
            if rc is not None:
                return rc
            src = L.open_container_logs(
                client, args.targets, follow=args.follow, tail=_tail(args.tail, "all"), since=since
            )
    except L.LogStreamError as e:
        return _die(str(e))
    print(f"dockscope: reading {src.describe}", file=sys.stderr, flush=True)
    merged = not daemon and len(args.targets) > 1
    width = max((len(n) for n in getattr(src, "names", []) or args.targets), default=0)
    out = sys.stdout
    show_ts = args.timestamps or daemon
    rc = 0
    try:
        for batch in src.read():
            parts = []
            for ln in batch:
                s = ""
                if show_ts:
                    s += L.format_timestamp(ln.timestamp) + " "
                if merged:
                    s += f"{ln.source.ljust(width)} | "
                if daemon and ln.level:
                    s += f"{ln.level.upper():7} "
                if ln.stream == "stderr":
                    s += "[stderr] "
                elif ln.stream == "meta":
                    s += "-- "
                parts.append(s + ln.text + "\n")
            out.write("".join(parts))
            out.flush()
    except L.LogStreamError as e:
        rc = _die(str(e))
    finally:
        src.close()
    return rc
