"""A warm transfer's legs and bridges: what each step of ``session.transfer`` does to a call.

``session.transfer`` holds the transfer's own states and rules; ``TransferLegs`` carries them
out on the call: it dials the partner, puts the child on hold for a consult and back into the
talk bridge, lets the volunteer leave (the contact is then ``HANDED_OVER``, finished for the
ACD), sends the child back to the queue when the volunteer's phone drops before the partner
answered, and notes the referral for the contact's record. Reconciliation after a restart
adopts a transfer found in Asterisk (``adopt_transfer``). Built on ``session.legs``.
"""

from __future__ import annotations

import acd
from ivr import flow
from ivr.ivr_config import IvrSection
from session import commands as c
from session import events as e
from session.errors import TransferRefused
from session.ids import LegRole, PartnerLegFacts, partner_leg_id
from session.legs import CallLegs, Commands, Leg, offer_failure_for
from session.referral import Referral
from session.states import LegState, SessionState, SessionTrigger
from session.transfer import (
    STEPS,
    Transfer,
    TransferMode,
    TransferState,
    TransferTrigger,
    next_transfer_state,
)


class TransferLegs(CallLegs):
    """A warm transfer's requests and steps, and their effects on legs and bridges."""

    # ------------------------------------------------------------------ warm transfer

    def _on_transfer_requested(self, ev: e.TransferRequested, now: float, out: Commands) -> None:
        volunteer = self._talking_leg(ev.agent_id)
        if self.state is not SessionState.TALKING or self.caller_gone or volunteer is None:
            raise TransferRefused("no_call", "you are not in a call with a child")
        if self.transfer is not None and self.transfer.active:
            raise TransferRefused(
                "transfer_in_progress",
                "this call already has a transfer in progress; cancel it first",
                {"state": self.transfer.state.value},
            )
        self.partner_legs += 1
        partner = ev.partner
        channel_id = partner_leg_id(
            self.contact_id, self.partner_legs, ev.mode.value, partner.partner_id, ev.region
        )
        consult = ev.mode is TransferMode.CONSULT
        self.transfer = Transfer(
            partner.partner_id,
            partner.name,
            ev.mode,
            ev.region,
            channel_id,
            ev.agent_id,
            volunteer.channel_id,
            TransferState.DIALING if consult else TransferState.DIALING_DIRECT,
            now,
            now,
        )
        self.legs[channel_id] = Leg(channel_id, LegRole.PARTNER, LegState.DIALING)
        out.append(
            c.Originate(
                self.contact_id,
                channel_id,
                LegRole.PARTNER,
                partner.endpoint,
                partner.ring_timeout_s,
                self.caller_channel,
                partner.caller_id,
                partner.variables,
            )
        )
        if consult:
            self._child_to_hold(out, music=ev.hold_music)
        self._transfer_changed(out)

    def _on_transfer_step(self, ev: e.TransferStep, now: float, out: Commands) -> None:
        t = self.transfer
        if t is None or not t.active:
            raise TransferRefused("no_transfer", "there is no transfer in progress on this call")
        if ev.agent_id != t.agent_id:
            raise TransferRefused("not_allowed", "only the volunteer who started it may do that")
        trigger = STEPS.get(ev.step)
        if trigger is None:
            raise TransferRefused("not_allowed", f"unknown step {ev.step!r}")
        was = t.state
        next_transfer_state(was, trigger)  # refuses before anything changes
        if trigger is TransferTrigger.CONFERENCE:
            t.move(trigger, now)
            self._child_back(out)
            self._note_referral(t)
        elif trigger is TransferTrigger.STAY:
            t.stayed = True
            t.move(trigger, now)
        elif trigger is TransferTrigger.LEAVE:
            t.move(trigger, now, "volunteer_left")
            leg = self.legs.pop(t.volunteer_leg, None)
            if leg is not None:
                out.append(c.Hangup(self.contact_id, leg.channel_id))
            self._hand_over(out)
        elif trigger is TransferTrigger.CANCEL:
            t.move(trigger, now, "cancelled")
            if self.legs.pop(t.channel_id, None) is not None:
                out.append(c.Hangup(self.contact_id, t.channel_id))
            if was in (TransferState.DIALING, TransferState.CONSULT):
                self._child_back(out)
        self._transfer_changed(out)

    def _partner_answered(self, leg: Leg, now: float, out: Commands) -> None:
        t = self.transfer
        if t is None or not t.active or leg.channel_id != t.channel_id:
            self.legs.pop(leg.channel_id, None)
            out.append(c.Hangup(self.contact_id, leg.channel_id))  # a cancelled transfer's
            return
        t.move(TransferTrigger.PARTNER_ANSWERED, now)
        out.append(c.AddToBridge(self.contact_id, self.talk, (leg.channel_id,)))
        self._note_referral(t)
        self._transfer_changed(out)

    def _partner_gone(self, leg: Leg, cause: int | None, now: float, out: Commands) -> None:
        t = self.transfer
        assert t is not None
        was = t.state
        if was in (TransferState.DIALING, TransferState.DIALING_DIRECT):
            reason = offer_failure_for(cause).value
        else:
            reason = "partner_left"
        t.move(TransferTrigger.PARTNER_GONE, now, reason)
        if was in (TransferState.DIALING, TransferState.CONSULT):
            self._child_back(out)
        self._transfer_changed(out)
        if was is TransferState.HANDED_OVER:
            # The child and the partner were alone together: that conversation is over.
            self._move(SessionTrigger.LAST_PARTY_GONE)
            self._clean_up(out, hang_up_caller=not self.caller_gone)

    def _transfer_volunteer_gone(self, now: float, out: Commands) -> None:
        """The volunteer's phone dropped (or hung up) during a transfer."""
        t = self.transfer
        assert t is not None
        was = t.state
        t.move(TransferTrigger.VOLUNTEER_GONE, now, "volunteer_left")
        if was in (TransferState.DIALING, TransferState.DIALING_DIRECT):
            # The partner never answered: nobody is there for the child but the queue.
            if self.legs.pop(t.channel_id, None) is not None:
                out.append(c.Hangup(self.contact_id, t.channel_id))
            self._transfer_changed(out)
            self._back_to_queue(t.agent_id, on_hold=was is TransferState.DIALING, now=now, out=out)
            return
        if was is TransferState.CONSULT:
            self._child_back(out)  # to the partner, who answered
        self._note_referral(t)
        self._transfer_changed(out)
        self._hand_over(out)

    def _hand_over(self, out: Commands) -> None:
        """The volunteer is gone; the child and the partner talk on: the ACD is done."""
        self._move(SessionTrigger.HAND_OVER)
        out.append(c.ToAcd(acd.ContactEnded(self.contact_id)))

    def _back_to_queue(self, agent_id: str, *, on_hold: bool, now: float, out: Commands) -> None:
        if on_hold:
            out.append(c.StartMoh(self.contact_id, True, self.hold))  # it may have been silence
        else:
            self._child_to_hold(out, music=True)
        self._move(SessionTrigger.RETURN)
        # The waiting routine again: music now, comfort messages from the next interval.
        self.ivr = flow.IvrCall(self.contact_id, self.ivr.settings if self.ivr else IvrSection())
        self.ivr.resume_waiting(self.language, now)
        out.append(c.ToAcd(acd.ContactReturned(self.contact_id, agent_id)))

    def _child_to_hold(self, out: Commands, *, music: bool) -> None:
        out.append(c.CreateBridge(self.contact_id, self.hold, "holding"))
        out.append(c.RemoveFromBridge(self.contact_id, self.talk, self.caller_channel))
        out.append(c.AddToBridge(self.contact_id, self.hold, (self.caller_channel,)))
        if music:
            out.append(c.StartMoh(self.contact_id, True, self.hold))

    def _child_back(self, out: Commands) -> None:
        """From the holding bridge into the talk bridge (whoever is there now)."""
        out.append(c.RemoveFromBridge(self.contact_id, self.hold, self.caller_channel))
        out.append(c.AddToBridge(self.contact_id, self.talk, (self.caller_channel,)))
        out.append(c.DeleteBridge(self.contact_id, self.hold))

    def _note_referral(self, t: Transfer) -> None:
        if t.joined:
            self.referred = (t.partner_id, t.region)

    def _referral(self) -> Referral | None:
        if self.referred is None:
            return None
        partner_id, region = self.referred
        stayed = self.state is not SessionState.HANDED_OVER
        return Referral(partner_id, region, consent=True, volunteer_stayed=stayed)

    def _transfer_changed(self, out: Commands) -> None:
        if self.transfer is not None:
            out.append(c.TransferChanged(self.transfer.view(self.contact_id)))

    def adopt_transfer(
        self,
        facts: PartnerLegFacts,
        channel_id: str,
        state: TransferState,
        *,
        agent_id: str,
        volunteer_leg: str,
        partner_name: str,
        now: float,
    ) -> None:
        """Reconciliation found a transfer in progress in Asterisk (after a restart of ours)."""
        up = state not in (TransferState.DIALING, TransferState.DIALING_DIRECT)
        self.legs[channel_id] = Leg(
            channel_id, LegRole.PARTNER, LegState.UP if up else LegState.DIALING
        )
        self.partner_legs = max(self.partner_legs, facts.n)
        self.transfer = Transfer(
            facts.partner_id,
            partner_name,
            TransferMode(facts.mode),
            facts.region,
            channel_id,
            agent_id,
            volunteer_leg,
            state,
            now,
            now,
            joined=state in (TransferState.CONFERENCE, TransferState.HANDED_OVER),
        )
        self._note_referral(self.transfer)
