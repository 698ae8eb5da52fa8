"""The second process of a cold build: host dumps, the socket walk and namespace
reads on the machine's other core (:class:`ReaderProcess`), and what runs in it.

Hand-written only in the sharing: the process is ``concurrent.futures``'
``ProcessPoolExecutor``; the reads are :mod:`inspectors.sandbox`'s and
:mod:`inspectors.kernel`'s own."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future

from .sandbox import _NO_WAY_HOME, NetnsError, SandboxInfo, _Reader


def cpus() -> int:
    """The cores this process may run on: a second process pays only with two."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ReaderProcess:
    """Reads on the machine's other core: one Python process
    (``concurrent.futures.ProcessPoolExecutor``) running :class:`_Reader`, the host
    dumps (:func:`inspectors.kernel.dump_in_child`) and the socket walk.

    pyroute2 decodes in Python under the GIL (~1.5 ms per namespace, ~0.4 s for
    a host with 300 veths, measured in bench/snapshot), so a cold build's kernel
    reads go to a process of their own while this one talks to the engine.
    Forked when the caller has one thread (a one-shot command), else spawned
    (~0.1 s to be ready). Shut down after the build.
    """

    def __init__(self, warm: bool = True):
        import multiprocessing
        import sys
        from concurrent.futures import ProcessPoolExecutor

        # fork (~10 ms) only while this process has a single thread: a fork copies
        # no other thread, so no lock can be left held in the child; else spawn
        how = "fork" if threading.active_count() == 1 else "spawn"
        if how == "fork":  # nothing buffered may be written twice
            for f in (sys.stdout, sys.stderr):
                try:
                    f.flush()
                except (OSError, ValueError, AttributeError):
                    pass
        self.method = how
        self._ex = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context(how), initializer=_child_init
        )
        if warm:  # the child imports pyroute2 while the engine answers
            self._ex.submit(_child_warm)
        self._lock = threading.Lock()
        self._pending: list[tuple[Future, object, object, bool]] = []  # not sent yet
        self._chunks: list[tuple[Future, list]] = []  # (the process's future, its reads)
        self._early: tuple[bool, Future] | None = None

    def _submit(self, fn, *args) -> Future:
        """``fn(*args)`` in the process; a dead process gives a failed future."""
        try:
            return self._ex.submit(fn, *args)
        except Exception as e:  # BrokenProcessPool, shut down
            fut: Future = Future()
            fut.set_exception(e)
            return fut

    def submit(self, pid, sandbox_key, want_nsid: bool) -> Future:
        """One namespace read; its future resolves when the chunk it went in does.
        Reads go in chunks of :data:`CHUNK`: the executor hands the process its
        next call from a thread of this process, which waits for the GIL behind
        the engine calls; one hand-over per chunk, not per namespace."""
        fut: Future = Future()
        with self._lock:
            self._pending.append((fut, pid, sandbox_key, want_nsid))
            if len(self._pending) >= CHUNK:
                self._flush_locked()
        return fut

    def flush(self) -> None:
        """Send the reads waiting for a full chunk."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        cf = self._submit(_child_read_many, [(pid, key, want) for _f, pid, key, want in batch])
        self._chunks.append((cf, batch))

        def done(cf: Future) -> None:
            if cf.cancelled():  # taken back by steal(), which resolves the reads
                return
            err = cf.exception()
            got = cf.result() if err is None else [None] * len(batch)
            for (f, *_rest), info in zip(batch, got):
                if f.done():
                    continue
                if err is not None:
                    f.set_exception(err)
                else:
                    f.set_result(info)

        cf.add_done_callback(done)

    def host_dumps(self, with_fdb: bool) -> Future:
        """The host link, address and FDB dumps, read in the process
        (:func:`inspectors.kernel.dump_in_child`); the ones :meth:`early_dumps`
        started, when they match."""
        early, self._early = self._early, None
        if early is not None and early[0] == with_fdb:
            return early[1]
        from .kernel import dump_in_child

        return self._submit(dump_in_child, with_fdb)

    def early_dumps(self, with_fdb: bool) -> None:
        """Start the host dumps now, for the first :meth:`host_dumps` to take."""
        from .kernel import dump_in_child

        self._early = (with_fdb, self._submit(dump_in_child, with_fdb))

    def call(self, fn, *args) -> Future:
        """Any other read of a cold build (a module-level function), in the process."""
        return self._submit(fn, *args)

    def steal(self, read_here) -> int:
        """Share the tail: the reads never sent, then, one chunk at a time from
        the last one back, each chunk the process has not started is cancelled
        and read here instead (``read_here(pid, sandbox_key)``, in a worker
        thread), until one the process has started: it works from the front
        meanwhile, so the two meet in the middle. Returns how many namespaces
        were read here."""
        n = 0

        def mine(batch) -> None:
            nonlocal n
            for f, pid, key, _want in batch:
                if not f.done():
                    f.set_result(read_here(pid, key))
                    n += 1

        with self._lock:
            pending, self._pending = self._pending, []
            chunks = list(self._chunks)
        mine(pending)
        for cf, batch in reversed(chunks):
            if not cf.cancel():
                break
            mine(batch)
        return n

    def close(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = [b for _cf, b in self._chunks] + [self._pending]
            self._pending, self._chunks = [], []
        for batch in left:  # nobody waits forever on a read that will not come
            for f, *_rest in batch:
                if not f.done():
                    f.set_exception(RuntimeError("reader process closed"))


_CHILD: dict[bool, _Reader] = {}


def _child_init() -> None:
    """In the reader process: ctrl+c at the terminal reaches the whole process
    group; the caller decides, the reader never prints a traceback of its own."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_shot_gc()


def one_shot_gc() -> None:
    """For a process that builds one model and exits (a one-shot command, the
    reader process): the cyclic collector runs far less often. pyroute2 makes
    ~100 objects per link and many cycles; with the default thresholds the
    collector took 37% of the host dumps' CPU (600 links: 0.51 s -> 0.33 s).
    Garbage cycles wait for a 100,000-allocation generation, then go."""
    import gc

    gc.freeze()  # what is alive now (the imports) is never scanned again
    gc.set_threshold(100_000, 50, 100)
    gc.enable()  # a reader forked by the console's start-up inherits it switched off


def _child_warm() -> None:
    import importlib

    for name in ("pyroute2", "inspectors.kernel", "inspectors.routes"):
        importlib.import_module(name)


CHUNK = 16  # namespace reads per call into the reader process


def _child_read_many(targets: list) -> list[SandboxInfo]:
    """In the reader process: a chunk of (pid, SandboxKey, want_nsid)."""
    return [_child_read(*t) for t in targets]


def _child_read(pid, sandbox_key, want_nsid: bool) -> SandboxInfo:
    """In the reader process: one namespace, read like the caller would."""
    r = _CHILD.get(want_nsid)
    if r is None:
        r = _CHILD[want_nsid] = _Reader(want_nsid=want_nsid)
    try:
        return r.read_target(pid, sandbox_key)
    except NetnsError as e:
        if e.strerror == _NO_WAY_HOME:  # stuck in a container's netns: die, the caller reads
            os._exit(70)
        return SandboxInfo(error=e.strerror or str(e))
    except Exception as e:  # one container never breaks the batch
        return SandboxInfo(error=f"{type(e).__name__}: {e}")
