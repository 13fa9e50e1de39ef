"""After every ARI (re)connection: make the sessions and the core agree with Asterisk.

Asterisk is the truth about channels; the core (restored from Redis) is the truth about who
waits and in which order. Bridge and leg ids carry the contact id, so sessions, with any
number of legs, are rebuilt from Asterisk's lists alone. Then:
- a contact whose caller is gone ends (abandoned, or answered if it was talking);
- an offer whose volunteer leg is gone fails and the contact is offered again;
- a leg or bridge no contact owns is hung up or destroyed;
- a caller who entered Stasis but was never queued (we crashed in between) is admitted now;
- a warm transfer in progress is rebuilt from where the child and the partner's leg are (the
  partner leg's id carries the transfer's facts): ringing, consult, conference, or handed over
  (child and partner alone in the talk bridge, the contact already finished for the core);
- a coaching the sessions still hold keeps its supervisor leg, snoop and coach bridge (the
  event stream only broke) and hears of a supervisor leg that vanished; any other (after a
  restart of ours: a coaching is not rebuilt, the supervisor starts it again) is hung up;
- each volunteer's phone reachability is refreshed from the endpoint states.
Runs inside the engine's step; what it decides goes through the engine like any input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

import acd
from acd.model import Contact
from ari_app.effector import AsteriskSnapshot
from ari_app.models import Bridge, Channel
from config.settings import HelplineConfig, Line
from dialplan.pjsip import CARRIER
from engine import Engine
from ivr import flow
from session import events as se
from session.coaching_states import CoachingState
from session.ids import (
    LegRole,
    PartnerLegFacts,
    contact_of_coaching,
    hold_bridge_id,
    leg_id,
    parse_bridge_id,
    parse_leg_id,
    partner_leg_facts,
    talk_bridge_id,
)
from session.machine import ContactSession, Leg
from session.states import LegState, SessionState
from session.transfer import TransferState


class RouterPort(Protocol):
    """What reconciliation needs of the router (``ari_app.router.AriRouter`` is one).

    A Protocol, not the router class: the router calls ``reconcile``, so importing it back
    here would make a circle."""

    cfg: HelplineConfig
    engine: Engine
    phones: dict[str, bool]

    def admit(self, channel_id: str, line: Line) -> None: ...

    def presented_as(self, line: Line) -> str: ...

    def phone_seen(self, agent_id: str, online: bool) -> None: ...

    def hang_up_stray(self, channel_id: str) -> None: ...

    def delete_stray_bridge(self, bridge_id: str) -> None: ...

    def partner_name(self, partner_id: str) -> str: ...


log = logging.getLogger(__name__)

LOST_IN_RESTART = -1
"""The cause we give a leg that vanished while we were away (counts as a technical error)."""

_SESSION_STATE = {
    acd.ContactState.QUEUED: SessionState.QUEUED,
    acd.ContactState.OFFERED: SessionState.RINGING,
    acd.ContactState.CONNECTED: SessionState.TALKING,
}


def reconcile(
    router: RouterPort, snap: AsteriskSnapshot, gone: set[str], heard: Mapping[str, bool]
) -> None:
    """``gone``: channels that ended while the lists were read; ``heard``: the last state of
    each endpoint whose change was heard meanwhile."""
    engine = router.engine
    channels = {c.id: c for c in snap.channels if c.id not in gone}
    # Chats have nothing in Asterisk: their sessions are rebuilt by Engine.adopt_chats.
    contacts = {c.contact_id: c for c in engine.acd.contacts() if c.channel is acd.Channel.PHONE}
    bridged: set[str] = set()
    legs_in_bridges: dict[str, list[str]] = {}
    # Read once for every contact: who is in which bridge, and each contact's partner leg.
    members = {b.id: set(b.channel_ids) for b in snap.bridges}
    partner_legs = {
        facts.contact_id: (channel, facts)
        for channel in channels.values()
        if (facts := partner_leg_facts(channel.id)) is not None
    }

    for bridge in snap.bridges:
        ours = parse_bridge_id(bridge.id)
        if ours is None:
            if contact_of_coaching(bridge.id) is not None and not _coaching_kept(engine, bridge.id):
                router.delete_stray_bridge(bridge.id)  # its snoop and supervisor go below
            continue
        contact_id = ours[1]
        bridged.update(bridge.channel_ids)
        if contact_id not in contacts and contact_id not in engine.sessions:
            if _recover_handed_over(router, contact_id, bridge, channels):
                continue
            log.info("destroying a bridge left from a finished contact")
            for channel_id in bridge.channel_ids:
                router.hang_up_stray(channel_id)
            router.delete_stray_bridge(bridge.id)
            continue
        for channel_id in bridge.channel_ids:
            leg = parse_leg_id(channel_id)
            if leg is not None and leg[0] is LegRole.SUPERVISOR:
                continue  # a barging supervisor is not a party the conversation waits for
            if leg is not None:
                legs_in_bridges.setdefault(contact_id, []).append(channel_id)
            elif contact_id not in engine.sessions and channel_id in channels:
                _recover_caller(router, contacts[contact_id], channels[channel_id])

    for contact_id, contact in contacts.items():
        session = engine.sessions.get(contact_id)
        if session is None or session.caller_channel not in channels:
            if session is not None:
                engine.to_session(contact_id, se.LegGone(session.caller_channel))
            else:
                engine.to_acd(acd.ContactEnded(contact_id))
            continue
        if contact.state is acd.ContactState.OFFERED:
            _check_offer(router, session, contact, channels)
        elif contact.state is acd.ContactState.CONNECTED:
            for channel_id in legs_in_bridges.get(contact_id, []):
                if channel_id in channels and channel_id not in session.legs:
                    role = parse_leg_id(channel_id)
                    agent = contact.agent_id if role and role[0] is LegRole.VOLUNTEER else None
                    session.add_recovered_leg(
                        Leg(channel_id, role[0] if role else LegRole.VOLUNTEER, LegState.UP, agent)
                    )
            _recover_transfer(router, session, contact, members, partner_legs)
            for channel_id in list(session.legs):
                if channel_id not in channels:
                    engine.to_session(contact_id, se.LegGone(channel_id, LOST_IN_RESTART))
            co = session.coaching
            if co is not None and co.active and co.supervisor_leg not in channels:
                if co.state is CoachingState.ACTIVE:  # a ringing one may be younger than the list
                    engine.to_session(contact_id, se.LegGone(co.supervisor_leg, LOST_IN_RESTART))
            if not session.legs:
                engine.to_acd(acd.ContactEnded(contact_id), contact_id)

    # Sessions the core does not hold (in the IVR, or hearing the overflow message).
    for contact_id, session in list(engine.sessions.items()):
        if contact_id not in contacts and session.caller_channel not in channels:
            engine.to_session(contact_id, se.LegGone(session.caller_channel))

    for channel in channels.values():
        if engine.contact_of_caller(channel.id) is not None:
            continue
        if contact_of_coaching(channel.id) is not None:
            if not _coaching_kept(engine, channel.id):
                router.hang_up_stray(channel.id)  # a snoop of a coaching that is over
            continue
        parsed = parse_leg_id(channel.id)
        if parsed is not None:
            session = engine.sessions.get(parsed[1])
            if parsed[0] is LegRole.SUPERVISOR and _coaching_kept(engine, channel.id):
                continue
            if session is None or channel.id not in session.legs:
                router.hang_up_stray(channel.id)  # an offer the core no longer has
            continue
        line = router.cfg.line_for_number(channel.exten or "")
        if channel.context == CARRIER and line is not None and channel.id not in bridged:
            log.info("admitting a caller who was never queued")
            router.admit(channel.id, line)

    online = {e.resource: e.online for e in snap.endpoints if e.technology == "PJSIP"}
    # A change heard while the list was on its way is at least as new as the list: the list
    # was read after the subscription began, so any later change has an event of its own, and
    # the last event per endpoint is the truth. (A phone registering just after we connected
    # was otherwise left "offline" by the older list and got no calls.)
    online.update(heard)
    router.phones = dict(online)
    for volunteer in list(engine.acd.agents()):
        router.phone_seen(volunteer.agent_id, online.get(volunteer.agent_id, False))


def _coaching_kept(engine: Engine, resource_id: str) -> bool:
    """Whether a supervisor leg, snoop or coach bridge belongs to a coaching still going on."""
    parsed = parse_leg_id(resource_id)
    contact_id = parsed[1] if parsed is not None else contact_of_coaching(resource_id)
    session = engine.sessions.get(contact_id or "")
    co = session.coaching if session is not None else None
    if co is None or not co.active:
        return False
    return co.owns(resource_id) or resource_id == co.coach_bridge


def _recover_caller(router: RouterPort, contact: Contact, caller: Channel) -> None:
    """A caller found in one of our bridges after a restart of ours: rebuild its session."""
    engine = router.engine
    line = router.cfg.line_for_number(caller.exten or "") or router.cfg.lines[0]
    language: str = contact.language or line.language
    state = _SESSION_STATE.get(contact.state, SessionState.QUEUED)
    ivr = None
    if contact.state is not acd.ContactState.CONNECTED:
        # Still waiting: hold music never stopped; comfort messages resume from now.
        ivr = flow.IvrCall(contact.contact_id, router.cfg.ivr)
        ivr.resume_waiting(language, engine.now())
    session = ContactSession(
        contact.contact_id,
        line.id,
        language,
        caller.id,
        priority=contact.priority,
        presented_as=router.presented_as(line),
        ivr=ivr,
        state=SessionState.QUEUED if state is SessionState.RINGING else state,
        answered=True,
    )
    engine.adopt_session(session)


def _recover_transfer(
    router: RouterPort,
    session: ContactSession,
    contact: Contact,
    members: dict[str, set[str]],
    partner_legs: dict[str, tuple[Channel, PartnerLegFacts]],
) -> None:
    """A connected contact with a partner leg in Asterisk: where was its transfer?"""
    contact_id = contact.contact_id
    partner = partner_legs.get(contact_id)
    if partner is None or session.transfer is not None:
        return
    channel, facts = partner
    channel_id = channel.id
    on_hold = session.caller_channel in members.get(hold_bridge_id(contact_id), set())
    partner_talks = channel_id in members.get(talk_bridge_id(contact_id), set())
    if partner_talks:
        state = TransferState.CONSULT if on_hold else TransferState.CONFERENCE
    else:
        state = TransferState.DIALING if on_hold else TransferState.DIALING_DIRECT
    agent_id = contact.agent_id or ""
    # The volunteer's leg is the accepted offer's; if it vanished while we were away, it is
    # added all the same so that its LegGone lets the transfer decide (hand over or requeue).
    volunteer = next(
        (leg.channel_id for leg in session.legs.values() if leg.role is LegRole.VOLUNTEER),
        leg_id(LegRole.VOLUNTEER, contact_id, contact.offer_token),
    )
    if volunteer not in session.legs:
        session.add_recovered_leg(Leg(volunteer, LegRole.VOLUNTEER, LegState.UP, agent_id))
    session.adopt_transfer(
        facts,
        channel_id,
        state,
        agent_id=agent_id,
        volunteer_leg=volunteer,
        partner_name=router.partner_name(facts.partner_id),
        now=router.engine.now(),
    )
    router.engine.publish_transfer(session)
    if not partner_talks and channel.state == "Up":
        router.engine.to_session(contact_id, se.LegAnswered(channel_id))  # while we were away
    log.info("rebuilt a warm transfer in state %s", state.value)


def _recover_handed_over(
    router: RouterPort, contact_id: str, bridge: Bridge, channels: dict[str, Channel]
) -> bool:
    """A talk bridge of a contact the core has finished: a child handed over to a partner?"""
    if bridge.id != talk_bridge_id(contact_id):
        return False
    callers = [c for c in bridge.channel_ids if parse_leg_id(c) is None and c in channels]
    partners = [
        (c, facts)
        for c in bridge.channel_ids
        if (facts := partner_leg_facts(c)) is not None and c in channels
    ]
    if len(callers) != 1 or not partners:
        return False
    caller = channels[callers[0]]
    channel_id, facts = partners[0]
    line = router.cfg.line_for_number(caller.exten or "") or router.cfg.lines[0]
    session = ContactSession(
        contact_id,
        line.id,
        line.language,
        caller.id,
        presented_as=router.presented_as(line),
        state=SessionState.HANDED_OVER,
        answered=True,
    )
    session.record_written = True  # the core finished it before we went away
    session.adopt_transfer(
        facts,
        channel_id,
        TransferState.HANDED_OVER,
        agent_id="",
        volunteer_leg="",
        partner_name=router.partner_name(facts.partner_id),
        now=router.engine.now(),
    )
    router.engine.adopt_session(session)
    router.engine.publish_transfer(session)
    log.info("rebuilt a call handed over to a partner")
    return True


def _check_offer(
    router: RouterPort,
    session: ContactSession,
    contact: Contact,
    channels: dict[str, Channel],
) -> None:
    """The core says the contact rings for a volunteer: is that leg still there?"""
    engine = router.engine
    agent_id = contact.agent_id or ""
    leg = leg_id(LegRole.VOLUNTEER, contact.contact_id, contact.offer_token)
    if leg in channels:
        if leg not in session.legs:
            session.add_recovered_leg(Leg(leg, LegRole.VOLUNTEER, LegState.DIALING, agent_id))
            if session.state is SessionState.QUEUED:
                session.state = SessionState.RINGING
        if channels[leg].state == "Up":  # answered while we were away
            engine.to_session(contact.contact_id, se.LegAnswered(leg))
        return
    if leg in session.legs:
        # Not in the list, but it may only be younger than the list (originated while it
        # was read): stop it ringing, as the contact is offered again.
        router.hang_up_stray(leg)
        engine.to_session(contact.contact_id, se.LegGone(leg, LOST_IN_RESTART))
    else:
        engine.to_acd(acd.OfferFailed(contact.contact_id, agent_id, acd.OfferFailure.ERROR))
