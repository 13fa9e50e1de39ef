"""Named, bounded thread pools, so slow blocking work of one kind never delays another.

asyncio's default executor is one shared pool: 300 argon2 logins queued on it once delayed a
child's call by 30 s because the opening-hours lookup waited behind them. Each kind of
blocking work therefore gets its own small pool here:

- ``login``: argon2 password checks and hashing (deliberately slow, ~64 MiB each);
  2 threads, so a login flood costs at most two cores' worth of hashing and bounded memory.
- ``records``: the contact-record writer; 1 thread, so records are written in order.
- ``hours``: loading opening-hours exceptions for ``storage.hours_view``; 1 thread.

Nothing the call path awaits runs on any of them. A pool is created on first use and
``shutdown()`` ends them all (a later use creates a fresh one, so a restarted service or the
next test gets working pools).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, ParamSpec, TypeVar

PoolName = Literal["login", "records", "hours"]

SIZES: Mapping[PoolName, int] = {"login": 2, "records": 1, "hours": 1}
"""Threads per pool."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Pools:
    """A set of named executors, each created once on first use."""

    def __init__(self, sizes: Mapping[PoolName, int] = SIZES) -> None:
        self._sizes = dict(sizes)
        self._executors: dict[PoolName, ThreadPoolExecutor] = {}
        # Pools are asked for from the event loop and from worker threads alike.
        self._lock = threading.Lock()

    def executor(self, name: PoolName) -> ThreadPoolExecutor:
        """The pool called ``name``, created on first use."""
        with self._lock:
            found = self._executors.get(name)
            if found is None:
                found = ThreadPoolExecutor(
                    max_workers=self._sizes[name], thread_name_prefix=f"helpline-{name}"
                )
                self._executors[name] = found
            return found

    async def run(
        self, name: PoolName, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """``fn(*args, **kwargs)`` on the pool ``name``, awaited from the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor(name), functools.partial(fn, *args, **kwargs)
        )

    def shutdown(self, *, wait: bool = True) -> None:
        """End every pool created so far; ``wait`` lets queued work (records) finish first."""
        with self._lock:
            executors = list(self._executors.values())
            self._executors.clear()
        for executor in executors:
            executor.shutdown(wait=wait, cancel_futures=not wait)


POOLS = Pools()
"""The process's pools; ``helpline.service`` shuts them down when it stops."""


def executor(name: PoolName) -> ThreadPoolExecutor:
    """The process's pool called ``name`` (e.g. ``executor("records")`` for the record writer)."""
    return POOLS.executor(name)


async def run_in(name: PoolName, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(*args, **kwargs)`` on the process's pool ``name``."""
    return await POOLS.run(name, fn, *args, **kwargs)


def shutdown(*, wait: bool = True) -> None:
    """End the process's pools (the service calls this last, after the record writer drained)."""
    POOLS.shutdown(wait=wait)
