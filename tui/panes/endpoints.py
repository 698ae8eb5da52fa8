"""Pane 3: containers and their sandboxes: interfaces, addresses, routes, DNS,
endpoints, and the path eth0 -> veth -> bridge -> host drawn as a diagram."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from inspectors.model import Container, Interface, Snapshot
from tui.panes.common import DataView, Pane, Row, clean, dash, natural_key, short_id, txt
from tui.panes import nodecol

CT_COLS = [
    ("name", "CONTAINER"),
    ("state", "STATE"),
    ("nets", "NETWORK", 14),
    ("ips", "IP", 15),
    ("veths", "IFACE:HOST SIDE", 20),
    ("netns", "SANDBOX"),
    ("pid", "PID"),
    ("id", "ID"),
]

PARENT_DRIVERS = ("macvlan", "ipvlan")


def iface_link(i: Interface, snap: Snapshot | None) -> tuple[str, str, str]:
    """(relation, host-side name, driver) of a container interface: ("peer", veth, "")
    for a veth, ("parent", parent, "macvlan") for macvlan/ipvlan, which have no
    peer (the kernel's iflink there names the parent, not a veth)."""
    n = snap.network(i.network) if (snap is not None and i.network) else None
    driver = i.kind if i.kind in PARENT_DRIVERS else (n.driver if n is not None else "")
    if driver in PARENT_DRIVERS:
        parent = (n.parent or n.options.get("parent")) if n is not None else None
        return "parent", parent or i.host_veth or "?", driver
    return "peer", i.host_veth or "?", ""


def state_text(state: str) -> Text:
    style = {
        "running": "green",
        "exited": "yellow",
        "created": "yellow",
        "dead": "red",
        "restarting": "red",
        "paused": "cyan",
    }.get(state, "")
    return txt(state, style)


def container_row(c: Container, snap: Snapshot | None = None) -> Row:
    nets, ips = Text(), Text()
    for i, e in enumerate(c.endpoints):
        if i:
            nets.append(", ")
            ips.append(", ")
        nets.append(clean(e.network), style="bold")
        ips.append(
            clean(e.ipv4) or ("-" if e.attached else "(not attached)"),
            style="" if e.attached else "dim",
        )
    if not c.endpoints and c.network_mode:
        nets.append(clean(c.network_mode), style="dim")
    veths = Text()
    for i, iface in enumerate(x for x in c.interfaces if x.name != "lo"):
        if i:
            veths.append(" ")
        rel, other, driver = iface_link(iface, snap)
        veths.append(clean(iface.name))
        if rel == "parent":
            veths.append(f" ({driver} {clean(other)})", style="dim")  # its parent: no peer
        else:
            veths.append(":", style="dim")
            veths.append(clean(other))
    sandbox = (c.sandbox_key or "").rsplit("/", 1)[-1]
    return Row(
        key=c.id,
        node=c.node,
        cells=(
            txt(c.name, "bold"),
            state_text(c.state),
            nets,
            ips if ips.plain else dash(""),
            veths if veths.plain else dash(""),
            dash(sandbox),
            dash(c.pid),
            txt(short_id(c.id), "dim"),
        ),
        search=" ".join(
            [
                c.id,
                c.image,
                " ".join(e.mac or "" for e in c.endpoints),
                " ".join(a for e in c.endpoints for a in e.aliases),
                " ".join(f"{k}={v}" for k, v in c.labels.items()),
            ]
        ),
    )


def _section(out: Text, title: str) -> None:
    out.append("\n")
    out.append(title, style="bold underline")
    out.append("\n")


_HOP_STYLE = {
    "iface": "bold cyan",
    "veth": "bold magenta",
    "bridge": "bold blue",
    "gwbridge": "bold blue",
    "host": "bold",
    "underlay": "bold",
    "parent": "bold",
}


def path_lines(c: Container, snap: Snapshot) -> Text:
    """The path each interface really takes, per driver (inspectors.paths)."""
    from inspectors.paths import container_paths

    out = Text()
    for p in container_paths(snap, c):
        if p.hops:
            out.append("  ")
            for k, h in enumerate(p.hops):
                if k:
                    out.append(" ─╳ " if h.status == "blocked" else " ─▶ ", style="dim")
                bad = h.status not in ("ok", "blocked")
                out.append(clean(h.name), style="bold red" if bad else _HOP_STYLE.get(h.role, ""))
                if bad:
                    out.append(f" {h.status.upper()}", style="bold red")
                if h.note:
                    out.append(
                        f" ({clean(h.note)})", style="yellow" if h.status == "blocked" else "dim"
                    )
            out.append("\n")
        for line in p.breaks:
            out.append("    ✗ " + clean(line) + "\n", style="red")
        for line in p.says:
            out.append("    " + clean(line) + "\n", style="dim")
    return out


def _iface_line(i: Interface, snap: Snapshot | None = None) -> Text:
    out = Text("  ")
    out.append(clean(i.name).ljust(8), style="bold")
    out.append(f" {clean(i.operstate) or '?':<8} mtu {i.mtu or '?':<6} ")
    out.append(clean(i.mac) or "-", style="dim")
    out.append("  " + (" ".join(clean(a) for a in i.addresses) or "-"))
    rel, other, driver = iface_link(i, snap)
    if rel == "parent":
        out.append(f"  parent {clean(other)} ({driver})", style="dim")
    elif i.host_veth:
        out.append(f"  peer {clean(i.host_veth)}", style="dim")
    return out


def container_detail(c: Container, snap: Snapshot) -> Text:
    out = Text()
    out.append(clean(c.name), style="bold")
    out.append("  ")
    out.append(state_text(c.state))
    if c.pid:
        out.append(f"  pid {c.pid}")
    out.append("  image ", style="dim")
    out.append(clean(c.image))
    out.append(f"  id {short_id(c.id)}\n", style="dim")
    out.append("sandbox ", style="dim")
    out.append(clean(c.sandbox_key) or "-")
    if c.netns:
        out.append("  read via ", style="dim")
        out.append(clean(c.netns))
    out.append("  network mode ", style="dim")
    out.append(clean(c.network_mode) or "-")
    out.append("\n")
    if c.sandbox_note:
        out.append(clean(c.sandbox_note) + "\n", style="yellow")

    _section(out, "PATH")
    out.append(path_lines(c, snap))

    _section(out, "ENDPOINTS")
    if not c.endpoints:
        out.append("  none\n", style="dim")
    for e in c.endpoints:
        out.append("  ")
        out.append(clean(e.network).ljust(14), style="bold")
        ip = f"{e.ipv4}/{e.ipv4_prefixlen}" if e.ipv4 and e.ipv4_prefixlen else (e.ipv4 or "-")
        out.append(f" {clean(ip):<18}")
        out.append(" mac ", style="dim")
        out.append(clean(e.mac) or "-")
        out.append("  gw ", style="dim")
        out.append(clean(e.gateway) or "-")
        if e.ipv6:
            out.append("  ipv6 ", style="dim")
            out.append(clean(e.ipv6))
        out.append("\n     aliases ", style="dim")
        out.append(", ".join(clean(a) for a in e.aliases) or "-")
        out.append("  dns names ", style="dim")
        out.append(", ".join(clean(a) for a in e.dns_names) or "-")
        n = snap.network(e.network_id or e.network)
        if n is not None and n.driver in PARENT_DRIVERS:  # no veth: a child of the parent
            out.append("  ", style="dim")
            out.append(
                f"{clean(e.sandbox_ifname) or '?'}: parent "
                f"{clean(n.parent or n.options.get('parent')) or '?'} ({n.driver})"
            )
        elif e.sandbox_ifname or e.host_veth:
            out.append("  ", style="dim")
            out.append(nodecol.iface_pair(e, " <-> "))
        if not e.attached:
            out.append("  (configured, not attached)", style="yellow")
        n = snap.network(e.network_id or e.network)
        if n is not None and not n.dns_by_name and n.driver == "bridge":
            out.append("  no DNS by name on the default bridge", style="yellow")
        out.append("\n")

    _section(out, "INTERFACES")
    if c.interfaces:
        for i in c.interfaces:
            out.append(_iface_line(i, snap))
            out.append("\n")
    else:
        out.append(
            "  unknown" + (" (not running)" if c.state != "running" else "") + "\n", style="dim"
        )

    _section(out, "ROUTES")
    if c.routes:
        for r in c.routes:
            out.append("  " + clean(r.dst))
            if r.gateway:
                out.append(f" via {clean(r.gateway)}")
            if r.dev:
                out.append(f" dev {clean(r.dev)}")
            if r.scope and r.scope not in ("global", "universe"):
                out.append(f" scope {clean(r.scope)}")
            if r.src:
                out.append(f" src {clean(r.src)}")
            if r.table not in (None, 254):
                out.append(f" table {r.table}", style="dim")
            out.append("\n")
    else:
        out.append("  unknown\n", style="dim")

    _section(out, "DNS")
    d = c.dns
    out.append("  file ", style="dim")
    out.append((clean(d.path) or "-") + "\n")
    if d.error:
        out.append("  " + clean(d.error) + "\n", style="yellow")
    for ns in d.nameservers:
        out.append("  nameserver ", style="dim")
        out.append(clean(ns))
        if ns == "127.0.0.11":
            out.append("  (docker's embedded DNS)", style="dim")
        out.append("\n")
    if d.search:
        out.append("  search ", style="dim")
        out.append(" ".join(clean(s) for s in d.search) + "\n")
    if d.options:
        out.append("  options ", style="dim")
        out.append(" ".join(clean(s) for s in d.options) + "\n")
    if d.ext_servers:
        out.append("  upstream ", style="dim")
        out.append(", ".join(clean(s) for s in d.ext_servers) + "\n")
    if c.extra_hosts:
        out.append("  extra hosts ", style="dim")
        out.append(", ".join(clean(h) for h in c.extra_hosts) + "\n")

    _section(out, "PORTS")
    if c.ports:
        for p in c.ports:
            host = f"{p.host_ip or '*'}:{p.host_port}" if p.host_port else "(not published)"
            out.append(f"  {clean(host)} -> {p.container_port}/{clean(p.protocol)}")
            if p.requested:
                out.append("  requested", style="dim")
            if p.listener_process or p.listener_pid:
                out.append(
                    f"  held by {clean(p.listener_process) or '?'}({p.listener_pid or '?'})",
                    style="dim",
                )
            out.append("\n")
    else:
        out.append("  none\n", style="dim")
    if c.labels:
        _section(out, "LABELS")
        for k, v in sorted(c.labels.items()):
            out.append(f"  {clean(k)} = {clean(v)}\n")
    return out


def container_preview(c: Container, snap: Snapshot) -> Text:
    out = Text()
    out.append(clean(c.name), style="bold")
    out.append("  ")
    out.append(state_text(c.state))
    if c.sandbox_key:
        out.append("  sandbox ", style="dim")
        out.append(clean(c.sandbox_key))
    out.append("   enter: interfaces, routes, DNS", style="dim")
    out.append("\n")
    out.append(path_lines(c, snap))
    for e in c.endpoints:
        out.append("  ")
        out.append(clean(e.network).ljust(14), style="bold")
        ip = f"{e.ipv4}/{e.ipv4_prefixlen}" if e.ipv4 and e.ipv4_prefixlen else (e.ipv4 or "-")
        out.append(f" {clean(ip):<18} ")
        out.append(clean(e.mac) or "-", style="dim")
        if e.aliases:
            out.append("  aliases ", style="dim")
            out.append(", ".join(clean(a) for a in e.aliases))
        if e.dns_names:
            out.append("  dns ", style="dim")
            out.append(", ".join(clean(a) for a in e.dns_names))
        out.append("\n")
    return out


class EndpointsPane(Pane):
    PANE_ID = "endpoints"
    TITLE = "Endpoints"
    PREVIEW = True
    HELP = (
        "One row per container: its networks and IPs, interfaces and host veths. enter "
        "opens the sandbox: namespace path, the eth0 -> veth -> bridge -> host path, "
        "endpoints with aliases and DNS names, interfaces, routes, resolv.conf and ports."
    )
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.detail_id: str | None = None

    def compose_views(self) -> ComposeResult:
        yield DataView(CT_COLS, id="list")
        with VerticalScroll(id="detail", classes="detail-scroll-full"):
            yield Static(id="ct-detail", classes="detail-text")

    def empty_message(self) -> str:
        snap = self.snapshot
        if self.view_name == "detail":
            return ""
        if snap is None:
            return "loading..."
        if not snap.engine.reachable:
            return (
                "engine: permission denied:"
                if snap.engine.error_kind == "permission"
                else "engine unreachable:"
            ) + " no containers to show"
        return "no containers"

    def subtitle(self) -> Text:
        if self.view_name == "detail" and self.snapshot is not None and self.detail_id:
            c = self.snapshot.container(self.detail_id)
            return Text.assemble(
                ("> ", "dim"),
                (clean(c.name) if c else "(removed)", "bold"),
                ("  esc: back  l: logs", "dim"),
            )
        return Text("")

    def update_snapshot(self, snap: Snapshot) -> None:
        super().update_snapshot(snap)
        ctrs = sorted(snap.containers, key=lambda c: natural_key(c.name))  # lab-c2 before lab-c10
        self.query_one("#list", DataView).set_rows([container_row(c, snap) for c in ctrs])
        if self.view_name == "detail":
            self._fill_detail()
        self.refresh_title()
        self.update_preview()

    def preview_for(self, key: str) -> Text | None:
        c = self.snapshot.container(key) if self.snapshot is not None else None
        return container_preview(c, self.snapshot) if c is not None else None

    def refresh_title(self) -> None:
        super().refresh_title()
        if self.view_name == "detail" and self.is_mounted:
            self.query_one("#pane-empty", Static).display = False

    def _fill_detail(self) -> None:
        snap = self.snapshot
        c = snap.container(self.detail_id) if snap and self.detail_id else None
        w = self.query_one("#ct-detail", Static)
        if c is None:
            w.update(Text("this container no longer exists", style="bold red"))
            return
        w.update(container_detail(c, snap))

    @on(DataTable.RowSelected, "#list")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_detail(event.row_key.value)

    def open_detail(self, cid: str | None) -> None:
        if not cid:
            return
        self.detail_id = cid
        self._fill_detail()
        self.show_view("detail")
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    def focus_main(self) -> None:
        if self.view_name == "detail":
            self.query_one("#detail", VerticalScroll).focus()
        else:
            super().focus_main()

    def table(self):
        if self.view_name == "detail":
            return None
        return super().table()

    def selection(self) -> dict[str, str]:
        if self.view_name == "detail" and self.detail_id:
            return {"container": self.detail_id}
        key = self.query_one("#list", DataView).current_key()
        return {"container": key} if key else {}

    def reveal(self, kind: str, name: str) -> bool:
        c = self.snapshot.container(name) if kind == "container" and self.snapshot else None
        if c is None:
            return False
        self.show_view("list")
        self.set_filter("")
        return self.query_one("#list", DataView).select_key(c.id)
