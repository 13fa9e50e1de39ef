"""Opening hours in memory: the call path asks ``HoursView.status`` and never waits for SQL.

The weekly schedules come from the configuration; the ad-hoc closures and extra openings are
loaded from ``HoursExceptionStore`` on the view's own thread (the ``hours`` pool of
``storage.pools``, never asyncio's default pool that logins once filled):

- at start (waiting a few seconds at most for the first answer),
- every ``[hours] refresh_s`` (30 s by default; every few seconds while the store fails),
- and at once when a change is announced. Whoever writes exceptions (the CLI, the admin API)
  publishes on the Redis channel ``<prefix>:hours-changed`` (``HoursAnnouncer``); every view
  subscribes and reloads, so a change made in any process reaches every engine within a
  second. Pub/sub rather than a stream: the message carries nothing but "reload", SQL stays the
  one truth, and a message missed while disconnected is covered by reloading on every
  (re)subscribe and by the periodic refresh, so nothing needs to be kept or trimmed in Redis.

Failures: the store unreachable keeps the last exceptions known (logged once per outage, and
again when it answers). With none ever known, the configured weekly schedules apply without
exceptions (logged): they are configuration, not storage, so they are always known, and they
tell a child at 03:00 when to call back instead of queueing them where no volunteer works.
``status`` never raises for a configured line: a bug in the evaluation counts the line as open
(logged once per schedule and error type), because a wrong "open" queues a child, while a wrong
"closed" turns one away.

Answers are cached per schedule until the answer changes (``next_change``) and at most
``CACHE_S``: an evaluation costs ~0.5 ms, a cached answer ~0.4 µs. The refresher re-evaluates
every schedule after each load (every ``refresh_s`` < ``CACHE_S``), so a call rarely pays for
one. Whether the line is open and its closing/opening time are exact; the ``reason`` text may
lag by up to ``CACHE_S`` at midnight or where an extra opening joins the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from config.settings import HelplineConfig
from ivr.hours import HoursException, HoursStatus
from storage import pools
from storage.errors import UnknownSchedule
from storage.hours_store import LineHours

log = logging.getLogger(__name__)

CACHE_S = 60.0
"""The longest a cached answer is reused (the ``reason`` text may lag by this much)."""
RETRY_S = 5.0
"""How often to try the store again while it fails (when shorter than the refresh period)."""
LOAD_TIMEOUT_S = 10.0
"""A load not answered by then counts as a failure (it may still finish and be used later)."""
FIRST_LOAD_S = 5.0
"""How long ``start`` waits for the first load before serving with what the config knows."""
LISTEN_RETRY_S = (0.5, 5.0)
"""Back-off between Redis re-subscriptions: first and longest wait."""
ANNOUNCE_TIMEOUT_S = 1.0
"""Connect and reply timeout of an announcement: a CLI never hangs on a dead Redis."""
EVALUATION_FAILED = "evaluation_failed"
"""The ``reason`` of the open-by-default answer given when evaluating a schedule failed."""
_MESSAGE = b"changed"
CLOSE_WAIT_S = 2.0
"""How long ``close`` waits for a load in progress to give its connection back."""


def hours_channel(prefix: str) -> str:
    """The Redis pub/sub channel of change announcements, e.g. ``helpline:hours-changed``."""
    return prefix.rstrip(":") + ":hours-changed"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ExceptionSource(Protocol):
    """What the view reads: ``HoursExceptionStore`` (blocking)."""

    def upcoming(self, now: datetime) -> list[HoursException]:
        """Exceptions that have not ended at ``now``."""
        ...


class HoursAnnouncer:
    """Publishes "hours changed" on Redis; blocking, for a CLI or a worker thread.

    ``announce`` never raises: a failed publish is remembered in ``last_error`` and logged
    (unless ``log_failures`` is off: the CLI prints its own line), and the running apps'
    periodic refresh still picks the change up.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        *,
        timeout_s: float = ANNOUNCE_TIMEOUT_S,
        log_failures: bool = True,
    ) -> None:
        self.channel = channel
        self._log_failures = log_failures
        self.last_error: str | None = None
        """The error type of the last failed announcement, None after a successful one."""
        # No connection is made until the first announcement; one quick retry, no back-off.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),
        )

    @classmethod
    def from_config(cls, cfg: HelplineConfig, *, log_failures: bool = True) -> HoursAnnouncer:
        """An announcer on the configured Redis and prefix."""
        return cls(cfg.redis.url, hours_channel(cfg.redis.prefix), log_failures=log_failures)

    def announce(self) -> bool:
        """Tell every running view to reload; False (logged) when Redis could not be told."""
        try:
            receivers = self._client.publish(self.channel, _MESSAGE)
        except (RedisError, OSError) as exc:
            self.last_error = type(exc).__name__
            if not self._log_failures:
                return False
            log.warning(
                "could not announce an opening-hours change on Redis (%s); running apps "
                "pick it up at their next periodic refresh",
                self.last_error,
            )
            return False
        self.last_error = None
        log.debug("opening-hours change announced to %d listeners", receivers)
        return True

    def close(self) -> None:
        """Close the Redis connection (if one was made)."""
        self._client.close()


@dataclass(frozen=True, slots=True)
class _Cached:
    """One schedule's answer and the instants it holds for."""

    status: HoursStatus
    """The answer."""
    valid_from: datetime
    """The ``now`` it was computed for."""
    valid_until: datetime
    """The first instant it may no longer hold (exclusive)."""


class HoursView:
    """The configured schedules plus the last exceptions loaded, answering from memory.

    ``status``, ``schedule_status`` and ``all_statuses`` are synchronous and do no I/O; call
    them from the event loop's thread (the engine's single writer). ``start``/``close`` (or
    ``running``) run the refresher and, given a Redis client, the change listener.
    """

    def __init__(
        self,
        cfg: HelplineConfig,
        store: ExceptionSource,
        *,
        redis_client: aioredis.Redis | None = None,
        refresh_s: float | None = None,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = _utcnow,
        load_timeout_s: float = LOAD_TIMEOUT_S,
    ) -> None:
        self.lines = LineHours(cfg)
        self.channel = hours_channel(cfg.redis.prefix)
        self._store = store
        self._redis = redis_client
        self._refresh_s = refresh_s if refresh_s is not None else cfg.hours.refresh_s
        self._executor = executor
        self._clock = clock
        self._load_timeout_s = load_timeout_s
        self._loading: asyncio.Future[list[HoursException]] | None = None
        self._loading_at = clock()
        self._exceptions: tuple[HoursException, ...] = ()
        self._cache: dict[tuple[str, bool], _Cached] = {}
        """(schedule, helpline-wide exceptions apply) -> the last answer."""
        self._bugs_logged: set[tuple[str, str]] = set()
        self._nudged = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.known = False
        """True once the store has answered at least once."""
        self.failing = False
        """True while the store fails (the last known exceptions stand)."""
        self.listening = False
        """True while subscribed to change announcements."""
        self.loaded_at: datetime | None = None
        """When the store last answered."""
        self.loads = 0
        """Successful loads so far."""

    # -- answers (pure memory) -------------------------------------------------------------

    def status(self, line_id: str, channel: str, now: datetime) -> HoursStatus:
        """Open at ``now`` (aware UTC)? UnknownLine for a line or channel not configured."""
        return self._safe_answer(self.lines.schedule_for(line_id, channel), now, True)

    def schedule_status(
        self, schedule: str, now: datetime, *, helpline_wide: bool = True
    ) -> HoursStatus:
        """Open at ``now`` (aware UTC)? For a configured schedule by name, e.g. a partner's.

        With ``helpline_wide=False`` only the exceptions naming this schedule apply, not the
        ``"*"`` ones: "close every schedule" (``helpline hours close``'s default) is about our
        lines, and must not close Veilig Thuis to a child already talking to us.
        UnknownSchedule for a name not configured; a bug in the evaluation counts as open.
        """
        if schedule not in self.lines.schedules():
            raise UnknownSchedule(f"no schedule {schedule!r}")
        return self._safe_answer(schedule, now, helpline_wide)

    def _safe_answer(self, schedule: str, now: datetime, helpline_wide: bool) -> HoursStatus:
        try:
            return self._answer(schedule, now, helpline_wide)
        except Exception as exc:
            key = (schedule, type(exc).__name__)
            if key not in self._bugs_logged:
                self._bugs_logged.add(key)
                log.exception("evaluating schedule %s failed; counting it as open", schedule)
            return HoursStatus(True, EVALUATION_FAILED, None, None, schedule)

    def all_statuses(self, now: datetime) -> list[tuple[str, str, HoursStatus]]:
        """(line id, channel, status) for every configured line and channel."""
        return [(line, ch, self.status(line, ch, now)) for line, ch in self.lines.pairs()]

    @property
    def exceptions(self) -> tuple[HoursException, ...]:
        """The exceptions in use (the last loaded)."""
        return self._exceptions

    def _answer(self, schedule: str, now: datetime, helpline_wide: bool = True) -> HoursStatus:
        key = (schedule, helpline_wide)
        hit = self._cache.get(key)
        if hit is not None and hit.valid_from <= now < hit.valid_until:
            return hit.status
        exceptions = (
            self._exceptions
            if helpline_wide
            else tuple(e for e in self._exceptions if e.schedule == schedule)
        )
        status = self.lines.hours(schedule).evaluate(now, exceptions)
        until = now + timedelta(seconds=CACHE_S)
        change = status.next_change
        if change is not None and change < until:
            until = change
        self._cache[key] = _Cached(status, now, until)
        return status

    # -- loading ---------------------------------------------------------------------------

    def request_refresh(self) -> None:
        """Reload soon (on the refresher task); repeated requests before it runs coalesce."""
        self._nudged.set()

    async def refresh(self) -> bool:
        """Load the exceptions now, on the hours thread; True if the store answered.

        A load still running (a hung database) is waited for again rather than queueing
        another behind it; after ``load_timeout_s`` it counts as a failure.
        """
        if self._loading is None or self._loading.done():
            loop = asyncio.get_running_loop()
            executor = self._executor or pools.executor("hours")
            self._loading_at = self._clock()
            self._loading = loop.run_in_executor(executor, self._store.upcoming, self._loading_at)
            # Retrieve a late failure nobody awaits any more, so asyncio does not log it.
            self._loading.add_done_callback(lambda f: f.cancelled() or f.exception())
        loading, at = self._loading, self._loading_at
        try:
            found = await asyncio.wait_for(asyncio.shield(loading), self._load_timeout_s)
        except Exception as exc:  # whatever the store or its driver raises: keep serving
            self._failed(exc)
            return False
        self._loaded(found, at)
        return True

    def _loaded(self, found: Sequence[HoursException], now: datetime) -> None:
        exceptions = tuple(found)
        if self.failing:
            log.info("opening-hours store answers again (%d exceptions)", len(exceptions))
        elif not self.known or exceptions != self._exceptions:
            log.info("opening-hours exceptions loaded: %d", len(exceptions))
        if exceptions != self._exceptions:
            self._exceptions = exceptions
            self._cache.clear()
        self.known, self.failing = True, False
        self.loaded_at = now
        self.loads += 1

    def _failed(self, exc: BaseException) -> None:
        if self.failing:
            return  # once per outage, not per attempt
        self.failing = True
        if self.known:
            log.warning(
                "opening-hours store unreachable (%s); the %d exceptions loaded at %s stand",
                type(exc).__name__,
                len(self._exceptions),
                self.loaded_at.isoformat() if self.loaded_at else "?",
            )
        else:
            log.warning(
                "opening-hours store unreachable (%s) and no exceptions known yet; the "
                "configured weekly schedules apply without closures or extra openings",
                type(exc).__name__,
            )

    def _warm(self) -> None:
        """Evaluate every schedule now, so a call finds a fresh answer instead of paying for it."""
        now = self._clock()
        # Every schedule as the lines see it, and whatever else was asked for (partners').
        keys = dict.fromkeys([*((s, True) for s in self.lines.schedules()), *self._cache])
        for schedule, helpline_wide in keys:
            self._cache.pop((schedule, helpline_wide), None)
            with contextlib.suppress(Exception):  # status() reports a bug when a call asks
                self._answer(schedule, now, helpline_wide)

    def _stopping(self) -> bool:
        # redis-py can swallow a cancellation (turning it into its own TimeoutError), so the
        # loops also check the flag and the task's pending cancel requests themselves.
        task = asyncio.current_task()
        return self._closing or (task is not None and task.cancelling() > 0)

    async def _refresh_loop(self) -> None:
        while not self._stopping():
            self._nudged.clear()  # a request arriving during the load runs one more
            await self.refresh()
            self._warm()
            self._first_attempt.set()
            wait = min(self._refresh_s, RETRY_S) if self.failing else self._refresh_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._nudged.wait()

    async def _listen_loop(self, client: aioredis.Redis) -> None:
        backoff = LISTEN_RETRY_S[0]
        reported = False
        while not self._stopping():
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "subscribe":
                        # (Re)subscribed: what was announced while we were not listening is
                        # unknown, so reload.
                        if reported:
                            log.info("listening for opening-hours changes again")
                        self.listening, reported = True, False
                        backoff = LISTEN_RETRY_S[0]
                        self.request_refresh()
                    elif kind == "message":
                        self.request_refresh()
            except (RedisError, OSError) as exc:
                if not reported:
                    log.warning(
                        "not listening for opening-hours changes (%s); reloading every %g s",
                        type(exc).__name__,
                        self._refresh_s,
                    )
                    reported = True
            finally:
                self.listening = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            if self._stopping():
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, LISTEN_RETRY_S[1])

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, first_load_s: float = FIRST_LOAD_S) -> None:
        """Start refreshing (and listening); wait up to ``first_load_s`` for the first load."""
        if self._tasks:
            raise RuntimeError("HoursView already started")
        self._closing = False
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="hours-refresh"))
        if self._redis is not None:
            self._tasks.append(
                asyncio.create_task(self._listen_loop(self._redis), name="hours-listen")
            )
        try:
            async with asyncio.timeout(first_load_s):
                await self._first_attempt.wait()
        except TimeoutError:
            log.warning(
                "opening-hours store did not answer within %g s; the weekly schedules apply "
                "until it does",
                first_load_s,
            )

    async def close(self) -> None:
        """Stop refreshing and listening (a load in progress finishes on its thread); idempotent."""
        self._closing = True
        tasks, self._tasks = self._tasks, []
        pending = set(tasks)
        while pending:
            for task in pending:
                task.cancel()
            # Again after a while if a library swallowed the first request.
            _, pending = await asyncio.wait(pending, timeout=1.0)
        await asyncio.gather(*tasks, return_exceptions=True)  # retrieve their outcomes
        loading = self._loading
        if loading is not None and not loading.done():
            # Let a load in progress give its database connection back before the owner
            # disposes the engine (a connection still out then is never closed properly).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(loading), CLOSE_WAIT_S)

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls,
        cfg: HelplineConfig,
        store: ExceptionSource,
        redis_client: aioredis.Redis | None,
        *,
        refresh_s: float | None = None,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = _utcnow,
        first_load_s: float = FIRST_LOAD_S,
    ) -> AsyncIterator[HoursView]:
        """``async with HoursView.running(cfg, store, redis) as view:`` started, then closed."""
        view = cls(
            cfg,
            store,
            redis_client=redis_client,
            refresh_s=refresh_s,
            executor=executor,
            clock=clock,
        )
        await view.start(first_load_s)
        try:
            yield view
        finally:
            await view.close()
