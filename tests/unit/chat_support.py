"""Stand-ins for the chat's unit tests: the transcript store in memory (the same semantics as
``chat.store.ChatStore``, which tests/integration/test_chat_store_redis.py checks on Redis),
a fake socket, and a fake engine (``chat.ports.ChatControl``) that records every call."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chat.errors import ChatClosed, ChatConflict, ChatQueueFull, ChatUnavailable
from chat.ports import ChatStatus, QueueNotice
from chat.store import ChatMeta, Ended, Message, Reader, Sender


@dataclass
class MemoryStore:
    """``chat.store.TranscriptStore`` in memory; ``fail`` makes every call ChatUnavailable."""

    metas: dict[str, tuple[ChatMeta, str]] = field(default_factory=dict)
    toks: dict[str, str] = field(default_factory=dict)
    logs: dict[str, list[Message]] = field(default_factory=dict)
    reads: dict[str, dict[str, int]] = field(default_factory=dict)
    blocks: set[str] = field(default_factory=set)
    ends: dict[str, Ended] = field(default_factory=dict)
    surveys: set[str] = field(default_factory=set)
    fail: bool = False

    def _check(self) -> None:
        if self.fail:
            raise ChatUnavailable("chat store: down (test)")

    async def create(self, meta: ChatMeta, tok: str) -> None:
        self._check()
        self.metas[meta.chat_id] = (meta, tok)
        self.toks[tok] = meta.chat_id

    async def chat_of(self, tok: str) -> str | None:
        self._check()
        return self.toks.get(tok)

    async def meta(self, chat_id: str) -> ChatMeta | None:
        self._check()
        entry = self.metas.get(chat_id)
        return entry[0] if entry else None

    async def append(self, chat_id: str, sender: Sender, text: str, at: float) -> Message | None:
        self._check()
        if chat_id not in self.metas:
            return None
        log = self.logs.setdefault(chat_id, [])
        msg = Message(len(log) + 1, sender, text, at)
        log.append(msg)
        return msg

    async def messages(self, chat_id: str, after: int = 0) -> list[Message]:
        self._check()
        return self.logs.get(chat_id, [])[after:]

    async def mark_read(self, chat_id: str, reader: Reader, seq: int) -> int | None:
        self._check()
        if chat_id not in self.metas:
            return None
        marks = self.reads.setdefault(chat_id, {})
        mark = max(marks.get(reader, 0), min(seq, len(self.logs.get(chat_id, []))))
        marks[reader] = mark
        return mark

    async def read_marks(self, chat_id: str) -> dict[str, int]:
        self._check()
        return {"child": 0, "volunteer": 0, **self.reads.get(chat_id, {})}

    async def end(self, chat_id: str, by: str, block: bool) -> bool:
        self._check()
        entry = self.metas.pop(chat_id, None)
        self.logs.pop(chat_id, None)
        self.reads.pop(chat_id, None)
        if entry is None:
            return False
        meta, tok = entry
        self.toks.pop(tok, None)
        if block:
            self.blocks.add(tok)
        self.ends[tok] = Ended(by, meta.peer)
        return True

    async def discard(self, chat_id: str, tok: str) -> None:
        self._check()
        self.metas.pop(chat_id, None)
        self.toks.pop(tok, None)

    async def blocked(self, tok: str) -> bool:
        self._check()
        return tok in self.blocks

    async def ended(self, tok: str) -> Ended | None:
        self._check()
        return self.ends.get(tok)

    async def survey_once(self, tok: str) -> bool:
        self._check()
        if tok in self.surveys:
            return False
        self.surveys.add(tok)
        return True


class FakeSocket:
    """What the hub sends, as parsed frames; ``close`` records its code."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: int | None = None
        self.delay_s = delay_s
        self._changed = asyncio.Event()

    async def send_str(self, data: str) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.closed is not None:
            raise ConnectionResetError("closed")
        self.frames.append(json.loads(data))
        self._changed.set()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed = code
        self._changed.set()
        return True

    def types(self) -> list[str]:
        return [f["type"] for f in self.frames]

    async def wait_for(self, kind: str, count: int = 1, timeout_s: float = 2.0) -> dict[str, Any]:
        """The ``count``-th frame of type ``kind``, once it has come."""
        async with asyncio.timeout(timeout_s):
            while True:
                got = [f for f in self.frames if f["type"] == kind]
                if len(got) >= count:
                    return got[count - 1]
                self._changed.clear()
                await self._changed.wait()

    async def wait_closed(self, timeout_s: float = 2.0) -> int:
        async with asyncio.timeout(timeout_s):
            while self.closed is None:
                self._changed.clear()
                await self._changed.wait()
        return self.closed


@dataclass
class FakeControl:
    """``chat.ports.ChatControl`` recording every call: ``calls`` in order."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    open: bool = True
    peer_open: bool = False
    full: bool = False
    refuse: ChatConflict | None = None
    held: dict[str, list[str]] = field(default_factory=dict)

    def serving(self) -> bool:
        return True

    def child_away(self, chat_id: str) -> None:
        self.calls.append(("away", chat_id))

    def child_back(self, chat_id: str) -> None:
        self.calls.append(("back", chat_id))

    def child_left(self, chat_id: str) -> None:
        self.calls.append(("left", chat_id))

    def status(self, now: float) -> ChatStatus:
        return ChatStatus(
            self.open, None if self.open else "2025-06-02T11:00:00+02:00", self.peer_open
        )

    async def open_chat(self, chat_id: str, peer: bool, language: str, line_id: str) -> QueueNotice:
        self.calls.append(("open", chat_id, peer, language, line_id))
        if not self.open:
            raise ChatClosed("2025-06-02T11:00:00+02:00")
        if self.full:
            raise ChatQueueFull("full")
        return QueueNotice(1, 30.0)

    def _maybe_refuse(self) -> None:
        if self.refuse is not None:
            raise self.refuse

    async def accept(self, agent_id: str, chat_id: str) -> None:
        self.calls.append(("accept", agent_id, chat_id))
        self._maybe_refuse()

    async def decline(self, agent_id: str, chat_id: str) -> None:
        self.calls.append(("decline", agent_id, chat_id))
        self._maybe_refuse()

    async def end(self, agent_id: str, chat_id: str, block: bool) -> None:
        self.calls.append(("end", agent_id, chat_id, block))
        self._maybe_refuse()

    async def handoff(self, agent_id: str, chat_id: str, to_agent_id: str, note: str) -> None:
        self.calls.append(("handoff", agent_id, chat_id, to_agent_id, note))
        self._maybe_refuse()

    def chats_of(self, agent_id: str) -> list[str]:
        return list(self.held.get(agent_id, []))


@dataclass
class FakeSurvey:
    counted: list[tuple[date, str, dict[str, str]]] = field(default_factory=list)

    def add(self, day: date, channel: str, answers: dict[str, str]) -> None:
        self.counted.append((day, channel, dict(answers)))
