"""The contact session's states and its transition table, readable in one screen.

``SESSION_TRANSITIONS[state][trigger] -> state``; a trigger missing from a state's row is
illegal and raises ``IllegalSessionTransition``. ``python -m session.diagram`` draws it. A
warm transfer's own steps are in ``session.transfer``; here it adds only what the contact as a
whole goes through: handed over to a partner, or back to the queue.
"""

from __future__ import annotations

from enum import Enum

from session.errors import IllegalSessionTransition


class SessionState(str, Enum):
    """Where a contact is, as the parties see it."""

    IVR = "ivr"
    """Welcome, language menu or the closed message; not handed to the ACD yet."""
    QUEUED = "queued"
    """Waiting in its holding bridge with music and comfort messages."""
    RINGING = "ringing"
    """Still waiting, while a volunteer's phone rings for it."""
    TALKING = "talking"
    """Caller and volunteer in one mixing bridge."""
    HANDED_OVER = "handed_over"
    """The volunteer left the child with a partner (warm transfer); the ACD is done with it,
    the call goes on until the child or the partner hangs up."""
    OVERFLOW = "overflow"
    """The ACD gave up on it; the caller hears the overflow message, then we hang up."""
    ENDING = "ending"
    """A party left in a way that ends the contact; waiting for the ACD's final word."""
    ENDED = "ended"
    """Over: legs hung up, bridges gone, record written."""


class SessionTrigger(str, Enum):
    """What moves a session between states."""

    ENQUEUE = "enqueue"
    OFFER = "offer"
    OFFER_VOID = "offer_void"
    """The offer failed, timed out or was withdrawn."""
    CONNECT = "connect"
    OVERFLOW = "overflow"
    CALLER_GONE = "caller_gone"
    LAST_PARTY_GONE = "last_party_gone"
    """Every leg but the caller's left a conversation."""
    FINISHED = "finished"
    """The ACD released the contact (``ContactFinished``)."""
    IVR_DONE = "ivr_done"
    """The IVR said its last words (closed or overflow message) and hangs up."""
    HAND_OVER = "hand_over"
    """The volunteer left a conference with a partner, or dropped once the partner answered."""
    RETURN = "return"
    """The volunteer's phone dropped mid-transfer before the partner answered: back to the
    front of the queue."""


class LegState(str, Enum):
    """Where one leg is."""

    DIALING = "dialing"
    UP = "up"


S, T = SessionState, SessionTrigger

SESSION_TRANSITIONS: dict[SessionState, dict[SessionTrigger, SessionState]] = {
    S.IVR: {T.ENQUEUE: S.QUEUED, T.CALLER_GONE: S.ENDED, T.IVR_DONE: S.ENDED},
    S.QUEUED: {
        T.OFFER: S.RINGING,
        T.OVERFLOW: S.OVERFLOW,
        T.CALLER_GONE: S.ENDING,
        T.FINISHED: S.ENDED,
    },
    S.RINGING: {
        T.OFFER_VOID: S.QUEUED,
        T.CONNECT: S.TALKING,
        T.OVERFLOW: S.OVERFLOW,
        T.CALLER_GONE: S.ENDING,
        T.FINISHED: S.ENDED,
    },
    S.TALKING: {
        T.CALLER_GONE: S.ENDING,
        T.LAST_PARTY_GONE: S.ENDING,
        T.FINISHED: S.ENDED,
        T.HAND_OVER: S.HANDED_OVER,
        T.RETURN: S.QUEUED,
    },
    S.HANDED_OVER: {
        T.FINISHED: S.HANDED_OVER,
        T.CALLER_GONE: S.ENDED,
        T.LAST_PARTY_GONE: S.ENDED,
    },
    S.OVERFLOW: {
        T.FINISHED: S.OVERFLOW,
        T.CALLER_GONE: S.ENDED,
        T.IVR_DONE: S.ENDED,
    },
    S.ENDING: {
        T.FINISHED: S.ENDED,
        T.CALLER_GONE: S.ENDING,
        T.LAST_PARTY_GONE: S.ENDING,
    },
    S.ENDED: {},
}


def next_session_state(
    contact_id: str, state: SessionState, trigger: SessionTrigger
) -> SessionState:
    """The state after ``trigger``, or ``IllegalSessionTransition``."""
    try:
        return SESSION_TRANSITIONS[state][trigger]
    except KeyError:
        raise IllegalSessionTransition(contact_id, state.value, trigger.value) from None
