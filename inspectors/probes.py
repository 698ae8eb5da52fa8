"""Real probes from inside a network namespace (the caller setns()-es a thread there):
ICMP echo, TCP connect, UDP send, a DNS query to the embedded resolver. Only the
socket calls: which addresses may be probed is decided by inspectors.reach."""

from __future__ import annotations

import random
import select
import socket
import struct
import time

PROBE_TIMEOUT = 2.0
EMBEDDED_DNS = "127.0.0.11"


# --------------------------------------------------------------------------- probes


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def probe_ping(ip: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """One ICMP echo to ``ip`` from the calling thread's netns."""
    ident = random.randint(1, 0xFFFF)
    raw = True
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        raw = False
    with s:
        payload = b"dockscope-probe"
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
        pkt = struct.pack("!BBHHH", 8, 0, _checksum(hdr + payload), ident, 1) + payload
        t0 = time.monotonic()
        try:
            s.sendto(pkt, (ip, 0))
        except OSError as e:
            return False, f"send failed: {e.strerror or e}"
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, f"no echo reply from {ip} in {timeout:.0f}s"
            r, _, _ = select.select([s], [], [], left)
            if not r:
                continue
            data, addr = s.recvfrom(2048)
            if raw:
                ihl = (data[0] & 0x0F) * 4
                data = data[ihl:]
            if len(data) < 8:
                continue
            typ, _code, _ck, rid, _seq = struct.unpack("!BBHHH", data[:8])
            if typ == 0 and addr[0] == ip and (rid == ident or not raw):
                return True, f"echo reply from {ip} in {(time.monotonic() - t0) * 1000:.1f} ms"
            if typ == 3 and raw:
                return False, f"ICMP destination unreachable (code {_code}) from {addr[0]}"


def probe_tcp(ip: str, port: int, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        t0 = time.monotonic()
        try:
            s.connect((ip, port))
        except TimeoutError:
            return False, f"connect to {ip}:{port} timed out after {timeout:.0f}s (dropped)"
        except ConnectionRefusedError:
            return False, f"connection to {ip}:{port} refused (nothing listening there)"
        except OSError as e:
            return False, f"connect to {ip}:{port}: {e.strerror or e}"
        return True, f"connected to {ip}:{port} in {(time.monotonic() - t0) * 1000:.1f} ms"


def probe_udp(ip: str, port: int, timeout: float = 1.0) -> tuple[bool | None, str]:
    """Send one datagram; an ICMP port-unreachable comes back as ECONNREFUSED.
    (True: an answer; None: sent, no answer (open or filtered); False: refused.)"""
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            s.send(b"dockscope-probe\n")
            s.recv(512)
            return True, f"{ip}:{port}/udp answered"
        except TimeoutError:
            return (
                None,
                f"datagram sent to {ip}:{port}, no answer and no ICMP error (open or filtered)",
            )
        except ConnectionRefusedError:
            return False, f"{ip}:{port}/udp: port unreachable (nothing bound)"
        except OSError as e:
            return False, f"{ip}:{port}/udp: {e.strerror or e}"


def build_dns_query(name: str, qid: int, qtype: int = 1) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".") if p) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def _skip_name(buf: bytes, off: int) -> int:
    while True:
        ln = buf[off]
        if ln == 0:
            return off + 1
        if ln & 0xC0 == 0xC0:
            return off + 2
        off += 1 + ln


def parse_dns_answer(buf: bytes, qid: int) -> tuple[int, list[str]]:
    """(rcode, [A/AAAA addresses]) of a DNS response."""
    rid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", buf[:12])
    if rid != qid:
        raise ValueError("answer id mismatch")
    off = 12
    for _ in range(qd):
        off = _skip_name(buf, off) + 4
    out = []
    for _ in range(an):
        off = _skip_name(buf, off)
        typ, _cls, _ttl, rdlen = struct.unpack("!HHIH", buf[off : off + 10])
        off += 10
        rd = buf[off : off + rdlen]
        off += rdlen
        if typ == 1 and rdlen == 4:
            out.append(socket.inet_ntop(socket.AF_INET, rd))
        elif typ == 28 and rdlen == 16:
            out.append(socket.inet_ntop(socket.AF_INET6, rd))
    return flags & 0x0F, out


def probe_dns(
    name: str, server: str = EMBEDDED_DNS, timeout: float = PROBE_TIMEOUT
) -> tuple[bool, list[str], str]:
    qid = random.randint(0, 0xFFFF)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((server, 53))
            s.send(build_dns_query(name, qid))
            data = s.recv(4096)
        except TimeoutError:
            return False, [], f"no answer from {server} in {timeout:.0f}s"
        except ConnectionRefusedError:
            return False, [], f"no DNS server at {server} (port unreachable)"
        except OSError as e:
            return False, [], f"{server}: {e.strerror or e}"
    try:
        rcode, ips = parse_dns_answer(data, qid)
    except (ValueError, struct.error, IndexError) as e:
        return False, [], f"bad answer: {e}"
    if rcode == 3:
        return False, [], f"{server}: NXDOMAIN for '{name}'"
    if rcode != 0:
        return False, [], f"{server}: rcode {rcode}"
    if not ips:
        return False, [], f"{server}: no address for '{name}'"
    return True, ips, f"{server} answered {', '.join(ips)}"


def run_probes(
    netns_path: str, ip: str | None, port: int | None, proto: str, dns_name: str | None
) -> list:
    """All probes from inside ``netns_path`` (a thread setns()-es there)."""
    from inspectors.hostfacts import run_in_netns
    from inspectors.reachmodel import FAIL, OK, SKIP, WARN, Check

    def work():
        nonlocal ip
        out = []
        target = ip
        if dns_name:
            ok, ips, detail = probe_dns(dns_name)
            c = Check("dns query", OK if ok else FAIL, detail)
            if ok and ip and ip not in ips:
                c.status, c.detail = WARN, detail + f" (expected {ip})"
            out.append(c)
            if not target and ok:  # a name alone: probe the address it resolves to
                target = next((x for x in ips if ":" not in x), None)
        ip = target
        if not ip:
            # no address at all: say what was (not) probed; never "reachable (probed)"
            out.append(
                Check(
                    "reachability",
                    SKIP,
                    ("name resolves; " if dns_name else "") + "no address to send to: "
                    "reachability not probed",
                    True,
                )
            )
        if ip:
            ok, detail = probe_ping(ip)
            # without a port the echo is the reachability test; with one, ICMP may be filtered
            out.append(Check("ping", OK if ok else (WARN if port else FAIL), detail))
            if port and proto == "tcp":
                ok, detail = probe_tcp(ip, port)
                out.append(Check("tcp connect", OK if ok else FAIL, detail))
            elif port and proto == "udp":
                ok, detail = probe_udp(ip, port)
                out.append(Check("udp send", OK if ok else (FAIL if ok is False else WARN), detail))
        return out

    return run_in_netns(netns_path, work, timeout=4 * PROBE_TIMEOUT + 5)
