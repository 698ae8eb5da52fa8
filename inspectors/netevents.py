"""Live netlink notifications of the host netns: link, address and route
changes (pyroute2 ``bind(groups)``), for the console to update its panes
within a second of a change. :mod:`inspectors.kernel` re-exports the names.

Never imports textual; pyroute2 is imported when a subscription starts.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Callable

EVENT_KINDS = {
    "RTM_NEWLINK": "link",
    "RTM_DELLINK": "link",
    "RTM_NEWADDR": "addr",
    "RTM_DELADDR": "addr",
    "RTM_NEWROUTE": "route",
    "RTM_DELROUTE": "route",
    "RESYNC": "resync",
}


def event_kind(event: str) -> str:
    """link | addr | route | resync for an event name passed to the callback."""
    return EVENT_KINDS.get(event, "other")


class LinkSubscription:
    """Netlink multicast listener (pyroute2, ``bind(groups)``) for link,
    address and route changes of the host netns.

    ``callback(event, ifname, index)`` is called from the thread running
    :meth:`run` with event one of ``RTM_NEWLINK``, ``RTM_DELLINK``,
    ``RTM_NEWADDR``, ``RTM_DELADDR`` (with ``addresses=True``), ``RTM_NEWROUTE``,
    ``RTM_DELROUTE`` (with ``routes=True``; ifname/index of the route's output
    device, or None/0) or ``RESYNC`` (the kernel dropped events because we were
    slow, or the socket failed and was reopened: re-read everything; ifname
    None, index 0). :func:`event_kind` maps an event to link/addr/route/resync.
    ``stop()`` may be called from any thread and wakes the loop at once.

    On pyroute2 0.9 the socket is an ``AsyncIPRoute`` served by an event loop
    private to :meth:`run`'s thread (``async for msg in ipr.get()``); on 0.7/0.8
    a sync ``IPRoute`` read after ``select``.
    """

    def __init__(
        self,
        callback: Callable[[str, str | None, int], None],
        addresses: bool = True,
        routes: bool = True,
    ):
        from .nlcodec import whole_pyroute2

        whole_pyroute2()
        from pyroute2.netlink.rtnl import (
            RTMGRP_IPV4_IFADDR,
            RTMGRP_IPV4_ROUTE,
            RTMGRP_IPV6_IFADDR,
            RTMGRP_IPV6_ROUTE,
            RTMGRP_LINK,
        )

        self.callback = callback
        self.groups = RTMGRP_LINK
        if addresses:
            self.groups |= RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
        if routes:
            self.groups |= RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE
        self._names: dict[int, str] = {}
        self._stopped = threading.Event()
        self._closed = False
        self._lock = threading.Lock()
        self._loop = None  # the running loop of run() (0.9), for stop()
        self._task = None
        self._rfd, self._wfd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)  # wakes the 0.7 loop

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._closed:
                return
            if self._loop is not None and self._task is not None:
                try:
                    self._loop.call_soon_threadsafe(self._task.cancel)
                except RuntimeError:  # loop already closed
                    pass
            try:
                os.write(self._wfd, b"x")
            except OSError:
                pass

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def close(self) -> None:
        """Release the wake-up pipe. run() does it on exit; call it yourself only
        for a subscription that never ran."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for fd in (self._rfd, self._wfd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _name(self, index: int) -> str | None:
        name = self._names.get(index)
        if name is None and index:
            try:
                name = socket.if_indextoname(index)
            except OSError:
                name = None
        return name

    def _dispatch(self, msg) -> None:
        ev = msg.get("event")
        if ev in ("RTM_NEWLINK", "RTM_DELLINK"):
            index, name = msg["index"], msg.get("IFLA_IFNAME")
            if ev == "RTM_NEWLINK":
                self._names[index] = name
            else:
                self._names.pop(index, None)
            self.callback(ev, name, index)
        elif ev in ("RTM_NEWADDR", "RTM_DELADDR"):
            index = msg["index"]
            self.callback(ev, msg.get("IFA_LABEL") or self._name(index), index)
        elif ev in ("RTM_NEWROUTE", "RTM_DELROUTE"):
            index = msg.get("RTA_OIF") or 0
            self.callback(ev, self._name(index) if index else None, index)

    def _done(self, stop_event) -> bool:
        return self._stopped.is_set() or bool(stop_event and stop_event.is_set())

    def run(self, stop_event: threading.Event | None = None, poll_interval: float = 0.2) -> None:
        """Block, dispatching events, until stop() or ``stop_event`` is set."""
        try:
            try:
                from pyroute2 import AsyncIPRoute
            except ImportError:  # pyroute2 0.7/0.8
                self._run_sync(stop_event, poll_interval)
            else:
                self._run_async(AsyncIPRoute, stop_event, poll_interval)
        finally:
            self.close()

    # pyroute2 0.9 ---------------------------------------------------------
    def _run_async(self, AsyncIPRoute, stop_event, poll_interval: float) -> None:
        import asyncio

        async def watch_stop_event():
            while not self._done(stop_event):
                await asyncio.sleep(poll_interval)
            self._task.cancel()

        async def pump():
            resync = False
            while not self._done(stop_event):
                ipr = AsyncIPRoute()
                try:
                    await ipr.bind(groups=self.groups)
                    self._names = {
                        m["index"]: m.get("IFLA_IFNAME") async for m in await ipr.get_links()
                    }
                    if resync:
                        self.callback("RESYNC", None, 0)
                    while not self._done(stop_event):
                        async for msg in ipr.get():
                            self._dispatch(msg)
                except (OSError, ConnectionError):
                    # ENOBUFS (events dropped) closes pyroute2's transport: reopen
                    if self._done(stop_event):
                        return
                    resync = True
                    await asyncio.sleep(0.05)
                finally:
                    ipr.close()

        async def main():
            self._task = asyncio.current_task()
            watcher = asyncio.ensure_future(watch_stop_event())
            try:
                await pump()
            except asyncio.CancelledError:
                pass
            finally:
                watcher.cancel()

        loop = asyncio.new_event_loop()
        try:
            with self._lock:
                self._loop = loop
            if self._done(stop_event):
                return
            loop.run_until_complete(main())
        finally:
            with self._lock:
                self._loop = None
            loop.close()

    # pyroute2 0.7/0.8 -----------------------------------------------------
    def _run_sync(self, stop_event, poll_interval: float) -> None:
        import errno

        from .kernel import open_ipr

        ipr = open_ipr()
        try:
            ipr.bind(groups=self.groups)
            self._names = {m["index"]: m.get("IFLA_IFNAME") for m in ipr.get_links()}
            while not self._done(stop_event):
                try:
                    r, _, _ = select.select([ipr.fileno(), self._rfd], [], [], poll_interval)
                except (OSError, ValueError):
                    break
                if self._rfd in r:
                    break
                if not r:
                    continue
                try:
                    msgs = ipr.get()
                except OSError as e:
                    if e.errno != errno.ENOBUFS:
                        raise
                    self.callback("RESYNC", None, 0)
                    continue
                for m in msgs:
                    self._dispatch(m)
        finally:
            ipr.close()


def subscribe_links(
    callback: Callable[[str, str | None, int], None],
    stop_event: threading.Event,
    addresses: bool = True,
    poll_interval: float = 0.2,
    routes: bool = True,
) -> None:
    """Blocking loop for a thread worker: calls ``callback(event, ifname, index)``
    on link, address and route changes (see :class:`LinkSubscription`) until
    ``stop_event`` is set; it notices within ``poll_interval`` seconds. For an
    immediate stop use :class:`LinkSubscription` and its ``stop()``."""
    LinkSubscription(callback, addresses=addresses, routes=routes).run(stop_event, poll_interval)
