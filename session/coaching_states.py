"""Coaching's modes, states and transition table, and its view (see ``session.coaching``).

``COACHING_TRANSITIONS[state][trigger] -> state``; a missing pair is refused
(``CoachingRefused("not_allowed")``). ``python -m session.diagram`` draws it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from acd.record import record
from session.errors import CoachingRefused

SUPERVISOR_RING_S = 30
"""How long the supervisor's phone rings before the coaching is given up."""

COACHING_CALLER_ID = '"Coaching" <coaching>'
"""What the supervisor's phone is shown for a coaching call. A child's call presents the
helpline's own number, so the workspace can tell them apart: it answers a coaching call by
itself, and must never answer a child's call that way (``softphone/web/src/coach.ts``)."""


class CoachMode(str, Enum):
    """What the supervisor hears and who hears the supervisor."""

    LISTEN = "listen"
    """The supervisor hears the child and the volunteer; nobody hears the supervisor."""
    WHISPER = "whisper"
    """As listen, and the volunteer (only) hears the supervisor."""
    BARGE = "barge"
    """The supervisor is in the conversation: all three hear each other."""


class CoachingState(str, Enum):
    """Where a coaching is."""

    RINGING = "ringing"
    """The supervisor's phone rings."""
    ACTIVE = "active"
    """The supervisor answered and hears the call (in the chosen mode)."""
    ENDED = "ended"
    """Over: the supervisor's leg, snoop and coach bridge are gone (see ``reason``)."""


class CoachingTrigger(str, Enum):
    """What moves a coaching between states."""

    SUPERVISOR_ANSWERED = "supervisor_answered"
    MODE = "mode"
    """The supervisor switched between listen, whisper and barge."""
    STOP = "stop"
    """The supervisor (or a colleague) stopped it."""
    SUPERVISOR_GONE = "supervisor_gone"
    """The supervisor's leg ended: hung up, or never answered (busy, no answer...)."""
    VOLUNTEER_GONE = "volunteer_gone"
    CALL_ENDED = "call_ended"


S, T = CoachingState, CoachingTrigger

_ENDINGS = {T.STOP: S.ENDED, T.SUPERVISOR_GONE: S.ENDED, T.VOLUNTEER_GONE: S.ENDED}
COACHING_TRANSITIONS: dict[CoachingState, dict[CoachingTrigger, CoachingState]] = {
    S.RINGING: {
        T.SUPERVISOR_ANSWERED: S.ACTIVE,
        T.MODE: S.RINGING,  # applied when the supervisor answers
        **_ENDINGS,
        T.CALL_ENDED: S.ENDED,
    },
    S.ACTIVE: {T.MODE: S.ACTIVE, **_ENDINGS, T.CALL_ENDED: S.ENDED},
    S.ENDED: {},
}

# (spy, whisper) directions of the snoop channel, as ARI names them. "out" is what Asterisk
# sends to the volunteer's phone: whispered audio there reaches the volunteer's ear only.
SNOOP_DIRECTIONS: dict[CoachMode, tuple[str, str]] = {
    CoachMode.LISTEN: ("both", "none"),
    CoachMode.WHISPER: ("both", "out"),
}


def next_coaching_state(state: CoachingState, trigger: CoachingTrigger) -> CoachingState:
    """The state after ``trigger``; ``CoachingRefused("not_allowed")`` if it has none."""
    try:
        return COACHING_TRANSITIONS[state][trigger]
    except KeyError:
        raise CoachingRefused(
            "not_allowed", f"{trigger.value!r} is not possible while coaching is {state.value!r}"
        ) from None


@record
class CoachingView:
    """A coaching as the supervisor's screen and the live bus see it."""

    contact_id: str
    supervisor_id: str
    agent_id: str
    """The volunteer being coached."""
    mode: str
    state: str
    reason: str
    """Why it ended (``stopped``, ``supervisor_left``, ``volunteer_left``, ``call_ended``,
    ``busy``, ``no_answer``, ``unreachable``...), or ``""``."""
    started_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "supervisor_id": self.supervisor_id,
            "agent_id": self.agent_id,
            "mode": self.mode,
            "state": self.state,
            "reason": self.reason,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
        }
