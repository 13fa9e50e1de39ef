"""The core's deadlines; the adapter arms a single timer for the earliest.

Almost every deadline is "now + a fixed setting" (ring timeout, wrap-up) or "arrival + a fixed
setting" (maximum wait; "return + the setting" for a contact whose volunteer was gone), and
the core's clock never runs backwards, so each such kind is added in time order. One FIFO per
kind is therefore already sorted: adding and popping are O(1), where a heap would pay a log
factor on every offer and every answer. Relaxations are "arrival + a wait chosen per
contact", not in time order, so that one kind is a heap.
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Callable, Mapping
from enum import IntEnum


class TimerKind(IntEnum):
    """What a deadline is for; the value orders deadlines that fall at the same instant."""

    RELAX = 0
    """A contact's preference (or escalated requirement) is dropped. First, so that an offer
    ringing out at the same instant puts the contact back already relaxed."""
    RING = 1
    """An offer rings out."""
    WRAP_UP = 2
    """A volunteer's wrap-up time ends."""
    MAX_WAIT = 3
    """A queued contact has waited as long as allowed (since arrival, or since it returned)."""


Timer = tuple[float, TimerKind, str, int]
IsCurrent = Callable[[str, int], bool]
"""Whether the deadline for this key and token still stands."""


class Deadlines:
    """Deadlines in one sorted FIFO per kind; an entry whose token no longer matches is dropped."""

    __slots__ = ("_queues", "_relax", "_checks", "_lanes")

    def __init__(self, is_current: Mapping[TimerKind, IsCurrent]) -> None:
        self._queues: tuple[deque[Timer], ...] = tuple(deque() for _ in TimerKind)
        self._relax: list[Timer] = []
        """The RELAX kind's heap (its FIFO in ``_queues`` stays empty)."""
        self._checks = tuple(is_current[kind] for kind in TimerKind)
        """One check per kind, in kind order."""
        self._lanes = tuple(
            (self._queues[kind], self._checks[kind])
            for kind in TimerKind
            if kind is not TimerKind.RELAX
        )
        """Each FIFO with its check, in kind order (RELAX has the heap instead)."""

    def add(self, when: float, kind: TimerKind, key: str, token: int = 0) -> None:
        timer = (when, kind, key, token)
        if kind is TimerKind.RELAX:
            heapq.heappush(self._relax, timer)
            return
        queue = self._queues[kind]
        if not queue or queue[-1][0] <= when:
            queue.append(timer)
        else:  # only after a restore with odd data; keep the FIFO sorted anyway
            items = list(queue)
            bisect.insort(items, timer, key=lambda t: t[0])
            queue.clear()
            queue.extend(items)

    def _head(self) -> Timer | None:
        best: Timer | None = None
        relax, relax_is_current = self._relax, self._checks[TimerKind.RELAX]
        while relax:  # RELAX is kind 0: it wins a tie with any later kind
            head = relax[0]
            if relax_is_current(head[2], head[3]):
                best = head
                break
            heapq.heappop(relax)
        # In kind order, so "<" keeps the earlier kind on a tie.
        for queue, is_current in self._lanes:
            while queue:
                head = queue[0]
                if is_current(head[2], head[3]):
                    if best is None or head[0] < best[0]:
                        best = head
                    break
                queue.popleft()
        return best

    def next(self) -> float | None:
        head = self._head()
        return None if head is None else head[0]

    def pop_due(self, now: float) -> Timer | None:
        """The earliest current deadline at or before ``now``, removed; else ``None``."""
        head = self._head()
        if head is None or head[0] > now:
            return None
        if head[1] is TimerKind.RELAX:
            return heapq.heappop(self._relax)
        return self._queues[head[1]].popleft()
