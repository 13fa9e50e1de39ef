"""Who may try a password now, and checking it without outliving the client.

Two defences in front of argon2 (~0.26 s of CPU and 64 MiB per check):

- **Rate limits** per client address and per volunteer id, with the ``limits`` library's
  moving windows (``[logins]`` in the config). Each attempt costs 1 before the password is
  checked; a failed one then costs ``failure_cost - 1`` more, so a location's volunteers can
  all log in from one address while a guesser is stopped after a few tries. A refusal is a
  429 with Retry-After, and costs no hashing at all.
- **The bounded login pool** (``storage.pools``): when its threads are busy and its waiting
  line is full, the request gets 429 at once instead of queueing behind seconds of others'
  hashing. While a check waits for a thread, the client's connection is watched: a client that
  left has its check cancelled before it ever starts (and a handler cancelled by aiohttp
  cancels it too).

The counters live in this process's memory (``limits``' MemoryStorage). The login pool they
protect is per process too, one process serves the API at a time, and counting in memory
costs no Redis round trip on the very path a flood hammers and keeps working while Redis is
away. A restart forgets the counts: blocking an address across processes and restarts is the
security log's and fail2ban's job.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from aiohttp import web
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from config.settings import LoginsSection
from web.errors import ClientGone, TooManyRequests

_T = TypeVar("_T")

WATCH_S = 0.05
"""How often a waiting check looks whether its client is still connected. Cheap: the login
pool lets at most a handful of checks wait."""


def address_key(remote: str | None) -> str:
    """The rate-limit key of a client address: IPv4 as is, IPv6 by its /64 (one customer's
    network hands out a whole /64, so counting single addresses would be no limit at all)."""
    if not remote:
        return "unknown"
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return "unknown"  # e.g. a Unix socket: count them all together
    if ip.version == 6:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginGuard:
    """Rate limits per address and per account for the login endpoint."""

    def __init__(
        self,
        section: LoginsSection,
        storage: Storage | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._per_address: RateLimitItem = parse(section.per_address)
        self._per_account: RateLimitItem = parse(section.per_account)
        self._failure_cost = section.failure_cost
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self._clock = clock  # what ``limits`` stamps its windows with: wall-clock seconds

    def admit(self, address: str, account: str) -> None:
        """Count one attempt; TooManyRequests (nothing counted) when either limit is spent.

        The address is checked first, so a flood from one address never counts against (or
        fills the memory with) the accounts it names.
        """
        if not self._limiter.hit(self._per_address, "address", address):
            raise self._refusal(self._per_address, "address", address)
        if not self._limiter.hit(self._per_account, "account", account):
            raise self._refusal(self._per_account, "account", account)

    def failed(self, address: str, account: str) -> None:
        """A wrong password: charge the rest of a failure's cost to both (as far as they go)."""
        extra = self._failure_cost - 1
        for item, scope, key in (
            (self._per_address, "address", address),
            (self._per_account, "account", account),
        ):
            left = self._limiter.get_window_stats(item, scope, key).remaining
            cost = min(extra, left)
            if cost > 0:
                self._limiter.hit(item, scope, key, cost=cost)

    def _refusal(self, item: RateLimitItem, scope: str, key: str) -> TooManyRequests:
        reset = self._limiter.get_window_stats(item, scope, key).reset_time
        wait = max(1, math.ceil(reset - self._clock()))
        # One message for both scopes: it never says whether the account exists.
        return TooManyRequests(
            "too many login attempts; try again later", retry_after_s=wait, code="rate_limited"
        )


LOGIN_GUARD = web.AppKey("helpline_login_guard", LoginGuard)


def client_gone(request: web.Request) -> bool:
    """True when the client's connection is closed or closing."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def while_connected(request: web.Request, job: Future[_T]) -> _T:
    """``job``'s result; ClientGone (and ``job`` cancelled) if the client leaves first.

    A job that already runs cannot be stopped (argon2 is one C call): its result is returned
    and the caller decides. A job still waiting for a thread is cancelled and never starts,
    whether the client left or this coroutine was cancelled.
    """
    waiter = asyncio.wrap_future(job)
    try:
        while not waiter.done():
            await asyncio.wait({waiter}, timeout=WATCH_S)
            if not waiter.done() and client_gone(request) and job.cancel():
                raise ClientGone("the client left while its login waited")
        return waiter.result()
    finally:
        job.cancel()  # no-op once it runs or ran
