""" "Why can't A reach B?": the path from a container to a container, the host or
an address, hop by hop, with checks on each hop, and optional real probes.

:func:`explain_path` walks the joined snapshot:

    A's interface + route -> A's host veth -> bridge -> (same bridge? else
    host routing and the isolation between bridge networks) -> B's veth ->
    B's interface -> a listener in B on the port

and evaluates every hop statically (shared network? internal? ICC? does the
embedded DNS know B's name? is the port published / listened on? veth up
and forwarding?). With ``probe=True`` it also tests for real from inside A's
network namespace, without ``docker exec`` and without a helper image: a
thread ``setns()``-es into ``/proc/<A pid>/ns/net`` and does a TCP connect
(2 s), a UDP send, a DNS query to 127.0.0.11 for B's name and an ICMP echo.
Probes only ever go to addresses of this snapshot's containers, their bridge
gateways (the host) and A's own loopback; other addresses are evaluated
statically and never contacted.

Never imports Textual.
"""

from __future__ import annotations

import os

from inspectors.model import Container, Network, Snapshot

from inspectors.probes import (  # noqa: F401 - re-exported
    EMBEDDED_DNS,
    build_dns_query,
    parse_dns_answer,
    probe_dns,
    probe_ping,
    probe_tcp,
    probe_udp,
)

from inspectors.reachmodel import (  # noqa: F401 - re-exported
    FAIL,
    INFO,
    OK,
    SKIP,
    WARN,
    Check,
    Hop,
    PathReport,
    _endpoint,
    _iface_for,
    _ip,
    _link,
    _net,
    _port_of,
    parse_target,
    _host_route_check,
    _self_loopback,
    route_for,
    route_get,
)
from inspectors.probes import run_probes  # noqa: F401

# --------------------------------------------------------------------------- hops


def _source_hop(rep: PathReport, a: Container) -> bool:
    h = rep.hop(f"{a.name} (source)", "source", a.name)
    if a.state != "running":
        h.add("running", FAIL, f"{a.name} is {a.state or 'not running'}")
        return False
    h.add("running", OK, f"pid {a.pid}")
    m = a.network_mode or "default"
    if m == "none":
        h.add("network mode", FAIL, "network mode none: only loopback")
        return False
    if m == "host":
        h.add("network mode", INFO, "network mode host: uses the host's interfaces directly")
    elif m.startswith("container:"):
        h.add("network mode", INFO, f"shares the network namespace of {m[10:]}")
    if a.sandbox_note:
        h.add("!sandbox", SKIP, a.sandbox_note)
    elif not a.interfaces and m != "host":
        h.add("!sandbox", SKIP, "the container's interfaces could not be read (needs root)")
    return True


def _dns_hop(
    rep: PathReport, snap: Snapshot, a: Container, b: Container, shared: list[Network], name: str
) -> None:
    h = rep.hop(f"name '{name}'", "dns", b.name)
    user_nets = [n for n in shared if n.dns_by_name]
    if user_nets:
        n = user_nets[0]
        e = _endpoint(b, n)
        names = (
            {b.name} | set((e.aliases if e else []) or []) | set((e.dns_names if e else []) or [])
        )
        if name in names or name == b.id[:12] or b.id.startswith(name):
            h.add(
                "embedded DNS",
                OK,
                f"{EMBEDDED_DNS} on network {n.name} answers '{name}' with {e.ipv4 if e else '?'}",
            )
        else:
            h.add(
                "embedded DNS", WARN, f"'{name}' is not among {b.name}'s names/aliases on {n.name}"
            )
        return
    links = [x for x in a.extra_hosts if x.split(":", 1)[0] == name]
    if links:
        h.add("extra hosts", OK, f"--add-host {links[0]}")
        return
    if shared:
        h.add(
            "embedded DNS",
            FAIL,
            f"{a.name} and {b.name} share only the default bridge "
            f"({shared[0].name}): it has no DNS, names don't resolve (use a user-defined "
            "network, or the IP address)",
        )
    else:
        own = [snap.network(x) for x in a.networks]
        if any(n is not None and n.dns_by_name for n in own):
            h.add(
                "embedded DNS",
                FAIL,
                f"{b.name} is on none of {a.name}'s networks: the embedded "
                "DNS does not know its name",
            )
        else:
            h.add(
                "embedded DNS",
                FAIL,
                f"{a.name} is only on the default bridge: no embedded DNS, "
                "container names don't resolve",
            )


def _side_hops(
    rep: PathReport,
    snap: Snapshot,
    c: Container,
    net: Network,
    target_ip: str | None,
    facts,
    is_src: bool,
) -> None:
    """Source side: interface (+route), veth, bridge. Destination side: veth, interface."""
    e, iface = _iface_for(c, net)
    ip = e.ipv4 if e else None
    ifname = iface.name if iface else (e.sandbox_ifname if e else None) or "?"
    h_if = rep.hop(f"{c.name} {ifname} ({ip or 'no address'})", "interface", c.name)
    if e is None or not e.attached:
        h_if.add("attached", FAIL, f"{c.name} has no active endpoint on {net.name}")
        return
    if not ip:
        h_if.add("address", FAIL, f"no IPv4 address on {net.name}")
    else:
        h_if.add("address", OK, f"{ip}/{e.ipv4_prefixlen or '?'} on {net.name}")
    if iface is not None:
        st = (iface.operstate or "").upper()
        h_if.add(
            "link up", OK if st in ("UP", "UNKNOWN") else FAIL, f"{iface.name} {iface.operstate}"
        )
    if is_src and target_ip:
        r = route_for(c.routes, target_ip)
        if not c.routes:
            h_if.add("route", SKIP, "routes not read")
        elif r is None:
            h_if.add(
                "route", FAIL, f"no route to {target_ip} (internal network without a gateway?)"
            )
        else:
            via = f" via {r.gateway}" if r.gateway else ""
            good = r.dev == ifname or iface is None
            h_if.add(
                "route",
                OK if good else WARN,
                f"{target_ip}: {r.dst}{via} dev {r.dev}"
                + ("" if good else f" (leaves by {r.dev}, not {ifname})"),
            )
    veth = (iface.host_veth if iface else None) or (e.host_veth if e else None)
    if net.driver != "bridge":  # driver truth: the path this driver really takes
        from inspectors.paths import container_paths

        dp = next((x for x in container_paths(snap, c) if x.network == net.name), None)
        if dp is None:
            h_if.add("driver", INFO, f"{net.driver} network: no host veth/bridge on the path")
            return
        h_if.add("driver path", FAIL if dp.breaks else INFO, dp.text())
        for line in dp.breaks:
            h_if.add("broken", FAIL, line)
        for line in dp.says:
            h_if.add(net.driver, INFO, line)
        return
    h_v = rep.hop(f"{veth or '?'} (host side of {c.name})", "veth", veth)
    link = _link(snap, veth)
    if veth is None or link is None:
        h_v.add("!veth", SKIP, "host veth unknown (sandbox or kernel view unavailable)")
    else:
        up = link.admin_up and (link.operstate or "").upper() not in ("DOWN", "LOWERLAYERDOWN")
        h_v.add(
            "up",
            OK if up else FAIL,
            f"admin {'up' if link.admin_up else 'down'}, operstate {link.operstate}",
        )
        if link.master_name != net.bridge:
            h_v.add(
                "on bridge", FAIL, f"master {link.master_name or 'none'}, expected {net.bridge}"
            )
        else:
            h_v.add("on bridge", OK, f"port of {net.bridge}")
        p = _port_of(snap, net.bridge, veth)
        if p is not None and p.state:
            h_v.add(
                "forwarding",
                OK if p.state == "forwarding" else FAIL,
                f"bridge port state {p.state}",
            )
    if is_src:
        _bridge_hop(rep, snap, net)
    else:  # the destination side is walked from the bridge: veth first, then the interface
        rep.hops.remove(h_v)
        rep.hops.insert(rep.hops.index(h_if), h_v)


def _bridge_hop(rep: PathReport, snap: Snapshot, net: Network) -> Hop:
    h = rep.hop(f"bridge {net.bridge} (network {net.name})", "bridge", net.bridge)
    link = _link(snap, net.bridge)
    if link is None:
        h.add(
            "!exists",
            SKIP if not snap.links else FAIL,
            "kernel view unavailable" if not snap.links else f"no link {net.bridge}",
        )
        return h
    h.add("up", OK if link.admin_up else FAIL, f"admin {'up' if link.admin_up else 'down'}")
    gw = [s.gateway for s in net.subnets if s.gateway and ":" not in s.gateway]
    addrs = {a.split("/")[0] for a in link.addresses}
    for g in gw:
        h.add(
            "gateway address",
            OK if g in addrs else FAIL,
            f"{g} {'on' if g in addrs else 'missing from'} {net.bridge}",
        )
    return h


def _routing_hop(
    rep: PathReport, snap: Snapshot, na: Network, nb: Network | None, facts, to_what: str
) -> Hop:
    h = rep.hop(f"host routing ({na.name} -> {to_what})", "routing", None)
    if na.internal:
        h.add("internal", FAIL, f"{na.name} is internal: no route leaves it")
    if nb is not None and nb.internal:
        h.add("internal", FAIL, f"{nb.name} is internal: nothing enters it from other networks")
    if facts is not None:
        if facts.ip_forward == 0:
            h.add("ip_forward", FAIL, "net.ipv4.ip_forward = 0")
        elif facts.ip_forward == 1:
            h.add("ip_forward", OK, "net.ipv4.ip_forward = 1")
        for br in {na.bridge, nb.bridge if nb else None} - {None}:
            if facts.forwarding.get(br) == 0:
                h.add("forwarding", FAIL, f"net.ipv4.conf.{br}.forwarding = 0")
    if nb is not None and nb.driver in ("macvlan", "ipvlan") and na.driver != nb.driver:
        h.add(
            nb.driver,
            FAIL,
            f"{nb.name} is a {nb.driver} network on {nb.parent or 'its parent'}: the host does "
            f"not forward into it from {na.name} (the host cannot reach its own {nb.driver} "
            "containers; the kernel filters parent <-> child traffic)",
        )
    _host_route_check(h, snap, nb, rep.dst_ip)
    if nb is not None and na.driver == "bridge" and nb.driver == "bridge":
        rules = (
            facts.iptables.rules.get("filter", [])
            if facts is not None and facts.iptables.available
            else []
        )
        st1 = [
            r
            for r in rules
            if r.startswith("-A DOCKER-ISOLATION-STAGE-1") and f"-i {na.bridge} " in r + " "
        ]
        st2 = [
            r
            for r in rules
            if r.startswith("-A DOCKER-ISOLATION-STAGE-2")
            and f"-o {nb.bridge} " in r + " "
            and "DROP" in r
        ]
        fix = (
            f"; connect both containers to one network (docker network connect {nb.name} <source>)"
        )
        if not rules:
            h.add(
                "isolation",
                FAIL,
                f"Docker isolates bridge networks from each other: "
                f"{na.bridge} -> {nb.bridge} is dropped (iptables not read: assumed)" + fix,
            )
        elif st1 or st2:
            h.add(
                "isolation",
                FAIL,
                f"Docker isolates bridge networks: traffic from {na.bridge} "
                f"to {nb.bridge} is dropped by " + "; ".join((st1 + st2)[:2]) + fix,
            )
        else:
            h.add(
                "isolation",
                WARN,
                f"Docker normally isolates bridge networks, but no "
                f"DOCKER-ISOLATION rule covers {na.bridge} -> {nb.bridge} (flushed by a firewall "
                "reload or another dockerd?): traffic may pass" + fix,
            )
    return h


def _listener_hop(rep: PathReport, c: Container, ip: str | None, port: int, proto: str) -> None:
    h = rep.hop(f"{c.name} listens on {port}/{proto}", "listener", c.name)
    if not c.pid:
        h.add("!listener", SKIP, "no pid")
        return
    if (c.network_mode or "") == "host":
        h.add("!listener", SKIP, "host network mode: see the host's sockets")
        return
    try:
        from inspectors.sockets import read_netns_listeners

        ls = read_netns_listeners(c.pid, with_pids=False)
    except (OSError, ProcessLookupError) as e:
        h.add("!listener", SKIP, f"/proc/{c.pid}/net unreadable: {e}")
        return
    mine = [l for l in ls if l.protocol == proto and l.port == port]
    if not mine:
        h.add(
            "listener",
            FAIL,
            f"nothing listens on {port}/{proto} in {c.name} "
            f"(connection refused); listening: "
            + (", ".join(sorted({f"{l.ip}:{l.port}/{l.protocol}" for l in ls})) or "nothing"),
        )
        return
    good = [l for l in mine if l.ip in ("0.0.0.0", "::") or l.ip == ip]
    if good:
        h.add("listener", OK, ", ".join(sorted({f"{l.ip}:{l.port}" for l in good})))
    else:
        h.add(
            "listener",
            FAIL,
            "listens only on "
            + ", ".join(sorted({l.ip for l in mine}))
            + f": traffic to {ip or 'the container address'} is refused",
        )


def _host_hop(
    rep: PathReport, snap: Snapshot, gw: str | None, port: int | None, proto: str, facts
) -> None:
    h = rep.hop(f"host ({gw or 'gateway'})", "host", None)
    if port is None:
        h.add(
            "address",
            OK if gw else WARN,
            f"host reachable at the bridge gateway {gw}" if gw else "no gateway address known",
        )
        return
    if not snap.listeners:
        h.add("!listener", SKIP, "host sockets not read")
        return
    ls = [l for l in snap.listeners if l.protocol == proto and l.port == port]
    good = [l for l in ls if l.ip in ("0.0.0.0", "::") or l.ip == gw]
    if good:
        h.add("listener", OK, ", ".join(f"{l.ip}:{l.port} {l.process or ''}".strip() for l in good))
    elif ls:
        h.add(
            "listener",
            FAIL,
            "host service listens only on "
            + ", ".join(sorted({l.ip for l in ls}))
            + (
                f": containers can't reach it through {gw}; bind it to 0.0.0.0 or {gw}"
                if gw
                else ": containers can't reach it; bind it to 0.0.0.0 or the bridge address"
            ),
        )
    else:
        h.add("listener", FAIL, f"nothing listens on host port {port}/{proto}")
    if (
        facts is not None
        and facts.iptables.available
        and facts.iptables.policy("filter", "INPUT") == "DROP"
    ):
        h.add("INPUT policy", WARN, "filter INPUT policy is DROP: needs an accept for the bridge")


def _egress_hop(rep: PathReport, snap: Snapshot, na: Network, ip: str, facts) -> None:
    h = _routing_hop(rep, snap, na, None, facts, ip)
    if facts is None:
        return
    subnets = [s.subnet for s in na.subnets if ":" not in s.subnet]
    ipt = facts.iptables
    if ipt.available and not na.internal:
        masq = [
            r
            for r in ipt.rules.get("nat", [])
            if "MASQUERADE" in r and any(f"-s {s}" in r for s in subnets)
        ]
        h.add(
            "masquerade",
            OK if masq else FAIL,
            masq[0]
            if masq
            else f"no MASQUERADE rule for {', '.join(subnets)}: replies can't come back",
        )
        if ipt.policy("filter", "FORWARD") == "DROP":
            acc = [
                r
                for r in ipt.rules.get("filter", [])
                if r.startswith("-A FORWARD") and f"-i {na.bridge} " in r + " "
            ]
            h.add(
                "FORWARD",
                OK if acc else FAIL,
                acc[0] if acc else f"FORWARD policy DROP and no accept for -i {na.bridge}",
            )
    a = _ip(ip)
    best = None
    for r in facts.routes:
        n = _net(
            "0.0.0.0/0"
            if r.dst == "default" and r.family == 4
            else "::/0"
            if r.dst == "default"
            else r.dst
        )
        if (
            n is None
            or a is None
            or n.version != a.version
            or a not in n
            or r.table not in (None, 254)
        ):
            continue
        if best is None or n.prefixlen > best[0]:
            best = (n.prefixlen, r)
    if best is None:
        h.add("egress route", FAIL, f"the host has no route to {ip}")
    else:
        r = best[1]
        h.add("egress route", OK, f"{ip} via {r.gateway or 'direct'} dev {r.dev}")
    h.add("outside address", INFO, f"{ip} is not on this host: evaluated statically, never probed")


# --------------------------------------------------------------------------- route lookup


def _host_route(snap: Snapshot, a: Container, a_nets, ip, facts, rep: PathReport):
    """The network and address by which ``a`` reaches the host: the route ``a``'s kernel
    takes to ``ip`` (or to the host's outside address), not the first network listed."""
    target = ip
    if target is None:
        up = next(
            (x for x in snap.links if x.name == (facts.egress_iface if facts else None)), None
        )
        addrs = [x.split("/")[0] for x in (up.addresses if up else []) if ":" not in x]
        target = addrs[0] if addrs else "192.0.2.1"  # TEST-NET-1: the default route's answer
    dev, gw, how = route_get(a, target)
    by_dev = {i.name: i.network for i in a.interfaces}
    n = snap.network(by_dev.get(dev) or "") if dev else None
    if n is not None:
        rep.notes.append(f"{a.name} reaches {ip or 'the host'} by {dev} on {n.name} ({how})")
    else:
        # no route there (internal networks only): the host's own address on a bridge
        n = next((x for x in a_nets if x.driver == "bridge"), a_nets[0] if a_nets else None)
        if dev is None and n is not None:
            rep.notes.append(f"{a.name} has no route to {ip or 'the host'} ({how})")
    if ip is not None:
        return n, ip
    from inspectors.paths import effective_gateway

    if gw is None and n is not None:
        gw, _src = effective_gateway(n, snap)
    return n, gw


# --------------------------------------------------------------------------- main


def explain_path(
    snap: Snapshot,
    src: str,
    dst: str,
    port: int | None = None,
    proto: str = "tcp",
    probe: bool = False,
    facts=None,
) -> PathReport:
    """Explain the path from container ``src`` to ``dst`` (a container, ``host[:PORT]``
    or ``IP[:PORT]``); with ``probe`` test it for real from inside ``src``'s netns."""
    proto = (proto or "tcp").lower()
    rep = PathReport(src=src, dst=dst, port=port, proto=proto)
    a = snap.container(src)
    if a is None:
        h = rep.hop(f"{src} (source)", "source", src)
        h.add("exists", FAIL, f"no container named {src}")
        return rep.finish()
    kind, b, ip, port, by_name = parse_target(snap, dst, port)
    rep.port, rep.dst_kind = port, kind
    if facts is None and snap.engine.local:
        try:
            from inspectors.hostfacts import gather_facts

            facts = gather_facts(snap, container_refs=False)
        except Exception as e:  # noqa: BLE001
            rep.notes.append(f"host facts unavailable: {e}")
    if not _source_hop(rep, a):
        return rep.finish()
    mode = a.network_mode or ""
    if mode.startswith("container:"):  # the path is the namespace owner's
        owner = snap.container(mode[10:])
        if owner is not None:
            rep.notes.append(
                f"{a.name} shares the network namespace of {owner.name}: its path is {owner.name}'s"
            )
            a = owner
    if mode == "host":
        return _from_host_mode(rep, snap, a, kind, b, ip, port, proto, by_name, dst, probe, facts)
    a_nets = [n for n in (snap.network(x) for x in a.networks) if n is not None]
    probe_ip, dns_name = None, None

    if kind == "container":
        assert isinstance(b, Container)
        if b.id == a.id:
            rep.notes.append("source and destination are the same container")
        b_nets = [n for n in (snap.network(x) for x in b.networks) if n is not None]
        shared = [n for n in a_nets if any(n.id == m.id for m in b_nets)]
        shared.sort(key=lambda n: (not n.dns_by_name, n.name))  # user-defined first
        if by_name:
            name = dst.split(":")[0] if ":" in dst and not dst.startswith("[") else dst
            _dns_hop(rep, snap, a, b, shared, name)
            dns_name = name
        if ip:  # addressed by IP: which network holds it?
            net_b = next(
                (n for n in b_nets if (_endpoint(b, n) or None) and _endpoint(b, n).ipv4 == ip),
                None,
            )
            if net_b is not None and any(n.id == net_b.id for n in a_nets):
                shared = [net_b]
            elif net_b is not None:
                shared = []
        if b.state != "running":
            h = rep.hop(f"{b.name} (destination)", "destination", b.name)
            h.add("running", FAIL, f"{b.name} is {b.state or 'not running'}")
            return rep.finish()
        if shared:
            n = shared[0]
            eb = _endpoint(b, n)
            rep.dst_ip = ip or (eb.ipv4 if eb else None)
            _side_hops(rep, snap, a, n, rep.dst_ip, facts, True)
            h = rep.hops[-1] if rep.hops and rep.hops[-1].kind == "bridge" else None
            if h is not None:
                h.add("same bridge", OK, f"{a.name} and {b.name} are both on {n.name}")
                if not n.icc:
                    h.add(
                        "icc",
                        FAIL,
                        f"network {n.name} disables inter-container communication "
                        "(enable_icc=false)",
                    )
            _side_hops(rep, snap, b, n, None, facts, False)
            if n.driver != "bridge" and n.driver in ("macvlan", "ipvlan"):
                rep.notes.append(f"{n.driver}: containers talk through the parent {n.parent}")
        else:
            if not a_nets or not b_nets:
                h = rep.hop("networks", "routing")
                h.add("networks", FAIL, f"{a.name if not a_nets else b.name} has no network")
                return rep.finish()
            na, nb = a_nets[0], b_nets[0]
            if ip:  # addressed by IP: the network that holds it
                nb = next(
                    (n for n in b_nets if (_endpoint(b, n) or None) and _endpoint(b, n).ipv4 == ip),
                    nb,
                )
            eb = _endpoint(b, nb)
            rep.dst_ip = ip or (eb.ipv4 if eb else None)
            _side_hops(rep, snap, a, na, rep.dst_ip, facts, True)
            h = rep.hops[-1] if rep.hops and rep.hops[-1].kind == "bridge" else None
            if h is not None:
                h.add(
                    "same bridge",
                    WARN,
                    f"{b.name} is not on {na.name} (networks of {b.name}: "
                    f"{', '.join(b.networks)}): the packet goes to the host",
                )
            _routing_hop(rep, snap, na, nb, facts, nb.name)
            if nb.bridge:
                _bridge_hop(rep, snap, nb)
            _side_hops(rep, snap, b, nb, None, facts, False)
        if port:
            _listener_hop(rep, b, rep.dst_ip, port, proto)
            pb = [
                p
                for p in b.ports
                if p.container_port == port and p.protocol == proto and p.host_port
            ]
            if pb:
                rep.notes.append(
                    f"{b.name} also publishes {port}/{proto} on the host as "
                    + ", ".join(f"{p.host_ip or '0.0.0.0'}:{p.host_port}" for p in pb)
                )
        probe_ip = rep.dst_ip
    elif kind == "host":
        if ip and _ip(ip) is not None and _ip(ip).is_loopback:
            _self_loopback(rep, a, ip, port, proto)  # 127.0.0.1 inside A is A itself
            probe_ip = ip
            if probe:
                _probe(rep, snap, a, probe_ip, port, proto, None)
            return rep.finish()
        n, gw = _host_route(snap, a, a_nets, ip, facts, rep)
        rep.dst_ip = gw
        if by_name and dst.startswith("host.docker.internal"):
            h = rep.hop("name 'host.docker.internal'", "dns", a.name)
            hg = [x for x in a.extra_hosts if x.startswith("host.docker.internal:")]
            h.add(
                "extra hosts",
                OK if hg else FAIL,
                hg[0]
                if hg
                else "no --add-host host.docker.internal:host-gateway (Linux has no "
                "such name by default)",
            )
        if n is None:
            h = rep.hop("networks", "routing")
            h.add("networks", FAIL, f"{a.name} has no network")
            return rep.finish()
        _side_hops(rep, snap, a, n, gw, facts, True)
        if n.driver == "macvlan":
            h = rep.hop(f"host (through {n.parent or 'the parent'})", "host", None)
            h.add(
                "macvlan",
                FAIL,
                f"the host cannot reach its own macvlan containers through {n.parent} and "
                "they cannot reach it (the kernel filters parent <-> child traffic); a "
                "host-side macvlan shim on the same parent is the workaround",
            )
            return rep.finish()
        _host_hop(rep, snap, gw, port, proto, facts)
        probe_ip = gw
    else:
        rep.dst_ip = ip
        n = a_nets[0] if a_nets else None
        if n is None:
            h = rep.hop("networks", "routing")
            h.add("networks", FAIL, f"{a.name} has no network")
            return rep.finish()
        if _ip(ip) is None:
            h = rep.hop(f"name '{ip}'", "dns", None)
            h.add(
                "!resolve",
                SKIP,
                f"'{ip}' is not a container of this engine; external names are not resolved here",
            )
        _side_hops(rep, snap, a, n, ip if _ip(ip) else None, facts, True)
        if _ip(ip):
            _egress_hop(rep, snap, n, ip, facts)
        probe_ip = None  # never probe outside addresses
        dns_name = None

    if probe:
        _probe(rep, snap, a, probe_ip, port, proto, dns_name if kind == "container" else None)
    return rep.finish()


def _from_host_mode(
    rep: PathReport,
    snap: Snapshot,
    a: Container,
    kind: str,
    b,
    ip,
    port,
    proto,
    by_name: bool,
    dst: str,
    probe: bool,
    facts,
) -> PathReport:
    """Source in network mode host: it is the host talking."""
    h = rep.hop(f"{a.name} uses the host's network stack", "routing", a.name)
    h.add("network mode", INFO, "network mode host: packets leave through the host's own routes")
    probe_ip = None
    if kind == "container":
        if by_name:
            d = rep.hop(f"name '{dst.split(':')[0]}'", "dns", b.name)
            d.add(
                "embedded DNS",
                FAIL,
                "host network mode has no embedded DNS: container names "
                "don't resolve (use the container's IP or publish a port)",
            )
        if b.state != "running":
            d = rep.hop(f"{b.name} (destination)", "destination", b.name)
            d.add("running", FAIL, f"{b.name} is {b.state or 'not running'}")
            return rep.finish()
        nets = [n for n in (snap.network(x) for x in b.networks) if n is not None and n.bridge]
        if ip:
            nets = [n for n in nets if (_endpoint(b, n) and _endpoint(b, n).ipv4 == ip)] or nets
        if not nets:
            d = rep.hop(f"{b.name} (destination)", "destination", b.name)
            d.add("networks", FAIL, f"{b.name} is on no bridge network the host routes to")
            return rep.finish()
        n = nets[0]
        eb = _endpoint(b, n)
        rep.dst_ip = ip or (eb.ipv4 if eb else None)
        _bridge_hop(rep, snap, n)
        _side_hops(rep, snap, b, n, None, facts, False)
        if port:
            _listener_hop(rep, b, rep.dst_ip, port, proto)
        probe_ip = rep.dst_ip
    elif kind == "host":
        rep.dst_ip = ip or "127.0.0.1"
        _host_hop(rep, snap, rep.dst_ip, port, proto, facts)
        probe_ip = rep.dst_ip
    else:
        rep.dst_ip = ip
        h.add(
            "outside address", INFO, f"{ip} is not on this host: evaluated statically, never probed"
        )
    if probe:
        _probe(rep, snap, a, probe_ip, port, proto, None)
    return rep.finish()


def _probe(
    rep: PathReport,
    snap: Snapshot,
    a: Container,
    ip: str | None,
    port: int | None,
    proto: str,
    dns_name: str | None,
) -> None:
    h = rep.hop(f"probe from inside {a.name}", "probe", a.name)
    rep.probed = True
    if ip is None and dns_name is None:
        h.add(
            "probe", SKIP, "nothing to probe on this host (outside addresses are never contacted)"
        )
        return
    if not snap.engine.local:
        h.add("probe", SKIP, "the engine is not on this host")
        return
    if os.geteuid() != 0:
        h.add("probe", SKIP, "needs root to enter the container's network namespace")
        return
    path = f"/proc/{a.pid}/ns/net" if a.pid else a.netns
    if not path or not os.path.exists(path):
        h.add("probe", SKIP, "the container's network namespace is gone")
        return
    try:
        for c in run_probes(path, ip, port, proto, dns_name):
            h.checks.append(c)
    except (OSError, TimeoutError) as e:
        h.add("probe", SKIP, f"could not probe: {e}")


__all__ = [
    "Check",
    "Hop",
    "PathReport",
    "explain_path",
    "parse_target",
    "run_probes",
    "probe_tcp",
    "probe_udp",
    "probe_ping",
    "probe_dns",
    "build_dns_query",
    "parse_dns_answer",
    "route_for",
]
