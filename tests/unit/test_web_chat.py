"""The chat's HTTP routes and WebSockets with the aiohttp test client: the in-memory store, the
real hub, a fake engine (``tests.unit.chat_support.FakeControl``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from chat.errors import ChatConflict
from chat.ids import new_chat_id, token_hmac
from storage.volunteers import ARGON2_PROFILE_ENV
from tests.unit.web_support import WebEnv, web_env
from web.access_log import PrivateAccessLogger

EVIL = {"Origin": "https://evil.example"}


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


def control(env: WebEnv) -> Any:
    assert env.chat is not None
    return env.chat.control


async def open_chat(env: WebEnv, **body: Any) -> str:
    resp = await env.client.post("/api/v1/chat", json=body or {"kind": "chat", "language": "nl"})
    assert resp.status == 201, await resp.text()
    data = await resp.json()
    assert (data["position"], data["wait_s"]) == (1, 30.0)
    return str(data["token"])


def chat_of(env: WebEnv, token: str) -> str:
    assert env.chat is not None
    return env.chat.store.toks[token_hmac(env.cfg.chat.token_key, token)]  # type: ignore[attr-defined,arg-type]


async def until(cond: Any) -> None:
    async with asyncio.timeout(3):
        while not cond():
            await asyncio.sleep(0.01)


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(3):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind:
                return frame


async def test_status_says_whether_the_chat_is_open(env: WebEnv):
    resp = await env.client.get("/api/v1/chat/status?lang=en")
    assert resp.status == 200
    assert await resp.json() == {
        "open": True,
        "opens_at": None,
        "peer_open": False,
        "forum_url": "https://www.kindertelefoon.nl/forum",
        "emergency": "112",
        "quick_exit_url": "https://www.google.nl",
        "languages": ["nl", "en"],
        "survey": True,
        # The configured limit (200 in the test config, not the page's default of 2000).
        "max_message_chars": 200,
    }
    control(env).open = False
    data = await (await env.client.get("/api/v1/chat/status")).json()
    assert (data["open"], data["opens_at"]) == (False, "2025-06-02T11:00:00+02:00")
    assert (await env.client.get("/api/v1/chat/status?lang=fr")).status == 400


async def test_a_child_opens_a_chat_and_only_an_hmac_of_the_token_is_kept(env: WebEnv):
    token = await open_chat(env, kind="peer", language="en")
    chat_id = chat_of(env, token)
    # Away until its first socket: a page that never connects ends after the grace.
    assert control(env).calls == [("open", chat_id, True, "en", "116111"), ("away", chat_id)]
    assert token not in repr(env.chat.store.__dict__)  # type: ignore[union-attr]
    meta = env.chat.store.metas[chat_id][0]  # type: ignore[union-attr]
    assert (meta.peer, meta.language, meta.line_id) == (True, "en", "116111")


async def test_opening_refusals_leave_nothing_behind(env: WebEnv):
    c = control(env)
    c.open = False
    resp = await env.client.post("/api/v1/chat", json={})
    assert resp.status == 409
    assert await resp.json() == {
        "error": "closed",
        "message": "the chat is closed now",
        "opens_at": "2025-06-02T11:00:00+02:00",
    }
    c.open, c.full = True, True
    resp = await env.client.post("/api/v1/chat", json={"kind": "chat"})
    assert (resp.status, (await resp.json())["error"]) == (429, "queue_full")
    assert resp.headers["Retry-After"] == "30"
    assert env.chat.store.metas == {} and env.chat.store.toks == {}  # type: ignore[union-attr]
    for body, code in (
        ({"kind": "group"}, "invalid_field"),
        ({"language": "fr"}, "invalid_field"),
        ({"x": 1}, "unknown_field"),
    ):
        resp = await env.client.post("/api/v1/chat", json=body)
        assert (resp.status, (await resp.json())["error"]) == (400, code), body
    resp = await env.client.post("/api/v1/chat", data="{}", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    resp = await env.client.post("/api/v1/chat", json={}, headers=EVIL)
    assert (resp.status, (await resp.json())["error"]) == (403, "csrf")


async def test_child_and_volunteer_chat_over_their_sockets(env: WebEnv):
    token = await open_chat(env)
    chat_id = chat_of(env, token)
    child = await env.client.ws_connect(f"/api/v1/chat/ws?token={token}")
    hello = await child.receive_json()
    assert hello == {
        "type": "hello",
        "state": "queued",
        "position": 1,
        "wait_s": 30.0,
        "messages": [],
        "read": 0,
    }
    session = await env.login("anna")
    vol = await env.client.ws_connect("/api/v1/me/chats/ws", headers=env.bearer(session))
    await env.chat.hub.joined(chat_id, "anna", None)  # type: ignore[union-attr]
    assert await next_frame(child, "joined") == {"type": "joined"}
    assert (await next_frame(vol, "joined"))["chat"] == chat_id
    await child.send_json({"type": "msg", "client_id": "k1", "text": "hoi"})
    assert (await next_frame(child, "sent"))["seq"] == 1
    assert (await next_frame(vol, "msg"))["text"] == "hoi"
    await vol.send_json({"type": "msg", "chat": chat_id, "client_id": "v1", "text": "Hoi!"})
    assert (await next_frame(vol, "sent"))["seq"] == 2
    assert (await next_frame(child, "msg"))["from"] == "volunteer"
    await child.send_bytes(b"\x00")
    assert (await next_frame(child, "error"))["code"] == "bad_request"
    # The reloaded workspace finds the chat with its transcript.
    control(env).held["anna"] = [chat_id]
    resp = await env.client.get("/api/v1/me/chats", headers=env.bearer(session))
    chats = (await resp.json())["chats"]
    assert [(c["id"], c["child_present"], len(c["messages"])) for c in chats] == [
        (chat_id, True, 2)
    ]
    await child.send_json({"type": "end"})
    await until(lambda: ("left", chat_id) in control(env).calls)
    await env.chat.hub.ended(chat_id, "child", block=False)  # type: ignore[union-attr]
    assert await next_frame(child, "ended") == {"type": "ended", "by": "child"}
    async with asyncio.timeout(3):
        assert (await child.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    # Away once (until the first socket), never after the end.
    assert [c for c in control(env).calls if c[0] in ("away", "back")] == [
        ("away", chat_id),
        ("back", chat_id),
    ]
    await vol.close()


async def test_the_childs_socket_refusals(env: WebEnv):
    resp = await env.client.get("/api/v1/chat/ws?token=short")
    assert (resp.status, (await resp.json())["error"]) == (400, "invalid_token")
    token = await open_chat(env)
    resp = await env.client.get(f"/api/v1/chat/ws?token={token}")  # no upgrade
    assert (resp.status, (await resp.json())["error"]) == (400, "websocket_required")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await env.client.ws_connect(f"/api/v1/chat/ws?token={token}", headers=EVIL)
    assert refused.value.status == 403
    unknown = "A" * 43
    ws = await env.client.ws_connect(f"/api/v1/chat/ws?token={unknown}")
    assert (await ws.receive_json())["code"] == "unknown_chat"
    assert (await ws.receive()).data == 4404
    chat_id = chat_of(env, token)
    await env.chat.hub.ended(chat_id, "volunteer", block=True)  # type: ignore[union-attr]
    ws = await env.client.ws_connect(f"/api/v1/chat/ws?token={token}")
    assert await ws.receive_json() == {
        "type": "error",
        "code": "blocked",
        "message": "this chat is blocked",
    }
    assert (await ws.receive()).data == 4403


async def test_the_survey_follows_an_ended_chat_once(env: WebEnv):
    token = await open_chat(env, kind="peer")
    headers = {"X-Chat-Token": token}
    answers = {"helped": "partly", "again": "yes"}
    resp = await env.client.post("/api/v1/chat/survey", json=answers, headers=headers)
    assert (resp.status, (await resp.json())["error"]) == (409, "not_ended")
    await env.chat.hub.ended(chat_of(env, token), "child", block=False)  # type: ignore[union-attr]
    resp = await env.client.post("/api/v1/chat/survey", json=answers, headers=headers)
    assert resp.status == 204
    counted = env.chat.survey.counted  # type: ignore[union-attr]
    assert [(str(d), ch, a) for d, ch, a in counted] == [
        ("1970-01-01", "peer_chat", {"helped": "partly", "again": "yes"})
    ]
    resp = await env.client.post("/api/v1/chat/survey", json=answers, headers=headers)
    assert (resp.status, (await resp.json())["error"]) == (409, "already_answered")
    bad = {"helped": "maybe", "again": "yes"}
    resp = await env.client.post("/api/v1/chat/survey", json=bad, headers=headers)
    assert resp.status == 400
    resp = await env.client.post("/api/v1/chat/survey", json=answers)
    assert (resp.status, (await resp.json())["error"]) == (400, "invalid_token")


async def test_the_volunteers_chat_actions_reach_the_engine(env: WebEnv):
    session = await env.login("anna")
    auth = env.bearer(session)
    chat_id = new_chat_id()
    c = control(env)
    assert (await env.client.post(f"/api/v1/me/chats/{chat_id}/accept", headers=auth)).status == 200
    assert (
        await env.client.post(f"/api/v1/me/chats/{chat_id}/decline", headers=auth)
    ).status == 200
    resp = await env.client.post(
        f"/api/v1/me/chats/{chat_id}/end", json={"block": True}, headers=auth
    )
    assert await resp.json() == {"chat": chat_id, "state": "ending", "block": True}
    resp = await env.client.post(
        f"/api/v1/me/chats/{chat_id}/handoff", json={"to": "sam", "note": "let op"}, headers=auth
    )
    assert resp.status == 200
    assert c.calls == [
        ("accept", "anna", chat_id),
        ("decline", "anna", chat_id),
        ("end", "anna", chat_id, True),
        ("handoff", "anna", chat_id, "sam", "let op"),
    ]
    for body in (
        {"to": "anna"},
        {"to": "Not An Id"},
        {"note": "x"},
        {"to": "sam", "note": "x" * 501},
    ):
        resp = await env.client.post(f"/api/v1/me/chats/{chat_id}/handoff", json=body, headers=auth)
        assert resp.status == 400, body
    resp = await env.client.post("/api/v1/me/chats/not-a-chat/accept", headers=auth)
    assert (resp.status, (await resp.json())["error"]) == (404, "unknown_chat")
    c.refuse = ChatConflict("not_offered", "this chat is not offered to you")
    resp = await env.client.post(f"/api/v1/me/chats/{chat_id}/accept", headers=auth)
    assert (resp.status, await resp.json()) == (
        409,
        {"error": "not_offered", "message": "this chat is not offered to you"},
    )
    c.refuse = ChatConflict("unknown_chat", "this chat is over")
    resp = await env.client.post(f"/api/v1/me/chats/{chat_id}/end", headers=auth)
    assert resp.status == 404
    assert (await env.client.post(f"/api/v1/me/chats/{chat_id}/accept")).status == 403  # cookie
    env.client.session.cookie_jar.clear()
    assert (await env.client.post(f"/api/v1/me/chats/{chat_id}/accept")).status == 401


async def test_canned_texts_in_the_chats_language(env: WebEnv):
    auth = env.bearer(await env.login("anna"))
    resp = await env.client.get("/api/v1/chat/canned?lang=en", headers=auth)
    assert (await resp.json())["canned"][0] == {
        "id": "forum",
        "label": "Forum",
        "text": "Have a look at our forum.",
    }
    env.client.session.cookie_jar.clear()  # signed in by the cookie too
    assert (await env.client.get("/api/v1/chat/canned")).status == 401


async def test_only_supervisors_read_along_and_foreign_pages_get_no_socket(env: WebEnv):
    auth = env.bearer(await env.login("anna"))
    token = await open_chat(env)
    chat_id = chat_of(env, token)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await env.client.ws_connect(f"/api/v1/supervise/chats/{chat_id}/ws", headers=auth)
    assert refused.value.status == 403
    env.directory.set_role("anna", "supervisor")
    reader = await env.client.ws_connect(f"/api/v1/supervise/chats/{chat_id}/ws", headers=auth)
    assert (await reader.receive_json())["type"] == "hello"
    await reader.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await env.client.ws_connect(f"/api/v1/supervise/chats/{new_chat_id()}/ws", headers=auth)
    assert refused.value.status == 404
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await env.client.ws_connect("/api/v1/me/chats/ws", headers={**auth, **EVIL})
    assert refused.value.status == 403


async def test_a_store_outage_is_a_503_not_a_500(env: WebEnv):
    env.chat.store.fail = True  # type: ignore[union-attr]
    resp = await env.client.post("/api/v1/chat", json={})
    assert (resp.status, (await resp.json())["error"]) == (503, "unavailable")
    resp = await env.client.get(
        f"/api/v1/chat/ws?token={'A' * 43}",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert resp.status == 503


def test_the_access_log_has_no_address_query_or_user_agent(caplog):
    logger = PrivateAccessLogger(logging.getLogger("aiohttp.access"), "")
    request = make_mocked_request(
        "GET",
        "/api/v1/chat/ws?token=secret-token-value",
        headers={"User-Agent": "KidBrowser/1.0", "X-Forwarded-For": "10.1.2.3"},
    )
    response = aiohttp.web.Response(status=101)
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        logger.log(request, response, 0.25)
    assert [r.getMessage() for r in caplog.records] == ["GET /api/v1/chat/ws 101 0B 0.250s"]
