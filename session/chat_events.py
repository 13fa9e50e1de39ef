"""What the engine tells a chat session beyond the ACD's words (``session.events.Acd*``).

Lifecycle facts only: the chat hub (``chat.hub``) relays the messages themselves and never
sends them through the writer. Frozen, slotted records.
"""

from __future__ import annotations

from acd.record import record
from session import events as e


@record
class ChatOpened:
    """A child opened a chat (``ChatSession.begin``); also what a restart reads back from the
    chat's metadata (``ChatSession.recover``)."""

    contact_id: str
    """``chat-`` and 32 random hex digits; never derived from anything about the child."""
    peer: bool
    """A peer chat (young volunteers only: skill ``peer_chat``)."""
    language: str
    """The language the child chose (``nl``, ``en``)."""
    line_id: str
    """The line whose hours open the chat (``[chat] line``); the record's line."""


@record
class ChildAway:
    """The child's last open socket closed: the grace timer starts."""


@record
class ChildBack:
    """A socket of the child is open again: the grace timer stops."""


@record
class ChildLeft:
    """The child ended the chat (end button, quick exit)."""


@record
class VolunteerClosed:
    """The volunteer in the chat ends it (the hub sent the closing message before)."""

    agent_id: str
    """The volunteer: must be the one in the chat."""
    block: bool = False
    """Also block the child's chat token for ``[chat] block_hours``."""


@record
class HandOff:
    """Warm hand-over: the volunteer in the chat gives it to a colleague."""

    agent_id: str
    """The volunteer in the chat."""
    to_agent_id: str
    """The colleague who takes it (must be able to take this chat now: see the ACD)."""
    note: str = ""
    """For the colleague only (never stored, never shown to the child)."""


@record
class GraceOver:
    """The child was away longer than the grace time (the session's own timer)."""


ChatEvent = ChildAway | ChildBack | ChildLeft | VolunteerClosed | HandOff
"""The requests the web layer passes in (``Engine.chat_request``)."""

Event = (
    e.AcdOffer
    | e.AcdWithdraw
    | e.AcdConnect
    | e.AcdOverflow
    | e.AcdFinished
    | e.AcdRefused
    | ChatEvent
    | GraceOver
)
"""Everything a chat session handles."""
