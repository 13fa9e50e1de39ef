"""Commands: what the ACD core asks the outside world to do.

The adapter executes them in order. Notifications (``AgentStateChanged``,
``ContactFinished``) need no action beyond publishing or recording them.
"""

from __future__ import annotations

from acd.events import Channel, OfferFailure
from acd.record import record
from acd.states import AgentState, Outcome


@record
class OfferContact:
    """Ring the volunteer (or show the chat) for this contact."""

    contact_id: str
    """The contact."""
    agent_id: str
    """The volunteer."""
    channel: Channel
    """Phone or chat: how to offer it."""
    ring_timeout_s: float
    """The core withdraws the offer after this long (the adapter's originate timeout)."""


@record
class WithdrawOffer:
    """Stop ringing: the offer is void (timed out, child hung up, volunteer paused or left)."""

    contact_id: str
    """The contact."""
    agent_id: str
    """The volunteer whose phone rings."""
    reason: str
    """``timeout``, ``abandoned``, ``paused``, ``logged_out``, or ``wrap_up`` (a chat
    offered while the volunteer's last chat ended)."""


@record
class ConnectContact:
    """The volunteer answered and the contact is theirs: bridge the call or open the chat."""

    contact_id: str
    """The contact."""
    agent_id: str
    """The volunteer."""


@record
class OverflowContact:
    """The queue cannot take or keep this contact; the IVR plays the overflow message."""

    contact_id: str
    """The contact, which the core no longer holds."""
    reason: str
    """``queue_full`` or ``max_wait``."""


@record
class AgentStateChanged:
    """A volunteer's state changed: for the wallboard, the softphone and live state."""

    agent_id: str
    """The volunteer."""
    state: AgentState
    """The new state."""
    reason: str
    """Pause reason, or what caused the change."""
    at: float
    """When."""


@record
class ContactFinished:
    """A contact left the ACD for good: write its anonymous record."""

    contact_id: str
    """The contact."""
    channel: Channel
    """Phone or chat."""
    outcome: Outcome
    """Answered, abandoned or overflowed. Answered if a volunteer ever answered it, even if it
    went back to the queue (``ContactReturned``) and then ended there, overflow included."""
    priority: int
    """Its priority."""
    language: str | None
    """Language asked for, if any."""
    arrived_at: float
    """When it entered the queue."""
    answered_at: float | None
    """When a volunteer first answered it, if one did."""
    ended_at: float
    """When it ended."""
    agent_id: str | None
    """Who handled it, if anyone: the volunteer who answered it last."""
    location_id: str | None
    """From which location, if handled (``None`` if that volunteer has logged out since)."""
    reason: str | None = None
    """Overflow reason, for overflowed contacts (only: never on an answered one)."""
    last_failure: OfferFailure | None = None
    """Why the last offer failed, if any did (for no-answer reports)."""


Command = (
    OfferContact
    | WithdrawOffer
    | ConnectContact
    | OverflowContact
    | AgentStateChanged
    | ContactFinished
)
