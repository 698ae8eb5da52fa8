"""Live capture on a veth, a bridge or a sandbox interface: no helper image,
no tcpdump. An ``AF_PACKET`` socket is opened inside the target's network
namespace (a thread that ``setns()``-es there; the socket stays bound to that
namespace), packets are decoded with dpkt (chosen by measured rate and import
cost, see bench/capture; imported only when a capture starts) into one line
each, the way ``tcpdump -n`` prints them, filtered by host/port/proto, and
optionally written as pcap (dpkt's writer; tcpdump and Wireshark read it).

Memory is bounded: the display queue holds at most ``max_pending`` lines;
lines that do not fit are counted in ``dropped`` (the pcap file still gets
every packet); the kernel's own drops come from ``PACKET_STATISTICS``.

The filter is applied here, after decoding (dpkt has no BPF compiler; the
grammar is the tcpdump subset on-call engineers type: ``host``, ``src``,
``dst``, ``net``, ``port``, protocols, ``and``/``or``/``not``).

Never imports Textual.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from inspectors.capture_filter import Filter, parse_filter

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
_ICMP_TYPES = {
    0: "echo reply",
    3: "unreachable",
    5: "redirect",
    8: "echo request",
    11: "time exceeded",
}
_ICMP6_TYPES = {
    1: "destination unreachable",
    128: "echo request",
    129: "echo reply",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
    143: "multicast listener report v2",
}


class CaptureError(OSError):
    pass


# --------------------------------------------------------------------------- decode


class Decoded:
    """The fields a filter needs, and the tcpdump-style text built only when
    asked for (most packets in a flood are counted, not shown)."""

    __slots__ = ("l3", "proto", "src", "dst", "sport", "dport", "_obj", "_fam", "_n", "_text")

    def __init__(self, l3, proto, src, dst, sport, dport, text=None, obj=None, fam="", n=0):
        self.l3 = l3  # ip | ip6 | arp | other
        self.proto = proto  # tcp | udp | icmp | icmp6 | arp | None
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self._text = text
        self._obj = obj
        self._fam = fam
        self._n = n  # L4 length (ICMP, other protocols)

    @property
    def text(self) -> str:
        """One line as ``tcpdump -n`` prints it, without the timestamp."""
        if self._text is None:
            self._text = _describe(self)
        return self._text


def _ip(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(b) == 16 else socket.AF_INET, b)


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _tcp_flags(f: int) -> str:
    out = ""
    for bit, ch in ((0x02, "S"), (0x01, "F"), (0x08, "P"), (0x04, "R"), (0x20, "U")):
        if f & bit:
            out += ch
    if f & 0x10:
        out += "."
    return out or "none"


def decode(frame: bytes, dpkt=None) -> Decoded:
    """One Ethernet frame -> :class:`Decoded` (never raises on a bad frame)."""
    if dpkt is None:
        import dpkt  # noqa: F811 - lazily, when a capture starts
    try:
        eth = dpkt.ethernet.Ethernet(frame)
    except (dpkt.UnpackError, struct.error, ValueError):
        return Decoded(
            "other", None, None, None, None, None, f"truncated frame, length {len(frame)}"
        )
    data = eth.data
    et = eth.type
    try:
        if et == 0x0800 and isinstance(data, dpkt.ip.IP):
            return _decode_l3(dpkt, "IP", data, _ip(data.src), _ip(data.dst), data.p, data.data)
        if et == 0x86DD and isinstance(data, dpkt.ip6.IP6):
            return _decode_l3(dpkt, "IP6", data, _ip(data.src), _ip(data.dst), data.nxt, data.data)
        if et == 0x0806 and isinstance(data, dpkt.arp.ARP):
            spa, tpa = _ip(data.spa), _ip(data.tpa)
            n = 8 + 2 * data.hln + 2 * data.pln  # the ARP message, without Ethernet padding
            if data.op == 1:
                text = f"ARP, Request who-has {tpa} tell {spa}, length {n}"
            elif data.op == 2:
                text = f"ARP, Reply {spa} is-at {_mac(data.sha)}, length {n}"
            else:
                text = f"ARP, op {data.op}, length {n}"
            return Decoded("arp", "arp", spa, tpa, None, None, text)
    except (dpkt.UnpackError, struct.error, ValueError, OSError):
        pass
    return Decoded(
        "other",
        None,
        None,
        None,
        None,
        None,
        f"{_mac(eth.src)} > {_mac(eth.dst)}, ethertype 0x{et:04x}, length {len(frame)}",
    )


def _decode_l3(dpkt, fam: str, ip, src: str, dst: str, p: int, l4) -> Decoded:
    l3 = "ip" if fam == "IP" else "ip6"
    if p == 6 and isinstance(l4, dpkt.tcp.TCP):
        return Decoded(l3, "tcp", src, dst, l4.sport, l4.dport, None, l4, fam)
    if p == 17 and isinstance(l4, dpkt.udp.UDP):
        return Decoded(l3, "udp", src, dst, l4.sport, l4.dport, None, l4, fam)
    # L4 length from the IP header: no re-serialisation of the payload
    n = ip.len - ip.hl * 4 if fam == "IP" else ip.plen
    if p == 1 and isinstance(l4, dpkt.icmp.ICMP):
        return Decoded(l3, "icmp", src, dst, None, None, None, l4, fam, n)
    if p == 58:
        return Decoded(l3, "icmp6", src, dst, None, None, None, l4, fam, n)
    return Decoded(l3, None, src, dst, None, None, f"{fam} {src} > {dst}: ip-proto-{p} {n}")


def _describe(d: Decoded) -> str:
    fam, src, dst, o = d._fam, d.src, d.dst, d._obj
    if d.proto == "tcp":
        n = len(o.data)
        return (
            f"{fam} {src}.{o.sport} > {dst}.{o.dport}: Flags [{_tcp_flags(o.flags)}], "
            f"seq {o.seq}"
            + (f":{o.seq + n}" if n else "")
            + (f", ack {o.ack}" if o.flags & 0x10 else "")
            + f", win {o.win}, length {n}"
        )
    if d.proto == "udp":
        return f"{fam} {src}.{o.sport} > {dst}.{o.dport}: UDP, length {len(o.data)}"
    if d.proto == "icmp":
        name = _ICMP_TYPES.get(o.type, f"type {o.type}")
        e = o.data
        if o.type in (0, 8) and hasattr(e, "seq") and hasattr(e, "id"):
            return f"{fam} {src} > {dst}: ICMP {name}, id {e.id}, seq {e.seq}, length {d._n}"
        return f"{fam} {src} > {dst}: ICMP {name}, length {d._n}"
    if d.proto == "icmp6":
        t = getattr(o, "type", None)
        if t is None:
            raw = o if isinstance(o, bytes) else b""
            t = raw[0] if raw else -1
        name = _ICMP6_TYPES.get(t, f"type {t}")
        return f"{fam} {src} > {dst}: ICMP6, {name}, length {d._n}"
    return ""


def fmt_ts(ts: float) -> str:
    t = time.localtime(ts)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{int((ts % 1) * 1e6):06d}"


# the filter grammar lives in inspectors/capture_filter.py


# --------------------------------------------------------------------------- target


@dataclass
class Target:
    ifname: str
    netns: str | None = None  # None: the host's namespace
    label: str = ""
    container: str | None = None


def resolve_target(snap, target: str) -> Target:
    """``CONTAINER[:IFACE]``, a network (its bridge), or a host interface
    (veth, bridge). Raises ValueError with one line."""
    name, _, iface = target.partition(":") if ":" in target else (target, "", "")
    c = snap.container(name) if snap is not None else None
    if c is not None:
        if c.state != "running" or not c.pid:
            raise ValueError(f"container {c.name} is not running")
        ifs = [i.name for i in c.interfaces if i.name != "lo"]
        ifname = iface or ("eth0" if "eth0" in ifs or not ifs else ifs[0])
        if ifs and ifname not in ifs + ["lo"]:
            raise ValueError(f"container {c.name} has no interface {ifname} ({', '.join(ifs)})")
        ns = c.netns or f"/proc/{c.pid}/ns/net"
        return Target(ifname, ns, f"{c.name}:{ifname}", c.name)
    n = snap.network(target) if snap is not None else None
    if n is not None and n.bridge:
        return Target(n.bridge, None, f"{n.name} ({n.bridge})")
    if iface == "" and os.path.exists(f"/sys/class/net/{os.path.basename(target)}"):
        return Target(target, None, target)
    raise ValueError(f"no container, bridge network or host interface named {target!r}")


# --------------------------------------------------------------------------- pcap


def check_pcap_path(path: str) -> None:
    """Refuse a pcap file in read-only mode (outside dockscope's own directories):
    the one read-only check for files (actions.files.check_save), as a CaptureError."""
    from actions.files import check_save
    from actions.validate import ActionError

    try:
        check_save(path)
    except ActionError as e:
        raise CaptureError(str(e)) from None


def open_pcap(path: str, snaplen: int = 262144):
    """A dpkt pcap writer on a new 0600 file; never through a symlink, never
    onto something that is not a regular file."""
    import dpkt

    check_pcap_path(path)

    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        if e.errno == 40:  # ELOOP
            raise CaptureError(f"{path}: is a symlink, not writing through it") from None
        raise CaptureError(f"{path}: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise CaptureError(f"{path}: not a regular file")
    os.fchmod(fd, 0o600)
    fh = os.fdopen(fd, "wb")
    return dpkt.pcap.Writer(fh, snaplen=snaplen, linktype=dpkt.pcap.DLT_EN10MB), fh


# --------------------------------------------------------------------------- capture


def open_socket(t: Target, rcvbuf: int = 4 << 20, promisc: bool = True) -> socket.socket:
    """An AF_PACKET socket bound to ``t.ifname`` inside ``t.netns``.

    ``promisc``: as tcpdump does by default, a promiscuous membership tied to
    this socket (the kernel drops it when the socket closes); on a bridge it is
    what makes port-to-port frames visible."""

    def make():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.bind((t.ifname, 0))
            if promisc:
                idx = socket.if_nametoindex(t.ifname)
                mreq = struct.pack("iHH8s", idx, PACKET_MR_PROMISC, 0, b"")
                s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        except OSError:
            s.close()
            raise
        return s

    try:
        if t.netns is None:
            return make()
        from inspectors.hostfacts import run_in_netns

        return run_in_netns(t.netns, make, timeout=10)
    except PermissionError:
        raise CaptureError("capture needs root (CAP_NET_RAW, and setns for a container)") from None
    except OSError as e:
        raise CaptureError(f"cannot capture on {t.label or t.ifname}: {e.strerror or e}") from None


@dataclass
class Stats:
    received: int = 0  # packets the socket delivered
    matched: int = 0  # passed the filter
    queued: int = 0  # handed to the display
    dropped: int = 0  # matched but the display queue was full
    hidden: int = 0  # matched while paused
    kernel_drops: int = 0  # PACKET_STATISTICS tp_drops
    written: int = 0  # to the pcap file


class Capture:
    """A running capture: a reader thread fills a bounded queue of lines.

    ``poll()`` (any thread) takes the queued lines. ``pause()``/``resume()``
    freeze the display (packets are still counted and written). ``stop()``.
    """

    def __init__(
        self,
        target: Target,
        filt: Filter | None = None,
        count: int | None = None,
        pcap_path: str | None = None,
        max_pending: int = 10000,
        on_line=None,
    ):
        self.target = target
        self.filter = filt or Filter()
        self.count = count
        self.pcap_path = pcap_path
        self.max_pending = max_pending
        self.on_line = on_line  # called in the reader thread (CLI printing)
        self.stats = Stats()
        self.pending: collections.deque[str] = collections.deque()
        self.paused = False
        self.error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.done = threading.Event()
        self._sock: socket.socket | None = None
        self._writer = None
        self._fh = None
        self._thread: threading.Thread | None = None

    def start(self) -> Capture:
        import dpkt  # load the decoder when a capture starts, not before

        self._dpkt = dpkt
        if self.pcap_path:
            check_pcap_path(self.pcap_path)  # before the socket: nothing to clean up
        self._sock = open_socket(self.target)
        # a kernel receive timeout on a blocking socket: one syscall per packet
        # (Python's settimeout() would add a poll() before each recv)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
        if self.pcap_path:
            self._writer, self._fh = open_pcap(self.pcap_path)
        self._thread = threading.Thread(target=self._run, name="dockscope-capture", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        s, st, dp, filt = self._sock, self.stats, self._dpkt, self.filter
        try:
            while not self._stop.is_set():
                try:
                    data = s.recv(262144)
                except (BlockingIOError, TimeoutError, InterruptedError):
                    continue  # SO_RCVTIMEO: look at the stop flag
                except OSError as e:
                    if self._stop.is_set():
                        break
                    self.error = str(e)
                    break
                ts = time.time()
                st.received += 1
                d = decode(data, dp)
                if not filt(d):
                    continue
                st.matched += 1
                if self._writer is not None:
                    self._writer.writepkt(data, ts)
                    st.written += 1
                if self.on_line is not None:
                    self.on_line(f"{fmt_ts(ts)} {d.text}")
                elif self.paused:
                    st.hidden += 1
                elif len(self.pending) >= self.max_pending:
                    st.dropped += 1  # the text is never built for what is not shown
                else:
                    line = f"{fmt_ts(ts)} {d.text}"
                    with self._lock:
                        self.pending.append(line)
                    st.queued += 1
                if self.count and st.matched >= self.count:
                    break
        finally:
            self._close()
            self.done.set()

    def poll(self, limit: int | None = None) -> list[str]:
        with self._lock:
            if limit is None or limit >= len(self.pending):
                out = list(self.pending)
                self.pending.clear()
            else:
                out = [self.pending.popleft() for _ in range(limit)]
        return out

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def kernel_stats(self) -> None:
        s = self._sock
        if s is None:
            return
        try:
            raw = s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
            _pk, drops = struct.unpack("II", raw)
            self.stats.kernel_drops += drops  # reading resets the kernel's counters
        except OSError:
            pass

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def _close(self) -> None:
        self.kernel_stats()
        if self._fh is not None:
            try:
                self._fh.flush()
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# --------------------------------------------------------------------------- in a child process


def _child_main(cfg: dict) -> int:
    """The capture loop of :class:`ProcessCapture`, in its own process
    (``python -m inspectors.capture --child CONFIG``): decoding a flood there
    leaves the console's interpreter, and its keys, alone. Talks JSON lines:
    commands on stdin (pause, resume, stop), batches of lines and the counters
    on stdout every tick."""
    out = sys.stdout
    try:
        os.nice(10)  # under CPU pressure the console's keys win; the capture counts its drops
    except OSError:
        pass
    t = Target(**cfg["target"])
    tick, per_tick = cfg["tick"], cfg["per_tick"]
    try:
        c = Capture(t, parse_filter(cfg["filter"]), pcap_path=cfg.get("pcap"),
                    max_pending=per_tick * 20).start()  # fmt: skip
    except (OSError, ValueError) as e:
        out.write(json.dumps({"kind": "error", "error": str(e)}) + "\n")
        out.flush()
        return 1
    stop = threading.Event()

    def commands():
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "pause":
                c.pause()
            elif cmd == "resume":
                c.resume()
            elif cmd == "stop":
                break
        stop.set()  # "stop", or the console went away (stdin closed)

    threading.Thread(target=commands, daemon=True).start()
    out.write(json.dumps({"kind": "started"}) + "\n")
    out.flush()
    try:
        while not c.done.is_set() and not stop.wait(tick):
            c.kernel_stats()
            msg = {"kind": "batch", "lines": c.poll(per_tick), "stats": dataclasses.asdict(c.stats)}
            out.write(json.dumps(msg) + "\n")
            out.flush()
    except (BrokenPipeError, OSError):
        return 0
    finally:
        c.stop()
    try:
        msg = {"kind": "done", "lines": c.poll(per_tick), "stats": dataclasses.asdict(c.stats)}
        out.write(json.dumps(msg) + "\n")
        out.flush()
    except (BrokenPipeError, OSError):
        pass
    return 0


class ProcessCapture:
    """:class:`Capture`'s interface (start/poll/pause/resume/stop, ``stats``,
    ``pending``, ``paused``, ``done``, ``error``) with the capture in a child
    process of this same interpreter. The child sends at most ``per_tick``
    lines every ``tick`` seconds; what does not fit in either side's bounded
    queue is counted in ``stats.dropped``."""

    def __init__(
        self,
        target: Target,
        filter_text: str = "",
        pcap_path: str | None = None,
        max_pending: int = 5000,
        tick: float = 0.1,
        per_tick: int = 200,
    ):
        parse_filter(filter_text)  # bad input fails here, in the caller
        self.target = target
        self.filter_text = filter_text
        self.pcap_path = pcap_path
        self.max_pending = max_pending
        self.tick = tick
        self.per_tick = per_tick
        self.stats = Stats()
        self.pending: collections.deque[str] = collections.deque()
        self.paused = False
        self.error: str | None = None
        self.done = threading.Event()
        self._started = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._local_dropped = 0

    def start(self, timeout: float = 15.0) -> ProcessCapture:
        if self.pcap_path:
            check_pcap_path(self.pcap_path)  # the child does not know the read-only switch
        cfg = {
            "target": dataclasses.asdict(self.target),
            "filter": self.filter_text,
            "pcap": self.pcap_path,
            "tick": self.tick,
            "per_tick": self.per_tick,
        }
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        # sys.executable: this interpreter, never a path taken from another process
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "inspectors.capture", "--child", json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=env,
            close_fds=True,
        )
        threading.Thread(target=self._reader, name="dockscope-capture-pipe", daemon=True).start()
        if not self._started.wait(timeout):
            self.stop()
            raise CaptureError(self.error or "the capture process did not start")
        if self.error:
            self.stop()
            raise CaptureError(self.error)
        return self

    def _reader(self) -> None:
        proc = self._proc
        try:
            for raw in proc.stdout:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                kind = msg.get("kind")
                if kind == "error":
                    self.error = msg.get("error")
                    self._started.set()
                    break
                if kind == "started":
                    self._started.set()
                    continue
                st = msg.get("stats")
                with self._lock:
                    for ln in msg.get("lines") or ():
                        if len(self.pending) >= self.max_pending:
                            self._local_dropped += 1
                        else:
                            self.pending.append(ln)
                    if st is not None:
                        st["dropped"] += self._local_dropped
                        self.stats = Stats(**st)
                if kind == "done":
                    break
        except (OSError, ValueError):
            pass
        finally:
            self._started.set()
            self.done.set()

    def poll(self, limit: int | None = None) -> list[str]:
        with self._lock:
            n = len(self.pending) if limit is None else min(limit, len(self.pending))
            return [self.pending.popleft() for _ in range(n)]

    def kernel_stats(self) -> None:
        pass  # the child reads them every tick

    def _send(self, cmd: str) -> None:
        try:
            if self._proc is not None and self._proc.stdin is not None:
                self._proc.stdin.write(cmd + "\n")
                self._proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def pause(self) -> None:
        self.paused = True
        self._send("pause")

    def resume(self) -> None:
        self.paused = False
        self._send("resume")

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        p = self._proc
        if p is None:
            return
        self._send("stop")
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.wait(1)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(1)
        for f in (p.stdin, p.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self._proc = None
        self.done.set()


__all__ = [
    "Capture",
    "ProcessCapture",
    "CaptureError",
    "Decoded",
    "Filter",
    "Stats",
    "Target",
    "decode",
    "fmt_ts",
    "open_pcap",
    "open_socket",
    "parse_filter",
    "resolve_target",
]


if __name__ == "__main__":  # the child of ProcessCapture
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(json.loads(sys.argv[2])))
    sys.exit(2)
