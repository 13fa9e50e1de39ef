"""The chats' transcripts and tokens in Redis, every key under a TTL.

Keys (``P`` is ``{prefix}chat:``):

- ``P<id>:meta`` hash: ``tok`` (HMAC of the child's token), ``peer`` 0/1, ``lang``, ``line``,
  ``opened`` (Unix seconds);
- ``Ptok:<hmac>`` -> ``<id>``: how the child's token finds its chat;
- ``P<id>:log`` list of JSON messages ``{"from", "text", "at"}``; a message's ``seq`` is its
  index + 1 (RPUSH's answer), so it is not stored in it;
- ``P<id>:read`` hash ``child``/``volunteer`` -> the last seq that side read;
- ``Pblock:<hmac>`` -> 1 for ``block_s`` (a blocked token cannot open or resume);
- ``Pended:<hmac>`` -> ``{"by", "peer"}`` for ``ENDED_TTL_S`` after the end (a late resume
  hears "ended", the survey knows the channel); ``Psurvey:<hmac>``: answered once.

An open chat's keys live ``ttl_s`` and every message refreshes them; ``end`` deletes them, or
keeps the transcript ``retention_s`` without the token's link. Nothing about the child (an
address, a user agent) is ever written here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from acd.record import record
from chat.errors import ChatUnavailable

Sender = Literal["child", "volunteer", "system"]
SENDERS: tuple[Sender, ...] = ("child", "volunteer", "system")
Reader = Literal["child", "volunteer"]

ENDED_TTL_S = 3600
"""How long an ended chat's token still hears "ended" and may answer the survey."""

# Append only while the chat is open (its meta exists): a message racing the end must not
# bring a deleted transcript back. Refreshes every key of the chat, the token's included.
_APPEND = """
local tok = redis.call('HGET', KEYS[1], 'tok')
if not tok then return 0 end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('EXPIRE', ARGV[3] .. tok, ttl)
return n
"""

# A read mark only moves forward, and never past the last message.
_READ = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('LLEN', KEYS[2])
local seq = math.min(tonumber(ARGV[2]), n)
local old = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if seq > old then
  redis.call('HSET', KEYS[3], ARGV[1], seq)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
  return seq
end
return old
"""

# The end, in one step: the token's link, the block, the "ended" marker, then the transcript
# deleted or kept for the retention without its token. Answers the token's HMAC ('' if none).
_END = """
local tok = redis.call('HGET', KEYS[1], 'tok')
local peer = redis.call('HGET', KEYS[1], 'peer') or '0'
local retention = tonumber(ARGV[3])
if tok then
  redis.call('DEL', ARGV[1] .. 'tok:' .. tok)
  if ARGV[4] == '1' then
    redis.call('SET', ARGV[1] .. 'block:' .. tok, '1', 'EX', tonumber(ARGV[5]))
  end
  redis.call('SET', ARGV[1] .. 'ended:' .. tok,
    cjson.encode({by = ARGV[2], peer = (peer == '1')}), 'EX', tonumber(ARGV[6]))
end
if retention > 0 then
  redis.call('HDEL', KEYS[1], 'tok')
  redis.call('EXPIRE', KEYS[1], retention)
  redis.call('EXPIRE', KEYS[2], retention)
  redis.call('EXPIRE', KEYS[3], retention)
else
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
return tok or ''
"""


@record
class Message:
    """One message of a transcript."""

    seq: int
    """Its number in the chat, from 1."""
    sender: Sender
    """``child``, ``volunteer`` or ``system``."""
    text: str
    at: float
    """Unix seconds when the hub stored it."""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "from": self.sender, "text": self.text, "at": self.at}


@record
class ChatMeta:
    """What is kept about an open chat: nothing about the child."""

    chat_id: str
    peer: bool
    """A peer chat (young volunteers)."""
    language: str
    line_id: str
    opened: float
    """Unix seconds."""


@record
class Ended:
    """What an ended chat's token still tells (for ``ENDED_TTL_S``)."""

    by: str
    """Who or what ended it (``session`` chat commands' ``ChatEnded.by``)."""
    peer: bool


@dataclass(frozen=True, slots=True)
class StoreSettings:
    ttl_s: int
    """An open chat's keys live this long after the last message."""
    retention_s: int = 0
    """0: the transcript goes at the end; else it is kept this long."""
    block_s: int = 24 * 3600


class TranscriptStore(Protocol):
    """What the hub and the web layer need of the store (``ChatStore`` on Redis; the unit
    tests have one in memory). Failures are ``ChatUnavailable``."""

    async def create(self, meta: ChatMeta, tok: str) -> None: ...

    async def chat_of(self, tok: str) -> str | None: ...

    async def meta(self, chat_id: str) -> ChatMeta | None: ...

    async def append(
        self, chat_id: str, sender: Sender, text: str, at: float
    ) -> Message | None: ...

    async def messages(self, chat_id: str, after: int = 0) -> list[Message]: ...

    async def mark_read(self, chat_id: str, reader: Reader, seq: int) -> int | None: ...

    async def read_marks(self, chat_id: str) -> dict[str, int]: ...

    async def end(self, chat_id: str, by: str, block: bool) -> bool: ...

    async def discard(self, chat_id: str, tok: str) -> None: ...

    async def blocked(self, tok: str) -> bool: ...

    async def ended(self, tok: str) -> Ended | None: ...

    async def survey_once(self, tok: str) -> bool: ...


class ChatStore:
    """The chat keys of one Redis under ``{prefix}chat:``. Every Redis failure is raised as
    ``ChatUnavailable`` (the message names the operation, never a key or token)."""

    def __init__(self, client: aioredis.Redis, prefix: str, settings: StoreSettings) -> None:
        self._redis = client
        self.prefix = f"{prefix}chat:"
        self.settings = settings
        self._append = client.register_script(_APPEND)
        self._read = client.register_script(_READ)
        self._end = client.register_script(_END)

    def _keys(self, chat_id: str) -> list[str]:
        p = self.prefix + chat_id
        return [f"{p}:meta", f"{p}:log", f"{p}:read"]

    async def create(self, meta: ChatMeta, tok: str) -> None:
        """Keep a new chat and its token's link (``tok``: the token's HMAC)."""
        meta_key = self._keys(meta.chat_id)[0]
        ttl = self.settings.ttl_s
        fields = [
            ("tok", tok),
            ("peer", "1" if meta.peer else "0"),
            ("lang", meta.language),
            ("line", meta.line_id),
            ("opened", repr(meta.opened)),
        ]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(meta_key, items=[v for pair in fields for v in pair])
                pipe.expire(meta_key, ttl)
                pipe.set(f"{self.prefix}tok:{tok}", meta.chat_id, ex=ttl)
                await pipe.execute()
        except RedisError as exc:
            raise ChatUnavailable("chat store: create failed") from exc

    async def chat_of(self, tok: str) -> str | None:
        """The open chat of the token (by its HMAC), or None."""
        try:
            raw = await self._redis.get(f"{self.prefix}tok:{tok}")
        except RedisError as exc:
            raise ChatUnavailable("chat store: token lookup failed") from exc
        return None if raw is None else _text(raw)

    async def meta(self, chat_id: str) -> ChatMeta | None:
        try:
            raw = await self._redis.hgetall(self._keys(chat_id)[0])
        except RedisError as exc:
            raise ChatUnavailable("chat store: meta read failed") from exc
        if not raw or b"tok" not in raw:
            return None  # gone, or an ended chat's kept transcript
        data = {_text(k): _text(v) for k, v in raw.items()}
        return ChatMeta(
            chat_id,
            data.get("peer") == "1",
            data.get("lang", ""),
            data.get("line", ""),
            float(data.get("opened", "0")),
        )

    async def append(self, chat_id: str, sender: Sender, text: str, at: float) -> Message | None:
        """Store a message; None when the chat is not open (ended, expired)."""
        raw = json.dumps({"from": sender, "text": text, "at": at}, ensure_ascii=False)
        try:
            seq = await self._append(
                keys=self._keys(chat_id),
                args=[raw, self.settings.ttl_s, f"{self.prefix}tok:"],
            )
        except RedisError as exc:
            raise ChatUnavailable("chat store: append failed") from exc
        return None if not seq else Message(int(seq), sender, text, at)

    async def messages(self, chat_id: str, after: int = 0) -> list[Message]:
        """The transcript from seq ``after + 1`` on."""
        try:
            raws = await self._redis.lrange(self._keys(chat_id)[1], max(0, after), -1)
        except RedisError as exc:
            raise ChatUnavailable("chat store: transcript read failed") from exc
        out: list[Message] = []
        for i, raw in enumerate(raws, start=max(0, after) + 1):
            data = json.loads(raw)
            sender = data.get("from")
            if sender not in SENDERS:
                continue
            out.append(Message(i, sender, str(data.get("text", "")), float(data.get("at", 0))))
        return out

    async def mark_read(self, chat_id: str, reader: Reader, seq: int) -> int | None:
        """``reader`` has read up to ``seq``; the mark now (it never goes back), None when
        the chat is not open."""
        keys = self._keys(chat_id)
        try:
            mark = await self._read(keys=keys, args=[reader, seq, self.settings.ttl_s])
        except RedisError as exc:
            raise ChatUnavailable("chat store: read mark failed") from exc
        return None if int(mark) < 0 else int(mark)

    async def read_marks(self, chat_id: str) -> dict[str, int]:
        """``{"child": n, "volunteer": m}``: the last seq each side read (0: none)."""
        try:
            raw = await self._redis.hgetall(self._keys(chat_id)[2])
        except RedisError as exc:
            raise ChatUnavailable("chat store: read marks failed") from exc
        marks = {"child": 0, "volunteer": 0}
        for k, v in raw.items():
            if _text(k) in marks:
                marks[_text(k)] = int(v)
        return marks

    async def end(self, chat_id: str, by: str, block: bool) -> bool:
        """The chat ended: its token's link goes (blocked for ``block_s`` if asked), its
        transcript goes or is kept ``retention_s``. False when it was not open here."""
        s = self.settings
        try:
            tok = await self._end(
                keys=self._keys(chat_id),
                args=[
                    self.prefix,
                    by,
                    s.retention_s,
                    "1" if block else "0",
                    s.block_s,
                    ENDED_TTL_S,
                ],
            )
        except RedisError as exc:
            raise ChatUnavailable("chat store: end failed") from exc
        return bool(tok)

    async def discard(self, chat_id: str, tok: str) -> None:
        """Forget a chat the engine did not take (closed, queue full): no trace at all."""
        try:
            await self._redis.delete(*self._keys(chat_id), f"{self.prefix}tok:{tok}")
        except RedisError as exc:
            raise ChatUnavailable("chat store: discard failed") from exc

    async def blocked(self, tok: str) -> bool:
        try:
            return bool(await self._redis.exists(f"{self.prefix}block:{tok}"))
        except RedisError as exc:
            raise ChatUnavailable("chat store: block lookup failed") from exc

    async def ended(self, tok: str) -> Ended | None:
        """How the token's chat ended, within ``ENDED_TTL_S`` of the end; else None."""
        try:
            raw = await self._redis.get(f"{self.prefix}ended:{tok}")
        except RedisError as exc:
            raise ChatUnavailable("chat store: ended lookup failed") from exc
        if raw is None:
            return None
        data = json.loads(raw)
        return Ended(str(data.get("by", "")), data.get("peer") is True)

    async def survey_once(self, tok: str) -> bool:
        """True the first time the token answers the survey (a SETNX marker); then False."""
        try:
            first = await self._redis.set(
                f"{self.prefix}survey:{tok}", "1", nx=True, ex=ENDED_TTL_S
            )
        except RedisError as exc:
            raise ChatUnavailable("chat store: survey marker failed") from exc
        return bool(first)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
