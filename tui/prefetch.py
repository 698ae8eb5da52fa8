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


def start(host: str | None = None) -> FirstRead:
    """A :class:`FirstRead` on a new model of ``host``, already running."""
    from inspectors.snapshot import Model

    return FirstRead(Model(host)).start()
