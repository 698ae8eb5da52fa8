"""Change one key of the running dockerd's daemon.json, then reload or restart.

The safe write algorithm (docs: docker-networking.md §4.4):

1. find the daemon's real config file (``inspectors.daemon.find_daemon``) and
   parse it the way dockerd does (``read_daemon_config``: BOM, UTF-16); refuse,
   with line and column, when it is not valid JSON;
2. refuse when a command-line flag of the running dockerd sets the same key
   (``-D``/``--debug`` -> ``debug``): dockerd would refuse to start, and a
   reload would fail;
3. change only that key, keeping every other key, the key order, the
   indentation, the encoding and the file's mode and owner;
4. validate: ``dockerd --validate --config-file`` when the binary has it
   (probed once; 20.10 has not), else JSON + the known-key and type checks;
5. back up to ``daemon.json.bak.<ts>`` and ``os.replace`` a temp file written
   in the same directory;
6. apply: reload (settings.reload_command, ``systemctl reload <unit>`` when
   systemd runs dockerd, else SIGHUP) confirmed by the engine's ``reload``
   daemon event and ``info()``; or restart (settings.restart_command, or the
   detected systemd/sysvinit command) waiting for the engine to come back;
7. when applying fails, restore the backup (and restart again with it) and
   report the daemon log's last lines.

Refusals before any change raise :class:`~actions.validate.ActionError`; once
the file was written a :class:`DaemonConfigResult` is returned (``ok`` False
and ``rolled_back`` True when it had to be restored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from actions import guard
from actions.validate import ActionError, ActionResult, FieldError, ValidationFailed, cli
from inspectors.model import DaemonProcess

# daemon.json keys dockerd 20.10 .. 29 knows (fallback validation when the
# binary has no --validate)
KNOWN_KEYS = frozenset(
    """
allow-direct-routing allow-nondistributable-artifacts api-cors-header authorization-plugins bip bip6
bridge bridge-accept-fwmark builder cdi-spec-dirs cgroup-parent cluster-advertise cluster-store
cluster-store-opts containerd containerd-namespace containerd-plugins-namespace cpu-rt-period
cpu-rt-runtime cri-containerd data-root debug default-address-pools default-cgroupns-mode
default-gateway default-gateway-v6 default-ipc-mode default-network-opts default-runtime
default-shm-size default-ulimits dns dns-opts dns-search exec-opts exec-root experimental
features firewall-backend fixed-cidr fixed-cidr-v6 group host-gateway-ip host-gateway-ips hosts
http-proxy https-proxy icc init init-path insecure-registries ip ip-forward ip-forward-no-drop
ip-masq ip6tables iptables ipv6 labels live-restore log-driver log-format log-level log-opts
max-concurrent-downloads max-concurrent-uploads max-download-attempts metrics-addr min-api-version
mtu network-control-plane-mtu network-diagnostic-port no-new-privileges no-proxy
node-generic-resources oom-score-adjust pidfile proxies raw-logs registry-mirrors rootless runtimes
seccomp-profile selinux-enabled shutdown-timeout storage-driver storage-opts
swarm-default-advertise-addr tls tlscacert tlscert tlskey tlsverify userland-proxy
userland-proxy-path userns-remap nri-opts
""".split()
)

BOOL_KEYS = frozenset(
    """
debug live-restore experimental icc iptables ip6tables ipv6 ip-forward ip-masq userland-proxy
selinux-enabled no-new-privileges init raw-logs tls tlsverify allow-direct-routing ip-forward-no-drop
""".split()
)
INT_KEYS = frozenset(
    """
mtu max-concurrent-downloads max-concurrent-uploads max-download-attempts shutdown-timeout
network-control-plane-mtu oom-score-adjust network-diagnostic-port
""".split()
)
LIST_KEYS = frozenset(
    """
dns dns-opts dns-search insecure-registries registry-mirrors labels hosts exec-opts storage-opts
authorization-plugins allow-nondistributable-artifacts default-address-pools cdi-spec-dirs
node-generic-resources
""".split()
)
DICT_KEYS = frozenset(
    "log-opts features runtimes default-ulimits builder proxies default-network-opts".split()
)
ENUM_KEYS = {
    "log-level": ("debug", "info", "warn", "error", "fatal"),
    "log-format": ("text", "json"),
}
# what a SIGHUP reload applies (dockerd.md "Configuration reload behavior" + reload.go)
RELOADABLE = frozenset(
    """
debug labels live-restore max-concurrent-downloads max-concurrent-uploads max-download-attempts
default-runtime runtimes authorization-plugins allow-nondistributable-artifacts insecure-registries
registry-mirrors shutdown-timeout features default-shm-size default-ipc-mode default-cgroupns-mode
network-diagnostic-port
""".split()
)
# what info() tells back, to confirm an applied key
INFO_FIELDS = {"debug": "Debug", "live-restore": "LiveRestoreEnabled"}

CONFIRM_TIMEOUT = 8.0
RESTART_TIMEOUT = 30.0
LOG_LINES = 20

_validate_probe: dict[str, bool] = {}


# --------------------------------------------------------------------------- results


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
    config_error: str | None = None  # invalid JSON: line/column
    file_debug: bool | None = None  # "debug" in daemon.json (None: absent)
    running_debug: bool | None = None  # info()['Debug']
    live_restore: bool | None = None  # info()['LiveRestoreEnabled']
    flag_conflicts: list[str] = field(default_factory=list)  # e.g. ["--debug sets 'debug'"]
    reload_method: str | None = None  # the command line that reloads
    restart_method: str | None = None  # the command line that restarts (None: unknown)
    validate_supported: bool | None = None
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
    from inspectors.api import sdk_client

    return sdk_client(engine_host, timeout=timeout)


def flag_conflicts(daemon: DaemonProcess, keys) -> list[str]:
    """["-D/--debug sets 'debug'", ...] for each of ``keys`` a flag also sets."""
    from inspectors.daemon import daemon_flag_keys

    keys = set(keys)
    out = []
    for flag, key in daemon_flag_keys(daemon.flags).items():
        if key in keys or key.split(".", 1)[0] in keys:
            vals = daemon.flags.get(flag) if isinstance(daemon.flags, dict) else None
            shown = flag + (f"={vals[0]}" if vals and vals[0] != "true" else "")
            out.append(f"the dockerd command line has {shown}, which sets {key!r}")
    return out


def dockerd_binary(daemon: DaemonProcess) -> str | None:
    if daemon.pid:
        try:
            exe = os.readlink(f"/proc/{daemon.pid}/exe")
            if os.path.exists(exe):
                return exe
        except OSError:
            pass
    if daemon.cmdline and os.path.isabs(daemon.cmdline[0]) and os.path.exists(daemon.cmdline[0]):
        return daemon.cmdline[0]
    return shutil.which("dockerd")


def validate_supported(binary: str | None) -> bool:
    """Does this dockerd have ``--validate`` (Docker >= 23)? Probed once per binary."""
    if not binary:
        return False
    if binary not in _validate_probe:
        try:
            r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=20)
            _validate_probe[binary] = "--validate" in (r.stdout + r.stderr)
        except (OSError, subprocess.TimeoutExpired):
            _validate_probe[binary] = False
    return _validate_probe[binary]


def check_value(key: str, value: Any) -> str | None:
    """Known key and a value of the right type (the fallback schema check)."""
    if key not in KNOWN_KEYS:
        return (
            f"{key!r} is not a daemon.json option dockerd knows: dockerd would refuse to "
            'start ("the following directives don\'t match any configuration option")'
        )
    if key in BOOL_KEYS and not isinstance(value, bool):
        return f"{key!r} must be true or false, not {value!r}"
    if key in INT_KEYS and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{key!r} must be an integer, not {value!r}"
    if key in LIST_KEYS and not isinstance(value, list):
        return f"{key!r} must be a list"
    if key in DICT_KEYS and not isinstance(value, dict):
        return f"{key!r} must be an object"
    if key in ENUM_KEYS and value not in ENUM_KEYS[key]:
        return f"{key!r} must be one of {', '.join(ENUM_KEYS[key])}, not {value!r}"
    if key == "labels" and any(not isinstance(v, str) or "=" not in v for v in value):
        return 'labels must be "key=value" strings'
    if key == "log-opts" and any(not isinstance(v, str) for v in value.values()):
        return 'log-opts values must be strings (e.g. "max-file": "3")'
    return None


def _encoding_of(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith(b"\xff\xfe"):
        return "utf-16-le-bom"
    if raw.startswith(b"\xfe\xff"):
        return "utf-16-be-bom"
    return "utf-8"


def _encode(text: str, enc: str) -> bytes:
    if enc == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if enc == "utf-16-le-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if enc == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode("utf-8")


def _decode(raw: bytes, enc: str) -> str:
    if enc == "utf-8-sig":
        return raw[3:].decode("utf-8", errors="replace")
    if enc == "utf-16-le-bom":
        return raw[2:].decode("utf-16-le", errors="replace")
    if enc == "utf-16-be-bom":
        return raw[2:].decode("utf-16-be", errors="replace")
    return raw.decode("utf-8", errors="replace")


def render_config(config: dict, old_text: str) -> str:
    """JSON text in the style of ``old_text``: same indentation, one line if it was."""
    body = old_text.strip()
    m = re.search(r"\n([ \t]+)\S", old_text)
    if m:
        indent: str | None = m.group(1)
    elif body and "\n" not in body and len(config) > 1 and body not in ("{}",):
        indent = None  # a one-line file stays one line
    else:
        indent = "  "
    ascii_only = old_text.isascii() if old_text else False
    text = json.dumps(config, indent=indent, ensure_ascii=ascii_only)
    if old_text.endswith("\n") or not old_text:
        text += "\n"
    elif old_text.endswith("\r\n"):
        text += "\r\n"
    if "\r\n" in old_text:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text


def _jq_path(key: str) -> str:
    return f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f'.["{key}"]'


def _systemd_running() -> bool:
    return os.path.isdir("/run/systemd/system")


def _unit(daemon: DaemonProcess) -> tuple[str | None, bool]:
    if not daemon.pid or not _systemd_running():
        return None, False
    from inspectors.daemon import systemd_unit

    return systemd_unit(daemon.pid)


def reload_method(daemon: DaemonProcess, settings) -> tuple[str, list[str] | None, str]:
    """(kind, argv-or-None, shown command). kind: command | systemd | signal."""
    if getattr(settings, "reload_command", None):
        return "command", None, settings.reload_command
    unit, user = _unit(daemon)
    if unit:
        argv = ["systemctl"] + (["--user"] if user else []) + ["reload", unit]
        return "systemd", argv, cli(*argv)
    return "signal", None, f"kill -HUP {daemon.pid}"


def restart_method(daemon: DaemonProcess, settings) -> tuple[str | None, str | None]:
    """(shell command, how it was found) or (None, why not)."""
    if getattr(settings, "restart_command", None):
        return settings.restart_command, "settings"
    unit, user = _unit(daemon)
    if unit:
        return cli("systemctl", *(["--user"] if user else []), "restart", unit), "systemd"
    if (
        os.path.exists("/etc/init.d/docker")
        and (daemon.pidfile or "/var/run/docker.pid") == "/var/run/docker.pid"
    ):
        return "service docker restart", "sysvinit"
    return None, (
        "no restart command is known for this dockerd (not run by systemd or "
        "/etc/init.d/docker): set restart_command in dockscope's settings"
    )


def log_tail(daemon: DaemonProcess, settings=None, n: int = LOG_LINES) -> list[str]:
    """The daemon log's last ``n`` lines (file or journald)."""
    path = getattr(settings, "daemon_log", None) if settings is not None else None
    src = f"file:{path}" if path else (daemon.log_source or "")
    if src.startswith("file:"):
        try:
            with open(src[5:], "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 64 * 1024))
                lines = fh.read().decode(errors="replace").splitlines()
            return lines[-n:]
        except OSError as e:
            return [f"(cannot read {src[5:]}: {e.strerror or e})"]
    if src.startswith(("journald:", "journald-user:")):
        unit = src.split(":", 1)[1]
        argv = (
            ["journalctl"]
            + (["--user"] if src.startswith("journald-user:") else [])
            + ["-u", unit, "-n", str(n), "--no-pager", "-o", "short-iso"]
        )
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=15)
            return (r.stdout or r.stderr).splitlines()[-n:]
        except (OSError, subprocess.TimeoutExpired) as e:
            return [f"({' '.join(argv)} failed: {e})"]
    return ["(the daemon's log location is unknown)"]


def _log_size(daemon: DaemonProcess) -> int | None:
    src = daemon.log_source or ""
    if src.startswith("file:"):
        try:
            return os.path.getsize(src[5:])
        except OSError:
            return None
    return None


def _log_since(daemon: DaemonProcess, offset: int | None) -> str:
    src = daemon.log_source or ""
    if offset is None or not src.startswith("file:"):
        return ""
    try:
        with open(src[5:], "rb") as fh:
            fh.seek(offset)
            return fh.read(256 * 1024).decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- status


def daemon_status(
    engine_host: str | None = None,
    daemon: DaemonProcess | None = None,
    settings=None,
    client=None,
    key: str = "debug",
) -> DaemonStatus:
    """Read-only: the state the debug screen shows."""
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
        from inspectors.daemon import read_daemon_config

        cfg, err = read_daemon_config(daemon.config_file)
        st.config_error = err
        if cfg is not None and key in cfg:
            st.file_debug = cfg[key] if isinstance(cfg[key], bool) else None
    if daemon.pid:
        st.flag_conflicts = flag_conflicts(daemon, [key])
        st.reload_method = reload_method(daemon, settings)[2]
        st.restart_method = restart_method(daemon, settings)[0]
        st.validate_supported = validate_supported(dockerd_binary(daemon))
    own = client is None
    try:
        client = client or _client(engine_host)
        info = client.info()
        st.running_debug = info.get("Debug")
        st.live_restore = info.get("LiveRestoreEnabled")
    except Exception as e:
        st.notes.append(f"engine unreachable: {e}")
    finally:
        if own and client is not None:
            try:
                client.close()
            except Exception:
                pass
    return st


# --------------------------------------------------------------------------- the write


@dataclass
class _Plan:
    path: str
    exists: bool
    raw: bytes
    new_raw: bytes
    old_value: Any
    present: bool
    mode: int
    uid: int
    gid: int


def plan_change(daemon: DaemonProcess, key: str, value: Any) -> _Plan:
    """Every check that needs no change; raises ActionError/ValidationFailed."""
    from inspectors.daemon import read_daemon_config

    if not daemon.config_file:
        raise ActionError(
            "daemon.json not found", daemon.note or "the running dockerd's config file is unknown"
        )
    err = check_value(key, value)
    if err:
        raise ValidationFailed([FieldError(key, err)])
    conflicts = flag_conflicts(daemon, [key])
    if conflicts:
        raise ActionError(
            "flag conflict",
            f"refusing to set {key!r} in {daemon.config_file}: "
            + "; ".join(conflicts)
            + ". dockerd refuses to start when a key is set both as a flag and in the "
            "configuration file (and a reload fails). Change the flag where dockerd is started "
            "(systemd unit / init script) instead.",
        )
    path = os.path.realpath(daemon.config_file)
    cfg, perr = read_daemon_config(path)
    if perr:
        raise ActionError(
            "daemon.json is not valid",
            f"{perr}. Not editing it automatically: fix the file by hand first "
            "(it was left untouched).",
        )
    assert cfg is not None
    others = [c for c in flag_conflicts(daemon, [k for k in cfg if k != key])]
    if others:
        raise ActionError(
            "daemon.json already conflicts with the command line",
            f"{path}: " + "; ".join(others) + ". A reload or restart would fail: fix that first.",
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        st = os.stat(path)
        exists, mode, uid, gid = True, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
    except FileNotFoundError:
        raw, exists, mode, uid, gid = b"", False, 0o644, 0, 0
    enc = _encoding_of(raw)
    old_text = _decode(raw, enc) if raw else ""
    present = key in cfg
    old_value = cfg.get(key)
    new_cfg = dict(cfg)
    new_cfg[key] = value  # keeps its position when present
    new_raw = _encode(render_config(new_cfg, old_text), enc)
    return _Plan(path, exists, raw, new_raw, old_value, present, mode, uid, gid)


def _write_temp(directory: str, data: bytes, mode: int, uid: int, gid: int) -> str:
    fd, tmp = tempfile.mkstemp(prefix=".daemon.json.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            try:
                os.fchown(fh.fileno(), uid, gid)
            except PermissionError:
                pass
            os.fsync(fh.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def _validate_file(daemon: DaemonProcess, tmp: str, key: str) -> None:
    """dockerd --validate when available, else re-parse + known-key checks."""
    from inspectors.daemon import read_daemon_config

    binary = dockerd_binary(daemon)
    if validate_supported(binary):
        r = subprocess.run(
            [binary, "--validate", "--config-file", tmp], capture_output=True, text=True, timeout=60
        )
        if r.returncode != 0:
            out = (r.stderr or r.stdout).strip().splitlines()
            raise ActionError(
                "dockerd --validate refused the new daemon.json",
                out[-1] if out else f"exit status {r.returncode}",
            )
        return
    cfg, err = read_daemon_config(tmp)
    if err or cfg is None:
        raise ActionError("the new daemon.json does not parse", err or "")
    msg = check_value(key, cfg.get(key))
    if msg:
        raise ValidationFailed([FieldError(key, msg)])


def _restore(plan: _Plan, backup: str | None) -> None:
    if not plan.exists:
        try:
            os.unlink(plan.path)
        except FileNotFoundError:
            pass
        return
    tmp = _write_temp(os.path.dirname(plan.path), plan.raw, plan.mode, plan.uid, plan.gid)
    os.replace(tmp, plan.path)


def _backup(plan: _Plan) -> str | None:
    if not plan.exists:
        return None
    ts = time.strftime("%Y%m%d-%H%M%S")
    dest = f"{plan.path}.bak.{ts}"
    n = 1
    while os.path.exists(dest):
        n += 1
        dest = f"{plan.path}.bak.{ts}.{n}"
    tmp = _write_temp(os.path.dirname(plan.path), plan.raw, plan.mode, plan.uid, plan.gid)
    os.replace(tmp, dest)
    return dest


# --------------------------------------------------------------------------- apply


def _run_shell(command: str, timeout: float) -> tuple[bool, str]:
    try:
        r = subprocess.run(
            command,
            shell=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False, f"{command!r} did not finish within {timeout:.0f} s"
    except OSError as e:
        return False, f"{command!r} could not run: {e}"
    if r.returncode != 0:
        out = (r.stderr or r.stdout).strip().splitlines()
        return False, f"{command!r} exited with status {r.returncode}" + (
            f": {out[-1]}" if out else ""
        )
    return True, ""


def _send_reload(daemon: DaemonProcess, settings) -> tuple[bool, str, str]:
    kind, argv, shown = reload_method(daemon, settings)
    if kind == "command":
        ok, why = _run_shell(shown, 60)
        return ok, why, shown
    if kind == "systemd":
        ok, why = _run_shell(shown, 60)
        return ok, why, shown
    if not daemon.pid:
        return False, "the dockerd pid is unknown: cannot send SIGHUP", shown
    try:
        os.kill(daemon.pid, signal.SIGHUP)
    except OSError as e:
        return False, f"SIGHUP to dockerd {daemon.pid} failed: {e.strerror or e}", shown
    return True, "", shown


def _reload_refusal(text: str) -> str | None:
    """The log line where dockerd refused a reload ("Error reloading configuration"
    in recent releases, "file configuration validation failed" in 20.10)."""
    if "reload" not in text:
        return None
    after = text.split("Got signal to reload configuration", 1)[-1]
    for ln in after.splitlines():
        low = ln.lower()
        if "error reloading configuration" in low or (
            ("level=error" in low or "level=fatal" in low) and "config" in low
        ):
            m = re.search(r'msg="((?:[^"\\]|\\.)*)"', ln)
            return m.group(1) if m else ln.strip()
    return None


def _reload_event(client, t0_ns: int) -> dict | None:
    try:
        evs = client.events(
            since=int(t0_ns // 1_000_000_000),
            until=int(time.time()) + 1,
            filters={"type": "daemon", "event": "reload"},
            decode=True,
        )
        found = None
        for ev in evs:
            if int(ev.get("timeNano") or 0) >= t0_ns:
                found = ev
        return found
    except Exception:
        return None


def _confirm(
    engine_host,
    key: str,
    value: Any,
    t0_ns: int,
    timeout: float,
    daemon: DaemonProcess,
    log_offset: int | None,
    want_event: bool,
) -> tuple[bool, str]:
    """Poll the engine until it reports the new value (and the reload event)."""
    field_name = INFO_FIELDS.get(key)
    deadline = time.time() + timeout
    last = ""
    client = None
    try:
        while time.time() < deadline:
            refused = _reload_refusal(_log_since(daemon, log_offset))
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
            event_ok = True
            if want_event and value_ok:
                event_ok = _reload_event(client, t0_ns) is not None
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
    return False, f"not confirmed within {timeout:.0f} s: {last}"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return not fh.read().rsplit(") ", 1)[-1].startswith("Z")
    except OSError:
        return False


def _restart(command: str, pid: int | None, timeout: float) -> tuple[bool, str]:
    """Run the restart command; the old dockerd ``pid`` must be gone afterwards."""
    ok, why = _run_shell(command, max(timeout, 60))
    if not ok:
        return False, why
    deadline = time.time() + timeout
    while pid and _alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    if pid and _alive(pid):
        return False, f"dockerd {pid} is still running after {command!r}"
    return True, ""


# --------------------------------------------------------------------------- the action


def set_daemon_key(
    key: str,
    value: Any,
    *,
    engine_host: str | None = None,
    daemon: DaemonProcess | None = None,
    apply: str | None = "reload",
    settings=None,
    confirm_timeout: float = CONFIRM_TIMEOUT,
    restart_timeout: float = RESTART_TIMEOUT,
) -> DaemonConfigResult:
    """Set ``key`` to ``value`` in the running dockerd's daemon.json and apply it.

    ``apply``: "reload" (SIGHUP / reload command), "restart" (restart command;
    stops containers unless live-restore is on: confirm with the user first) or
    None (write only). Raises ActionError (nothing changed) on any refusal.
    """
    guard.check_writable(f"change {key!r} in daemon.json")
    if apply not in (None, "reload", "restart"):
        raise ValueError(f"apply must be reload, restart or None, not {apply!r}")
    err = check_value(key, value)
    if err:
        raise ValidationFailed([FieldError(key, err)])
    settings = _settings(settings)
    daemon = _find(engine_host, daemon)
    if apply and not daemon.pid:
        raise ActionError("dockerd not found", daemon.note or "the dockerd process is unknown")
    if apply == "reload" and key not in RELOADABLE:
        raise ActionError("not reloadable", f"{key!r} is not applied by a reload: use restart")
    restart_cmd = None
    if apply == "restart":
        restart_cmd, how = restart_method(daemon, settings)
        if not restart_cmd:
            raise ActionError("cannot restart", how or "")
    plan = plan_change(daemon, key, value)
    apply_shown = ""
    if apply == "reload":
        apply_shown = reload_method(daemon, settings)[2]
    elif apply == "restart":
        apply_shown = restart_cmd or ""
    edit = (
        f"jq '{_jq_path(key)} = {json.dumps(value)}' {plan.path} > {plan.path}.new && "
        f"mv {plan.path}.new {plan.path}"
    )
    command = edit + (f" && {apply_shown}" if apply_shown else "")
    res = DaemonConfigResult(
        action=f"daemon.json {key}",
        target=plan.path,
        command=command,
        path=plan.path,
        key=key,
        old_value=plan.old_value,
        new_value=value,
    )

    unchanged = plan.present and plan.old_value == value and plan.new_raw == plan.raw
    if unchanged:
        res.changed.append(f"{plan.path} already has {key}: {json.dumps(value)} (not rewritten)")
    else:
        guard.check_writable(f"write {plan.path}")
        tmp = _write_temp(os.path.dirname(plan.path), plan.new_raw, plan.mode, plan.uid, plan.gid)
        try:
            _validate_file(daemon, tmp, key)
        except BaseException:
            os.unlink(tmp)
            raise
        res.backup = _backup(plan)
        os.replace(tmp, plan.path)
        res.written = True
        old = json.dumps(plan.old_value) if plan.present else "(absent)"
        res.changed.append(
            f"{plan.path}: {key} {old} -> {json.dumps(value)}"
            + (f" (backup {res.backup})" if res.backup else " (file created)")
        )
    if plan.present and not unchanged:
        res.undo_description = f"set {key} back to {json.dumps(plan.old_value)}"
        res.undo_command = f"jq '{_jq_path(key)} = {json.dumps(plan.old_value)}' {plan.path}"
        res.undo = lambda: set_daemon_key(
            key, plan.old_value, engine_host=engine_host, apply=apply, settings=settings
        )
    if not apply:
        res.message = "written; takes effect on the next reload or restart of dockerd"
        return res

    t0_ns = time.time_ns()
    log_offset = _log_size(daemon)
    if apply == "reload":
        ok, why, shown = _send_reload(daemon, settings)
        if ok:
            ok, why = _confirm(
                engine_host, key, value, t0_ns, confirm_timeout, daemon, log_offset, want_event=True
            )
        res.applied = "reload"
        if ok:
            res.confirmed = True
            res.changed.append(f"dockerd {daemon.pid} reloaded its configuration ({shown})")
            res.message = f"{key} is now {json.dumps(value)} (reload confirmed by the engine)"
            return res
        res = _roll_back(
            res, plan, daemon, settings, f"reload failed: {why}", None, engine_host, restart_timeout
        )
        if ok is False and res.rolled_back and "exited with status" not in why:
            # the reload may have been applied late: reload the restored file and say what runs
            _send_reload(daemon, settings)
            field_name = INFO_FIELDS.get(key)
            if field_name:
                time.sleep(0.5)
                try:
                    c = _client(engine_host, timeout=5)
                    try:
                        now = c.info().get(field_name)
                    finally:
                        c.close()
                    if now == value:
                        res.message += (
                            f"; dockerd still reports {key}={json.dumps(value)} (a reload "
                            "keeps keys the file does not set): set it explicitly"
                        )
                except Exception:
                    pass
        return res

    # restart
    ok, why = _restart(restart_cmd, daemon.pid, restart_timeout)
    res.applied = "restart"
    if ok:
        ok, why = _confirm(
            engine_host, key, value, t0_ns, restart_timeout, daemon, None, want_event=False
        )
    if ok:
        res.confirmed = True
        res.changed.append(f"dockerd restarted ({restart_cmd})")
        res.message = f"{key} is now {json.dumps(value)} (dockerd restarted)"
        return res
    return _roll_back(
        res,
        plan,
        daemon,
        settings,
        f"restart failed: {why}",
        restart_cmd,
        engine_host,
        restart_timeout,
    )


def _current_pid(engine_host) -> int | None:
    try:
        from inspectors.daemon import find_daemon

        return find_daemon(engine_host).pid
    except Exception:
        return None


def _roll_back(
    res: DaemonConfigResult,
    plan: _Plan,
    daemon: DaemonProcess,
    settings,
    why: str,
    restart_cmd: str | None,
    engine_host,
    timeout: float,
) -> DaemonConfigResult:
    res.ok = False
    res.log_tail = log_tail(daemon, settings)
    notes = [why]
    if res.written:
        _restore(plan, res.backup)
        res.rolled_back = True
        notes.append(f"restored {plan.path} from {res.backup or 'nothing (it did not exist)'}")
        res.changed.append(f"{plan.path}: restored the previous content")
        if restart_cmd:
            ok, w = _restart(restart_cmd, _current_pid(engine_host), timeout)
            if ok:
                ok, w = _confirm(
                    engine_host, "", None, time.time_ns(), timeout, daemon, None, want_event=False
                )
            notes.append(
                "restarted dockerd with the previous configuration"
                if ok
                else f"dockerd did not come back with the previous configuration: {w}"
            )
    res.message = "; ".join(notes)
    res.undo = None
    res.undo_description = res.undo_command = None
    return res


def set_debug(enabled: bool, **kw) -> DaemonConfigResult:
    """Turn dockerd's debug logging on or off (``set_daemon_key("debug", ...)``)."""
    return set_daemon_key("debug", bool(enabled), **kw)


__all__ = [
    "DaemonConfigResult",
    "DaemonStatus",
    "daemon_status",
    "set_daemon_key",
    "set_debug",
    "plan_change",
    "flag_conflicts",
    "check_value",
    "validate_supported",
    "reload_method",
    "restart_method",
    "log_tail",
    "render_config",
    "KNOWN_KEYS",
    "RELOADABLE",
]
