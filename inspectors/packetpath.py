"""From the outside in: host:PORT -> the listener (docker-proxy, dockerd or
iptables only) -> DNAT -> FORWARD (each chain's verdict) -> the container's
listener. With ``probe``, a real TCP connection is made and the report says
which rule counters moved and which conntrack entry appeared.

Never imports Textual.
"""

from __future__ import annotations

import errno
import socket
import time
from dataclasses import dataclass, field


def tcp_probe(
    ip: str, port: int, timeout: float = 2.0, netns: str | None = None
) -> tuple[bool, str | None]:
    """A TCP connect to ``ip:port`` (from inside ``netns`` when given, else from
    this host). Returns (connected, error)."""

    def go():
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            return True, None
        except TimeoutError:
            return False, f"no answer within {timeout:g}s (dropped?)"
        except OSError as e:
            return False, (errno.errorcode.get(e.errno or 0, "") + f" {e.strerror or e}").strip()
        finally:
            s.close()

    if netns is None:
        return go()
    from inspectors.hostfacts import run_in_netns

    return run_in_netns(netns, go, timeout=timeout + 5)


@dataclass
class Hop:
    what: str  # listener | dnat | chain | policy | masquerade | container
    status: str  # ok | fail | warn | info | skip
    text: str
    detail: list[str] = field(default_factory=list)


@dataclass
class ProbeResult:
    target: str
    connected: bool
    error: str | None = None
    moved: list[tuple[str, int, int]] = field(default_factory=list)  # (rule, +pkts, +bytes)
    conntrack: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class OutsideIn:
    host_port: int
    proto: str
    container: str | None = None
    container_ip: str | None = None
    container_port: int | None = None
    hops: list[Hop] = field(default_factory=list)
    verdict: str = "unknown"  # reachable | blocked | unknown
    probe: ProbeResult | None = None
    notes: list[str] = field(default_factory=list)


def _fmt_counts(r) -> str:
    if r is None or r.packets is None:
        return ""
    return f"  [{r.packets} pkts, {r.bytes} bytes]"


def find_binding(snap, host_port: int | None, container: str | None, port: int | None, proto: str):
    """(container, PortBinding) for host_port, or for the container's port."""
    for c in snap.containers:
        if container and container not in (c.name, c.id) and not c.id.startswith(container):
            continue
        for pb in c.ports:
            if pb.requested or pb.protocol != proto or not pb.host_port:
                continue
            if host_port is not None and pb.host_port != host_port:
                continue
            if port is not None and pb.container_port != port:
                continue
            if (
                pb.host_ip
                and ":" in pb.host_ip
                and any(
                    q.host_port == pb.host_port and q.host_ip and ":" not in q.host_ip
                    for q in c.ports
                )
            ):
                continue  # prefer the IPv4 binding of the same port
            return c, pb
    return None, None


def outside_in(
    snap,
    host_port: int | None = None,
    container: str | None = None,
    port: int | None = None,
    proto: str = "tcp",
    rulesets=None,
    in_iface: str | None = None,
    firewall_driver: str | None = None,
) -> OutsideIn:
    from inspectors import firewall as fw
    from inspectors import firewall_report as fwr

    c, pb = find_binding(snap, host_port, container, port, proto)
    rep = OutsideIn(host_port=host_port or (pb.host_port if pb else 0), proto=proto)
    if c is None:
        what = f"host port {host_port}/{proto}" if host_port else f"{container} port {port}/{proto}"
        rep.hops.append(Hop("listener", "fail", f"no running container publishes {what}"))
        rep.verdict = "blocked"
        return rep
    rep.container, rep.container_port = c.name, pb.container_port
    ep = next((e for e in c.endpoints if e.ipv4), None)
    rep.container_ip = ep.ipv4 if ep else None
    net = snap.network(ep.network) if ep else None

    # 1. the listener on the host
    ls = [li for li in snap.listeners if li.port == pb.host_port and li.protocol == proto]
    if ls:
        li = ls[0]
        owner = li.owner or "foreign"
        st = "ok" if owner in ("docker-proxy", "dockerd", "rootlesskit") else "fail"
        rep.hops.append(
            Hop(
                "listener",
                st,
                f"{li.ip}:{li.port} held by {li.process or '?'} (pid {li.pid}, {owner})",
                [] if st == "ok" else ["a process that is not Docker holds the port"],
            )
        )
    else:
        rep.hops.append(
            Hop(
                "listener",
                "info",
                f"no process holds {pb.host_port}/{proto}: iptables only (userland-proxy off); "
                "connections from this host to 127.0.0.1 will not work",
            )
        )

    # 2-4. DNAT, FORWARD, MASQUERADE through the active backend
    rss = rulesets if rulesets is not None else fw.read_rulesets()
    active = fw.active_backend(rss, firewall_driver)
    rs = next((r for r in rss if r.backend == active), None)
    if rs is None or not rs.available:
        rep.hops.append(
            Hop("dnat", "skip", f"firewall not readable ({rs.error if rs else 'no backend'})")
        )
    else:
        pp = fwr.port_path(
            rs,
            c.name,
            rep.container_ip,
            pb.container_port,
            proto,
            pb.host_ip,
            pb.host_port,
            ep.network if ep else None,
            net.bridge if net else None,
            [s.subnet for s in net.subnets] if net else [],
            in_iface,
            fwr.local_interfaces(snap),
        )
        if pp.dnat is not None:
            rep.hops.append(
                Hop("dnat", "ok", f"{pp.dnat.ref} ({rs.backend}){_fmt_counts(pp.dnat)}",
                    [pp.dnat.line])
            )  # fmt: skip
        else:
            rep.hops.append(Hop("dnat", "fail", f"no DNAT rule for {pb.host_port}/{proto}"))
        if pp.forward is not None:
            _chain_hops(rep, pp.forward)
        if pp.masquerade is not None:
            rep.hops.append(
                Hop("masquerade", "info", f"{pp.masquerade.ref}{_fmt_counts(pp.masquerade)}",
                    [pp.masquerade.line])
            )  # fmt: skip
        for f in pp.flags:
            rep.notes.append(f"{f.severity}: {f.message}")

    # 5. the container's own listener
    _container_hop(rep, c, pb.container_port, proto)
    if any(h.status == "fail" for h in rep.hops):
        rep.verdict = "blocked"
    elif any(h.status == "skip" for h in rep.hops):
        rep.verdict = "unknown"
    else:
        rep.verdict = "reachable"
    return rep


def _chain_hops(rep: OutsideIn, w) -> None:
    """One hop per chain the packet visits, with that chain's verdict."""
    from inspectors.firewall import chain_summary

    for chain, what, rule in chain_summary(w):
        if what in ("DROP", "REJECT") or what.startswith("policy DROP"):
            st = "fail"
        else:
            st = "ok"
        by = f" by #{rule.index}{_fmt_counts(rule)}" if rule is not None else ""
        detail = [rule.line] if rule is not None and st == "fail" else []
        for s in w.steps:
            if (
                s.chain == chain
                and s.action == "maybe"
                and s.rule is not None
                and s.rule.target in ("DROP", "REJECT")
            ):
                detail.append(f"may drop: {s.rule.line} (depends on the client's interface)")
                st = "warn" if st == "ok" else st
        rep.hops.append(Hop("chain", st, f"{chain}: {what}{by}", detail))


def _container_hop(rep: OutsideIn, c, port: int, proto: str) -> None:
    if not c.pid:
        rep.hops.append(Hop("container", "fail", f"{c.name} is not running"))
        return
    try:
        from inspectors.netsockets import sandbox_sockets

        socks = [s for s in sandbox_sockets(c.pid) if s.listening and s.proto == proto]
    except (OSError, RuntimeError) as e:
        rep.hops.append(Hop("container", "skip", f"sockets of {c.name} unreadable: {e}"))
        return
    mine = [s for s in socks if s.local_port == port]
    if not mine:
        rep.hops.append(
            Hop(
                "container",
                "fail",
                f"nothing listens on {port}/{proto} inside {c.name} (published but nothing "
                f"listens: dockscope sockets {c.name})",
            )
        )
        return
    wild = [s for s in mine if s.local_ip in ("0.0.0.0", "::") or s.local_ip == rep.container_ip]
    s = (wild or mine)[0]
    who = ", ".join(f"{n or '?'} (pid {p})" for p, n in s.processes) or "?"
    if not wild:
        rep.hops.append(
            Hop("container", "fail",
                f"{s.local()} inside {c.name} ({who}): bound to loopback only, DNAT reaches eth0")
        )  # fmt: skip
    else:
        rep.hops.append(Hop("container", "ok", f"{s.local()} inside {c.name} ({who})"))


def local_probe_address(snap) -> str | None:
    """A non-loopback address of this host that is not a container bridge's
    (so the probe crosses nat OUTPUT -> DNAT rather than the userland proxy)."""
    bridges = {b.name for b in snap.bridges}
    for lk in snap.links:
        if lk.name == "lo" or lk.name in bridges or lk.kind in ("veth", "bridge"):
            continue
        for a in lk.addresses:
            ip = a.split("/")[0]
            if ":" not in ip and not ip.startswith("127."):
                return ip
    return None


def probe(
    snap,
    rep: OutsideIn,
    ip: str | None = None,
    netns: str | None = None,
    timeout: float = 2.0,
    rulesets_reader=None,
) -> ProbeResult:
    """Connect to ``ip:host_port`` for real; diff rule counters and conntrack."""
    from inspectors import conntrack as ct
    from inspectors import firewall as fw

    read = rulesets_reader or fw.read_rulesets
    target = ip or local_probe_address(snap) or "127.0.0.1"
    before_rs = read()
    before = {r.backend: fw.counters(r) for r in before_rs if r.available}
    try:
        ct_before = {(e.src, e.sport, e.dst, e.dport) for e in ct.read_conntrack(proto=rep.proto)}
    except OSError:
        ct_before = None
    ok, err = tcp_probe(target, rep.host_port, timeout=timeout, netns=netns)
    time.sleep(0.1)
    res = ProbeResult(target=f"{target}:{rep.host_port}", connected=ok, error=err)
    for r in read():
        if r.available and r.backend in before:
            for key, dp, db in fw.moved(before[r.backend], fw.counters(r)):
                res.moved.append((f"{r.backend}: {key}", dp, db))
    if ct_before is not None:
        for e in ct.read_conntrack(proto=rep.proto):
            if (e.src, e.sport, e.dst, e.dport) not in ct_before and e.dport == rep.host_port:
                res.conntrack.append(e.line())
    if netns is None:
        res.note = (
            "a connection from this host crosses nat OUTPUT and filter OUTPUT, not FORWARD "
            "(DOCKER-USER sees only routed traffic); --from-netns probes like an outside client"
        )
    rep.probe = res
    return res


__all__ = ["tcp_probe", "Hop", "OutsideIn", "ProbeResult", "outside_in", "probe", "find_binding"]
