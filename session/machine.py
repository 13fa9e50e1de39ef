"""One contact's session: its legs, its bridges and what its caller hears.

The ACD owns routing (who gets the contact); the session owns the parties. It turns the
ACD's words (offer, withdraw, connect, overflow, finished) into effects on legs and bridges,
and facts about legs (answered, gone) into events for the ACD (``ToAcd``). It drives the
contact's IVR until a volunteer answers. Sans-IO: events in, commands out, ``now`` passed in.

A volunteer leg leaving does not by itself end the contact: the contact ends when the caller
leaves, or when the last party other than the caller leaves a conversation. (With a partner
in a conference, the volunteer may leave and the conversation goes on.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import acd
from acd.events import OfferFailure
from ivr import flow
from ivr.errors import IvrError
from ivr.media import media_uri
from session import commands as c
from session import events as e
from session.errors import SessionError
from session.ids import LegRole, hold_bridge_id, leg_id, talk_bridge_id
from session.states import LegState, SessionState, SessionTrigger, next_session_state

log = logging.getLogger(__name__)

Commands = list[c.Command]

PHONE_RECHECK_S = 5.0
"""After a failed originate, how long until the phone's registration is looked at again."""

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


@dataclass(frozen=True, slots=True)
class QueueNews:
    """What a waiting caller's comfort message may say."""

    position: int
    """1-based place in the queue."""
    expected_wait_s: float | None
    """Expected wait, if it can be estimated."""


class ContactSession:
    """The parties of one phone contact, from arrival to end."""

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

    # ------------------------------------------------------------------ public API

    @property
    def closed(self) -> bool:
        return self.state is SessionState.ENDED

    def begin(self, entered: flow.CallEntered, now: float) -> Commands:
        """The caller arrived: start the IVR (welcome, menu, or the closed message)."""
        if self.ivr is None:
            raise SessionError("begin() needs an IVR")
        out: Commands = []
        self._ivr_commands(self.ivr.handle(entered, now), out)
        return out

    def handle(self, event: e.Event, now: float) -> Commands:
        """Apply one event; return the commands it causes."""
        out: Commands = []
        if self.state is SessionState.ENDED:
            return out  # late news about a finished contact: nothing to do
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise SessionError(f"not a session event: {type(event).__name__}")
        handler(self, event, now, out)
        return out

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called (the IVR's comfort or menu timer)."""
        if self.ivr is None or self.state is SessionState.ENDED:
            return None  # an IVR the ACD finished while it waited still has its comfort timer
        return self.ivr.next_deadline()

    def handle_timer(self, now: float, news: QueueNews | None = None) -> Commands:
        """Fire the IVR's deadline; ``news`` is the caller's place in the queue, if waiting."""
        out: Commands = []
        if self.ivr is None or self.state is SessionState.ENDED:
            return out
        if news is not None and self.state in (SessionState.QUEUED, SessionState.RINGING):
            self.ivr.handle(flow.QueueUpdate(news.position, news.expected_wait_s), now)
        self._ivr_commands(self.ivr.handle_timer(now), out)
        return out

    def ringing_leg(self) -> Leg | None:
        """The volunteer leg that rings for the current offer, if any."""
        for leg in self.legs.values():
            if leg.role is LegRole.VOLUNTEER and leg.state is LegState.DIALING:
                return leg
        return None

    def add_recovered_leg(self, leg: Leg) -> None:
        """Reconciliation found this leg in Asterisk (after a restart of ours)."""
        self.legs[leg.channel_id] = leg

    # ------------------------------------------------------------------ handlers

    def _on_leg_answered(self, ev: e.LegAnswered, now: float, out: Commands) -> None:
        leg = self.legs.get(ev.channel_id)
        if leg is None or leg.state is not LegState.DIALING:
            out.append(c.Hangup(self.contact_id, ev.channel_id))  # a leg of an older offer
            return
        leg.state = LegState.UP
        if leg.role is LegRole.VOLUNTEER:
            out.append(c.ToAcd(acd.OfferAccepted(self.contact_id, leg.agent_id or "")))

    def _on_leg_gone(self, ev: e.LegGone, now: float, out: Commands) -> None:
        if ev.channel_id == self.caller_channel:
            self._caller_left(now, out)
            return
        leg = self.legs.pop(ev.channel_id, None)
        if leg is None:
            return
        if leg.state is LegState.DIALING:
            if leg.role is LegRole.VOLUNTEER and self.state is SessionState.RINGING:
                self._move(SessionTrigger.OFFER_VOID)
                reason = offer_failure_for(ev.cause)
                out.append(c.ToAcd(acd.OfferFailed(self.contact_id, leg.agent_id or "", reason)))
            return
        if self.state is SessionState.TALKING and not self._parties_up():
            self._move(SessionTrigger.LAST_PARTY_GONE)
            out.append(c.ToAcd(acd.ContactEnded(self.contact_id)))

    def _caller_left(self, now: float, out: Commands) -> None:
        if self.caller_gone:
            return
        self.caller_gone = True
        if self.ivr is not None:
            self.ivr.handle(flow.CallerGone(), now)
        if self.state in (SessionState.IVR, SessionState.OVERFLOW):
            self._move(SessionTrigger.CALLER_GONE)
            self._clean_up(out, hang_up_caller=False)
            return
        if self.state is not SessionState.ENDING:
            out.append(c.ToAcd(acd.ContactEnded(self.contact_id)))
        self._move(SessionTrigger.CALLER_GONE)

    def _on_digit(self, ev: e.CallerDigit, now: float, out: Commands) -> None:
        if self.ivr is not None and not self.caller_gone:
            self._ivr_event(flow.DigitPressed(ev.digit), now, out)

    def _on_prompt_done(self, ev: e.PromptDone, now: float, out: Commands) -> None:
        if self.ivr is not None:
            self._ivr_event(flow.PromptFinished(ev.playback_id), now, out)

    def _on_offer(self, ev: e.AcdOffer, now: float, out: Commands) -> None:
        self._move(SessionTrigger.OFFER)
        if self._answered_leg(ev.agent_id):
            return  # offered again to a volunteer whose leg answered already (see withdraw)
        channel_id = leg_id(LegRole.VOLUNTEER, self.contact_id, ev.token)
        self.legs[channel_id] = Leg(channel_id, LegRole.VOLUNTEER, LegState.DIALING, ev.agent_id)
        timeout_s = int(ev.ring_timeout_s + 0.999) + 5  # the ACD's own timer fires first
        out.append(
            c.Originate(
                self.contact_id,
                channel_id,
                LegRole.VOLUNTEER,
                f"PJSIP/{ev.agent_id}",
                timeout_s,
                self.caller_channel,
                self.presented_as,
            )
        )

    def _on_withdraw(self, ev: e.AcdWithdraw, now: float, out: Commands) -> None:
        if self.state is SessionState.RINGING and self._answered_leg(ev.agent_id):
            # The leg answered as the offer timed out: its OfferAccepted reaches the core
            # after this, and the core's answer (refused, or accepted if it offered the same
            # volunteer again) decides whether the leg is hung up or connected.
            self._move(SessionTrigger.OFFER_VOID)
            return
        leg = self.ringing_leg()
        if leg is None or leg.agent_id != ev.agent_id:
            return
        del self.legs[leg.channel_id]
        if self.state is SessionState.RINGING:
            self._move(SessionTrigger.OFFER_VOID)
        out.append(c.Hangup(self.contact_id, leg.channel_id))

    def _on_connect(self, ev: e.AcdConnect, now: float, out: Commands) -> None:
        leg = next(
            (
                leg
                for leg in self.legs.values()
                if leg.role is LegRole.VOLUNTEER and leg.agent_id == ev.agent_id
            ),
            None,
        )
        if leg is None:
            raise SessionError(f"contact {self.contact_id}: no leg of {ev.agent_id} to connect")
        self._move(SessionTrigger.CONNECT)
        if self.ivr is not None:
            self._ivr_event(flow.Connected(), now, out)  # stop comfort messages and music
        out.append(c.CreateBridge(self.contact_id, self.talk, "mixing"))
        out.append(c.RemoveFromBridge(self.contact_id, self.hold, self.caller_channel))
        out.append(c.AddToBridge(self.contact_id, self.talk, (self.caller_channel, leg.channel_id)))
        out.append(c.DeleteBridge(self.contact_id, self.hold))

    def _on_overflow(self, ev: e.AcdOverflow, now: float, out: Commands) -> None:
        self._move(SessionTrigger.OVERFLOW)
        for leg in list(self.legs.values()):
            out.append(c.Hangup(self.contact_id, leg.channel_id))
        self.legs.clear()
        if self.ivr is not None:
            self._ivr_event(flow.Overflowed(ev.reason), now, out)
        else:  # nothing can speak to the caller: end cleanly
            out.append(c.Hangup(self.contact_id, self.caller_channel))

    def _on_finished(self, ev: e.AcdFinished, now: float, out: Commands) -> None:
        if self.state is not SessionState.OVERFLOW:
            self._move(SessionTrigger.FINISHED)  # first: a refused event changes nothing
        if not self.record_written:
            self.record_written = True
            language = ev.done.language or self.language
            out.append(c.WriteRecord(ev.done, self.line_id, language))
        if self.state is SessionState.OVERFLOW:
            return  # the caller still hears the overflow message; the IVR hangs up
        self._clean_up(out, hang_up_caller=not self.caller_gone)

    def _on_refused(self, ev: e.AcdRefused, now: float, out: Commands) -> None:
        refused = ev.event
        if isinstance(refused, acd.OfferAccepted):
            # The offer was already void (timed out as the volunteer answered): hang up.
            for leg in list(self.legs.values()):
                if (
                    leg.agent_id == refused.agent_id
                    and leg.role is LegRole.VOLUNTEER
                    and leg.state is LegState.UP  # not the ringing leg of a newer offer
                ):
                    del self.legs[leg.channel_id]
                    out.append(c.Hangup(self.contact_id, leg.channel_id))
            if self.state is SessionState.RINGING and self.ringing_leg() is None:
                self._move(SessionTrigger.OFFER_VOID)

    def _on_effect_failed(self, ev: e.EffectFailed, now: float, out: Commands) -> None:
        failed = ev.command
        if isinstance(failed, c.Originate):
            leg = self.legs.get(failed.channel_id)
            if leg is None or leg.state is not LegState.DIALING:
                return
            # Almost always "no registered contact": the phone is unreachable. The contact
            # goes to someone else at once; the registration is looked at again shortly.
            del self.legs[failed.channel_id]
            if self.state is SessionState.RINGING:
                self._move(SessionTrigger.OFFER_VOID)
            agent_id = leg.agent_id or ""
            out.append(
                c.ToAcd(acd.OfferFailed(self.contact_id, agent_id, OfferFailure.UNREACHABLE))
            )
            out.append(c.RecheckPhone(self.contact_id, agent_id, PHONE_RECHECK_S))
            if ev.kind in ("timeout", "unavailable"):
                # The request may have reached Asterisk all the same: the phone may ring.
                out.append(c.Hangup(self.contact_id, failed.channel_id))
        elif ev.kind == "not_found" and _touches(failed, self.caller_channel):
            # The caller's channel is gone: the same as its hang-up, which may never reach
            # us if it happened while we were reconnecting.
            self._caller_left(now, out)
        elif self._holding_failed(failed, ev.kind):
            # A waiting child must never sit in silence outside its holding bridge (the
            # bridge could not be made, e.g. the connection to Asterisk broke): once more.
            self.hold_retries += 1
            out.append(c.CreateBridge(self.contact_id, self.hold, "holding"))
            out.append(c.AddToBridge(self.contact_id, self.hold, (self.caller_channel,)))
            out.append(c.StartMoh(self.contact_id, True, self.hold))

    def _holding_failed(self, failed: object, kind: str) -> bool:
        if self.caller_gone or self.hold_retries >= 1 or kind == "conflict":
            return False
        if self.state not in (SessionState.QUEUED, SessionState.RINGING):
            return False
        if isinstance(failed, c.CreateBridge):
            return failed.bridge_id == self.hold
        if isinstance(failed, c.AddToBridge):
            return failed.bridge_id == self.hold and self.caller_channel in failed.channel_ids
        return False

    # ------------------------------------------------------------------ the IVR

    def _ivr_event(self, event: flow.Event, now: float, out: Commands) -> None:
        assert self.ivr is not None
        try:
            commands = self.ivr.handle(event, now)
        except IvrError as exc:
            log.warning("IVR refused %s: %s", type(event).__name__, exc)
            return
        self._ivr_commands(commands, out)

    def _ivr_commands(self, commands: list[flow.Command], out: Commands) -> None:
        for command in commands:
            if isinstance(command, flow.Play):
                self._answer(out)
                on_bridge, target = self._sound_target()
                media = tuple(media_uri(p) for p in command.prompts)
                out.append(
                    c.Play(
                        self.contact_id,
                        on_bridge,
                        target,
                        media,
                        command.playback_id,
                        command.language,
                    )
                )
            elif isinstance(command, flow.StopPlayback):
                out.append(c.StopPlayback(self.contact_id, command.playback_id))
            elif isinstance(command, flow.StartHold):
                self._answer(out)
                out.append(c.StartMoh(self.contact_id, *self._sound_target()))
            elif isinstance(command, flow.StopHold):
                out.append(c.StopMoh(self.contact_id, *self._sound_target()))
            elif isinstance(command, flow.Enqueue):
                self._enqueue(command.language, out)
            elif isinstance(command, flow.Hangup):
                self._move(SessionTrigger.IVR_DONE)
                self._clean_up(out, hang_up_caller=not self.caller_gone)

    def _enqueue(self, language: str, out: Commands) -> None:
        """Hand the caller to the ACD first (a free volunteer's phone rings at once), then
        answer and hold them while it rings."""
        self._move(SessionTrigger.ENQUEUE)
        self.language = language
        arrived = acd.ContactArrived(
            self.contact_id, acd.Channel.PHONE, language=language, priority=self.priority
        )
        out.append(c.ToAcd(arrived))
        self._answer(out)
        out.append(c.CreateBridge(self.contact_id, self.hold, "holding"))
        out.append(c.AddToBridge(self.contact_id, self.hold, (self.caller_channel,)))

    def _sound_target(self) -> tuple[bool, str]:
        if self.state is SessionState.IVR:
            return False, self.caller_channel
        return True, self.hold

    def _answer(self, out: Commands) -> None:
        if not self.answered:
            self.answered = True
            out.append(c.Answer(self.contact_id, self.caller_channel))

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


def _touches(command: object, channel_id: str) -> bool:
    # Only a 404 on the channel's own resource says the channel is gone; adding it to a bridge
    # answers 404 for a missing *bridge* (a missing channel is a 422).
    return isinstance(command, c.Answer) and command.channel_id == channel_id


_HANDLERS: dict[type, Callable[[ContactSession, Any, float, Commands], None]] = {
    e.LegAnswered: ContactSession._on_leg_answered,
    e.LegGone: ContactSession._on_leg_gone,
    e.CallerDigit: ContactSession._on_digit,
    e.PromptDone: ContactSession._on_prompt_done,
    e.AcdOffer: ContactSession._on_offer,
    e.AcdWithdraw: ContactSession._on_withdraw,
    e.AcdConnect: ContactSession._on_connect,
    e.AcdOverflow: ContactSession._on_overflow,
    e.AcdFinished: ContactSession._on_finished,
    e.AcdRefused: ContactSession._on_refused,
    e.EffectFailed: ContactSession._on_effect_failed,
}
