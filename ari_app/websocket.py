"""The ARI events websocket: one connection (:class:`AriEventSocket`) and a reconnecting
supervisor (:class:`AriEventStream`).

The supervisor hands its owner a single ordered stream of items through a plain callback
(meant to be ``queue.put_nowait`` of the owner's single-writer queue): :class:`Connected`,
then parsed events, then :class:`Disconnected`, then :class:`Connected` again after a
reconnect, and so on. On every ``Connected`` the owner reconciles (lists channels and
bridges), because events were lost while we were away.

Malformed events are logged by error text only (never the payload: it may hold a caller's
number) and skipped. Cancelling the task running :meth:`AriEventStream.run` closes the socket
and the session cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType

import aiohttp

from ari_app.ari_events import AriEvent, parse_event
from ari_app.client import basic_auth_header
from ari_app.errors import AriError, AriUnavailable, MalformedAriEvent, error_for_status

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Connected:
    """The events websocket is (re)connected: reconcile state with Asterisk now."""

    reconnect: bool
    """False for the first connection of this stream, True after a disconnection."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The events websocket was lost; events may be missed until the next Connected."""

    reason: str
    """Short, payload-free description for logs."""


StreamItem = AriEvent | Connected | Disconnected


def events_url(base_url: str) -> str:
    """``http://host:8088/ari`` -> ``ws://host:8088/ari/events``."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/events"
    return "ws://" + base.removeprefix("http://") + "/events"


class AriEventSocket:
    """One events websocket connection, no reconnection.

    ``async with AriEventSocket(session, ...) as sock:`` connects (raising an
    :class:`AriError`); ``sock.events()`` yields parsed events until the socket closes.

    Authentication uses HTTP basic auth on the upgrade request, which ARI accepts like
    ``?api_key=user:password`` but keeps the password out of URLs (and so out of exception
    texts and tracebacks that print the URL).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        subscribe_all: bool = False,
        heartbeat_s: float = 20.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self._url = events_url(base_url)
        self._headers = {"Authorization": basic_auth_header(user, password)}
        self._params = {"app": app, "subscribeAll": "true" if subscribe_all else "false"}
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> AriEventSocket:
        try:
            # The handshake must not hang forever on a half-open TCP connection.
            async with asyncio.timeout(self._connect_timeout_s):
                self._ws = await self._session.ws_connect(
                    self._url,
                    params=self._params,
                    headers=self._headers,
                    heartbeat=self._heartbeat_s,  # pings detect a silently dead Asterisk
                )
        except aiohttp.WSServerHandshakeError as exc:
            raise error_for_status(exc.status, f"GET /events: handshake {exc.status}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise AriUnavailable(f"GET /events: unreachable ({type(exc).__name__})") from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            await ws.close()

    async def events(self) -> AsyncGenerator[AriEvent, None]:
        """Yield events until the socket closes; malformed events are logged and skipped."""
        if self._ws is None:
            raise RuntimeError("AriEventSocket.events() used outside 'async with'")
        try:
            async for msg in self._ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue  # ARI only sends text frames; close/error frames end the loop
                try:
                    yield parse_event(msg.data)
                except MalformedAriEvent as exc:
                    log.warning("skipping malformed ARI event: %s", exc)
        except (aiohttp.ClientError, OSError) as exc:
            raise AriUnavailable(f"GET /events: connection lost ({type(exc).__name__})") from exc


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter between reconnection attempts.

    Asterisk runs next to us, so a refused connection costs nothing and a long delay costs a
    lot: while we are away every child's call fails ``Stasis()``. The defaults try again after
    0.1 s, doubling to a cap of 1 s, so we are back within about a second of Asterisk.
    """

    initial_s: float = 0.1
    """Delay after the first failure (and after losing a working connection)."""
    factor: float = 2.0
    """Growth per further consecutive failure."""
    max_s: float = 1.0
    """Upper bound of the delay (``[asterisk] reconnect_max_s``)."""
    jitter: float = 0.2
    """Up to this fraction of each delay is taken off at random, so processes that lost
    Asterisk together do not knock in step. Taken off, never added: ``max_s`` stays a bound."""

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError(f"backoff needs 0 < initial_s <= max_s, got {self}")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError(f"backoff needs factor >= 1 and 0 <= jitter < 1, got {self}")

    def delay(self, failures: int, draw: float = 0.0) -> float:
        """Delay before the next attempt after ``failures`` consecutive failures (>= 1).

        ``draw`` in [0, 1) is the random part (0 = no jitter; the stream passes
        ``random.random()``).
        """
        exponent = min(max(0, failures - 1), 64)  # no float overflow after hours down
        base = min(self.max_s, self.initial_s * self.factor**exponent)
        return base * (1.0 - self.jitter * draw)


STILL_DOWN_LOG_S = 30.0
"""While Asterisk stays away, one warning per this many seconds (the rest is debug)."""


class AriEventStream:
    """Keeps the events websocket connected until cancelled, reporting items to ``sink``.

    ``sink`` must not block (use ``queue.put_nowait``); an exception from it ends
    :meth:`run`. Run ``await stream.run()`` in a task; cancel the task to stop.

    ``sleep``, ``clock`` and ``draw`` are the waiting, the monotonic time and the jitter's
    random numbers; tests pass fakes to check the timing without waiting.
    """

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        sink: Callable[[StreamItem], None],
        *,
        backoff: Backoff | None = None,
        subscribe_all: bool = False,
        heartbeat_s: float = 20.0,
        connect_timeout_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._socket_args = (base_url, user, password, app)
        self._sink = sink
        self._backoff = backoff or Backoff()
        self._subscribe_all = subscribe_all
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self._sleep = sleep
        self._clock = clock
        self._draw = draw
        self.connected = asyncio.Event()
        """Set while the websocket is up (handy for tests and health checks)."""

    def is_connected(self) -> bool:
        """Whether the websocket is up now (a readiness check)."""
        return self.connected.is_set()

    async def run(self) -> None:
        """Connect, pump events, reconnect with backoff; returns only by cancellation."""
        async with aiohttp.ClientSession() as session:
            failures = 0
            ever_connected = False
            down_since: float | None = None  # when the current outage began
            warned_at = 0.0
            while True:
                connected_at: float | None = None
                try:
                    async with AriEventSocket(
                        session,
                        *self._socket_args,
                        subscribe_all=self._subscribe_all,
                        heartbeat_s=self._heartbeat_s,
                        connect_timeout_s=self._connect_timeout_s,
                    ) as sock:
                        connected_at = self._clock()
                        if down_since is not None:
                            log.info(
                                "ARI events websocket back after %.1fs (%d attempts)",
                                connected_at - down_since,
                                failures,
                            )
                        down_since = None
                        self.connected.set()
                        self._sink(Connected(reconnect=ever_connected))
                        ever_connected = True
                        async with aclosing(sock.events()) as events:
                            async for event in events:
                                self._sink(event)
                    reason = "closed by Asterisk"
                except AriError as exc:
                    reason = str(exc)
                finally:
                    self.connected.clear()
                now = self._clock()
                if connected_at is not None:
                    self._sink(Disconnected(reason=reason))  # once per lost connection
                    # A connection that drops at once counts as a failure, so a flapping
                    # Asterisk does not get a reconnect (and a reconciliation) every 0.1 s.
                    stable = now - connected_at >= self._backoff.max_s
                    failures = 1 if stable else failures + 1
                else:
                    failures += 1
                delay = self._backoff.delay(failures, self._draw())
                if down_since is None:
                    down_since = warned_at = now
                    log.warning("ARI events websocket down (%s); retrying", reason)
                elif now - warned_at >= STILL_DOWN_LOG_S:
                    warned_at = now
                    log.warning(
                        "ARI events websocket still down after %.0fs (%s); retrying every"
                        " %.1fs at most",
                        now - down_since,
                        reason,
                        self._backoff.max_s,
                    )
                else:
                    log.debug("ARI events websocket down (%s); retrying in %.2fs", reason, delay)
                await self._sleep(delay)
