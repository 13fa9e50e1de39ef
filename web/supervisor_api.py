"""The supervisor's API: coach a volunteer's call, pause or log out a volunteer, surge mode.

Only accounts with the ``supervisor`` role (403 ``not_a_supervisor`` otherwise, as for the
reports), signed in as volunteers are (bearer token or session cookie with the CSRF token:
``authenticate``).

- Coaching rings the supervisor's own phone (``PJSIP/<supervisor id>``, a SIP or browser
  phone) and, once it is answered, lets them **listen** (hear the child and the volunteer),
  **whisper** (the volunteer hears them, the child does not) or **barge** (all three talk);
  the mode can be switched and the coaching stopped. The engine carries it out
  (``session.coaching``); what it refuses is a 409 with the refusal's code.
- A volunteer can be made to pause (with one of the configured reasons) or be logged out of
  the queue: the same ACD events as their own buttons, so a volunteer in a call is paused or
  logged out when it ends.
- Surge mode: new contacts go to supervisors and trained staff (skill ``staff``) only.
- The names of the volunteers logged in now, for the workspace's coaching panel: the live bus
  carries their ids, states and locations, never names.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

import acd
from config.settings import SHORT_ID_LEN, is_identifier
from web.body import read_json
from web.errors import BadRequest, Forbidden, NotFound
from web.volunteer_api import Caller, authenticate

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MODES = ("listen", "whisper", "barge")
"""``listen``: hear the child and the volunteer; ``whisper``: also speak to the volunteer
only; ``barge``: join the conversation."""


async def supervisor(request: web.Request) -> Caller:
    """The signed-in supervisor; 401 without a session, 403 for any other role."""
    caller = await authenticate(request)
    if caller.volunteer.role != "supervisor":
        raise Forbidden("only supervisors may do this", code="not_a_supervisor")
    return caller


def _volunteer_id(request: web.Request) -> str:
    """The ``{id}`` of the path; a 404 unless it is a well-formed id."""
    volunteer_id = request.match_info["id"]
    if not is_identifier(volunteer_id) or len(volunteer_id) > SHORT_ID_LEN:
        raise NotFound("no such volunteer", code="unknown_volunteer")
    return volunteer_id


async def _mode(request: web.Request) -> str:
    body = await read_json(request)
    body.only({"mode"})
    mode = body.string("mode", max_len=16)
    if mode not in MODES:
        raise BadRequest(f"mode: must be one of {', '.join(MODES)}", code="invalid_field")
    return mode


@routes.get("/api/v1/supervisor/volunteers")
async def list_volunteers(request: web.Request) -> web.Response:
    """Id and name of every volunteer logged in to the queue now (supervisors included)."""
    caller = await supervisor(request)
    accounts = await asyncio.to_thread(caller.ctx.directory.list, True)
    gateway = caller.ctx.gateway
    # Only who is logged in: the panel names whom the live bus shows, nobody else.
    names = [{"id": a.id, "name": a.name} for a in accounts if gateway.agent_view(a.id) is not None]
    return web.json_response({"volunteers": names})


@routes.get("/api/v1/supervisor/coaching")
async def list_coaching(request: web.Request) -> web.Response:
    """Coachings in progress."""
    caller = await supervisor(request)
    return web.json_response({"coaching": caller.ctx.gateway.coachings()})


@routes.post("/api/v1/supervisor/volunteers/{id}/coaching")
async def start_coaching(request: web.Request) -> web.Response:
    """Ring the supervisor's phone to listen to, whisper to or barge into the volunteer's call."""
    caller = await supervisor(request)
    volunteer_id = _volunteer_id(request)
    mode = await _mode(request)
    view = await caller.ctx.gateway.coach(caller.volunteer.id, volunteer_id, mode)
    # Who coached whom, never anything about the child: an audit line for the helpline.
    log.info("supervisor %s coaches volunteer %s (%s)", caller.volunteer.id, volunteer_id, mode)
    return web.json_response({"coaching": view})


@routes.post("/api/v1/supervisor/volunteers/{id}/coaching/mode")
async def switch_coaching(request: web.Request) -> web.Response:
    """Switch between listen, whisper and barge."""
    caller = await supervisor(request)
    volunteer_id = _volunteer_id(request)
    mode = await _mode(request)
    view = await caller.ctx.gateway.coaching_step(caller.volunteer.id, volunteer_id, mode)
    log.info("supervisor %s switched to %s on %s's call", caller.volunteer.id, mode, volunteer_id)
    return web.json_response({"coaching": view})


@routes.post("/api/v1/supervisor/volunteers/{id}/coaching/stop")
async def stop_coaching(request: web.Request) -> web.Response:
    """Stop: the supervisor's phone is hung up; the call goes on."""
    caller = await supervisor(request)
    volunteer_id = _volunteer_id(request)
    (await read_json(request, allow_empty=True)).only(())
    view = await caller.ctx.gateway.coaching_step(caller.volunteer.id, volunteer_id, None)
    return web.json_response({"coaching": view})


@routes.post("/api/v1/supervisor/volunteers/{id}/pause")
async def force_pause(request: web.Request) -> web.Response:
    """Pause the volunteer with one of the configured reasons (after their call, if in one)."""
    caller = await supervisor(request)
    volunteer_id = _volunteer_id(request)
    body = await read_json(request)
    body.only({"reason"})
    reason = body.string("reason", max_len=32)
    reasons = caller.ctx.cfg.workspace.pause_reason_ids()
    if reason not in reasons:
        raise BadRequest(f"reason: must be one of {', '.join(reasons)}", code="invalid_field")
    await caller.ctx.gateway.submit(acd.AgentPaused(volunteer_id, reason))
    log.info("supervisor %s paused volunteer %s (%s)", caller.volunteer.id, volunteer_id, reason)
    return web.json_response({"agent": caller.ctx.gateway.agent_view(volunteer_id)})


@routes.post("/api/v1/supervisor/volunteers/{id}/logout")
async def force_logout(request: web.Request) -> web.Response:
    """Log the volunteer out of the queue (after their call and wrap-up, if in one)."""
    caller = await supervisor(request)
    volunteer_id = _volunteer_id(request)
    (await read_json(request, allow_empty=True)).only(())
    await caller.ctx.gateway.submit(acd.AgentLoggedOut(volunteer_id))
    log.info("supervisor %s logged volunteer %s out", caller.volunteer.id, volunteer_id)
    return web.json_response({"agent": caller.ctx.gateway.agent_view(volunteer_id)})


@routes.get("/api/v1/supervisor/surge")
async def get_surge(request: web.Request) -> web.Response:
    """Whether surge mode is on."""
    caller = await supervisor(request)
    return web.json_response({"surge": caller.ctx.gateway.surge()})


@routes.post("/api/v1/supervisor/surge")
async def post_surge(request: web.Request) -> web.Response:
    """Switch surge mode: new contacts go to supervisors and trained staff only, or to all."""
    caller = await supervisor(request)
    on = await surge_body(request)
    surge = await caller.ctx.gateway.set_surge(on)
    log.warning("supervisor %s switched surge mode %s", caller.volunteer.id, "on" if on else "off")
    return web.json_response({"surge": surge})


async def surge_body(request: web.Request) -> bool:
    """``{"on": true|false}``; shared with the admin API (``helpline surge``)."""
    body = await read_json(request)
    body.only({"on"})
    return body.boolean("on")
