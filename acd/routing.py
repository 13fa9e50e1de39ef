"""Routing: which waiting contact is offered to which free volunteer, and when.

Routing rule: the best waiting contact (priority, then longest waiting) that some free
volunteer can take goes to the best-ranked such volunteer (strategy, fewer chats held first).
After every call no free volunteer could take any waiting contact.

Preferences relax (``acd.relax``): a contact's language, or any requirement named in
``ContactArrived.prefer``, holds only while a volunteer who meets it is available or about to
be, and at most for its wait; ``ContactArrived.escalate`` drops a requirement after a wait.
A dropped requirement moves the contact to the bucket without it, so routing stays a lookup.

``Routing`` keeps the pool of free volunteers and the line of waiting contacts indexed
(``_refresh``, ``_enqueue``), pairs and offers (``_dispatch``, ``_offer``), and takes a contact
back into the line after an offer that came to nothing (``_requeue``) or out of it for good
(``_overflow``). Built on ``acd.base``; the volunteers' and contacts' events call into it.
"""

from __future__ import annotations

from collections.abc import Iterable

from acd import commands as cmd
from acd.base import AcdBase, Commands
from acd.model import Agent, Contact
from acd.states import AgentState, AgentTrigger, ContactState, ContactTrigger
from acd.timers import TimerKind


class Routing(AcdBase):
    """The waiting line, the pool of free volunteers and the offers between them."""

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

    def _requeue(self, contact: Contact, now: float, out: Commands) -> None:
        self._contact_to(contact, ContactTrigger.REQUEUE)
        contact.agent_id = None
        contact.offer_deadline = None
        if now >= contact.waiting_since() + self.settings.max_wait_s:
            self._overflow(contact, "max_wait", now, out)
        else:
            self._enqueue(contact)  # its maximum-wait deadline is still pending

    def _overflow(self, contact: Contact, reason: str, now: float, out: Commands) -> None:
        if contact.state is ContactState.QUEUED:
            self._waiting_remove(contact)
        self._contact_to(contact, ContactTrigger.OVERFLOW)
        out.append(cmd.OverflowContact(contact.contact_id, reason))
        self._finish(contact, now, out, reason)
