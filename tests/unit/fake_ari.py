"""A fake Asterisk REST Interface for unit tests, in the manner of httpx's ``MockTransport``.

The real ``ari_app.client.AriClient`` talks HTTP to an ``aiohttp.web`` app on a loopback port,
so everything above the socket (URL quoting, status mapping, timeouts) is the production
code. The fake records every request in order as a ``Req`` (method, path, query, body) and
answers from a script: a rule per method and path pattern can reply with a status and JSON,
add a delay, or never answer (the client then times out). Without a rule it answers like
Asterisk 22 would: the channel, bridge, endpoint lists from ``channels``/``bridges``/
``endpoints`` (the scripted state reconciliation reads), an originated channel, a created
bridge, a started playback, else 204. ``send_event`` pushes ARI events down the events
websocket, for tests that run the whole ``HelplineApp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

USER, PASSWORD, APP = "helpline", "fake-secret", "helpline"


@dataclass(frozen=True)
class Req:
    """One request as the fake received it."""

    method: str
    path: str
    """Without the ``/ari`` prefix, decoded, e.g. ``/channels/vol-x-1/answer``."""
    params: dict[str, str]
    body: Any
    at: float = field(default=0.0, compare=False)
    """The event loop's time when it arrived (for the delay tests)."""

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Rule:
    """How to answer requests matching ``method`` and ``pattern`` (``fnmatch`` on the path)."""

    method: str
    pattern: str
    status: int | None = None
    """None: the default answer (after the delay)."""
    payload: Any = None
    delay_s: float = 0.0
    hang: bool = False
    """Never answer (until the fake closes): the client's own timeout fires."""
    times: int | None = 1
    """How many requests the rule applies to; None for all."""

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and fnmatch.fnmatchcase(path, self.pattern)


def channel_json(
    channel_id: str,
    *,
    state: str = "Up",
    name: str = "PJSIP/carrier-00000001",
    context: str = "carrier",
    exten: str = "116111",
) -> dict[str, Any]:
    """A channel as Asterisk 22 sends it (with the caller fields our models drop)."""
    return {
        "id": channel_id,
        "name": name,
        "state": state,
        "protocol_id": "",
        "caller": {"name": "", "number": "0612345678"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {"context": context, "exten": exten, "priority": 1},
        "creationtime": "2026-12-02T10:00:00.000+0000",
        "language": "nl",
    }


def bridge_json(
    bridge_id: str, channels: list[str], bridge_type: str = "holding"
) -> dict[str, Any]:
    return {
        "id": bridge_id,
        "technology": "holding_bridge" if bridge_type == "holding" else "simple_bridge",
        "bridge_type": bridge_type,
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": bridge_type,
        "channels": channels,
    }


def endpoint_json(resource: str, state: str = "online") -> dict[str, Any]:
    return {"technology": "PJSIP", "resource": resource, "state": state, "channel_ids": []}


class FakeAri:
    """Records ARI requests and answers them from a script and a scripted Asterisk state."""

    def __init__(self) -> None:
        self.requests: list[Req] = []
        self.rules: list[Rule] = []
        self.channels: list[dict[str, Any]] = []
        self.bridges: list[dict[str, Any]] = []
        self.endpoints: list[dict[str, Any]] = []
        self.base_url = ""
        self._release = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._events: asyncio.Queue[str | None] = asyncio.Queue()
        self.ws_connections = 0

    # ------------------------------------------------------------------ scripting

    def script(
        self,
        method: str,
        pattern: str,
        *,
        status: int | None = None,
        payload: Any = None,
        delay_s: float = 0.0,
        hang: bool = False,
        times: int | None = 1,
    ) -> None:
        """Answer the next ``times`` matching requests this way (earlier rules win)."""
        self.rules.append(Rule(method, pattern, status, payload, delay_s, hang, times))

    def fail(self, method: str, pattern: str, status: int, times: int | None = 1) -> None:
        message = {404: "Channel not found", 409: "Conflict", 500: "Internal error"}
        self.script(
            method,
            pattern,
            status=status,
            payload={"message": message.get(status, "error")},
            times=times,
        )

    def send_event(self, event: dict[str, Any]) -> None:
        """Send one ARI event on the events websocket."""
        self._events.put_nowait(json.dumps(event))

    def drop_websocket(self) -> None:
        """Close the current events websocket (Asterisk went away)."""
        self._events.put_nowait(None)

    # ------------------------------------------------------------------ reading

    @property
    def lines(self) -> list[str]:
        """``"METHOD /path"`` of every request, in order of arrival."""
        return [r.line for r in self.requests]

    def matching(self, method: str, pattern: str) -> list[Req]:
        return [
            r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, pattern)
        ]

    async def wait_for(self, method: str, pattern: str, count: int = 1, timeout: float = 5) -> Req:
        """Wait until ``count`` requests matching have arrived; return the last of them."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.matching(method, pattern)) >= count)
        return self.matching(method, pattern)[count - 1]

    # ------------------------------------------------------------------ serving

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ari/events", self._websocket)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        return app

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        path = request.path.removeprefix("/ari")
        loop = asyncio.get_running_loop()
        self.requests.append(Req(request.method, path, dict(request.query), body, loop.time()))
        async with self._arrived:
            self._arrived.notify_all()
        rule = self._rule_for(request.method, path)
        if rule is not None and (rule.hang or rule.delay_s):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if rule.hang else rule.delay_s):
                    await self._release.wait()
        if rule is not None and rule.status is not None:
            status, payload = rule.status, rule.payload
        else:
            status, payload = self._default(request.method, path, dict(request.query))
        if payload is None:
            return web.Response(status=status)
        return web.json_response(payload, status=status)

    def _rule_for(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(method, path) and rule.times != 0:
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def _default(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["channels"]:
            return 200, self.channels
        if method == "GET" and parts == ["bridges"]:
            return 200, self.bridges
        if method == "GET" and parts == ["endpoints"]:
            return 200, self.endpoints
        if method == "GET" and parts[0] == "endpoints" and len(parts) == 3:
            for endpoint in self.endpoints:
                if [endpoint["technology"], endpoint["resource"]] == parts[1:]:
                    return 200, endpoint
            return 404, {"message": "Endpoint not found"}
        if method == "POST" and parts == ["channels"]:
            channel_id = query.get("channelId", "1764669600.99")
            name = query.get("endpoint", "PJSIP/x") + "-00000002"
            return 200, channel_json(channel_id, state="Down", name=name, context="default")
        if method == "POST" and len(parts) == 4 and parts[0] == "channels" and parts[2] == "snoop":
            name = f"Snoop/{parts[1]}-00000001"
            return 200, channel_json(parts[3], state="Up", name=name, context="default")
        if method == "POST" and parts[0] == "bridges" and len(parts) == 2:
            return 200, bridge_json(parts[1], [], query.get("type", "mixing"))
        if method == "POST" and "play" in parts:
            playback_id = parts[3] if len(parts) == 4 else "pb"
            target = f"{parts[0].removesuffix('s')}:{parts[1]}"
            media = query.get("media", "")
            return 201, {"id": playback_id, "media_uri": media, "target_uri": target}
        return 204, None

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws_connections += 1
        closing = asyncio.ensure_future(self._release.wait())
        try:
            while True:
                getting = asyncio.ensure_future(self._events.get())
                done, _ = await asyncio.wait(
                    {getting, closing}, return_when=asyncio.FIRST_COMPLETED
                )
                if getting not in done:
                    getting.cancel()
                    break
                message = getting.result()
                if message is None:
                    break
                await ws.send_str(message)
        finally:
            closing.cancel()
            await ws.close()
        return ws

    async def close(self) -> None:
        self._release.set()


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[FakeAri]:
    """Run a ``FakeAri`` on a loopback port for the duration of the block."""
    fake = FakeAri()
    server = TestServer(fake.app())
    await server.start_server()
    fake.base_url = str(server.make_url("/ari"))
    try:
        yield fake
    finally:
        await fake.close()
        await server.close()
