"""inspectors.netwatch (the warm model's change watch) against real netlink and
real namespaces made by the test (``tests/test_sandbox.Lab``): a change in the
host netns or inside one namespace is reported by the next poll, by that
namespace's nsid; a sandbox read a watch covers is reused until then, and a
change made inside the namespace by hand shows at the very next read."""

from __future__ import annotations

import os
import time

import pytest

from inspectors import sandbox
from inspectors.netwatch import KernelWatch
from tests.test_sandbox import Lab, sh

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns creation)")


def _poll_until(w: KernelWatch, pred, timeout: float = 5.0):
    """Notifications arrive asynchronously: poll (accumulating) until ``pred``."""
    seen = w.poll()
    deadline = time.monotonic() + timeout
    while not pred(seen) and time.monotonic() < deadline:
        time.sleep(0.05)
        more = w.poll()
        seen.links |= more.links
        seen.fdb |= more.fdb
        seen.nsids |= more.nsids
        seen.everything |= more.everything
    return seen


def _nsid_of(lab: Lab, i: int) -> int:
    """The host's id for namespace i (what its host veth's link-netnsid shows)."""
    import json

    got = json.loads(sh(f"ip -j link show {lab.veth[i]}").stdout)[0]
    return int(got["link_netnsid"])


@root_only
def test_watch_names_the_namespace_that_changed():
    lab = Lab(2)
    w = None
    try:
        lab.up(sleepers=False)
        w = KernelWatch()
        assert w.poll().everything  # the first poll: nothing was read under it yet
        nsid0, nsid1 = _nsid_of(lab, 0), _nsid_of(lab, 1)
        sh(f"ip -n {lab.ns[1]} addr add {lab.net}.201/32 dev eth0")
        got = _poll_until(w, lambda c: nsid1 in c.nsids)
        assert nsid1 in got.nsids and nsid0 not in got.nsids, got
        assert not got.everything
        # a host link change (a new port on the bridge) marks the host tables
        sh(f"ip link add dss{lab.tag}x type bridge")
        got = _poll_until(w, lambda c: c.links)
        assert got.links and got.fdb
        sh(f"ip link del dss{lab.tag}x")
    finally:
        if w is not None:
            w.close()
        lab.down()


@root_only
def test_watched_sandbox_read_is_reused_until_the_namespace_changes():
    from types import SimpleNamespace

    lab = Lab(1)
    w = None
    try:
        lab.up()
        ns = lab.ns[0]
        pid = lab.pids[ns]
        ep = SimpleNamespace(network_id="n", network="n", ipv4="x", ipv6=None, mac=None)
        tok = sandbox.sandbox_token(
            SimpleNamespace(id=ns, pid=pid, sandbox_key=None, endpoints=[ep])
        )
        w = KernelWatch()

        def build():  # as the Model does: poll, forget what changed, read
            ch = w.poll()
            sandbox.forget(ch.nsids, ch.everything)
            r = sandbox.SandboxReader(watch=w)
            try:
                info = r.read(pid, None, tok)
            finally:
                r.close()
            return info, {a for i in info.interfaces for a in i.addresses}

        info, first = build()
        assert info.nsid is not None and info.error is None
        again, addrs = build()
        assert addrs == first
        # past the unwatched TTL the watched read is still reused (no change seen)
        old = sandbox.CACHE_TTL
        sandbox.CACHE_TTL = 0.0
        try:
            _, addrs = build()
            assert addrs == first
            extra = f"{lab.net}.202/32"
            sh(f"ip -n {ns} addr add {extra} dev eth0")
            deadline = time.monotonic() + 5
            while extra not in addrs and time.monotonic() < deadline:
                _, addrs = build()  # the change by hand shows at the next read
                time.sleep(0.05)
            assert extra in addrs
        finally:
            sandbox.CACHE_TTL = old
    finally:
        if w is not None:
            w.close()
        lab.down()
