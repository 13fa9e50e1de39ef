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
from collections.abc import AsyncGenerator, Callable
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
    """Capped exponential backoff between reconnection attempts."""

    initial_s: float = 0.5
    """Delay after the first failure (and after losing a working connection)."""
    factor: float = 2.0
    """Growth per further consecutive failure."""
    max_s: float = 30.0
    """Upper bound of the delay."""

    def delay(self, failures: int) -> float:
        """Delay before the next attempt after ``failures`` consecutive failures (>= 1)."""
        return min(self.max_s, self.initial_s * self.factor ** max(0, failures - 1))


class AriEventStream:
    """Keeps the events websocket connected until cancelled, reporting items to ``sink``.

    ``sink`` must not block (use ``queue.put_nowait``); an exception from it ends
    :meth:`run`. Run ``await stream.run()`` in a task; cancel the task to stop.
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
    ) -> None:
        self._socket_args = (base_url, user, password, app)
        self._sink = sink
        self._backoff = backoff or Backoff()
        self._subscribe_all = subscribe_all
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self.connected = asyncio.Event()
        """Set while the websocket is up (handy for tests and health checks)."""

    async def run(self) -> None:
        """Connect, pump events, reconnect with backoff; returns only by cancellation."""
        async with aiohttp.ClientSession() as session:
            failures = 0
            ever_connected = False
            while True:
                was_up = False
                try:
                    async with AriEventSocket(
                        session,
                        *self._socket_args,
                        subscribe_all=self._subscribe_all,
                        heartbeat_s=self._heartbeat_s,
                        connect_timeout_s=self._connect_timeout_s,
                    ) as sock:
                        was_up, failures = True, 0
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
                if was_up:
                    self._sink(Disconnected(reason=reason))  # once per lost connection
                else:
                    failures += 1
                delay = self._backoff.delay(max(1, failures))
                log.warning("ARI events websocket down (%s); retrying in %.1fs", reason, delay)
                await asyncio.sleep(delay)
