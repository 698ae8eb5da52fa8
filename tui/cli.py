"""The `dockscope` command line.

`dockscope` with no sub-command opens the Textual console; the sub-commands
print the same model for scripts. Sub-commands live in their own modules
(`tui/cli_*.py`), each exposing ``register(subparsers)``; those modules keep
their top level light (no docker/pyroute2/textual import) so that argument
parsing stays fast, and import what they need inside the command function.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# module -> registers its sub-commands
_MODULES = (
    "tui.cli_snapshot",  # snapshot, brctl
    "tui.cli_logs",  # logs
    "tui.cli_actions",  # network, daemon
    "tui.cli_doctor",  # doctor, path, report
    "tui.cli_packet",  # firewall, conntrack, sockets, neigh, capture
    "tui.cli_cluster",  # swarm, overlay, cluster (several engines)
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dockscope",
        description="See and fix Docker networking on this host. "
        "Without a command, opens the console.",
    )
    p.add_argument(
        "-H",
        "--host",
        action="append",
        help="engine to use (like DOCKER_HOST, e.g. unix:///var/run/docker.sock, "
        "ssh://root@node2); repeat for several engines",
    )
    p.add_argument(
        "-c", "--context", action="append", help="docker context to use (like `docker --context`)"
    )
    p.add_argument(
        "--swarm", action="store_true", help="every node of the swarm (a manager's node list)"
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="never change anything on the host (also: DOCKSCOPE_READ_ONLY=1)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _MODULES:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a sub-command module not written yet
            if e.name != mod:
                raise
            continue
        m.register(sub)
    return p


def read_only(args: argparse.Namespace) -> bool:
    if getattr(args, "read_only", None):
        return True
    return os.environ.get("DOCKSCOPE_READ_ONLY", "").lower() in ("1", "true", "yes")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # `capture TARGET -c N icmp`: words after the options belong to the filter
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "takes_extra", False) or any(w.startswith("-") for w in extra):
            parser.error("unrecognized arguments: " + " ".join(extra))
        args.extra = extra
    from tui.cli_cluster import multi_host  # several engines (-H -H, --swarm): issue 11

    rc = multi_host(args)
    if rc is not None:
        return rc
    if args.host:
        os.environ["DOCKER_HOST"] = args.host
    if args.context:
        os.environ["DOCKER_CONTEXT"] = args.context
    if not args.command:
        from tui.app import run_app  # Textual only here

        return run_app(host=args.host, read_only=read_only(args)) or 0
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `dockscope ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
