"""How dockerd is supervised, and which restart and reload really work here.

One function, :func:`detect`, used by the actions (the restart offered in the
console and the CLI) and by the doctor (its "restart dockerd" fixes). It looks
at the dockerd process with psutil: its cgroup (a systemd unit, but only when
PID 1 is systemd), a sysvinit/OpenRC script whose pidfile exists and holds this
pid, its parent (supervisord, runit's runsv, s6-supervise), whether it runs in
a container, or else it was started by hand. A restart command is offered only
when it will work; otherwise :attr:`Supervision.advice` says what to do.

Nothing here executes anything: it only reads /proc (through psutil) and files.
The commands it proposes name trusted binaries only (:func:`trusted_binary`:
root-owned, not group/other-writable, in /usr/sbin, /usr/bin, /sbin or /bin).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from dataclasses import dataclass, field

from inspectors.daemon import _read_pidfile as _read_int  # the one pidfile reader

TRUSTED_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


@dataclass
class Supervision:
    kind: (
        str  # systemd | sysvinit | openrc | supervisord | runit | s6 | container | manual | unknown
    )
    description: str  # one line: how dockerd was started
    restart: list[str] | None = None  # argv that restarts it (None: none that will work)
    reload: list[str] | None = None  # argv that reloads it (None: SIGHUP to the pid)
    advice: str = ""  # when no restart is offered: what the user should do
    evidence: list[str] = field(default_factory=list)

    @property
    def restart_command(self) -> str | None:
        return shlex.join(self.restart) if self.restart else None

    @property
    def reload_command(self) -> str | None:
        return shlex.join(self.reload) if self.reload else None


def _safe_path(path: str) -> bool:
    """``path`` and every directory above it are root-owned and not writable by
    group or others (the file a root tool may run)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        return False
    d = os.path.dirname(os.path.realpath(path))
    while True:
        try:
            ds = os.stat(d)
        except OSError:
            return False
        if ds.st_uid != 0 or ds.st_mode & 0o022:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def trusted_binary(name: str) -> str | None:
    """The path of ``name`` in a trusted directory, only if safe to run as root."""
    for d in TRUSTED_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p) and _safe_path(p):
            return p
    return None


def _pid1_is_systemd() -> bool:
    try:
        import psutil

        return psutil.Process(1).name() == "systemd" and os.path.isdir("/run/systemd/system")
    except Exception:
        return False


def _in_container(pid: int) -> str | None:
    """Why ``pid`` looks like it runs inside a container (one dockscope is not
    in: a dockerd in dockscope's own mount namespace is managed from here), or None."""
    try:
        if os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt"):
            return None
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/cgroup") as fh:
            cg = fh.read()
    except OSError:
        cg = ""
    if re.search(r"/(docker|containerd|kubepods|libpod|lxc)[/-]", cg):
        return f"its cgroup is a container's ({cg.strip().splitlines()[-1][:120]})"
    for marker in ("/.dockerenv", "/run/.containerenv"):
        if os.path.exists(f"/proc/{pid}/root{marker}"):
            return f"{marker} exists in its root"
    return None


def _init_pidfiles(script: str) -> list[str]:
    """Pidfile paths an init script names (``/var/run/*.pid``, ``/run/*.pid``); a regex
    because no library evaluates shell, and only literal paths (plus ``$BASE``) count."""
    try:
        with open(script, errors="replace") as fh:
            text = fh.read(256 * 1024)
    except OSError:
        return []
    base = re.search(r"^\s*BASE=['\"]?([\w.-]+)", text, re.M)
    names = []
    for m in re.findall(r"(/(?:var/)?run/[\w.@${}/-]+?\.pid)", text):
        if base:  # DOCKER_SSD_PIDFILE=/var/run/$BASE-ssd.pid with BASE=docker
            m = re.sub(r"\$\{?BASE\}?", base.group(1), m)
        if "$" not in m:
            names.append(m)
    return list(dict.fromkeys(names))


INIT_SCRIPTS = ("/etc/init.d/docker",)


def detect(daemon, init_scripts: tuple[str, ...] = INIT_SCRIPTS) -> Supervision:
    """How the dockerd of ``daemon`` (a ``DaemonProcess``) is supervised."""
    pid = getattr(daemon, "pid", None)
    if not pid:
        return Supervision(
            "unknown",
            "the dockerd process was not found",
            advice="restart dockerd where it runs",
        )
    import psutil

    try:
        proc = psutil.Process(pid)
        parent = proc.parent()
        pname = parent.name() if parent else ""
        ppid = parent.pid if parent else 0
    except psutil.Error as e:
        return Supervision("unknown", f"dockerd {pid}: {e}", advice="restart dockerd where it runs")

    why = _in_container(pid)
    if why:
        return Supervision(
            "container",
            f"dockerd {pid} runs inside a container ({why})",
            advice="restart the container that runs it, from the host that runs that container",
            evidence=[why],
        )

    # systemd: PID 1 is systemd and the cgroup names a unit
    if _pid1_is_systemd():
        from inspectors.daemon import systemd_unit

        unit, user = systemd_unit(pid)
        systemctl = trusted_binary("systemctl")
        if unit and systemctl:
            scope = ["--user"] if user else []
            return Supervision(
                "systemd",
                f"dockerd {pid} runs in the systemd unit {unit}",
                restart=[systemctl, *scope, "restart", unit],
                reload=[systemctl, *scope, "reload", unit],
                evidence=[f"/proc/{pid}/cgroup names {unit}", "PID 1 is systemd"],
            )

    # supervisord / runit / s6: the parent process
    if pname == "supervisord":
        env = {}
        try:
            env = proc.environ()
        except psutil.Error:
            pass
        name = env.get("SUPERVISOR_PROCESS_NAME")
        ctl = trusted_binary("supervisorctl")
        if name and ctl:
            return Supervision(
                "supervisord",
                f"dockerd {pid} is the supervisord program {name!r}",
                restart=[ctl, "restart", name],
                evidence=[f"parent {ppid} is supervisord", f"SUPERVISOR_PROCESS_NAME={name}"],
            )
        return Supervision(
            "supervisord",
            f"dockerd {pid} is run by supervisord (pid {ppid})",
            advice="restart it with supervisorctl restart <its program name>",
        )
    if pname in ("runsv", "s6-supervise"):
        try:
            svdir = parent.cwd()
        except psutil.Error:
            svdir = None
        tool, args = ("sv", ["restart"]) if pname == "runsv" else ("s6-svc", ["-r"])
        ctl = trusted_binary(tool)
        if svdir and ctl:
            return Supervision(
                "runit" if pname == "runsv" else "s6",
                f"dockerd {pid} is supervised by {pname} in {svdir}",
                restart=[ctl, *args, svdir],
                evidence=[f"parent {ppid} is {pname}, service directory {svdir}"],
            )
        return Supervision(
            "runit" if pname == "runsv" else "s6",
            f"dockerd {pid} is supervised by {pname} (pid {ppid})",
            advice=f"restart it with {tool} {' '.join(args)} <its service directory>",
        )

    # sysvinit / OpenRC: an init script AND a pidfile of it that holds this pid
    for script in init_scripts:
        if not os.path.exists(script):
            continue
        openrc = os.path.exists("/run/openrc") or os.path.exists("/sbin/openrc-run")
        kind = "openrc" if openrc else "sysvinit"
        pidfiles = _init_pidfiles(script)
        held = [p for p in pidfiles if _read_int(p) in (pid, ppid)]
        if not (held and _safe_path(script) and ppid in (0, 1)):
            continue  # no pidfile of the script holds this dockerd: not started by it
        if os.path.dirname(script) == "/etc/init.d":
            tool = trusted_binary("rc-service" if openrc else "service")
            restart = [tool, os.path.basename(script), "restart"] if tool else None
        else:
            restart = [script, "restart"]
        if restart:
            return Supervision(
                kind,
                f"dockerd {pid} was started by {script} (pidfile {held[0]})",
                restart=restart,
                evidence=[f"{held[0]} holds {_read_int(held[0])}", f"parent pid {ppid}"],
            )

    # by hand
    try:
        user = proc.username()
    except psutil.Error:
        user = "?"
    started = f"dockerd {pid} was started by hand (parent: {pname or '?'} pid {ppid}, user {user})"
    return Supervision(
        "manual",
        started,
        advice="no service manager runs it: stop it and start it again the way it was "
        "started (its command line is in `dockscope daemon status`), or set restart_command "
        "in dockscope's settings",
        evidence=[f"parent {pname} {ppid} is not an init system or supervisor"],
    )


def restart_hint(daemon) -> str:
    """One line for a doctor fix: the restart that works here, or what to do."""
    s = detect(daemon)
    return s.restart_command or f"restart dockerd ({s.description}; {s.advice})"


__all__ = ["Supervision", "detect", "restart_hint", "trusted_binary"]
