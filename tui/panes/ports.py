"""Pane 4: published ports (host ip:port -> container:port/proto), who holds the
host side, and conflicts; ``a`` switches to every listening socket of the host."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from inspectors.model import Container, Listener, PortBinding, Snapshot
from tui.panes.common import DataView, OpenContainer, Pane, Row, clean, dash, txt

PUB_COLS = [
    ("host", "HOST IP:PORT"),
    ("arrow", ""),
    ("container", "CONTAINER"),
    ("cport", "PORT/PROTO"),
    ("state", "STATE"),
    ("held", "HELD BY"),
    ("status", "STATUS"),
]
LST_COLS = [
    ("proto", "PROTO"),
    ("addr", "ADDRESS"),
    ("port", "PORT"),
    ("pid", "PID"),
    ("process", "PROCESS"),
    ("owner", "OWNER"),
    ("container", "CONTAINER"),
    ("target", "TARGET"),
]

LOCAL_IPS = ("127.0.0.1", "::1", "localhost")


def _host(p: PortBinding) -> str:
    ip = p.host_ip or ""
    if not ip:
        ip = "*"
    if ":" in ip:
        ip = f"[{ip}]"
    return f"{ip}:{p.host_port}"


def _holders(snap: Snapshot, p: PortBinding) -> list[Listener]:
    out = []
    for l in snap.listeners:
        if l.protocol != p.protocol or l.port != p.host_port:
            continue
        if p.host_ip in (None, "", "0.0.0.0", "::") or l.ip in (p.host_ip, "0.0.0.0", "::"):
            out.append(l)
    return out


def _holder_text(l: Listener) -> str:
    s = f"{l.process or '?'}({l.pid or '?'})"
    if l.owner == "docker-proxy" and l.container:
        s += f" for {l.container}"
    return s


# the doctor's rules that judge one published port; their objects are
# [container, "<container port>/proto"] or [container, "<host port>/proto"]
PORT_RULES = {
    "container_not_listening": ("nothing listens", "container"),
    "dnat_missing": ("no DNAT", "host"),
}


def port_findings(c: Container, p: PortBinding, findings) -> list:
    """The doctor's error/warning findings about this published port (one owner:
    the Ports pane never re-judges what the doctor found)."""
    out = []
    for f in findings or ():
        if f.rule not in PORT_RULES or f.severity not in ("error", "warning"):
            continue
        side = PORT_RULES[f.rule][1]
        if f.rule == "dnat_missing" and ":" in (p.host_ip or ""):
            continue  # the rule reads the IPv4 nat table only
        want = f"{p.container_port if side == 'container' else p.host_port}/{p.protocol}"
        if len(f.objects) >= 2 and f.objects[0] == c.name and f.objects[1] == want:
            out.append(f)
    return out


def port_status(
    c: Container, p: PortBinding, snap: Snapshot, findings=None
) -> tuple[Text, str, str]:
    """(short status, severity ok|warn|bad|info, one-sentence explanation).
    ``findings`` are the doctor's last findings: a port it faults is never "ok"."""
    running = c.state in ("running", "paused", "restarting")
    mine = port_findings(c, p, findings) if running else []
    if mine:
        short = ", ".join(dict.fromkeys(PORT_RULES[f.rule][0] for f in mine))
        return (
            Text(short, style="bold red"),
            "bad",
            "doctor: " + "; ".join(f.message for f in mine),
        )
    holders = _holders(snap, p)
    others = [l for l in holders if not (l.owner == "docker-proxy" and l.container == c.name)]
    local = (p.host_ip or "") in LOCAL_IPS
    host = _host(p)
    if not running:
        if others:
            who = ", ".join(_holder_text(l) for l in others[:2])
            return (
                Text(f"CONFLICT: held by {clean(who)}", style="bold red"),
                "bad",
                f"{c.name} ({c.state}) asks for host port {host}, but {who} already holds "
                f"it: starting {c.name} will fail with 'port is already allocated' / "
                f"'address already in use'. Free the port or publish another one.",
            )
        return (
            Text("free (not running)", style="dim"),
            "info",
            f"{c.name} is {c.state}: {host} is requested but nothing holds it now; it "
            f"would bind when the container starts.",
        )
    if p.owner == "foreign":
        who = f"{p.listener_process or '?'}({p.listener_pid or '?'})"
        return (
            Text(f"STRANGER: {clean(who)}", style="bold red"),
            "bad",
            f"{who} is not docker but listens on {host}: clients reach it instead of "
            f"{c.name} (or the engine's forwarding is shadowed).",
        )
    if p.owner == "none":
        return (
            Text("no listener", style="yellow"),
            "warn",
            f"nothing listens on {host}: fine with the userland proxy off (iptables DNAT "
            f"only), otherwise the proxy is missing.",
        )
    if local:
        return (
            Text("local only (127.0.0.1)", style="yellow"),
            "warn",
            f"{host} is bound to loopback: reachable from this host only, not from other "
            f"machines (publish on 0.0.0.0 or an interface address for that).",
        )
    if p.owner is None:
        return (
            Text("holder unknown", style="dim"),
            "info",
            "the process holding the host side is not visible (not root?).",
        )
    who = f"{p.listener_process or '?'}({p.listener_pid or '?'})"
    return (
        Text("ok", style="green"),
        "ok",
        f"{host} -> {c.name}:{p.container_port}/{p.protocol}, held by {who}.",
    )


def published_rows(snap: Snapshot, findings=None) -> list[Row]:
    rows = []
    for c in snap.containers:
        for p in c.ports:
            if not p.host_port:
                continue
            status, sev, why = port_status(c, p, snap, findings)
            held = (
                f"{p.listener_process or '?'}({p.listener_pid or '?'})"
                if (p.listener_pid or p.listener_process)
                else ""
            )
            if not held and p.requested:
                others = _holders(snap, p)
                held = _holder_text(others[0]) if others else ""
            key = f"{c.id}|{p.host_ip or ''}|{p.host_port}|{p.container_port}/{p.protocol}"
            rows.append(
                Row(
                    key=key,
                    node=c.node,
                    cells=(
                        txt(_host(p), "bold"),
                        Text("->", style="dim"),
                        txt(c.name, "bold"),
                        txt(f"{p.container_port}/{p.protocol}"),
                        txt(c.state, "green" if c.state == "running" else "yellow"),
                        dash(held),
                        status,
                    ),
                    search=f"{c.id} {p.owner or ''} {sev} {why}",
                )
            )
    rows.sort(key=lambda r: (_port_sort(r.cells[0].plain), r.key))
    return rows


def _port_sort(host: str) -> tuple:
    ip, _, port = host.rpartition(":")
    return (int(port) if port.isdigit() else 0, ip)


def listener_rows(snap: Snapshot) -> list[Row]:
    rows = []
    for l in snap.listeners:
        owner_style = {"docker-proxy": "cyan", "dockerd": "cyan", "foreign": ""}.get(
            l.owner or "", "dim"
        )
        target = f"{l.container_ip}:{l.container_port}" if l.container_ip else ""
        rows.append(
            Row(
                key=f"{l.protocol}|{l.family}|{l.ip}|{l.port}|{l.pid}",
                node=l.node,
                cells=(
                    txt(l.protocol + ("6" if l.family == 6 else "")),
                    txt(l.ip),
                    Text(str(l.port), justify="right", style="bold"),
                    dash(l.pid),
                    dash(l.process),
                    txt(l.owner or "?", owner_style),
                    txt(l.container, "bold") if l.container else dash(""),
                    dash(target),
                ),
                search=" ".join(l.cmdline),
            )
        )
    rows.sort(key=lambda r: (int(r.cells[2].plain), r.key))
    return rows


class PortsPane(Pane):
    PANE_ID = "ports"
    TITLE = "Ports"
    PREVIEW = True
    PREVIEW_MIN_HEIGHT = 20
    HELP = (
        "Every published port: host ip:port -> container port, the process holding the "
        "host side, and conflicts (a stopped container whose port someone else holds, a "
        "stranger on a published port, a port bound to 127.0.0.1 only). a: every "
        "listening socket of the host."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a",
            "toggle_all",
            "All listeners",
            id="ports.all",
            tooltip="switch between published ports and every host listener",
        ),
    ]

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.show_all = False
        self.findings: list = []  # the doctor's last findings about published ports
        self.live_doctor = True  # run the doctor's port rules on each new snapshot
        self._judged_key: tuple | None = None
        self._judged_at = 0.0

    def set_findings(self, findings: list) -> None:
        """The doctor ran: re-judge the rows with its findings."""
        self.findings = list(findings)
        if self.snapshot is not None:
            self.query_one("#list", DataView).set_rows(published_rows(self.snapshot, self.findings))
            self.refresh_title()
            self.update_preview()

    def compose_views(self) -> ComposeResult:
        yield DataView(PUB_COLS, id="list")
        listeners = DataView(LST_COLS, id="listeners")
        listeners.opens = False  # a host socket has no detail to open
        yield listeners

    def subtitle(self) -> Text:
        if self.show_all:
            return Text("host listeners  (a: published ports)", style="dim")
        snap = self.snapshot
        if snap is None:
            return Text("published  (a: all host listeners)", style="dim")
        bad = 0
        for c in snap.containers:
            for p in c.ports:
                if p.host_port and port_status(c, p, snap, self.findings)[1] == "bad":
                    bad += 1
        out = Text("published  (a: all host listeners)", style="dim")
        if bad:
            out.append(f"  {bad} conflict(s)", style="bold red")
        return out

    def empty_message(self) -> str:
        snap = self.snapshot
        if snap is None:
            return "loading..."
        if self.show_all:
            return "no listening sockets could be read"
        if not snap.engine.reachable and not snap.containers:
            return "engine unreachable: no published ports known (a: host listeners still work)"
        return "no published ports (a: every host listener)"

    def update_snapshot(self, snap: Snapshot) -> None:
        super().update_snapshot(snap)
        self.query_one("#list", DataView).set_rows(published_rows(snap, self.findings))
        self.query_one("#listeners", DataView).set_rows(listener_rows(snap))
        self.refresh_title()
        self.update_preview()
        self._judge(snap)

    def _judge(self, snap: Snapshot) -> None:
        """The doctor's own port rules (R13 nothing listens inside, R18 DNAT missing)
        on this snapshot, in a thread: the STATUS column never disagrees with the
        doctor. Re-run when the published ports change, else at most every 15 s."""
        if not self.live_doctor:
            return
        key = tuple(
            (c.id, c.state, c.pid, tuple((p.host_port, p.container_port) for p in c.ports))
            for c in snap.containers
            if any(p.host_port for p in c.ports)
        )
        now = time.monotonic()
        if not key or (key == self._judged_key and now - self._judged_at < 15):
            return
        self._judged_key, self._judged_at = key, now
        self.run_worker(
            lambda: self._port_rules(snap), thread=True, group="ports-doctor", exclusive=True
        )

    def _port_rules(self, snap: Snapshot) -> None:
        from inspectors.doctor.rules_containers import rule_container_not_listening
        from inspectors.doctor.rules_firewall import rule_dnat_missing
        from inspectors.hostfacts import gather_facts

        try:
            facts = gather_facts(snap, container_refs=False)
            found = rule_container_not_listening(snap, facts) + rule_dnat_missing(snap, facts)
        except Exception:  # noqa: BLE001 - no verdict: the rows keep what they had
            return
        try:
            self.app.call_from_thread(self._judged, snap, found)
        except RuntimeError:  # the app is gone
            pass

    def _judged(self, snap: Snapshot, found: list) -> None:
        if snap is self.snapshot:
            self.set_findings(found)

    def preview_for(self, key: str) -> Text | None:
        snap = self.snapshot
        if snap is None or self.show_all:
            return None
        cid, hip, hport, rest = key.split("|", 3)
        c = snap.container(cid)
        if c is None:
            return None
        for p in c.ports:
            if (
                (p.host_ip or "") == hip
                and str(p.host_port) == hport
                and f"{p.container_port}/{p.protocol}" == rest
            ):
                status, _, why = port_status(c, p, snap, self.findings)
                out = Text()
                out.append(status)
                out.append("  ")
                out.append(clean(why))
                return out
        return None

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.show_view("listeners" if self.show_all else "list")

    def action_back(self) -> None:
        f = self.query_one("#filter")
        if self.show_all and not (f.display and f.has_focus) and not self.filter_text:
            self.action_toggle_all()
            return
        super().action_back()

    def show_view(self, name: str) -> None:
        super().show_view(name)
        self.view_name = "list"  # both views are top level: esc does not go "back" from them

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        """enter on a published port: the container behind the port, in its endpoint detail (pane 3)."""
        event.stop()
        cid = self.selection().get("container") if not self.show_all else None
        if cid:
            self.post_message(OpenContainer(cid))

    def selection(self) -> dict[str, str]:
        t = self.table()
        key = t.current_key() if t is not None else None
        if not key:
            return {}
        if not self.show_all:
            return {"container": key.split("|", 1)[0]}
        snap = self.snapshot
        row = t.current_row()
        if snap is not None and row is not None and row.cells[6].plain not in ("", "-"):
            c = snap.container(row.cells[6].plain)
            if c is not None:
                return {"container": c.id}
        return {}

    def reveal(self, kind: str, name: str) -> bool:
        if kind != "port":
            return False
        self.show_view("list")
        self.set_filter(name.split("/")[0].rsplit(":", 1)[-1])
        return True
