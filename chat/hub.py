"""The chat hub: every open chat socket of this process, and the relay between them.

Messages never go through the engine's writer: the hub stores each one in the transcript
(``chat.store``) and relays it to whoever the engine last said is in the chat. It learns that
only from the chat effector (``joined``, ``left``, ``ended``, ``notice``); what the child's
sockets do (the last one closed, one open again, the end button) it tells the engine through
``chat.ports.ChildPresence``.

Sockets: a chat has a set of child sockets (a reload or a second tab overlaps for a moment),
the joined volunteer's workspace sockets (one per tab, all of the volunteer's chats on each),
and read-along supervisors. Each socket has its own outbox and sender (``Conn.pump``), so a
slow browser delays nobody else; one that falls ``OUTBOX`` frames behind is closed.

Limits, per connection: a message is text only (control characters, bidi overrides and lone
surrogates stripped; it is never HTML anywhere: pages insert it as text), at most
``max_chars`` characters (else ``too_long``), at most ``messages_per_10s`` (else
``rate_limited``); typing is relayed at most every ``TYPING_EVERY_S``; more than
``FRAMES_PER_10S`` frames of any kind close the socket (1008).

Frames are those of the design's wire protocol (``/work/chat-design.md``); a client keeps
messages by ``seq``, since around a resume one may come twice (in ``hello`` and live).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, Protocol

from chat.errors import ChatError, ChatUnavailable
from chat.ids import is_chat_id
from chat.ports import ChildPresence, QueueNotice
from chat.store import Message, Reader, Sender, TranscriptStore

log = logging.getLogger(__name__)

Side = Literal["child", "volunteer", "reader"]

OUTBOX = 256
"""Frames waiting for one socket at most; a socket further behind is closed (1013)."""
SEND_TIMEOUT_S = 10.0
"""A socket that takes longer than this to accept one frame is closed."""
RATE_WINDOW_S = 10.0
FRAMES_PER_10S = 100
"""Frames of any kind per connection (typing, read, msg...); more close the socket (1008)."""
TYPING_EVERY_S = 2.0
"""Typing is relayed at most this often per connection; the rest are dropped quietly."""
MAX_CLIENT_ID = 64
MAX_SEQ = 2**31

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_SLOW = 1013

# Characters a message never carries: C0/C1 controls but tab and newline, DEL, the bidi
# embeddings/overrides/isolates (they reorder what the other side sees), lone surrogates.
_STRIP = (
    [c for c in range(0x20) if c not in (0x09, 0x0A)]
    + list(range(0x7F, 0xA0))
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
    + list(range(0xD800, 0xE000))
)
_TABLE: dict[int, None] = dict.fromkeys(_STRIP)


def clean_text(text: str) -> str:
    """The text as relayed: CRLF/CR as newlines, no control characters, trimmed."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_TABLE).strip()


class Socket(Protocol):
    """What the hub needs of a WebSocket (``aiohttp.web.WebSocketResponse`` has it)."""

    async def send_str(self, data: str) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class FrameError(ChatError):
    """A frame the hub refuses; becomes ``{"type": "error", "code", "message"}``."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


class Conn:
    """One socket: its outbox, its sender and its limits."""

    __slots__ = (
        "side",
        "chat_id",
        "agent_id",
        "sock",
        "_out",
        "_wake",
        "_close",
        "_msgs",
        "_frames",
        "_typing_at",
        "_pump",
        "_cut",
    )

    def __init__(self, side: Side, sock: Socket, chat_id: str = "", agent_id: str = "") -> None:
        self.side: Side = side
        self.chat_id = chat_id
        """The chat (child and reader sockets)."""
        self.agent_id = agent_id
        """The volunteer (workspace sockets)."""
        self.sock = sock
        self._out: collections.deque[str] = collections.deque()
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._msgs: collections.deque[float] = collections.deque()
        self._frames: collections.deque[float] = collections.deque()
        self._typing_at = -TYPING_EVERY_S
        self._pump: asyncio.Task[None] | None = None
        self._cut = False

    @property
    def closing(self) -> bool:
        return self._close is not None

    def send(self, frame: dict[str, Any], *, first: bool = False) -> None:
        """Queue a frame (``first``: before the others); never blocks."""
        if self._close is not None:
            return
        data = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        if len(self._out) >= OUTBOX:
            self._cut_off()
            return
        if first:
            self._out.appendleft(data)
        else:
            self._out.append(data)
        self._wake.set()

    def shut(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close after the frames already queued."""
        if self._close is None:
            self._close = (code, reason)
            self._wake.set()

    def _cut_off(self) -> None:
        """Too far behind to catch up: drop what waits, stop the send in flight, close."""
        self._out.clear()
        self.shut(CLOSE_SLOW, "too slow")
        self._cut = True
        if self._pump is not None and self._pump is not asyncio.current_task():
            self._pump.cancel()

    async def pump(self) -> None:
        """Send the outbox until ``shut`` (or the socket fails); then close the socket."""
        self._pump = asyncio.current_task()
        try:
            while True:
                while self._out:
                    data = self._out.popleft()
                    async with asyncio.timeout(SEND_TIMEOUT_S):
                        await self.sock.send_str(data)
                if self._close is not None:
                    break
                self._wake.clear()
                await self._wake.wait()
        except TimeoutError:
            self._close = (CLOSE_SLOW, "too slow")
        except (ConnectionError, RuntimeError):
            self._close = self._close or (CLOSE_NORMAL, "gone")  # closed under us
        except asyncio.CancelledError:
            if not self._cut:
                raise
            if self._pump is not None:
                self._pump.uncancel()  # our own cancel (``_cut_off``): close the socket below
        code, reason = self._close or (CLOSE_NORMAL, "")
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5.0):
                await self.sock.close(code=code, message=reason.encode())

    def allow_frame(self, now: float) -> bool:
        return _within(self._frames, now, FRAMES_PER_10S)

    def allow_message(self, now: float, limit: int) -> bool:
        return _within(self._msgs, now, limit)

    def allow_typing(self, now: float) -> bool:
        if now - self._typing_at < TYPING_EVERY_S:
            return False
        self._typing_at = now
        return True


def _within(times: collections.deque[float], now: float, limit: int) -> bool:
    """Count one more event at ``now``; False when that makes more than ``limit`` in the
    window (the refused one is not counted)."""
    while times and now - times[0] >= RATE_WINDOW_S:
        times.popleft()
    if len(times) >= limit:
        return False
    times.append(now)
    return True


_Handler = Callable[["Conn", dict[str, Any], str | None], Awaitable[None]]


class ChatHub:
    """The sockets of every chat served here, and what the engine said about each chat."""

    def __init__(
        self,
        store: TranscriptStore,
        presence: ChildPresence,
        *,
        max_chars: int,
        messages_per_10s: int,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.presence = presence
        self.max_chars = max_chars
        self.messages_per_10s = messages_per_10s
        self._clock = clock
        self._mono = monotonic
        self._children: dict[str, set[Conn]] = {}
        self._readers: dict[str, set[Conn]] = {}
        self._agents: dict[str, set[Conn]] = {}
        self._member: dict[str, str] = {}
        """Chat -> the volunteer the engine last joined to it."""
        self._queue: dict[str, QueueNotice] = {}
        """Chat -> the last queue notice, while it waits."""

    def opened(self, chat_id: str, position: int, wait_s: float | None) -> None:
        """A chat was just opened: where it stands, and the child counts as away until its
        first socket, so a page that never connects ends after the grace like one that left."""
        self._queue.setdefault(chat_id, QueueNotice(position, wait_s))
        if not self._children.get(chat_id):
            self.presence.child_away(chat_id)

    # -- what the engine says (through the effector) -------------------------------------

    def notice(self, chat_id: str, position: int, wait_s: float | None) -> None:
        """The waiting child's place in the queue."""
        self._queue[chat_id] = QueueNotice(position, wait_s)
        self._to_children(chat_id, {"type": "queue", "position": position, "wait_s": wait_s})

    async def joined(self, chat_id: str, agent_id: str, note: str | None) -> None:
        """``agent_id`` is in the chat now; the note (a hand-over's) goes to them only."""
        self._member[chat_id] = agent_id
        self._queue.pop(chat_id, None)
        self._to_children(chat_id, {"type": "joined"})
        if self._agents.get(agent_id):
            messages = await self._transcript(chat_id)
            frame = {"type": "joined", "chat": chat_id, "note": note, "messages": messages}
            self._to_agent(agent_id, frame)

    def left(self, chat_id: str, agent_id: str) -> None:
        """``agent_id`` is no longer in the chat (a hand-over)."""
        if self._member.get(chat_id) == agent_id:
            del self._member[chat_id]
        self._to_agent(agent_id, {"type": "left", "chat": chat_id})

    async def ended(self, chat_id: str, by: str, block: bool) -> None:
        """The chat is over: the transcript goes (or is kept for the retention), the token
        is blocked if asked, both sides hear it, the child's and readers' sockets close.
        ``ChatUnavailable`` when the store failed (its keys then expire by their TTL)."""
        failure: ChatUnavailable | None = None
        try:
            await self.store.end(chat_id, by, block)
        except ChatUnavailable as exc:
            failure = exc
        agent = self._member.pop(chat_id, None)
        self._queue.pop(chat_id, None)
        for conn in self._children.pop(chat_id, set()):
            conn.send({"type": "ended", "by": by})
            conn.shut(CLOSE_NORMAL, "ended")
        for conn in self._readers.pop(chat_id, set()):
            conn.send({"type": "ended", "chat": chat_id, "by": by})
            conn.shut(CLOSE_NORMAL, "ended")
        if agent is not None:
            self._to_agent(agent, {"type": "ended", "chat": chat_id, "by": by})
        if failure is not None:
            raise failure

    # -- sockets --------------------------------------------------------------------------

    async def attach_child(self, chat_id: str, sock: Socket) -> Conn:
        """A child socket of an open chat: it gets ``hello`` first (state, queue place,
        transcript, the volunteer's read mark). Its first socket tells the engine the child
        is back (also after a restart, when every child counts as away)."""
        conn = Conn("child", sock, chat_id=chat_id)
        conns = self._children.setdefault(chat_id, set())
        back = not conns
        conns.add(conn)  # before the transcript is read: nothing said meanwhile is lost
        if back:
            self.presence.child_back(chat_id)
        try:
            messages = await self._transcript(chat_id)
            marks = await self.store.read_marks(chat_id)
        except ChatUnavailable:
            self.detach(conn)
            raise
        queued = self._queue.get(chat_id)
        hello: dict[str, Any] = {
            "type": "hello",
            "state": "talking" if chat_id in self._member else "queued",
            "position": queued.position if queued else None,
            "wait_s": queued.wait_s if queued else None,
            "messages": messages,
            "read": marks["volunteer"],
        }
        conn.send(hello, first=True)
        return conn

    def attach_volunteer(self, agent_id: str, sock: Socket) -> Conn:
        """A workspace socket: every chat the volunteer is in, from now on."""
        conn = Conn("volunteer", sock, agent_id=agent_id)
        self._agents.setdefault(agent_id, set()).add(conn)
        return conn

    async def attach_reader(self, chat_id: str, sock: Socket) -> Conn:
        """A supervisor reading along: ``hello`` with the transcript, then ``msg``/``ended``."""
        conn = Conn("reader", sock, chat_id=chat_id)
        self._readers.setdefault(chat_id, set()).add(conn)
        try:
            messages = await self._transcript(chat_id)
        except ChatUnavailable:
            self.detach(conn)
            raise
        conn.send({"type": "hello", "chat": chat_id, "messages": messages}, first=True)
        return conn

    def detach(self, conn: Conn) -> None:
        """The socket is gone. A chat's last child socket tells the engine the child is away
        (not after the end: the chat's sockets were dropped then)."""
        conn.shut()
        if conn.side == "child":
            conns = self._children.get(conn.chat_id)
            if conns is not None and conn in conns:
                conns.discard(conn)
                if not conns:
                    del self._children[conn.chat_id]
                    self.presence.child_away(conn.chat_id)
        elif conn.side == "reader":
            _discard(self._readers, conn.chat_id, conn)
        else:
            _discard(self._agents, conn.agent_id, conn)

    # -- frames from the browsers ---------------------------------------------------------

    async def child_frame(self, conn: Conn, raw: str) -> None:
        """One text frame from a child socket."""
        await self._frame(conn, raw, self._child)

    async def volunteer_frame(self, conn: Conn, raw: str) -> None:
        """One text frame from a workspace socket."""
        await self._frame(conn, raw, self._volunteer)

    async def _frame(self, conn: Conn, raw: str, handle: _Handler) -> None:
        if not conn.allow_frame(self._mono()):
            conn.send({"type": "error", "code": "rate_limited", "message": "too many frames"})
            conn.shut(CLOSE_POLICY, "too many frames")
            return
        chat_id: str | None = None
        try:
            frame = _parse(raw)
            if conn.side == "volunteer":
                chat_id = _chat_of(frame)
            await handle(conn, frame, chat_id)
        except FrameError as exc:
            error: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
            if chat_id is not None:
                error["chat"] = chat_id
            if exc.client_id is not None:
                error["client_id"] = exc.client_id
            conn.send(error)
        except ChatUnavailable:
            conn.send({"type": "error", "code": "unavailable", "message": "try again in a moment"})

    async def _child(self, conn: Conn, frame: dict[str, Any], _: str | None) -> None:
        kind = frame.get("type")
        chat_id = conn.chat_id
        agent = self._member.get(chat_id)
        if kind == "msg":
            msg = await self._store_message(conn, frame, chat_id, "child")
            delivered = bool(agent and self._agents.get(agent))
            conn.send(_sent(frame, msg, delivered))
            out = {"type": "msg", **msg.to_json()}
            self._to_children(chat_id, out, but=conn)
            self._to_readers(chat_id, {**out, "chat": chat_id})
            if agent is not None:
                self._to_agent(agent, {**out, "chat": chat_id})
        elif kind == "typing":
            if agent is not None and conn.allow_typing(self._mono()):
                self._to_agent(agent, {"type": "typing", "chat": chat_id})
        elif kind == "read":
            mark = await self._read(conn, frame, chat_id, "child")
            if agent is not None and mark is not None:
                self._to_agent(agent, {"type": "read", "chat": chat_id, "seq": mark})
        elif kind == "end":
            self.presence.child_left(chat_id)
        else:
            raise FrameError("bad_request", "type: one of msg, typing, read, end")

    async def _volunteer(self, conn: Conn, frame: dict[str, Any], chat_id: str | None) -> None:
        kind = frame.get("type")
        if kind not in ("msg", "typing", "read"):
            raise FrameError("bad_request", "type: one of msg, typing, read")
        if chat_id is None or self._member.get(chat_id) != conn.agent_id:
            raise FrameError("not_in_chat", "you are not in this chat", _client_id(frame))
        if kind == "msg":
            msg = await self._store_message(conn, frame, chat_id, "volunteer")
            conn.send({**_sent(frame, msg, bool(self._children.get(chat_id))), "chat": chat_id})
            out = {"type": "msg", **msg.to_json()}
            self._to_children(chat_id, out)
            self._to_readers(chat_id, {**out, "chat": chat_id})
            self._to_agent(conn.agent_id, {**out, "chat": chat_id}, but=conn)
        elif kind == "typing":
            if conn.allow_typing(self._mono()):
                self._to_children(chat_id, {"type": "typing"})
        else:
            mark = await self._read(conn, frame, chat_id, "volunteer")
            if mark is not None:
                self._to_children(chat_id, {"type": "read", "seq": mark})

    async def _store_message(
        self, conn: Conn, frame: dict[str, Any], chat_id: str, sender: Sender
    ) -> Message:
        client_id = _client_id(frame)
        text = frame.get("text")
        if not isinstance(text, str):
            raise FrameError("bad_request", "text: must be a string", client_id)
        text = clean_text(text)
        if not text:
            raise FrameError("bad_request", "text: empty", client_id)
        if len(text) > self.max_chars:
            raise FrameError("too_long", f"text: at most {self.max_chars} characters", client_id)
        if not conn.allow_message(self._mono(), self.messages_per_10s):
            raise FrameError("rate_limited", "too many messages; wait a moment", client_id)
        msg = await self.store.append(chat_id, sender, text, round(self._clock(), 3))
        if msg is None:
            raise FrameError("ended", "this chat has ended", client_id)
        return msg

    async def _read(
        self, conn: Conn, frame: dict[str, Any], chat_id: str, reader: Reader
    ) -> int | None:
        seq = frame.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_SEQ:
            raise FrameError("bad_request", "seq: must be a message number")
        return await self.store.mark_read(chat_id, reader, seq)

    # -- what the web layer asks ------------------------------------------------------------

    def member(self, chat_id: str) -> str | None:
        """The volunteer the engine last joined to the chat, if any."""
        return self._member.get(chat_id)

    def child_present(self, chat_id: str) -> bool:
        return bool(self._children.get(chat_id))

    def queue_notice(self, chat_id: str) -> QueueNotice | None:
        return self._queue.get(chat_id)

    def sockets(self) -> int:
        """Open sockets of every kind (for tests and health)."""
        groups: Iterable[set[Conn]] = [
            *self._children.values(),
            *self._readers.values(),
            *self._agents.values(),
        ]
        return sum(len(g) for g in groups)

    # -- fan-out ------------------------------------------------------------------------------

    async def _transcript(self, chat_id: str) -> list[dict[str, Any]]:
        return [m.to_json() for m in await self.store.messages(chat_id)]

    def _to_children(self, chat_id: str, frame: dict[str, Any], but: Conn | None = None) -> None:
        for conn in self._children.get(chat_id, ()):
            if conn is not but:
                conn.send(frame)

    def _to_readers(self, chat_id: str, frame: dict[str, Any]) -> None:
        for conn in self._readers.get(chat_id, ()):
            conn.send(frame)

    def _to_agent(self, agent_id: str, frame: dict[str, Any], but: Conn | None = None) -> None:
        for conn in self._agents.get(agent_id, ()):
            if conn is not but:
                conn.send(frame)


def _discard(groups: dict[str, set[Conn]], key: str, conn: Conn) -> None:
    conns = groups.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del groups[key]


def _parse(raw: str) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):
        raise FrameError("bad_request", "not valid JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_request", "a frame is a JSON object")
    return frame


def _chat_of(frame: dict[str, Any]) -> str:
    chat_id = frame.get("chat")
    if not is_chat_id(chat_id):
        raise FrameError("bad_request", "chat: a chat id is required")
    assert isinstance(chat_id, str)
    return chat_id


def _client_id(frame: dict[str, Any]) -> str | None:
    value = frame.get("client_id")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLIENT_ID or clean_text(value) != value:
        raise FrameError("bad_request", f"client_id: a string of at most {MAX_CLIENT_ID}")
    return value


def _sent(frame: dict[str, Any], msg: Message, delivered: bool) -> dict[str, Any]:
    """The sender's receipt: stored as ``seq``; ``delivered``: the other side has a socket
    open here that it was queued to."""
    return {
        "type": "sent",
        "client_id": frame.get("client_id"),
        "seq": msg.seq,
        "at": msg.at,
        "delivered": delivered,
    }
