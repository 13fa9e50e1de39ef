"""What the live state bus shows: plain, frozen copies of the core's records.

A view is read from the core once per touch and then compared, so each is immutable and
compares by value. ``to_json`` gives the wire form. A ``ContactView`` holds no caller
identity: the core has none, and none may be added here (a test pins its keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import acd


class CoreAgent(Protocol):
    """What the view reads of one of the core's volunteers (``Acd.agent(id)``)."""

    @property
    def agent_id(self) -> str: ...
    @property
    def location_id(self) -> str: ...
    @property
    def state(self) -> acd.AgentState: ...
    @property
    def reason(self) -> str: ...
    @property
    def offer(self) -> str | None: ...
    @property
    def contacts(self) -> Mapping[str, acd.Channel]: ...
    @property
    def wrap_until(self) -> float | None: ...
    @property
    def phone_reachable(self) -> bool: ...
    @property
    def pending_pause(self) -> str | None: ...
    @property
    def pending_logout(self) -> bool: ...
    @property
    def coaching(self) -> bool: ...
    @property
    def handled(self) -> int: ...
    @property
    def skills(self) -> frozenset[str]: ...
    @property
    def languages(self) -> frozenset[str]: ...


class CoreContact(Protocol):
    """What the view reads of one of the core's contacts (``Acd.contact(id)``)."""

    @property
    def contact_id(self) -> str: ...
    @property
    def channel(self) -> acd.Channel: ...
    @property
    def state(self) -> acd.ContactState: ...
    @property
    def language(self) -> str | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def arrived_at(self) -> float: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def answered_at(self) -> float | None: ...
    @property
    def skills(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class AgentView:
    """One logged-in volunteer as the softphone and the wallboard see them."""

    agent_id: str
    """The volunteer's login id."""
    location_id: str
    """Where they work from today."""
    state: str
    """``acd.AgentState`` value."""
    reason: str
    """Pause reason, or what caused the last change."""
    offer: str | None
    """Contact ringing for them, if any."""
    contacts: tuple[tuple[str, str], ...]
    """Contacts they hold, as (contact id, channel value), in the order they took them."""
    kinds: tuple[str, ...]
    """The kind of each of ``contacts``, in the same order: ``phone``, ``chat`` or
    ``peer_chat`` (a chat that asked for the skill; ``live.wallboard.kind_of``). Beside
    ``contacts``, which keeps the core's channel for every consumer of it."""
    wrap_until: float | None
    """When their wrap-up ends, while in wrap-up."""
    phone_registered: bool
    """Whether their SIP phone is registered."""
    pending_pause: str | None
    """Pause reason that takes effect after wrap-up, if they asked for one while busy."""
    pending_logout: bool
    """Whether they log out after wrap-up."""
    coaching: bool
    """A supervisor coaching a call (``acd.CoachingStarted``): offered nothing meanwhile,
    whatever ``state`` says."""
    handled: int
    """Contacts answered since login."""
    skills: tuple[str, ...]
    """What they may handle, sorted."""
    languages: tuple[str, ...]
    """Languages they speak, sorted."""
    since: float
    """When they entered the current state (or pause reason): the ``at`` of the core's
    ``AgentStateChanged`` when seen, else when the view first saw them."""

    @classmethod
    def of(cls, agent: CoreAgent, since: float, kinds: tuple[str, ...]) -> AgentView:
        """Copy what the view shows of one of the core's volunteers (``core.agent(id)``);
        ``kinds``: the kind of each contact they hold (the core's agent does not know it)."""
        return cls(
            agent_id=agent.agent_id,
            location_id=agent.location_id,
            state=agent.state.value,
            reason=agent.reason,
            offer=agent.offer,
            contacts=tuple((cid, channel.value) for cid, channel in agent.contacts.items()),
            kinds=kinds,
            wrap_until=agent.wrap_until,
            phone_registered=agent.phone_reachable,
            pending_pause=agent.pending_pause,
            pending_logout=agent.pending_logout,
            coaching=agent.coaching,
            handled=agent.handled,
            skills=tuple(sorted(agent.skills)),
            languages=tuple(sorted(agent.languages)),
            since=since,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "location_id": self.location_id,
            "state": self.state,
            "reason": self.reason,
            "offer": self.offer,
            "contacts": [[cid, channel] for cid, channel in self.contacts],
            "kinds": list(self.kinds),
            "wrap_until": self.wrap_until,
            "phone_registered": self.phone_registered,
            "pending_pause": self.pending_pause,
            "pending_logout": self.pending_logout,
            "coaching": self.coaching,
            "handled": self.handled,
            "skills": list(self.skills),
            "languages": list(self.languages),
            "since": self.since,
        }


@dataclass(frozen=True, slots=True)
class ContactView:
    """One contact the core holds (waiting, ringing or connected). Nothing about the caller."""

    contact_id: str
    """The core's random contact id."""
    channel: str
    """``acd.Channel`` value."""
    state: str
    """``acd.ContactState`` value."""
    language: str | None
    """Language asked for, if any."""
    priority: int
    """Higher is served first."""
    arrived_at: float
    """When it entered the queue."""
    agent_id: str | None
    """The volunteer it rings for or is connected with, if any."""
    answered_at: float | None
    """When a volunteer answered it, if one did."""
    line_id: str | None = None
    """The line the child dialled (a configured ``[[lines]] id``: the helpline's own number,
    never the caller's), when known: the core has none, the contact's session does."""

    @classmethod
    def of(cls, contact: CoreContact, line_id: str | None = None) -> ContactView:
        """Copy what the view shows of one of the core's contacts (``core.contact(id)``)."""
        return cls(
            contact_id=contact.contact_id,
            channel=contact.channel.value,
            state=contact.state.value,
            language=contact.language,
            priority=contact.priority,
            arrived_at=contact.arrived_at,
            agent_id=contact.agent_id,
            answered_at=contact.answered_at,
            line_id=line_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "channel": self.channel,
            "state": self.state,
            "language": self.language,
            "priority": self.priority,
            "arrived_at": self.arrived_at,
            "agent_id": self.agent_id,
            "answered_at": self.answered_at,
            "line_id": self.line_id,
        }


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    """The queue figures of one channel."""

    channel: str
    """``acd.Channel`` value."""
    waiting: int
    """Contacts waiting now (queued, not ringing)."""
    oldest_arrived_at: float | None
    """Arrival time of the longest-waiting one, if any waits."""
    answered: int
    """Contacts answered today that have ended."""
    abandoned: int
    """Contacts whose caller left before an answer today."""
    overflowed: int
    """Contacts sent to the overflow message today."""

    def to_json(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "oldest_arrived_at": self.oldest_arrived_at,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "overflowed": self.overflowed,
        }


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """The wallboard's totals: for everyone, volunteers included; no ids in them."""

    date: str
    """The local date (ISO) that "today" means in the counts."""
    channels: tuple[ChannelFigures, ...]
    """One entry per ``acd.Channel``, in enum order."""
    agents_by_state: tuple[tuple[str, int], ...]
    """Logged-in volunteers per ``acd.AgentState`` value (every state but logged out)."""
    agents_by_location: tuple[tuple[str, int], ...]
    """Logged-in volunteers per location, sorted; locations with none are left out."""
    board: dict[str, Any] = field(default_factory=dict, hash=False)
    """The supervisors' wallboard (``live.wallboard``): never sent to a volunteer, whose
    copy holds only ``VOLUNTEER_QUEUE_KEYS``."""

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "channels": {figures.channel: figures.to_json() for figures in self.channels},
            "agents_by_state": dict(self.agents_by_state),
            "agents_by_location": dict(self.agents_by_location),
            "board": self.board,
        }


#: Agent states a logged-in volunteer can be in: the keys of ``agents_by_state``.
SHOWN_STATES: tuple[str, ...] = tuple(
    state.value for state in acd.AgentState if state is not acd.AgentState.LOGGED_OUT
)
