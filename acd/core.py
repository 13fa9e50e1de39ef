"""The automatic call distributor: events in, commands out, time passed in.

``Acd.handle(event, now)`` validates the event against the current state, applies it through
the transition tables, routes whatever can be routed and returns the commands. Deadlines
(ring timeouts, wrap-up, maximum wait) fire only in ``handle_timer(now)``; the adapter calls
it whenever ``now >= next_deadline()``. A raised ``AcdError`` leaves the state untouched.

Routing rule: the best waiting contact (priority, then longest waiting) that some free
volunteer can take goes to the best-ranked such volunteer (strategy, fewer chats held first).
After every call no free volunteer could take any waiting contact.

Preferences relax (``acd.relax``): a contact's language, or any requirement named in
``ContactArrived.prefer``, holds only while a volunteer who meets it is available or about to
be, and at most for its wait; ``ContactArrived.escalate`` drops a requirement after a wait.
A dropped requirement moves the contact to the bucket without it, so routing stays a lookup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from acd import commands as cmd
from acd import events as ev
from acd import serde
from acd.errors import (
    DuplicateContact,
    IllegalTransition,
    InvalidEvent,
    StaleOffer,
    UnknownAgent,
    UnknownContact,
)
from acd.index import agents_index, contacts_index
from acd.model import AcdState, Agent, Contact, contact_requirements
from acd.relax import Prospects, relaxations
from acd.settings import AcdSettings
from acd.states import (
    AGENT_TRANSITIONS,
    CONTACT_TRANSITIONS,
    TERMINAL_OUTCOMES,
    AgentState,
    AgentTrigger,
    ContactState,
    ContactTrigger,
    next_agent_state,
    next_contact_state,
)
from acd.strategy import LongestIdle, RoutingStrategy, strategy_by_name
from acd.timers import Deadlines, TimerKind

Commands = list[cmd.Command]


class Acd:
    """One queue's distributor: volunteers, waiting contacts and the rules between them."""

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

    # ------------------------------------------------------------------ public API

    def handle(self, event: ev.Event, now: float) -> Commands:
        """Apply one event at time ``now`` and return the commands it causes."""
        now = self._clock(now)
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise InvalidEvent(f"not an ACD event: {type(event).__name__}")
        out: Commands = []
        handler(self, event, now, out)
        self._dispatch(now, out)
        self._now = now
        return out

    def handle_timer(self, now: float) -> Commands:
        """Fire every deadline due at ``now`` and return the commands they cause."""
        now = self._now = self._clock(now)
        out: Commands = []
        while (timer := self._deadlines.pop_due(now)) is not None:
            when, kind, key, _token = timer
            if kind is TimerKind.RELAX:
                contact = self._contacts[key]
                self._relax(contact, [n for n, at in contact.relax_at.items() if at <= when])
            elif kind is TimerKind.RING:
                contact = self._contacts[key]
                agent = self._agents[contact.agent_id or ""]
                out.append(cmd.WithdrawOffer(key, agent.agent_id, "timeout"))
                self._offer_failed(contact, agent, ev.OfferFailure.NO_ANSWER, when, out)
            elif kind is TimerKind.WRAP_UP:
                self._end_wrap_up(self._agents[key], when, out)
            elif self._contacts[key].state is ContactState.QUEUED:
                self._overflow(self._contacts[key], "max_wait", when, out)
            # A contact ringing at its maximum wait overflows if that offer fails (_requeue).
            # Offers made now ring from now: after an outage, an overdue ring timeout must not
            # chain into phantom offers that each "time out" in the past.
            self._dispatch(now, out)
        return out

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called, or ``None`` if nothing is pending."""
        return self._deadlines.next()

    # Read-only views for the adapter, wallboard and IVR.

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

    # ------------------------------------------------------------------ event handlers

    def _on_login(self, e: ev.AgentLoggedIn, now: float, out: Commands) -> None:
        existing = self._agents.get(e.agent_id)
        if existing is not None:
            raise IllegalTransition(f"agent {e.agent_id}", existing.state.value, "login")
        max_chats = self.settings.max_chats if e.max_chats is None else e.max_chats
        if max_chats < 1:
            raise InvalidEvent("max_chats must be at least 1")
        agent = Agent(
            agent_id=e.agent_id,
            location_id=e.location_id,
            skills=frozenset(e.skills),
            languages=frozenset(e.languages),
            max_chats=max_chats,
            phone_reachable=e.phone_reachable,
            idle_since=now,
        )
        self._agents[e.agent_id] = agent
        self._transition(agent, AgentTrigger.LOGIN, "not_ready", now, out)

    def _on_ready(self, e: ev.AgentReady, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.READY)
        agent.pending_pause = None
        agent.pending_logout = False
        if agent.state in (AgentState.PAUSED, AgentState.WRAP_UP):
            agent.no_answer_streak = 0
            agent.idle_since = now
            agent.wrap_until = None
            self._transition(agent, AgentTrigger.READY, "", now, out)
        self._refresh(agent)

    def _on_pause(self, e: ev.AgentPaused, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.PAUSE)
        self._pause(agent, e.reason, now, out)

    def _on_logout(self, e: ev.AgentLoggedOut, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.LOGOUT)
        self._withdraw_offer(agent, "logged_out", now, out)
        if agent.state is AgentState.BUSY:
            agent.pending_logout = True
            self._refresh(agent)
            return
        self._transition(agent, AgentTrigger.LOGOUT, "", now, out)
        self._refresh(agent)
        del self._agents[agent.agent_id]

    def _on_reachability(self, e: ev.AgentReachability, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        agent.phone_reachable = e.phone_reachable
        self._refresh(agent)

    def _on_wrap_up_ended(self, e: ev.WrapUpEnded, now: float, out: Commands) -> None:
        agent = self.agent(e.agent_id)
        next_agent_state(agent.agent_id, agent.state, AgentTrigger.WRAP_UP_DONE)
        self._end_wrap_up(agent, now, out)

    def _on_arrived(self, e: ev.ContactArrived, now: float, out: Commands) -> None:
        if e.contact_id in self._contacts:
            raise DuplicateContact(e.contact_id)
        if not isinstance(e.channel, ev.Channel):
            raise InvalidEvent(f"unknown channel {e.channel!r}")
        if isinstance(e.priority, bool) or not isinstance(e.priority, int):
            raise InvalidEvent("priority must be an integer")
        relax_at, early = relaxations(e, self.settings.language_wait_s, now)
        self._seq += 1
        skills = frozenset(e.skills)
        contact = Contact(
            contact_id=e.contact_id,
            channel=e.channel,
            skills=skills,
            language=e.language,
            priority=e.priority,
            requires=contact_requirements(e.channel, skills, e.language),
            arrived_at=now,
            seq=self._seq,
            relax_at=relax_at,
            relax_early=early,
        )
        self._contacts[contact.contact_id] = contact
        if relax_at:
            if early:
                if self._prospects.met(contact.requires):
                    self._prospects.hold(contact.contact_id, contact.requires)
                else:  # nobody who meets the preferences may soon be free: drop them now
                    contact.drop(early)
            if contact.relax_at:
                self._arm_relax(contact)
        self._enqueue(contact)
        self._deadlines.add(now + self.settings.max_wait_s, TimerKind.MAX_WAIT, contact.contact_id)
        self._dispatch(now, out)
        if (
            contact.state is ContactState.QUEUED
            and self._waiting_per_channel[contact.channel] > self.settings.max_queue_length
        ):
            self._overflow(contact, "queue_full", now, out)

    def _on_accepted(self, e: ev.OfferAccepted, now: float, out: Commands) -> None:
        contact, agent = self._current_offer(e.contact_id, e.agent_id)
        self._contact_to(contact, ContactTrigger.ACCEPT)
        contact.answered_at = now
        contact.offer_deadline = None
        if contact.relax_early:
            self._prospects.release(contact.contact_id, contact.requires)
        agent.offer = None
        agent.contacts[contact.contact_id] = contact.channel
        agent.handled += 1
        agent.no_answer_streak = 0
        out.append(cmd.ConnectContact(contact.contact_id, agent.agent_id))
        self._transition(agent, AgentTrigger.ACCEPT, "", now, out)
        self._refresh(agent)

    def _on_failed(self, e: ev.OfferFailed, now: float, out: Commands) -> None:
        if not isinstance(e.reason, ev.OfferFailure):
            raise InvalidEvent(f"unknown offer failure {e.reason!r}")
        contact, agent = self._current_offer(e.contact_id, e.agent_id)
        self._offer_failed(contact, agent, e.reason, now, out)

    def _on_ended(self, e: ev.ContactEnded, now: float, out: Commands) -> None:
        contact = self.contact(e.contact_id)
        was = contact.state
        agent = self._agents.get(contact.agent_id or "")
        if was is ContactState.QUEUED:
            self._waiting_remove(contact)
        elif was is ContactState.OFFERED and agent is not None:
            out.append(cmd.WithdrawOffer(contact.contact_id, agent.agent_id, "abandoned"))
        self._contact_to(contact, ContactTrigger.HANG_UP)
        self._finish(contact, now, out)
        if agent is None:
            return
        if was is ContactState.OFFERED:
            agent.offer = None
            # The child left; the volunteer keeps their place in the idle order.
            self._transition(agent, AgentTrigger.OFFER_VOID, agent.reason, now, out)
            self._refresh(agent)
        elif agent.contacts.pop(contact.contact_id, None) is not None:
            if agent.contacts:
                self._transition(agent, AgentTrigger.CONTACT_ENDED, "", now, out)
                self._refresh(agent)
            else:
                self._start_wrap_up(agent, now, out)

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

    def _pause(self, agent: Agent, reason: str, now: float, out: Commands) -> None:
        self._withdraw_offer(agent, "paused", now, out)
        if agent.state is AgentState.BUSY:
            agent.pending_pause = reason
            self._refresh(agent)
            return
        agent.wrap_until = None
        self._transition(agent, AgentTrigger.PAUSE, reason, now, out)
        self._refresh(agent)

    def _withdraw_offer(self, agent: Agent, reason: str, now: float, out: Commands) -> None:
        """Void the volunteer's pending offer and put the contact back in its place."""
        if agent.offer is None:
            return
        contact = self._contacts[agent.offer]
        agent.offer = None
        out.append(cmd.WithdrawOffer(contact.contact_id, agent.agent_id, reason))
        self._requeue(contact, now, out)

    def _offer_failed(
        self,
        contact: Contact,
        agent: Agent,
        reason: ev.OfferFailure,
        now: float,
        out: Commands,
    ) -> None:
        agent.offer = None
        contact.last_failure = reason
        if reason is ev.OfferFailure.UNREACHABLE and contact.channel is ev.Channel.PHONE:
            agent.phone_reachable = False
        counted = reason in ev.COUNTED_FAILURES
        if counted:
            agent.no_answer_streak += 1
        # To the back of the line, so a failing phone does not keep catching the same contact.
        agent.idle_since = now
        self._transition(agent, AgentTrigger.OFFER_VOID, agent.reason, now, out)
        if counted and agent.no_answer_streak >= self.settings.max_no_answer:
            self._pause(agent, "no_answer", now, out)
        self._refresh(agent)
        self._requeue(contact, now, out)

    def _requeue(self, contact: Contact, now: float, out: Commands) -> None:
        self._contact_to(contact, ContactTrigger.REQUEUE)
        contact.agent_id = None
        contact.offer_deadline = None
        if now >= contact.arrived_at + self.settings.max_wait_s:
            self._overflow(contact, "max_wait", now, out)
        else:
            self._enqueue(contact)  # its maximum-wait deadline is still pending

    def _start_wrap_up(self, agent: Agent, now: float, out: Commands) -> None:
        # A chat still ringing for them goes back to its place: wrap-up takes no offers.
        self._withdraw_offer(agent, "wrap_up", now, out)
        self._transition(agent, AgentTrigger.LAST_CONTACT_ENDED, "", now, out)
        if self.settings.wrap_up_s <= 0:
            self._end_wrap_up(agent, now, out)
            return
        agent.wrap_token += 1
        agent.wrap_until = now + self.settings.wrap_up_s
        self._deadlines.add(agent.wrap_until, TimerKind.WRAP_UP, agent.agent_id, agent.wrap_token)
        self._refresh(agent)

    def _end_wrap_up(self, agent: Agent, now: float, out: Commands) -> None:
        agent.wrap_until = None
        if agent.pending_logout:
            self._transition(agent, AgentTrigger.LOGOUT, "", now, out)
            self._refresh(agent)
            del self._agents[agent.agent_id]
            return
        if agent.pending_pause is not None:
            reason, agent.pending_pause = agent.pending_pause, None
            self._transition(agent, AgentTrigger.PAUSE, reason, now, out)
        else:
            agent.idle_since = now
            self._transition(agent, AgentTrigger.WRAP_UP_DONE, "", now, out)
        self._refresh(agent)

    def _overflow(self, contact: Contact, reason: str, now: float, out: Commands) -> None:
        if contact.state is ContactState.QUEUED:
            self._waiting_remove(contact)
        self._contact_to(contact, ContactTrigger.OVERFLOW)
        out.append(cmd.OverflowContact(contact.contact_id, reason))
        self._finish(contact, now, out, reason)

    def _finish(
        self, contact: Contact, now: float, out: Commands, reason: str | None = None
    ) -> None:
        answered = contact.answered_at is not None
        agent = self._agents.get(contact.agent_id or "") if answered else None
        out.append(
            cmd.ContactFinished(
                contact_id=contact.contact_id,
                channel=contact.channel,
                outcome=TERMINAL_OUTCOMES[contact.state],
                priority=contact.priority,
                language=contact.language,
                arrived_at=contact.arrived_at,
                answered_at=contact.answered_at,
                ended_at=now,
                agent_id=contact.agent_id if answered else None,
                location_id=agent.location_id if agent is not None else None,
                reason=reason,
                last_failure=contact.last_failure,
            )
        )
        if contact.relax_early:
            self._prospects.release(contact.contact_id, contact.requires)
        del self._contacts[contact.contact_id]
        self._dirty_contacts.discard(contact.contact_id)

    # ------------------------------------------------------------------ routing

    def _enqueue(self, contact: Contact) -> None:
        if contact.contact_id not in self._waiting:
            self._waiting_per_channel[contact.channel] += 1
        self._waiting.put(contact.contact_id, contact.requires, contact.queue_key)
        self._dirty_contacts.add(contact.contact_id)

    def _waiting_remove(self, contact: Contact) -> None:
        if contact.contact_id in self._waiting:
            self._waiting.discard(contact.contact_id)
            self._waiting_per_channel[contact.channel] -= 1
        self._dirty_contacts.discard(contact.contact_id)

    def _refresh(self, agent: Agent) -> None:
        """Put the volunteer in (or take them out of) the pool of those who may get an offer.

        Also counts them among those who may soon; a contact whose preference nobody left
        could meet drops it here.
        """
        for contact_id in self._prospects.update(agent.agent_id, agent.prospects()):
            contact = self._contacts[contact_id]
            self._relax(contact, contact.relax_early)
        caps = agent.capabilities() if agent.state is not AgentState.LOGGED_OUT else None
        agent_id = agent.agent_id
        if caps is None:
            self._free.discard(agent_id)
            self._unindexed.discard(agent_id)
            self._dirty_agents.discard(agent_id)
            return
        rank = self._rank(agent)
        if (
            (agent_id in self._free or agent_id in self._unindexed)
            and caps == agent.indexed_caps
            and rank == agent.indexed_rank
        ):
            return
        self._seq += 1
        agent.eligible_seq = self._seq
        agent.indexed_caps = caps
        agent.indexed_rank = rank
        # Indexed by _dispatch, and only if no waiting contact takes them at once.
        self._free.discard(agent_id)
        self._unindexed.add(agent_id)
        self._dirty_agents.add(agent_id)

    def _index_free(self) -> None:
        """Put the free volunteers that ``_refresh`` left aside into the index."""
        free, agents = self._free, self._agents
        for agent_id in self._unindexed:
            agent = agents[agent_id]
            free.put(agent_id, agent.indexed_caps, (*agent.indexed_rank, float(agent.eligible_seq)))
        self._unindexed.clear()

    def _arm_relax(self, contact: Contact) -> None:
        contact.relax_token += 1
        when = min(contact.relax_at.values())
        self._deadlines.add(when, TimerKind.RELAX, contact.contact_id, contact.relax_token)

    def _prefer(self, contact: Contact) -> None:
        """Keep the contact's preferences only if someone who meets them may take it soon."""
        if self._prospects.met(contact.requires):
            self._prospects.hold(contact.contact_id, contact.requires)
        else:
            self._relax(contact, contact.relax_early)

    def _relax(self, contact: Contact, names: Iterable[str]) -> None:
        """Drop these requirements of the contact; a waiting one moves to its new bucket."""
        dropped = frozenset(names) & contact.relax_at.keys()
        if not dropped:
            return
        if contact.relax_early:
            self._prospects.release(contact.contact_id, contact.requires)
        first = min(contact.relax_at.values())
        contact.drop(dropped)
        if not contact.relax_at:
            contact.relax_token += 1  # nothing left to relax: the pending deadline is void
        elif min(contact.relax_at.values()) != first:
            self._arm_relax(contact)
        if contact.state is ContactState.QUEUED:
            self._enqueue(contact)
        if contact.relax_early:
            self._prefer(contact)

    def _rank(self, agent: Agent) -> tuple[float, ...]:
        # Fewer contacts held first, so a second chat goes to someone holding none.
        return (float(len(agent.contacts)), *self.strategy.rank(agent))

    def _dispatch(self, now: float, out: Commands) -> None:
        """Offer contacts until no free volunteer could take any waiting contact.

        Only volunteers and contacts that changed since the last call can form a new pair,
        so only they are examined. Among the possible pairs the best contact goes first,
        to its best volunteer.
        """
        dirty_agents, dirty_contacts = self._dirty_agents, self._dirty_contacts
        free, waiting = self._free, self._waiting
        while dirty_agents or dirty_contacts:
            best_key: tuple[float, ...] | None = None
            best_contact: Contact | None = None
            best_agent: str | None = None
            if dirty_contacts and self._unindexed:
                self._index_free()
            for contact_id in list(dirty_contacts):
                contact = self._contacts[contact_id]
                found = free.best(contact.requires)
                if found is None:
                    dirty_contacts.discard(contact_id)
                    continue
                key = contact.queue_key
                if best_key is None or key < best_key:
                    best_key, best_contact, best_agent = key, contact, found[1]
            for agent_id in list(dirty_agents):
                found = waiting.best(self._agents[agent_id].indexed_caps)
                if found is None:
                    dirty_agents.discard(agent_id)
                    continue
                if best_key is None or found[0] < best_key:
                    best_key, best_contact, best_agent = found[0], self._contacts[found[1]], None
                    if not dirty_contacts and len(dirty_agents) == 1:
                        # Free volunteers that did not change could take no waiting contact,
                        # so the one that changed is the only candidate.
                        best_agent = agent_id
            if best_contact is None:
                break
            if best_agent is None:
                self._index_free()
                chosen = free.best(best_contact.requires)
                assert chosen is not None
                best_agent = chosen[1]
            self._offer(best_contact, self._agents[best_agent], now, out)
        if self._unindexed:
            self._index_free()

    def _offer(self, contact: Contact, agent: Agent, now: float, out: Commands) -> None:
        self._waiting_remove(contact)
        self._contact_to(contact, ContactTrigger.OFFER)
        contact.agent_id = agent.agent_id
        contact.offer_token += 1
        contact.offer_deadline = now + self.settings.ring_timeout_s
        agent.offer = contact.contact_id
        self._free.discard(agent.agent_id)  # one offer at a time
        self._unindexed.discard(agent.agent_id)
        self._dirty_agents.discard(agent.agent_id)
        self._deadlines.add(
            contact.offer_deadline, TimerKind.RING, contact.contact_id, contact.offer_token
        )
        out.append(
            cmd.OfferContact(
                contact.contact_id, agent.agent_id, contact.channel, self.settings.ring_timeout_s
            )
        )
        self._transition(agent, AgentTrigger.OFFER, "", now, out)

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
        return contact is not None and contact.state is not ContactState.CONNECTED

    def _relax_is_current(self, contact_id: str, token: int) -> bool:
        contact = self._contacts.get(contact_id)
        return (
            contact is not None
            and contact.relax_token == token
            and contact.state is not ContactState.CONNECTED
        )

    # ------------------------------------------------------------------ persistence

    def export_state(self) -> AcdState:
        """A detached copy of the whole live state (``acd.serde`` makes it JSON)."""
        return AcdState(
            strategy=self.strategy.name,
            seq=self._seq,
            now=self._now if self._now != float("-inf") else None,
            agents=tuple(
                dataclasses.replace(a, contacts=dict(a.contacts)) for a in self._agents.values()
            ),
            contacts=tuple(
                dataclasses.replace(c, relax_at=dict(c.relax_at)) for c in self._contacts.values()
            ),
        )

    @classmethod
    def restore(
        cls,
        state: AcdState,
        settings: AcdSettings | None = None,
        strategy: RoutingStrategy | None = None,
    ) -> Acd:
        """A distributor that behaves exactly as the one ``state`` was exported from.

        ``state`` must be consistent (``acd.serde.state_from_dict`` checks a stored one)."""
        acd = cls(settings, strategy or strategy_by_name(state.strategy))
        acd._load(state)
        return acd

    def snapshot(self) -> dict[str, Any]:
        """The whole live state as plain JSON-able data (see ``acd.serde``)."""
        return serde.state_to_dict(self.export_state())

    @classmethod
    def from_snapshot(
        cls,
        data: dict[str, Any],
        settings: AcdSettings | None = None,
        strategy: RoutingStrategy | None = None,
    ) -> Acd:
        """Rebuild a distributor from ``snapshot()``'s output; ``InvalidEvent`` if it is bad."""
        return cls.restore(serde.state_from_dict(data), settings, strategy)

    def _load(self, state: AcdState) -> None:
        """Take ``state`` and rebuild every index and deadline from it."""
        agents = [dataclasses.replace(a, contacts=dict(a.contacts)) for a in state.agents]
        contacts = [dataclasses.replace(c, relax_at=dict(c.relax_at)) for c in state.contacts]
        seq = state.seq
        now = float("-inf") if state.now is None else state.now
        self._seq = seq
        self._now = now
        self._agents = {a.agent_id: a for a in agents}
        self._contacts = {c.contact_id: c for c in contacts}
        timers: list[tuple[float, TimerKind, str, int]] = []
        for contact in contacts:
            if contact.state is ContactState.QUEUED:
                self._waiting_per_channel[contact.channel] += 1
                self._waiting.put(contact.contact_id, contact.requires, contact.queue_key)
            if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
                max_wait_at = contact.arrived_at + self.settings.max_wait_s
                timers.append((max_wait_at, TimerKind.MAX_WAIT, contact.contact_id, 0))
                if contact.relax_at:
                    relax_at = min(contact.relax_at.values())
                    timers.append(
                        (relax_at, TimerKind.RELAX, contact.contact_id, contact.relax_token)
                    )
                if contact.relax_early:
                    self._prospects.hold(contact.contact_id, contact.requires)
            if contact.state is ContactState.OFFERED and contact.offer_deadline is not None:
                timers.append(
                    (
                        contact.offer_deadline,
                        TimerKind.RING,
                        contact.contact_id,
                        contact.offer_token,
                    )
                )
        for agent in agents:
            if agent.wrap_until is not None and agent.state is AgentState.WRAP_UP:
                timers.append(
                    (agent.wrap_until, TimerKind.WRAP_UP, agent.agent_id, agent.wrap_token)
                )
            self._prospects.update(agent.agent_id, agent.prospects())  # only adds: relaxes none
            caps = agent.capabilities()
            if caps is not None:
                agent.indexed_caps = caps
                agent.indexed_rank = self._rank(agent)
                self._free.put(
                    agent.agent_id, caps, (*agent.indexed_rank, float(agent.eligible_seq))
                )
        for timer in sorted(timers):
            self._deadlines.add(*timer)
        self._dirty_agents.clear()
        self._dirty_contacts.clear()


_HANDLERS: dict[type[Any], Any] = {
    ev.AgentLoggedIn: Acd._on_login,
    ev.AgentReady: Acd._on_ready,
    ev.AgentPaused: Acd._on_pause,
    ev.AgentLoggedOut: Acd._on_logout,
    ev.AgentReachability: Acd._on_reachability,
    ev.WrapUpEnded: Acd._on_wrap_up_ended,
    ev.ContactArrived: Acd._on_arrived,
    ev.OfferAccepted: Acd._on_accepted,
    ev.OfferFailed: Acd._on_failed,
    ev.ContactEnded: Acd._on_ended,
}
