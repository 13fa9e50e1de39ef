"""How long a waiting child still has to wait: a small, pure estimator.

The formula (the usual queueing rule of thumb, as in Asterisk's ``holdtime`` announcements)::

    expected_wait = position * AHT / serving

where ``AHT`` is the mean handling time of the last ``window`` finished contacts (talk time
plus wrap-up: the time a volunteer is not free), ``serving`` the number of volunteers taking
calls now (available, ringing, busy or in wrap-up; not paused), and ``position`` the 1-based
place in the queue. Each volunteer frees up once per AHT on average, so ``serving`` volunteers
free ``serving / AHT`` places per second, and the child at ``position`` needs that many.

Before any contact has finished (a fresh start) the mean of the last ``window`` answered
contacts' waits is used instead. With no volunteer serving, or no history at all, the wait is
unknown (``None``): we never promise what we cannot estimate.

Announced as whole minutes (nearest, at least 1), capped at 30 ("half an hour, or a bit
longer").
"""

from __future__ import annotations

import math
from collections import deque

from ivr.prompt_texts import MAX_WAIT_MINUTES


def announced_minutes(wait_s: float | None) -> int | None:
    """Whole minutes to say for ``wait_s``: nearest, at least 1, at most 30; ``None`` if unknown."""
    if wait_s is None or not math.isfinite(wait_s) or wait_s < 0:
        return None
    return min(MAX_WAIT_MINUTES, max(1, round(wait_s / 60)))


class WaitEstimator:
    """Rolling windows of recent handling times and answered waits (seconds)."""

    def __init__(self, window: int = 20) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._handled: deque[float] = deque(maxlen=window)
        self._waits: deque[float] = deque(maxlen=window)

    def record_handled(self, handle_s: float) -> None:
        """A contact finished: how long its volunteer was not free (talk + wrap-up)."""
        if math.isfinite(handle_s) and handle_s >= 0:
            self._handled.append(handle_s)

    def record_answered(self, wait_s: float) -> None:
        """A contact was answered after waiting ``wait_s``."""
        if math.isfinite(wait_s) and wait_s >= 0:
            self._waits.append(wait_s)

    def expected_wait_s(self, position: int, serving: int) -> float | None:
        """Seconds the contact at ``position`` will probably still wait; ``None`` if unknown."""
        if position < 1 or serving < 1:
            return None
        if self._handled:
            return position * (sum(self._handled) / len(self._handled)) / serving
        if self._waits:
            return sum(self._waits) / len(self._waits)
        return None

    def expected_minutes(self, position: int, serving: int) -> int | None:
        """:meth:`expected_wait_s` as the whole minutes to announce."""
        return announced_minutes(self.expected_wait_s(position, serving))
