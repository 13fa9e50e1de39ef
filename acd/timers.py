"""The core's deadlines: one heap; the adapter arms a single timer for the earliest."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from enum import IntEnum


class TimerKind(IntEnum):
    """What a deadline is for; the value orders deadlines that fall at the same instant."""

    RING = 0
    """An offer rings out."""
    WRAP_UP = 1
    """A volunteer's wrap-up time ends."""
    MAX_WAIT = 2
    """A queued contact has waited as long as allowed."""


Timer = tuple[float, TimerKind, str, int]
IsCurrent = Callable[[TimerKind, str, int], bool]


class Deadlines:
    """A heap of (when, kind, id, token); an entry whose token no longer matches is dropped."""

    __slots__ = ("_heap", "_is_current")

    def __init__(self, is_current: IsCurrent) -> None:
        self._heap: list[Timer] = []
        self._is_current = is_current

    def add(self, when: float, kind: TimerKind, key: str, token: int = 0) -> None:
        heapq.heappush(self._heap, (when, kind, key, token))

    def next(self) -> float | None:
        heap = self._heap
        while heap and not self._is_current(heap[0][1], heap[0][2], heap[0][3]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> Timer | None:
        """The earliest current deadline at or before ``now``, removed; else ``None``."""
        when = self.next()
        if when is None or when > now:
            return None
        return heapq.heappop(self._heap)

    def clear(self) -> None:
        self._heap.clear()
