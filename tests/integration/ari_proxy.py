"""An ARI fault injector: a reverse proxy on loopback between an ARI client and Asterisk.

It forwards everything (REST requests and the ``/ari/events`` websocket, both ways) and can
delay, fail or hang the requests that match a rule: a method and a path pattern (e.g. the
``POST /ari/channels/<id>/answer`` of one channel), optionally only the n-th match. Point the
app at :attr:`AriProxy.base_url` instead of Asterisk's, then add rules while it runs::

    async with AriProxy("http://127.0.0.1:8088") as proxy:
        rule = proxy.delay("POST", rf"/ari/channels/{channel}/answer", 3.0)
        ...                                   # drive calls through the app
        assert rule.applied == 1
        proxy.seen                            # every request: method, path, status, timings

A delayed request is forwarded at once and its *reply* is held (``before=True``: held, then
forwarded), which is what a slow Asterisk looks like to the app; a failed one never reaches
Asterisk and gets ARI's error shape (``{"message": ...}``) with the given status; a hung one
gets no reply until the client gives up (its own timeout) or the proxy stops.

Used by the integration tests and by ``bench/faults.py``; it imports nothing from the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

import aiohttp
from aiohttp import web

_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Upgrade",
        "Proxy-Connection", "TE", "Trailer", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Delay:
    """Answer the request ``seconds`` late."""

    seconds: float
    """How long to hold it."""
    before: bool = False
    """Hold the request before forwarding it (Asterisk acts late too); default: forward at once
    and hold the reply (Asterisk acts now, the client hears late)."""


@dataclass(frozen=True, slots=True)
class Fail:
    """Answer with an error status; the request never reaches Asterisk."""

    status: int
    """E.g. 404 (the channel is gone), 500, 503."""
    message: str = "injected by the ARI proxy"
    """ARI's error body is ``{"message": ...}``."""


@dataclass(frozen=True, slots=True)
class Hang:
    """Never answer: the client's own timeout ends the request (or the proxy stopping)."""

    forward: bool = False
    """Forward the request to Asterisk anyway (it acts, the reply is lost)."""


Action = Delay | Fail | Hang


@dataclass
class Rule:
    """Which requests get an action: method and path pattern, and which of the matches."""

    method: str
    """HTTP method, upper case; ``*`` for any."""
    path: re.Pattern[str]
    """Matched in full against the request path (no query), e.g. ``/ari/channels/[^/]+``."""
    action: Action
    """What to do with a matching request."""
    skip: int = 0
    """Let this many matching requests through first (``skip=n-1``: the n-th match)."""
    times: int | None = 1
    """Apply to this many matches after ``skip``, then pass the rest; None: all of them."""
    matched: int = 0
    """Matching requests seen so far."""
    applied: int = 0
    """Matching requests the action was applied to."""

    def take(self, method: str, path: str) -> Action | None:
        """The action for this request (counting it), None when the rule lets it pass."""
        if self.method not in ("*", method) or not self.path.fullmatch(path):
            return None
        self.matched += 1
        if self.matched <= self.skip:
            return None
        if self.times is not None and self.applied >= self.times:
            return None
        self.applied += 1
        return self.action


@dataclass(frozen=True, slots=True)
class Seen:
    """One request that went through the proxy (no query string: it may hold numbers)."""

    method: str
    path: str
    status: int
    """What the client got (0: no reply, e.g. a hang the client gave up on)."""
    received: float
    """``time.monotonic()`` when the proxy read the request."""
    answered: float
    """``time.monotonic()`` when the proxy replied (or gave up)."""
    action: str
    """``pass``, ``delay``, ``fail``, ``hang`` or ``websocket``."""


@dataclass
class _State:
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


class AriProxy:
    """The proxy; an async context manager that listens on ``host`` (port 0: any free one)."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        """Asterisk's HTTP server, e.g. ``http://127.0.0.1:8088`` (no ``/ari``)."""
        self.host = host
        self._port = port
        self._state = _State()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("AriProxy is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """What to give the ARI client instead of Asterisk's, e.g. ``http://127.0.0.1:P/ari``."""
        return f"http://{self.host}:{self.port}/ari"

    @property
    def seen(self) -> list[Seen]:
        return self._state.seen

    async def __aenter__(self) -> AriProxy:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        if not self._port:
            self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._stopping.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------------- rules

    def add(self, rule: Rule) -> Rule:
        """Add a rule; rules are tried in the order added, the first action wins."""
        self._state.rules.append(rule)
        return rule

    def delay(
        self,
        method: str,
        path: str,
        seconds: float,
        *,
        before: bool = False,
        skip: int = 0,
        times: int | None = 1,
    ) -> Rule:
        return self.add(Rule(method, re.compile(path), Delay(seconds, before), skip, times))

    def fail(
        self, method: str, path: str, status: int, *, skip: int = 0, times: int | None = 1
    ) -> Rule:
        return self.add(Rule(method, re.compile(path), Fail(status), skip, times))

    def hang(
        self,
        method: str,
        path: str,
        *,
        forward: bool = False,
        skip: int = 0,
        times: int | None = 1,
    ) -> Rule:
        return self.add(Rule(method, re.compile(path), Hang(forward), skip, times))

    def clear(self) -> None:
        """Remove every rule (requests in flight keep their action)."""
        self._state.rules.clear()

    def _action_for(self, method: str, path: str) -> Action | None:
        for rule in self._state.rules:
            action = rule.take(method, path)
            if action is not None:
                return action
        return None

    # ------------------------------------------------------------------------- forwarding

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        received = time.monotonic()
        action = self._action_for(request.method, request.path)
        kind = "pass" if action is None else type(action).__name__.lower()
        status = 0
        try:
            response = await self._act(request, action)
            status = response.status
            return response
        finally:
            self._state.seen.append(
                Seen(request.method, request.path, status, received, time.monotonic(), kind)
            )

    async def _act(self, request: web.Request, action: Action | None) -> web.Response:
        if isinstance(action, Fail):
            return web.json_response({"message": action.message}, status=action.status)
        if isinstance(action, Hang):
            if action.forward:
                await self._forward(request)
            await self._stopping.wait()
            raise web.HTTPServiceUnavailable(text="the ARI proxy stopped")
        if isinstance(action, Delay) and action.before:
            await asyncio.sleep(action.seconds)
        response = await self._forward(request)
        if isinstance(action, Delay) and not action.before:
            await asyncio.sleep(action.seconds)
        return response

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=_end_to_end(request.headers),
            data=body or None,
            allow_redirects=False,
        ) as upstream:
            data = await upstream.read()
            return web.Response(
                status=upstream.status, body=data, headers=_end_to_end(upstream.headers)
            )

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """Open the same websocket upstream, then pump frames both ways until one side ends."""
        assert self._session is not None
        received = time.monotonic()
        try:
            upstream = await self._session.ws_connect(
                self.upstream + request.path_qs,
                headers=_end_to_end(request.headers),
                autoping=True,
            )
        except aiohttp.WSServerHandshakeError as exc:
            # Asterisk refused (bad credentials, unknown path): the client gets the same.
            self._state.seen.append(
                Seen("GET", request.path, exc.status, received, time.monotonic(), "websocket")
            )
            return web.Response(status=exc.status, text=exc.message)
        client = web.WebSocketResponse(autoping=True)
        await client.prepare(request)
        self._sockets.add(client)
        self._state.seen.append(
            Seen("GET", request.path, 101, received, time.monotonic(), "websocket")
        )

        async def pump(
            source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
            sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
        ) -> None:
            async for msg in source:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    await sink.send_str(msg.data)
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    await sink.send_bytes(msg.data)
                else:
                    break

        try:
            tasks = [
                asyncio.create_task(pump(upstream, client)),
                asyncio.create_task(pump(client, upstream)),
                asyncio.create_task(self._stopping.wait()),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._sockets.discard(client)
            with contextlib.suppress(Exception):
                await upstream.close()
            with contextlib.suppress(Exception):
                await client.close()
        return client


def _end_to_end(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a proxy passes on (hop-by-hop ones dropped)."""
    return {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
