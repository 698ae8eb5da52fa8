"""What keeps the console current: docker events and netlink link events.

:class:`Live` holds three loops, each run by the app in its own thread worker:

* :meth:`Live.events_loop` reads ``engine.client.events(decode=True, ...)`` on
  the model's engine object and queues every event. When the stream breaks it
  tells the app the engine is gone (:class:`EngineLost`) and reconnects by
  itself with backoff (0.5 s doubling to 5 s); when it is back it queues a full
  rebuild (then :class:`EngineBack`). Closing the stream (:meth:`Live.close`) is
  what stops it: ``worker.cancel()`` cannot interrupt a blocking read.
* :meth:`Live.heartbeat_loop` (a thread the events loop starts) pings the
  engine every 2 s with a 5 s timeout: a hung dockerd (SIGSTOP) keeps the
  stream open but silent. A failed ping is EngineLost and marks the model's
  last good snapshot stale (posted as ``reason="stale"``); the next answer
  rebuilds by itself.
* :meth:`Live.netlink_loop` subscribes to RTM_NEWLINK/DELLINK (and address)
  notifications and queues a kernel refresh.
* :meth:`Live.apply_loop` owns the model: it paints first (``model.quick()``,
  then ``model.build()``), then drains the queue, coalescing bursts (it keeps
  draining until the queue has been quiet for ``QUIET`` seconds, at most
  ``MAX_BATCH``), applies the targeted refreshes once per batch and posts ONE
  :class:`LiveUpdate` with a private copy of the snapshot. Only this thread
  mutates the model, so the UI never reads a half-updated snapshot.

Nothing here touches a widget: everything reaches the UI as a message.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import queue
import threading
import time
from typing import Any
from collections.abc import Callable

from textual.message import Message

from inspectors.model import Snapshot

QUIET = 0.03  # a burst is over after this long without a new item
MAX_BATCH = 0.15  # ...or after this long in any case
KERNEL_MIN_INTERVAL = 0.5  # link churn alone (busy hosts) re-reads the kernel at most this often
# back-pressure: after an apply that took t seconds, the next one gathers for at least
# HOLD_RATIO * t (at most HOLD_MAX): under sustained churn the loop works at most half
# the time and batches grow with the host (an apply costs more with more containers),
# instead of falling behind the events; a lone event on a quiet host is not held
HOLD_RATIO = 1.0
HOLD_MAX = 2.0
BACKOFF_MIN, BACKOFF_MAX = 0.5, 5.0
HEARTBEAT_INTERVAL = 2.0  # ping the engine this often...
HEARTBEAT_TIMEOUT = 5.0  # ...and call it hung when a ping takes longer (loaded hosts: not less)
IDLE_POLL = 30.0  # loops that close() wakes itself re-check their stop flag only this often
TRIM_INTERVAL = 5.0  # seconds between two hand-backs of the C heap's free pages (trim_heap)


def _libc_trim():
    """glibc's ``malloc_trim``, or None (another libc, no ctypes)."""
    try:
        import ctypes
        import ctypes.util

        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "malloc_trim")
    except (OSError, AttributeError, ImportError):
        return None


_TRIM = _libc_trim()


def trim_heap() -> bool:
    """Give the C heap's free pages back to the kernel (glibc ``malloc_trim(0)``;
    hand-written: ctypes, no maintained library wraps it). Each update's transient
    copies (the snapshot for the UI, inspects, netlink messages) are freed, but glibc
    keeps the pages in its per-thread arenas: at 300 containers under churn the
    console's RSS ended 14 MB higher without it (bench/RESULTS.md, stop 19; bench/soak
    at 1,000: 7-9 MB). False if unavailable."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


CONTAINER_ACTIONS = {
    "create",
    "start",
    "die",
    "destroy",
    "rename",
    "pause",
    "unpause",
    "restart",
    "update",
    "stop",
}
NETWORK_ACTIONS = {"create", "destroy", "connect", "disconnect", "remove", "update"}
LISTENER_ACTIONS = {"start", "die", "destroy", "stop", "restart", "pause", "unpause"}


def _ev_key(ev: dict) -> tuple:
    """An event's identity: `since` replays the ones already seen."""
    return (ev.get("timeNano"), ev.get("Action"), (ev.get("Actor") or {}).get("ID"))


def clone(snap: Snapshot) -> Snapshot:
    """A private deep copy for the UI (pickle is ~4x faster than deepcopy here)."""
    return pickle.loads(pickle.dumps(snap, protocol=pickle.HIGHEST_PROTOCOL))


# --------------------------------------------------------------------------- messages


_KERNEL_ACTIONS = {
    "RTM_NEWLINK": "link new/changed",
    "RTM_DELLINK": "link deleted",
    "RTM_NEWADDR": "address added",
    "RTM_DELADDR": "address removed",
    "RTM_NEWROUTE": "route added",
    "RTM_DELROUTE": "route removed",
}


def kernel_events(items: list) -> list[dict]:
    """Netlink notifications as timeline entries beside docker events (one per kind
    and interface in a batch): a bridge deleted from under the engine shows here."""
    out: list[dict] = []
    seen: set[tuple] = set()
    now = time.time()
    for item in items:
        if not isinstance(item, tuple) or len(item) not in (2, 3):
            continue
        ev, name = item[0], item[1]
        # stamped when the notification arrived (a batch can be applied seconds later)
        at = item[2] if len(item) == 3 else now
        if (ev, name) in seen or ev not in _KERNEL_ACTIONS:
            continue
        seen.add((ev, name))
        out.append(
            {
                "Type": "kernel",
                "Action": _KERNEL_ACTIONS[ev],
                "Actor": {"ID": "", "Attributes": {"name": name or "?"}},
                "time": int(at),
                "timeNano": int(at * 1e9),
            }
        )
    return out


class LiveUpdate(Message):
    """A new snapshot (a private copy) and/or docker events to show."""

    def __init__(
        self,
        snapshot: Snapshot | None,
        events: list[dict] | None = None,
        reason: str = "",
        kernel: bool = False,
        elapsed: float = 0.0,
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.events = events or []
        self.reason = (
            reason  # quick | list | build | events | kernel | stats | rebuild | reconnect | stale
        )
        self.kernel = kernel  # the kernel (links, counters) was re-read for this snapshot
        self.elapsed = elapsed


class EngineLost(Message):
    def __init__(self, error: str, kind: str, attempt: int, retry_in: float) -> None:
        super().__init__()
        self.error = error
        self.kind = kind
        self.attempt = attempt
        self.retry_in = retry_in


class EngineBack(Message):
    def __init__(self, after: float) -> None:
        super().__init__()
        self.after = after  # seconds the engine was away


class LiveError(Message):
    """Something in the live loops failed without losing the engine (shown once)."""

    def __init__(self, where: str, error: str) -> None:
        super().__init__()
        self.where = where
        self.error = error


# --------------------------------------------------------------------------- loops


class Live:
    def __init__(
        self,
        model,
        post: Callable[[Message], Any],
        host: str | None = None,
        started_at: float | None = None,
        with_events: bool = True,
        first_read=None,
    ) -> None:
        self.model = model
        self.first_read = first_read  # tui.prefetch.FirstRead started before Textual, or None
        self.post = post
        self.host = host if host is not None else getattr(model, "host", None)
        self.started_at = started_at or time.time()
        self.with_events = with_events
        self.queue: queue.Queue[tuple] = queue.Queue()
        self.stop = threading.Event()
        self._stream = None
        self._subscription = None
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._attempt = 0
        self.engine_up: bool | None = None
        self.down_since: float | None = None
        self.event_count = 0
        self._kernel_at = 0.0
        self._hold_until = 0.0  # back-pressure: the next apply gathers until then
        self.applies = 0
        self._trimmed_at = 0.0
        self._trim_due = False  # updates published since the last trim
        # names of the host interfaces this engine's view shows (set after each
        # snapshot; None until the first): link churn elsewhere on the host (other
        # engines, VMs, test namespaces) is not re-read
        self._kernel_names: frozenset[str] | None = None
        self.kernel_skipped = 0  # notifications ignored as not this engine's
        self._bridge_names: frozenset[str] = frozenset()  # every bridge of the last snapshot
        self._other_bridges: set[str] = set()  # bridges seen appear since (netlink thread)
        # set by the app once the first snapshot is on screen: the full build
        # (CPU-heavy Python) waits for it so the first frame is not starved of the GIL
        self.first_paint = threading.Event()

    # ---------------------------------------------------------------- control
    def request(self, kind: str, arg: Any = None) -> None:
        """Ask the apply loop for work: rebuild | kernel | stats | listeners."""
        self.queue.put((kind, arg))

    def close(self) -> None:
        """Stop every loop promptly (idempotent, any thread)."""
        if self.stop.is_set():
            return
        self.stop.set()
        self.first_paint.set()
        self.queue.put(("stop", None))
        with self._lock:
            stream, sub = self._stream, self._subscription
        if stream is not None:  # unblocks the events loop's read
            with contextlib.suppress(Exception):
                stream.close()
        if sub is not None:
            with contextlib.suppress(Exception):
                sub.stop()

    # ---------------------------------------------------------------- engine state
    def _down(self, err: str, kind: str) -> None:
        """The engine failed (events stream, heartbeat): say so on every attempt; the
        first time also mark the model's last good state stale (apply loop)."""
        with self._state_lock:
            first = self.engine_up is not False
            if first:
                self.down_since = time.time()
            self.engine_up = False
            self._attempt += 1
            attempt = self._attempt
        if first:
            self.queue.put(("lost", (err, kind)))
        self.post(EngineLost(err, kind, attempt, HEARTBEAT_INTERVAL))

    def _up(self) -> None:
        with self._state_lock:
            was_down = self.engine_up is False
            self.engine_up = True
            after = time.time() - (self.down_since or time.time())
            self.down_since = None
            self._attempt = 0
        if was_down:
            self.queue.put(("back", after))  # the apply loop rebuilds, then posts EngineBack

    def heartbeat_loop(self) -> None:
        """A hung dockerd (SIGSTOP, deadlock) keeps its socket open: the event stream
        just goes quiet. Ping every HEARTBEAT_INTERVAL with a HEARTBEAT_TIMEOUT."""
        from inspectors.api import EngineError

        while not self.stop.wait(HEARTBEAT_INTERVAL):
            eng = getattr(self.model, "engine", None)
            if eng is None:
                continue  # not open yet: the events loop reports why
            try:
                eng.heartbeat(HEARTBEAT_TIMEOUT)
            except EngineError as e:
                if not self.stop.is_set():
                    self._down(str(e), e.kind)
                continue
            if self.engine_up is False and not self.stop.is_set():
                self._up()

    # ---------------------------------------------------------------- docker events
    def _connect(self):
        """The model's engine object (opened by it once), answering now."""
        eng = self.model.connect()
        eng.heartbeat(HEARTBEAT_TIMEOUT)
        return eng

    def events_loop(self) -> None:
        from inspectors.api import EngineError

        hb = threading.Thread(target=self.heartbeat_loop, name="dockscope-heartbeat", daemon=True)
        hb.start()
        since: float = self.started_at
        seen: set[tuple] = set()
        recent: collections.deque[tuple] = collections.deque()
        backoff = BACKOFF_MIN
        filters = {"type": ["container", "network", "daemon"]}
        backlog_done = False
        while not self.stop.is_set():
            err, kind = "", "unreachable"
            try:
                eng = self._connect()
                if not backlog_done:  # once: the recent past, then follow (tui/panes/events.py)
                    from tui.panes.events import read_backlog

                    backlog_done = True
                    backlog = read_backlog(eng, self.started_at)
                    for ev in backlog[-512:]:
                        seen.add(_ev_key(ev))
                        recent.append(_ev_key(ev))
                    if backlog and not self.stop.is_set():
                        self.post(LiveUpdate(None, events=backlog, reason="backlog"))
                with eng.errors():
                    # events since the last one seen: nothing is lost across a reconnect
                    stream = eng.client.events(decode=True, filters=filters, since=f"{since:.9f}")
                with self._lock:
                    self._stream = stream
                if self.stop.is_set():
                    break
                self._up()
                backoff = BACKOFF_MIN
                with eng.errors():
                    for ev in stream:
                        if self.stop.is_set():
                            break
                        if not isinstance(ev, dict):
                            continue
                        key = _ev_key(ev)
                        if key in seen:  # replayed by `since` after a reconnect
                            continue
                        seen.add(key)
                        recent.append(key)
                        if len(recent) > 512:
                            seen.discard(recent.popleft())
                        since = max(since, _ev_time(ev))
                        self.queue.put(("event", ev))
                if self.stop.is_set():
                    break
                err = "the engine closed the event stream"
                # closed cleanly: is the engine still there?
                with contextlib.suppress(EngineError):
                    eng.heartbeat(HEARTBEAT_TIMEOUT)
                    err = ""
            except EngineError as e:
                err, kind = str(e), e.kind
            except Exception as e:  # a bug, not the engine: say it, retry
                err = _one_line(e)
            finally:
                with self._lock:
                    stream, self._stream = self._stream, None
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
            if self.stop.is_set():
                break
            if not err:
                continue  # the stream ended but the engine answers: subscribe again
            self._down(err, kind)
            if self.stop.wait(backoff):
                break
            backoff = min(backoff * 2, BACKOFF_MAX)

    # ---------------------------------------------------------------- netlink
    def _on_netlink(self, ev: str, name: str | None, index: int) -> None:
        """A netlink notification: queued when it concerns this engine's interfaces
        (its bridges, their ports, macvlan parents, container veths) or when the
        kernel dropped events (RESYNC), the kernel is re-read; any other interface
        (other engines, VMs, namespaces on a busy host) only joins the timeline. A
        new interface of our own comes with a docker event (start, connect, network
        create) that re-reads the kernel."""
        names = self._kernel_names
        if names is not None and ev != "RESYNC" and name not in names:
            # someone else's: no kernel re-read; a bridge joins the timeline, the
            # veth churn of other engines does not
            self.kernel_skipped += 1
            known = name in self._bridge_names or name in self._other_bridges
            if name and (known or _is_bridge(name)):
                if ev == "RTM_DELLINK":
                    self._other_bridges.discard(name)
                elif len(self._other_bridges) < 4096:  # its deletion is told by name only
                    self._other_bridges.add(name)
                self.queue.put(("kernel-other", (ev, name, time.time())))
            return
        self.queue.put(("kernel", (ev, name, time.time())))

    def _note_kernel_names(self, snap: Snapshot) -> None:
        if not snap.engine.reachable or not (snap.links or snap.bridges):
            return  # no kernel view (remote engine, first paint): keep what we had
        ours = {n.bridge for n in snap.networks if n.bridge} | {"docker0"}
        names = set(ours)
        names.update(n.parent for n in snap.networks if n.parent)
        for b in snap.bridges:
            if b.name in ours:
                names.update(p.name for p in b.ports)
        for link in snap.links:
            if link.master_name in ours or link.container_id:
                names.add(link.name)
        self._kernel_names = frozenset(names)
        self._bridge_names = frozenset(b.name for b in snap.bridges)

    def netlink_loop(self) -> None:
        try:
            from inspectors import kernel

            sub = kernel.LinkSubscription(self._on_netlink)
        except Exception as e:
            self.post(LiveError("netlink", f"link notifications unavailable: {_one_line(e)}"))
            return
        with self._lock:
            self._subscription = sub
        if self.stop.is_set():
            sub.close()
            return
        try:
            # close() stops the subscription itself (sub.stop() wakes it at once): no
            # need to poll the stop flag often; a long interval keeps the console idle
            sub.run(self.stop, poll_interval=IDLE_POLL)
        except Exception as e:
            if not self.stop.is_set():
                self.post(LiveError("netlink", f"link notifications stopped: {_one_line(e)}"))

    # ---------------------------------------------------------------- apply
    def _publish(
        self, reason: str, events: list[dict], kernel: bool, t0: float, with_snapshot: bool = True
    ) -> None:
        snap = None
        if with_snapshot:
            lock = getattr(self.model, "_lock", None) or contextlib.nullcontext()
            with lock:
                snap = clone(self.model.snapshot)
            self._note_kernel_names(snap)
        self._trim_due = True
        self.post(LiveUpdate(snap, events, reason, kernel, time.monotonic() - t0))

    def initial_load(self) -> None:
        """First frame from the cheapest call (the networks list: its cost does not
        grow with the container count), then the container list, then the full
        build; each posted as soon as it is read (reasons quick, list, build)."""
        t0 = time.monotonic()
        fr, self.first_read = self.first_read, None
        quick = fr.result() if fr is not None else self.model.quick(containers=False)
        self.post(LiveUpdate(quick, [], "quick", False, time.monotonic() - t0))
        # the rest is CPU-heavy Python: it waits for the first frame (GIL)
        self.first_paint.wait(1.0)
        if self.stop.is_set():
            return
        if quick.engine.reachable:
            t0 = time.monotonic()
            lists = self.model.quick()
            if self.stop.is_set():
                return
            self.post(LiveUpdate(lists, [], "list", False, time.monotonic() - t0))
        t0 = time.monotonic()
        self.model.build()
        self._publish("build", [], True, t0)

    def apply_loop(self, initial: bool = True) -> None:
        if initial:
            try:
                self.initial_load()
            except Exception as e:
                self.post(LiveError("load", _one_line(e)))
        while not self.stop.is_set():
            try:  # close() queues "stop": no timeout needed (an idle console sleeps)
                first = self.queue.get(timeout=IDLE_POLL)
            except queue.Empty:
                continue
            batch = [first]
            start = time.monotonic()
            while True:
                left = min(QUIET, MAX_BATCH - (time.monotonic() - start))
                if left <= 0:
                    break
                try:
                    batch.append(self.queue.get(timeout=left))
                except queue.Empty:
                    break
            if any(k == "stop" for k, _ in batch):
                return
            if all(k in ("kernel", "kernel-other") for k, _ in batch):
                # only link notifications: throttle, gathering what else comes meanwhile
                # (a docker event ends it: apply everything now)
                self._gather_until(
                    batch, self._kernel_at + KERNEL_MIN_INTERVAL, ("kernel", "kernel-other")
                )
                if any(k == "stop" for k, _ in batch):
                    return
            self._gather_until(batch, self._hold_until)
            if any(k == "stop" for k, _ in batch):
                return
            t_apply = time.monotonic()
            try:
                self._apply(batch)
            except Exception as e:
                if not self.stop.is_set():
                    self.post(LiveError("update", _one_line(e)))
            self.applies += 1
            took = time.monotonic() - t_apply
            self._hold_until = time.monotonic() + min(HOLD_MAX, HOLD_RATIO * took)

    def trim_if_due(self) -> bool:
        """Called on the UI's clock (tui/app.py): once updates were published (the
        UI has applied them by the next tick), hand the C heap's free pages back
        (:func:`trim_heap`), at most every TRIM_INTERVAL s; nothing at rest."""
        now = time.monotonic()
        if not self._trim_due or now - self._trimmed_at < TRIM_INTERVAL:
            return False
        self._trim_due, self._trimmed_at = False, now
        return trim_heap()

    def _gather_until(self, batch: list[tuple], until: float, only: tuple = ()) -> None:
        """Add what arrives until ``until`` to ``batch``; a stop ends it, and so does
        an item of a kind not in ``only`` (when given)."""
        while (left := until - time.monotonic()) > 0:
            try:
                item = self.queue.get(timeout=left)
            except queue.Empty:
                return
            batch.append(item)
            if item[0] == "stop" or (only and item[0] not in only):
                return

    def _apply(self, batch: list[tuple]) -> None:
        from inspectors.api import EngineError

        t0 = time.monotonic()
        kinds = {k for k, _ in batch}
        events = [ev for k, ev in batch if k == "event"]
        self.event_count += len(events)
        m = self.model
        if "lost" in kinds and not ({"back", "rebuild"} & kinds):
            err, kind = next(a for k, a in batch if k == "lost")
            mark = getattr(m, "mark_stale", None)
            if mark is not None:
                mark(err, kind)
            self._publish("stale", events, False, t0)
            return
        if "back" in kinds or "rebuild" in kinds:
            after = next((a for k, a in batch if k == "back"), None)
            try:
                m.build()  # fails softly: keeps the last good state, marked stale
                self._publish("reconnect" if after is not None else "rebuild", events, True, t0)
            finally:
                if after is not None and getattr(m.snapshot, "stale", False):
                    # it answered a ping but not the rebuild: the next answer tries again
                    with self._state_lock:
                        self.engine_up = False
                        self.down_since = time.time() - after
                elif after is not None:
                    self.post(EngineBack(after))
            return
        nets: list[str] = []
        # a network only gained or lost an endpoint: its bridge is the same, and the
        # container's refresh fetches (or drops) the veth by ifindex: no kernel dump
        nets_attach_only: set[str] = set()
        ctrs: list[str] = []
        listeners = "listeners" in kinds
        daemon = False
        for ev in events:
            typ, action = ev.get("Type"), (ev.get("Action") or "").split(":")[0]
            actor = ev.get("Actor") or {}
            aid = actor.get("ID") or ""
            attrs = actor.get("Attributes") or {}
            if typ == "container" and action in CONTAINER_ACTIONS and aid:
                if aid not in ctrs:
                    ctrs.append(aid)
                listeners |= action in LISTENER_ACTIONS
            elif typ == "network" and action in NETWORK_ACTIONS and aid:
                if aid not in nets:
                    nets.append(aid)
                    nets_attach_only.add(aid)
                cid = attrs.get("container")
                if action not in ("connect", "disconnect") or not cid:
                    nets_attach_only.discard(aid)
                if cid and cid not in ctrs:
                    ctrs.append(cid)
            elif typ == "daemon":
                daemon = True
        kernel = False
        changed = bool(events)
        if self.engine_up is not False:
            try:
                for nid in nets:
                    if nid in nets_attach_only:
                        m.refresh_network(nid, kernel=False)
                    else:
                        m.refresh_network(nid)
                        kernel = True  # refresh_network re-reads links and bridges
                for cid in ctrs:
                    m.refresh_container(cid)
                if daemon:
                    self._refresh_engine()
            except EngineError as e:
                if e.kind not in ("unreachable", "permission"):
                    raise
        if ({"kernel", "stats"} & kinds) and not kernel:
            m.refresh_kernel()
            kernel = changed = True
        if kernel or "kernel-other" in kinds:  # link churn is posted at most every 0.5 s
            self._kernel_at = time.monotonic()
        if listeners:
            m.refresh_listeners()
            changed = True
        others = [a for k, a in batch if k == "kernel-other"]
        changed = changed or bool(nets or ctrs or daemon or others)
        if not changed:
            return
        reason = (
            "events"
            if events
            else (
                "stats"
                if "stats" in kinds and "kernel" not in kinds
                else ("kernel" if kernel or others else "listeners")
            )
        )
        self._publish(
            reason,
            # one timeline: docker events and link notifications in the order they happened
            sorted(
                events + kernel_events([a for k, a in batch if k in ("kernel", "kernel-other")]),
                key=_ev_time,
            ),
            kernel,
            t0,
            with_snapshot=bool(nets or ctrs or daemon or kernel or listeners),
        )

    def _refresh_engine(self) -> None:
        """A daemon event (reload: debug toggled...): re-read the engine facts."""
        from inspectors import engine as eng

        api = getattr(self.model, "engine", None)
        if api is None:
            return
        fresh = eng.read_engine(api)
        lock = getattr(self.model, "_lock", None) or contextlib.nullcontext()
        with lock:
            old = self.model.snapshot.engine
            fresh.daemon = old.daemon
            fresh.containers_total = old.containers_total
            fresh.containers_running = old.containers_running
            self.model.snapshot.engine = fresh


def _is_bridge(ifname: str) -> bool:
    """Is this host interface a bridge (sysfs; the notification carries only the name)?"""
    if "/" in ifname or ifname in (".", ".."):
        return False
    return os.path.isdir(f"/sys/class/net/{ifname}/bridge")


def _ev_time(ev: dict) -> float:
    if ev.get("timeNano"):
        return ev["timeNano"] / 1e9
    return float(ev.get("time") or 0)


def _one_line(e: BaseException) -> str:
    s = str(e).strip() or type(e).__name__
    return s.splitlines()[0][:300]
