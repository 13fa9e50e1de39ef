"""A contact's side of the distributor: arrival, answer, failed offer, end, return, hand-over.

A contact whose volunteer is gone while the child is still there (``ContactReturned``) goes
back ahead of every other waiting contact, whatever their priority, the earliest returned
first: the child already waited and was mid-conversation. Its maximum wait counts again from
the return; it stays answered (first ``answered_at`` kept, outcome ``ANSWERED`` however it
ends, with no overflow reason) and the record names the volunteer who answered it last.

Built on ``acd.volunteers``: a contact's end lets its volunteer go (to wrap-up, or to their
other chats), and a failed offer counts against the volunteer it rang for.
"""

from __future__ import annotations

from acd import commands as cmd
from acd import events as ev
from acd.base import Commands
from acd.errors import DuplicateContact, InvalidEvent, NotConnected
from acd.handover import check_hand_over, take_over
from acd.model import Contact, contact_requirements
from acd.relax import relaxations
from acd.states import AgentTrigger, ContactState, ContactTrigger
from acd.timers import TimerKind
from acd.volunteers import Volunteers


class Contacts(Volunteers):
    """The contacts' events, from arrival to end."""

    def _on_surge(self, e: ev.SurgeSwitched, now: float, out: Commands) -> None:
        if not isinstance(e.on, bool):
            raise InvalidEvent("surge: on must be true or false")
        self._surge = e.on

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
        if self._surge and "peer_chat" not in skills:
            skills = (skills or frozenset({e.channel.value})) | {ev.SURGE_SKILL}
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
        if contact.answered_at is None:  # a returned contact keeps its first answer
            contact.answered_at = now
        contact.answered_by = agent.agent_id
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
        elif contact.contact_id in agent.contacts:
            self._let_go(agent, contact.contact_id, now, out)

    def _on_returned(self, e: ev.ContactReturned, now: float, out: Commands) -> None:
        contact = self.contact(e.contact_id)
        if contact.state is not ContactState.CONNECTED or contact.agent_id != e.agent_id:
            raise NotConnected(e.contact_id, e.agent_id)
        if contact.channel is not ev.Channel.PHONE:
            # A chat has no line to hold; and its volunteer, holding other chats, would be
            # offered it straight back.
            raise InvalidEvent(f"contact {e.contact_id}: only a phone contact is returned")
        agent = self._agents[e.agent_id]  # a connected contact's volunteer is logged in
        self._contact_to(contact, ContactTrigger.RETURN)
        contact.returned(now)
        self._let_go(agent, contact.contact_id, now, out)
        # Relaxation deadlines lapsed while it was connected: drop the requirements whose
        # time has passed, as if it had waited all along, and arm the others again.
        contact.relax_token += 1
        due = frozenset(name for name, at in contact.relax_at.items() if at <= now)
        if due:
            contact.drop(due)
        if contact.relax_at:
            self._arm_relax(contact)
        # Taken back even past max_queue_length: like a failed offer's, it was already ours.
        self._enqueue(contact)
        if contact.relax_early:
            self._prefer(contact)  # kept only while someone who meets it may soon be free
        self._deadlines.add(
            now + self.settings.max_wait_s, TimerKind.MAX_WAIT, contact.contact_id, contact.returns
        )

    def _on_handed_over(self, e: ev.ContactHandedOver, now: float, out: Commands) -> None:
        contact = self.contact(e.contact_id)
        to = self._agents.get(e.to_agent_id)
        check_hand_over(e, contact, to)  # raises before anything changes
        assert to is not None
        old = self._agents[e.from_agent_id]  # a connected contact's volunteer is logged in
        take_over(contact, to)
        out.append(cmd.ConnectContact(contact.contact_id, to.agent_id))
        self._transition(to, AgentTrigger.HANDED_OVER, "", now, out)
        self._refresh(to)
        self._let_go(old, contact.contact_id, now, out)

    def check_hand_over(self, e: ev.ContactHandedOver) -> None:
        """Raise what ``handle(e)`` would raise now; changes nothing (for the API's answer)."""
        check_hand_over(e, self.contact(e.contact_id), self._agents.get(e.to_agent_id))
