"""One container's log through the engine's docker client: one request
(stdout and stderr told apart by the 8-byte frame headers; a TTY container's
log is raw bytes, all stdout), history then live when following.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from inspectors.logs.lines import (
    MAX_LINE_CHARS,
    RAW_CAP,
    TS_RE,
    LogLine,
    LogSource,
    LogStreamError,
    clean_line,
    decode,
    format_timestamp,
    meta_line,
    parse_timestamp,
)

_FAR = datetime.max.replace(tzinfo=UTC)


STREAM_NAMES = {1: "stdout", 2: "stderr"}
_HEADER = struct.Struct(">BxxxL").unpack_from


class LineAssembler:
    """Log messages (one engine frame each, or raw TTY bytes) -> lines per
    stream, with the leading RFC 3339 timestamp parsed. A message > 16 KiB
    arrives as several partial frames without a newline, each with its own
    timestamp (dropped on continuations). One unterminated line keeps at most
    ``RAW_CAP`` bytes. Lines at or before ``after`` are dropped (merge dedup).
    """

    def __init__(self, name: str, after: datetime | None = None):
        self.name = name
        self.after = after
        self.pend: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self.cut: dict[int, int] = {1: 0, 2: 0}

    def line(self, st: int, data: bytes | bytearray, extra_cut: int) -> LogLine | None:
        ts = None
        sp = data.find(b" ", 0, 40)
        if sp > 0 and data[:1].isdigit():
            ts = parse_timestamp(bytes(data[:sp]).decode(errors="replace"))
            if ts is not None:
                data = data[sp + 1 :]
        if self.after is not None and ts is not None and ts <= self.after:
            return None
        return LogLine(self.name, STREAM_NAMES.get(st, "stdout"), ts, decode(data, extra_cut))

    def _add(self, st: int, p: bytearray, seg: bytes | bytearray) -> None:
        room = RAW_CAP - len(p)
        if room >= len(seg):
            p += seg
        else:
            if room > 0:
                p += seg[:room]
            self.cut[st] += len(seg) - max(room, 0)

    def feed(self, st: int, payload: bytes, out: list[LogLine], framed: bool) -> None:
        """General path: any payload, any number of newlines, partial lines."""
        p = self.pend[st]
        if p and framed:
            m = TS_RE.match(payload)
            if m:
                payload = payload[m.end() :]
        start = 0
        while True:
            nl = payload.find(b"\n", start)
            if nl < 0:
                break
            if p:
                self._add(st, p, payload[start:nl])
                ln = self.line(st, p, self.cut[st])
                p.clear()
                self.cut[st] = 0
            else:
                seg = payload[start:nl]
                if len(seg) > RAW_CAP:
                    ln = self.line(st, seg[:RAW_CAP], len(seg) - RAW_CAP)
                else:
                    ln = self.line(st, seg, 0)
            if ln is not None:
                out.append(ln)
            start = nl + 1
        if start < len(payload):
            self._add(st, p, payload[start:])

    def message(self, st: int, data: bytes, out: list[LogLine]) -> None:
        """One engine frame payload of stream ``st`` (1 stdout, 2 stderr)."""
        n = len(data)
        if (
            n
            and data[-1] == 10
            and n <= RAW_CAP
            and not self.pend[st]
            and data.find(b"\n", 0, n - 1) < 0
        ):
            # fast path: one whole line
            ts = None
            s = 0
            sp = data.find(b" ", 0, 40)
            if sp > 0:
                try:
                    ts = datetime.fromisoformat(data[:sp].decode())
                    s = sp + 1
                except ValueError:
                    ts = parse_timestamp(data[:sp].decode(errors="replace"))
                    if ts is not None:
                        s = sp + 1
            if self.after is not None and ts is not None and ts <= self.after:
                return
            e = n - 1
            if e > s and data[e - 1] == 13:
                e -= 1
            text = data[s:e].decode("utf-8", "replace")
            if len(text) > MAX_LINE_CHARS or not text.isprintable():
                text = clean_line(text)
            out.append(LogLine(self.name, "stderr" if st == 2 else "stdout", ts, text))
        else:
            self.feed(st, data, out, True)

    def frames(self, chunks: Iterable[bytes]) -> Iterator[list[LogLine]]:
        """Multiplexed body (8-byte headers: stream, 0, 0, 0, big-endian length)
        -> lists of lines, one list per chunk read."""
        buf = b""
        message = self.message
        for chunk in chunks:
            buf = buf + chunk if buf else chunk
            n = len(buf)
            pos = 0
            out: list[LogLine] = []
            while n - pos >= 8:
                st, length = _HEADER(buf, pos)
                end = pos + 8 + length
                if end > n:
                    break
                if st <= 2:
                    message(st or 1, buf[pos + 8 : end], out)
                pos = end
            buf = buf[pos:] if pos else buf
            if out:
                yield out

    def flush(self) -> list[LogLine]:
        out = []
        for st in (1, 2):
            if self.pend[st]:
                ln = self.line(st, self.pend[st], self.cut[st])
                if ln is not None:
                    out.append(ln)
                self.pend[st].clear()
                self.cut[st] = 0
        return out


class ContainerLogSource(LogSource):
    """One container's log through the engine's docker client.

    ``client`` is the engine object's ``docker.DockerClient``. Timestamps are
    always requested (needed for merging; the view may hide them). ``tail`` is
    an int or ``"all"``; ``since`` epoch seconds. ``follow`` keeps reading
    until the container stops (then a meta line says exited/removed) or
    :meth:`close`.

    ``reattach`` (with ``follow``): when the container exited or was removed,
    do not end: wait (docker events, no polling) for a container of that NAME
    to start again (the same one restarted, or a new one created under the
    name), then yield a meta line "container NAME started again (new id ...):
    following" and follow it from that start on (no old line twice).
    ``on_state(kind, text)`` is called from the reading thread: ``"waiting"``
    (text: why the follow ended) and ``"resumed"`` (text: the marker).
    :meth:`close` also interrupts the wait.
    """

    def __init__(
        self,
        client,
        container: str,
        *,
        follow: bool = True,
        tail: int | str = 500,
        since: float | None = None,
        name: str | None = None,
        after: datetime | None = None,
        reattach: bool = False,
        on_state: Callable[[str, str], None] | None = None,
    ):
        self.client = client
        self.container = container
        self.follow = follow
        self.tail = tail if (tail == "all" or (isinstance(tail, int) and tail >= 0)) else "all"
        self.since = since
        self.after = after  # drop lines at or before this (merge dedup)
        self.name = name or container
        self.id: str | None = None
        self.tty = False
        self.driver: str | None = None
        self._streams: list = []  # the responses open now (closed by close())
        self._first = None  # the request made by open()
        self._closed = threading.Event()
        self._opened = False
        self.reattach = reattach
        self.on_state = on_state
        self.started_at: str | None = None  # State.StartedAt of the run being read
        self.restarts = 0  # times the follow re-attached
        self._end_kind: str | None = None  # exited | removed | restarted | running | engine
        self._finished_at: datetime | None = None  # State.FinishedAt seen at the end
        self._waiter = None  # the docker events stream while waiting for a start
        self._end_text = ""
        self._lock = threading.Lock()
        self.describe = f"container {self.name}"

    # ---------------------------------------------------------------- open
    def inspect(self) -> dict:
        import docker.errors as derr

        try:
            attrs = self.client.api.inspect_container(self.container)
        except derr.NotFound:
            raise LogStreamError(f"no such container: {self.container}", "notfound")
        except derr.APIError as e:
            raise LogStreamError(
                f"cannot inspect container {self.container}: {e.explanation or e}", "engine"
            )
        except Exception as e:  # DockerException, requests ConnectionError ...
            raise LogStreamError(f"engine unreachable: {e}", "engine")
        self.id = attrs.get("Id")
        self.name = (attrs.get("Name") or self.container).lstrip("/")
        self.tty = bool((attrs.get("Config") or {}).get("Tty"))
        self.driver = ((attrs.get("HostConfig") or {}).get("LogConfig") or {}).get("Type")
        self.started_at = (attrs.get("State") or {}).get("StartedAt")
        return attrs

    def _error(self, e: Exception) -> LogStreamError:
        """An SDK/requests exception from a logs request -> one clear line."""
        import docker.errors as derr

        if isinstance(e, LogStreamError):
            return e
        if not isinstance(e, derr.APIError):
            return LogStreamError(
                f"engine unreachable while opening logs of {self.name}: {e}", "engine"
            )
        status = e.status_code
        msg = str(e.explanation or e).strip()
        if status == 501 or "does not support reading" in msg:
            return LogStreamError(
                f"container {self.name} uses the {self.driver!r} logging driver, which the "
                f"engine cannot read back (no dual-logging cache): {msg}",
                "unsupported",
            )
        if status == 404:
            return LogStreamError(f"no such container: {self.container}", "notfound")
        if status == 409:
            return LogStreamError(f"container {self.name}: {msg}", "unsupported")
        return LogStreamError(f"container {self.name}: {msg}", "engine")

    def _request(self, follow: bool, tail: int | str, since: float | None):
        """The logs request, stdout and stderr on one connection (frames say which).

        Sent through the SDK's own session (``client.api``, a requests.Session:
        same adapters, TLS and ssh) and read in 64 KiB chunks: ``api.logs(stream=
        True)`` yields each frame's payload without its stream id, so stdout and
        stderr would need two requests (and the engine would read the log twice)."""
        import docker.errors as derr
        import requests

        api = self.client.api
        params: dict[str, object] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": 1 if follow else 0,
            "tail": tail,
        }
        if since is not None and since > 0:
            params["since"] = f"{since:.9f}"
        url = f"{api.base_url}/v{api.api_version}/containers/{self.id}/logs"
        try:
            res = api.get(url, params=params, stream=True)
            try:
                res.raise_for_status()
            except requests.HTTPError as e:
                raise derr.create_api_error_from_http_exception(e) from None
        except Exception as e:
            raise self._error(e) from None
        with self._lock:
            self._streams.append(res)
            closed = self._closed.is_set()
        if closed:
            _cancel(res)
        return res

    def open(self) -> ContainerLogSource:
        """Inspect and start the request; raises :class:`LogStreamError`."""
        if self._opened:
            return self
        self.inspect()
        if self.driver == "none":
            raise LogStreamError(
                f"container {self.name} was started with --log-driver none: "
                "the engine keeps no log to read back",
                "unsupported",
            )
        window = "all" if self.tail == "all" else f"tail {self.tail}"
        if self.since is not None:
            window = f"since {format_timestamp(datetime.fromtimestamp(self.since, UTC))}"
        self.describe = (
            f"container {self.name} ({self.driver or '?'} driver{', tty' if self.tty else ''}), "
            f"{window}{', following' if self.follow else ''}"
        )
        self._first = self._request(self.follow, self.tail, self.since)
        self._opened = True
        return self

    # ---------------------------------------------------------------- read
    def _chunks(self, res) -> Iterator[bytes]:
        try:
            for chunk in res.iter_content(65536):  # chunked: each chunk as it arrives
                if chunk:
                    yield chunk
        except Exception:
            if self._closed.is_set():
                return
            raise

    def _run(self, asm: LineAssembler) -> Iterator[list[LogLine]]:
        res, self._first = self._first, None
        if res is None:
            res = self._request(self.follow, self.tail, self.since)
        if self.tty:  # raw bytes, all stdout
            for chunk in self._chunks(res):
                out: list[LogLine] = []
                asm.feed(1, chunk, out, False)
                if out:
                    yield out
            return
        yield from asm.frames(self._chunks(res))

    def read(self) -> Iterator[list[LogLine]]:
        """Lists of lines as they arrive; at the end of a follow, a meta line
        saying why (exited, removed, engine gone). Nothing after close().
        With ``reattach``, then waits for the container to start again and
        goes on (see the class doc)."""
        while True:
            last: datetime | None = None
            for batch in self._read_run():
                last = _last_time(batch) or last
                yield batch
            if (
                not (self.reattach and self.follow)
                or self._closed.is_set()
                or self._end_kind not in ("exited", "removed", "restarted")
            ):
                return
            if self.on_state is not None:
                self.on_state("waiting", self._end_text)
            attrs = self._wait_for_start()
            if attrs is None:
                return  # closed
            marker = self._reopen(attrs, last)
            if self._closed.is_set():
                return
            if self.on_state is not None:
                self.on_state("resumed", marker.text)
            yield [marker]

    def _reopen(self, attrs: dict, last: datetime | None) -> LogLine:
        """Point this source at the run that just started (``attrs``: its
        inspect); returns the marker line. Lines of an earlier run of the same
        container are skipped by time (after the last one read, or its end)."""
        old_id = self.id
        new_id = attrs.get("Id") or ""
        self._first = None
        self._opened = False
        self.container = new_id or self.name
        if new_id and new_id == old_id:
            cut = (
                last
                or self._finished_at
                or parse_timestamp(str((attrs.get("State") or {}).get("StartedAt") or ""))
            )
            self.tail = "all"
            self.since = cut.timestamp() if cut is not None else None
            self.after = cut
            what = "same id"
        else:
            self.tail, self.since, self.after = "all", None, None  # a new log: all of it
            what = "new id"
        self._end_kind = None
        self._finished_at = None
        self.restarts += 1
        return meta_line(
            self.name,
            f"container {self.name} started again ({what} {new_id[:12]}): following",
            "info",
        )

    def _started_since(
        self, ref: str, old_id: str | None, old_started: str | None, evented: bool = False
    ) -> dict | None:
        """Inspect ``ref``: its attrs when it is a run other than the one read
        before (another id, or another StartedAt) that has started; else None."""
        try:
            attrs = self.client.api.inspect_container(ref)
        except Exception:
            return None
        if (attrs.get("Name") or "").lstrip("/") != self.name:
            return None
        started = (attrs.get("State") or {}).get("StartedAt") or ""
        if not evented and (not started or started.startswith("0001-")):
            return None  # created, never started
        if attrs.get("Id") == old_id and started == old_started:
            return None
        return attrs

    def _wait_for_start(self) -> dict | None:
        """Block until a container named ``self.name`` starts (another run than
        the one read); its inspect attrs, or None when closed."""
        name = self.name
        old_id, old_started = self.id, self.started_at
        while not self._closed.is_set():
            try:
                stream = self.client.events(
                    decode=True, filters={"type": "container", "container": name, "event": "start"}
                )
            except Exception:  # engine away for now: try again
                if self._closed.wait(1.0):
                    return None
                continue
            with self._lock:
                self._waiter = stream
                closed = self._closed.is_set()
            try:
                if closed:
                    return None
                # subscribed: now a start cannot be missed; did it happen already?
                attrs = self._started_since(name, old_id, old_started)
                if attrs is not None:
                    return attrs
                for ev in stream:
                    if self._closed.is_set():
                        return None
                    actor = ev.get("Actor") or {}
                    # the engine's filter matches name prefixes: want exactly this one
                    if (actor.get("Attributes") or {}).get("name") != name:
                        continue
                    attrs = self._started_since(
                        actor.get("ID") or name, old_id, old_started, evented=True
                    )
                    if attrs is not None:
                        return attrs
            except Exception:
                pass  # the stream broke (closed, engine restarting)
            finally:
                with self._lock:
                    self._waiter = None
                try:
                    stream.close()
                except Exception:
                    pass
            if self._closed.wait(1.0):
                return None
        return None

    def _read_run(self) -> Iterator[list[LogLine]]:
        if not self._opened:
            self.open()
        asm = LineAssembler(self.name, self.after)
        broke: str | None = None
        try:
            yield from self._run(asm)
        except LogStreamError:
            raise
        except Exception as e:  # connection reset, engine stopped
            if not self._closed.is_set():
                broke = str(e) or e.__class__.__name__
        finally:
            self._shutdown()
        tail_lines = asm.flush()
        if self._closed.is_set():
            if tail_lines:
                yield tail_lines
            return
        if broke:
            self._end_kind = "engine"
            tail_lines.append(meta_line(self.name, f"log stream broke: {broke}", "error"))
        elif self.follow:
            end = self._end_marker()
            self._end_text = end.text
            tail_lines.append(end)
        if tail_lines:
            yield tail_lines

    def _end_marker(self) -> LogLine:
        """Why a follow ended: exited (code), removed, or the engine went away."""
        import docker.errors as derr

        deadline = time.monotonic() + 3.0
        self._end_kind, self._finished_at = "removed", None
        while True:
            try:
                attrs = self.client.api.inspect_container(self.id or self.container)
            except derr.NotFound:
                return meta_line(self.name, "container removed", "warning")
            except Exception as e:
                self._end_kind = "engine"
                return meta_line(self.name, f"log stream ended (engine: {e})", "error")
            state = attrs.get("State") or {}
            status = state.get("Status")
            if (
                status == "running"
                and self.started_at
                and state.get("StartedAt")
                and state.get("StartedAt") != self.started_at
            ):
                # stopped and started again before we looked (docker restart)
                self._end_kind = "restarted"
                self._finished_at = parse_timestamp(str(state.get("FinishedAt") or ""))
                return meta_line(self.name, "container restarted", "info")
            if status in ("removing", "dead") or (
                status == "running" and time.monotonic() < deadline
            ):
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
            if status == "running":
                self._end_kind = "running"
                return meta_line(self.name, "log stream ended (container still running)", "warning")
            if status in ("removing", "dead"):
                return meta_line(self.name, "container removed", "warning")
            self._end_kind = "exited"
            self._finished_at = parse_timestamp(str(state.get("FinishedAt") or ""))
            code = state.get("ExitCode")
            return meta_line(
                self.name,
                f"container {status or 'stopped'} (exit code {code})",
                "info" if code == 0 else "error",
            )

    # ---------------------------------------------------------------- close
    def _shutdown(self) -> None:
        with self._lock:
            streams, self._streams = self._streams, []
        for res in streams:
            _cancel(res)

    def close(self) -> None:
        """Stop reading; safe from any thread, interrupts a blocking read (and
        a wait for a restart)."""
        self._closed.set()
        self._shutdown()
        with self._lock:
            waiter = self._waiter
        if waiter is not None:
            try:
                waiter.close()
            except Exception:
                pass


def _cancel(res) -> None:
    """Close a streaming response from any thread, interrupting a blocked read
    (the SDK's CancellableStream shuts the socket down)."""
    from docker.types.daemon import CancellableStream

    try:
        CancellableStream(iter(()), res).close()
    except Exception:
        try:
            res.close()
        except Exception:
            pass


def _last_time(batch: list[LogLine]) -> datetime | None:
    for ln in reversed(batch):
        if ln.stream != "meta" and ln.timestamp is not None:
            return ln.timestamp
    return None
