"""What the engine holds, and how work is queued inside a step.

``EngineBase`` keeps the ACD core, the phone and chat sessions, the observers, the input
queue and the step's work list: what a machine's output causes (``AcdWork``, ``SessionWork``)
is applied after the output that caused it, in order, never recursively. Beside the state,
the few things every part uses: the step's time, a contact's session, queueing work for a
session or the core (where surge mode adds its skill), and what a waiting child may be told.

The engine is this class and the parts built on it: ``engine.dispatch`` (where the machines'
outputs go), ``engine.journaling`` (the core's steps, journaled before any command leaves),
``engine.calls`` and ``engine.chats`` (the phone and chat sessions' requests) and
``engine.writer.Engine`` (the one writer's loop and the deadlines).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import acd
from acd import commands as cmd
from engine.inputs import AcdRequest
from engine.protocols import Effector, Journal, RecordSink, Router, Session
from ivr.announce import WaitEstimator
from session import commands as sc
from session import events as se
from session.chat import ChatSession, ChatTiming
from session.coaching_states import CoachingView
from session.machine import ContactSession, QueueNews
from session.referral import Referral
from session.transfer import TransferView

SNAPSHOT_EVERY = 200
"""Journal entries between snapshots: bounds replay time after a restart."""

SURGE_SKILL = acd.SURGE_SKILL
"""Required of every new contact while surge mode is on (the core applies it: see
``acd.SurgeSwitched``)."""


@dataclass(frozen=True, slots=True)
class AcdWork:
    """An ACD event a step has still to apply."""

    event: acd.Event
    origin: str | None
    """The contact whose session sent it (told if the core refuses it)."""
    request: AcdRequest | None


@dataclass(frozen=True, slots=True)
class SessionWork:
    """A session event a step has still to apply."""

    contact_id: str
    event: se.Event


class EngineBase:
    """The engine's state and the primitives every part of ``Engine`` uses."""

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
        chat_timing: ChatTiming | None = None,
    ) -> None:
        self.acd = core
        self.journal = journal
        self.effector = effector
        self.records = records
        self.clock = clock
        self.default_line_id = default_line_id
        self.snapshot_every = snapshot_every
        self.sessions: dict[str, ContactSession] = {}
        """Phone contacts' sessions (reconciliation with Asterisk reads only these)."""
        self.chats: dict[str, ChatSession] = {}
        """Chats' sessions; ``session_of`` finds a session of either kind."""
        self.chat_timing = chat_timing or ChatTiming()
        self._effectors: list[tuple[tuple[type, ...], Callable[[Any], None]]] = []
        self.waits = WaitEstimator()
        self.acd_observers: list[Callable[[acd.Event | None, list[cmd.Command]], None]] = []
        """Called after each journaled step of the core with its input (None for deadlines)
        and its commands: the live state bus listens here. Must not block."""
        self.transfer_observers: list[Callable[[TransferView], None]] = []
        """Called, inside the writer, whenever a warm transfer moves on. Must not block."""
        self.coaching_observers: list[Callable[[CoachingView], None]] = []
        """Called, inside the writer, whenever a coaching moves on. Must not block."""
        self.surge_observers: list[Callable[[bool], None]] = []
        """Called, inside the writer, when surge mode is switched. Must not block."""
        self.record_observers: list[
            Callable[[cmd.ContactFinished, str, str, Referral | None, str | None], None]
        ] = []
        """Called, inside the writer, with each finished contact's record as it is handed to
        ``records`` (done, line id, language, referral, the record's channel when it is not
        the core's: ``peer_chat``). Must not block."""
        self.reconciled = asyncio.Event()
        """Set while the sessions agree with Asterisk; deadlines wait for it."""
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._routers: dict[type, Router] = {}
        self._work: collections.deque[AcdWork | SessionWork] = collections.deque()
        self._reconcile_pending = False
        self._held: list[sc.Effect] = []
        """Effects of the current step, handed over once its journal entries are written."""
        self._callers: dict[str, str] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._now = 0.0
        self.stopped: BaseException | None = None
        """Why the engine stopped, once it has."""

    def now(self) -> float:
        """The time of the input being processed."""
        return self._now

    @property
    def surge(self) -> bool:
        """Surge mode: new contacts require ``SURGE_SKILL`` (``set_surge``; kept by the core)."""
        return self.acd.surge

    def session_of(self, contact_id: str) -> Session | None:
        """The contact's session, phone or chat, if it has one."""
        return self.sessions.get(contact_id) or self.chats.get(contact_id)

    def to_session(self, contact_id: str, event: se.Event) -> None:
        """Queue an event for a session (dropped if the session is gone: a late event)."""
        self._work.append(SessionWork(contact_id, event))

    def to_acd(self, event: acd.Event, origin: str | None = None) -> None:
        """Queue an event for the core; ``origin``'s session hears if it is refused."""
        self._work.append(AcdWork(event, origin, None))

    def _queue_news(self, contact_id: str) -> QueueNews | None:
        if not self.acd.holds(contact_id):
            return None
        position = self.acd.queue_position(contact_id)
        if position < 1:
            return None
        return QueueNews(position, self.waits.expected_wait_s(position, self._serving()))

    def _serving(self) -> int:
        return sum(1 for a in self.acd.agents() if a.state is not acd.AgentState.PAUSED)
