"""After every ARI (re)connection: make the sessions and the core agree with Asterisk.

Asterisk is the truth about channels; the core (restored from Redis) is the truth about who
waits and in which order. Bridge and leg ids carry the contact id, so sessions, with any
number of legs, are rebuilt from Asterisk's lists alone. Then:
- a contact whose caller is gone ends (abandoned, or answered if it was talking);
- an offer whose volunteer leg is gone fails and the contact is offered again;
- a leg or bridge no contact owns is hung up or destroyed;
- a caller who entered Stasis but was never queued (we crashed in between) is admitted now;
- each volunteer's phone reachability is refreshed from the endpoint states.
Runs inside the engine's step; what it decides goes through the engine like any input.
"""

from __future__ import annotations

import logging
from typing import Protocol

import acd
from acd.model import Contact
from ari_app.effector import AsteriskSnapshot
from ari_app.models import Channel
from config.settings import HelplineConfig, Line
from dialplan.pjsip import CARRIER
from engine import Engine
from ivr import flow
from session import events as se
from session.ids import LegRole, leg_id, parse_bridge_id, parse_leg_id
from session.machine import ContactSession, Leg
from session.states import LegState, SessionState


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


log = logging.getLogger(__name__)

LOST_IN_RESTART = -1
"""The cause we give a leg that vanished while we were away (counts as a technical error)."""

_SESSION_STATE = {
    acd.ContactState.QUEUED: SessionState.QUEUED,
    acd.ContactState.OFFERED: SessionState.RINGING,
    acd.ContactState.CONNECTED: SessionState.TALKING,
}


def reconcile(router: RouterPort, snap: AsteriskSnapshot, gone: set[str]) -> None:
    engine = router.engine
    channels = {c.id: c for c in snap.channels if c.id not in gone}
    contacts = {c.contact_id: c for c in engine.acd.contacts()}
    bridged: set[str] = set()
    legs_in_bridges: dict[str, list[str]] = {}

    for bridge in snap.bridges:
        ours = parse_bridge_id(bridge.id)
        if ours is None:
            continue
        contact_id = ours[1]
        bridged.update(bridge.channel_ids)
        if contact_id not in contacts and contact_id not in engine.sessions:
            log.info("destroying a bridge left from a finished contact")
            for channel_id in bridge.channel_ids:
                router.hang_up_stray(channel_id)
            router.delete_stray_bridge(bridge.id)
            continue
        for channel_id in bridge.channel_ids:
            if parse_leg_id(channel_id) is not None:
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
            for channel_id in list(session.legs):
                if channel_id not in channels:
                    engine.to_session(contact_id, se.LegGone(channel_id, LOST_IN_RESTART))
            if not session.legs:
                engine.to_acd(acd.ContactEnded(contact_id), contact_id)

    # Sessions the core does not hold (in the IVR, or hearing the overflow message).
    for contact_id, session in list(engine.sessions.items()):
        if contact_id not in contacts and session.caller_channel not in channels:
            engine.to_session(contact_id, se.LegGone(session.caller_channel))

    for channel in channels.values():
        if engine.contact_of_caller(channel.id) is not None:
            continue
        parsed = parse_leg_id(channel.id)
        if parsed is not None:
            session = engine.sessions.get(parsed[1])
            if session is None or channel.id not in session.legs:
                router.hang_up_stray(channel.id)  # an offer the core no longer has
            continue
        line = router.cfg.line_for_number(channel.exten or "")
        if channel.context == CARRIER and line is not None and channel.id not in bridged:
            log.info("admitting a caller who was never queued")
            router.admit(channel.id, line)

    online = {e.resource: e.online for e in snap.endpoints if e.technology == "PJSIP"}
    router.phones = dict(online)
    for volunteer in list(engine.acd.agents()):
        router.phone_seen(volunteer.agent_id, online.get(volunteer.agent_id, False))


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
