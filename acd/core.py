"""The automatic call distributor: events in, commands out, time passed in.

``Acd.handle(event, now)`` validates the event against the current state, applies it through
the transition tables, routes whatever can be routed and returns the commands. Deadlines
(ring timeouts, wrap-up, maximum wait) fire only in ``handle_timer(now)``; the adapter calls
it whenever ``now >= next_deadline()``. A raised ``AcdError`` leaves the state untouched.

``Acd`` is the top of a few layers, each a module using only those below it:
``acd.base`` (the state, its read-only views, a state change through the tables),
``acd.routing`` (the routing rule, relaxing preferences, offers), ``acd.volunteers`` (a
volunteer's events and state) and ``acd.contacts`` (a contact's events, and how a returned
contact waits). Here: the entry points for events and deadlines, and the snapshot.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from acd import commands as cmd
from acd import events as ev
from acd import serde
from acd.base import Commands
from acd.contacts import Contacts
from acd.errors import InvalidEvent
from acd.model import AcdState
from acd.settings import AcdSettings
from acd.states import AgentState, ContactState
from acd.strategy import RoutingStrategy, strategy_by_name
from acd.timers import TimerKind


class Acd(Contacts):
    """One queue's distributor: volunteers, waiting contacts and the rules between them."""

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
            surge=self._surge,
            coaching=frozenset(self._coaching),
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
        self._surge = state.surge
        self._coaching = set(state.coaching)
        self._agents = {a.agent_id: a for a in agents}
        self._contacts = {c.contact_id: c for c in contacts}
        timers: list[tuple[float, TimerKind, str, int]] = []
        for contact in contacts:
            if contact.state is ContactState.QUEUED:
                self._waiting_per_channel[contact.channel] += 1
                self._waiting.put(contact.contact_id, contact.requires, contact.queue_key)
            if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
                max_wait_at = contact.waiting_since() + self.settings.max_wait_s
                # An offered contact's maximum wait that passed before the snapshot has fired
                # already (as a no-op: the offer's failure checks the wait itself); arming it
                # again would make the restored core's next deadline differ from the live one's.
                if contact.state is ContactState.QUEUED or max_wait_at > now:
                    timers.append(
                        (max_wait_at, TimerKind.MAX_WAIT, contact.contact_id, contact.returns)
                    )
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
    ev.ContactReturned: Acd._on_returned,
    ev.ContactHandedOver: Acd._on_handed_over,
    ev.SurgeSwitched: Acd._on_surge,
    ev.CoachingStarted: Acd._on_coaching_started,
    ev.CoachingEnded: Acd._on_coaching_ended,
}
