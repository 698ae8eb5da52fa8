"""IPsec as an encrypted overlay needs it on this node: the kernel's xfrm
states (SAs) and policies, as ``ip xfrm state`` / ``ip xfrm policy`` list them.

Docker encrypts an ``--opt encrypted`` overlay with ESP in transport mode between
the nodes' underlay addresses, programmed in the node's own namespace (libnetwork
``drivers/overlay/encryption.go``): an outbound policy per remote node for its
VXLAN traffic (udp/4789) that requires ESP, and one SA each way. When the SA
cannot be installed (a kernel without ESP or AES-GCM: dockerd logs "Failed
Adding ... SA: function not implemented") the policy still requires ESP and the
kernel drops the node's VXLAN traffic to that node.

pyroute2 has no xfrm support, so the dump is read here from NETLINK_XFRM
directly (two dumps, fixed-size structs from ``linux/xfrm.h``). Never imports
textual.
"""

from __future__ import annotations

import gzip
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass, field

NETLINK_XFRM = 6
XFRM_MSG_GETSA, XFRM_MSG_GETPOLICY = 0x12, 0x15
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
XFRMA_TMPL = 5
SEL_LEN = 56  # struct xfrm_selector
USERSA_LEN = 224  # struct xfrm_usersa_info
USERPOLICY_LEN = 168  # struct xfrm_userpolicy_info
TMPL_LEN = 64  # struct xfrm_user_tmpl
PROTO = {50: "esp", 51: "ah", 108: "comp"}
DIRS = {0: "in", 1: "out", 2: "fwd"}


@dataclass
class XfrmState:
    src: str
    dst: str
    proto: str
    spi: str  # 0x...
    reqid: int
    mode: str  # transport | tunnel


@dataclass
class XfrmPolicy:
    dir: str
    src: str  # selector, CIDR
    dst: str
    proto: int | None  # selector L4 protocol (17 udp)
    dport: int | None
    tmpl: list[str] = field(default_factory=list)  # "esp 10.0.0.2->10.0.0.3"

    @property
    def requires_esp(self) -> bool:
        return any(t.startswith("esp ") for t in self.tmpl)


@dataclass
class IpsecView:
    states: list[XfrmState] = field(default_factory=list)
    policies: list[XfrmPolicy] = field(default_factory=list)
    kernel: str | None = None  # what the kernel config says of ESP/GCM, when readable
    note: str | None = None  # why it could not be read

    def sa(self, src: str, dst: str) -> XfrmState | None:
        return next(
            (s for s in self.states if s.src == src and s.dst == dst and s.proto == "esp"), None
        )

    def esp_policy_to(self, dst: str) -> XfrmPolicy | None:
        return next(
            (
                p
                for p in self.policies
                if p.dir == "out" and p.requires_esp and p.dst.split("/")[0] == dst
            ),
            None,
        )


def _addr(raw: bytes, family: int) -> str:
    if family == socket.AF_INET6:
        return str(ipaddress.IPv6Address(raw[:16]))
    return str(ipaddress.IPv4Address(raw[:4]))


def _dump(sock: socket.socket, msg_type: int, payload_len: int, seq: int) -> list[bytes]:
    hdr = struct.pack("=IHHII", 16 + payload_len, msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
    sock.send(hdr + b"\0" * payload_len)
    out: list[bytes] = []
    while True:
        data = sock.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            ln, typ, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
            if ln < 16:
                return out
            body = data[off + 16 : off + ln]
            if typ == NLMSG_DONE:
                return out
            if typ == NLMSG_ERROR:
                (err,) = struct.unpack_from("=i", body, 0)
                if err:
                    raise OSError(-err, os.strerror(-err))
                return out
            if typ == msg_type - 2 or typ == msg_type:  # NEWSA / NEWPOLICY answers
                out.append(body)
            off += (ln + 3) & ~3


def _selector(b: bytes) -> tuple[str, str, int | None, int | None]:
    daddr, saddr = b[0:16], b[16:32]
    (dport,) = struct.unpack_from("!H", b, 32)
    family, plen_d, plen_s, proto = struct.unpack_from("=HBBB", b, 40)
    fam = socket.AF_INET6 if family == socket.AF_INET6 else socket.AF_INET
    return (
        f"{_addr(saddr, fam)}/{plen_s}",
        f"{_addr(daddr, fam)}/{plen_d}",
        proto or None,
        dport or None,
    )


def _attrs(b: bytes):
    off = 0
    while off + 4 <= len(b):
        ln, typ = struct.unpack_from("=HH", b, off)
        if ln < 4:
            return
        yield typ & 0x3FFF, b[off + 4 : off + ln]
        off += (ln + 3) & ~3


def parse_state(b: bytes) -> XfrmState:
    daddr = b[SEL_LEN : SEL_LEN + 16]
    (spi,) = struct.unpack_from("!I", b, SEL_LEN + 16)
    proto = b[SEL_LEN + 20]
    saddr = b[SEL_LEN + 24 : SEL_LEN + 40]
    off = SEL_LEN + 40 + 64 + 32 + 12  # lft, curlft, stats
    _seq, reqid, family, mode = struct.unpack_from("=IIHB", b, off)
    return XfrmState(
        src=_addr(saddr, family),
        dst=_addr(daddr, family),
        proto=PROTO.get(proto, str(proto)),
        spi=f"0x{spi:08x}",
        reqid=reqid,
        mode="tunnel" if mode == 1 else "transport",
    )


def parse_policy(b: bytes) -> XfrmPolicy:
    src, dst, proto, dport = _selector(b[:SEL_LEN])
    direction = b[SEL_LEN + 64 + 32 + 8]
    p = XfrmPolicy(DIRS.get(direction, str(direction)), src, dst, proto, dport)
    for typ, val in _attrs(b[USERPOLICY_LEN:]):
        if typ != XFRMA_TMPL:
            continue
        for off in range(0, len(val) - TMPL_LEN + 1, TMPL_LEN):
            t = val[off : off + TMPL_LEN]
            tproto = t[20]
            (family,) = struct.unpack_from("=H", t, 24)
            p.tmpl.append(
                f"{PROTO.get(tproto, str(tproto))} {_addr(t[28:44], family)}->{_addr(t[0:16], family)}"
            )
    return p


def kernel_esp() -> str | None:
    """What the running kernel's config says of ESP and AES-GCM (docker's cipher),
    when /proc/config.gz is there; None when it cannot tell."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            cfg = f.read()
    except OSError:
        return None
    missing = [
        k
        for k in ("CONFIG_INET_ESP", "CONFIG_CRYPTO_GCM")
        if f"{k}=y" not in cfg and f"{k}=m" not in cfg
    ]
    if not missing:
        return "ESP and AES-GCM available"
    return f"the kernel lacks {' and '.join(missing)} (docker's SAs use ESP with rfc4106(gcm(aes)))"


def read_ipsec() -> IpsecView:
    """This namespace's xfrm SAs and policies (root)."""
    v = IpsecView(kernel=kernel_esp())
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    except OSError as e:
        v.note = f"cannot open NETLINK_XFRM: {e.strerror or e}"
        return v
    try:
        sock.bind((0, 0))
        v.states = [parse_state(b) for b in _dump(sock, XFRM_MSG_GETSA, USERSA_LEN, 1)]
        v.policies = [parse_policy(b) for b in _dump(sock, XFRM_MSG_GETPOLICY, USERPOLICY_LEN, 2)]
    except OSError as e:
        v.note = f"cannot read the xfrm tables: {e.strerror or e}"
    finally:
        sock.close()
    return v
