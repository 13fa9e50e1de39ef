"""States and the transition tables: the whole state machine, readable in one screen.

``AGENT_TRANSITIONS[state][trigger] -> state`` and ``CONTACT_TRANSITIONS`` likewise. A trigger
missing from a state's row is illegal and raises ``IllegalTransition``; nothing else in the
core changes a state. ``python -m acd.diagram`` draws both tables.
"""

from __future__ import annotations

from enum import Enum

from acd.errors import IllegalTransition


class AgentState(str, Enum):
    """Where a volunteer is."""

    LOGGED_OUT = "logged_out"
    PAUSED = "paused"
    AVAILABLE = "available"
    OFFERED = "offered"
    """A contact rings for them; they hold no other contact."""
    BUSY = "busy"
    """In a call, or holding one or more chats (and possibly being offered another chat)."""
    WRAP_UP = "wrap_up"
    """Filling in the registration form after a contact."""


class AgentTrigger(str, Enum):
    """What moves a volunteer between states."""

    LOGIN = "login"
    READY = "ready"
    PAUSE = "pause"
    """Asked by the volunteer, or by the core after too many unanswered offers."""
    LOGOUT = "logout"
    OFFER = "offer"
    ACCEPT = "accept"
    OFFER_VOID = "offer_void"
    """The offer failed or was withdrawn."""
    CONTACT_ENDED = "contact_ended"
    """One of several contacts ended; others remain."""
    LAST_CONTACT_ENDED = "last_contact_ended"
    WRAP_UP_DONE = "wrap_up_done"
    HANDED_OVER = "handed_over"
    """A colleague handed them a chat (``ContactHandedOver``)."""


class ContactState(str, Enum):
    """Where a contact is. The last three are terminal."""

    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"


class ContactTrigger(str, Enum):
    """What moves a contact between states."""

    OFFER = "offer"
    ACCEPT = "accept"
    REQUEUE = "requeue"
    """The offer failed or was withdrawn: back to its place in the queue."""
    RETURN = "return"
    """Its volunteer is gone while the child is still there: back to the front of the queue."""
    HANG_UP = "hang_up"
    OVERFLOW = "overflow"


class Outcome(str, Enum):
    """How a contact ended; every contact ends in exactly one.

    A contact a volunteer answered is ``ANSWERED`` however it ends, even if it went back to
    the queue (``RETURN``) and then ended there: abandoned and overflowed count children
    nobody talked with. ``TERMINAL_OUTCOMES`` maps the terminal states of the others.
    """

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"


_A = AgentState
_AT = AgentTrigger

AGENT_TRANSITIONS: dict[AgentState, dict[AgentTrigger, AgentState]] = {
    _A.LOGGED_OUT: {_AT.LOGIN: _A.PAUSED},
    _A.PAUSED: {
        _AT.READY: _A.AVAILABLE,
        _AT.PAUSE: _A.PAUSED,
        _AT.LOGOUT: _A.LOGGED_OUT,
    },
    _A.AVAILABLE: {
        _AT.READY: _A.AVAILABLE,
        _AT.OFFER: _A.OFFERED,
        _AT.HANDED_OVER: _A.BUSY,
        _AT.PAUSE: _A.PAUSED,
        _AT.LOGOUT: _A.LOGGED_OUT,
    },
    _A.OFFERED: {
        _AT.ACCEPT: _A.BUSY,
        _AT.OFFER_VOID: _A.AVAILABLE,
        _AT.PAUSE: _A.PAUSED,
        _AT.LOGOUT: _A.LOGGED_OUT,
    },
    # Pause and logout while busy are remembered and applied when wrap-up ends.
    _A.BUSY: {
        _AT.OFFER: _A.BUSY,
        _AT.ACCEPT: _A.BUSY,
        _AT.HANDED_OVER: _A.BUSY,
        _AT.OFFER_VOID: _A.BUSY,
        _AT.CONTACT_ENDED: _A.BUSY,
        _AT.LAST_CONTACT_ENDED: _A.WRAP_UP,
        _AT.PAUSE: _A.BUSY,
        _AT.LOGOUT: _A.BUSY,
        _AT.READY: _A.BUSY,
    },
    _A.WRAP_UP: {
        _AT.WRAP_UP_DONE: _A.AVAILABLE,
        _AT.PAUSE: _A.PAUSED,
        _AT.LOGOUT: _A.LOGGED_OUT,
        _AT.READY: _A.AVAILABLE,
    },
}

_C = ContactState
_CT = ContactTrigger

CONTACT_TRANSITIONS: dict[ContactState, dict[ContactTrigger, ContactState]] = {
    _C.QUEUED: {
        _CT.OFFER: _C.OFFERED,
        _CT.HANG_UP: _C.ABANDONED,
        _CT.OVERFLOW: _C.OVERFLOWED,
    },
    _C.OFFERED: {
        _CT.ACCEPT: _C.CONNECTED,
        _CT.REQUEUE: _C.QUEUED,
        _CT.HANG_UP: _C.ABANDONED,
    },
    _C.CONNECTED: {
        _CT.HANG_UP: _C.ANSWERED,
        _CT.RETURN: _C.QUEUED,
    },
    _C.ANSWERED: {},
    _C.ABANDONED: {},
    _C.OVERFLOWED: {},
}

TERMINAL_OUTCOMES: dict[ContactState, Outcome] = {
    _C.ANSWERED: Outcome.ANSWERED,
    _C.ABANDONED: Outcome.ABANDONED,
    _C.OVERFLOWED: Outcome.OVERFLOWED,
}


def next_agent_state(agent_id: str, state: AgentState, trigger: AgentTrigger) -> AgentState:
    """Look up the table; raise ``IllegalTransition`` for a trigger the state does not allow."""
    try:
        return AGENT_TRANSITIONS[state][trigger]
    except KeyError:
        raise IllegalTransition(f"agent {agent_id}", state.value, trigger.value) from None


def next_contact_state(
    contact_id: str, state: ContactState, trigger: ContactTrigger
) -> ContactState:
    """Look up the table; raise ``IllegalTransition`` for a trigger the state does not allow."""
    try:
        return CONTACT_TRANSITIONS[state][trigger]
    except KeyError:
        raise IllegalTransition(f"contact {contact_id}", state.value, trigger.value) from None
