"""One contact's session: its legs, its bridges and what its caller hears.

The ACD owns routing (who gets the contact); the session owns the parties. It turns the
ACD's words (offer, withdraw, connect, overflow, finished) into effects on legs and bridges,
and facts about legs (answered, gone) into events for the ACD (``ToAcd``). It drives the
contact's IVR until a volunteer answers. Sans-IO: events in, commands out, ``now`` passed in.

A volunteer leg leaving does not by itself end the contact: the contact ends when the caller
leaves, or when the last party other than the caller leaves a conversation. With a partner in
a warm transfer (``session.transfer``) the volunteer may leave and the conversation goes on:
the contact is then ``HANDED_OVER``, finished for the ACD, and ends when the child or the
partner hangs up.

The session is put together from parts, each a module: ``session.legs`` (the state, the legs
and the helpers over them), ``session.ivr_driver`` (what the caller hears from the IVR) and
``session.transfer_legs`` (a warm transfer's legs and bridges). Here: the entry points, the
legs' own news, the ACD's words, effects that failed, and the coaching requests (whose rules
are ``session.coaching``'s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import acd
from acd.events import OfferFailure
from ivr import flow
from session import commands as c
from session import events as e
from session.coaching import request_coaching, step_coaching
from session.coaching_states import COACHING_CALLER_ID
from session.errors import SessionError
from session.ids import LegRole, leg_id
from session.ivr_driver import IvrDriver
from session.legs import Commands, Leg, offer_failure_for
from session.states import LegState, SessionState, SessionTrigger
from session.transfer import TransferTrigger
from session.transfer_legs import TransferLegs

# ``Leg`` and ``offer_failure_for`` live in ``session.legs``; still importable from here.
__all__ = ["PHONE_RECHECK_S", "ContactSession", "Leg", "QueueNews", "offer_failure_for"]

log = logging.getLogger(__name__)

PHONE_RECHECK_S = 5.0
"""After a failed originate, how long until the phone's registration is looked at again."""


@dataclass(frozen=True, slots=True)
class QueueNews:
    """What a waiting caller's comfort message may say."""

    position: int
    """1-based place in the queue."""
    expected_wait_s: float | None
    """Expected wait, if it can be estimated."""


class ContactSession(TransferLegs, IvrDriver):
    """The parties of one phone contact, from arrival to end."""

    # ------------------------------------------------------------------ public API

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
        co = self.coaching
        if co is not None and co.active and (self.caller_gone or self.closed):
            out += co.call_ended(now)
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

    # ------------------------------------------------------------------ handlers

    def _on_leg_answered(self, ev: e.LegAnswered, now: float, out: Commands) -> None:
        if self.coaching is not None and self.coaching.owns(ev.channel_id):
            out += self.coaching.answered(ev.channel_id, now)
            return
        leg = self.legs.get(ev.channel_id)
        if leg is None or leg.state is not LegState.DIALING:
            out.append(c.Hangup(self.contact_id, ev.channel_id))  # a leg of an older offer
            return
        leg.state = LegState.UP
        if leg.role is LegRole.VOLUNTEER:
            out.append(c.ToAcd(acd.OfferAccepted(self.contact_id, leg.agent_id or "")))
        elif leg.role is LegRole.PARTNER:
            self._partner_answered(leg, now, out)

    def _on_leg_gone(self, ev: e.LegGone, now: float, out: Commands) -> None:
        if ev.channel_id == self.caller_channel:
            self._caller_left(now, out)
            return
        co = self.coaching
        if co is not None and co.owns(ev.channel_id):
            out += co.gone(ev.channel_id, offer_failure_for(ev.cause).value, now)
            return
        leg = self.legs.pop(ev.channel_id, None)
        if leg is None:
            return
        if co is not None and ev.channel_id == co.volunteer_leg:
            out += co.volunteer_gone(now)
        t = self.transfer
        if t is not None and t.active:
            if ev.channel_id == t.channel_id:
                self._partner_gone(leg, ev.cause, now, out)
                return
            if ev.channel_id == t.volunteer_leg:
                self._transfer_volunteer_gone(now, out)
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
        t = self.transfer
        if t is not None and t.active:
            t.move(TransferTrigger.CALLER_GONE, now, "caller_left")
            self._transfer_changed(out)
        if self.state in (SessionState.IVR, SessionState.OVERFLOW, SessionState.HANDED_OVER):
            self._move(SessionTrigger.CALLER_GONE)
            self._clean_up(out, hang_up_caller=False)
            return
        if self.state is not SessionState.ENDING:
            out.append(c.ToAcd(acd.ContactEnded(self.contact_id)))
        self._move(SessionTrigger.CALLER_GONE)

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
            out.append(c.WriteRecord(ev.done, self.line_id, language, self._referral()))
        if self.state is SessionState.OVERFLOW:
            return  # the caller still hears the overflow message; the IVR hangs up
        if self.state is SessionState.HANDED_OVER:
            return  # the child talks on with the partner
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
        elif isinstance(refused, acd.ContactReturned):
            # The core no longer had the contact with that volunteer (a race): rather than
            # leave the child waiting for an offer that cannot come, end the call.
            log.warning("contact %s could not go back to the queue; ending it", self.contact_id)
            out.append(c.ToAcd(acd.ContactEnded(self.contact_id)))

    def _on_effect_failed(self, ev: e.EffectFailed, now: float, out: Commands) -> None:
        failed = ev.command
        co = self.coaching
        if isinstance(failed, (c.Originate, c.Snoop)) and co and co.owns(failed.channel_id):
            out += co.effect_failed(failed, ev.kind, now)
        elif isinstance(failed, c.Originate) and failed.role is LegRole.PARTNER:
            leg = self.legs.pop(failed.channel_id, None)
            if leg is not None and leg.state is LegState.DIALING:
                if ev.kind in ("timeout", "unavailable"):
                    out.append(c.Hangup(self.contact_id, failed.channel_id))
                self._partner_gone(leg, 3, now, out)  # 3: no route, i.e. unreachable
        elif isinstance(failed, c.Originate):
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

    # ------------------------------------------------------------------ coaching

    def _on_coaching_requested(self, ev: e.CoachingRequested, now: float, out: Commands) -> None:
        talking = self.state is SessionState.TALKING and not self.caller_gone
        leg = self._talking_leg(ev.agent_id) if talking else None
        self.coaching, start = request_coaching(
            self.coaching,
            ev,
            leg.channel_id if leg is not None else None,
            contact_id=self.contact_id,
            talk_bridge=self.talk,
            originator=self.caller_channel,
            caller_id=COACHING_CALLER_ID,
            now=now,
        )
        out += start

    def _on_coaching_step(self, ev: e.CoachingStep, now: float, out: Commands) -> None:
        out += step_coaching(self.coaching, ev, now)


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
    e.TransferRequested: ContactSession._on_transfer_requested,
    e.TransferStep: ContactSession._on_transfer_step,
    e.CoachingRequested: ContactSession._on_coaching_requested,
    e.CoachingStep: ContactSession._on_coaching_step,
}
