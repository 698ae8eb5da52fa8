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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dockscope")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (the lookup
    scans the installed distributions: ~60 ms on every run otherwise, a quarter of
    the console's first frame; bench/startup)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, **kw):
        kw.setdefault("help", "show the version and exit")
        super().__init__(option_strings, dest=dest, default=default, nargs=0, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"dockscope {_version()}")
        parser.exit()


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments: ONE line on stderr and exit 2 (argparse prints its usage block
    too). Sub-parsers inherit the class (add_subparsers' default parser_class)."""

    def error(self, message: str):
        from inspectors.text import clean

        print(f"{self.prog}: {clean(message)} (--help lists the arguments)", file=sys.stderr)
        sys.exit(2)


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The command line; ``commands=False``: the top-level options only (the
    console's start-up: the sub-commands' modules cost ~30 ms to import and register)."""
    p = OneLineParser(
        prog="dockscope",
        description="See and fix Docker networking on this host. "
        "Without a command, opens the console.",
    )
    p.add_argument(
        "-H",
        "--host",
        action="append",
        help="engine to use, like `docker -H` (unix:///path, tcp://host:port, ssh://root@node2); "
        "beats --context, DOCKER_HOST, DOCKER_CONTEXT; repeat for several engines",
    )
    p.add_argument(
        "-c",
        "--context",
        action="append",
        help="docker context to use, like `docker --context`; beats DOCKER_HOST",
    )
    p.add_argument(
        "--swarm", action="store_true", help="every node of the swarm (a manager's node list)"
    )
    p.add_argument("--version", action=_VersionAction)
    p.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="never change anything on the host (also: DOCKSCOPE_READ_ONLY=1)",
    )
    if not commands:
        p.set_defaults(command=None)
        return p
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


# Commands that can do nothing without the engine: it is opened first, and a failure is
# one line and exit 2 before anything runs. The others (snapshot, doctor, report...)
# print what they can without it (kernel, sockets); main() then says why, exit 2.
ENGINE_FIRST = {"network", "path"}


def engine(args: argparse.Namespace):
    """The command's engine object, opened once (``-H``/``--context`` as resolved by
    :func:`main`); a failure is remembered and raised again, never retried."""
    got = getattr(args, "_engine", None)
    if got is None:
        from inspectors.api import EngineError, open_engine, resolve_target

        try:
            target = getattr(args, "target", None) or resolve_target(
                getattr(args, "host", None), getattr(args, "context", None)
            )
            got = open_engine(target=target)
        except EngineError as e:
            got = e
        args._engine = got
    if isinstance(got, Exception):
        raise got
    return got


def engine_exit(e) -> int:
    """The one mapping of engine failures to exit codes (README): the engine cannot be
    used (unreachable, permission, bad address, TLS, ssh, too old, no such context) ->
    2; a request the engine refused (HTTP status) -> 1."""
    print(f"dockscope: {e}", file=sys.stderr)
    return 1 if (e.kind in ("api", "notfound") and e.status) else 2


# set on the re-executed console: the variables console_allocator added (removed again)
_ALLOC_MARK = "DOCKSCOPE_CONSOLE_ALLOCATOR"
_ALLOC_ENV = {"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": "2"}


def console_allocator() -> None:
    """The console, a long-running process whose snapshot is replaced on every update,
    keeps its Python objects on glibc's allocator (``PYTHONMALLOC=malloc``, two arenas):
    pymalloc keeps a 1 MiB arena while any object in it lives, and the console's heap
    trim cannot hand those back. bench/soak --pymalloc at 1,000 containers (RESULTS.md,
    stop 20): 184 -> 150 MB after an hour of events (+70 -> +33 MB over the churn), for
    7-20% more of the console's CPU during the churn and 26-45 ms at start. The
    allocator is chosen when the interpreter starts, hence one re-exec of this same
    interpreter (``sys.executable``) and argv, before anything heavy is imported. A
    PYTHONMALLOC the user set wins; what was added is removed again in the new process,
    so what the console starts gets the user's environment."""
    added = os.environ.pop(_ALLOC_MARK, None)
    if added is not None:  # the re-executed console
        for key in filter(None, added.split(",")):
            os.environ.pop(key, None)
        return
    if "PYTHONMALLOC" in os.environ or sys.flags.ignore_environment or not sys.executable:
        return
    add = {k: v for k, v in _ALLOC_ENV.items() if k not in os.environ}
    env = {**os.environ, **add, _ALLOC_MARK: ",".join(add)}
    for f in (sys.stdout, sys.stderr):
        f.flush()
    try:
        os.execve(sys.executable, sys.orig_argv, env)
    except OSError:
        return  # runs on pymalloc


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (bad arguments: one line, exit 2)."""
    words = sys.argv[1:] if argv is None else argv
    args, extra = None, []
    if not any(w in ("-h", "--help") for w in words):
        # no command (the console): the top-level options are all there is to parse
        args, extra = build_parser(commands=False).parse_known_args(words)
    if args is None or extra:
        parser = build_parser()
        # `capture TARGET -c N icmp`: words after the options belong to the filter
        args, extra = parser.parse_known_args(words)
    if extra:
        if not getattr(args, "takes_extra", False) or any(w.startswith("-") for w in extra):
            parser.error("unrecognized arguments: " + " ".join(extra))
        args.extra = extra
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if argv is None and not args.command:
        console_allocator()  # the console (one engine or several): see there
    from tui.cli_cluster import multi_host  # several engines (-H -H, --swarm): issue 11

    rc = multi_host(args)
    if rc is not None:
        return rc
    from inspectors.api import EngineError, resolve_target, select_target

    try:
        args.target = resolve_target(args.host, args.context)
    except EngineError as e:
        return engine_exit(e)
    select_target(args.target)  # every later resolve_target() in this run agrees
    try:
        return _run(args)
    finally:
        select_target(None)  # main() called again in-process resolves afresh


def _run(args: argparse.Namespace) -> int:
    from inspectors.api import EngineError

    if not args.command:
        from tui import prefetch

        # the first engine read runs while Textual is imported and the screen built
        first = prefetch.start(args.target.host)
        from tui.app import run_app  # Textual only here

        return run_app(host=args.target.host, read_only=read_only(args), first_read=first) or 0
    from actions import guard
    from inspectors.config import load_settings

    # the read-only switch for every command (report -o, capture -w write files too)
    guard.init(load_settings(), read_only(args))
    if args.command in KERNEL_READERS:
        from inspectors.readerproc import one_shot_gc

        one_shot_gc()  # builds one model and exits
    early_reader(args)
    try:
        if args.command in ENGINE_FIRST:
            engine(args)
        rc = args.func(args)
        got = getattr(args, "_engine", None)
        if isinstance(got, EngineError):  # the command printed what it could without it
            return engine_exit(got)
    except EngineError as e:
        return engine_exit(e)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `dockscope ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        got = getattr(args, "_engine", None)
        if got is not None and not isinstance(got, Exception):
            got.close()
        rp = getattr(args, "_reader", None)
        if rp is not None:  # not taken by a model (e.g. the engine was away)
            rp.close()
    return int(rc or 0)


# commands whose model reads every namespace of a local engine in a cold build ->
# whether that model reads the bridges' FDB (the doctor's does not)
KERNEL_READERS = {"snapshot": True, "doctor": False, "report": True, "path": True}


def early_reader(args: argparse.Namespace) -> None:
    """For a command that will build the full model of a local engine as root: fork
    its reader process (inspectors.readerproc.ReaderProcess) now, before the engine
    client is even imported, so the process has pyroute2 imported and the host
    dumps under way by the time the engine answers (tui.cli_snapshot.model_for
    hands it to the model). The dumps start before the engine is asked, as they
    did when the model started them beside its engine calls: a container started
    in between shows without its host veth until the next read."""
    if args.command not in KERNEL_READERS or getattr(args, "no_sandboxes", False):
        return
    target = getattr(args, "target", None)
    if target is None or not target.is_local or os.geteuid() != 0:
        return
    from inspectors.readerproc import ReaderProcess, cpus

    if cpus() < 2:
        return
    try:
        rp = ReaderProcess()
        rp.early_dumps(KERNEL_READERS[args.command])
        args._reader = rp
    except Exception:  # no multiprocessing here: the model reads in-process
        args._reader = None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
