"""The bounded ring of log lines a view keeps (memory stays flat however long
the log)."""

from __future__ import annotations

import collections
from itertools import starmap
from collections.abc import Iterator

from inspectors.logs.lines import LogLine


class LogBuffer:
    """A bounded ring of lines with stable sequence numbers.

    ``seq`` of the oldest kept line is :attr:`first_seq`; line ``seq`` is at
    ``seq - first_seq``. Appending past ``maxlen`` drops the oldest lines and
    returns how many were dropped, so a view can keep its position.

    Lines are kept as plain tuples and handed out as :class:`LogLine`: a tuple
    of strings, a datetime and None is dropped from the cyclic garbage
    collector's lists, a dataclass instance never is, and 50,000 of them made
    every full collection walk the whole ring (100 ms-1 s pauses of the event
    loop under a firehose, bench/logs).
    """

    def __init__(self, maxlen: int = 50_000):
        self.maxlen = max(1, int(maxlen))
        self._lines: collections.deque[tuple] = collections.deque(maxlen=self.maxlen)
        self.first_seq = 0  # seq of self._lines[0]
        self.total = 0  # lines ever appended (== next seq)

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[LogLine]:
        return starmap(LogLine, self._lines)

    @property
    def end_seq(self) -> int:
        """One past the newest line's seq."""
        return self.total

    def extend(self, lines: list[LogLine]) -> int:
        """Append; returns the number of old lines evicted."""
        before = len(self._lines)
        n = len(lines)
        self._lines.extend(
            [(ln.source, ln.stream, ln.timestamp, ln.text, ln.level) for ln in lines]
        )
        self.total += n
        evicted = before + n - len(self._lines)
        self.first_seq += evicted
        return evicted

    def clear(self) -> None:
        self._lines.clear()
        self.first_seq = self.total

    def get(self, seq: int) -> LogLine | None:
        i = seq - self.first_seq
        if 0 <= i < len(self._lines):
            return LogLine(*self._lines[i])
        return None

    def __getitem__(self, i: int) -> LogLine:
        return LogLine(*self._lines[i])

    def range(self, start_seq: int, end_seq: int) -> Iterator[tuple[int, LogLine]]:
        start = max(start_seq, self.first_seq)
        for i in range(start - self.first_seq, min(end_seq, self.total) - self.first_seq):
            yield self.first_seq + i, LogLine(*self._lines[i])


# --------------------------------------------------------------------------- sources
