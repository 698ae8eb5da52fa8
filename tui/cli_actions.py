"""`dockscope network create|connect|disconnect|rm` and `dockscope daemon debug|status`.

Exit codes: 0 done; 1 the engine refused (its message verbatim) or applying
failed (rolled back); 2 invalid input (one line per field, nothing changed),
read-only mode, or a refusal before any change.

Top level stays light: docker and the actions are imported inside the commands.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    net = sub.add_parser("network", help="create, connect, disconnect, remove networks")
    nsub = net.add_subparsers(dest="network_command", metavar="ACTION")
    net.set_defaults(func=lambda a: _usage(net))

    c = nsub.add_parser("create", help="create a network (validated first)")
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
    c.set_defaults(func=_create)

    k = nsub.add_parser("connect", help="connect a container to a network")
    k.add_argument("--alias", action="append", default=[])
    k.add_argument("--ip", default="")
    k.add_argument("network")
    k.add_argument("container")
    k.set_defaults(func=_connect)

    d = nsub.add_parser("disconnect", help="disconnect a container from a network")
    d.add_argument("-f", "--force", action="store_true")
    d.add_argument("network")
    d.add_argument("container")
    d.set_defaults(func=_disconnect)

    r = nsub.add_parser("rm", help="remove a network (refused while it has endpoints, unless -f)")
    r.add_argument("-f", "--force", action="store_true", help="disconnect its containers first")
    r.add_argument("network")
    r.set_defaults(func=_rm)

    dm = sub.add_parser("daemon", help="the dockerd behind the engine: debug toggle, status")
    dsub = dm.add_subparsers(dest="daemon_command", metavar="ACTION")
    dm.set_defaults(func=lambda a: _usage(dm))
    db = dsub.add_parser("debug", help="turn dockerd debug logging on or off (daemon.json)")
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
    db.add_argument("-y", "--yes", action="store_true", help="do not ask before a restart")
    db.set_defaults(func=_debug, apply="reload")
    ds = dsub.add_parser("status", help="daemon.json path, debug state, flag conflicts")
    ds.add_argument("--json", action="store_true")
    ds.set_defaults(func=_status)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _setup(args) -> None:
    from actions import guard
    from inspectors.config import load_settings
    from tui.cli import read_only

    guard.init(load_settings(), read_only(args))


def _report(res) -> None:
    for line in res.changed:
        print(line)
    for w in res.warnings:
        _err(f"warning: {w}")
    if res.command:
        print(f"equivalent: {res.command}")
    if res.undo_command:
        print(f"undo: {res.undo_command}")


def _run(args, fn) -> int:
    """Run an action; map its errors to exit codes and clear lines."""
    from actions.guard import ReadOnlyError
    from actions.validate import ActionError, EngineRefused, ValidationFailed
    from inspectors.api import EngineError

    _setup(args)
    try:
        res = fn()
    except ReadOnlyError as e:
        _err(f"dockscope: {e.detail}")
        return 2
    except ValidationFailed as e:
        for fe in e.errors:
            _err(f"invalid {fe.field}: {fe.message}")
        _err("nothing was changed")
        return 2
    except EngineRefused as e:
        _err(f"Error response from daemon: {e.detail}")
        if e.command:
            _err(f"(as: {e.command})")
        return 1
    except EngineError as e:
        _err(f"dockscope: {e}")
        return 1
    except ActionError as e:
        _err(f"dockscope: {e.title}: {e.detail}" if e.detail else f"dockscope: {e.title}")
        return 2
    if res is None:
        return 0
    if isinstance(res, int):
        return res
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
        print(msg)
    return 0


def _client(args):
    from inspectors.api import sdk_client

    return sdk_client(getattr(args, "host", None), getattr(args, "context", None))


def _create(args) -> int:
    def go():
        from actions.networks import NetworkSpec, create_network

        v4 = [s for s in args.subnet if ":" not in s]
        v6 = [s for s in args.subnet if ":" in s]
        from actions.validate import FieldError, ValidationFailed

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
        from actions import guard

        guard.check_writable(f"create network {args.name!r}")
        client = _client(args)
        try:
            return create_network(client, spec)
        finally:
            client.close()

    return _run(args, go)


def _connect(args) -> int:
    def go():
        from actions import guard
        from actions.networks import connect

        guard.check_writable(f"connect {args.container} to {args.network}")
        client = _client(args)
        try:
            return connect(
                client, args.network, args.container, aliases=list(args.alias), ipv4=args.ip or None
            )
        finally:
            client.close()

    return _run(args, go)


def _disconnect(args) -> int:
    def go():
        from actions import guard
        from actions.networks import disconnect

        guard.check_writable(f"disconnect {args.container} from {args.network}")
        client = _client(args)
        try:
            return disconnect(client, args.network, args.container, force=args.force)
        finally:
            client.close()

    return _run(args, go)


def _rm(args) -> int:
    def go():
        from actions import guard
        from actions.networks import remove_network

        guard.check_writable(f"remove network {args.network}")
        client = _client(args)
        try:
            return remove_network(client, args.network, force=args.force)
        finally:
            client.close()

    return _run(args, go)


def _engine_host(args) -> str | None:
    from inspectors.api import resolve_target

    return resolve_target(getattr(args, "host", None), getattr(args, "context", None)).host


def _debug(args) -> int:
    def go():
        from actions import guard
        from actions.daemon_config import daemon_status, set_debug
        from inspectors.config import load_settings

        enable = args.state == "on"
        guard.check_writable(f"turn dockerd debug {args.state}")
        settings = load_settings()
        host = _engine_host(args)
        apply = None if args.apply == "none" else args.apply
        if apply == "restart":
            st = daemon_status(engine_host=host, settings=settings)
            if not st.restart_method:
                _err(
                    "dockscope: cannot restart: no restart command is known for this dockerd "
                    "(not run by systemd or /etc/init.d/docker); set restart_command in "
                    "dockscope's settings, or use --reload"
                )
                return 2
        if apply == "restart" and not args.yes:
            warn = (
                "live-restore is on: containers keep running"
                if st.live_restore
                else "live-restore is OFF: restarting dockerd STOPS every running container"
            )
            if not sys.stdin.isatty():
                _err(f"dockscope: a restart needs confirmation ({warn}); pass --yes")
                return 2
            ans = input(f"Restart dockerd with `{st.restart_method}`? {warn}. [y/N] ")
            if ans.strip().lower() not in ("y", "yes"):
                _err("cancelled; nothing was changed")
                return 2
        return set_debug(enable, engine_host=host, apply=apply, settings=settings)

    return _run(args, go)


def _status(args) -> int:
    from actions.daemon_config import daemon_status
    from inspectors.config import load_settings

    try:
        st = daemon_status(engine_host=_engine_host(args), settings=load_settings())
    except Exception as e:  # never a traceback
        _err(f"dockscope: {e}")
        return 1
    if args.json:
        import json
        from dataclasses import asdict

        print(json.dumps(asdict(st), indent=2))
        return 0

    def b(v):
        return "unknown" if v is None else ("on" if v else "off")

    print(f"dockerd pid:       {st.pid or 'not found'}")
    print(
        f"config file:       {st.config_file or 'unknown'}"
        + ("" if st.config_exists or not st.config_file else " (absent: defaults)")
    )
    if st.config_error:
        print(f"config error:      {st.config_error}")
    print(f"debug (running):   {b(st.running_debug)}")
    print(f"debug (file):      {'absent' if st.file_debug is None else b(st.file_debug)}")
    print(f"live-restore:      {b(st.live_restore)}")
    print(f"reload with:       {st.reload_method or 'unknown'}")
    print(f"restart with:      {st.restart_method or 'unknown (set restart_command in settings)'}")
    print(
        f"dockerd --validate: {'yes' if st.validate_supported else 'no (JSON + known-key checks)'}"
    )
    print(f"log:               {st.log_source or 'unknown'}")
    for c in st.flag_conflicts:
        print(f"conflict:          {c}: debug cannot be toggled in daemon.json")
    for n in st.notes:
        print(f"note:              {n}")
    return 0
