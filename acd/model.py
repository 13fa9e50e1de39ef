"""The mutable records the core keeps for each volunteer and contact.

Only the distributor (``acd.core.Acd`` and the layers it is built from) mutates them, and only
through the transition tables in ``acd.states``. Eligibility is a subset test: a contact
*requires* a set of capability tokens and a volunteer *offers* a set; channel and language are
tokens too, so one ``<=`` answers "could take it".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.events import Channel, OfferFailure
from acd.states import AgentState, ContactState

CHANNEL_TOKEN = {Channel.PHONE: "@phone", Channel.CHAT: "@chat"}


def language_token(language: str) -> str:
    return f"lang:{language}"


def contact_requirements(
    channel: Channel, skills: frozenset[str], language: str | None
) -> frozenset[str]:
    """What a volunteer must offer to take this contact.

    With no explicit skills the channel's own skill is required (``phone`` or ``chat``);
    a peer chat names ``peer_chat`` instead, so only young volunteers take it.
    """
    needed = set(skills) if skills else {channel.value}
    needed.add(CHANNEL_TOKEN[channel])
    if language is not None:
        needed.add(language_token(language))
    return frozenset(needed)


LANGUAGE = "language"
"""The name under which a contact's language can be a preference or be escalated."""


@dataclass(slots=True)
class Agent:
    """A logged-in volunteer."""

    agent_id: str
    location_id: str
    skills: frozenset[str]
    languages: frozenset[str]
    max_chats: int
    phone_reachable: bool
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    offer: str | None = None
    """Contact currently offered to them, if any (never more than one)."""
    contacts: dict[str, Channel] = field(default_factory=dict)
    """Contacts they hold now, in the order they took them."""
    idle_since: float = 0.0
    """When they last became free; longest idle is offered first."""
    handled: int = 0
    """Contacts answered since login (for the fewest-contacts strategy)."""
    no_answer_streak: int = 0
    pending_pause: str | None = None
    pending_logout: bool = False
    coaching: bool = False
    """Coaching a call (``CoachingStarted``): offered nothing until it ends. Mirrors the
    core's set of coaching supervisors, which also holds those not logged in."""
    wrap_until: float | None = None
    wrap_token: int = 0
    eligible_seq: int = 0
    """Order in which they entered the pool: the final tie-break."""
    indexed_caps: frozenset[str] = frozenset()
    indexed_rank: tuple[float, ...] = ()
    caps_any: frozenset[str] = frozenset()
    """Derived at login: what they offer when free with a registered phone."""
    caps_chat: frozenset[str] = frozenset()
    """Derived at login: what they offer for chats only."""

    def __post_init__(self) -> None:
        # Skills and languages are fixed for a login; build the two sets once, not per event.
        base = set(self.skills)
        base.update(language_token(lang) for lang in self.languages)
        base.add("@chat")
        self.caps_chat = frozenset(base)
        self.caps_any = self.caps_chat | {"@phone"}

    def prospects(self) -> frozenset[str] | None:
        """Tokens offered now or about to be (ringing, wrap-up ending), else ``None``.

        What a waiting contact's preference may wait for: paused, leaving, coaching, or in a
        call, they do not count; a volunteer holding chats with room for another counts for chats.
        """
        if self.pending_pause is not None or self.pending_logout or self.coaching:
            return None
        state = self.state
        if (
            state is AgentState.AVAILABLE
            or state is AgentState.OFFERED
            or (state is AgentState.WRAP_UP)
        ):
            return self.caps_any if self.phone_reachable else self.caps_chat
        if state is AgentState.BUSY and len(self.contacts) < self.max_chats and not self.in_call():
            return self.caps_chat
        return None

    def in_call(self) -> bool:
        return Channel.PHONE in self.contacts.values()

    def capabilities(self) -> frozenset[str] | None:
        """Tokens offered for a new contact now, or ``None`` when nothing may be offered."""
        if (
            self.offer is not None
            or self.pending_pause is not None
            or self.pending_logout
            or self.coaching
        ):
            return None
        if self.state is AgentState.AVAILABLE:
            return self.caps_any if self.phone_reachable else self.caps_chat
        if (
            self.state is AgentState.BUSY
            and len(self.contacts) < self.max_chats
            and not self.in_call()
        ):
            return self.caps_chat  # a volunteer holding chats may take another chat, never a call
        return None


@dataclass(slots=True)
class Contact:
    """A child's call or chat while the ACD holds it."""

    contact_id: str
    channel: Channel
    skills: frozenset[str]
    language: str | None
    priority: int
    requires: frozenset[str]
    arrived_at: float
    seq: int
    """Arrival order: breaks ties between contacts that arrived at the same instant."""
    state: ContactState = ContactState.QUEUED
    agent_id: str | None = None
    """The volunteer it is offered to or connected with."""
    answered_at: float | None = None
    """When a volunteer first answered it (kept if it goes back to the queue)."""
    answered_by: str | None = None
    """The volunteer who answered it last (kept if it goes back to the queue): the one the
    finished record names."""
    offer_deadline: float | None = None
    offer_token: int = 0
    last_failure: OfferFailure | None = None
    returned_at: float | None = None
    """When it last went back to the queue because its volunteer was gone (``ContactReturned``).
    From then it waits at the front of the queue, and its maximum wait counts from then."""
    returns: int = 0
    """How often it went back: tells its current maximum-wait deadline from older ones."""
    queue_key: tuple[float, ...] = ()
    """Derived: a returned contact first, the earliest returned first; then higher priority
    first, then longest waiting, then arrival order."""
    relax_at: dict[str, float] = field(default_factory=dict)
    """Requirements in force that will be dropped, by name, and when (absolute time)."""
    relax_early: frozenset[str] = frozenset()
    """Of those, the preferences: dropped at once while no volunteer who meets the contact is
    available or about to be."""
    relaxed: frozenset[str] = frozenset()
    """Requirements already dropped; ``requires`` no longer holds them."""
    relax_token: int = 0
    """Tells the current relaxation deadline from superseded ones."""

    def __post_init__(self) -> None:
        self.queue_key = self._place()

    def _place(self) -> tuple[float, ...]:
        # The leading 0/1 puts every returned contact ahead of every other, whatever their
        # priority: an exact front that the index's heap keeps in O(log n), no scan.
        if self.returned_at is not None:
            return (0.0, 0.0, self.returned_at, float(self.seq))
        return (1.0, float(-self.priority), self.arrived_at, float(self.seq))

    def returned(self, now: float) -> None:
        """It goes back to the front of the queue at ``now`` (see ``returned_at``)."""
        self.agent_id = None
        self.returned_at = now
        self.returns += 1
        self.queue_key = self._place()

    def waiting_since(self) -> float:
        """Where its maximum wait counts from: arrival, or its last return."""
        return self.arrived_at if self.returned_at is None else self.returned_at

    def drop(self, names: frozenset[str]) -> None:
        """Drop these requirements, each one still in ``relax_at``; ``requires`` follows."""
        for name in names:
            del self.relax_at[name]
        self.relax_early -= names
        self.relaxed |= names
        self.requires = self.current_requirements()

    def current_requirements(self) -> frozenset[str]:
        """What a volunteer must offer now that ``relaxed`` has been dropped."""
        relaxed = self.relaxed
        return contact_requirements(
            self.channel,
            self.skills - relaxed,
            None if LANGUAGE in relaxed else self.language,
        )


@dataclass(frozen=True, slots=True)
class AcdState:
    """Everything a distributor knows, detached from it: what ``Acd.export_state`` gives and
    ``Acd.restore`` takes. ``acd.serde`` turns it into JSON and back without reaching into
    the distributor."""

    strategy: str
    """Name of the routing strategy (see ``acd.strategy``)."""
    seq: int
    """Arrival counter: the next contact's tie-break number follows it."""
    now: float | None
    """The latest time the distributor was given (None before the first event)."""
    agents: tuple[Agent, ...]
    """Logged-in volunteers (copies: changing them does not change the distributor)."""
    contacts: tuple[Contact, ...]
    """Contacts it holds (copies)."""
    surge: bool = False
    """Surge mode (``SurgeSwitched``); absent from snapshots written before it existed."""
    coaching: frozenset[str] = frozenset()
    """Supervisors coaching a call now, logged in or not (``CoachingStarted``); absent from
    snapshots written before it existed."""
