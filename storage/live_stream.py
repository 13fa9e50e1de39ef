"""The live state bus in a Redis Stream: numbered deltas for pages and other processes.

Inside the single-writer engine a projection turns state changes into numbered deltas, JSON-able
dicts such as ``{"seq": 17, "kind": "agent", "key": "vol-7", "data": {...}, "audience": [...],
"public": false}`` with ``seq`` rising by one. :class:`LiveStream` carries them to Redis without
ever making the writer wait, and lets any process read or follow them.

Keys under ``prefix``::

    {prefix}:live           stream; entry id "{seq}-1", one field "d" = compact JSON of the delta
    {prefix}:live:snapshot  JSON {"seq": n, "state": {...}}: the projection's state after delta n

Why the entry id is the seq: the stream's own order is then the delta order, "everything after
seq n" is one range read (``XRANGE key {n+1}-0 +``, or ``XREAD`` from ``{n}-1``) with no index
of our own, a reader sees a hole as a jump in the id, and Redis refuses an id that is not above
the newest entry ("equal or smaller than the target stream top item"). That refusal makes the
stream fenced by construction: a batch retried after an ambiguous failure, or a paused former
leader writing numbers a new leader already used, cannot add a second entry for one seq. The
sequence part is 1 rather than 0 so that no id can ever be ``0-0``, which XADD refuses.

Losing entries. :meth:`LiveStream.publish` only buffers; while Redis is down the buffer is held
to ``buffer_limit`` entries by dropping the oldest, counted in :attr:`LiveStream.gaps`. The seq
belongs to the projection, so no "reset" marker can be slipped in: the stream simply has a hole.
A reader that finds a hole (``follow`` raises :class:`LiveStreamGap`; with ``read_after``, check
that each seq is the previous one plus one) must read the snapshot and continue after its seq.
For that to work the snapshot must lie beyond the hole: :attr:`LiveStream.needs_snapshot` turns
true when entries were dropped, and the owner should then ``publish_snapshot``. The same holds
for trimming: publish snapshots more often than every ``maxlen`` deltas.

Privacy: an entry holds exactly the delta it was given, encoded when it was published, and the
snapshot exactly the state given; nothing is added. The projection holds no caller identity (no
number, no channel name), so neither does the stream. Nothing here logs data: warnings name an
error type or a count, never a delta.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from storage.errors import InvalidDelta, LiveStateUnavailable, LiveStreamCorrupt, LiveStreamGap

__all__ = [
    "LiveStream",
]

log = logging.getLogger(__name__)

_BACKOFF_START_S = 0.1
_BACKOFF_MAX_S = 2.0


class _Entry(NamedTuple):
    seq: int
    body: str


def _dumps(obj: object) -> str:
    # Compact and strict: NaN/Infinity are not JSON and would not round-trip in a browser.
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def _seq_of_id(raw: object) -> int:
    """The seq in an entry id ``"{seq}-1"``."""
    if not isinstance(raw, bytes | str):
        raise LiveStreamCorrupt("live stream entry without an id")
    ms, _, _ = _text(raw).partition("-")
    try:
        return int(ms)
    except ValueError as exc:
        raise LiveStreamCorrupt("live stream entry id is not '{seq}-1'") from exc


def _seq_of(delta: Mapping[str, Any]) -> int:
    seq = delta.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InvalidDelta("a delta needs an integer 'seq' of at least 1")
    return seq


class LiveStream:
    """The live state bus of one engine under ``prefix``.

    The writer side is :meth:`publish`, :meth:`publish_snapshot` and the :meth:`run` task;
    the reader side (:meth:`read_after`, :meth:`follow`, :meth:`snapshot`, ...) works from any
    process. ``maxlen`` bounds the stream (approximately: Redis trims whole nodes);
    ``buffer_limit`` bounds what waits in memory while Redis is unreachable; ``batch`` is the
    largest number of entries sent in one pipeline.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        *,
        maxlen: int = 20000,
        buffer_limit: int = 50000,
        batch: int = 500,
    ) -> None:
        if maxlen < 1 or buffer_limit < 1 or batch < 1:
            raise ValueError("maxlen, buffer_limit and batch must be positive")
        self._redis = redis
        self.key = f"{prefix}:live"
        self.snapshot_key = f"{prefix}:live:snapshot"
        self._maxlen = maxlen
        self._buffer_limit = buffer_limit
        self._batch = batch
        self._buffer: deque[_Entry] = deque()
        self._snapshot: _Entry | None = None
        self._wake = asyncio.Event()
        self._last_published = 0
        self._top = 0  # highest seq known to be in the stream
        self._check_top = True  # learn _top before the first write and after any failure
        self._gaps = 0
        self._hole_upto = 0  # highest seq dropped from the buffer
        self._snapshot_upto = 0  # seq of the newest snapshot published

    # --- writer side (inside the engine) ------------------------------------------------------

    @property
    def gaps(self) -> int:
        """Entries dropped from a full buffer, ever: each is a hole readers must skip by snapshot.

        An entry dropped while its batch was on the wire may still have reached Redis, so this
        is an upper bound.
        """
        return self._gaps

    @property
    def needs_snapshot(self) -> bool:
        """True when entries were dropped after the newest published snapshot's seq."""
        return self._hole_upto > self._snapshot_upto

    @property
    def pending(self) -> int:
        """Entries waiting in memory to be written."""
        return len(self._buffer)

    def publish(self, deltas: Sequence[Mapping[str, Any]]) -> None:
        """Queue ``deltas`` (in seq order) for the flusher. Never awaits, never blocks on I/O.

        Each delta is encoded now, so a later change to the caller's dicts cannot reach the
        stream. Raises :class:`InvalidDelta` (nothing queued) for a delta without a valid seq,
        a seq not above the one published before, or a value that is not JSON.
        """
        entries: list[_Entry] = []
        last = self._last_published
        for delta in deltas:
            seq = _seq_of(delta)
            if seq <= last:
                raise InvalidDelta(f"seq {seq} is not above the last published seq {last}")
            try:
                entries.append(_Entry(seq, _dumps(delta)))
            except (TypeError, ValueError) as exc:
                raise InvalidDelta(f"delta {seq} is not JSON: {type(exc).__name__}") from exc
            last = seq
        if not entries:
            return
        self._last_published = last
        self._buffer.extend(entries)
        overflow = len(self._buffer) - self._buffer_limit
        for _ in range(max(0, overflow)):
            dropped = self._buffer.popleft()
            self._hole_upto = max(self._hole_upto, dropped.seq)
        if overflow > 0:
            self._gaps += overflow
        self._wake.set()

    def publish_snapshot(self, seq: int, state: Mapping[str, Any]) -> None:
        """Remember ``state`` as the projection's state after delta ``seq``; never awaits.

        Only the newest snapshot is kept. It is written once the stream holds delta ``seq``
        (in the same pipeline at the latest), so a snapshot never names a seq that a new
        leader could still number differently.
        """
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InvalidDelta("a snapshot needs an integer seq of at least 0")
        if self._snapshot is not None and seq < self._snapshot.seq:
            return
        try:
            body = _dumps({"seq": seq, "state": state})
        except (TypeError, ValueError) as exc:
            raise InvalidDelta(f"snapshot is not JSON: {type(exc).__name__}") from exc
        self._snapshot = _Entry(seq, body)
        self._snapshot_upto = max(self._snapshot_upto, seq)
        self._wake.set()

    async def run(self) -> None:
        """The flusher task: write what was published, in order, until cancelled.

        On a Redis error it warns (error type only), backs off 0.1 s doubling to 2 s and tries
        again from the oldest entry still buffered. Cancelling it writes nothing more.
        """
        delay = _BACKOFF_START_S
        failures = 0
        while True:
            if not self._has_work():
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._flush_once()
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # A cancel that redis-py turned into a connection error (or a timeout,
                    # an OSError here) must still stop the task, not send it back to wait.
                    raise asyncio.CancelledError from exc
                self._check_top = True
                if failures == 0:
                    log.warning(
                        "live stream: cannot write to Redis (%s); retrying", type(exc).__name__
                    )
                failures += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
                continue
            if failures:
                log.info(
                    "live stream: writing again after %d failed attempts (%d entries dropped)",
                    failures,
                    self._gaps,
                )
            failures = 0
            delay = _BACKOFF_START_S

    def _has_work(self) -> bool:
        if self._buffer:
            return True
        # Until the top is known (a new leader's first snapshot names a seq already there),
        # a pending snapshot is worth one look.
        return self._snapshot is not None and (self._check_top or self._snapshot.seq <= self._top)

    async def _flush_once(self) -> None:
        if self._check_top:
            self._top = max(self._top, await self._newest())
            self._check_top = False
            self._drop_written()
        batch = [self._buffer[i] for i in range(min(self._batch, len(self._buffer)))]
        upto = batch[-1].seq if batch else self._top
        snap = self._snapshot
        if snap is not None and snap.seq > max(upto, self._top):
            snap = None  # its delta is not in the stream yet
        if not batch and snap is None:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in batch:
                pipe.xadd(
                    self.key,
                    {"d": entry.body},
                    id=f"{entry.seq}-1",
                    maxlen=self._maxlen,
                    approximate=True,
                )
            if snap is not None:
                pipe.set(self.snapshot_key, snap.body)
            await pipe.execute()
        self._top = max(self._top, upto)
        # publish() may have dropped some of the batch meanwhile: remove by seq, not by count.
        while self._buffer and self._buffer[0].seq <= upto:
            self._buffer.popleft()
        if snap is not None and self._snapshot is snap:
            self._snapshot = None

    def _drop_written(self) -> None:
        """Forget buffered entries whose seq the stream already holds.

        After a failed pipeline some of its entries may have been written; retrying them would
        only be refused. Any others at or below the top were numbered wrongly (not after
        ``last_seq()``) or written by another leader: they cannot be added, so say so.
        """
        skipped = 0
        while self._buffer and self._buffer[0].seq <= self._top:
            self._buffer.popleft()
            skipped += 1
        if skipped:
            log.info("live stream: %d buffered entries already have their seq in Redis", skipped)

    # --- reader side (any process) ------------------------------------------------------------

    async def last_seq(self) -> int:
        """The seq of the newest entry (0 if none): a new leader numbers on after it."""
        try:
            return await self._newest()
        except RedisError as exc:
            raise LiveStateUnavailable("cannot read the live stream") from exc

    async def _newest(self) -> int:
        rows = await self._redis.xrevrange(self.key, "+", "-", count=1)
        return _seq_of_id(rows[0][0]) if rows else 0

    async def oldest_seq(self) -> int | None:
        """The seq of the oldest entry still in the stream (None if it is empty)."""
        try:
            rows = await self._redis.xrange(self.key, "-", "+", count=1)
        except RedisError as exc:
            raise LiveStateUnavailable("cannot read the live stream") from exc
        return _seq_of_id(rows[0][0]) if rows else None

    async def read_after(self, seq: int, count: int = 1000) -> list[dict[str, Any]]:
        """Up to ``count`` deltas with a seq above ``seq``, in order (holes are not checked)."""
        try:
            rows = await self._redis.xrange(self.key, f"{seq + 1}-0", "+", count=count)
        except RedisError as exc:
            raise LiveStateUnavailable("cannot read the live stream") from exc
        return [self._decode(entry_id, fields) for entry_id, fields in rows or []]

    async def snapshot(self) -> tuple[int, dict[str, Any]] | None:
        """The newest snapshot written as ``(seq, state)``, or None if there is none."""
        try:
            raw = await self._redis.get(self.snapshot_key)
        except RedisError as exc:
            raise LiveStateUnavailable("cannot read the live snapshot") from exc
        if raw is None:
            return None
        try:
            obj = json.loads(_text(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LiveStreamCorrupt("live snapshot is not valid JSON") from exc
        seq = obj.get("seq") if isinstance(obj, dict) else None
        state = obj.get("state") if isinstance(obj, dict) else None
        if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(state, dict):
            raise LiveStreamCorrupt("live snapshot is not {seq, state}")
        return seq, state

    async def follow(self, after_seq: int, block_ms: int = 1000) -> AsyncIterator[dict[str, Any]]:
        """Yield every delta after ``after_seq`` in order, waiting for new ones, forever.

        Raises :class:`LiveStreamGap` when the next entry is not the next seq (dropped or
        trimmed away) or the stream now ends below where we are (deleted, numbering restarted):
        read :meth:`snapshot` and follow again from its seq. Raises
        :class:`~storage.lease.LiveStateUnavailable` on a Redis error. The client's socket
        timeout, if any, must be longer than ``block_ms``.
        """
        last = after_seq
        while True:
            try:
                reply = await self._redis.xread({self.key: f"{last}-1"}, count=1000, block=block_ms)
            except RedisError as exc:
                raise LiveStateUnavailable("cannot read the live stream") from exc
            rows = self._rows(reply)
            if not rows:
                # Idle: a stream that went backwards would otherwise be waited on forever.
                if await self.last_seq() < last:
                    raise LiveStreamGap(last, None)
                continue
            for entry_id, fields in rows:
                seq = _seq_of_id(entry_id)
                if seq != last + 1:
                    raise LiveStreamGap(last, seq)
                yield self._decode(entry_id, fields)
                last = seq

    @staticmethod
    def _rows(reply: Any) -> list[tuple[Any, Any]]:
        # XREAD answers [[key, rows]] (RESP2) or {key: rows} (RESP3); one key was asked for.
        if not reply:
            return []
        rows = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
        # Some redis-py versions wrap a RESP3 stream's rows in one more list.
        if rows and not isinstance(rows[0][0], bytes | str):
            rows = rows[0]
        return list(rows)

    @staticmethod
    def _decode(entry_id: object, fields: object) -> dict[str, Any]:
        seq = _seq_of_id(entry_id)
        raw = fields.get(b"d", fields.get("d")) if isinstance(fields, Mapping) else None
        if raw is None:
            raise LiveStreamCorrupt(f"live stream entry {seq} has no 'd' field")
        try:
            delta = json.loads(_text(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LiveStreamCorrupt(f"live stream entry {seq} is not valid JSON") from exc
        if not isinstance(delta, dict) or delta.get("seq") != seq:
            raise LiveStreamCorrupt(f"live stream entry {seq} does not carry its own seq")
        return delta
