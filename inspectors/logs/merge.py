"""Several containers' logs as one stream, each line tagged with its container."""

from __future__ import annotations

import heapq
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from inspectors.logs.container import ContainerLogSource
from inspectors.logs.lines import LogLine, LogSource, LogStreamError, format_timestamp, meta_line


class MergedLogSource(LogSource):
    """Several containers as one stream, each line tagged with its container.

    History (``tail``/``since``) of all containers is read first and merged by
    timestamp; then, when following, each container is followed from its last
    line on (lines at or before it are dropped) by a reader thread of its own,
    and lines are passed on as they arrive. :meth:`close` stops them all.

    ``reattach``/``on_state``: as :class:`ContainerLogSource`, per container;
    ``on_state("waiting", ...)`` comes when every followed container waits,
    ``on_state("resumed", ...)`` when one of them starts again.
    """

    def __init__(
        self,
        client,
        containers: list[str],
        *,
        follow: bool = True,
        tail: int | str = 500,
        since: float | None = None,
        reattach: bool = False,
        on_state: Callable[[str, str], None] | None = None,
    ):
        self.client = client
        self.reattach = reattach
        self.on_state = on_state
        self._alive: set[str] = set()  # followed containers whose reader runs
        self._waiting: dict[str, str] = {}  # ... of those, the ones waiting for a start
        self.containers = list(containers)
        self.follow = follow
        self.tail = tail
        self.since = since
        self.name = ",".join(self.containers)
        self._subs: list[ContainerLogSource] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self.names: list[str] = []
        self.describe = f"containers {self.name}"

    def _track(self, src: ContainerLogSource) -> ContainerLogSource:
        with self._lock:
            self._subs.append(src)
            if self._closed.is_set():
                src.close()
        return src

    def open(self) -> MergedLogSource:
        """Check every container exists and can be read (clear error if not)."""
        probes = [ContainerLogSource(self.client, c, follow=False, tail=0) for c in self.containers]
        for p in probes:
            p.inspect()
            if p.driver == "none":
                raise LogStreamError(
                    f"container {p.name} was started with --log-driver none: "
                    "the engine keeps no log to read back",
                    "unsupported",
                )
        self.names = [p.name for p in probes]
        self.name = ",".join(self.names)
        window = "all" if self.tail == "all" else f"tail {self.tail} each"
        if self.since is not None:
            window = f"since {format_timestamp(datetime.fromtimestamp(self.since, UTC))}"
        self.describe = (
            f"{len(self.names)} containers merged ({', '.join(self.names)}), {window}"
            f"{', following' if self.follow else ''}"
        )
        return self

    def read(self) -> Iterator[list[LogLine]]:
        if not self.names:
            self.open()
        t0 = time.time()
        # 1. history, in parallel, merged by time
        hist: dict[str, list[LogLine]] = {}
        errors: list[LogLine] = []

        def fetch(name: str) -> None:
            src = self._track(
                ContainerLogSource(
                    self.client, name, follow=False, tail=self.tail, since=self.since
                )
            )
            lines: list[LogLine] = []
            try:
                for batch in src.read():
                    lines.extend(batch)
            except LogStreamError as e:
                errors.append(meta_line(name, str(e), "error"))
            hist[name] = lines

        threads = [threading.Thread(target=fetch, args=(n,), daemon=True) for n in self.names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self._closed.is_set():
            return
        far = datetime.max.replace(tzinfo=UTC)
        merged = list(heapq.merge(*hist.values(), key=lambda ln: ln.timestamp or far))
        merged.extend(errors)
        for i in range(0, len(merged), 5000):
            yield merged[i : i + 5000]
        if not self.follow or self._closed.is_set():
            return
        # 2. follow each from where its history ended
        live = len(self.names)
        self._alive = set(self.names)

        def sub_state(name: str, kind: str, text: str) -> None:
            if self.on_state is None:
                return
            with self._lock:
                if kind == "waiting":
                    self._waiting[name] = text
                else:
                    self._waiting.pop(name, None)
                all_wait = bool(self._alive) and self._alive <= set(self._waiting)
                why = "; ".join(f"{n}: {t}" for n, t in self._waiting.items())
            if kind == "resumed":
                self.on_state("resumed", text)
            elif all_wait:
                self.on_state("waiting", why)

        def follow(name: str) -> None:
            lines = hist.get(name) or []
            last = next((ln.timestamp for ln in reversed(lines) if ln.timestamp), None)
            since = None if last else (self.since if self.since is not None else t0)
            src = self._track(
                ContainerLogSource(
                    self.client,
                    name,
                    follow=True,
                    tail="all",
                    since=since if last is None else last.timestamp(),
                    after=last,
                    reattach=self.reattach,
                    on_state=lambda kind, text, n=name: sub_state(n, kind, text),
                )
            )
            try:
                for batch in src.read():
                    self._q.put(batch)
            except LogStreamError as e:
                self._q.put([meta_line(name, str(e), "error")])
            except Exception as e:  # never let a reader die silently
                self._q.put([meta_line(name, f"log stream broke: {e}", "error")])
            finally:
                with self._lock:
                    self._alive.discard(name)
                    self._waiting.pop(name, None)
                    all_wait = bool(self._alive) and self._alive <= set(self._waiting)
                    why = "; ".join(f"{n}: {t}" for n, t in self._waiting.items())
                if all_wait and self.on_state is not None and not self._closed.is_set():
                    self.on_state("waiting", why)
                self._q.put(None)

        for n in self.names:
            threading.Thread(
                target=follow, args=(n,), daemon=True, name=f"dockscope-logs-{n}"
            ).start()
        while live:
            item = self._q.get()
            if item is None:
                live -= 1
                continue
            if self._closed.is_set():
                continue
            # drain what else is there: fewer, bigger lists
            out = list(item)
            while True:
                try:
                    more = self._q.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    live -= 1
                elif not self._closed.is_set():
                    out.extend(more)
            if not self._closed.is_set():
                yield out

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            s.close()


def open_container_logs(
    client,
    containers: list[str],
    *,
    follow: bool = True,
    tail: int | str = 500,
    since: float | None = None,
    reattach: bool = False,
    on_state: Callable[[str, str], None] | None = None,
) -> LogSource:
    """One container -> :class:`ContainerLogSource`; several -> :class:`MergedLogSource`.
    Opened (so errors come out here, as :class:`LogStreamError`). ``reattach``:
    a follow waits for a stopped/removed container to start again (see
    :class:`ContainerLogSource`)."""
    if not containers:
        raise LogStreamError("no container given", "notfound")
    if len(containers) == 1:
        return ContainerLogSource(
            client,
            containers[0],
            follow=follow,
            tail=tail,
            since=since,
            reattach=reattach,
            on_state=on_state,
        ).open()
    return MergedLogSource(
        client,
        containers,
        follow=follow,
        tail=tail,
        since=since,
        reattach=reattach,
        on_state=on_state,
    ).open()


# --------------------------------------------------------------------------- files
