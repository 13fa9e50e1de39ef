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
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import acd
from acd import commands as cmd
from acd.serde import event_to_dict
from engine.errors import EngineStopped
from engine.inputs import AcdRequest, EffectOutcome, Request, Tick
from ivr import flow
from ivr.announce import WaitEstimator
from session import commands as sc
from session import events as se
from session.machine import ContactSession, QueueNews

log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 200
"""Journal entries between snapshots: bounds replay time after a restart."""

_DIALLING = (sc.Originate, sc.Hangup)
"""Effects handed over first in a step (see ``Engine._hand_over_effects``)."""

_RACES = (acd.StaleOffer, acd.UnknownContact, acd.UnknownAgent)
"""Refusals of the core that are normal on a phone line (an event lost a race)."""


class Journal(Protocol):
    """The write-ahead journal (``storage.journal.LiveStateStore`` is one)."""

    @property
    def seq(self) -> int: ...

    @property
    def pending(self) -> int: ...

    async def append(self, event: dict[str, Any] | None, now: float) -> int: ...

    async def save_snapshot(self, snapshot: dict[str, Any], journal_len: int) -> None: ...


class Effector(Protocol):
    """Carries out session effects off the writer and reports each as an ``EffectOutcome``."""

    def submit(self, effect: sc.Effect) -> None: ...


class RecordSink(Protocol):
    """Takes finished contacts' anonymous records without blocking."""

    def submit(self, done: cmd.ContactFinished, line_id: str, language: str) -> None: ...


class Router(Protocol):
    """Turns a channel technology's events into engine calls, inside the writer's step."""

    input_types: tuple[type, ...]

    def route(self, item: object) -> None: ...


@dataclass(frozen=True, slots=True)
class _AcdWork:
    event: acd.Event
    origin: str | None
    """The contact whose session sent it (told if the core refuses it)."""
    request: AcdRequest | None


@dataclass(frozen=True, slots=True)
class _SessionWork:
    contact_id: str
    event: se.Event


class Engine:
    """Owns the ACD core and the sessions; the only code that changes either."""

    def __init__(
        self,
        core: acd.Acd,
        *,
        journal: Journal | None = None,
        effector: Effector | None = None,
        records: RecordSink | None = None,
        clock: Callable[[], float] = time.time,
        default_line_id: str = "",
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self.acd = core
        self.journal = journal
        self.effector = effector
        self.records = records
        self.clock = clock
        self.default_line_id = default_line_id
        self.snapshot_every = snapshot_every
        self.sessions: dict[str, ContactSession] = {}
        self.waits = WaitEstimator()
        self.acd_observers: list[Callable[[acd.Event | None, list[cmd.Command]], None]] = []
        """Called after each journaled step of the core with its input (None for deadlines)
        and its commands: the live state bus listens here. Must not block."""
        self.reconciled = asyncio.Event()
        """Set while the sessions agree with Asterisk; deadlines wait for it."""
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._routers: dict[type, Router] = {}
        self._work: collections.deque[_AcdWork | _SessionWork] = collections.deque()
        self._reconcile_pending = False
        self._held: list[sc.Effect] = []
        """Effects of the current step, handed over once its journal entries are written."""
        self._callers: dict[str, str] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._now = 0.0
        self.stopped: BaseException | None = None
        """Why the engine stopped, once it has."""

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

    def now(self) -> float:
        """The time of the input being processed."""
        return self._now

    def open_session(self, session: ContactSession, entered: flow.CallEntered) -> None:
        """A caller arrived: keep its session and start its IVR."""
        self.sessions[session.contact_id] = session
        self._callers[session.caller_channel] = session.contact_id
        self._session_commands(session, session.begin(entered, self._now))

    def adopt_session(self, session: ContactSession) -> None:
        """Reconciliation rebuilt a session from Asterisk's lists (nothing to play)."""
        self.sessions[session.contact_id] = session
        self._callers[session.caller_channel] = session.contact_id

    def contact_of_caller(self, channel_id: str) -> str | None:
        return self._callers.get(channel_id)

    def to_session(self, contact_id: str, event: se.Event) -> None:
        """Queue an event for a session (dropped if the session is gone: a late event)."""
        self._work.append(_SessionWork(contact_id, event))

    def to_acd(self, event: acd.Event, origin: str | None = None) -> None:
        """Queue an event for the core; ``origin``'s session hears if it is refused."""
        self._work.append(_AcdWork(event, origin, None))

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
            if item.kind != "done" and item.contact_id in self.sessions:
                self.to_session(item.contact_id, se.EffectFailed(item.command, item.kind))
        elif isinstance(item, AcdRequest):
            self._work.append(_AcdWork(item.event, None, item))
        elif isinstance(item, Request):
            try:
                result = item.action()
            except Exception as exc:
                _settle(item, exc=exc)
            else:
                _settle(item, result=result)
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
            if isinstance(item, _SessionWork):
                session = self.sessions.get(item.contact_id)
                if session is not None:
                    self._session_commands(session, session.handle(item.event, self._now))
            else:
                await self._apply_acd(item)

    async def _apply_acd(self, work: _AcdWork) -> None:
        now = self._now
        await self._fire_core_timers(now)
        try:
            commands = self.acd.handle(work.event, now)
        except acd.AcdError as exc:
            if work.request is not None:
                _settle(work.request, exc=exc)
            elif work.origin is not None and work.origin in self.sessions:
                self.to_session(work.origin, se.AcdRefused(work.event))
            elif isinstance(exc, _RACES):
                log.debug("stale %s: %s", type(work.event).__name__, exc)
            else:
                log.warning("core refused %s: %s", type(work.event).__name__, exc)
            return
        try:
            await self._journal(event_to_dict(work.event), now)
        except EngineStopped as exc:
            if work.request is not None:  # its caller must not wait forever
                _settle(work.request, exc=exc)
            raise
        if work.request is not None:
            _settle(work.request, result=None)
        self._observe(work.event, commands)
        self._acd_commands(commands)

    async def _journal(self, event: dict[str, Any] | None, now: float) -> None:
        if self.journal is None:
            return
        try:
            await self.journal.append(event, now)
            if self.journal.pending >= self.snapshot_every:
                await self.journal.save_snapshot(self.acd.snapshot(), self.journal.seq)
        except Exception as exc:
            raise EngineStopped(f"journal failed ({type(exc).__name__}); stopping") from exc

    # ------------------------------------------------------------------ machine outputs

    def _acd_commands(self, commands: list[cmd.Command]) -> None:
        for command in commands:
            if isinstance(command, cmd.OfferContact):
                if command.channel is not acd.Channel.PHONE:
                    log.info("no chat channel to deliver an offer to %s", command.agent_id)
                    continue
                token = self.acd.contact(command.contact_id).offer_token
                offer = se.AcdOffer(command.agent_id, token, command.ring_timeout_s)
                self._to_live_session(command.contact_id, offer)
            elif isinstance(command, cmd.WithdrawOffer):
                self._to_live_session(command.contact_id, se.AcdWithdraw(command.agent_id))
            elif isinstance(command, cmd.ConnectContact):
                self._to_live_session(command.contact_id, se.AcdConnect(command.agent_id))
            elif isinstance(command, cmd.OverflowContact):
                self._to_live_session(command.contact_id, se.AcdOverflow(command.reason))
            elif isinstance(command, cmd.ContactFinished):
                self._finished(command)
            elif isinstance(command, cmd.AgentStateChanged):
                log.info("volunteer %s is %s", command.agent_id, command.state.value)

    def _observe(self, event: acd.Event | None, commands: list[cmd.Command]) -> None:
        for observer in self.acd_observers:
            try:
                observer(event, commands)
            except Exception:  # an observer's bug must not stop the line
                log.exception("ACD observer failed")

    def _to_live_session(self, contact_id: str, event: se.Event) -> None:
        if contact_id in self.sessions:
            self.to_session(contact_id, event)
        else:
            log.warning("no session for contact %s (%s)", contact_id, type(event).__name__)

    def _finished(self, done: cmd.ContactFinished) -> None:
        if done.answered_at is not None:
            self.waits.record_answered(done.answered_at - done.arrived_at)
            self.waits.record_handled(
                done.ended_at - done.answered_at + self.acd.settings.wrap_up_s
            )
        if done.contact_id in self.sessions:
            self.to_session(done.contact_id, se.AcdFinished(done))
        elif self.records is not None:
            self.records.submit(done, self.default_line_id, done.language or "nl")

    def _session_commands(self, session: ContactSession, commands: list[sc.Command]) -> None:
        for command in commands:
            if isinstance(command, sc.ToAcd):
                self.to_acd(command.event, session.contact_id)
            elif isinstance(command, sc.WriteRecord):
                if self.records is not None:
                    self.records.submit(command.done, command.line_id, command.language)
            elif isinstance(command, sc.SessionClosed):
                self.sessions.pop(command.contact_id, None)
                self._callers.pop(session.caller_channel, None)
            elif self.effector is not None:
                self._held.append(command)

    def _hand_over_effects(self) -> None:
        held, self._held = self._held, []
        if self.effector is not None:
            # Dialling first (hang-ups of older legs keep their place before it): a
            # volunteer's phone starts ringing before the caller is answered and held. The
            # lanes are per leg and per contact, so every lane keeps its order.
            for effect in sorted(held, key=lambda e: not isinstance(e, _DIALLING)):
                self.effector.submit(effect)

    # ------------------------------------------------------------------ deadlines

    async def _fire_core_timers(self, now: float) -> None:
        if not self.reconciled.is_set():
            return  # deadlines wait until we know what Asterisk really has
        deadline = self.acd.next_deadline()
        if deadline is not None and deadline <= now:
            commands = self.acd.handle_timer(now)
            await self._journal(None, now)
            self._observe(None, commands)
            self._acd_commands(commands)

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

    def _queue_news(self, contact_id: str) -> QueueNews | None:
        if not self.acd.holds(contact_id):
            return None
        position = self.acd.queue_position(contact_id)
        if position < 1:
            return None
        serving = sum(1 for a in self.acd.agents() if a.state is not acd.AgentState.PAUSED)
        return QueueNews(position, self.waits.expected_wait_s(position, serving))

    def next_deadline(self) -> float | None:
        deadlines = [self.acd.next_deadline()]
        deadlines += [s.next_deadline() for s in self.sessions.values()]
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


def _settle(
    request: Request | AcdRequest, *, result: Any = None, exc: BaseException | None = None
) -> None:
    if request.future.done():
        return
    if exc is not None:
        request.future.set_exception(exc)
    else:
        request.future.set_result(result)
