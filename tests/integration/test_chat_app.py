"""A children's chat through the real app stack: the engine and ACD of the running Stasis app
(real Asterisk, as every app test), the transcript in the real Redis, the HTTP API served by
``start_site`` as ``helpline run`` serves it, and real sockets.

A child (connecting from 127.0.0.77, with a telling user agent) opens a chat, a volunteer
accepts it, messages go both ways, the child's page goes away and comes back within the grace
with the transcript, the child ends it: the chat's Redis keys are gone and its record is
written. Nothing the server saw of the child (address, user agent) nor the token is in any log
line or Redis key or value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from chat.ids import token_hmac
from helpline.chat_gateway import StandbyChats
from helpline.service import chat_web, serve_chats
from ivr.hours import HoursStatus
from storage import db
from storage.chat_survey import ChatSurveyCounts
from storage.volunteers import VolunteerDirectory
from tests.integration.app_harness import running_app
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone
from web import MemorySessionStore, create_app, start_site

# Generous: the session's Asterisk may first wait for the shared lock and start.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PASSWORD = "chat test password"
CHILD_ADDRESS = "127.0.0.77"
CHILD_AGENT = "KidBrowser/7.7 (tablet; nl)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            frame = json.loads(msg.data)
            if frame["type"] == kind:
                return frame


async def _redis_text(redis: Any, pattern: str) -> list[str]:
    """Every key under ``pattern`` and everything stored in it, as text."""
    out: list[str] = []
    async for key in redis.scan_iter(match=pattern):
        out.append(key.decode())
        kind = (await redis.type(key)).decode()
        if kind == "string":
            out.append(repr(await redis.get(key)))
        elif kind == "hash":
            out.append(repr(await redis.hgetall(key)))
        elif kind == "list":
            out.append(repr(await redis.lrange(key, 0, -1)))
        elif kind == "stream":
            out.append(repr(await redis.xrange(key)))
        else:
            out.append(f"{kind}?")
    return out


@dataclass
class ChatStack:
    """The running app with the chat served over HTTP, as ``helpline run`` wires it."""

    run: Any
    base: str
    prefix: str
    sql: Any


@contextlib.asynccontextmanager
async def chat_stack(asterisk: Any, tmp_path: Any, redis: Any) -> AsyncIterator[ChatStack]:
    cfg = asterisk.cfg
    async with running_app(asterisk, tmp_path, live_stream=True) as run:
        assert run.bus is not None
        prefix = run.prefix + ":"
        sql = db.make_engine(f"sqlite:///{tmp_path}/accounts.db")
        db.migrate(sql)
        directory = VolunteerDirectory.from_config(sql, cfg)
        directory.add("chatter", "Chatter", "utrecht", ["chat"], ["nl"], PASSWORD)
        chats = StandbyChats()
        chat = chat_web(
            cfg.model_copy(update={"redis": cfg.redis.model_copy(update={"prefix": prefix})}),
            redis,
            chats,
            ChatSurveyCounts(sql),
        )
        assert chat is not None

        def open_now(line_id: str, now: Any) -> HoursStatus:
            return HoursStatus(True, "schedule", None, None)

        effector, adopting = await serve_chats(run.app, chat, chats, run.bus, open_now)
        app = create_app(cfg, directory, run.gateway, MemorySessionStore(), chat=chat)
        port = _free_port()
        runner = await start_site(app, "127.0.0.1", port)
        try:
            yield ChatStack(run, f"http://127.0.0.1:{port}", prefix, sql)
        finally:
            await runner.cleanup()
            adopting.cancel()
            await asyncio.gather(adopting, return_exceptions=True)
            await effector.close()
            sql.dispose()


async def _sign_in(staff: aiohttp.ClientSession, volunteer: str) -> dict[str, str]:
    resp = await staff.post(
        "/api/v1/session",
        json={"volunteer_id": volunteer, "password": PASSWORD, "location": "utrecht"},
    )
    assert resp.status == 201, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_a_chat_through_the_real_app(asterisk, tmp_path, redis, caplog):
    caplog.set_level(logging.DEBUG)
    cfg = asterisk.cfg
    assert cfg.chat.enabled and cfg.chat.grace_s == 5
    async with chat_stack(asterisk, tmp_path, redis) as stack:
        run, prefix, base = stack.run, stack.prefix, stack.base
        kid = aiohttp.ClientSession(
            base,
            connector=aiohttp.TCPConnector(local_addr=(CHILD_ADDRESS, 0), force_close=True),
            headers={"User-Agent": CHILD_AGENT},
        )
        staff = aiohttp.ClientSession(base)
        try:
            # The volunteer signs in, goes ready and opens the workspace's chat socket.
            auth = await _sign_in(staff, "chatter")
            assert (await staff.post("/api/v1/me/ready", headers=auth)).status == 200
            vol = await staff.ws_connect("/api/v1/me/chats/ws", headers=auth)

            # The child opens a chat and its socket.
            status = await (await kid.get("/api/v1/chat/status")).json()
            assert status["open"] is True
            resp = await kid.post("/api/v1/chat", json={"kind": "chat", "language": "nl"})
            assert resp.status == 201, await resp.text()
            token = (await resp.json())["token"]
            tok = token_hmac(cfg.chat.token_key, token)
            chat_id = (await redis.get(f"{prefix}chat:tok:{tok}")).decode()
            child = await kid.ws_connect(f"/api/v1/chat/ws?token={token}")
            hello = await _frame(child, "hello")
            assert hello["messages"] == []

            # Offered to the volunteer (the live view says so); accepted.
            await run.wait_for(
                lambda: (run.gateway.agent_view("chatter") or {}).get("offer") == chat_id
            )
            resp = await staff.post(f"/api/v1/me/chats/{chat_id}/accept", headers=auth)
            assert resp.status == 200, await resp.text()
            assert await _frame(child, "joined") == {"type": "joined"}
            joined = await _frame(vol, "joined")
            assert (joined["chat"], joined["note"]) == (chat_id, None)

            # Messages both ways, with receipts.
            await child.send_json(
                {"type": "msg", "client_id": "k1", "text": "hoi, ik wil iets vragen"}
            )
            assert (await _frame(child, "sent"))["seq"] == 1
            assert (await _frame(vol, "msg"))["text"] == "hoi, ik wil iets vragen"
            await vol.send_json(
                {"type": "msg", "chat": chat_id, "client_id": "v1", "text": "Vertel!"}
            )
            assert (await _frame(vol, "sent"))["delivered"] is True
            assert (await _frame(child, "msg"))["text"] == "Vertel!"
            await child.send_json({"type": "read", "seq": 2})
            assert (await _frame(vol, "read"))["seq"] == 2

            # The child's page goes away and comes back within the grace (5 s).
            await child.close()
            child = await kid.ws_connect(f"/api/v1/chat/ws?token={token}")
            hello = await _frame(child, "hello")
            assert hello["state"] == "talking"
            assert [m["text"] for m in hello["messages"]] == ["hoi, ik wil iets vragen", "Vertel!"]
            await asyncio.sleep(cfg.chat.grace_s + 1)  # past the first grace: still on
            await vol.send_json({"type": "msg", "chat": chat_id, "text": "Ben je er nog?"})
            assert (await _frame(child, "msg"))["text"] == "Ben je er nog?"

            # The child ends it.
            await child.send_json({"type": "end"})
            assert await _frame(child, "ended") == {"type": "ended", "by": "child"}
            assert await _frame(vol, "ended") == {"type": "ended", "chat": chat_id, "by": "child"}
            await run.records_written(1)
            left = sorted([k.decode() async for k in redis.scan_iter(match=f"{prefix}chat:*")])
            assert left == [f"{prefix}chat:ended:{tok}"]  # the survey's marker, for an hour
            resp = await kid.post(
                "/api/v1/chat/survey",
                json={"helped": "yes", "again": "yes"},
                headers={"X-Chat-Token": token},
            )
            assert resp.status == 204
            await vol.close()
        finally:
            await kid.close()
            await staff.close()

        # Nothing of the child in any log line, Redis key or value; the token nowhere.
        stored = await _redis_text(redis, f"{run.prefix}*")
        for secret in (CHILD_ADDRESS, CHILD_AGENT, token):
            assert not [r.getMessage() for r in caplog.records if secret in r.getMessage()]
            assert not [s for s in stored if secret in s]
        access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
        assert "GET /api/v1/chat/ws 101" in " ".join(access)  # the access log ran
        keys = [k.decode() async for k in redis.scan_iter(match=f"{prefix}chat:*")]
        if keys:
            await redis.delete(*keys)


async def test_a_volunteer_in_a_call_is_not_offered_a_chat(asterisk, tmp_path, redis):
    async with chat_stack(asterisk, tmp_path, redis) as stack:
        run = stack.run
        async with (
            aiohttp.ClientSession(stack.base) as kid,
            aiohttp.ClientSession(stack.base) as staff,
            VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.1)) as phone,
        ):
            await phone.registered()
            await run.login_ready("test-udp-1")  # phone and chat, two chats at most
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await caller.wait_answered()
                await run.wait_for(lambda: run.state("test-udp-1") == "busy", timeout_s=15)
                # In a call, with room for chats by the numbers: a child's chat waits.
                resp = await kid.post("/api/v1/chat", json={"kind": "chat", "language": "nl"})
                assert resp.status == 201, await resp.text()
                await asyncio.sleep(2.0)  # time enough for an offer, had one been made
                assert run.gateway.agent_view("test-udp-1")["offer"] is None
                # A colleague free for chats gets it.
                auth = await _sign_in(staff, "chatter")
                assert (await staff.post("/api/v1/me/ready", headers=auth)).status == 200
                await run.wait_for(lambda: (run.gateway.agent_view("chatter") or {}).get("offer"))
                assert run.gateway.agent_view("test-udp-1")["offer"] is None
                offered = run.gateway.agent_view("chatter")["offer"]
                resp = await staff.post(f"/api/v1/me/chats/{offered}/decline", headers=auth)
                assert resp.status == 200, await resp.text()
                await caller.hangup()
        keys = [k.decode() async for k in redis.scan_iter(match=f"{stack.prefix}chat:*")]
        if keys:
            await redis.delete(*keys)
