"""`dockscope network create|connect|disconnect|rm` and `dockscope daemon debug|status`.

Every change is planned first (``actions.*.plan_*``), the plan is printed, and
on a terminal the user is asked (y/N, default No); ``--yes`` is for scripts.
Without a terminal and without ``--yes`` nothing is changed (exit 2).

Exit codes (the README's table): 0 done (or `daemon status` read); 1 the engine
refused (its message verbatim) or applying failed (rolled back); 2 invalid
input, a refusal before any change, not confirmed, read-only mode, or no
engine / permission denied on its socket.

Top level stays light: docker and the actions are imported inside the commands.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    net = _one_line(sub.add_parser("network", help="create, connect, disconnect, remove networks"))
    nsub = net.add_subparsers(dest="network_command", metavar="ACTION")
    net.set_defaults(func=lambda a: _usage(net, "create, connect, disconnect, rm"))

    c = _one_line(nsub.add_parser("create", help="create a network (validated first)"))
    c.add_argument("name")
    c.add_argument("-d", "--driver", default="bridge", help="bridge | macvlan | ipvlan | overlay")
    c.add_argument(
        "--subnet",
        action="append",
        default=[],
        help="IPv4 subnet in CIDR (a second --subnet may be the IPv6 one)",
    )
    c.add_argument("--gateway", default="")
    c.add_argument("--ip-range", default="")
    c.add_argument("--ipv6", action="store_true", help="enable IPv6 (needs an IPv6 --subnet)")
    c.add_argument("--internal", action="store_true")
    c.add_argument("--attachable", action="store_true")
    c.add_argument(
        "-o",
        "--opt",
        action="append",
        default=[],
        metavar="K=V",
        help="driver option (e.g. parent=eth0 for macvlan)",
    )
    c.add_argument("--label", action="append", default=[], metavar="K=V")
    _yes(c)
    c.set_defaults(func=_create)

    k = _one_line(nsub.add_parser("connect", help="connect a container to a network"))
    k.add_argument("--alias", action="append", default=[])
    k.add_argument("--ip", default="")
    k.add_argument("network")
    k.add_argument("container")
    _yes(k)
    k.set_defaults(func=_connect)

    d = _one_line(nsub.add_parser("disconnect", help="disconnect a container from a network"))
    d.add_argument("-f", "--force", action="store_true")
    d.add_argument("network")
    d.add_argument("container")
    _yes(d)
    d.set_defaults(func=_disconnect)

    r = _one_line(
        nsub.add_parser("rm", help="remove a network (refused while it has endpoints, unless -f)")
    )
    r.add_argument("-f", "--force", action="store_true", help="disconnect its containers first")
    r.add_argument("network")
    _yes(r)
    r.set_defaults(func=_rm)

    dm = _one_line(
        sub.add_parser("daemon", help="the dockerd behind the engine: debug toggle, status")
    )
    dsub = dm.add_subparsers(dest="daemon_command", metavar="ACTION")
    dm.set_defaults(func=lambda a: _usage(dm, "debug, status"))
    db = _one_line(
        dsub.add_parser("debug", help="turn dockerd debug logging on or off (daemon.json)")
    )
    db.add_argument("state", choices=["on", "off"])
    how = db.add_mutually_exclusive_group()
    how.add_argument(
        "--reload",
        dest="apply",
        action="store_const",
        const="reload",
        help="apply with a reload (SIGHUP), the default",
    )
    how.add_argument(
        "--restart",
        dest="apply",
        action="store_const",
        const="restart",
        help="apply with a restart (stops containers unless live-restore)",
    )
    how.add_argument(
        "--no-apply",
        dest="apply",
        action="store_const",
        const="none",
        help="only write daemon.json",
    )
    _yes(db)
    db.set_defaults(func=_debug, apply="reload")
    ds = _one_line(dsub.add_parser("status", help="daemon.json path, debug state, flag conflicts"))
    ds.add_argument("--json", action="store_true")
    ds.set_defaults(func=_status)


def _one_line(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Bad arguments: one line on stderr and exit 2 (argparse prints the usage too)."""

    def error(message: str):
        from inspectors.text import clean

        print(f"{p.prog}: {clean(message)} (--help lists the arguments)", file=sys.stderr)
        sys.exit(2)

    p.error = error  # type: ignore[method-assign]
    return p


def _yes(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-y", "--yes", action="store_true", help="do not ask: the plan is confirmed (for scripts)"
    )


def _usage(p: argparse.ArgumentParser, choices: str) -> int:
    """No ACTION given: one line naming them (``--help`` has the rest)."""
    print(f"{p.prog}: give an ACTION ({choices}); --help lists them", file=sys.stderr)
    return 2


def _err(msg: str) -> None:
    from inspectors.text import clean

    print(clean(msg), file=sys.stderr)


def _out(msg: str) -> None:
    from inspectors.text import clean

    print(clean(msg))


def _setup(args) -> None:
    from actions import guard
    from inspectors.config import load_settings
    from tui.cli import read_only

    guard.init(load_settings(), read_only(args))


def _report(res) -> None:
    for line in res.changed:
        _out(line)
    for w in res.warnings:
        _err(f"warning: {w}")
    if res.command:
        _out(f"equivalent: {res.command}")
    if res.undo_command:
        _out(f"undo: {res.undo_command}")


def confirm(plan, yes: bool) -> bool | None:
    """On a terminal, show the plan on stderr and ask (y/N, default No).
    True: go (``--yes``: confirmed, nothing shown); None: cannot ask (no
    terminal and no --yes); False: the user said no."""
    from actions.plan import render

    if yes:
        return True
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    print(render(plan), file=sys.stderr)
    sys.stderr.write("Proceed? [y/N] ")
    sys.stderr.flush()
    try:
        ans = sys.stdin.readline()
    except (KeyboardInterrupt, EOFError):
        ans = ""
    return ans.strip().lower() in ("y", "yes")


def _run(args, make_plan) -> int:
    """Plan, confirm, execute; map every error to one line and an exit code."""
    from actions.guard import ReadOnlyError
    from actions.plan import execute
    from actions.validate import ActionError, EngineRefused, ValidationFailed
    from inspectors.api import EngineError

    _setup(args)
    try:
        plan = make_plan()
        ok = confirm(plan, getattr(args, "yes", False))
        if ok is None:
            _err(
                "dockscope: this changes the host and needs confirmation: run it on a terminal, "
                "or pass --yes; nothing was changed"
            )
            return 2
        if not ok:
            _err("cancelled; nothing was changed")
            return 2
        res = execute(plan)
    except ReadOnlyError as e:
        _err(f"dockscope: {e.detail}")
        return 2
    except ValidationFailed as e:
        for fe in e.errors:  # one line per problem (exit 2 says nothing was changed)
            _err(f"invalid {fe.field}: {fe.message}")
        return 2
    except EngineRefused as e:
        _err(f"Error response from daemon: {e.detail}")
        if e.command:
            _err(f"(as: {e.command})")
        return 1
    except EngineError as e:
        from tui.cli import engine_exit

        return engine_exit(e)
    except ActionError as e:
        _err(f"dockscope: {e.title}: {e.detail}" if e.detail else f"dockscope: {e.title}")
        return 2
    except Exception as e:  # the engine went away mid-way and the like: one line
        _err(f"dockscope: {type(e).__name__}: {e}")
        return 2
    _report(res)
    if not getattr(res, "ok", True):
        msg = getattr(res, "message", "")
        if msg:
            _err(f"dockscope: {msg}")
        tail = getattr(res, "log_tail", None)
        if tail:
            _err("daemon log (last lines):")
            for ln in tail:
                _err(f"  {ln}")
        return 1
    msg = getattr(res, "message", "")
    if msg:
        _out(msg)
    return 0


class _Client:
    """The engine's client for one command, closed at exit."""

    def __init__(self, args):
        self.args = args
        self.client = None

    def __call__(self):
        if self.client is None:
            from tui.cli import engine

            self.client = engine(self.args).client
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _with_client(args, make) -> int:
    c = _Client(args)
    try:
        return _run(args, lambda: make(c()))
    finally:
        c.close()


def _create(args) -> int:
    from actions.networks import NetworkSpec, plan_create
    from actions.validate import FieldError, ValidationFailed

    def make(client):
        v4 = [s for s in args.subnet if ":" not in s]
        v6 = [s for s in args.subnet if ":" in s]
        if len(v4) > 1 or len(v6) > 1:
            raise ValidationFailed([FieldError("subnet", "at most one IPv4 and one IPv6 --subnet")])
        spec = NetworkSpec(
            name=args.name,
            driver=args.driver,
            subnet=v4[0] if v4 else "",
            gateway=args.gateway,
            ip_range=args.ip_range,
            ipv6=args.ipv6,
            subnet_v6=v6[0] if v6 else "",
            internal=args.internal,
            attachable=args.attachable,
            options=list(args.opt),
            labels=list(args.label),
        )
        return plan_create(client, spec)

    return _with_client(args, make)


def _connect(args) -> int:
    from actions.networks import plan_connect

    return _with_client(
        args,
        lambda client: plan_connect(
            client, args.network, args.container, aliases=list(args.alias), ipv4=args.ip or None
        ),
    )


def _disconnect(args) -> int:
    from actions.networks import plan_disconnect

    return _with_client(
        args,
        lambda client: plan_disconnect(client, args.network, args.container, force=args.force),
    )


def _rm(args) -> int:
    from actions.networks import plan_remove

    return _with_client(args, lambda client: plan_remove(client, args.network, force=args.force))


def _engine_host(args) -> str | None:
    """The engine main() resolved (``-H``/``--context``/env), as a host string."""
    target = getattr(args, "target", None)
    if target is not None:
        return target.host
    from inspectors.api import resolve_target

    return resolve_target(getattr(args, "host", None), getattr(args, "context", None)).host


def _debug(args) -> int:
    def make():
        from actions.daemon_config import plan_debug
        from inspectors.config import load_settings

        apply = None if args.apply == "none" else args.apply
        return plan_debug(
            args.state == "on",
            engine_host=_engine_host(args),
            apply=apply,
            settings=load_settings(),
        )

    return _run(args, make)


def _status(args) -> int:
    from actions.daemon_config import daemon_status
    from inspectors.config import load_settings

    try:
        st = daemon_status(engine_host=_engine_host(args), settings=load_settings())
    except Exception as e:  # never a traceback
        _err(f"dockscope: {e}")
        return 2
    if args.json:
        import json
        from dataclasses import asdict

        print(json.dumps(asdict(st), indent=2))
        return 0

    def b(v):
        return "unknown" if v is None else ("on" if v else "off")

    if st.config_error:
        file_debug = "unknown: daemon.json is invalid"
    else:
        file_debug = "absent" if st.file_debug is None else b(st.file_debug)
    _out(f"dockerd pid:       {st.pid or 'not found'}")
    _out(
        f"config file:       {st.config_file or 'unknown'}"
        + ("" if st.config_exists or not st.config_file else " (absent: defaults)")
    )
    if st.config_error:
        _out(f"config INVALID:    {st.config_error}")
    _out(f"debug (running):   {b(st.running_debug)}")
    _out(f"debug (file):      {file_debug}")
    _out(f"live-restore:      {b(st.live_restore)}")
    _out(f"engine version:    {st.engine_version or 'unknown'}")
    _out(f"reload with:       {st.reload_method or 'unknown'}")
    _out(f"started by:        {st.supervised_by or 'unknown'}")
    if st.cmdline:
        import shlex

        _out(f"command line:      {shlex.join(st.cmdline)}")
    _out(f"restart with:      {st.restart_method or 'none offered: ' + (st.restart_advice or '')}")
    _out(f"log:               {st.log_source or 'unknown'}")
    for c in st.flag_conflicts:
        _out(f"conflict:          {c}: debug cannot be toggled in daemon.json")
    for n in st.notes:
        _out(f"note:              {n}")
    if any(n.startswith("engine unreachable") for n in st.notes):
        return 2  # the README's table: no engine -> 2 (what could be read is printed)
    return 0
