"""RecordQueue with a fake SQL writer and an in-memory spool: outages, duplicates, order.

The same queue against the real Redis and a PostgreSQL that is stopped and started lives in
tests/integration/test_records_outage.py.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from acd import Channel, ContactFinished, Outcome
from storage.errors import (
    DuplicateRecord,
    InvalidRecord,
    RecordError,
    RecordsUnavailable,
    SpoolUnavailable,
)
from storage.record_queue import RecordQueue, record_of
from storage.records import ContactRecordData, MemoryRecordSpool, record_to_json

FAST = dict(retry_min_s=0.01, retry_max_s=0.04, idle_poll_s=0.05, close_timeout_s=1.0)


def finished(n: int = 0, *, volunteer: str = "anna") -> ContactFinished:
    return ContactFinished(
        contact_id=str(uuid.uuid4()),
        channel=Channel.PHONE,
        outcome=Outcome.ANSWERED,
        priority=0,
        language="nl",
        arrived_at=1_800_000_000.0 + n,
        answered_at=1_800_000_010.0 + n,
        ended_at=1_800_000_100.0 + n,
        agent_id=volunteer,
        location_id="utrecht",
    )


class FakeWriter:
    """Stores records by id like the primary key does; scripted failures per attempt."""

    def __init__(self, fail_first: int = 0, refuse: frozenset[str] = frozenset()) -> None:
        self.rows: dict[str, ContactRecordData] = {}
        self.order: list[str] = []
        self.attempts: list[float] = []
        self.threads: set[str] = set()
        self.fail_first = fail_first
        self.refuse = refuse
        self.down = False
        self.lose_answer_once = False
        self.crash_first = 0
        self.gate: threading.Event | None = None
        self._lock = threading.Lock()

    def write(self, record: ContactRecordData) -> None:
        if self.gate is not None:
            self.gate.wait(5)
        with self._lock:
            self.attempts.append(time.monotonic())
            self.threads.add(threading.current_thread().name)
            if self.crash_first > 0:
                self.crash_first -= 1
                raise ZeroDivisionError("a bug")
            if self.down or self.fail_first > 0:
                self.fail_first = max(0, self.fail_first - 1)
                raise RecordsUnavailable(f"contact {record.id} not written: OperationalError")
            if record.id in self.refuse:
                raise InvalidRecord("volunteer_id: not an identifier")
            if record.id in self.rows:
                raise DuplicateRecord(f"contact {record.id} already recorded")
            self.rows[record.id] = record
            self.order.append(record.id)
            if self.lose_answer_once:
                self.lose_answer_once = False
                raise RecordsUnavailable("committed, but the answer was lost")


class FlakySpool(MemoryRecordSpool):
    """A spool that can be switched off like a stopped Redis; survives queues like Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise SpoolUnavailable("cannot reach the records spool") from ConnectionError()

    async def push(self, raws: Sequence[str]) -> None:
        self._check()
        await super().push(raws)

    async def head(self, n: int) -> tuple[list[str], int]:
        self._check()
        return await super().head(n)

    async def remove(self, raw: str) -> None:
        self._check()
        await super().remove(raw)

    async def set_aside(self, raw: str) -> None:
        self._check()
        await super().set_aside(raw)


class DurableSpool(FlakySpool):
    """Not a MemoryRecordSpool by type, so the queue treats it as durable (like Redis)."""


async def until(cond, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_records_are_written_in_order_on_the_queues_own_thread():
    writer = FakeWriter()
    queue = RecordQueue(writer, **FAST)
    queue.start()
    done = [finished(i) for i in range(5)]
    for d in done:
        queue.submit(d, "116111", "nl")
    await until(lambda: queue.written == 5)
    assert writer.order == [d.contact_id for d in done]
    assert writer.rows[done[0].contact_id] == record_of(done[0], "116111", "nl")
    assert queue.pending == 0
    assert len(writer.threads) == 1 and next(iter(writer.threads)).startswith("records")
    await queue.close()


async def test_submit_returns_at_once_while_sql_hangs():
    writer = FakeWriter()
    writer.gate = threading.Event()  # every write blocks until the gate opens
    queue = RecordQueue(writer, **FAST)
    queue.start()
    started = time.perf_counter()
    for i in range(100):
        queue.submit(finished(i), "116111", "nl")
    assert time.perf_counter() - started < 0.05
    await until(lambda: queue.pending == 100)  # spooled, none in SQL yet
    assert queue.written == 0
    writer.gate.set()
    await until(lambda: queue.written == 100)
    assert queue.pending == 0
    await queue.close()


async def test_sql_down_keeps_records_and_writes_them_once_in_order_when_back(caplog):
    writer = FakeWriter()
    writer.down = True
    queue = RecordQueue(writer, **FAST)
    queue.start()
    done = [finished(i) for i in range(10)]
    with caplog.at_level(logging.INFO, logger="storage.record_queue"):
        for d in done:
            queue.submit(d, "116111", "nl")
        await until(lambda: len(writer.attempts) >= 6)
        assert queue.pending == 10 and queue.written == 0 and writer.rows == {}
        writer.down = False
        await until(lambda: queue.written == 10)
    assert writer.order == [d.contact_id for d in done]
    assert queue.pending == 0 and queue.duplicates == 0
    # One warning when SQL went away and one line when it came back, not one per retry.
    warnings = [r for r in caplog.records if "SQL unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert any("SQL back after" in r.getMessage() for r in caplog.records)
    await queue.close()


async def test_retries_back_off_up_to_the_cap():
    writer = FakeWriter(fail_first=7)
    queue = RecordQueue(writer, retry_min_s=0.02, retry_max_s=0.08, idle_poll_s=0.05)
    queue.start()
    queue.submit(finished(), "116111", "nl")
    await until(lambda: queue.written == 1)
    gaps = [b - a for a, b in zip(writer.attempts, writer.attempts[1:], strict=False)]
    assert len(gaps) == 7
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04  # doubling...
    assert all(g >= 0.08 for g in gaps[2:])  # ...up to the cap
    # ...and not beyond it: uncapped, the gaps would go on 0.16, 0.32, 0.64, 1.28. One gap may
    # be late on a loaded machine (the event loop's scheduling), so the median and a wide max.
    assert statistics.median(gaps[2:]) < 0.08 + 0.1
    assert max(gaps) < 0.08 + 0.5
    await queue.close()


async def test_a_record_whose_commit_answer_was_lost_is_written_once():
    writer = FakeWriter()
    writer.lose_answer_once = True
    queue = RecordQueue(writer, **FAST)
    queue.start()
    first, second = finished(1), finished(2)
    queue.submit(first, "116111", "nl")
    queue.submit(second, "116111", "nl")
    await until(lambda: queue.written == 2)
    assert writer.order == [first.contact_id, second.contact_id]
    assert queue.duplicates == 1  # the retry of the first found it stored
    await queue.close()


async def test_a_duplicate_counts_as_written_and_leaves_the_spool():
    writer = FakeWriter()
    done = finished()
    writer.write(record_of(done, "116111", "nl"))  # already in SQL (a previous process)
    spool = MemoryRecordSpool()
    queue = RecordQueue(writer, spool, **FAST)
    queue.start()
    queue.submit(done, "116111", "nl")
    after = finished(1)
    queue.submit(after, "116111", "nl")
    await until(lambda: queue.written == 2)
    assert queue.duplicates == 1
    assert spool.items == [] and spool.dead == []
    assert writer.order == [done.contact_id, after.contact_id]
    await queue.close()


async def test_an_invalid_record_is_set_aside_and_does_not_block_the_rest(caplog):
    bad, good = finished(1, volunteer="anna"), finished(2)
    writer = FakeWriter(refuse=frozenset({bad.contact_id}))
    spool = MemoryRecordSpool()
    queue = RecordQueue(writer, spool, **FAST)
    queue.start()
    with caplog.at_level(logging.ERROR, logger="storage.record_queue"):
        queue.submit(bad, "116111", "nl")
        queue.submit(good, "116111", "nl")
        await until(lambda: queue.written == 1 and queue.set_aside == 1)
    assert writer.order == [good.contact_id]
    assert spool.items == [] and spool.dead == [record_to_json(record_of(bad, "116111", "nl"))]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "set aside" in logged
    assert "utrecht" not in logged and "anna" not in logged  # no contents in the log
    await queue.close()


async def test_a_record_the_database_refuses_is_set_aside():
    class RefusingWriter(FakeWriter):
        def write(self, record):
            raise RecordError(f"contact {record.id} refused by the database")

    spool = MemoryRecordSpool()
    queue = RecordQueue(RefusingWriter(), spool, **FAST)
    queue.start()
    queue.submit(finished(), "116111", "nl")
    await until(lambda: queue.set_aside == 1)
    assert len(spool.dead) == 1 and spool.items == [] and queue.pending == 0
    await queue.close()


async def test_garbage_in_the_spool_is_set_aside():
    spool = MemoryRecordSpool()
    await spool.push(["not json", '{"id": "x"}'])
    writer = FakeWriter()
    queue = RecordQueue(writer, spool, **FAST)
    queue.start()
    queue.submit(finished(), "116111", "nl")
    await until(lambda: queue.written == 1)
    assert spool.dead == ["not json", '{"id": "x"}'] and queue.set_aside == 2
    await queue.close()


async def test_records_left_by_a_previous_process_go_first():
    spool = DurableSpool()
    old = [finished(i) for i in range(3)]
    await spool.push([record_to_json(record_of(d, "116111", "nl")) for d in old])
    writer = FakeWriter()
    queue = RecordQueue(writer, spool, **FAST)
    new = finished(9)
    queue.submit(new, "116111", "nl")  # before start: the old ones are still older
    queue.start()
    await until(lambda: queue.written == 4)
    assert writer.order == [d.contact_id for d in old] + [new.contact_id]
    await queue.close()


async def test_the_backlog_is_written_once_what_earlier_processes_spooled_is_in_sql():
    spool = DurableSpool()
    old = [finished(i) for i in range(3)]
    await spool.push([record_to_json(record_of(d, "116111", "nl")) for d in old])
    writer = FakeWriter()
    writer.down = True
    queue = RecordQueue(writer, spool, **FAST)
    queue.start()
    backlog = asyncio.create_task(queue.backlog_written())
    await until(lambda: len(writer.attempts) >= 3)
    assert not backlog.done()  # SQL is away: the earlier records are not there to be read yet
    queue.submit(finished(9), "116111", "nl")  # ours, behind them
    writer.down = False
    await asyncio.wait_for(backlog, 3)
    assert set(writer.order[:3]) == {d.contact_id for d in old}
    await queue.close()


async def test_the_backlog_counts_records_set_aside_and_is_done_at_once_when_empty():
    spool = DurableSpool()
    await spool.push(["not json", record_to_json(record_of(finished(1), "116111", "nl"))])
    queue = RecordQueue(FakeWriter(), spool, **FAST)
    queue.start()
    await asyncio.wait_for(queue.backlog_written(), 3)
    assert (queue.set_aside, queue.written) == (1, 1)
    await queue.close()
    empty = RecordQueue(FakeWriter(), DurableSpool(), **FAST)
    empty.start()
    await asyncio.wait_for(empty.backlog_written(), 3)
    await empty.close()


async def test_the_backlog_waits_while_the_spool_is_away():
    spool = DurableSpool()
    spool.down = True
    queue = RecordQueue(FakeWriter(), spool, **FAST)
    queue.start()
    backlog = asyncio.create_task(queue.backlog_written())
    await asyncio.sleep(0.1)
    assert not backlog.done()  # what earlier processes spooled is unknown
    spool.down = False
    await asyncio.wait_for(backlog, 3)
    await queue.close()


async def test_spool_down_keeps_records_in_memory_until_it_is_back():
    spool = DurableSpool()
    spool.down = True
    writer = FakeWriter()
    queue = RecordQueue(writer, spool, **FAST)
    queue.start()
    done = [finished(i) for i in range(4)]
    for d in done:
        queue.submit(d, "116111", "nl")
    await asyncio.sleep(0.1)
    assert queue.pending == 4 and writer.rows == {}
    spool.down = False
    await until(lambda: queue.written == 4)
    assert writer.order == [d.contact_id for d in done] and spool.items == []
    await queue.close()


async def test_close_with_the_spool_down_writes_the_buffer_straight_to_sql():
    spool = DurableSpool()
    spool.down = True
    writer = FakeWriter()
    queue = RecordQueue(writer, spool, **FAST)
    queue.start()
    done = [finished(i) for i in range(3)]
    for d in done:
        queue.submit(d, "116111", "nl")
    await asyncio.sleep(0.05)
    await queue.close()
    assert writer.order == [d.contact_id for d in done] and queue.written == 3


async def test_close_with_sql_down_leaves_records_spooled_for_the_next_queue():
    spool = DurableSpool()
    down = FakeWriter()
    down.down = True
    first = RecordQueue(down, spool, **FAST)
    first.start()
    done = [finished(i) for i in range(5)]
    for d in done:
        first.submit(d, "116111", "nl")
    await until(lambda: len(spool.items) == 5)
    started = time.monotonic()
    await first.close()
    assert time.monotonic() - started < 0.5  # an outage at close does not hold the shutdown
    assert first.written == 0 and len(spool.items) == 5

    up = FakeWriter()
    second = RecordQueue(up, spool, **FAST)
    second.start()
    await until(lambda: second.written == 5)
    assert up.order == [d.contact_id for d in done] and spool.items == []
    await second.close()


async def test_close_with_sql_down_and_no_durable_spool_logs_the_loss(caplog):
    writer = FakeWriter()
    writer.down = True
    queue = RecordQueue(writer, **FAST)
    queue.start()
    queue.submit(finished(), "116111", "nl")
    await until(lambda: len(writer.attempts) >= 1)
    with caplog.at_level(logging.ERROR, logger="storage.record_queue"):
        await queue.close()
    assert any("1 contact records" in r.getMessage() for r in caplog.records)


async def test_an_unexpected_error_keeps_the_record_and_retries(caplog):
    writer = FakeWriter()
    writer.crash_first = 2
    queue = RecordQueue(writer, **FAST)
    queue.start()
    done = finished()
    with caplog.at_level(logging.ERROR, logger="storage.record_queue"):
        queue.submit(done, "116111", "nl")
        await until(lambda: queue.written == 1)
    assert writer.order == [done.contact_id] and len(writer.attempts) == 3
    assert sum("unexpectedly" in r.getMessage() for r in caplog.records) == 2
    await queue.close()


async def test_close_is_bounded_when_sql_hangs():
    writer = FakeWriter()
    writer.gate = threading.Event()  # never opened during close
    spool = DurableSpool()
    queue = RecordQueue(writer, spool, **{**FAST, "close_timeout_s": 0.2})
    queue.start()
    queue.submit(finished(), "116111", "nl")
    await until(lambda: len(spool.items) == 1)
    started = time.monotonic()
    await queue.close()
    assert time.monotonic() - started < 0.6
    assert len(spool.items) == 1  # still spooled: the next process writes it
    writer.gate.set()


async def test_an_injected_executor_runs_the_writes():
    writer = FakeWriter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="injected") as pool:
        queue = RecordQueue(writer, executor=pool, **FAST)
        queue.start()
        queue.submit(finished(), "116111", "nl")
        await until(lambda: queue.written == 1)
        await queue.close()
        assert pool.submit(lambda: 1).result() == 1  # not shut down: the queue does not own it
    assert all(name.startswith("injected") for name in writer.threads)


async def test_submit_after_close_is_refused_loudly(caplog):
    writer = FakeWriter()
    queue = RecordQueue(writer, **FAST)
    queue.start()
    await queue.close()
    with caplog.at_level(logging.ERROR, logger="storage.record_queue"):
        queue.submit(finished(), "116111", "nl")
    assert any("after close" in r.getMessage() for r in caplog.records)
    assert queue.pending == 0


@pytest.mark.parametrize("closing_twice", [False, True])
async def test_close_flushes_what_was_submitted(closing_twice):
    writer = FakeWriter()
    queue = RecordQueue(writer, **FAST)
    queue.start()
    done = [finished(i) for i in range(20)]
    for d in done:
        queue.submit(d, "116111", "nl")
    await queue.close()
    if closing_twice:
        await queue.close()
    assert writer.order == [d.contact_id for d in done] and queue.pending == 0
