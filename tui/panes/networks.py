"""Pane 1: networks, and (enter) one network in full with its endpoints."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from inspectors.model import Endpoint, Network, Snapshot
from tui.panes.common import (
    DataView,
    OpenContainer,
    Pane,
    Row,
    clean,
    dash,
    natural_key,
    short_id,
    txt,
)
from tui.panes import nodecol

NET_COLS = [
    ("name", "NAME"),
    ("driver", "DRIVER"),
    ("scope", "SCOPE"),
    ("subnet", "SUBNET"),
    ("gateway", "GATEWAY"),
    ("dev", "BRIDGE/PARENT"),
    ("flags", "FLAGS"),
    ("eps", "EPS"),
    ("id", "ID"),
]
EP_COLS = [
    ("container", "CONTAINER"),
    ("state", "STATE"),
    ("ipv4", "IPV4"),
    ("mac", "MAC"),
    ("aliases", "ALIASES"),
    ("dns", "DNS NAMES"),
    ("iface", "IFACE"),
    ("veth", "HOST VETH"),
    ("ipv6", "IPV6"),
]


_FLAG_STYLE = {"internal": "yellow", "no-dns": "yellow", "no-icc": "yellow"}


def network_flags(n: Network) -> Text:
    from inspectors.paths import network_flags as flags_of  # the one decision (issue 10)

    out = Text()
    for i, f in enumerate(flags_of(n)):
        if i:
            out.append(" ")
        out.append(f, style=_FLAG_STYLE.get(f, ""))
    return out


def attachments(n: Network, snap: Snapshot) -> list[tuple[Endpoint, str]]:
    """The network's endpoints (attached) plus configured-but-stopped ones, with state."""
    out: list[tuple[Endpoint, str]] = []
    seen = set()
    states = {c.id: c.state for c in snap.containers}
    for e in n.endpoints:
        seen.add(e.container_id)
        out.append((e, states.get(e.container_id, "running")))
    for c in snap.containers:
        if c.id in seen:
            continue
        for e in c.endpoints:
            if e.network_id == n.id or (not e.network_id and e.network == n.name):
                out.append((e, c.state or "?"))
    out.sort(key=lambda x: (natural_key(x[0].container), x[0].container_id))
    return out


def _gateway_cell(n: Network, snap: Snapshot | None) -> Text:
    """IPAM's gateways, else the effective one and its source (inspectors.paths)."""
    gws = [s.gateway for s in n.subnets if s.gateway]
    if gws or snap is None:
        return dash(", ".join(gws))
    from inspectors.paths import effective_gateway

    gw, src = effective_gateway(n, snap)
    if not gw:
        return dash("")
    out = Text(clean(gw))
    out.append("*", style="dim")  # not IPAM's: the source is in the detail view (enter)
    return out


def _eps_cell(n: Network, snap: Snapshot | None, partial: str) -> Text:
    """Endpoint count; a first-paint snapshot has none from the networks list: "…"
    until the containers are listed, then their attached endpoints on ``n``."""
    if partial == "networks":
        return Text("…", style="dim", justify="right")
    if partial == "lists" and snap is not None:
        count = sum(
            1
            for c in snap.containers
            for e in c.endpoints
            if e.attached and (e.network_id == n.id or (not e.network_id and e.network == n.name))
        )
        return Text(str(count), justify="right")
    return Text(str(len(n.endpoints)), justify="right")


def network_row(n: Network, snap: Snapshot | None = None, partial: str = "") -> Row:
    subnets = [s for s in n.subnets]
    dev = n.bridge or n.parent or ""
    return Row(
        key=n.id,
        node=n.node,
        cells=(
            txt(n.name, "bold"),
            txt(n.driver),
            txt(n.scope),
            dash(", ".join(s.subnet for s in subnets)),
            _gateway_cell(n, snap),
            dash(dev),
            network_flags(n),
            _eps_cell(n, snap, partial),
            txt(short_id(n.id), "dim"),
        ),
        search=" ".join(
            [
                n.id,
                " ".join(e.container for e in n.endpoints),
                " ".join(e.ipv4 or "" for e in n.endpoints),
            ]
        ),
    )


def _kv(out: Text, key: str, value, style: str = "") -> None:
    out.append(f"{key} ", style="dim")
    out.append(clean(value) if value not in (None, "") else "-", style=style)
    out.append("  ")


def network_detail(n: Network, snap: Snapshot) -> Text:
    out = Text()
    out.append(clean(n.name), style="bold")
    out.append(f"  {clean(n.driver)} / {clean(n.scope)}", style="")
    out.append(f"  id {clean(n.id)}", style="dim")
    out.append("\n")
    if n.created:
        _kv(out, "created", n.created[:19].replace("T", " "))
    _kv(out, "internal", "yes" if n.internal else "no", "yellow" if n.internal else "")
    _kv(out, "attachable", "yes" if n.attachable else "no")
    _kv(out, "ipv6", "yes" if n.enable_ipv6 else "no")
    _kv(out, "icc", "on" if n.icc else "OFF", "" if n.icc else "yellow")
    if n.mtu:
        _kv(out, "mtu", n.mtu)
    out.append("\n")
    # IPAM
    _kv(out, "IPAM", n.ipam_driver or "default")
    if n.ips_in_use is not None:
        _kv(out, "IPs in use", n.ips_in_use)
        _kv(out, "available", n.ips_available)
    out.append("\n")
    if not n.subnets:
        out.append("  no subnet\n", style="dim")
    eff = None
    if not any(s.gateway for s in n.subnets):
        from inspectors.paths import effective_gateway

        eff = effective_gateway(n, snap)
    for s in n.subnets:
        out.append("  subnet ", style="dim")
        out.append(clean(s.subnet), style="bold")
        out.append("  gateway ", style="dim")
        if not s.gateway and eff and eff[0]:
            out.append(f"{clean(eff[0])}*")
            out.append(f" (* not in IPAM: {clean(eff[1])})", style="dim")
        else:
            out.append(clean(s.gateway) or "-")
        if s.ip_range:
            out.append("  range ", style="dim")
            out.append(clean(s.ip_range))
        if s.aux_addresses:
            out.append("  aux ", style="dim")
            out.append(
                ", ".join(f"{clean(k)}={clean(v)}" for k, v in sorted(s.aux_addresses.items()))
            )
        out.append("\n")
    # the device on the host
    if n.bridge:
        br = snap.bridge(n.bridge)
        out.append("bridge ", style="dim")
        out.append(clean(n.bridge), style="bold")
        if br is not None:
            out.append(
                f"  {clean(br.operstate) or '?'}  mtu {br.mtu or '?'}  "
                f"{len(br.ports)} port(s)  id {clean(br.bridge_id)}"
            )
        elif snap.engine.local and snap.bridges:
            out.append("  not found on this host", style="red")
        out.append("\n")
    if n.driver in ("macvlan", "ipvlan"):
        out.append("parent ", style="dim")
        out.append(clean(n.parent) or "?", style="bold")
        link = next((l for l in snap.links if l.name == n.parent), None)
        if link is not None:
            out.append(f"  {clean(link.operstate) or '?'}  promiscuity {link.promiscuity}")
            if n.driver == "macvlan" and link.promiscuity == 0:
                out.append(
                    "  (not promiscuous: only the host's own MACs pass on some NICs)",
                    style="yellow",
                )
        elif snap.links:
            out.append("  parent interface missing on this host", style="red")
        mode = n.options.get("macvlan_mode") or n.options.get("ipvlan_mode")
        if mode:
            out.append(f"  mode {clean(mode)}")
        out.append("\n")
    if n.driver == "overlay":
        out.append("VXLAN id ", style="dim")
        out.append(", ".join(clean(v) for v in n.vxlan_ids) or "-")
        out.append("  peers ", style="dim")
        out.append(
            ", ".join(f"{clean(p.get('name'))} {clean(p.get('ip'))}" for p in n.peers) or "-"
        )
        out.append("\n")
    if not n.dns_by_name and n.driver == "bridge":
        out.append("default bridge: no DNS by name", style="bold yellow")
        out.append(
            " - containers here reach each other by IP only; put them on a "
            "user-defined network to resolve names\n"
        )
    if n.internal:
        out.append(
            "internal: no route out of the host (no NAT, no published ports)\n", style="yellow"
        )
    if n.options:
        out.append("options\n", style="dim")
        for k, v in sorted(n.options.items()):
            out.append(f"  {clean(k)}", style="")
            out.append(f" = {clean(v)}\n")
    if n.labels:
        out.append("labels\n", style="dim")
        for k, v in sorted(n.labels.items()):
            out.append(f"  {clean(k)}")
            out.append(f" = {clean(v)}\n")
    return out


def endpoint_row(e: Endpoint, state: str) -> Row:
    st_style = "green" if state == "running" else "yellow"
    state_txt = txt(state, st_style)
    if not e.attached:
        state_txt = txt(f"{state} (configured, not attached)", "yellow")
    ipv4 = f"{e.ipv4}/{e.ipv4_prefixlen}" if e.ipv4 and e.ipv4_prefixlen else (e.ipv4 or "")
    return Row(
        key=e.container_id,
        node=e.node,
        cells=(
            txt(e.container, "bold"),
            state_txt,
            dash(ipv4),
            dash(e.mac),
            dash(", ".join(e.aliases)),
            dash(", ".join(e.dns_names)),
            dash(e.sandbox_ifname),
            dash(e.host_veth),
            dash(e.ipv6),
        ),
        search=e.container_id,
    )


def network_preview(n: Network, snap: Snapshot) -> Text:
    """Compact detail of the highlighted network: the facts and who is on it."""
    out = Text()
    out.append(clean(n.name), style="bold")
    out.append(f"  {clean(n.driver)}/{clean(n.scope)}")
    for s in n.subnets:
        out.append(f"  {clean(s.subnet)}", style="bold")
        if s.gateway:
            out.append(f" gw {clean(s.gateway)}")
    if n.subnets and not any(s.gateway for s in n.subnets):
        from inspectors.paths import effective_gateway

        gw, src = effective_gateway(n, snap)
        if gw:
            out.append(f" gw {clean(gw)}*")
            out.append(f" (* {clean(src)})", style="dim")
    if n.bridge:
        out.append("  bridge ", style="dim")
        out.append(clean(n.bridge))
    if n.parent:
        out.append("  parent ", style="dim")
        out.append(clean(n.parent))
    out.append("   enter: everything (options, labels, IPAM)", style="dim")
    out.append("\n")
    if not n.dns_by_name and n.driver == "bridge":
        out.append(
            "default bridge: no DNS by name (containers reach each other by IP only)\n",
            style="yellow",
        )
    if n.internal:
        out.append("internal: no route out of the host\n", style="yellow")
    eps = attachments(n, snap)
    if not eps:
        out.append("no container on this network\n", style="dim")
    for e, state in eps:
        out.append("  ")
        out.append(clean(e.container).ljust(18), style="bold")
        ip = f"{e.ipv4}/{e.ipv4_prefixlen}" if e.ipv4 and e.ipv4_prefixlen else (e.ipv4 or "-")
        out.append(f" {clean(ip):<18} ")
        out.append(clean(e.mac) or "-", style="dim")
        if e.sandbox_ifname or e.host_veth:
            out.append(f"  {nodecol.iface_pair(e)}")
        if e.aliases:
            out.append("  aliases ", style="dim")
            out.append(", ".join(clean(a) for a in e.aliases))
        if not e.attached:
            out.append(f"  {clean(state)}, configured, not attached", style="yellow")
        out.append("\n")
    return out


class NetworksPane(Pane):
    PANE_ID = "networks"
    TITLE = "Networks"
    PREVIEW = True
    HELP = (
        "Every network with its subnet, gateway and host device. enter opens one network: "
        "IPAM, options, labels and each endpoint's IP, MAC, aliases and host veth."
    )
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.detail_id: str | None = None

    def compose_views(self) -> ComposeResult:
        yield DataView(NET_COLS, id="list")
        with Vertical(id="detail"):
            with VerticalScroll(id="net-detail-scroll", classes="detail-scroll"):
                yield Static(id="net-detail", classes="detail-text")
            yield DataView(EP_COLS, id="net-endpoints")

    def empty_message(self) -> str:
        snap = self.snapshot
        if self.view_name == "detail":
            return "no container on this network"
        if snap is None:
            return "loading..."
        if not snap.engine.reachable:
            why = (
                "engine: permission denied:"
                if snap.engine.error_kind == "permission"
                else "engine unreachable:"
            )
            return why + " no networks to show (panes 2 Bridges and 4 Ports still work)"
        return "no networks"

    def subtitle(self) -> Text:
        if self.view_name == "detail" and self.snapshot is not None and self.detail_id:
            n = self.snapshot.network(self.detail_id)
            return Text.assemble(
                ("> ", "dim"), (clean(n.name) if n else "(removed)", "bold"), ("  esc: back", "dim")
            )
        return Text("")

    def update_snapshot(self, snap: Snapshot) -> None:
        super().update_snapshot(snap)
        nets = sorted(snap.networks, key=lambda n: natural_key(n.name))  # lab-c2 before lab-c10
        self.query_one("#list", DataView).set_rows(
            [network_row(n, snap, self.partial) for n in nets]
        )
        if self.view_name == "detail":
            self._fill_detail()
        self.refresh_title()
        self.update_preview()

    def preview_for(self, key: str) -> Text | None:
        n = self.snapshot.network(key) if self.snapshot is not None else None
        return network_preview(n, self.snapshot) if n is not None else None

    def _fill_detail(self) -> None:
        snap = self.snapshot
        n = snap.network(self.detail_id) if snap and self.detail_id else None
        detail = self.query_one("#net-detail", Static)
        table = self.query_one("#net-endpoints", DataView)
        if n is None:
            detail.update(Text("this network no longer exists", style="bold red"))
            table.set_rows([])
            return
        detail.update(network_detail(n, snap))
        table.set_rows([endpoint_row(e, st) for e, st in attachments(n, snap)])

    @on(DataTable.RowSelected, "#list")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_detail(event.row_key.value)

    @on(DataTable.RowSelected, "#net-endpoints")
    def _open_endpoint(self, event: DataTable.RowSelected) -> None:
        """enter on an endpoint: that container's endpoint detail (pane 3)."""
        event.stop()
        if event.row_key.value:
            self.post_message(OpenContainer(event.row_key.value))

    def open_detail(self, network_id: str | None) -> None:
        if not network_id:
            return
        self.detail_id = network_id
        self._fill_detail()
        self.show_view("detail")

    def selection(self) -> dict[str, str]:
        if self.view_name == "detail" and self.detail_id:
            sel = {"network": self.detail_id}
            cid = self.query_one("#net-endpoints", DataView).current_key()
            if cid:
                sel["container"] = cid
            return sel
        key = self.query_one("#list", DataView).current_key()
        return {"network": key} if key else {}

    def reveal(self, kind: str, name: str) -> bool:
        n = self.snapshot.network(name) if kind == "network" and self.snapshot else None
        if n is None:
            return False
        self.show_view("list")
        self.set_filter("")
        return self.query_one("#list", DataView).select_key(n.id)
