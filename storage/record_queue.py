"""Anonymous contact records: spooled at once, written to SQL when SQL can take them.

A finished contact becomes one row (``storage.records``). The engine calls
:meth:`RecordQueue.submit`, which only appends to a buffer in memory: the call path never waits
for Redis or SQL. Two background tasks move each record on, in order::

    submit -> buffer (memory) -> spool (Redis list) -> SQL

* the spooler appends buffered records to the spool as soon as Redis answers;
* the writer reads the spool's head, INSERTs each record on the queue's own thread (never the
  default pool, which the call path and logins share), and removes it from the spool only
  after SQL committed it.

Failures keep records, never drop them:

* SQL unreachable: the writer retries with a capped backoff; records wait in the spool, and
  are written in order when SQL is back. A crash or a standby takeover meanwhile loses
  nothing: the next process (``start``) writes what the spool holds before anything new.
* Written twice is impossible: the contact id is the primary key, and a record SQL already has
  (a commit whose answer was lost, a push repeated after a Redis timeout, two processes
  draining the spool during a takeover) is a :class:`DuplicateRecord`, which counts as written.
* A record SQL refuses as invalid is moved to the dead-letter list (``RecordSpool.set_aside``)
  and logged without its contents, so it cannot block the records behind it.
* An unexpected error (our bug) is logged with its traceback and retried like an outage: the
  record is kept for a fixed version rather than thrown away.
* Redis unreachable: records wait in the buffer; at ``close`` they go straight to SQL, and only
  what neither store takes is counted as lost in the log.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from acd.commands import ContactFinished
from session.referral import Referral
from storage.errors import (
    DuplicateRecord,
    InvalidRecord,
    RecordError,
    RecordsUnavailable,
    SpoolUnavailable,
)
from storage.records import (
    ContactRecordData,
    MemoryRecordSpool,
    RecordSpool,
    record_from_json,
    record_to_json,
)

log = logging.getLogger(__name__)


CHAT_ID_PREFIX = "chat-"
"""A chat's contact id is this and 32 random hex digits (``secrets.token_hex(16)``)."""


def record_id(contact_id: str) -> str:
    """The record's id for a contact id: a call's (a UUID) as it is; a chat's 32 random hex
    digits written as a UUID, which the table's id column takes (still random, still the
    only link to the chat)."""
    if contact_id.startswith(CHAT_ID_PREFIX):
        try:
            return str(uuid.UUID(hex=contact_id[len(CHAT_ID_PREFIX) :]))
        except ValueError:
            pass  # not a chat id of ours: validate_record refuses it as it is
    return contact_id


def contact_id_of(record_id: str, channel: str) -> str:
    """The contact id a record's id was made from (:func:`record_id` undone): a chat's
    (``chat`` or ``peer_chat``) is ``chat-`` and the UUID's hex digits; a call's is the id."""
    if channel == "phone":
        return record_id
    try:
        return CHAT_ID_PREFIX + uuid.UUID(record_id).hex
    except ValueError:
        return record_id  # never stored (validate_record wants a UUID): left as it is


def record_of(
    done: ContactFinished,
    line_id: str,
    language: str,
    *,
    referral: Referral | None = None,
    channel: str | None = None,
) -> ContactRecordData:
    """The row for a finished contact: times, outcome, who answered, the referral if one was
    made; nothing about the child. ``channel`` overrides the ACD's (``peer_chat``)."""

    def at(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    waited_until = done.answered_at if done.answered_at is not None else done.ended_at
    return ContactRecordData(
        id=record_id(done.contact_id),
        channel=channel or done.channel.value,
        line_id=line_id,
        language=language,
        priority=done.priority,
        arrived_at=at(done.arrived_at),
        ended_at=at(done.ended_at),
        wait_s=max(0.0, waited_until - done.arrived_at),
        outcome=done.outcome.value,
        answered_at=at(done.answered_at) if done.answered_at is not None else None,
        talk_s=done.ended_at - done.answered_at if done.answered_at is not None else None,
        overflow_reason=done.reason,
        volunteer_id=done.agent_id,
        location_id=done.location_id,
        referral_partner=referral.partner_id if referral is not None else None,
        referral_region=referral.region if referral is not None else None,
        referral_consent=referral.consent if referral is not None else None,
        referral_volunteer_stayed=referral.volunteer_stayed if referral is not None else None,
    )


class RecordStore(Protocol):
    """What the queue writes to: ``storage.records.RecordWriter`` (blocking SQL)."""

    def write(self, record: ContactRecordData) -> None:
        """Store one record; raises the ``RecordError`` kinds the module docstring lists."""


class _Backoff:
    """Doubling delays from ``low`` to ``high``; back to ``low`` after a success."""

    def __init__(self, low: float, high: float) -> None:
        self._low, self._high = low, high
        self._next = low

    def next(self) -> float:
        delay = self._next
        self._next = min(self._high, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self._low


class _Outage:
    """Logs an outage once when it starts and once when it ends, not at every retry."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._since: float | None = None

    def down(self, exc: BaseException, pending: int) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning(
                "%s unreachable (%s): %d contact records kept, retrying",
                self._what,
                type(exc.__cause__ or exc).__name__,
                pending,
            )

    def up(self) -> None:
        if self._since is not None:
            log.info("%s back after %.1f s", self._what, time.monotonic() - self._since)
            self._since = None


class RecordQueue:
    """Accepts finished contacts at once and writes them to SQL in order, exactly once.

    ``spool`` is where records wait for SQL: give a ``RedisRecordSpool`` in production; the
    default keeps them in this process only (tests, tools). ``executor`` runs the blocking SQL
    writes; the default is the queue's own single thread. Call ``submit`` from the event loop.
    """

    def __init__(
        self,
        writer: RecordStore,
        spool: RecordSpool | None = None,
        *,
        executor: Executor | None = None,
        retry_min_s: float = 0.5,
        retry_max_s: float = 5.0,
        idle_poll_s: float = 5.0,
        close_timeout_s: float = 5.0,
        batch: int = 64,
    ) -> None:
        self._writer = writer
        self._spool: RecordSpool = spool if spool is not None else MemoryRecordSpool()
        self._own_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="records"
        )
        self._retry_min_s, self._retry_max_s = retry_min_s, retry_max_s
        self._idle_poll_s = idle_poll_s
        self._close_timeout_s = close_timeout_s
        self._batch = batch
        self._buffer: collections.deque[ContactRecordData] = collections.deque()
        self._spooled = 0  # the spool's length as last seen (other processes' records too)
        self._buffered = asyncio.Event()  # the spooler has work
        self._work = asyncio.Event()  # the writer may have work
        self._stop = asyncio.Event()  # close() began: cut naps short
        self._closing = False
        self._closed = False
        self._spooler: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._sql = _Outage("SQL")
        self._redis = _Outage("records spool")
        self._backlog: int | None = None
        """Spooled records still to go through before those spooled when ``start`` ran are
        in SQL (None until the spool's first read)."""
        self._backlog_done = asyncio.Event()
        self.written = 0
        """Records confirmed in SQL by this queue (inserted, or found already there)."""
        self.duplicates = 0
        """Of ``written``, records SQL already had (written before, answer lost)."""
        self.set_aside = 0
        """Records SQL refused as invalid, moved to the dead-letter list."""

    @property
    def pending(self) -> int:
        """Records not yet in SQL: buffered here plus spooled (by any process), as last seen."""
        return len(self._buffer) + self._spooled

    async def backlog_written(self) -> None:
        """Return once every record the spool held when the writer first read it is in SQL
        (or set aside): what earlier processes finished is then there to be read (the
        wallboard's seed waits for this). Waits as long as SQL or Redis is away."""
        await self._backlog_done.wait()

    def _through_backlog(self, n: int = 1) -> None:
        # Records leave the spool oldest first, so once as many have gone through this queue
        # as it held at the first read, every one of those is out (other processes removing
        # some only makes it sooner: then a few of ours count too, and the event is later).
        if self._backlog is not None:
            self._backlog -= n
            if self._backlog <= 0:
                self._backlog_done.set()

    def start(self) -> None:
        """Start moving records; what a previous process left in the spool goes first."""
        self._spooler = asyncio.create_task(self._spool_loop(), name="records-spooler")
        self._drainer = asyncio.create_task(self._write_loop(), name="records-writer")

    def submit(
        self,
        done: ContactFinished,
        line_id: str,
        language: str,
        *,
        referral: Referral | None = None,
        channel: str | None = None,
    ) -> None:
        """Take a finished contact's record; returns at once, never waits for Redis or SQL."""
        if self._closed:
            log.error("contact record submitted after close: not written")
            return
        rec = record_of(done, line_id, language, referral=referral, channel=channel)
        self._buffer.append(rec)
        self._buffered.set()

    async def close(self) -> None:
        """Flush what can be flushed within ``close_timeout_s``; the spool keeps the rest."""
        if self._closed:
            return
        self._closed = self._closing = True
        self._stop.set()
        self._buffered.set()
        self._work.set()
        tasks = [t for t in (self._spooler, self._drainer) if t is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._close_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._buffer:
            # Redis could not take them: straight to SQL is better than losing them.
            try:
                await asyncio.wait_for(self._write_buffer_directly(), self._close_timeout_s)
            except TimeoutError:
                pass
        lost = len(self._buffer)
        if isinstance(self._spool, MemoryRecordSpool):
            lost += len(self._spool.items)
        if lost:
            log.error("%d contact records could be neither spooled nor written: lost", lost)
        elif self._spooled:
            log.info("%d contact records left in the spool for the next start", self._spooled)
        if self._own_executor:
            self._executor.shutdown(wait=False)

    async def _nap(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if the queue is closing."""
        try:
            await asyncio.wait_for(self._stop.wait(), delay)
        except TimeoutError:
            pass

    async def _spool_loop(self) -> None:
        backoff = _Backoff(self._retry_min_s, self._retry_max_s)
        while True:
            self._buffered.clear()
            if not self._buffer:
                if self._closing:
                    return
                await self._buffered.wait()
                continue
            batch = [self._buffer[i] for i in range(min(len(self._buffer), self._batch))]
            try:
                await self._spool.push([record_to_json(rec) for rec in batch])
            except SpoolUnavailable as exc:
                self._redis.down(exc, self.pending)
                if self._closing:
                    return  # close() writes the buffer to SQL directly
                await self._nap(backoff.next())
                continue
            self._redis.up()
            backoff.reset()
            for _ in batch:
                self._buffer.popleft()
            self._spooled += len(batch)
            self._work.set()

    def _spooler_done(self) -> bool:
        return self._spooler is None or self._spooler.done()

    async def _write_loop(self) -> None:
        backoff = _Backoff(self._retry_min_s, self._retry_max_s)
        while True:
            self._work.clear()
            try:
                raws, self._spooled = await self._spool.head(self._batch)
            except SpoolUnavailable as exc:
                self._redis.down(exc, self.pending)
                if self._closing:
                    return
                await self._nap(backoff.next())
                continue
            if self._backlog is None:
                self._backlog = self._spooled
                self._through_backlog(0)
            if not raws:
                self._backlog_done.set()
                if self._closing and self._spooler_done():
                    return
                # Woken by the spooler; the poll finds records another process spooled.
                try:
                    await asyncio.wait_for(self._work.wait(), self._idle_poll_s)
                except TimeoutError:
                    pass
                continue
            if await self._write_batch(raws):
                backoff.reset()
            elif self._closing:
                return  # the spool keeps the rest for the next start
            else:
                await self._nap(backoff.next())

    async def _write_batch(self, raws: list[str]) -> bool:
        """Write ``raws`` in order; False when an outage stopped it (the rest stays spooled)."""
        for raw in raws:
            try:
                rec = record_from_json(raw)
            except InvalidRecord as exc:
                if not await self._move_aside(raw, exc):
                    return False
                continue
            try:
                await self._write_one(rec)
            except RecordsUnavailable as exc:
                self._sql.down(exc, self.pending)
                return False
            except DuplicateRecord:
                duplicate = True
            except RecordError as exc:
                self._sql.up()
                if not await self._move_aside(raw, exc):
                    return False
                continue
            except Exception:
                log.exception("contact record write failed unexpectedly; kept, will retry")
                return False
            else:
                duplicate = False
            self._sql.up()
            try:
                await self._spool.remove(raw)
            except SpoolUnavailable as exc:
                # In SQL but still spooled: its next write is a DuplicateRecord, so no harm.
                self._redis.down(exc, self.pending)
                return False
            self._redis.up()
            self._spooled = max(0, self._spooled - 1)
            self._through_backlog()
            self.written += 1
            if duplicate:
                self.duplicates += 1
        return True

    async def _write_one(self, rec: ContactRecordData) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._writer.write, rec)

    async def _move_aside(self, raw: str, exc: RecordError) -> bool:
        try:
            await self._spool.set_aside(raw)
        except SpoolUnavailable as spool_exc:
            self._redis.down(spool_exc, self.pending)
            return False
        self._spooled = max(0, self._spooled - 1)
        self._through_backlog()
        self.set_aside += 1
        # The reason names the field, never its value (storage.records' messages are built so).
        log.error("contact record refused and set aside for review: %s", exc)
        return True

    async def _write_buffer_directly(self) -> None:
        while self._buffer:
            try:
                await self._write_one(self._buffer[0])
            except RecordsUnavailable as exc:
                self._sql.down(exc, self.pending)
                return
            except DuplicateRecord:
                self.duplicates += 1
            except RecordError as exc:
                self._buffer.popleft()
                log.error("contact record refused while closing (no spool to keep it): %s", exc)
                continue
            except Exception:
                log.exception("contact record write failed unexpectedly while closing")
                return
            self._buffer.popleft()
            self.written += 1
