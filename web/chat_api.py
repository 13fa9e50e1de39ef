"""The children's chat over HTTP and WebSockets (issue 12), and the volunteer's side of it.

The child has no account: ``POST /api/v1/chat`` answers with a token that only the child's
page holds (``sessionStorage``), sent back in ``X-Chat-Token`` (never a cookie) or, for the
WebSocket whose headers a browser cannot set, as ``?token=``. The token is never logged (the
access log, ``web.access_log``, records paths without query strings and no addresses) and
never stored: Redis keys carry its HMAC (``chat.ids.token_hmac``).

Child: ``GET /api/v1/chat/status``, ``POST /api/v1/chat``, ``GET /api/v1/chat/ws``,
``POST /api/v1/chat/survey``. Volunteer (session cookie + CSRF, or bearer, as the rest of the
workspace): ``GET /api/v1/chat/canned``, ``GET /api/v1/me/chats``, ``POST
/api/v1/me/chats/{id}/accept|decline|end|handoff``, ``GET /api/v1/me/chats/ws``; supervisors
read along on ``GET /api/v1/supervise/chats/{id}/ws``. The frames on the sockets are
``chat.hub``'s. A WebSocket from another site's page is refused (403), as every state change
a browser could be tricked into.

Without ``install``'s ``ChatWeb`` (the chat is off, or a standby) these routes answer 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from chat.errors import ChatUnavailable
from chat.hub import ChatHub, Conn
from chat.ids import is_chat_id, is_token, new_chat_id, new_token, token_hmac
from chat.ports import ChatControl, SurveyCounts
from chat.store import ChatMeta, TranscriptStore
from config.chat import ChatSection
from config.settings import is_identifier
from web.body import read_json
from web.context import ctx
from web.errors import BadRequest, ChatDisabled, Conflict, Forbidden, NotFound
from web.live_api import SESSION_ENDED, still_signed_in
from web.volunteer_api import Caller, authenticate

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

TOKEN_HEADER = "X-Chat-Token"
KINDS = {"chat": False, "peer": True}
"""``kind`` of a new chat -> whether it is a peer chat (young volunteers)."""
SURVEY_ANSWERS = {"helped": ("yes", "no", "partly"), "again": ("yes", "no")}
MAX_NOTE = 500
HEARTBEAT_S = 20.0
RECHECK_S = 30.0
"""How often a workspace socket re-checks its session (closed with 4401 once it ended)."""
CLOSE_BLOCKED = 4403
CLOSE_UNKNOWN = 4404


@dataclass(frozen=True, slots=True)
class ChatWeb:
    """What the chat routes work with (``install`` keeps it on the app)."""

    cfg: ChatSection
    store: TranscriptStore
    hub: ChatHub
    control: ChatControl
    survey: SurveyCounts | None = None
    """Where survey answers are counted (None: the survey is not offered)."""
    timezone: str = "Europe/Amsterdam"
    """The survey's days are the helpline's."""
    clock: Callable[[], float] = time.time

    def tok(self, token: str) -> str:
        key = self.cfg.token_key
        assert key is not None  # ChatSection requires it when enabled
        return token_hmac(key, token)


CHAT = web.AppKey("helpline_chat", ChatWeb)


def install(app: web.Application, chat: ChatWeb | None) -> None:
    """Mount the chat routes; without ``chat`` they answer 503."""
    if chat is not None:
        app[CHAT] = chat
    app.add_routes(routes)


def _chat(request: web.Request) -> ChatWeb:
    chat = request.app.get(CHAT)
    if chat is None or not chat.cfg.enabled:
        raise ChatDisabled("the chat is not served here")
    return chat


def _serving(chat: ChatWeb) -> None:
    # A standby's hub hears nothing from the engine: its sockets would wait for nothing.
    if not chat.control.serving():
        raise ChatUnavailable("standing by for the lease")


def _check_origin(request: web.Request) -> None:
    # The child's routes take no cookie, but a page of another site has no business here.
    if not ctx(request).browser.origin_allowed(request):
        raise Forbidden("a request from another site's page is refused", code="csrf")


def _language(chat: ChatWeb, request: web.Request) -> str:
    lang = request.query.get("lang")
    if lang is None:
        return chat.cfg.languages[0]
    if lang not in chat.cfg.languages:
        raise BadRequest(f"lang: one of {', '.join(chat.cfg.languages)}", code="invalid_field")
    return lang


def _child_token(chat: ChatWeb, request: web.Request) -> str:
    token = request.headers.get(TOKEN_HEADER, "")
    if not is_token(token):
        raise BadRequest(f"the chat token is required in {TOKEN_HEADER}", code="invalid_token")
    return chat.tok(token)


def _chat_id(request: web.Request) -> str:
    chat_id = request.match_info["id"]
    if not is_chat_id(chat_id):
        raise NotFound("no such chat", code="unknown_chat")
    return chat_id


# -- the child ----------------------------------------------------------------------------


@routes.get("/api/v1/chat/status")
async def get_status(request: web.Request) -> web.Response:
    """Whether the chat is open now, and what the page shows beside it."""
    chat = _chat(request)
    _language(chat, request)  # validated: the page's texts are its own
    status = chat.control.status(chat.clock())
    cfg = chat.cfg
    return web.json_response(
        {
            "open": status.open,
            "opens_at": status.opens_at,
            "peer_open": status.peer_open,
            "forum_url": cfg.forum_url,
            "emergency": "112",
            "quick_exit_url": cfg.quick_exit_url,
            "languages": list(cfg.languages),
            "survey": cfg.survey and chat.survey is not None,
            # The hub's own limit (``[chat] max_message_chars``), so the page counts down to
            # it instead of learning it from a refused message.
            "max_message_chars": chat.hub.max_chars,
        }
    )


@routes.post("/api/v1/chat")
async def open_chat(request: web.Request) -> web.Response:
    """A child opens a chat: 201 with the token, 409 ``closed``, 429 ``queue_full``."""
    chat = _chat(request)
    _check_origin(request)
    body = await read_json(request)
    body.only({"kind", "language"})
    kind = body.opt_string("kind", max_len=8) or "chat"
    if kind not in KINDS:
        raise BadRequest("kind: chat or peer", code="invalid_field")
    language = body.opt_string("language", max_len=8) or chat.cfg.languages[0]
    if language not in chat.cfg.languages:
        raise BadRequest(f"language: one of {', '.join(chat.cfg.languages)}", code="invalid_field")
    chat_id, token = new_chat_id(), new_token()
    tok = chat.tok(token)
    peer = KINDS[kind]
    # Stored first: the hub relays as soon as a volunteer joins, which can be at once.
    await chat.store.create(ChatMeta(chat_id, peer, language, chat.cfg.line, chat.clock()), tok)
    try:
        notice = await chat.control.open_chat(chat_id, peer, language, chat.cfg.line)
    except BaseException:
        with contextlib.suppress(ChatUnavailable):
            await asyncio.shield(chat.store.discard(chat_id, tok))
        raise
    chat.hub.opened(chat_id, notice.position, notice.wait_s)
    return web.json_response(
        {"token": token, "position": notice.position, "wait_s": notice.wait_s}, status=201
    )


@routes.get("/api/v1/chat/ws")
async def child_socket(request: web.Request) -> web.StreamResponse:
    """The child's socket: ``hello`` first, then the chat's frames (``chat.hub``)."""
    chat = _chat(request)
    _check_origin(request)
    token = request.query.get("token", "")
    if not is_token(token):
        raise BadRequest("token: the chat token is required", code="invalid_token")
    ws = _socket(request, chat.cfg)
    _serving(chat)
    tok = chat.tok(token)
    if await chat.store.blocked(tok):
        return await _refuse(request, ws, "blocked", "this chat is blocked", CLOSE_BLOCKED)
    chat_id = await chat.store.chat_of(tok)
    if chat_id is None:
        ended = await chat.store.ended(tok)
        if ended is not None:
            await ws.prepare(request)
            await ws.send_json({"type": "ended", "by": ended.by})
            await ws.close()
            return ws
        return await _refuse(request, ws, "unknown_chat", "no open chat", CLOSE_UNKNOWN)
    await ws.prepare(request)
    try:
        conn = await chat.hub.attach_child(chat_id, ws)
    except ChatUnavailable:
        return await _gone_unavailable(ws)
    await _serve(ws, conn, chat.hub.child_frame, chat.hub)
    return ws


@routes.post("/api/v1/chat/survey")
async def post_survey(request: web.Request) -> web.Response:
    """After the chat: two answers, counted per day (once per token)."""
    chat = _chat(request)
    _check_origin(request)
    tok = _child_token(chat, request)
    body = await read_json(request)
    body.only(set(SURVEY_ANSWERS))
    answers: dict[str, str] = {}
    for question, allowed in SURVEY_ANSWERS.items():
        answer = body.string(question, max_len=8)
        if answer not in allowed:
            raise BadRequest(f"{question}: one of {', '.join(allowed)}", code="invalid_field")
        answers[question] = answer
    survey = chat.survey
    if survey is None or not chat.cfg.survey:
        raise NotFound("there is no survey", code="no_survey")
    ended = await chat.store.ended(tok)
    if ended is None:
        raise Conflict("the survey follows an ended chat", code="not_ended")
    if not await chat.store.survey_once(tok):
        raise Conflict("this chat's survey was answered already", code="already_answered")
    day = datetime.fromtimestamp(chat.clock(), ZoneInfo(chat.timezone)).date()
    channel = "peer_chat" if ended.peer else "chat"
    await asyncio.to_thread(survey.add, day, channel, answers)
    return web.Response(status=204)


# -- the volunteer --------------------------------------------------------------------------


@routes.get("/api/v1/chat/canned")
async def get_canned(request: web.Request) -> web.Response:
    """The canned texts in the chat's language."""
    await authenticate(request)
    chat = _chat(request)
    return web.json_response({"canned": chat.cfg.canned_in(_language(chat, request))})


@routes.get("/api/v1/me/chats")
async def get_my_chats(request: web.Request) -> web.Response:
    """The chats the volunteer holds, with their transcripts (for a reloaded workspace)."""
    caller = await authenticate(request)
    chat = _chat(request)
    out: list[dict[str, Any]] = []
    for chat_id in chat.control.chats_of(caller.volunteer.id):
        meta = await chat.store.meta(chat_id)
        if meta is None:
            continue  # ended meanwhile
        out.append(
            {
                "id": chat_id,
                "kind": "peer" if meta.peer else "chat",
                "language": meta.language,
                "opened": meta.opened,
                "child_present": chat.hub.child_present(chat_id),
                "messages": [m.to_json() for m in await chat.store.messages(chat_id)],
                "read": await chat.store.read_marks(chat_id),
            }
        )
    return web.json_response({"chats": out})


async def _action(request: web.Request) -> tuple[Caller, ChatWeb, str]:
    caller = await authenticate(request)
    return caller, _chat(request), _chat_id(request)


@routes.post("/api/v1/me/chats/{id}/accept")
async def post_accept(request: web.Request) -> web.Response:
    """Take the chat offered to the volunteer."""
    caller, chat, chat_id = await _action(request)
    (await read_json(request, allow_empty=True)).only(())
    await chat.control.accept(caller.volunteer.id, chat_id)
    return web.json_response({"chat": chat_id, "state": "accepted"})


@routes.post("/api/v1/me/chats/{id}/decline")
async def post_decline(request: web.Request) -> web.Response:
    """Let the chat offered to the volunteer go to someone else."""
    caller, chat, chat_id = await _action(request)
    (await read_json(request, allow_empty=True)).only(())
    await chat.control.decline(caller.volunteer.id, chat_id)
    return web.json_response({"chat": chat_id, "state": "declined"})


@routes.post("/api/v1/me/chats/{id}/end")
async def post_end(request: web.Request) -> web.Response:
    """End the chat (send the closing message first); ``block`` the child's token a while."""
    caller, chat, chat_id = await _action(request)
    body = await read_json(request, allow_empty=True)
    body.only({"block"})
    block = body.opt_bool("block", False)
    await chat.control.end(caller.volunteer.id, chat_id, block)
    return web.json_response({"chat": chat_id, "state": "ending", "block": block})


@routes.post("/api/v1/me/chats/{id}/handoff")
async def post_handoff(request: web.Request) -> web.Response:
    """Hand the chat to a colleague who can take it now, with a note for them only."""
    caller, chat, chat_id = await _action(request)
    body = await read_json(request)
    body.only({"to", "note"})
    to = body.string("to", max_len=48)
    if not is_identifier(to):
        raise BadRequest("to: a volunteer id", code="invalid_field")
    if to == caller.volunteer.id:
        raise BadRequest("to: a colleague, not yourself", code="invalid_field")
    note = body.opt_string("note", max_len=MAX_NOTE) or ""
    await chat.control.handoff(caller.volunteer.id, chat_id, to, note)
    return web.json_response({"chat": chat_id, "state": "handing_over", "to": to})


@routes.get("/api/v1/me/chats/ws")
async def volunteer_socket(request: web.Request) -> web.StreamResponse:
    """The workspace's chat socket: every chat the volunteer is in, from now on."""
    caller = await authenticate(request)  # before the upgrade; refuses a foreign Origin
    chat = _chat(request)
    ws = _socket(request, chat.cfg)
    _serving(chat)
    await ws.prepare(request)
    conn = chat.hub.attach_volunteer(caller.volunteer.id, ws)
    watch = asyncio.create_task(_watch_session(caller, conn), name="chat-session-watch")
    try:
        await _serve(ws, conn, chat.hub.volunteer_frame, chat.hub)
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    return ws


@routes.get("/api/v1/supervise/chats/{id}/ws")
async def supervise_socket(request: web.Request) -> web.StreamResponse:
    """A supervisor reads along (``hello`` with the transcript, then ``msg`` and ``ended``)."""
    caller = await authenticate(request)
    if caller.volunteer.role not in ("supervisor", "admin"):
        raise Forbidden("only a supervisor reads along", code="not_a_supervisor")
    chat = _chat(request)
    chat_id = _chat_id(request)
    ws = _socket(request, chat.cfg)
    _serving(chat)
    if await chat.store.meta(chat_id) is None:
        raise NotFound("no such chat", code="unknown_chat")
    await ws.prepare(request)
    try:
        conn = await chat.hub.attach_reader(chat_id, ws)
    except ChatUnavailable:
        return await _gone_unavailable(ws)
    watch = asyncio.create_task(_watch_session(caller, conn), name="chat-session-watch")
    try:
        await _serve(ws, conn, None, chat.hub)
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    return ws


# -- sockets ------------------------------------------------------------------------------


def _socket(request: web.Request, cfg: ChatSection) -> web.WebSocketResponse:
    # A message's text may be escaped (\\uXXXX: 6 bytes a character) within its JSON frame.
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT_S, max_msg_size=cfg.max_message_chars * 6 + 1024, timeout=5.0
    )
    if not ws.can_prepare(request).ok:
        raise BadRequest("a WebSocket upgrade is required", code="websocket_required")
    return ws


async def _refuse(
    request: web.Request, ws: web.WebSocketResponse, code: str, message: str, close: int
) -> web.WebSocketResponse:
    """Refused after the upgrade: a page's WebSocket cannot read an HTTP error's body."""
    await ws.prepare(request)
    await ws.send_json({"type": "error", "code": code, "message": message})
    await ws.close(code=close, message=code.encode())
    return ws


async def _gone_unavailable(ws: web.WebSocketResponse) -> web.WebSocketResponse:
    """After the upgrade no HTTP error can be sent: the store failed, try again later."""
    await ws.send_json({"type": "error", "code": "unavailable", "message": "try again soon"})
    await ws.close(code=aiohttp.WSCloseCode.TRY_AGAIN_LATER, message=b"unavailable")
    return ws


async def _serve(
    ws: web.WebSocketResponse,
    conn: Conn,
    handle: Callable[[Conn, str], Awaitable[None]] | None,
    hub: ChatHub,
) -> None:
    """Feed the socket's frames to the hub (``handle`` None: frames are ignored) while the
    connection's sender runs; detach when either ends."""
    pump = asyncio.create_task(conn.pump(), name="chat-send")
    try:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT and handle is not None:
                await handle(conn, msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                conn.send({"type": "error", "code": "bad_request", "message": "text frames only"})
            if conn.closing:
                break
    finally:
        hub.detach(conn)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10.0):
                await asyncio.shield(pump)
        pump.cancel()


async def _watch_session(caller: Caller, conn: Conn) -> None:
    while True:
        await asyncio.sleep(RECHECK_S)
        if not await still_signed_in(caller):
            conn.shut(SESSION_ENDED, "session ended")
            return
