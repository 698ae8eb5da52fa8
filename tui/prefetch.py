"""The console's first engine read, started before Textual is imported.

`dockscope` (no sub-command) calls :func:`start` first thing: a thread opens the
model's engine object and lists the networks (the cheapest call, whatever the
container count) while the main thread imports Textual and builds the screen.
:class:`tui.live.Live` takes the result as its first frame, then reads the rest.

Imports nothing heavy at module level (no textual, no docker): it must run
before them.
"""

from __future__ import annotations

import threading


class FirstRead:
    """``model`` (an :class:`inspectors.snapshot.Model`) and, once :meth:`result`
    returns, its networks-only :meth:`~inspectors.snapshot.Model.quick` snapshot."""

    def __init__(self, model) -> None:
        self.model = model
        self._snap = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dockscope-first-read", daemon=True)

    def start(self) -> FirstRead:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._snap = self.model.quick(containers=False)
        except BaseException as e:  # handed to the caller of result()
            self._error = e
        finally:
            self._done.set()

    def result(self, timeout: float | None = None):
        """The networks-only snapshot (waits for it; raises what the read raised)."""
        if not self._done.wait(timeout):
            raise TimeoutError("first read still running")
        if self._error is not None:
            raise self._error
        return self._snap


class ForkedFirstRead(FirstRead):
    """The same read in a second process, forked before this one imports anything
    heavy: the docker SDK's import and the list call run on the other core while
    this process imports Textual and builds the screen (in a thread they would
    take turns with it). The process stays for the model's first build, which
    reads the host tables, sockets and namespaces there
    (:class:`inspectors.readerproc.ReaderProcess`)."""

    def __init__(self, model, procs) -> None:
        super().__init__(model)
        self.procs = procs
        self._fut = None

    def start(self) -> ForkedFirstRead:
        self._fut = self.procs.call(_quick_in_child, self.model.host, self.model.context)
        self.model.give_reader_process(self.procs)
        return self

    def result(self, timeout: float | None = None):
        import concurrent.futures

        try:
            ok, got = self._fut.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError("first read still running") from None
        except Exception:  # the process died: read here
            return self.model.quick(containers=False)
        if not ok:
            from inspectors.api import EngineError

            raise EngineError(*got)
        return got


def _quick_in_child(host, context):
    """In the forked process: the networks-only snapshot, or the engine error's
    (message, kind) (an exception with extra fields may not survive pickling)."""
    from inspectors.api import EngineError
    from inspectors.snapshot import Model

    m = Model(host, context)
    try:
        return True, m.quick(containers=False)
    except EngineError as e:
        return False, (str(e), e.kind)
    finally:
        m.close()


def start(host: str | None = None) -> FirstRead:
    """A :class:`FirstRead` on a new model of ``host``, already running: in a
    forked process when this one has a single thread and two cores, else in a
    thread."""
    import gc

    # no cyclic collection until the first frame is painted (the app turns it back on,
    # tui/app.py _first_painted): the imports and the first screen make few cycles
    # (bench/first_frame.py at 100 containers: 240 ms against 259 ms)
    gc.disable()
    from inspectors.readerproc import ReaderProcess, cpus
    from inspectors.snapshot import Model

    model = Model(host)
    if threading.active_count() == 1 and cpus() >= 2:
        try:
            return ForkedFirstRead(model, ReaderProcess(warm=False)).start()
        except Exception:  # no multiprocessing here: a thread
            pass
    return FirstRead(model).start()
