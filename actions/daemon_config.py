"""Change one key of the running dockerd's daemon.json, then reload or restart.

:func:`plan_daemon_key` checks everything that needs no change and returns a
:class:`~actions.plan.Plan` (what changes, the equivalent ``jq ... && kill -HUP``
command, how to undo it, warnings such as "a restart stops every container").
Confirmed, :func:`actions.plan.execute` runs it:

1. take the lock on daemon.json's directory (two dockscopes cannot interleave)
   and re-read the file: the change is made to what is there now;
2. refuse, before any change: a BOM, invalid JSON (line and column), a key a
   dockerd flag also sets, a key or value this engine version does not know
   (``inspectors.daemon_keys``), an immutable or bind-mounted file, a user who
   cannot write it;
3. change only the bytes of that key (``actions.daemon_file.set_key``), back up
   to ``daemon.json.bak.<ts>``, rename a fsynced temp file over it;
4. apply: reload (``reload_command`` setting, the service manager's reload, or
   SIGHUP) confirmed by ``info()`` and the ``reload`` event, or restart with a
   command that works on this host (``inspectors.supervisor``);
5. on failure restore the previous bytes (and restart again with them) and show
   the daemon log's last lines (``inspectors.logs``, sanitised).

Nothing derived from another process is ever executed: dockerd's capabilities
come from the engine's version, not from running its binary.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from actions import daemon_file as dfile
from actions.plan import Plan, execute, refuse_if_read_only
from actions.validate import ActionError, ActionResult, FieldError, ValidationFailed, cli
from inspectors.daemon_keys import INFO_FIELDS, RELOADABLE, check_value, key_info
from inspectors.model import DaemonProcess

CONFIRM_TIMEOUT = 8.0
RESTART_TIMEOUT = 30.0
LOG_LINES = 20


@dataclass
class DaemonConfigResult(ActionResult):
    path: str = ""
    key: str = ""
    old_value: Any = None  # None: absent
    new_value: Any = None
    backup: str | None = None  # the backup file (kept)
    written: bool = False
    applied: str | None = None  # "reload" | "restart" | None
    confirmed: bool = False  # the engine reports the new value
    rolled_back: bool = False
    log_tail: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class DaemonStatus:
    """What the debug screen and `dockscope daemon status` show (plain data)."""

    pid: int | None = None
    config_file: str | None = None
    config_exists: bool = False
    config_error: str | None = None  # invalid: "path: line L column C: what"
    file_debug: bool | None = None  # "debug" in daemon.json (None: absent or unknown)
    running_debug: bool | None = None  # info()['Debug']
    live_restore: bool | None = None  # info()['LiveRestoreEnabled']
    engine_version: str | None = None
    flag_conflicts: list[str] = field(default_factory=list)
    reload_method: str | None = None  # the command line that reloads
    restart_method: str | None = None  # the command that restarts (None: none that works)
    supervised_by: str | None = None  # how dockerd was started (one line)
    cmdline: list[str] = field(default_factory=list)  # dockerd's command line (shown, never run)
    restart_advice: str | None = None  # when no restart is offered: what to do
    log_source: str | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def _settings(settings):
    if settings is not None:
        return settings
    from inspectors.config import load_settings

    return load_settings()


def _find(engine_host: str | None, daemon: DaemonProcess | None) -> DaemonProcess:
    if daemon is not None:
        return daemon
    from inspectors.daemon import find_daemon

    return find_daemon(engine_host)


def _client(engine_host: str | None, timeout: float = 10.0):
    from inspectors.api import open_engine

    return open_engine(engine_host, timeout=timeout).client


def _engine_facts(engine_host) -> tuple[dict, str | None, str | None]:
    """(info, engine version, error)."""
    try:
        c = _client(engine_host, timeout=10)
        try:
            return c.info(), (c.version() or {}).get("Version"), None
        finally:
            c.close()
    except Exception as e:
        from inspectors.text import clean

        return {}, None, clean(str(e))[:300]


def flag_conflicts(daemon: DaemonProcess, keys) -> list[str]:
    """["the dockerd command line has --debug, which sets 'debug'", ...]."""
    from inspectors.daemon import daemon_flag_keys

    keys = set(keys)
    out = []
    for flag, key in daemon_flag_keys(daemon.flags).items():
        if key in keys or key.split(".", 1)[0] in keys:
            vals = daemon.flags.get(flag) if isinstance(daemon.flags, dict) else None
            shown = flag + (f"={vals[0]}" if vals and vals[0] != "true" else "")
            out.append(f"the dockerd command line has {shown}, which sets {key!r}")
    return out


def _jq_path(key: str) -> str:
    return f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f'.["{key}"]'


def reload_method(daemon: DaemonProcess, settings) -> tuple[str, list[str] | None, str]:
    """(kind, argv-or-None, shown command). kind: command | service | signal."""
    if getattr(settings, "reload_command", None):
        return "command", None, settings.reload_command
    from inspectors.supervisor import detect

    sup = detect(daemon)
    if sup.reload:
        return "service", sup.reload, sup.reload_command or ""
    return "signal", None, f"kill -HUP {daemon.pid}"


def restart_method(daemon: DaemonProcess, settings) -> tuple[str | None, str]:
    """(command, how it was found) or (None, how dockerd runs and what to do)."""
    if getattr(settings, "restart_command", None):
        return settings.restart_command, "settings"
    from inspectors.supervisor import detect

    sup = detect(daemon)
    if sup.restart:
        return sup.restart_command, sup.description
    return None, f"{sup.description}: {sup.advice}"


def log_tail(daemon: DaemonProcess, settings=None, n: int = LOG_LINES, since: float | None = None):
    """The daemon log's last ``n`` lines (or those since ``since``), sanitised,
    through the one daemon-log reader (``inspectors.logs.daemon_log_source``)."""
    from inspectors.logs import LogStreamError, daemon_log_source
    from inspectors.text import clean

    try:
        src = daemon_log_source(
            daemon, settings, follow=False, tail=n, since=since, max_lines=max(n, 200)
        )
    except LogStreamError as e:
        return [clean(f"(daemon log: {e})")]
    out: list[str] = []
    try:
        with src:
            for batch in src.read():
                out += [
                    clean((f"{ln.level}: " if ln.level else "") + ln.text, limit=400)
                    for ln in batch
                ]
    except Exception as e:  # the log is a hint; its failure never hides the real error
        out.append(clean(f"(daemon log: {e})"))
    return out[-n:] if since is None else out


def _reload_refusal(lines: list[str]) -> str | None:
    """The line where dockerd refused a reload ("Error reloading configuration";
    20.10: an error about the configuration file)."""
    for ln in lines:
        low = ln.lower()
        if "error reloading configuration" in low or (
            low.startswith(("error:", "fatal:")) and "config" in low
        ):
            return ln
    return None


# --------------------------------------------------------------------------- status


def daemon_status(
    engine_host: str | None = None,
    daemon: DaemonProcess | None = None,
    settings=None,
    client=None,
    key: str = "debug",
) -> DaemonStatus:
    """Read-only: the state the debug screen and `daemon status` show."""
    settings = _settings(settings)
    daemon = _find(engine_host, daemon)
    st = DaemonStatus(
        pid=daemon.pid,
        config_file=daemon.config_file,
        config_exists=bool(daemon.config_file and os.path.exists(daemon.config_file)),
        log_source=daemon.log_source,
    )
    if daemon.note:
        st.notes.append(daemon.note)
    if daemon.config_file:
        try:
            raw, _ = dfile.read(daemon.config_file)
            cfg, st.config_error = dfile.parse(raw, daemon.config_file)
        except ActionError as e:
            cfg, st.config_error = None, e.detail
        if cfg is not None and isinstance(cfg.get(key), bool):
            st.file_debug = cfg[key]
    if daemon.pid:
        st.flag_conflicts = flag_conflicts(daemon, [key])
        st.reload_method = reload_method(daemon, settings)[2]
        from inspectors.supervisor import detect

        st.restart_method, how = restart_method(daemon, settings)
        st.supervised_by = detect(daemon).description
        if not st.restart_method:
            st.restart_advice = how
        st.cmdline = list(daemon.cmdline or [])
    own = client is None
    try:
        client = client or _client(engine_host)
        info = client.info()
        st.running_debug = info.get("Debug")
        st.live_restore = info.get("LiveRestoreEnabled")
        st.engine_version = info.get("ServerVersion")
    except Exception as e:
        from inspectors.text import clean

        st.notes.append(clean(f"engine unreachable: {e}")[:300])
    finally:
        if own and client is not None:
            try:
                client.close()
            except Exception:
                pass
    return st


# --------------------------------------------------------------------------- the plan


def _refusals(daemon: DaemonProcess, key: str, value: Any, engine_version: str | None):
    """Everything that needs no change: (path, state, config) or an ActionError."""
    err = check_value(key, value, engine_version)
    if err:
        raise ValidationFailed([FieldError(key, err)])
    if not daemon.config_file:
        raise ActionError(
            "daemon.json not found", daemon.note or "the running dockerd's config file is unknown"
        )
    conflicts = flag_conflicts(daemon, [key])
    if conflicts:
        raise ActionError(
            "flag conflict",
            f"refusing to set {key!r} in {daemon.config_file}: "
            + "; ".join(conflicts)
            + ". dockerd refuses to start when a key is set both as a flag and in the "
            "configuration file (and a reload fails). Change the flag where dockerd is started "
            "instead.",
        )
    dfile.check_path(daemon.config_file)
    path = os.path.realpath(daemon.config_file)
    fs = dfile.state(path)
    cfg, perr = dfile.parse(fs.raw, path)
    if perr:
        raise ActionError(
            "daemon.json is not valid",
            f"{perr}. Not editing it automatically: fix the file by hand first "
            "(it was left untouched).",
        )
    assert cfg is not None
    others = flag_conflicts(daemon, [k for k in cfg if k != key])
    if others:
        raise ActionError(
            "daemon.json already conflicts with the command line",
            f"{path}: " + "; ".join(others) + ". A reload or restart would fail: fix that first.",
        )
    dfile.check_writable_file(path)
    return path, fs, cfg


def plan_daemon_key(
    key: str,
    value: Any,
    *,
    engine_host: str | None = None,
    daemon: DaemonProcess | None = None,
    apply: str | None = "reload",
    settings=None,
    confirm_timeout: float = CONFIRM_TIMEOUT,
    restart_timeout: float = RESTART_TIMEOUT,
) -> Plan:
    """Check, and plan setting ``key`` to ``value`` in the running dockerd's daemon.json.

    ``apply``: "reload", "restart" (stops containers unless live-restore) or
    None (write only). Raises ActionError / ValidationFailed: nothing changed.
    """
    refuse_if_read_only(f"change {key!r} in daemon.json")
    if apply not in (None, "reload", "restart"):
        raise ValueError(f"apply must be reload, restart or None, not {apply!r}")
    settings = _settings(settings)
    daemon = _find(engine_host, daemon)
    info, version, eerr = _engine_facts(engine_host)
    err = check_value(key, value, version)
    if err:
        raise ValidationFailed([FieldError(key, err)])
    if apply and not daemon.pid:
        raise ActionError("dockerd not found", daemon.note or "the dockerd process is unknown")
    if apply and eerr:
        raise ActionError(
            "the engine does not answer",
            f"{eerr}: a {apply} could not be confirmed (and the process behind it may not be a "
            "dockerd). Nothing was changed",
        )
    if apply == "reload" and not key_info(key, version).reloadable:
        raise ActionError("not reloadable", f"{key!r} is not applied by a reload: use restart")
    restart_cmd = None
    if apply == "restart":
        restart_cmd, how = restart_method(daemon, settings)
        if not restart_cmd:
            raise ActionError("no restart that works here", how)
    path, fs, cfg = _refusals(daemon, key, value, version)
    present = key in cfg
    old = cfg.get(key)
    shown_apply = reload_method(daemon, settings)[2] if apply == "reload" else (restart_cmd or "")
    edit = f"jq '{_jq_path(key)} = {json.dumps(value)}' {path} > {path}.new && mv {path}.new {path}"
    warnings = []
    if eerr:
        warnings.append(f"the engine did not answer ({eerr}): the change cannot be confirmed")
    if apply == "restart":
        if info.get("LiveRestoreEnabled"):
            warnings.append("live-restore is on: containers keep running through the restart")
        else:
            warnings.append("live-restore is OFF: restarting dockerd STOPS every running container")
    if key == "debug" and value is False and not present:
        pass  # written explicitly: a reload with the key absent would leave debug on
    unchanged = present and old == value
    before = json.dumps(old) if present else "(absent)"
    changes = (
        [f"nothing: {path} already has {key}: {json.dumps(value)}"]
        if unchanged
        else [f"{path}: {key} {before} -> {json.dumps(value)} (only these bytes; a backup is kept)"]
    )
    if apply == "reload":
        changes.append(f"reload dockerd {daemon.pid} ({shown_apply}); containers keep running")
    elif apply == "restart":
        changes.append(f"restart dockerd {daemon.pid} ({shown_apply})")
    undo_value = old if present else (False if key == "debug" else None)
    reversible = undo_value is not None and not unchanged
    args = dict(engine_host=engine_host, apply=apply, settings=settings)
    return Plan(
        action=f"daemon {key}",
        title=f"Set {key} to {json.dumps(value)} in daemon.json"
        + (f" and {apply} dockerd?" if apply else "?"),
        changes=changes,
        command=edit + (f" && {shown_apply}" if shown_apply else ""),
        undo=(
            f"{undo_text(key, old, present)} (u)"
            if reversible
            else "nothing to undo"
            if unchanged
            else f"remove {key!r} from {path} by hand"
        ),
        undo_command=(
            f"jq '{_jq_path(key)} = {json.dumps(undo_value)}' {path}" if reversible else None
        ),
        reversible=reversible,
        warnings=warnings,
        danger=apply == "restart" and not info.get("LiveRestoreEnabled"),
        run=lambda: _run(
            key,
            value,
            daemon,
            settings,
            apply,
            restart_cmd,
            engine_host,
            version,
            confirm_timeout,
            restart_timeout,
            (lambda: plan_daemon_key(key, undo_value, **args)) if reversible else None,
        ),
    )


def set_daemon_key(key: str, value: Any, **kw) -> DaemonConfigResult:
    """Plan and run (the caller confirmed already)."""
    return execute(plan_daemon_key(key, value, **kw))


def set_debug(enabled: bool, **kw) -> DaemonConfigResult:
    """Turn dockerd's debug logging on or off (``set_daemon_key("debug", ...)``)."""
    return set_daemon_key("debug", bool(enabled), **kw)


def plan_debug(enabled: bool, **kw) -> Plan:
    return plan_daemon_key("debug", bool(enabled), **kw)


# --------------------------------------------------------------------------- the run


def undo_text(key: str, old, present: bool) -> str:
    """What undo does, in daemon.json's words (JSON values, never Python's None/True)."""
    if present:
        return f"set {key} back to {json.dumps(old)}"
    if key == "debug":  # absent leaves debug on after a reload: undo writes false
        return f"set {key} back to false (it was absent)"
    return f"set {key} back to absent"


def _run(
    key, value, daemon, settings, apply, restart_cmd, engine_host, version, ctimeout, rtimeout, undo
) -> DaemonConfigResult:
    with dfile.locked(daemon.config_file):
        # re-read under the lock: another writer may have changed it since the plan
        path, fs, cfg = _refusals(daemon, key, value, version)
        res = DaemonConfigResult(
            action=f"daemon.json {key}",
            target=path,
            path=path,
            key=key,
            old_value=cfg.get(key),
            new_value=value,
        )
        shown = reload_method(daemon, settings)[2] if apply == "reload" else restart_cmd
        res.command = f"jq '{_jq_path(key)} = {json.dumps(value)}' {path}" + (
            f" && {shown}" if apply and shown else ""
        )
        if key in cfg and cfg[key] == value:
            res.changed.append(f"{path} already has {key}: {json.dumps(value)} (not rewritten)")
        else:
            new_raw = dfile.set_key(fs.raw, key, value)
            ncfg, nerr = dfile.parse(new_raw, path)
            if nerr or ncfg is None or ncfg.get(key) != value:  # pragma: no cover - set_key bug
                raise ActionError(
                    "internal error", f"the edited daemon.json does not parse: {nerr}"
                )
            tmp = dfile.write_temp(os.path.dirname(path), new_raw, fs.mode, fs.uid, fs.gid)
            bak = None
            try:
                bak = dfile.backup(fs)
            except ActionError:
                dfile._unlink(tmp)
                raise
            dfile.replace(fs, tmp, bak)
            res.backup, res.written = bak, True
            before = json.dumps(cfg[key]) if key in cfg else "(absent)"
            res.changed.append(
                f"{path}: {key} {before} -> {json.dumps(value)}"
                + (f" (backup {bak})" if bak else " (file created)")
            )
            if undo is not None:
                res.undo_plan = lambda c=None: undo()
                res.undo = lambda c=None: execute(undo())
                res.undo_description = undo_text(key, res.old_value, key in cfg)
        if not apply:
            res.message = "written; takes effect on the next reload or restart of dockerd"
            return res
        return _apply(
            res,
            fs,
            key,
            value,
            daemon,
            settings,
            apply,
            restart_cmd,
            engine_host,
            ctimeout,
            rtimeout,
        )


def _run_command(argv: list[str] | None, shell_cmd: str | None, timeout: float) -> tuple[bool, str]:
    """The service manager's argv (trusted binary), or the user's own setting via sh."""
    shown = shell_cmd or cli(*(argv or []))
    try:
        r = subprocess.run(
            argv if argv else shell_cmd,
            shell=argv is None,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False, f"{shown!r} did not finish within {timeout:.0f} s"
    except OSError as e:
        return False, f"{shown!r} could not run: {e}"
    if r.returncode != 0:
        from inspectors.text import clean

        out = (r.stderr or r.stdout).strip().splitlines()
        return False, f"{shown!r} exited with status {r.returncode}" + (
            f": {clean(out[-1])}" if out else ""
        )
    return True, ""


def _send_reload(daemon: DaemonProcess, settings) -> tuple[bool, str, str]:
    kind, argv, shown = reload_method(daemon, settings)
    if kind == "command":
        return (*_run_command(None, shown, 60), shown)
    if kind == "service":
        return (*_run_command(argv, None, 60), shown)
    if not daemon.pid:
        return False, "the dockerd pid is unknown: cannot send SIGHUP", shown
    try:
        os.kill(daemon.pid, signal.SIGHUP)
    except OSError as e:
        return False, f"SIGHUP to dockerd {daemon.pid} failed: {e.strerror or e}", shown
    return True, "", shown


def _reload_event(client, t0_ns: int) -> bool:
    try:
        evs = client.events(
            since=int(t0_ns // 1_000_000_000),
            until=int(time.time()) + 1,
            filters={"type": "daemon", "event": "reload"},
            decode=True,
        )
        return any(int(ev.get("timeNano") or 0) >= t0_ns for ev in evs)
    except Exception:
        return False


def _confirm(
    engine_host, key, value, t0_ns, timeout, daemon, settings, want_event
) -> tuple[bool, str]:
    """Poll the engine until it reports the new value (and the reload event)."""
    field_name = INFO_FIELDS.get(key)
    deadline = time.time() + timeout
    last, client = "", None
    try:
        while time.time() < deadline:
            if want_event:
                refused = _reload_refusal(log_tail(daemon, settings, since=t0_ns / 1e9))
                if refused:
                    return False, f"dockerd refused the new configuration: {refused}"
            try:
                if client is None:
                    client = _client(engine_host, timeout=5)
                info = client.info()
            except Exception as e:
                last = f"engine not answering: {e}"
                if client is not None:
                    try:
                        client.close()
                    except Exception:
                        pass
                client = None
                time.sleep(0.5)
                continue
            value_ok = field_name is None or info.get(field_name) == value
            event_ok = not (want_event and value_ok) or _reload_event(client, t0_ns)
            if value_ok and event_ok:
                return True, ""
            last = (
                f"info() still reports {field_name}={info.get(field_name)!r}"
                if not value_ok
                else "no 'reload' daemon event yet"
            )
            time.sleep(0.3)
    finally:
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
    from inspectors.text import clean

    return False, clean(f"not confirmed within {timeout:.0f} s: {last}")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return not fh.read().rsplit(") ", 1)[-1].startswith("Z")
    except OSError:
        return False


def _restart(command: str, settings, daemon, pid, timeout) -> tuple[bool, str]:
    """Run the restart; the old dockerd ``pid`` must be gone afterwards."""
    from inspectors.supervisor import detect

    if getattr(settings, "restart_command", None):
        ok, why = _run_command(None, command, max(timeout, 60))
    else:
        ok, why = _run_command(detect(daemon).restart, None, max(timeout, 60))
    if not ok:
        return False, why
    deadline = time.time() + timeout
    while pid and _alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    if pid and _alive(pid):
        return False, f"dockerd {pid} is still running after {command!r}"
    return True, ""


def _apply(
    res, fs, key, value, daemon, settings, apply, restart_cmd, engine_host, ctimeout, rtimeout
):
    t0_ns = time.time_ns()
    if apply == "reload":
        ok, why, shown = _send_reload(daemon, settings)
        if ok:
            ok, why = _confirm(engine_host, key, value, t0_ns, ctimeout, daemon, settings, True)
        res.applied = "reload"
        if ok:
            res.confirmed = True
            res.changed.append(f"dockerd {daemon.pid} reloaded its configuration ({shown})")
            res.message = f"{key} is now {json.dumps(value)} (reload confirmed by the engine)"
            return res
        res = _roll_back(
            res, fs, daemon, settings, f"reload failed: {why}", None, engine_host, rtimeout
        )
        if res.rolled_back and "exited with status" not in why:
            _send_reload(daemon, settings)  # a late reload: reload the restored file too
        return res
    ok, why = _restart(restart_cmd, settings, daemon, daemon.pid, rtimeout)
    res.applied = "restart"
    if ok:
        ok, why = _confirm(engine_host, key, value, t0_ns, rtimeout, daemon, settings, False)
    if ok:
        res.confirmed = True
        res.changed.append(f"dockerd restarted ({restart_cmd})")
        res.message = f"{key} is now {json.dumps(value)} (dockerd restarted)"
        return res
    return _roll_back(
        res, fs, daemon, settings, f"restart failed: {why}", restart_cmd, engine_host, rtimeout
    )


def _current(engine_host) -> DaemonProcess | None:
    try:
        from inspectors.daemon import find_daemon

        return find_daemon(engine_host)
    except Exception:
        return None


def _roll_back(res, fs, daemon, settings, why, restart_cmd, engine_host, timeout):
    res.ok = False
    res.log_tail = log_tail(daemon, settings)
    notes = [why]
    if res.written:
        dfile.restore(fs)
        res.rolled_back = True
        notes.append(f"restored {fs.path} from {res.backup or 'nothing (it did not exist)'}")
        res.changed.append(f"{fs.path}: restored the previous content")
        if restart_cmd:
            now = _current(engine_host) or daemon
            ok, w = _restart(restart_cmd, settings, now, now.pid, timeout)
            if ok:
                ok, w = _confirm(
                    engine_host, "", None, time.time_ns(), timeout, daemon, settings, False
                )
            notes.append(
                "restarted dockerd with the previous configuration"
                if ok
                else f"dockerd did not come back with the previous configuration: {w}"
            )
    res.message = "; ".join(notes)
    res.undo = res.undo_plan = None
    res.undo_description = res.undo_command = None
    return res


__all__ = [
    "DaemonConfigResult",
    "DaemonStatus",
    "daemon_status",
    "plan_daemon_key",
    "plan_debug",
    "set_daemon_key",
    "set_debug",
    "flag_conflicts",
    "check_value",
    "reload_method",
    "restart_method",
    "log_tail",
    "RELOADABLE",
]
