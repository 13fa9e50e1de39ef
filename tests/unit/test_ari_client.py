"""AriClient and the events websocket against an aiohttp server faking ARI."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from ari_app.ari_events import ChannelDestroyed, StasisStart
from ari_app.client import AriClient
from ari_app.errors import (
    AriAuthError,
    AriBadRequest,
    AriConflict,
    AriError,
    AriNotFound,
    AriProtocolError,
    AriServerError,
    AriUnavailable,
)
from ari_app.models import Bridge
from ari_app.websocket import (
    AriEventSocket,
    AriEventStream,
    Backoff,
    Connected,
    Disconnected,
    events_url,
)
from tests.unit.test_ari_events import CALLER_NUMBER, SAMPLES, bridge_json, channel_json

USER, PASSWORD, APP = "helpline", "s3cret", "helpline"
GOOD_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass
class Recorded:
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    body: Any
    auth: str | None


@dataclass
class WsScript:
    """What the fake sends on one websocket connection; then closes, or waits for the client."""

    messages: list[str] = field(default_factory=list)
    close: bool = False


class FakeAri:
    """Records REST calls, answers from ``responses``; plays ``ws_scripts`` per connection."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.responses: dict[tuple[str, str], tuple[int, Any]] = {}
        self.hang: set[tuple[str, str]] = set()
        self.side_effects: dict[tuple[str, str], Callable[[], None]] = {}
        self.ws_scripts: list[WsScript] = []
        self.ws_handshakes: list[tuple[dict[str, str], str | None]] = []
        self.ws_reject = 0
        """Answer this many further websocket handshakes with 503 (Asterisk going down)."""
        self.release = asyncio.Event()
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ari/events", self.events)
        app.router.add_route("*", "/ari/{tail:.*}", self.rest)
        return app

    async def rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        path = request.path.removeprefix("/ari")
        self.requests.append(
            Recorded(
                request.method,
                path,
                request.raw_path,
                dict(request.query),
                body,
                request.headers.get("Authorization"),
            )
        )
        if effect := self.side_effects.get((request.method, path)):
            effect()
        if (request.method, path) in self.hang:
            await self.release.wait()
        status, payload = self.responses.get((request.method, path), (204, None))
        if payload is None:
            return web.Response(status=status)
        if isinstance(payload, bytes):
            return web.Response(status=status, body=payload, content_type="text/plain")
        return web.json_response(payload, status=status)

    async def events(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        self.ws_handshakes.append((dict(request.query), auth))
        if auth != GOOD_AUTH:
            return web.json_response({"message": "Authentication required"}, status=401)
        if self.ws_reject > 0:
            self.ws_reject -= 1
            return web.json_response({"message": "shutting down"}, status=503)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        script = self.ws_scripts.pop(0) if self.ws_scripts else WsScript()
        for message in script.messages:
            await ws.send_str(message)
        if script.close:
            await ws.close()
        else:
            async for _ in ws:  # until the client closes
                pass
        return ws


@pytest.fixture
async def fake_ari():
    fake = FakeAri()
    server = TestServer(fake.app())
    await server.start_server()
    fake.base_url = str(server.make_url("/ari"))
    yield fake
    fake.release.set()
    await server.close()


@pytest.fixture
async def ari(fake_ari):
    async with AriClient(fake_ari.base_url, USER, PASSWORD, APP) as client:
        yield client


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


# --- REST ------------------------------------------------------------------------------


async def test_asterisk_info_with_basic_auth(fake_ari, ari):
    fake_ari.responses["GET", "/asterisk/info"] = (
        200,
        {
            "build": {"os": "Linux"},
            "system": {"version": "22.1.0", "entity_id": "02:42:ac:11:00:02"},
            "status": {"startup_time": "2024-05-01T10:00:00.000+0000"},
        },
    )
    info = await ari.asterisk_info()
    assert info.version == "22.1.0"
    assert info.entity_id == "02:42:ac:11:00:02"
    assert info.startup_time == "2024-05-01T10:00:00.000+0000"
    assert fake_ari.requests[0].auth == GOOD_AUTH


async def test_originate_sends_params_and_variables_and_drops_caller_identity(fake_ari, ari):
    fake_ari.responses["POST", "/channels"] = (200, channel_json("vol-17-call-3", "Down"))
    channel = await ari.channels.originate(
        "PJSIP/volunteer-17",
        channel_id="vol-17-call-3",
        app_args=["outbound", "call-3"],
        timeout_s=20,
        variables={"HELPLINE_CALL": "call-3"},
        originator="1700000000.12",
    )
    assert channel.id == "vol-17-call-3"
    assert CALLER_NUMBER not in repr(channel)
    req = fake_ari.requests[0]
    assert req.query == {
        "endpoint": "PJSIP/volunteer-17",
        "app": APP,
        "appArgs": "outbound,call-3",
        "channelId": "vol-17-call-3",
        "originator": "1700000000.12",
        "timeout": "20",
    }
    assert req.body == {"variables": {"HELPLINE_CALL": "call-3"}}


async def test_list_channels_and_bridges(fake_ari, ari):
    fake_ari.responses["GET", "/channels"] = (200, [channel_json("a"), channel_json("b")])
    fake_ari.responses["GET", "/bridges"] = (200, [bridge_json()])
    assert [c.id for c in await ari.channels.list()] == ["a", "b"]
    assert await ari.bridges.list() == [
        Bridge("queue-main", "holding", "holding_bridge", "queue", ("1700000000.12",))
    ]


# (call, method, path, query) for the simple calls: each must hit the right ARI route.
SIMPLE_CALLS = [
    (lambda a: a.channels.answer("c1"), "POST", "/channels/c1/answer", {}),
    (lambda a: a.channels.hangup("c1", "busy"), "DELETE", "/channels/c1", {"reason": "busy"}),
    (lambda a: a.channels.ring("c1"), "POST", "/channels/c1/ring", {}),
    (lambda a: a.channels.ring_stop("c1"), "DELETE", "/channels/c1/ring", {}),
    (
        lambda a: a.channels.continue_in_dialplan("c1", context="ctx", extension="s", priority=1),
        "POST",
        "/channels/c1/continue",
        {"context": "ctx", "extension": "s", "priority": "1"},
    ),
    (
        lambda a: a.channels.start_moh("c1", "kids"),
        "POST",
        "/channels/c1/moh",
        {"mohClass": "kids"},
    ),
    (lambda a: a.channels.stop_moh("c1"), "DELETE", "/channels/c1/moh", {}),
    (lambda a: a.channels.hold("c1"), "POST", "/channels/c1/hold", {}),
    (lambda a: a.channels.unhold("c1"), "DELETE", "/channels/c1/hold", {}),
    (lambda a: a.channels.mute("c1"), "POST", "/channels/c1/mute", {"direction": "both"}),
    (lambda a: a.channels.unmute("c1", "in"), "DELETE", "/channels/c1/mute", {"direction": "in"}),
    (
        lambda a: a.channels.set_variable("c1", "X", "1"),
        "POST",
        "/channels/c1/variable",
        {"variable": "X", "value": "1"},
    ),
    (
        lambda a: a.channels.send_dtmf("c1", "12#", duration_ms=100),
        "POST",
        "/channels/c1/dtmf",
        {"dtmf": "12#", "duration": "100"},
    ),
    (lambda a: a.channels.dial("c1", timeout_s=15), "POST", "/channels/c1/dial", {"timeout": "15"}),
    (lambda a: a.playbacks.stop("pb-1"), "DELETE", "/playbacks/pb-1", {}),
    (lambda a: a.bridges.delete("b1"), "DELETE", "/bridges/b1", {}),
    (
        lambda a: a.bridges.add_channel("b1", "c1", role="volunteer"),
        "POST",
        "/bridges/b1/addChannel",
        {"channel": "c1", "role": "volunteer"},
    ),
    (
        lambda a: a.bridges.remove_channel("b1", ["c1", "c2"]),
        "POST",
        "/bridges/b1/removeChannel",
        {"channel": "c1,c2"},
    ),
    (lambda a: a.bridges.start_moh("b1"), "POST", "/bridges/b1/moh", {}),
    (lambda a: a.bridges.stop_moh("b1"), "DELETE", "/bridges/b1/moh", {}),
    (
        lambda a: a.applications.subscribe("endpoint:PJSIP"),
        "POST",
        "/applications/helpline/subscription",
        {"eventSource": "endpoint:PJSIP"},
    ),
    (
        lambda a: a.applications.unsubscribe(["endpoint:PJSIP", "deviceState:"]),
        "DELETE",
        "/applications/helpline/subscription",
        {"eventSource": "endpoint:PJSIP,deviceState:"},
    ),
]


@pytest.mark.parametrize(("call", "method", "path", "query"), SIMPLE_CALLS)
async def test_simple_calls_hit_the_right_route(fake_ari, ari, call, method, path, query):
    assert await call(ari) is None
    [req] = fake_ari.requests
    assert (req.method, req.path, req.query) == (method, path, query)


async def test_play_returns_playback_with_our_id(fake_ari, ari):
    payload = {
        "id": "pb-7",
        "media_uri": "sound:a",
        "target_uri": "channel:c1",
        "state": "queued",
    }
    fake_ari.responses["POST", "/channels/c1/play/pb-7"] = (200, payload)
    fake_ari.responses["POST", "/bridges/b1/play/pb-8"] = (200, {**payload, "id": "pb-8"})
    playback = await ari.channels.play("c1", ["sound:a", "sound:b"], "pb-7")
    assert (playback.id, playback.state) == ("pb-7", "queued")
    assert fake_ari.requests[0].query == {"media": "sound:a,sound:b"}
    assert (await ari.bridges.play("b1", "sound:a", "pb-8")).id == "pb-8"


async def test_create_bridge_with_id_and_ensure(fake_ari, ari):
    fake_ari.responses["POST", "/bridges/queue-main"] = (200, bridge_json())
    fake_ari.responses["GET", "/bridges/queue-main"] = (404, {"message": "Bridge not found"})
    bridge = await ari.bridges.ensure("queue-main", type="holding", name="queue")
    assert bridge.id == "queue-main" and bridge.bridge_type == "holding"
    assert [(r.method, r.path) for r in fake_ari.requests] == [
        ("GET", "/bridges/queue-main"),
        ("POST", "/bridges/queue-main"),
    ]
    assert fake_ari.requests[1].query == {"type": "holding", "name": "queue"}


async def test_ensure_returns_existing_bridge_without_creating(fake_ari, ari):
    fake_ari.responses["GET", "/bridges/queue-main"] = (200, bridge_json())
    assert (await ari.bridges.ensure("queue-main", type="holding")).id == "queue-main"
    assert [r.method for r in fake_ari.requests] == ["GET"]


async def test_ensure_survives_a_concurrent_create(fake_ari, ari):
    fake_ari.responses["GET", "/bridges/b1"] = (404, {"message": "Bridge not found"})
    fake_ari.responses["POST", "/bridges/b1"] = (409, {"message": "already exists"})

    def bridge_appears() -> None:  # someone else created it just before our POST
        fake_ari.responses["GET", "/bridges/b1"] = (200, {**bridge_json(), "id": "b1"})

    fake_ari.side_effects["POST", "/bridges/b1"] = bridge_appears
    assert (await ari.bridges.ensure("b1")).id == "b1"
    assert [r.method for r in fake_ari.requests] == ["GET", "POST", "GET"]


async def test_endpoints_and_device_states(fake_ari, ari):
    endpoint = {"technology": "PJSIP", "resource": "volunteer-17", "state": "offline"}
    fake_ari.responses["GET", "/endpoints/PJSIP/volunteer-17"] = (200, endpoint)
    fake_ari.responses["GET", "/endpoints"] = (200, [endpoint, {**endpoint, "state": "online"}])
    fake_ari.responses["GET", "/deviceStates"] = (200, [{"name": "Stasis:x", "state": "INUSE"}])
    one = await ari.endpoints.get("PJSIP", "volunteer-17")
    assert (one.state, one.online) == ("offline", False)
    assert [e.online for e in await ari.endpoints.list()] == [False, True]
    assert [(d.name, d.state) for d in await ari.device_states.list()] == [("Stasis:x", "INUSE")]


async def test_get_variable(fake_ari, ari):
    fake_ari.responses["GET", "/channels/c1/variable"] = (200, {"value": "nl"})
    assert await ari.channels.get_variable("c1", "LANG") == "nl"
    assert fake_ari.requests[0].query == {"variable": "LANG"}


async def test_path_segments_are_quoted(fake_ari, ari):
    await ari.channels.answer("odd/id x")
    assert fake_ari.requests[0].raw_path == "/ari/channels/odd%2Fid%20x/answer"


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (404, AriNotFound),
        (409, AriConflict),
        (412, AriConflict),
        (400, AriBadRequest),
        (422, AriBadRequest),
        (401, AriAuthError),
        (500, AriServerError),
        (503, AriServerError),
    ],
)
async def test_http_errors_map_to_the_error_tree(fake_ari, ari, status, exc_type):
    fake_ari.responses["GET", "/channels/gone"] = (status, {"message": "Channel not found"})
    with pytest.raises(exc_type) as info:
        await ari.channels.get("gone")
    assert info.value.status == status
    assert "GET /channels/gone" in str(info.value)
    assert "Channel not found" in str(info.value)


async def test_error_message_never_contains_query_parameters(fake_ari, ari):
    fake_ari.responses["POST", "/channels"] = (400, {"message": "bad endpoint"})
    with pytest.raises(AriBadRequest) as info:
        await ari.channels.originate(f"PJSIP/{CALLER_NUMBER}@trunk")
    assert CALLER_NUMBER not in str(info.value)


async def test_non_json_body_is_a_protocol_error(fake_ari, ari):
    fake_ari.responses["GET", "/channels/c1"] = (200, b"<html>oops</html>")
    with pytest.raises(AriProtocolError, match="not JSON"):
        await ari.channels.get("c1")


async def test_wrong_shape_is_a_protocol_error(fake_ari, ari):
    fake_ari.responses["GET", "/channels"] = (200, {"not": "a list"})
    fake_ari.responses["GET", "/channels/c1"] = (200, {"id": "c1"})
    with pytest.raises(AriProtocolError):
        await ari.channels.list()
    with pytest.raises(AriProtocolError, match="channel.name"):
        await ari.channels.get("c1")


async def test_connection_refused_is_unavailable():
    async with AriClient(f"http://127.0.0.1:{unused_port()}/ari", USER, PASSWORD, APP) as ari:
        with pytest.raises(AriUnavailable) as info:
            await ari.asterisk_info()
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


async def test_timeout_is_unavailable(fake_ari):
    fake_ari.hang.add(("GET", "/asterisk/info"))
    async with AriClient(fake_ari.base_url, USER, PASSWORD, APP, timeout_s=0.2) as ari:
        with pytest.raises(AriUnavailable):
            await ari.asterisk_info()


async def test_app_args_with_comma_are_refused_before_any_request(fake_ari, ari):
    with pytest.raises(ValueError, match="comma"):
        await ari.channels.originate("PJSIP/v1", app_args=["a,b"])
    assert fake_ari.requests == []


async def test_client_outside_context_manager_is_a_programming_error():
    client = AriClient("http://127.0.0.1:1/ari", USER, PASSWORD, APP)
    with pytest.raises(RuntimeError):
        await client.asterisk_info()


def test_all_errors_share_one_base():
    for cls in (AriNotFound, AriConflict, AriUnavailable, AriProtocolError, AriServerError):
        assert issubclass(cls, AriError)


# --- websocket -------------------------------------------------------------------------


def test_events_url():
    assert events_url("http://127.0.0.1:8088/ari/") == "ws://127.0.0.1:8088/ari/events"
    assert events_url("https://pbx/ari") == "wss://pbx/ari/events"


def test_backoff_is_exponential_and_capped():
    backoff = Backoff(initial_s=0.5, factor=2, max_s=4)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]  # draw 0: no jitter


async def test_socket_yields_parsed_events_and_skips_malformed(fake_ari, caplog):
    malformed = json.dumps({"type": "StasisStart", "application": "helpline", "channel": {
        "name": "x", "caller": {"number": CALLER_NUMBER}}})  # fmt: skip
    fake_ari.ws_scripts.append(
        WsScript(
            [malformed, "not json", json.dumps(SAMPLES["StasisStart"])],
            close=True,
        )
    )
    caplog.set_level(logging.WARNING, logger="ari_app.websocket")
    async with aiohttp.ClientSession() as session:
        async with AriEventSocket(session, fake_ari.base_url, USER, PASSWORD, APP) as sock:
            events = [e async for e in sock.events()]
    assert [type(e) for e in events] == [StasisStart]
    assert fake_ari.ws_handshakes[0][0] == {"app": APP, "subscribeAll": "false"}
    assert len(caplog.records) == 2
    assert CALLER_NUMBER not in caplog.text


async def test_socket_handshake_with_bad_password_is_auth_error(fake_ari):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AriAuthError):
            async with AriEventSocket(session, fake_ari.base_url, USER, "wrong", APP):
                pass


async def test_stream_reconnects_and_reports_connected_disconnected(fake_ari):
    fake_ari.ws_scripts = [
        WsScript([json.dumps(SAMPLES["StasisStart"])], close=True),
        WsScript([json.dumps(SAMPLES["ChannelDestroyed"])]),  # stays open
    ]
    items: list[Any] = []
    stream = AriEventStream(
        fake_ari.base_url, USER, PASSWORD, APP, items.append, backoff=Backoff(initial_s=0.01)
    )
    task = asyncio.create_task(stream.run())
    await wait_for(lambda: len(items) >= 5)
    assert stream.connected.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not stream.connected.is_set()
    assert [type(i) for i in items] == [
        Connected,
        StasisStart,
        Disconnected,
        Connected,
        ChannelDestroyed,
    ]
    assert items[0] == Connected(reconnect=False)
    assert items[3] == Connected(reconnect=True)
    assert len(fake_ari.ws_handshakes) == 2


def retry_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("websocket down" in r.getMessage() for r in caplog.records)


async def test_stream_reports_one_disconnected_per_lost_connection(fake_ari):
    fake_ari.ws_scripts = [WsScript(close=True)]
    items: list[Any] = []

    def sink(item: Any) -> None:
        items.append(item)
        if isinstance(item, Connected) and not item.reconnect:
            fake_ari.ws_reject = 3  # the next three reconnection attempts fail

    stream = AriEventStream(
        fake_ari.base_url, USER, PASSWORD, APP, sink, backoff=Backoff(initial_s=0.01)
    )
    task = asyncio.create_task(stream.run())
    await wait_for(lambda: len(items) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert items == [
        Connected(reconnect=False),
        Disconnected(reason="closed by Asterisk"),
        Connected(reconnect=True),
    ]
    assert len(fake_ari.ws_handshakes) == 5


async def test_stream_retries_until_asterisk_comes_up_then_cancels_cleanly():
    fake = FakeAri()
    port = unused_port()
    items: list[Any] = []
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0.001)

    stream = AriEventStream(
        f"http://127.0.0.1:{port}/ari",
        USER,
        PASSWORD,
        APP,
        items.append,
        backoff=Backoff(initial_s=0.01, max_s=0.05),
        sleep=sleep,
    )
    task = asyncio.create_task(stream.run())
    await wait_for(lambda: len(delays) >= 3)
    assert items == []  # failed attempts before the first connection report nothing
    server = TestServer(fake.app(), port=port)
    await server.start_server()
    try:
        await wait_for(lambda: items == [Connected(reconnect=False)])
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await server.close()
    assert task.cancelled()


async def test_stream_cancel_during_backoff_is_clean(caplog):
    caplog.set_level(logging.WARNING, logger="ari_app.websocket")
    stream = AriEventStream(
        f"http://127.0.0.1:{unused_port()}/ari",
        USER,
        PASSWORD,
        APP,
        lambda item: None,
        backoff=Backoff(initial_s=60, max_s=60),
    )
    task = asyncio.create_task(stream.run())
    await wait_for(lambda: retry_warnings(caplog) == 1)  # now sleeping 60 s
    task.cancel()
    async with asyncio.timeout(2):
        with pytest.raises(asyncio.CancelledError):
            await task
