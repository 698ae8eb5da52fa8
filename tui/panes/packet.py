"""The packet path of one container, network or published port, in the
console (``P`` on a selection): Firewall (DNAT, each FORWARD chain's verdict,
MASQUERADE, with packet/byte counters and their rates), Conntrack
(connections with their NAT translation, counts per state, who talks to
whom), Sockets (``ss -tunap`` inside the sandbox), Neighbours (ARP/NDP, FAILED
and INCOMPLETE marked) and Counters (rx/tx, errors and drops with rates and
sparklines; rising drops marked).

Data is read in thread workers (iptables every 10 s, the rest every 2 s, ``r``
now) and handed to the screen in messages; the screen owns the state.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from inspectors.text import clean

FIREWALL_EVERY = 10.0  # iptables-save/nft are subprocesses: not more often (reference §8)
FAST_EVERY = 2.0
MARK = {"ACCEPT": "green", "DROP": "red", "REJECT": "red", "RETURN": "", "DNAT": "cyan"}


def _t(value, style: str = "") -> Text:
    return Text(clean(value), style=style, no_wrap=True, overflow="ellipsis")


def _rate(v: float | None) -> str:
    if v is None:
        return ""
    if v >= 1e6:
        return f"{v / 1e6:.1f}M/s"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k/s"
    return f"{v:.1f}/s" if v else "0/s"


class PacketData(Message):
    def __init__(self, kind: str, data) -> None:
        super().__init__()
        self.kind = kind
        self.data = data


class PacketScreen(Screen):
    """Firewall / Conntrack / Sockets / Neighbours / Counters for a selection."""

    HELP_TITLE = "Packet path"
    HELP = (
        "The packet path of the selection (container, network or published port): the "
        "firewall rules it meets, its conntrack entries, the sockets, neighbours and "
        "interface counters. r: read again now; C: capture here; esc: back."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="packet.close"),
        Binding("r", "refresh", "Read now", id="packet.refresh"),
        Binding("C", "capture", "Capture here", id="packet.capture"),
    ]
    DEFAULT_CSS = """
    PacketScreen #packet-title { height: 1; background: $boost; padding: 0 1; }
    PacketScreen #fw-flags, PacketScreen #ct-summary { height: auto; max-height: 8; padding: 0 1; }
    """

    def __init__(
        self,
        snapshot,
        container: str | None = None,
        network: str | None = None,
        port: int | None = None,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.snapshot = snapshot
        self.container = snapshot.container(container) if container else None
        self.network = snapshot.network(network) if network else None
        if self.network is None and self.container is not None and self.container.endpoints:
            self.network = snapshot.network(self.container.endpoints[0].network)
        self.port = port
        self._prev_counts: dict[str, tuple[float, int, int]] = {}
        self._rates = None  # neighbours.Rates, created with the first sample
        self.flags: list = []
        self.loaded: set[str] = set()

    # ------------------------------------------------------------------ layout
    def title_text(self) -> str:
        parts = []
        if self.container is not None:
            parts.append(f"container {self.container.name}")
        if self.network is not None:
            parts.append(f"network {self.network.name} ({self.network.bridge or '-'})")
        if self.port:
            parts.append(f"port {self.port}")
        return "packet path: " + (", ".join(parts) or "all published ports")

    def compose(self) -> ComposeResult:
        yield Static(_t(self.title_text(), "bold"), id="packet-title")
        with TabbedContent(id="packet-tabs"):
            with TabPane("Firewall", id="tab-fw"):
                # the verdicts (ERROR lines) first: below a long table they fell off an 80x24 screen
                yield Static("", id="fw-flags")
                yield DataTable(id="fw-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Conntrack", id="tab-ct"):
                yield Static("", id="ct-summary")
                yield DataTable(id="ct-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Sockets", id="tab-sk"):
                yield DataTable(id="sk-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Neighbours", id="tab-nb"):
                yield DataTable(id="nb-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Counters", id="tab-if"):
                yield DataTable(id="if-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        cols = {
            "fw-table": ("port", "step", "verdict", "pkts", "bytes", "pkts/s", "rule"),
            "ct-table": ("proto", "state", "client", "via (host)", "to (container)", "who"),
            "sk-table": ("proto", "state", "local", "peer", "recv-q", "send-q", "process"),
            "nb-table": ("where", "ip", "mac", "iface", "state"),
            "if-table": ("iface", "rx/s", "tx/s", "rx drop/s", "tx drop/s", "errors/s",
                         "rx pkts (sparkline)", "flag"),
        }  # fmt: skip
        for tid, names in cols.items():
            t = self.query_one(f"#{tid}", DataTable)
            for n in names:
                t.add_column(Text(n, style="bold"), key=n)
        self.read_firewall()
        self.read_fast()
        self.set_interval(FIREWALL_EVERY, self.read_firewall)
        self.set_interval(FAST_EVERY, self.read_fast)

    # ------------------------------------------------------------------ workers
    @work(thread=True, exclusive=True, group="packet-fw")
    def read_firewall(self) -> None:
        from inspectors import firewall_report as fwr

        try:
            rep = fwr.build_report(self.snapshot)
        except Exception as e:  # noqa: BLE001 - shown, not raised into the UI
            self.post_message(PacketData("error", f"firewall: {e}"))
            return
        self.post_message(PacketData("fw", rep))

    @work(thread=True, exclusive=True, group="packet-fast")
    def read_fast(self) -> None:
        from inspectors import conntrack as ct
        from inspectors import neighbours as nb

        c = self.container
        out: dict = {}
        try:
            out["ct"] = ct.join(ct.read_conntrack(), self.snapshot)
        except OSError as e:
            out["ct_error"] = str(e)
        ns = (c.netns or f"/proc/{c.pid}/ns/net") if c is not None and c.pid else None
        if c is not None and c.pid:
            try:
                from inspectors.netsockets import sandbox_sockets

                out["sk"] = sandbox_sockets(c.pid)
            except (OSError, RuntimeError) as e:
                out["sk_error"] = str(e)
        neigh = []
        try:
            if ns:
                neigh += [("sandbox", n) for n in nb.read_neighbours(ns)]
            if self.network is not None and self.network.bridge:
                neigh += [("bridge", n) for n in nb.read_neighbours(None, self.network.bridge)]
        except OSError as e:
            out["nb_error"] = str(e)
        out["nb"] = neigh
        try:
            stats = nb.sample_links()
            want = set()
            if self.network is not None and self.network.bridge:
                want.add(self.network.bridge)
            if c is not None:
                want |= {i.host_veth for i in c.interfaces if i.host_veth}
                want |= {e.host_veth for e in c.endpoints if e.host_veth}
            out["if"] = {k: v for k, v in stats.items() if k in want or not want}
        except OSError as e:
            out["if_error"] = str(e)
        self.post_message(PacketData("fast", out))

    # ------------------------------------------------------------------ rendering
    def on_packet_data(self, msg: PacketData) -> None:
        if msg.kind == "fw":
            self._show_firewall(msg.data)
            self.loaded.add("fw")
        elif msg.kind == "fast":
            self._show_fast(msg.data)
            self.loaded.add("fast")
        elif msg.kind == "error":
            self.notify(clean(msg.data), severity="error", markup=False)

    def _ports(self, rep):
        ports = rep.ports
        if self.container is not None:
            ports = [p for p in ports if p.container == self.container.name]
        elif self.network is not None:
            ports = [p for p in ports if p.network == self.network.name]
        if self.port:
            ports = [p for p in ports if self.port in (p.host_port, p.container_port)]
        return ports

    def _show_firewall(self, rep) -> None:
        t = self.query_one("#fw-table", DataTable)
        now = time.monotonic()
        rows = []

        def add(label, step, rule, verdict=""):
            key = f"{label}|{step}|{rule.ref if rule else ''}"
            pk = rule.packets if rule is not None else None
            by = rule.bytes if rule is not None else None
            rate = None
            if pk is not None:
                prev = self._prev_counts.get(key)
                if prev is not None and now > prev[0]:
                    rate = max(pk - prev[1], 0) / (now - prev[0])
                self._prev_counts[key] = (now, pk, by or 0)
            v = verdict or (rule.target if rule is not None else "")
            first = not rows or rows[-1][0].split("|", 1)[0] != label
            rows.append((key, (
                _t(label if first else ""), _t(step), _t(v, MARK.get(v, "")),
                _t("" if pk is None else pk), _t("" if by is None else by), _t(_rate(rate)),
                _t(rule.line if rule else "-"),
            )))  # fmt: skip

        from inspectors.firewall import chain_summary

        for p in self._ports(rep):
            add(p.label, "DNAT", p.dnat, "DNAT" if p.dnat else "MISSING")
            if p.forward is not None:
                for chain, what, rule in chain_summary(p.forward):
                    add(p.label, chain, rule, what)
            add(p.label, "MASQUERADE", p.masquerade, "MASQ" if p.masquerade else "-")
        if self.network is not None:
            v = next((n for n in rep.networks if n.network == self.network.name), None)
            if v is not None:
                for r in v.masquerade:
                    add(f"network {v.network}", "MASQUERADE", r)
                for r in v.isolation:
                    add(f"network {v.network}", r.chain, r)
        t.clear()
        for key, cells in rows:
            t.add_row(*cells, key=key)
        mine = [f for p in self._ports(rep) for f in p.flags]
        if self.network is not None:
            mine += [f for v in rep.networks if v.network == self.network.name for f in v.flags]
        host_wide = ("chains_missing", "variant_split", "forward_unhooked")
        flags = [f for f in rep.flags if any(f is m for m in mine) or f.code in host_wide]
        self.flags = flags
        txt = Text(f"backend {rep.active or 'none'}   ", style="bold")
        for f in flags:
            txt.append(
                f"\n{f.severity.upper()} ", style="red" if f.severity == "error" else "yellow"
            )
            txt.append(clean(f.message))
        if not flags:
            txt.append("no firewall finding", style="green")
        for n in rep.notes:
            txt.append("\n" + clean(n), style="dim")
        self.query_one("#fw-flags", Static).update(txt)

    def _show_fast(self, d: dict) -> None:
        from inspectors import conntrack as ct
        from inspectors import neighbours as nb

        c = self.container
        # conntrack
        conns = d.get("ct") or []
        if c is not None:
            conns = ct.for_container(conns, c.name)
        elif self.port:
            conns = ct.for_port(conns, self.port)
        else:
            conns = [x for x in conns if x.src_container or x.dst_container]
        t = self.query_one("#ct-table", DataTable)
        t.clear()
        for x in conns[:2000]:
            via = f"{x.dst}:{x.dport}" if x.dport is not None else x.dst
            to = (
                f"{x.to_ip}:{x.to_port}"
                if x.dnat and x.to_port is not None
                else ("" if not x.dnat else x.to_ip)
            )
            who = " -> ".join(w for w in (x.src_container or "", x.dst_container or "") if w)
            src = f"{x.src}:{x.sport}" if x.sport is not None else x.src
            t.add_row(_t(x.proto), _t(x.label_state), _t(src), _t(via), _t(to), _t(who))
        summ = Text("states: ", style="bold")
        summ.append(
            clean(", ".join(f"{k} {v}" for k, v in ct.state_counts(conns).items()) or "none")
        )
        if c is not None:
            summ.append("\nwho talks to whom: ", style="bold")
            peers = ct.talkers(conns, c.name)[:6]
            summ.append(clean("; ".join(
                f"{'->' if p.direction == 'out' else '<-'} {p.peer} {p.proto}"
                f"{'' if p.port is None else '/' + str(p.port)} x{p.count}"
                for p in peers) or "nobody"))  # fmt: skip
        if d.get("ct_error"):
            summ.append("\n" + clean(d["ct_error"]), style="red")
        self.query_one("#ct-summary", Static).update(summ)
        # sockets
        t = self.query_one("#sk-table", DataTable)
        t.clear()
        for s in d.get("sk") or []:
            t.add_row(_t(s.proto), _t(s.state, "green" if s.listening else ""), _t(s.local()),
                      _t(s.peer()), _t(s.recv_q), _t(s.send_q), _t(s.process_text()))  # fmt: skip
        if c is None:
            t.add_row(_t("-"), _t("select a container for its sockets", "dim"), *[_t("")] * 5)
        # neighbours
        t = self.query_one("#nb-table", DataTable)
        t.clear()
        for where, n in d.get("nb") or []:
            st = "red bold" if n.bad else ""
            t.add_row(_t(where), _t(n.ip), _t(n.mac or "-"), _t(n.ifname), _t(n.state, st))
        # counters
        if self._rates is None:
            self._rates = nb.Rates()
        rates = self._rates.update(d.get("if") or {})
        t = self.query_one("#if-table", DataTable)
        t.clear()
        for name, r in sorted(rates.items()):
            ps = r.per_s
            flag = (
                "DROPS RISING" if r.rising_drops else ("ERRORS RISING" if r.rising_errors else "")
            )
            t.add_row(
                _t(name), _t(_rate(ps.get("rx_bytes"))), _t(_rate(ps.get("tx_bytes"))),
                _t(_rate(ps.get("rx_dropped"))), _t(_rate(ps.get("tx_dropped"))),
                _t(_rate((ps.get("rx_errors") or 0) + (ps.get("tx_errors") or 0)) if ps else ""),
                _t(nb.sparkline(r.history.get("rx_packets", []))), _t(flag, "red bold"),
            )  # fmt: skip

    # ------------------------------------------------------------------ actions
    def action_close(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        self.read_firewall()
        self.read_fast()

    def action_capture(self) -> None:
        from tui.panes.capture import CaptureScreen

        target = self.container.name if self.container is not None else (
            self.network.name if self.network is not None else None)  # fmt: skip
        if target is None:
            self.notify("select a container or a network to capture on", markup=False)
            return
        self.app.push_screen(CaptureScreen(self.snapshot, target))


__all__ = ["PacketScreen", "PacketData", "open_packet_screen"]


def open_packet_screen(app) -> None:
    """``P``: the packet path of the container or network under the cursor."""
    if app.snapshot is None:
        app.notify("no model yet", markup=False)
        return
    net, ctr = app.selected_names()
    app.push_screen(PacketScreen(app.snapshot, container=ctr, network=net))
