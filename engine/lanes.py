"""Run work in order per key, concurrently across keys.

An effector hands each command to the lane of its contact (or of one leg): a slow reply from
Asterisk for one child delays only that child's next commands, never another child's.
A lane's task ends when its queue is empty, so idle contacts cost nothing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lanes(Generic[T]):
    """``submit(key, item)`` runs ``work(item)`` after every earlier item of the same key."""

    def __init__(self, work: Callable[[T], Awaitable[None]]) -> None:
        self._work = work
        self._queues: dict[str, collections.deque[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        """Lanes with work queued or running."""
        return len(self._queues)

    def submit(self, key: str, item: T) -> None:
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(item)
            return
        self._queues[key] = collections.deque([item])
        task = asyncio.get_running_loop().create_task(self._drain(key), name=f"lane {key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                item = queue[0]
                try:
                    await self._work(item)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the work reports its own failures; this is a bug
                    log.exception("effect failed unexpectedly")
                queue.popleft()
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def close(self) -> None:
        """Cancel every lane (at shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._queues.clear()

    async def idle(self) -> None:
        """Wait until every lane has run dry (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
