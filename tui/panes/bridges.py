"""Pane 2: Linux bridges as brctl shows them, with the container and network
behind every port, live rx/tx rates, and (enter) the bridge's FDB."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from inspectors.model import Bridge, BridgePort, Snapshot, split_node
from tui.panes.common import DataView, Pane, Row, clean, dash, human_rate, txt
from tui.panes.nodecol import row_key

BR_COLS = [
    ("name", "BRIDGE / PORT"),
    ("id", "BRIDGE ID / PORT"),
    ("stp", "STP"),
    ("network", "NETWORK"),
    ("container", "CONTAINER"),
    ("iface", "IFACE"),
    ("mtu", "MTU"),
    ("oper", "STATE"),
    ("note", "NOTE", 28),  # before the rates: at 120 columns it stays on screen
    ("rx", "RX/s"),
    ("tx", "TX/s"),
]
FDB_COLS = [
    ("mac", "MAC"),
    ("port", "PORT"),
    ("local", "LOCAL"),
    ("ageing", "AGEING"),
    ("vlan", "VLAN"),
    ("container", "CONTAINER"),
    ("network", "NETWORK"),
]


def _oper(state: str | None) -> Text:
    s = clean(state) or "?"
    style = "green" if s == "UP" else ("red" if s in ("DOWN", "LOWERLAYERDOWN") else "")
    return Text(s, style=style)


class Rates:
    """rx/tx bytes per second from counter deltas, per interface name."""

    def __init__(self) -> None:
        self._prev: dict[str, tuple[float, int, int]] = {}
        self.rates: dict[str, tuple[float, float]] = {}

    def feed(self, snap: Snapshot, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        seen = set()
        for link in snap.links:
            seen.add(link.name)
            rx, tx = link.stats.rx_bytes, link.stats.tx_bytes
            prev = self._prev.get(link.name)
            if prev is not None:
                t0, rx0, tx0 = prev
                dt = now - t0
                if dt < 0.5:
                    continue  # too close to the last sample: keep the last rate
                if rx >= rx0 and tx >= tx0:
                    self.rates[link.name] = ((rx - rx0) / dt, (tx - tx0) / dt)
            self._prev[link.name] = (now, rx, tx)
        for gone in set(self._prev) - seen:
            self._prev.pop(gone, None)
            self.rates.pop(gone, None)

    def get(self, name: str) -> tuple[str, str]:
        r = self.rates.get(name)
        if r is None:
            return "-", "-"
        return human_rate(r[0]), human_rate(r[1])


def other_engines(snap: Snapshot | None) -> int:
    """Other dockerd processes on this host (the fact the doctor's orphan_bridge uses)."""
    d = snap.engine.daemon if snap is not None and snap.engine else None
    return len(d.others or []) if d is not None else 0


def bridge_note(b: Bridge, snap: Snapshot) -> Text:
    notes: list[tuple[str, str]] = []
    if b.orphan and other_engines(snap):
        # the doctor's fact (R5): other dockerds run here and may own it
        notes.append((f"another engine's? ({other_engines(snap)} other dockerd)", "dim"))
    elif b.orphan:
        notes.append(("leftover? no network of this engine uses it", "bold red"))
    elif not b.network and not b.docker_owned:
        notes.append(("not docker's", "dim"))
    if (b.operstate or "").upper() == "DOWN":
        notes.append(("down", "red"))
    if not b.ports and b.network:
        notes.append(("no ports", "dim"))
    mtus = {p.mtu for p in b.ports if p.mtu}
    if b.mtu and mtus and any(m != b.mtu for m in mtus):
        notes.append(("MTU mismatch", "yellow"))
    out = Text()
    for i, (n, st) in enumerate(notes):
        if i:
            out.append("; ")
        out.append(n, style=st)
    return out


def port_note(p: BridgePort, b: Bridge, snap: Snapshot | None = None) -> Text:
    out = Text()
    if (p.operstate or "").upper() in ("DOWN", "LOWERLAYERDOWN"):
        out.append("link down", style="red")
    elif p.kind == "veth" and not p.container and b.docker_owned:
        if snap is not None:  # leftover pair, swarm sandbox...: inspectors.paths says which
            from inspectors.paths import port_owner

            out.append(clean(port_owner(snap, b.name, p.name)), style="yellow")
        else:
            out.append("no container (orphan veth?)", style="yellow")
    if p.mtu and b.mtu and p.mtu != b.mtu:
        if out.plain:
            out.append("; ")
        out.append(f"MTU {p.mtu} != bridge {b.mtu}", style="yellow")
    return out


def bridge_rows(snap: Snapshot, rates: Rates) -> list[Row]:
    rows: list[Row] = []
    for b in snap.bridges:
        rx, tx = rates.get(b.name)
        other = b.orphan and other_engines(snap) > 0
        net = b.network or (("(other engine?)" if other else "(orphan)") if b.orphan else "")
        rows.append(
            Row(
                key=f"br:{b.name}",
                node=b.node,
                cells=(
                    txt(b.name, "bold"),
                    txt(b.bridge_id),
                    txt("yes" if b.stp_enabled else "no"),
                    txt(net, "dim" if other else ("red" if b.orphan else "bold"))
                    if net
                    else dash(""),
                    Text(f"{len(b.ports)} port(s)", style="dim"),
                    Text(""),
                    txt(b.mtu or ""),
                    _oper(b.operstate),
                    bridge_note(b, snap),
                    Text(rx),
                    Text(tx),
                ),
                search=" ".join(
                    [
                        b.network_id or "",
                        " ".join(b.addresses),
                        " ".join(f"{p.name} {p.container or ''}" for p in b.ports),
                    ]
                ),
            )
        )
        for i, p in enumerate(b.ports):
            last = i == len(b.ports) - 1
            rx, tx = rates.get(p.name)
            rows.append(
                Row(
                    key=f"port:{b.name}:{p.name}",
                    node=b.node,
                    cells=(
                        Text.assemble(("└ " if last else "├ ", "dim"), (clean(p.name), "")),
                        Text(f"port {p.port_no}" if p.port_no else "", style="dim"),
                        txt(p.state or "", "green" if p.state == "forwarding" else "yellow"),
                        dash(p.network),
                        txt(p.container, "bold") if p.container else dash(""),
                        dash(p.sandbox_ifname),
                        txt(p.mtu or ""),
                        _oper(p.operstate),
                        port_note(p, b, snap),
                        Text(rx),
                        Text(tx),
                    ),
                    search=" ".join([b.name, p.container_id or "", p.kind or ""]),
                )
            )
    return rows


def fdb_rows(b: Bridge, snap: Snapshot) -> list[Row]:
    port_owner = {p.name: p for p in b.ports}
    mac_owner = {}
    for c in snap.containers:
        for e in c.endpoints:
            if e.mac:
                mac_owner[e.mac.lower()] = (c.name, e.network)
    rows = []
    for f in b.fdb:
        who = mac_owner.get(f.mac.lower())
        p = port_owner.get(f.port)
        container = who[0] if who else (p.container if p and not f.is_local else None)
        network = who[1] if who else (p.network if p and not f.is_local else None)
        rows.append(
            Row(
                key=f"{f.mac}|{f.port}|{f.vlan}",
                node=b.node,
                cells=(
                    txt(f.mac, "bold" if not f.is_local else ""),
                    txt(f.port),
                    txt("yes" if f.is_local else "no", "dim" if f.is_local else ""),
                    Text(f"{f.ageing_timer:.2f}", justify="right"),
                    dash(f.vlan),
                    txt(container, "bold") if container else dash(""),
                    dash(network),
                ),
            )
        )
    return rows


def bridge_header(b: Bridge) -> Text:
    out = Text()
    out.append("FDB of ", style="dim")
    out.append(clean(b.name), style="bold")
    out.append(
        f"  id {clean(b.bridge_id)}  stp {'on' if b.stp_enabled else 'off'}  "
        f"{clean(b.operstate) or '?'}  mtu {b.mtu or '?'}"
    )
    if b.ageing_time is not None:
        out.append(f"  ageing {b.ageing_time:.0f}s")
    if b.network:
        out.append("  network ", style="dim")
        out.append(clean(b.network), style="bold")
    if b.addresses:
        out.append("  " + " ".join(clean(a) for a in b.addresses))
    out.append(
        f"\n{len(b.fdb)} entries (like `brctl showmacs {clean(b.name)}`); "
        "non-local MACs are learned from the container behind the port",
        style="dim",
    )
    return out


class BridgesPane(Pane):
    PANE_ID = "bridges"
    TITLE = "Bridges"
    HELP = (
        "Linux bridges (brctl show) with the container, network and sandbox interface "
        "behind every veth, port STP state, MTU, link state and live rx/tx rates. "
        "enter opens the bridge's forwarding database (brctl showmacs). Orphan bridges "
        "(docker-named, no network) and down links are flagged."
    )
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.rates = Rates()
        self.fdb_bridge: str | None = None

    def compose_views(self) -> ComposeResult:
        yield DataView(BR_COLS, id="list")
        with Vertical(id="detail"):
            yield Static(id="fdb-header", classes="detail-text")
            yield DataView(FDB_COLS, id="fdb")

    def empty_message(self) -> str:
        snap = self.snapshot
        if self.view_name == "detail":
            return "the forwarding database is empty"
        if snap is None:
            return "loading..."
        if not snap.engine.local:
            return "the engine is not on this host: its bridges cannot be read from here"
        return "no Linux bridges on this host"

    def subtitle(self) -> Text:
        if self.view_name == "detail" and self.fdb_bridge:
            return Text.assemble(
                ("> FDB ", "dim"), (clean(self.fdb_bridge), "bold"), ("  esc: back", "dim")
            )
        return Text("")

    def feed_rates(self, snap: Snapshot, now: float | None = None) -> None:
        self.rates.feed(snap, now)

    def update_snapshot(self, snap: Snapshot) -> None:
        super().update_snapshot(snap)
        self.query_one("#list", DataView).set_rows(bridge_rows(snap, self.rates))
        if self.view_name == "detail":
            self._fill_fdb()
        self.refresh_title()

    def _fill_fdb(self) -> None:
        b = self.snapshot.bridge(self.fdb_bridge) if self.snapshot and self.fdb_bridge else None
        header = self.query_one("#fdb-header", Static)
        table = self.query_one("#fdb", DataView)
        if b is None:
            header.update(Text("this bridge no longer exists", style="bold red"))
            table.set_rows([])
            return
        header.update(bridge_header(b))
        table.set_rows(fdb_rows(b, self.snapshot))

    @on(DataTable.RowSelected, "#list")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value or ""
        if key.startswith("br:"):
            self.open_fdb(key[3:])
        elif key.startswith("port:"):
            self.open_fdb(key.split(":")[1])

    @on(DataTable.RowSelected, "#fdb")
    def _fdb_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()

    def open_fdb(self, bridge: str) -> None:
        self.fdb_bridge = bridge
        self._fill_fdb()
        self.show_view("detail")

    def selection(self) -> dict[str, str]:
        if self.view_name == "list":
            key = self.query_one("#list", DataView).current_key() or ""
            snap = self.snapshot
            if key.startswith("port:") and snap is not None:
                _, br, port = key.split(":", 2)
                port, node = split_node(port)  # several engines: the row of one node's bridge
                br = row_key(br, node)
                b = snap.bridge(br)
                p = next((p for p in b.ports if p.name == port), None) if b else None
                sel = {"bridge": br}
                if b is not None and b.network_id:
                    sel["network"] = b.network_id
                if p is not None and p.container_id:
                    sel["container"] = p.container_id
                return sel
            if key.startswith("br:") and snap is not None:
                b = snap.bridge(key[3:])
                sel = {"bridge": key[3:]}
                if b is not None and b.network_id:
                    sel["network"] = b.network_id
                return sel
        elif self.fdb_bridge:
            return {"bridge": self.fdb_bridge}
        return {}

    def reveal(self, kind: str, name: str) -> bool:
        if kind not in ("bridge", "interface") or self.snapshot is None:
            return False
        self.show_view("list")
        if self.snapshot.bridge(name) is not None:
            self.set_filter("")
            return self.query_one("#list", DataView).select_key(f"br:{name}")
        self.set_filter(name)  # a port (veth) or another link: show what matches
        return True
