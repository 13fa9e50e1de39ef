"""The warm transfer ("driegesprek"): a partner such as Veilig Thuis joins a child's call.

One transfer per contact at a time, as a transition table like the ACD's and the session's:
``TRANSFER_TRANSITIONS[state][trigger] -> state``; a missing pair is refused. The session
(``session.machine``) owns the legs and bridges and turns each transition into effects:

- **consult**: the child waits in the holding bridge (music, or silence if configured) while the
  partner's phone rings and then talks with the volunteer alone in the talk bridge;
- **direct**: the child stays with the volunteer while the partner rings, and the partner
  joins them at once;
- **conference**: child, volunteer and partner in the talk bridge; the volunteer then
  **leaves** (the child and the partner talk on; the volunteer goes to wrap-up) or **stays**;
- **cancel** at any step, or a partner who is busy, does not answer, rejects or cannot be
  reached, returns the volunteer to the child with the reason.

The child is never left alone on hold: if the volunteer's phone drops during the consult, the
child joins the partner if the partner answered, and otherwise goes back to the front of the
queue. Everything the partner learns comes from the volunteer and the child: the partner's
phone shows the helpline's own number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from acd.record import record
from session.errors import TransferRefused


class TransferMode(str, Enum):
    """How the partner is added."""

    CONSULT = "consult"
    """The volunteer talks to the partner first, with the child on hold."""
    DIRECT = "direct"
    """The partner joins the child and the volunteer as soon as they answer."""


class TransferState(str, Enum):
    """Where a transfer is. The last three are terminal."""

    DIALING = "dialing"
    """Consult: the partner's phone rings; the child waits on hold."""
    DIALING_DIRECT = "dialing_direct"
    """Direct: the partner's phone rings; the child stays with the volunteer."""
    CONSULT = "consult"
    """Volunteer and partner talk alone; the child waits on hold."""
    CONFERENCE = "conference"
    """Child, volunteer and partner in one mixing bridge."""
    HANDED_OVER = "handed_over"
    """The volunteer left: the child and the partner talk on."""
    DONE = "done"
    """The partner and the child were joined, and that part is over."""
    CANCELLED = "cancelled"
    """Called off before or instead of completing (by the volunteer, or the volunteer's phone
    dropped before the partner answered)."""
    FAILED = "failed"
    """The partner was busy, did not answer, rejected the call, could not be reached, or left
    during the consult."""


class TransferTrigger(str, Enum):
    """What moves a transfer between states."""

    PARTNER_ANSWERED = "partner_answered"
    PARTNER_GONE = "partner_gone"
    """The partner's leg ended (before answering: busy, no answer, ...; after: hung up)."""
    CONFERENCE = "conference"
    LEAVE = "leave"
    STAY = "stay"
    CANCEL = "cancel"
    VOLUNTEER_GONE = "volunteer_gone"
    CALLER_GONE = "caller_gone"


TERMINAL = frozenset({TransferState.DONE, TransferState.CANCELLED, TransferState.FAILED})

S, T = TransferState, TransferTrigger

TRANSFER_TRANSITIONS: dict[TransferState, dict[TransferTrigger, TransferState]] = {
    S.DIALING: {
        T.PARTNER_ANSWERED: S.CONSULT,
        T.PARTNER_GONE: S.FAILED,
        T.CANCEL: S.CANCELLED,
        T.VOLUNTEER_GONE: S.CANCELLED,  # the child goes back to the front of the queue
        T.CALLER_GONE: S.CANCELLED,
    },
    S.DIALING_DIRECT: {
        T.PARTNER_ANSWERED: S.CONFERENCE,
        T.PARTNER_GONE: S.FAILED,
        T.CANCEL: S.CANCELLED,
        T.VOLUNTEER_GONE: S.CANCELLED,
        T.CALLER_GONE: S.CANCELLED,
    },
    S.CONSULT: {
        T.CONFERENCE: S.CONFERENCE,
        T.PARTNER_GONE: S.FAILED,
        T.CANCEL: S.CANCELLED,
        T.VOLUNTEER_GONE: S.HANDED_OVER,  # the partner answered: the child joins them
        T.CALLER_GONE: S.CANCELLED,
    },
    S.CONFERENCE: {
        T.LEAVE: S.HANDED_OVER,
        T.STAY: S.CONFERENCE,
        T.CANCEL: S.DONE,
        T.PARTNER_GONE: S.DONE,
        T.VOLUNTEER_GONE: S.HANDED_OVER,
        T.CALLER_GONE: S.DONE,
    },
    S.HANDED_OVER: {
        T.PARTNER_GONE: S.DONE,
        T.CALLER_GONE: S.DONE,
    },
    S.DONE: {},
    S.CANCELLED: {},
    S.FAILED: {},
}

STEPS: dict[str, TransferTrigger] = {
    "conference": T.CONFERENCE,
    "leave": T.LEAVE,
    "stay": T.STAY,
    "cancel": T.CANCEL,
}
"""The volunteer's own steps, by the name the API uses."""


def next_transfer_state(state: TransferState, trigger: TransferTrigger) -> TransferState:
    """The state after ``trigger``; ``TransferRefused("not_allowed")`` if it has none."""
    try:
        return TRANSFER_TRANSITIONS[state][trigger]
    except KeyError:
        raise TransferRefused(
            "not_allowed",
            f"{trigger.value!r} is not possible while the transfer is {state.value!r}",
            {"state": state.value},
        ) from None


@record
class PartnerDial:
    """What the engine needs to ring a partner: all of it from the helpline's directory."""

    partner_id: str
    """The directory's id (never a number the volunteer typed)."""
    name: str
    """Shown to the volunteer and supervisors."""
    endpoint: str
    """E.g. ``PJSIP/08002000@carrier-out``."""
    caller_id: str
    """What the partner's phone shows: the helpline's own name and number."""
    ring_timeout_s: int
    """Give up ringing after this long."""
    variables: tuple[tuple[str, str], ...] = ()
    """Channel variables for the originate (e.g. caller id presentation)."""


@record
class TransferView:
    """A transfer as the volunteer's softphone and the wallboard see it."""

    contact_id: str
    agent_id: str
    """The volunteer who started it."""
    partner_id: str
    partner_name: str
    mode: str
    region: str | None
    state: str
    reason: str
    """Why it ended (``busy``, ``no_answer``, ``rejected``, ``unreachable``, ``cancelled``,
    ``partner_left``, ``caller_left``, ``volunteer_left``...), or ``""``."""
    stayed: bool
    """The volunteer chose to stay until the end."""
    started_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "agent_id": self.agent_id,
            "partner_id": self.partner_id,
            "partner_name": self.partner_name,
            "mode": self.mode,
            "region": self.region,
            "state": self.state,
            "reason": self.reason,
            "stayed": self.stayed,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class Transfer:
    """One transfer of one contact (kept after it ends, until the next one starts)."""

    partner_id: str
    partner_name: str
    mode: TransferMode
    region: str | None
    channel_id: str
    """The partner's leg."""
    agent_id: str
    volunteer_leg: str
    """The volunteer's leg at the start."""
    state: TransferState
    started_at: float
    updated_at: float
    stayed: bool = False
    reason: str = ""
    joined: bool = False
    """The partner and the child were connected (conference or handed over): a referral."""

    @property
    def active(self) -> bool:
        return self.state not in TERMINAL

    @property
    def child_on_hold(self) -> bool:
        """Whether the child waits in the holding bridge because of this transfer."""
        return self.state in (TransferState.DIALING, TransferState.CONSULT)

    def move(self, trigger: TransferTrigger, now: float, reason: str = "") -> TransferState:
        self.state = next_transfer_state(self.state, trigger)
        self.updated_at = now
        if reason:
            self.reason = reason
        if self.state in (TransferState.CONFERENCE, TransferState.HANDED_OVER):
            self.joined = True
        return self.state

    def view(self, contact_id: str) -> TransferView:
        return TransferView(
            contact_id,
            self.agent_id,
            self.partner_id,
            self.partner_name,
            self.mode.value,
            self.region,
            self.state.value,
            self.reason,
            self.stayed,
            self.started_at,
            self.updated_at,
        )
