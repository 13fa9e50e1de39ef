"""The event log, written off the engine's writer: a file in Asterisk's ``queue_log`` format
under ``log_dir`` and the same lines in SQL (``queue_log``), plus volunteer presence per hour.

``EventLog.on_step`` is an ``Engine.acd_observers`` entry: inside the writer it only translates
the step (``reports.queue_log``) and puts the result on a ``queue.SimpleQueue``, which never
blocks. A thread of its own takes batches from the queue, appends them to the file and inserts
them in one transaction. When SQL is away the rows of that batch are dropped with a warning:
the file still has every line, and the contact records (which the reports count) have their
own spool. Presence seconds are handed over whenever a UTC hour has passed, and at ``close``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

import acd
from acd import commands as cmd
from engine import Engine as Writer
from reports.queue_log import HOUR_S, PresenceSeconds, QueueLogEntry, QueueLogTranslator
from storage.errors import EventLogUnavailable
from storage.event_log_store import insert_event_log, presence_values, queue_log_values

log = logging.getLogger(__name__)

FILE_NAME = "queue_log"
"""The file's name under ``log_dir``, as Asterisk names its own."""

BATCH = 500
"""Most lines written in one transaction."""

_Item = tuple[list[QueueLogEntry], list[PresenceSeconds]]
Observer = Callable[[acd.Event | None, list[cmd.Command]], None]


class EventLog:
    """Translates engine steps on the writer; writes them on its own thread."""

    def __init__(
        self,
        line_of: Callable[[str], str | None],
        *,
        path: Path | None,
        engine: Engine | None,
        clock: Callable[[], float],
        step_time: Callable[[], float] | None = None,
    ) -> None:
        self.translator = QueueLogTranslator(line_of)
        self.path = path
        """The file the lines are appended to, or None for SQL only."""
        self._engine = engine
        self._clock = clock
        # The time of the step being observed (``Engine.now``), so the lines carry the very
        # instants the core used; the wall clock for loading and closing.
        self._step_time = step_time or clock
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._file: TextIO | None = None
        self._hour = 0.0
        self._sql_failing = False
        self.written = 0
        """Lines the thread has handled so far (written, or dropped by a failing SQL)."""

    def attach(self, core: acd.Acd, observers: list[Observer]) -> None:
        """Start from ``core`` as it is, listen to the engine's steps and start the thread."""
        now = self._clock()
        self.translator.load(core, now)
        self._hour = now - now % HOUR_S
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="ascii", errors="replace")
        self._thread = threading.Thread(target=self._run, name="helpline-event-log", daemon=True)
        self._thread.start()
        observers.append(self.on_step)

    def on_step(self, event: acd.Event | None, commands: list[cmd.Command]) -> None:
        """Inside the writer: translate and enqueue; never blocks."""
        now = self._step_time()
        entries = self.translator.observe(event, commands, now)
        presence: list[PresenceSeconds] = []
        if now - self._hour >= HOUR_S:
            self._hour = now - now % HOUR_S
            presence = self.translator.presence.flush(now)
        if entries or presence:
            self._queue.put((entries, presence))

    def close(self) -> None:
        """Hand over the presence so far, write what is queued and stop the thread."""
        self._queue.put(([], self.translator.presence.flush(self._clock())))
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def _reopen_if_rotated(self) -> None:
        # logrotate may move the file away (as WatchedFileHandler allows for the other logs):
        # write on in a new file at the configured path, not in the moved one.
        assert self._file is not None and self.path is not None
        try:
            same = os.stat(self.path).st_ino == os.fstat(self._file.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self._file.close()
            self._file = self.path.open("a", encoding="ascii", errors="replace")

    def _run(self) -> None:
        done = False
        while not done:
            item = self._queue.get()
            batch: list[_Item] = []
            while item is not None:
                batch.append(item)
                if sum(len(e) for e, _ in batch) >= BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        entries = [e for es, _ in batch for e in es]
        presence = [p for _, ps in batch for p in ps]
        if self._file is not None and entries:
            try:
                self._reopen_if_rotated()
                self._file.write("".join(e.line() + "\n" for e in entries))
                self._file.flush()
            except OSError as exc:
                log.warning("event log file not written (%s)", exc)
        if self._engine is None:
            self.written += len(entries)
            return
        log_rows = [
            queue_log_values(e.time, e.callid, e.queuename, e.agent, e.event, e.data)
            for e in entries
        ]
        presence_rows = [
            presence_values(p.hour_start, p.location_id, p.state, p.seconds) for p in presence
        ]
        try:
            insert_event_log(self._engine, log_rows, presence_rows)
        except EventLogUnavailable as exc:
            if not self._sql_failing:  # once per outage, not once per batch
                log.warning("%s; %d lines kept in the file only", exc, len(entries))
            self._sql_failing = True
        else:
            self._sql_failing = False
        self.written += len(entries)


def start_event_log(writer: Writer, log_dir: Path | None, sql: Engine | None) -> EventLog:
    """An event log over the engine ``writer``: ``<log_dir>/queue_log`` and/or SQL, attached."""

    def line_of(contact_id: str) -> str | None:
        # The contact's session knows the line dialled (read inside the writer's step).
        session = writer.sessions.get(contact_id)
        return session.line_id if session is not None else None

    path = log_dir / FILE_NAME if log_dir is not None else None
    event_log = EventLog(line_of, path=path, engine=sql, clock=writer.clock, step_time=writer.now)
    event_log.attach(writer.acd, writer.acd_observers)
    return event_log
