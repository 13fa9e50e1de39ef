"""After every ARI (re)connection: make the core and the registry agree with Asterisk.

Asterisk is the truth about channels; the core (restored from Redis) is the truth about who
waits and in which order. Bridges carry the contact id in their names, so the registry is
rebuilt from Asterisk's bridge list alone. Then:
- a contact whose caller is gone ends (abandoned, or answered if it was talking);
- an offer whose volunteer leg is gone fails and the contact is offered again;
- a leg or bridge the core no longer knows is hung up or destroyed;
- a caller who entered Stasis but was never queued (we crashed in between) is admitted now;
- each volunteer's phone reachability is refreshed from the endpoint states.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import acd
from ari_app.calls import ContactCall, parse_bridge_id, parse_leg_id, volunteer_leg_id
from ari_app.errors import AriNotFound
from dialplan.pjsip import CARRIER
from ivr import flow

if TYPE_CHECKING:
    from ari_app.app import HelplineApp

log = logging.getLogger(__name__)


async def reconcile(app: HelplineApp) -> None:
    ari = app.ari
    channels = {c.id: c for c in await ari.channels.list()}
    bridges = await ari.bridges.list()
    bridged: set[str] = set()
    contacts = {c.contact_id: c for c in app.acd.contacts()}
    legs_in_bridges: dict[str, str] = {}

    for bridge in bridges:
        parsed = parse_bridge_id(bridge.id)
        if parsed is None:
            continue
        _kind, contact_id = parsed
        bridged.update(bridge.channel_ids)
        if contact_id not in contacts:
            log.info("destroying a bridge left from a finished contact")
            for channel_id in bridge.channel_ids:
                await _hangup(app, channel_id)
            await _quiet(app.ari.bridges.delete(bridge.id))
            continue
        for channel_id in bridge.channel_ids:
            if parse_leg_id(channel_id) is not None:
                legs_in_bridges[contact_id] = channel_id
            elif contact_id not in app.calls:
                caller = channels.get(channel_id)
                line = app.cfg.line_for_number(caller.exten or "") if caller else None
                line = line or app.cfg.lines[0]
                contact = contacts[contact_id]
                language: str = contact.language or line.language
                # A caller found in a bridge after a restart: hold music never stopped.
                recovered = ContactCall(
                    contact_id, line.id, language, channel_id, queued=True, answered=True
                )
                if contact.state is not acd.ContactState.CONNECTED:
                    # Still waiting: comfort messages resume where the old process stopped.
                    recovered.ivr = flow.IvrCall(contact_id, app.cfg.ivr)
                    recovered.ivr.resume_waiting(language, app.clock())
                app.calls.add(recovered)

    for contact_id, contact in contacts.items():
        call = app.calls.get(contact_id)
        if call is None or call.caller_channel not in channels:
            await app.apply_quietly(acd.ContactEnded(contact_id))
            continue
        if contact.state is acd.ContactState.OFFERED:
            leg = volunteer_leg_id(contact_id, contact.offer_token)
            agent_id = contact.agent_id or ""
            if leg in channels:
                app.calls.set_leg(contact_id, agent_id, leg)
                if channels[leg].state == "Up":  # answered while we were away
                    await app.apply_quietly(acd.OfferAccepted(contact_id, agent_id))
            else:
                await app.apply_quietly(
                    acd.OfferFailed(contact_id, agent_id, acd.OfferFailure.ERROR)
                )
        elif contact.state is acd.ContactState.CONNECTED:
            talking = legs_in_bridges.get(contact_id)
            if talking is None or talking not in channels:
                await app.apply_quietly(acd.ContactEnded(contact_id))
            else:
                app.calls.set_leg(contact_id, contact.agent_id or "", talking)

    for channel in channels.values():
        if app.calls.by_channel(channel.id) is not None:
            continue
        if parse_leg_id(channel.id) is not None:
            await _hangup(app, channel.id)  # an offer the core no longer has
            continue
        line = app.cfg.line_for_number(channel.exten or "")
        if channel.context == CARRIER and line is not None and channel.id not in bridged:
            log.info("admitting a caller who was never queued")
            await app.admit(channel.id, line)

    endpoints = {e.resource: e for e in await ari.endpoints.list() if e.technology == "PJSIP"}
    for agent in list(app.acd.agents()):
        endpoint = endpoints.get(agent.agent_id)
        online = endpoint is not None and endpoint.online
        if agent.phone_reachable != online:
            await app.apply_quietly(acd.AgentReachability(agent.agent_id, online))


async def _hangup(app: HelplineApp, channel_id: str) -> None:
    await _quiet(app.ari.channels.hangup(channel_id))


async def _quiet(call: object) -> None:
    try:
        await call  # type: ignore[misc]
    except AriNotFound:
        pass
