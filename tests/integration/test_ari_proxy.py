"""The ARI fault injector (``ari_proxy.py``) against the real Asterisk of the ``asterisk`` fixture.

Everything goes through the proxy with the project's own ARI client and events websocket:
REST and events are forwarded untouched, and only the requests a rule matches are delayed,
failed or hung.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ari_app.client import AriClient, basic_auth_header
from ari_app.errors import AriError, AriNotFound, AriUnavailable
from tests.integration.ari_proxy import AriProxy

pytestmark = pytest.mark.integration

USER_EVENT = "proxy-test"


@pytest.fixture
async def proxy(asterisk: Any) -> AsyncIterator[AriProxy]:
    upstream = asterisk.ari.base_url.removesuffix("/ari")
    async with AriProxy(upstream) as running:
        yield running


@pytest.fixture
async def ari(asterisk: Any, proxy: AriProxy) -> AsyncIterator[AriClient]:
    access = asterisk.ari
    async with AriClient(proxy.base_url, access.user, access.password, asterisk.app) as client:
        yield client


async def _timed(coro: Any) -> tuple[float, Any]:
    started = time.monotonic()
    try:
        result = await coro
    except AriError as exc:
        result = exc
    return time.monotonic() - started, result


async def test_rest_is_forwarded(ari: AriClient, proxy: AriProxy) -> None:
    info = await ari.asterisk_info()
    assert info.version.startswith("22")
    with pytest.raises(AriNotFound):
        await ari.channels.get("proxy-no-such-channel")
    assert [(s.method, s.path, s.status, s.action) for s in proxy.seen] == [
        ("GET", "/ari/asterisk/info", 200, "pass"),
        ("GET", "/ari/channels/proxy-no-such-channel", 404, "pass"),
    ]


async def test_wrong_credentials_are_refused_as_upstream(asterisk: Any, proxy: AriProxy) -> None:
    async with AriClient(proxy.base_url, asterisk.ari.user, "wrong", asterisk.app) as client:
        with pytest.raises(AriError) as caught:
            await client.asterisk_info()
    assert "401" in str(caught.value)


async def test_events_websocket_is_forwarded(asterisk: Any, proxy: AriProxy) -> None:
    access = asterisk.ari
    headers = {"Authorization": basic_auth_header(access.user, access.password)}
    ws_url = proxy.base_url.replace("http://", "ws://") + "/events"
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.ws_connect(ws_url, params={"app": "proxy-test-app"}) as ws:
            async with session.post(
                f"{proxy.base_url}/events/user/{USER_EVENT}",
                params={"application": "proxy-test-app"},
                json={"variables": {"marker": "forwarded"}},
            ) as resp:
                assert resp.status == 204
            msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type is aiohttp.WSMsgType.TEXT
    event = json.loads(msg.data)
    assert event["type"] == "ChannelUserevent"
    assert event["eventname"] == USER_EVENT
    assert event["userevent"]["marker"] == "forwarded"
    assert [s.action for s in proxy.seen] == ["websocket", "pass"]


async def test_only_the_matching_request_is_delayed(ari: AriClient, proxy: AriProxy) -> None:
    rule = proxy.delay("GET", r"/ari/channels/proxy-slow", 0.6)
    (slow_s, slow), (fast_s, fast) = await asyncio.gather(
        _timed(ari.channels.get("proxy-slow")), _timed(ari.channels.get("proxy-fast"))
    )
    assert isinstance(slow, AriNotFound) and isinstance(fast, AriNotFound)  # forwarded
    assert 0.6 <= slow_s < 1.5
    assert fast_s < 0.3
    assert (rule.matched, rule.applied) == (1, 1)
    again_s, _ = await _timed(ari.channels.get("proxy-slow"))  # times=1: the next one passes
    assert again_s < 0.3
    assert [s.action for s in proxy.seen].count("delay") == 1


async def test_the_nth_request_is_delayed(ari: AriClient, proxy: AriProxy) -> None:
    rule = proxy.delay("GET", r"/ari/asterisk/info", 0.5, skip=2)
    times = [(await _timed(ari.asterisk_info()))[0] for _ in range(4)]
    assert [t >= 0.5 for t in times] == [False, False, True, False]
    assert (rule.matched, rule.applied) == (4, 1)


@pytest.mark.parametrize("before", [False, True])
async def test_a_delayed_reply_is_forwarded_at_once_unless_before(
    asterisk: Any, ari: AriClient, proxy: AriProxy, before: bool
) -> None:
    """Delay (default) holds the reply, not the request: Asterisk acts at once."""
    access = asterisk.ari
    headers = {"Authorization": basic_auth_header(access.user, access.password)}
    ws_url = f"ws://{access.base_url.removeprefix('http://')}/events"  # straight, not proxied
    proxy.delay("POST", rf"/ari/events/user/{USER_EVENT}", 0.8, before=before)
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.ws_connect(ws_url, params={"app": "proxy-test-app"}) as ws:
            started = time.monotonic()
            post = asyncio.create_task(
                ari.request(
                    "POST", ["events", "user", USER_EVENT], {"application": "proxy-test-app"}
                )
            )
            await asyncio.wait_for(ws.receive(), 5)
            event_s = time.monotonic() - started
            await post
            reply_s = time.monotonic() - started
    assert reply_s >= 0.8
    if before:
        assert event_s >= 0.8
    else:
        assert event_s < 0.4


async def test_failures_are_injected_in_ari_shape(ari: AriClient, proxy: AriProxy) -> None:
    proxy.fail("GET", r"/ari/asterisk/info", 500)
    proxy.fail("GET", r"/ari/channels/[^/]+", 404)
    with pytest.raises(AriError) as caught:
        await ari.asterisk_info()
    assert "500" in str(caught.value) and "injected" in str(caught.value)
    with pytest.raises(AriNotFound):
        await ari.channels.get("any")
    assert (await ari.asterisk_info()).version.startswith("22")  # times=1: passes again
    assert [(s.status, s.action) for s in proxy.seen] == [
        (500, "fail"),
        (404, "fail"),
        (200, "pass"),
    ]


async def test_a_hung_request_times_out_at_the_client(asterisk: Any, proxy: AriProxy) -> None:
    access = asterisk.ari
    proxy.hang("GET", r"/ari/asterisk/info")
    async with AriClient(
        proxy.base_url, access.user, access.password, asterisk.app, timeout_s=0.5
    ) as client:
        elapsed, result = await _timed(client.asterisk_info())
        assert isinstance(result, AriUnavailable)
        assert 0.5 <= elapsed < 1.5
        assert (await client.asterisk_info()).version.startswith("22")
