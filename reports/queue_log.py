"""The engine's steps as Asterisk ``queue_log`` lines, and volunteer time per state and hour.

``QueueLogTranslator.observe`` runs inside the engine's writer (an ``Engine.acd_observers``
entry, through ``reports.event_log``): it only reads the step it is given and its own small
maps, and does no I/O. A line is ``time|callid|queuename|agent|event|data1|data2|...`` as
Asterisk writes it, so QueueMetrics-style tools read it unchanged:

==================  =================================================================
ENTERQUEUE          a contact arrived; ``data1`` (url) and ``data2`` (caller id) are always
                    empty: there is no caller number, ``data3`` is the position (1)
CONNECT             answered: holdtime s, the contact id (bridged channel), ringtime s
COMPLETECALLER      an answered contact ended: holdtime s, talk time s, position
ABANDON             the child left before an answer: position, position, wait s
EXITWITHTIMEOUT     overflowed after ``max_wait``: position, position, wait s
FULL                overflowed because the queue was full
EXITEMPTY           overflowed for another reason (e.g. closed): position, position, wait s
RINGNOANSWER        an offer rang out or was refused: ring time in milliseconds
AGENTLOGIN          a volunteer logged in (``data1``: the agent's channel name)
AGENTLOGOFF         a volunteer left: channel, seconds logged in
PAUSE / UNPAUSE     a volunteer paused (``data1``: the reason code) / became ready again
==================  =================================================================

The ACD does not know who hung up first, so every answered contact ends in COMPLETECALLER
(Asterisk's own split between COMPLETECALLER and COMPLETEAGENT cannot be made from its events).
The queue name is the line id for a phone contact and the channel for a chat. The position is
written as 1: the ACD orders by priority and waiting time, not by a fixed position.

The translator also keeps a ``PresenceLedger``: each volunteer's seconds per ACD state, split
at UTC hour boundaries, for occupancy and "logged in" beside the staffing advice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import acd
from acd import commands as cmd
from acd.states import AgentState, Outcome

NONE = "NONE"
"""Asterisk's filler for a field that does not apply (no call, no queue, no agent)."""

_CODE = re.compile(r"[^a-z0-9_.-]+")
HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class QueueLogEntry:
    """One ``queue_log`` line."""

    time: float
    """Epoch seconds (UTC); written as a whole number, as Asterisk does."""
    callid: str
    """The random contact id, or ``NONE``."""
    queuename: str
    """The line id, the chat channel, or ``NONE``."""
    agent: str
    """The volunteer's login id, or ``NONE``."""
    event: str
    """ENTERQUEUE, CONNECT, ... (see the module's table)."""
    data: tuple[str, ...] = ()
    """``data1``, ``data2``, ... in order."""

    def line(self) -> str:
        """The line as Asterisk writes it, without the newline."""
        fields = (str(int(self.time)), self.callid, self.queuename, self.agent, self.event)
        return "|".join(fields + self.data)


@dataclass(frozen=True, slots=True)
class PresenceSeconds:
    """Volunteer-seconds in one state at one location within one UTC hour."""

    hour_start: float
    """Epoch seconds of the UTC hour's start."""
    location_id: str
    """Where the volunteers worked from."""
    state: str
    """An ``AgentState`` value other than ``logged_out``."""
    seconds: float
    """How long, summed over the volunteers."""


@dataclass(slots=True)
class _Agent:
    state: AgentState
    location_id: str
    since: float
    logged_in_at: float


@dataclass(slots=True)
class PresenceLedger:
    """Volunteer-seconds per (hour, location, state), accrued as states change."""

    _agents: dict[str, _Agent] = field(default_factory=dict)
    _seconds: defaultdict[tuple[float, str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )

    def load(self, agents: Iterable[tuple[str, AgentState, str]], now: float) -> None:
        """Start from the volunteers logged in now (after a restart or a takeover)."""
        self._agents = {
            agent_id: _Agent(state, location, now, now)
            for agent_id, state, location in agents
            if state is not AgentState.LOGGED_OUT
        }

    def login_time(self, agent_id: str, now: float) -> float:
        """Seconds since ``agent_id`` logged in (0 if unknown)."""
        agent = self._agents.get(agent_id)
        return max(0.0, now - agent.logged_in_at) if agent is not None else 0.0

    def state_of(self, agent_id: str) -> AgentState:
        """The volunteer's last known state (logged out if unknown)."""
        agent = self._agents.get(agent_id)
        return agent.state if agent is not None else AgentState.LOGGED_OUT

    def change(self, agent_id: str, state: AgentState, location_id: str | None, at: float) -> None:
        """The volunteer entered ``state`` at ``at``; the time in the old state is accrued."""
        agent = self._agents.get(agent_id)
        if agent is not None:
            self._accrue(agent, at)
            if state is AgentState.LOGGED_OUT:
                del self._agents[agent_id]
            else:
                agent.state = state
            return
        if state is not AgentState.LOGGED_OUT:
            self._agents[agent_id] = _Agent(state, location_id or NONE, at, at)

    def flush(self, now: float) -> list[PresenceSeconds]:
        """Everything accrued up to ``now``, taken out of the ledger (rows sum up in SQL)."""
        for agent in self._agents.values():
            self._accrue(agent, now)
        rows = [
            PresenceSeconds(hour, location, state, seconds)
            for (hour, location, state), seconds in sorted(self._seconds.items())
            if seconds > 0
        ]
        self._seconds.clear()
        return rows

    def _accrue(self, agent: _Agent, until: float) -> None:
        start = agent.since
        while start < until:
            hour = start - start % HOUR_S
            end = min(until, hour + HOUR_S)
            self._seconds[(hour, agent.location_id, agent.state.value)] += end - start
            start = end
        agent.since = max(agent.since, until)


class QueueLogTranslator:
    """Turns each engine step (input event, commands, now) into ``queue_log`` entries."""

    def __init__(self, line_of: Callable[[str], str | None]) -> None:
        self._line_of = line_of
        self.presence = PresenceLedger()
        """Volunteer-seconds per state and hour, for ``agent_presence``."""
        self._queue: dict[str, str] = {}
        self._arrived: dict[str, float] = {}
        self._offered: dict[str, tuple[str, float]] = {}
        self._location: dict[str, str] = {}

    def load(self, core: acd.Acd, now: float) -> None:
        """Start from the core as it is (contacts waiting, volunteers logged in)."""
        for contact in core.contacts():
            self._queue[contact.contact_id] = self._queue_name(
                contact.contact_id, contact.channel.value
            )
            self._arrived[contact.contact_id] = contact.arrived_at
        agents = [(a.agent_id, a.state, a.location_id) for a in core.agents()]
        self._location = {agent_id: location for agent_id, _, location in agents}
        self.presence.load(agents, now)

    def observe(
        self, event: acd.Event | None, commands: list[cmd.Command], now: float
    ) -> list[QueueLogEntry]:
        """The entries of one step, in the order things happened."""
        out: list[QueueLogEntry] = []
        if isinstance(event, acd.ContactArrived):
            queue = self._queue_name(event.contact_id, event.channel.value)
            self._queue[event.contact_id] = queue
            self._arrived[event.contact_id] = now
            out.append(
                QueueLogEntry(now, event.contact_id, queue, NONE, "ENTERQUEUE", ("", "", "1"))
            )
        elif isinstance(event, acd.AgentLoggedIn):
            self._location[event.agent_id] = event.location_id
        elif isinstance(event, acd.OfferFailed):
            self._ring_no_answer(event.contact_id, event.agent_id, now, out)
        for command in commands:
            self._command(command, now, out)
        return out

    def _command(self, command: cmd.Command, now: float, out: list[QueueLogEntry]) -> None:
        if isinstance(command, cmd.OfferContact):
            self._offered[command.contact_id] = (command.agent_id, now)
        elif isinstance(command, cmd.WithdrawOffer):
            if command.reason == "timeout":
                self._ring_no_answer(command.contact_id, command.agent_id, now, out)
            else:
                self._offered.pop(command.contact_id, None)
        elif isinstance(command, cmd.ConnectContact):
            cid = command.contact_id
            _, offered_at = self._offered.pop(cid, (command.agent_id, now))
            hold = now - self._arrived.get(cid, now)
            data = (_s(hold), cid, _s(now - offered_at))
            out.append(
                QueueLogEntry(now, cid, self._queue_of(cid), command.agent_id, "CONNECT", data)
            )
        elif isinstance(command, cmd.ContactFinished):
            out.append(self._finished(command))
        elif isinstance(command, cmd.AgentStateChanged):
            self._agent_state(command, out)

    def _finished(self, done: cmd.ContactFinished) -> QueueLogEntry:
        cid = done.contact_id
        queue = self._queue.pop(cid, None) or self._queue_name(cid, done.channel.value)
        self._arrived.pop(cid, None)
        self._offered.pop(cid, None)
        wait = (done.answered_at or done.ended_at) - done.arrived_at
        if done.outcome is Outcome.ANSWERED:
            assert done.answered_at is not None
            data = (_s(wait), _s(done.ended_at - done.answered_at), "1")
            agent = done.agent_id or NONE
            return QueueLogEntry(done.ended_at, cid, queue, agent, "COMPLETECALLER", data)
        if done.outcome is Outcome.ABANDONED:
            return QueueLogEntry(done.ended_at, cid, queue, NONE, "ABANDON", ("1", "1", _s(wait)))
        if done.reason == "queue_full":
            return QueueLogEntry(done.ended_at, cid, queue, NONE, "FULL", ())
        kind = "EXITWITHTIMEOUT" if done.reason == "max_wait" else "EXITEMPTY"
        return QueueLogEntry(done.ended_at, cid, queue, NONE, kind, ("1", "1", _s(wait)))

    def _agent_state(self, change: cmd.AgentStateChanged, out: list[QueueLogEntry]) -> None:
        agent, new, at = change.agent_id, change.state, change.at
        old = self.presence.state_of(agent)
        login_s = self.presence.login_time(agent, at)
        self.presence.change(agent, new, self._location.get(agent), at)
        if old is AgentState.LOGGED_OUT and new is not AgentState.LOGGED_OUT:
            out.append(QueueLogEntry(at, NONE, NONE, agent, "AGENTLOGIN", (f"Agent/{agent}",)))
        elif new is AgentState.LOGGED_OUT and old is not AgentState.LOGGED_OUT:
            data = (f"Agent/{agent}", _s(login_s))
            out.append(QueueLogEntry(at, NONE, NONE, agent, "AGENTLOGOFF", data))
            self._location.pop(agent, None)
        if new is AgentState.PAUSED and old is not AgentState.PAUSED:
            out.append(QueueLogEntry(at, NONE, NONE, agent, "PAUSE", (_code(change.reason),)))
        elif old is AgentState.PAUSED and new is AgentState.AVAILABLE:
            out.append(QueueLogEntry(at, NONE, NONE, agent, "UNPAUSE", ("",)))

    def _ring_no_answer(
        self, contact_id: str, agent_id: str, now: float, out: list[QueueLogEntry]
    ) -> None:
        # The core's timer and the adapter may both report one offer's end: log it once.
        offered = self._offered.get(contact_id)
        if offered is None or offered[0] != agent_id:
            return
        del self._offered[contact_id]
        ring_ms = str(round((now - offered[1]) * 1000))
        queue = self._queue_of(contact_id)
        out.append(QueueLogEntry(now, contact_id, queue, agent_id, "RINGNOANSWER", (ring_ms,)))

    def _queue_of(self, contact_id: str) -> str:
        return self._queue.get(contact_id) or self._line_of(contact_id) or NONE

    def _queue_name(self, contact_id: str, channel: str) -> str:
        # A phone contact's session knows the line dialled; a chat has no line.
        return self._line_of(contact_id) or channel


def _s(seconds: float) -> str:
    """Whole seconds, as Asterisk writes hold and talk times."""
    return str(max(0, round(seconds)))


def _code(reason: str) -> str:
    # A pause reason comes from a volunteer's request: keep it a code word, never free text
    # (and never a "|" that would split the line).
    return _CODE.sub("_", reason.lower())[:32] or "pause"
