"""The capture filter: host/src/dst/net/port/proto with and/or/not, evaluated
on decoded packets (dpkt has no BPF compiler). Never imports Textual."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

PROTOS = {"tcp", "udp", "icmp", "icmp6", "arp", "ip", "ip6", "sctp"}

if TYPE_CHECKING:
    from inspectors.capture import Decoded


@dataclass
class _Prim:
    kind: str  # host | net | port | proto
    value: object
    dir: str | None = None  # src | dst | None (either)
    neg: bool = False

    def test(self, d: Decoded) -> bool:
        if self.kind == "proto":
            v = self.value
            ok = d.proto == v or d.l3 == v
        elif self.kind == "port":
            ok = self._either(d.sport, d.dport, lambda p: p == self.value)
        elif self.kind == "host":
            ok = self._either(d.src, d.dst, lambda a: a == self.value)
        else:  # net
            net = self.value

            def inside(a):
                try:
                    return a is not None and ipaddress.ip_address(a) in net
                except ValueError:
                    return False

            ok = self._either(d.src, d.dst, inside)
        return ok != self.neg

    def _either(self, s, d, f) -> bool:
        if self.dir == "src":
            return s is not None and f(s)
        if self.dir == "dst":
            return d is not None and f(d)
        return (s is not None and f(s)) or (d is not None and f(d))


@dataclass
class Filter:
    """A tcpdump-style filter: OR of ANDs of primitives."""

    text: str = ""
    groups: list[list[_Prim]] = field(default_factory=list)

    def __call__(self, d: Decoded) -> bool:
        if not self.groups:
            return True
        return any(all(p.test(d) for p in g) for g in self.groups)


def parse_filter(text: str | list[str] | None) -> Filter:
    """``host 10.0.0.2 and port 80``, ``icmp or arp``, ``not port 22``,
    ``src net 172.17.0.0/16 and tcp``. Raises ValueError with one clear line."""
    if isinstance(text, list):
        text = " ".join(text)
    text = (text or "").strip()
    f = Filter(text=text)
    if not text:
        return f
    toks = text.replace("(", " ").replace(")", " ").split()
    group: list[_Prim] = []
    i = 0
    neg = False
    while i < len(toks):
        t = toks[i].lower()
        if t in ("and", "&&"):
            i += 1
            continue
        if t in ("or", "||"):
            if not group:
                raise ValueError(f"filter: nothing before '{toks[i]}'")
            f.groups.append(group)
            group = []
            i += 1
            continue
        if t in ("not", "!"):
            neg = not neg
            i += 1
            continue
        d = None
        if t in ("src", "dst"):
            d = t
            i += 1
            if i >= len(toks):
                raise ValueError(f"filter: '{t}' needs host, net, port or an address")
            t = toks[i].lower()
            if t not in ("host", "net", "port"):
                t, i = "host", i - 1  # `src 10.0.0.2`
        if t in PROTOS:
            group.append(_Prim("proto", t, None, neg))
            i += 1
        elif t in ("host", "net", "port"):
            if i + 1 >= len(toks):
                raise ValueError(f"filter: '{t}' needs a value")
            v = toks[i + 1]
            try:
                if t == "host":
                    val: object = str(ipaddress.ip_address(v))
                elif t == "net":
                    val = ipaddress.ip_network(v, strict=False)
                else:
                    val = int(v)
                    if not 0 <= val <= 65535:
                        raise ValueError
            except ValueError:
                raise ValueError(f"filter: bad {t} value {v!r}") from None
            group.append(_Prim(t, val, d, neg))
            i += 2
        else:
            raise ValueError(
                f"filter: unknown word {toks[i]!r} (host, src, dst, net, port, "
                "tcp, udp, icmp, icmp6, arp, ip, ip6, and, or, not)"
            )
        neg = False
    if not group:
        raise ValueError("filter: ends with an operator")
    f.groups.append(group)
    return f
