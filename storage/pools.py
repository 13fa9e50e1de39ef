"""Named, bounded thread pools, so slow blocking work of one kind never delays another.

asyncio's default executor is one shared pool: 300 argon2 logins queued on it once delayed a
child's call by 30 s because the opening-hours lookup waited behind them. Each kind of
blocking work therefore gets its own small pool here:

- ``login``: argon2 password checks and hashing (deliberately slow, ~64 MiB each);
  2 threads, so a login flood costs at most two cores' worth of hashing and bounded memory,
  and at most 8 jobs waiting: when those are taken, ``submit``/``run`` raise ``PoolFull`` at
  once (the API answers 429) instead of queueing without end, so no login waits behind
  seconds of others' hashing and the work of clients that gave up does not pile up.
- ``records``: the contact-record writer; 1 thread, so records are written in order. Also the
  one bounded read of recent records when the app becomes the writer (the wrap-up forms).
- ``hours``: loading opening-hours exceptions for ``storage.hours_view``; 1 thread.
- ``reports``: a report asked for on the web (SQL over a period, then HTML, CSV or PDF, which
  can take seconds); 2 threads at low priority and at most 2 waiting (``PoolFull``: 429).

Nothing the call path awaits runs on any of them. A job still waiting for a thread is cancelled
when its awaiting task is (``run``), or by whoever holds the future ``submit`` returned: it then
never starts. A pool is created on first use and
``shutdown()`` ends them all (a later use creates a fresh one, so a restarted service or the
next test gets working pools).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal, ParamSpec, TypeVar

from storage.errors import PoolFull

PoolName = Literal["login", "records", "hours", "reports"]

SIZES: Mapping[PoolName, int] = {"login": 2, "records": 1, "hours": 1, "reports": 2}
"""Threads per pool."""

WAITING: Mapping[PoolName, int] = {"login": 8, "reports": 2}
"""Jobs that may wait for a thread, for the pools that refuse rather than queue without end."""

NICE: Mapping[PoolName, int] = {"login": 10, "reports": 10}
"""Lower CPU priority (Linux nice, per thread) of a pool's threads: password hashing takes the
cores only when the event loop (the engine, the calls) and Asterisk leave them idle."""


def _lower_priority(nice: int) -> None:
    # On Linux a thread is a task with its own nice value; elsewhere PRIO_PROCESS with a thread
    # id would renice the whole process, so leave it.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


_P = ParamSpec("_P")
_T = TypeVar("_T")


class Pools:
    """A set of named executors, each created once on first use."""

    def __init__(
        self,
        sizes: Mapping[PoolName, int] = SIZES,
        waiting: Mapping[PoolName, int] = WAITING,
        nice: Mapping[PoolName, int] = NICE,
    ) -> None:
        self._sizes = dict(sizes)
        self._waiting = dict(waiting)
        self._nice = dict(nice)
        self._executors: dict[PoolName, ThreadPoolExecutor] = {}
        self._pending: Counter[PoolName] = Counter()
        """Jobs submitted and not yet done (running or waiting), per pool."""
        # Pools are asked for from the event loop and from worker threads alike.
        self._lock = threading.Lock()

    def _executor_locked(self, name: PoolName) -> ThreadPoolExecutor:
        found = self._executors.get(name)
        if found is None:
            nice = self._nice.get(name)
            found = ThreadPoolExecutor(
                max_workers=self._sizes[name],
                thread_name_prefix=f"helpline-{name}",
                initializer=None if nice is None else functools.partial(_lower_priority, nice),
            )
            self._executors[name] = found
        return found

    def executor(self, name: PoolName) -> ThreadPoolExecutor:
        """The pool called ``name``, created on first use (no waiting bound: see ``submit``)."""
        with self._lock:
            return self._executor_locked(name)

    def pending(self, name: PoolName) -> int:
        """Jobs of pool ``name`` submitted through ``submit``/``run`` and not done yet."""
        with self._lock:
            return self._pending[name]

    def submit(
        self, name: PoolName, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> Future[_T]:
        """Start ``fn(*args, **kwargs)`` on pool ``name``; PoolFull when its line is full.

        ``future.cancel()`` on the result stops a job that has not started (it never will).
        """
        with self._lock:
            bound = self._waiting.get(name)
            if bound is not None and self._pending[name] >= self._sizes[name] + bound:
                raise PoolFull(name)
            self._pending[name] += 1
            executor = self._executor_locked(name)
        try:
            future = executor.submit(fn, *args, **kwargs)
        except BaseException:
            self._done(name)
            raise
        # Runs when the job ends, fails or is cancelled while waiting: the slot is free again.
        future.add_done_callback(lambda _: self._done(name))
        return future

    def _done(self, name: PoolName) -> None:
        with self._lock:
            self._pending[name] -= 1

    async def run(
        self, name: PoolName, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """``fn(*args, **kwargs)`` on the pool ``name``, awaited from the event loop.

        PoolFull when the pool's waiting line is full. Cancelling the awaiting task cancels a
        job that is still waiting (asyncio chains the cancellation to the thread's future).
        """
        return await asyncio.wrap_future(self.submit(name, fn, *args, **kwargs))

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
    """``fn(*args, **kwargs)`` on the process's pool ``name`` (PoolFull when its line is full)."""
    return await POOLS.run(name, fn, *args, **kwargs)


def submit(name: PoolName, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
    """Start ``fn(*args, **kwargs)`` on the process's pool ``name``; see ``Pools.submit``."""
    return POOLS.submit(name, fn, *args, **kwargs)


def shutdown(*, wait: bool = True) -> None:
    """End the process's pools (the service calls this last, after the record writer drained)."""
    POOLS.shutdown(wait=wait)
