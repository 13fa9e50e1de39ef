"""AriClient and the events websocket against the real Asterisk 22 of the ``asterisk`` fixture."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ari_app.ari_events import (
    ChannelDestroyed,
    ChannelEnteredBridge,
    PlaybackFinished,
    PlaybackStarted,
    StasisStart,
)
from ari_app.client import AriClient
from ari_app.errors import AriAuthError, AriConflict, AriNotFound
from ari_app.websocket import AriEventStream, Backoff, Connected, StreamItem

pytestmark = pytest.mark.integration

BRIDGE_ID = "it-ari-client-bridge"


@pytest.fixture
async def ari(asterisk: Any) -> AsyncIterator[AriClient]:
    access = asterisk.ari
    async with AriClient(access.base_url, access.user, access.password, asterisk.app) as client:
        yield client


@contextlib.asynccontextmanager
async def event_stream(asterisk: Any) -> AsyncIterator[asyncio.Queue[StreamItem]]:
    """Run an AriEventStream for our app; yields its queue after Connected arrived."""
    access = asterisk.ari
    queue: asyncio.Queue[StreamItem] = asyncio.Queue()
    stream = AriEventStream(
        access.base_url,
        access.user,
        access.password,
        asterisk.app,
        queue.put_nowait,
        backoff=Backoff(initial_s=0.1),
    )
    task = asyncio.create_task(stream.run())
    try:
        first = await asyncio.wait_for(queue.get(), timeout=10)
        assert first == Connected(reconnect=False)
        # An app that ran before under the same name (helpline run in the browser tests) left
        # its event filter on the application in Asterisk: these tests want every event.
        async with AriClient(access.base_url, access.user, access.password, asterisk.app) as ari:
            await ari.request(
                "PUT",
                ["applications", asterisk.app, "eventFilter"],
                body={"allowed": [], "disallowed": []},
            )
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_item(
    queue: asyncio.Queue[StreamItem], match: Callable[[Any], bool], timeout: float = 10.0
) -> Any:
    """The first item matching ``match`` (others are dropped)."""
    async with asyncio.timeout(timeout):
        while True:
            item = await queue.get()
            if match(item):
                return item


async def test_asterisk_info(ari):
    info = await ari.asterisk_info()
    assert info.version.startswith("22"), info.version
    assert info.entity_id
    assert info.startup_time


async def test_bridge_with_fixed_id_lifecycle(ari):
    with contextlib.suppress(AriNotFound):  # leftover of an interrupted run
        await ari.bridges.delete(BRIDGE_ID)
    created = await ari.bridges.create_with_id(BRIDGE_ID, type="holding", name="it-queue")
    try:
        assert (created.id, created.bridge_type, created.name) == (BRIDGE_ID, "holding", "it-queue")
        assert (await ari.bridges.get(BRIDGE_ID)).id == BRIDGE_ID
        assert BRIDGE_ID in {b.id for b in await ari.bridges.list()}
        # Asterisk 22 answers 409 for an existing id, hence ensure() for recovery.
        with pytest.raises(AriConflict):
            await ari.bridges.create_with_id(BRIDGE_ID, type="holding")
        # ensure() on an existing bridge returns it instead of creating a second one.
        assert (await ari.bridges.ensure(BRIDGE_ID, type="holding")).id == BRIDGE_ID
    finally:
        await ari.bridges.delete(BRIDGE_ID)
    # Asterisk tears a bridge down asynchronously: poll briefly until it is gone.
    async with asyncio.timeout(5):
        while True:
            try:
                await ari.bridges.get(BRIDGE_ID)
            except AriNotFound:
                break
            await asyncio.sleep(0.05)
    with pytest.raises(AriNotFound):
        await ari.bridges.delete(BRIDGE_ID)


async def test_missing_objects_map_to_not_found(ari):
    with pytest.raises(AriNotFound):
        await ari.channels.get("no-such-channel")
    with pytest.raises(AriNotFound):
        await ari.channels.hangup("no-such-channel")
    with pytest.raises(AriNotFound):
        await ari.endpoints.get("PJSIP", "no-such-endpoint")


async def test_wrong_password_is_auth_error(asterisk):
    access = asterisk.ari
    async with AriClient(access.base_url, access.user, "wrong", asterisk.app) as client:
        with pytest.raises(AriAuthError):
            await client.asterisk_info()


async def test_websocket_connects_and_endpoint_subscription_works(asterisk, ari):
    async with event_stream(asterisk):
        # Subscribing needs the app to be registered, i.e. our websocket to be up.
        await ari.applications.subscribe("endpoint:PJSIP")
        endpoint = await ari.endpoints.get("PJSIP", "test-udp-1")
        assert (endpoint.technology, endpoint.resource) == ("PJSIP", "test-udp-1")
        assert endpoint.state in {"online", "offline", "unknown"}
        assert "test-udp-1" in {e.resource for e in await ari.endpoints.list()}
        assert isinstance(await ari.device_states.list(), list)


async def test_originate_events_playback_and_bridge_end_to_end(asterisk, ari):
    """A Local channel into the carrier dialplan: both halves end up in our app."""
    async with event_stream(asterisk) as queue:
        outer = await ari.channels.originate(
            "Local/116111@carrier",
            channel_id="it-outer",
            other_channel_id="it-inner",
            app_args=["it", "outer"],
            timeout_s=10,
        )
        assert outer.id == "it-outer"
        try:
            # The ;2 half runs the dialplan: anonymise, then Stasis(app,inbound,116111).
            inner = await next_item(
                queue, lambda i: isinstance(i, StasisStart) and i.channel.id == "it-inner"
            )
            assert inner.args == ("inbound", "116111")
            assert inner.exten == "116111"

            await ari.channels.answer("it-inner")  # answers the originate: ;1 enters too
            started = await next_item(
                queue, lambda i: isinstance(i, StasisStart) and i.channel.id == "it-outer"
            )
            assert started.args == ("it", "outer")
            assert started.channel.state == "Up"

            await ari.channels.set_variable("it-inner", "HELPLINE_TEST", "42")
            assert await ari.channels.get_variable("it-inner", "HELPLINE_TEST") == "42"

            playback = await ari.channels.play("it-inner", "tone:ring", "it-playback")
            assert playback.id == "it-playback"
            await next_item(
                queue, lambda i: isinstance(i, PlaybackStarted) and i.playback.id == "it-playback"
            )
            with contextlib.suppress(AriNotFound):  # it may have ended (or failed) already
                await ari.playbacks.stop("it-playback")
            finished = await next_item(
                queue, lambda i: isinstance(i, PlaybackFinished) and i.playback.id == "it-playback"
            )
            assert finished.playback.target_uri == "channel:it-inner"

            await ari.bridges.create_with_id(BRIDGE_ID + "-2", type="mixing")
            await ari.bridges.add_channel(BRIDGE_ID + "-2", "it-inner")
            entered = await next_item(queue, lambda i: isinstance(i, ChannelEnteredBridge))
            assert entered.bridge.id == BRIDGE_ID + "-2"
            assert "it-inner" in entered.bridge.channel_ids
            assert "it-outer" in {c.id for c in await ari.channels.list()}
        finally:
            with contextlib.suppress(AriNotFound):
                await ari.channels.hangup("it-outer")
            with contextlib.suppress(AriNotFound):
                await ari.bridges.delete(BRIDGE_ID + "-2")
        destroyed = await next_item(
            queue, lambda i: isinstance(i, ChannelDestroyed) and i.channel.id == "it-outer"
        )
        assert destroyed.cause >= 0
