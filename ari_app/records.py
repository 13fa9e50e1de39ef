"""Anonymous contact records, written off the writer task.

A finished contact becomes one row (``helpline.records``). Writing is blocking SQL, so it runs
in a worker thread fed by a queue; the call path never waits for the database.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from acd.commands import ContactFinished
from helpline.records import ContactRecordData, DuplicateRecord, RecordError, RecordWriter

log = logging.getLogger(__name__)


def record_of(done: ContactFinished, line_id: str, language: str) -> ContactRecordData:
    """The row for a finished contact: times, outcome, who answered; nothing about the child."""

    def at(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    waited_until = done.answered_at if done.answered_at is not None else done.ended_at
    return ContactRecordData(
        id=done.contact_id,
        channel=done.channel.value,
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
    )


class RecordQueue:
    """Accepts finished contacts and writes them in order, one at a time, in a thread."""

    def __init__(self, writer: RecordWriter) -> None:
        self._writer = writer
        self._queue: asyncio.Queue[ContactRecordData | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.written = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="records")

    def submit(self, done: ContactFinished, line_id: str, language: str) -> None:
        self._queue.put_nowait(record_of(done, line_id, language))

    async def close(self) -> None:
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                if record is None:
                    return
                await asyncio.to_thread(self._writer.write, record)
                self.written += 1
            except DuplicateRecord:
                pass  # replayed after a restart: already stored
            except RecordError as exc:
                log.error("contact record refused: %s", exc)
            except Exception:
                log.exception("contact record could not be written")
            finally:
                self._queue.task_done()
