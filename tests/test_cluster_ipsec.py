"""inspectors/ipsec.py: the xfrm dump read from NETLINK_XFRM.

The policy side runs for real (tests/test_cluster_doctor.py reads docker's ESP
policies on the test cluster). An SA cannot exist on a kernel without ESP, which
is this machine's, so the SA decoder is checked on a struct packed by the layout
of linux/xfrm.h (a fake of the kernel's answer, said so here); on a kernel with
ESP the real dump is checked too."""

from __future__ import annotations

import os
import socket
import struct
import subprocess

import pytest

from inspectors import ipsec


def _usersa(src: str, dst: str, spi: int, reqid: int) -> bytes:
    sel = b"\0" * ipsec.SEL_LEN
    xid = socket.inet_aton(dst) + b"\0" * 12 + struct.pack("!I", spi) + bytes([50, 0, 0, 0])
    saddr = socket.inet_aton(src) + b"\0" * 12
    tail = struct.pack("=IIHBBB7x", 0, reqid, socket.AF_INET, 0, 32, 0)
    b = sel + xid + saddr + b"\0" * (64 + 32 + 12) + tail
    assert len(b) == ipsec.USERSA_LEN
    return b


def test_sa_decoder_reads_the_kernel_layout():
    s = ipsec.parse_state(_usersa("10.0.0.2", "10.0.0.3", 0xF38143AC, 13681891))
    assert (s.src, s.dst, s.proto, s.spi, s.reqid, s.mode) == (
        "10.0.0.2", "10.0.0.3", "esp", "0xf38143ac", 13681891, "transport",
    )  # fmt: skip


@pytest.mark.skipif(os.geteuid() != 0, reason="netns needs root")
def test_real_dump_in_a_fresh_namespace_matches_ip_xfrm():
    """A namespace of our own with one ESP policy (policies need no cipher): the
    reader sees exactly what `ip xfrm policy` sees; no SA, and the kernel's ESP
    support said."""
    ns = f"dsx{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "-n", ns, "xfrm", "policy", "add", "src", "10.9.0.2/32", "dst", "10.9.0.3/32",
             "proto", "udp", "dport", "4789", "dir", "out",
             "tmpl", "src", "10.9.0.2", "dst", "10.9.0.3", "proto", "esp", "mode", "transport"],
            check=True,
        )  # fmt: skip
        from inspectors.hostfacts import run_in_netns

        v = run_in_netns(f"/var/run/netns/{ns}", ipsec.read_ipsec)
        assert v.note is None, v.note
        assert [(p.dir, p.src, p.dst, p.proto, p.dport, p.tmpl) for p in v.policies] == [
            ("out", "10.9.0.2/32", "10.9.0.3/32", 17, 4789, ["esp 10.9.0.2->10.9.0.3"])
        ]
        assert v.esp_policy_to("10.9.0.3") is not None and v.sa("10.9.0.2", "10.9.0.3") is None
        assert v.states == []
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
