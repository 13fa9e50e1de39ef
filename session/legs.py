"""A phone contact's parties: its legs, and the session state every part of it reads.

``CallLegs`` holds what a ``ContactSession`` knows (the caller's channel, the legs we dialled
by channel id, the two bridges, the session's state and history, the IVR, the transfer and
the coaching) and the small steps over the legs and bridges that the other parts share:
which leg rings or talks, moving through the state table, and cleaning everything up.
``session.ivr_driver`` and ``session.transfer_legs`` build on it; ``session.machine`` puts
them together. Also here: ``Leg`` itself, and what a never-answered leg's cause means.
"""

from __future__ import annotations

from dataclasses import dataclass

from acd.events import OfferFailure
from ivr import flow
from session import commands as c
from session.coaching import Coaching
from session.ids import LegRole, hold_bridge_id, talk_bridge_id
from session.states import LegState, SessionState, SessionTrigger, next_session_state
from session.transfer import Transfer

Commands = list[c.Command]

# Q.850 causes on a volunteer leg that never answered.
_FAILURE_BY_CAUSE = {
    17: OfferFailure.BUSY,
    18: OfferFailure.NO_ANSWER,
    19: OfferFailure.NO_ANSWER,
    21: OfferFailure.REJECTED,
    20: OfferFailure.UNREACHABLE,
    3: OfferFailure.UNREACHABLE,
}


def offer_failure_for(cause: int | None) -> OfferFailure:
    """Why a ringing leg that hung up did not answer, from its Q.850 cause."""
    if cause in (None, 16):  # a normal clear before answer: the phone rang out
        return OfferFailure.NO_ANSWER
    return _FAILURE_BY_CAUSE.get(cause, OfferFailure.ERROR)


@dataclass(slots=True)
class Leg:
    """A party we dialled for this contact."""

    channel_id: str
    role: LegRole
    state: LegState
    agent_id: str | None = None
    """The volunteer (or supervisor) on this leg."""


class CallLegs:
    """The state of one phone contact's session and the helpers over its legs and bridges."""

    def __init__(
        self,
        contact_id: str,
        line_id: str,
        language: str,
        caller_channel: str,
        *,
        priority: int = 0,
        presented_as: str = "",
        ivr: flow.IvrCall | None = None,
        state: SessionState = SessionState.IVR,
        answered: bool = False,
    ) -> None:
        self.contact_id = contact_id
        self.line_id = line_id
        self.language = language
        self.caller_channel = caller_channel
        self.priority = priority
        self.presented_as = presented_as
        """Caller id shown to the parties we dial (the helpline, never the child)."""
        self.ivr = ivr
        """What the caller hears until a volunteer takes the call (None after a restart
        while talking)."""
        self.state = state
        self.history: list[SessionState] = [state]
        """Every state the session was in, in order (for tests and diagnostics)."""
        self.legs: dict[str, Leg] = {}
        """Our legs by channel id (the caller's channel is not among them)."""
        self.answered = answered
        """We answered the caller's channel (only once there is something to hear)."""
        self.caller_gone = False
        self.record_written = False
        self.hold_retries = 0
        """Times the holding bridge was set up again after a failure."""
        self.hold = hold_bridge_id(contact_id)
        self.talk = talk_bridge_id(contact_id)
        self.transfer: Transfer | None = None
        """The current or last warm transfer (one at a time)."""
        self.partner_legs = 0
        """Partner legs dialled so far (numbers the next one)."""
        self.referred: tuple[str, str | None] | None = None
        """(partner, region) of the last transfer that joined the child with a partner."""
        self.coaching: Coaching | None = None
        """The current or last coaching by a supervisor (``session.coaching``); its legs are
        not among ``legs``: a supervisor is never a party the conversation waits for."""

    @property
    def closed(self) -> bool:
        return self.state is SessionState.ENDED

    def ringing_leg(self) -> Leg | None:
        """The volunteer leg that rings for the current offer, if any."""
        for leg in self.legs.values():
            if leg.role is LegRole.VOLUNTEER and leg.state is LegState.DIALING:
                return leg
        return None

    def add_recovered_leg(self, leg: Leg) -> None:
        """Reconciliation found this leg in Asterisk (after a restart of ours)."""
        self.legs[leg.channel_id] = leg

    def _talking_leg(self, agent_id: str) -> Leg | None:
        for leg in self.legs.values():
            if (
                leg.role is LegRole.VOLUNTEER
                and leg.state is LegState.UP
                and leg.agent_id == agent_id
            ):
                return leg
        return None

    # ------------------------------------------------------------------ helpers

    def _answered_leg(self, agent_id: str) -> bool:
        """Whether ``agent_id``'s leg answered and waits for the core to accept it."""
        return self.state in (SessionState.QUEUED, SessionState.RINGING) and any(
            leg.role is LegRole.VOLUNTEER and leg.state is LegState.UP and leg.agent_id == agent_id
            for leg in self.legs.values()
        )

    def _parties_up(self) -> bool:
        return any(leg.state is LegState.UP for leg in self.legs.values())

    def _clean_up(self, out: Commands, *, hang_up_caller: bool) -> None:
        """Hang up every leg, destroy both bridges; idempotent and 404-tolerant downstream."""
        for leg in self.legs.values():
            out.append(c.Hangup(self.contact_id, leg.channel_id))
        self.legs.clear()
        if hang_up_caller:
            out.append(c.Hangup(self.contact_id, self.caller_channel))
        out.append(c.DeleteBridge(self.contact_id, self.hold))
        out.append(c.DeleteBridge(self.contact_id, self.talk))
        if self.state is SessionState.ENDED:
            out.append(c.SessionClosed(self.contact_id))

    def _move(self, trigger: SessionTrigger) -> None:
        new = next_session_state(self.contact_id, self.state, trigger)
        if new is not self.state:
            self.state = new
            self.history.append(new)
