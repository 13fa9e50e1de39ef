"""Events: what the outside world tells the ACD core.

Every event is a frozen, slotted dataclass. ``Acd.handle(event, now)`` takes one and returns
the commands it causes. Ids are opaque strings chosen by the adapter; a contact id is random
and never derived from anything that identifies the child.
"""

from __future__ import annotations

from enum import Enum

from acd.record import record


class Channel(str, Enum):
    """How a contact reaches us."""

    PHONE = "phone"
    CHAT = "chat"


class OfferFailure(str, Enum):
    """Why an offer to a volunteer did not turn into a conversation."""

    NO_ANSWER = "no_answer"
    """The volunteer's phone rang out (reported by the adapter, or the core's own timer)."""
    BUSY = "busy"
    """The volunteer's device said busy."""
    REJECTED = "rejected"
    """The volunteer declined the offer."""
    UNREACHABLE = "unreachable"
    """The volunteer's device is not registered; not the volunteer's fault, so it does not count."""
    ERROR = "error"
    """The offer could not be placed for a technical reason; does not count either."""


#: Failures that count towards auto-pause after ``max_no_answer`` in a row.
COUNTED_FAILURES = frozenset({OfferFailure.NO_ANSWER, OfferFailure.BUSY, OfferFailure.REJECTED})


@record
class AgentLoggedIn:
    """A volunteer logged in. They start paused ("not ready") until they say they are ready."""

    agent_id: str
    """The volunteer's login id."""
    location_id: str
    """Where they work from today; for the wallboard and reports."""
    skills: frozenset[str]
    """What they may handle: ``phone``, ``chat``, ``peer_chat``."""
    languages: frozenset[str]
    """Languages they speak, e.g. ``{"nl", "en"}``."""
    max_chats: int | None = None
    """Chats they may hold at once; ``None`` means the queue setting."""
    phone_reachable: bool = True
    """Whether their phone is registered now; later changes come as ``AgentReachability``."""


@record
class AgentReady:
    """The volunteer is ready for contacts (from paused)."""

    agent_id: str
    """The volunteer."""


@record
class AgentPaused:
    """The volunteer pauses.

    While ringing the offer is withdrawn; while busy it takes effect after wrap-up.
    """

    agent_id: str
    """The volunteer."""
    reason: str = "break"
    """Free text shown on the wallboard (``break``, ``training``...)."""


@record
class AgentLoggedOut:
    """The volunteer logs out.

    While busy it takes effect after wrap-up; a pending offer is withdrawn.
    """

    agent_id: str
    """The volunteer."""


@record
class AgentReachability:
    """The volunteer's phone registered or unregistered (SIP). Chats are unaffected."""

    agent_id: str
    """The volunteer."""
    phone_reachable: bool
    """True while their SIP device is registered."""


@record
class WrapUpEnded:
    """The volunteer finished the registration form before the wrap-up timer ran out."""

    agent_id: str
    """The volunteer."""


@record
class ContactArrived:
    """A child's call or chat reached the queue."""

    contact_id: str
    """Random id chosen by the adapter."""
    channel: Channel
    """Phone or chat."""
    skills: frozenset[str] = frozenset()
    """Skills required beyond the channel's own (e.g. ``peer_chat``)."""
    language: str | None = None
    """Language the child chose, or ``None`` for any. A preference unless ``prefer`` says
    otherwise: see ``prefer``."""
    priority: int = 0
    """Higher is served first; within a priority, longest waiting first."""
    prefer: dict[str, float] | None = None
    """Requirements that are preferences, by name (``"language"`` or one of ``skills``), each
    with the longest it is kept, in seconds after arrival. A preference is also dropped at once
    while no volunteer who meets the contact is available or about to be (ringing, in a
    wrap-up that is not followed by a pause, or holding chats with room for this one).
    ``None``: the language (if any) for the queue's ``language_wait_s``; ``{}``: the language
    is required."""
    escalate: dict[str, float] | None = None
    """Requirements kept strictly for this many seconds after arrival and then dropped
    (time-based escalation), by name as in ``prefer``: ``{"peer_chat": 120}`` lets the adult
    chat volunteers take a peer chat after two minutes. ``None``: none."""


@record
class OfferAccepted:
    """The volunteer answered the offered contact."""

    contact_id: str
    """The contact."""
    agent_id: str
    """The volunteer who answered."""


@record
class OfferFailed:
    """The offer did not connect; the contact goes back to its place in the queue."""

    contact_id: str
    """The contact."""
    agent_id: str
    """The volunteer it was offered to."""
    reason: OfferFailure
    """Why."""


@record
class ContactEnded:
    """The contact is over: the child hung up or closed the chat, or the volunteer ended it.

    Before it was answered this is an abandon; after, a normal end that starts wrap-up.
    """

    contact_id: str
    """The contact."""


@record
class ContactReturned:
    """The volunteer is gone while the child is still on the line: the phone contact goes back to
    the queue, at the front (``acd.contacts`` says how), and is offered to the next volunteer.

    The engine sends it when a volunteer's phone drops during a transfer's consult and no
    partner has answered yet. The volunteer leaves the contact as after ``ContactEnded``.
    Refused with ``NotConnected`` unless the contact is connected to ``agent_id``, and with
    ``InvalidEvent`` for a chat.
    """

    contact_id: str
    """The contact, connected now."""
    agent_id: str
    """The volunteer it is connected with, who is gone."""


@record
class ContactHandedOver:
    """Warm hand-over of a chat: the volunteer gives it to a colleague, who holds it from now.

    Refused with ``NotConnected`` unless the chat is connected to ``from_agent_id``, and with
    ``InvalidEvent`` for a phone contact or when ``to_agent_id`` cannot take this chat now
    (see ``acd.handover``). The old volunteer leaves it as after ``ContactEnded`` (wrap-up if
    it was their last); the record names the last holder.
    """

    contact_id: str
    """The chat, connected now."""
    from_agent_id: str
    """The volunteer it is connected with."""
    to_agent_id: str
    """The colleague who takes it."""


SURGE_SKILL = "staff"
"""Required of every new contact while surge mode is on (see ``SurgeSwitched``)."""


@record
class SurgeSwitched:
    """Surge mode on or off: while on, every contact that arrives (but a peer chat, which stays
    with the young volunteers) also requires ``SURGE_SKILL``, so only supervisors and trained
    staff get it; contacts already waiting keep what they required.

    Routing policy, so the core holds it: it is journaled and in the snapshot like every input,
    and survives a restart or a take-over."""

    on: bool


@record
class CoachingStarted:
    """A supervisor started coaching a call (listen, whisper or barge): from now until
    ``CoachingEnded`` she is offered no contact, whatever her state, since her phone is busy
    with the coaching and would only refuse a child's call.

    Sent when the coaching is asked for (her phone rings for it), also for a supervisor who is
    not logged in to the queue: she logs in coaching. A pending offer to her is withdrawn.
    Starting twice is the same as once."""

    agent_id: str
    """The supervisor (her login id)."""


@record
class CoachingEnded:
    """The supervisor's coaching is over (stopped, her phone hung up or never answered, the
    volunteer left, the call ended), or the engine found after reconciliation that no call is
    coached by her any more. Contacts may be offered to her again. Ending a coaching that
    was not started changes nothing."""

    agent_id: str
    """The supervisor (her login id)."""


Event = (
    AgentLoggedIn
    | AgentReady
    | AgentPaused
    | AgentLoggedOut
    | AgentReachability
    | WrapUpEnded
    | ContactArrived
    | OfferAccepted
    | OfferFailed
    | ContactEnded
    | ContactReturned
    | ContactHandedOver
    | SurgeSwitched
    | CoachingStarted
    | CoachingEnded
)

EVENT_TYPES: tuple[type[Event], ...] = (
    AgentLoggedIn,
    AgentReady,
    AgentPaused,
    AgentLoggedOut,
    AgentReachability,
    WrapUpEnded,
    ContactArrived,
    OfferAccepted,
    OfferFailed,
    ContactEnded,
    ContactReturned,
    ContactHandedOver,
    SurgeSwitched,
    CoachingStarted,
    CoachingEnded,
)
