"""The distributor's books: what it holds, what may be read of it, and how a state moves.

``AcdBase`` keeps one queue's live state: the logged-in volunteers, the contacts the ACD holds,
the indexes of free volunteers and of waiting contacts, the deadlines and the preferences
someone may still meet. Beside the state, the few steps every layer above uses: the clock that
never runs backwards, a volunteer's or a contact's state change through the tables of
``acd.states``, and a contact leaving the books with its record (``_finish``).

The distributor is this class and the layers built on it, each a module that uses only those
below it: ``acd.routing`` (the waiting line, the pool and the offers), ``acd.volunteers`` (a
volunteer's events and state), ``acd.contacts`` (a contact's events) and ``acd.core.Acd``
(the entry points and the snapshot). Kept apart so that each changes for one reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from acd import commands as cmd
from acd import events as ev
from acd.errors import InvalidEvent, StaleOffer, UnknownAgent, UnknownContact
from acd.index import agents_index, contacts_index
from acd.model import Agent, Contact, contact_requirements
from acd.relax import Prospects
from acd.settings import AcdSettings
from acd.states import (
    AGENT_TRANSITIONS,
    CONTACT_TRANSITIONS,
    TERMINAL_OUTCOMES,
    AgentState,
    AgentTrigger,
    ContactState,
    ContactTrigger,
    Outcome,
    next_agent_state,
    next_contact_state,
)
from acd.strategy import LongestIdle, RoutingStrategy
from acd.timers import Deadlines, TimerKind

Commands = list[cmd.Command]


class AcdBase:
    """One queue's state, its read-only views and the steps every layer of ``Acd`` shares."""

    def __init__(
        self, settings: AcdSettings | None = None, strategy: RoutingStrategy | None = None
    ):
        self.settings = settings or AcdSettings()
        self.strategy = strategy or LongestIdle()
        self._agents: dict[str, Agent] = {}
        self._contacts: dict[str, Contact] = {}
        self._free = agents_index()
        self._unindexed: set[str] = set()
        """Free volunteers not yet put in ``_free``: one offered at once never needs to be."""
        self._waiting = contacts_index()
        self._waiting_per_channel = {channel: 0 for channel in ev.Channel}
        self._deadlines = Deadlines(
            {
                TimerKind.RELAX: self._relax_is_current,
                TimerKind.RING: self._ring_is_current,
                TimerKind.WRAP_UP: self._wrap_up_is_current,
                TimerKind.MAX_WAIT: self._max_wait_is_current,
            }
        )
        self._prospects = Prospects()
        self._dirty_agents: set[str] = set()
        self._dirty_contacts: set[str] = set()
        self._seq = 0
        self._now = float("-inf")
        self._surge = False
        self._coaching: set[str] = set()
        """Supervisors coaching a call (``CoachingStarted``), logged in or not: a login
        takes it from here into ``Agent.coaching``."""

    # Read-only views for the adapter, wallboard and IVR.

    @property
    def surge(self) -> bool:
        """Whether surge mode is on (``SurgeSwitched``)."""
        return self._surge

    @property
    def coaching(self) -> frozenset[str]:
        """Supervisors coaching a call now (``CoachingStarted``), logged in or not."""
        return frozenset(self._coaching)

    def agent(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def contact(self, contact_id: str) -> Contact:
        try:
            return self._contacts[contact_id]
        except KeyError:
            raise UnknownContact(contact_id) from None

    def holds(self, contact_id: str) -> bool:
        """Whether the contact is still the ACD's (waiting, ringing or connected)."""
        return contact_id in self._contacts

    def agents(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def contacts(self) -> Iterator[Contact]:
        return iter(self._contacts.values())

    def waiting_count(self, channel: ev.Channel | None = None) -> int:
        if channel is None:
            return sum(self._waiting_per_channel.values())
        return self._waiting_per_channel[channel]

    def free_for(self, channel: ev.Channel, skills: frozenset[str], language: str | None) -> bool:
        """Whether a free volunteer could be offered such a contact now (with its language, or
        without it, as a preference may be dropped at once): then it would not wait, however
        long the queue. Changes nothing."""
        return any(
            self._free.best(contact_requirements(channel, skills, lang)) is not None
            for lang in {language, None}
        )

    def queue_position(self, contact_id: str) -> int:
        """1-based place among waiting contacts of the same channel (0 if not waiting)."""
        contact = self.contact(contact_id)
        if contact.state is not ContactState.QUEUED:
            return 0
        key = contact.queue_key
        return 1 + sum(
            1
            for other in self._contacts.values()
            if other.state is ContactState.QUEUED
            and other.channel is contact.channel
            and other.queue_key < key
        )

    # ------------------------------------------------------------------ shared steps

    def _clock(self, now: float) -> float:
        if type(now) is float and now >= self._now:  # the usual case: a float, moving on
            return now
        if not isinstance(now, (int, float)) or now != now:  # rejects NaN too
            raise InvalidEvent(f"now must be a number, got {now!r}")
        # A wall clock may step back a little; the core never lets time run backwards.
        return max(self._now, float(now))

    def _transition(
        self, agent: Agent, trigger: AgentTrigger, reason: str, now: float, out: Commands
    ) -> None:
        new = AGENT_TRANSITIONS[agent.state].get(trigger)
        if new is None:
            new = next_agent_state(agent.agent_id, agent.state, trigger)  # raises
        if new is agent.state and reason == agent.reason:
            return
        agent.state = new
        agent.reason = reason
        out.append(cmd.AgentStateChanged(agent.agent_id, new, reason, now))

    def _contact_to(self, contact: Contact, trigger: ContactTrigger) -> None:
        new = CONTACT_TRANSITIONS[contact.state].get(trigger)
        if new is None:
            new = next_contact_state(contact.contact_id, contact.state, trigger)  # raises
        contact.state = new

    def _current_offer(self, contact_id: str, agent_id: str) -> tuple[Contact, Agent]:
        contact = self.contact(contact_id)
        agent = self.agent(agent_id)
        if contact.state is not ContactState.OFFERED or contact.agent_id != agent_id:
            raise StaleOffer(contact_id, agent_id)
        return contact, agent

    def _finish(
        self, contact: Contact, now: float, out: Commands, reason: str | None = None
    ) -> None:
        answered = contact.answered_at is not None
        # answered_by is unset only in a snapshot from before it existed: then agent_id.
        agent_id = (contact.answered_by or contact.agent_id) if answered else None
        agent = self._agents.get(agent_id or "")
        out.append(
            cmd.ContactFinished(
                contact_id=contact.contact_id,
                channel=contact.channel,
                # Answered once is answered, however it ended after a return (see Outcome).
                outcome=Outcome.ANSWERED if answered else TERMINAL_OUTCOMES[contact.state],
                priority=contact.priority,
                language=contact.language,
                arrived_at=contact.arrived_at,
                answered_at=contact.answered_at,
                ended_at=now,
                agent_id=agent_id,
                location_id=agent.location_id if agent is not None else None,
                # The record's reason is an overflowed contact's: storage refuses one on an
                # answered record (the IVR still had OverflowContact with it).
                reason=None if answered else reason,
                last_failure=contact.last_failure,
            )
        )
        if contact.relax_early:
            self._prospects.release(contact.contact_id, contact.requires)
        del self._contacts[contact.contact_id]
        self._dirty_contacts.discard(contact.contact_id)

    # Whether a deadline still stands, one check per kind (``Deadlines`` calls them often).

    def _ring_is_current(self, contact_id: str, token: int) -> bool:
        contact = self._contacts.get(contact_id)
        return (
            contact is not None
            and contact.offer_token == token
            and contact.state is ContactState.OFFERED
        )

    def _wrap_up_is_current(self, agent_id: str, token: int) -> bool:
        agent = self._agents.get(agent_id)
        return agent is not None and agent.wrap_token == token and agent.state is AgentState.WRAP_UP

    def _max_wait_is_current(self, contact_id: str, token: int) -> bool:
        contact = self._contacts.get(contact_id)
        return (
            contact is not None
            and contact.returns == token  # a return restarts the wait
            and contact.state is not ContactState.CONNECTED
        )

    def _relax_is_current(self, contact_id: str, token: int) -> bool:
        contact = self._contacts.get(contact_id)
        return (
            contact is not None
            and contact.relax_token == token
            and contact.state is not ContactState.CONNECTED
        )
