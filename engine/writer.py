"""The engine: one writer task for the ACD core and every contact session.

Every input goes through one ``asyncio.Queue``: ARI events (a ``Router`` turns them into
session and ACD events), HTTP requests, deadlines (``Tick``) and what effectors report
(``EffectOutcome``). One task takes them one at a time. Within a step, what a machine's
output causes (a session's ``ToAcd``, the ACD's commands for a session) goes into a FIFO
work list and is applied after the output that caused it, never recursively.

The only thing a step awaits is the write-ahead journal: each ACD event is appended before
any of its commands leaves the engine. If the journal fails, the engine stops
(``EngineStopped``); the in-memory core may be ahead of the journal, so a standby takes over
from what was written. Effects are handed to an ``Effector`` and never awaited here.

The engine is put together from parts, each a module using only those below it:
``engine.base`` (the state and the work list), ``engine.dispatch`` (where the machines'
outputs go), ``engine.journaling`` (the core's steps, journaled), ``engine.calls`` and
``engine.chats`` (the phone and chat sessions; how a chat differs is told there);
``engine.protocols`` holds the Protocols it is wired with. Here: the input queue, the one
writer's step, and the deadlines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import acd
from engine.base import SNAPSHOT_EVERY, SURGE_SKILL, AcdWork, SessionWork
from engine.calls import Calls
from engine.chats import Chats
from engine.errors import EngineStopped
from engine.inputs import AcdRequest, EffectOutcome, Request, Tick, settle
from engine.journaling import Journaling
from engine.protocols import ChatEffector, Effector, Journal, RecordSink, Router, Session
from session import events as se

# The Protocols live in ``engine.protocols``, the constants in ``engine.base``: still
# importable from here.
__all__ = [
    "SNAPSHOT_EVERY",
    "SURGE_SKILL",
    "ChatEffector",
    "Effector",
    "Engine",
    "Journal",
    "RecordSink",
    "Router",
    "Session",
]

log = logging.getLogger(__name__)


class Engine(Journaling, Calls, Chats):
    """Owns the ACD core and the sessions; the only code that changes either."""

    # ------------------------------------------------------------------ outside the writer

    def add_router(self, router: Router) -> None:
        for kind in router.input_types:
            self._routers[kind] = router

    def put(self, item: object) -> None:
        """Queue one input (from the event loop's thread; never blocks)."""
        self._queue.put_nowait(item)

    async def apply(self, event: acd.Event) -> None:
        """Apply one ACD event from outside (the API); raises ``acd.AcdError`` if refused."""
        self._check_running()
        request = AcdRequest(event)
        self._queue.put_nowait(request)
        await request.future

    async def call(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` inside one step of the writer and return its result."""
        self._check_running()
        request = Request(action)
        self._queue.put_nowait(request)
        return await request.future

    def _check_running(self) -> None:
        # Nothing drains the queue of a stopped engine: a request would wait for ever.
        if self.stopped is not None:
            raise EngineStopped(str(self.stopped))

    @property
    def backlog(self) -> int:
        """Inputs waiting for the writer."""
        return self._queue.qsize()

    async def run(self) -> None:
        """Drain the input queue until cancelled or until the journal fails."""
        try:
            while True:
                item = await self._queue.get()
                try:
                    await self._step(item)
                except EngineStopped:
                    raise
                except Exception:  # one bad input must not stop the line
                    log.exception("failed to process %s", type(item).__name__)
                    self._work.clear()
        except EngineStopped as exc:
            self.stopped = exc
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._fail_waiting_requests()

    # ------------------------------------------------------------------ inside a step

    def set_surge(self, on: bool) -> None:
        """Switch surge mode, inside a step (``call``); contacts already waiting keep theirs."""
        if on != self.surge:
            # Through the core, journaled like every input: a restart or a take-over keeps it.
            self.to_acd(acd.SurgeSwitched(on))
            log.warning("surge mode %s", "on" if on else "off")
            self._notify(self.surge_observers, on)

    def mark_reconciled(self) -> None:
        """Reconciliation is decided: once what it queued has been applied, deadlines run.

        Not before: an offer whose leg vanished while we were away must fail as a technical
        error first, not ring out as the volunteer's no-answer."""
        self._reconcile_pending = True

    def mark_unreconciled(self) -> None:
        self._reconcile_pending = False
        self.reconciled.clear()

    async def _step(self, item: object) -> None:
        self._now = self.clock()
        if isinstance(item, Tick):
            self._armed_at = None
            await self._fire_timers()
        elif isinstance(item, EffectOutcome):
            # A chat effect that failed is the hub's to report (the child reconnects).
            if item.kind != "done" and item.contact_id in self.sessions:
                self.to_session(item.contact_id, se.EffectFailed(item.command, item.kind))
        elif isinstance(item, AcdRequest):
            self._work.append(AcdWork(item.event, None, item))
        elif isinstance(item, Request):
            try:
                result = item.action()
            except Exception as exc:
                settle(item, exc=exc)
            else:
                settle(item, result=result)
        else:
            router = self._routers.get(type(item))
            if router is None:
                log.warning("no router for %s", type(item).__name__)
                return
            router.route(item)
        try:
            await self._drain()
            if self._reconcile_pending:
                self._reconcile_pending = False
                self.settle_coachings()  # what reconciliation queued has ended what it ended
                await self._drain()
                self.reconciled.set()
                await self._fire_timers()
                await self._drain()
        except EngineStopped:
            self._held.clear()  # the step is not journaled: none of it may reach Asterisk
            raise
        finally:
            self._hand_over_effects()
        self._arm_timer()

    async def _drain(self) -> None:
        work = self._work
        while work:
            item = work.popleft()
            if isinstance(item, SessionWork):
                session = self.sessions.get(item.contact_id)
                if session is not None:
                    self._session_commands(session, session.handle(item.event, self._now))
                elif (chat := self.chats.get(item.contact_id)) is not None:
                    self._chat_event(chat, item.event)
            else:
                await self._apply_acd(item)

    # ------------------------------------------------------------------ deadlines

    async def _fire_timers(self) -> None:
        now = self._now
        await self._fire_core_timers(now)
        if not self.reconciled.is_set():
            return
        for session in list(self.sessions.values()):
            due = session.next_deadline()
            if due is not None and due <= now:
                news = self._queue_news(session.contact_id)
                self._session_commands(session, session.handle_timer(now, news))
        for chat in list(self.chats.values()):
            due = chat.next_deadline()
            if due is not None and due <= now:
                news = self._queue_news(chat.contact_id)
                self._chat_commands(chat, chat.handle_timer(now, news))

    def next_deadline(self) -> float | None:
        deadlines = [self.acd.next_deadline()]
        deadlines += [s.next_deadline() for s in self.sessions.values()]
        deadlines += [s.next_deadline() for s in self.chats.values()]
        return min((d for d in deadlines if d is not None), default=None)

    def _arm_timer(self) -> None:
        if not self.reconciled.is_set():
            return
        deadline = self.next_deadline()
        if deadline == self._armed_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_at = deadline
        if deadline is None:
            return
        delay = max(0.0, deadline - self.clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self.put, Tick())

    def _fail_waiting_requests(self) -> None:
        reason = self.stopped or EngineStopped("the engine is not running")
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, (Request, AcdRequest)) and not item.future.done():
                item.future.set_exception(EngineStopped(str(reason)))
