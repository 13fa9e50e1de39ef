"""A leader lease in Redis: at most one ACD process writes the live state at a time.

The lease is one key holding the holder's id with a millisecond TTL. Taking it is ``SET NX PX``;
renewing and releasing are Lua scripts that act only while the value is still ours, so a process
that stalled past its TTL can never extend or delete a lease someone else now holds. The lease
alone is not a fence (a paused process does not know it lost it); the journal writes in
:mod:`storage.journal` re-check the lease value inside Redis for that.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from storage.errors import LeaseLost, LiveStateUnavailable

# KEYS[1] = lease key, ARGV[1] = holder id, ARGV[2] = ttl in ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] = lease key, ARGV[1] = holder id.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def new_holder_id() -> str:
    """A holder id unique to this process start: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class LeaderLease:
    """The single-writer lease on ``key``, held by ``holder_id`` for ``ttl_s`` seconds at a time.

    ``held`` is a local, conservative view: true only until ``ttl_s`` after the *start* of the
    last successful acquire/renew, so it turns false no later than Redis lets the key expire.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        key: str,
        holder_id: str,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._redis = redis
        self.key = key
        self.holder_id = holder_id
        self.ttl_s = ttl_s
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._clock = clock
        self._valid_until: float | None = None
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def held(self) -> bool:
        """Whether we may still assume we hold the lease (local clock, conservative)."""
        return self._valid_until is not None and self._clock() < self._valid_until

    async def acquire(self) -> bool:
        """Try once to take the lease; true if we hold it now (also if we already held it)."""
        started = self._clock()
        try:
            taken = await self._redis.set(self.key, self.holder_id, nx=True, px=self._ttl_ms)
            if not taken:
                # Already ours (e.g. acquire called twice): treat as a renewal.
                return await self.renew()
        except RedisError as exc:
            raise LiveStateUnavailable(f"cannot acquire lease {self.key!r}") from exc
        self._valid_until = started + self.ttl_s
        return True

    async def acquire_wait(self, poll_s: float = 0.5, timeout_s: float | None = None) -> None:
        """Poll until we take the lease (the previous holder released it or let it expire).

        Raises :class:`LeaseLost` if ``timeout_s`` passes first.
        """
        deadline = None if timeout_s is None else self._clock() + timeout_s
        while not await self.acquire():
            if deadline is not None and self._clock() >= deadline:
                raise LeaseLost(f"lease {self.key!r} still held by another process")
            await asyncio.sleep(poll_s)

    async def renew(self) -> bool:
        """Extend the TTL if the lease is still ours; false (and ``held`` false) otherwise."""
        started = self._clock()
        try:
            ok = await self._renew(keys=[self.key], args=[self.holder_id, self._ttl_ms])
        except RedisError as exc:
            raise LiveStateUnavailable(f"cannot renew lease {self.key!r}") from exc
        if ok:
            self._valid_until = started + self.ttl_s
            return True
        self._valid_until = None
        return False

    async def release(self) -> bool:
        """Give the lease up if it is still ours, so a standby can take over at once."""
        self._valid_until = None
        try:
            return bool(await self._release(keys=[self.key], args=[self.holder_id]))
        except RedisError as exc:
            raise LiveStateUnavailable(f"cannot release lease {self.key!r}") from exc

    async def keep(self, interval_s: float | None = None) -> None:
        """Renew forever every ``interval_s`` (default a third of the TTL).

        Run it as a task next to the ACD loop; it raises :class:`LeaseLost` the moment a renewal
        finds the lease gone, which should stop this process from acting as leader.
        """
        interval = self.ttl_s / 3 if interval_s is None else interval_s
        while True:
            await asyncio.sleep(interval)
            if not await self.renew():
                raise LeaseLost(f"lease {self.key!r} was taken over or expired")
