"""The volunteer's API: log in and out, see themselves, go ready, pause, end wrap-up.

Used by the browser softphone. Every state change is an ACD event sent through the
``AcdGateway``; the ACD decides whether it is allowed (a refusal becomes a 409).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

import acd
from security import log as security_log
from storage import pools
from storage.volunteers import MAX_PASSWORD_LEN, VolunteerInfo
from web.auth import Session, new_token, require_session, token_hash
from web.body import read_json
from web.context import WebContext, ctx, volunteer_json
from web.errors import BadRequest, ClientGone, Unauthorized
from web.login_guard import LOGIN_GUARD, address_key, client_gone, while_connected

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

#: Why a volunteer may pause; shown on the wallboard and in reports.
PAUSE_REASONS = ("break", "training", "meeting", "admin", "other")

# One message for unknown id, disabled account and wrong password: no user enumeration.
INVALID_CREDENTIALS = "unknown volunteer id or wrong password"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated volunteer request."""

    ctx: WebContext
    token_key: str
    """SHA-256 of the session token (the store key)."""
    session: Session
    volunteer: VolunteerInfo


async def authenticate(request: web.Request) -> Caller:
    """The volunteer behind the request's session token; Unauthorized otherwise.

    The account is re-read on every request so a disabled volunteer, or one whose password
    was reset since this session began (a newer credential version), loses access at once.
    """
    c = ctx(request)
    key, session = await require_session(request, c.sessions)
    info = await asyncio.to_thread(c.directory.get, session.volunteer_id)
    if info is None or not info.enabled or info.credential_version != session.credential_version:
        await c.sessions.delete(key)
        raise Unauthorized("the session is unknown or has expired; log in again")
    return Caller(c, key, session, info)


def _me(caller: Caller) -> dict[str, Any]:
    return {
        "volunteer": volunteer_json(caller.volunteer),
        "location": caller.session.location_id,
        "agent": caller.ctx.gateway.agent_view(caller.volunteer.id),
    }


@routes.post("/api/v1/session")
async def create_session(request: web.Request) -> web.Response:
    """Log in: check the password, log the volunteer into the ACD, hand out a token."""
    c = ctx(request)
    body = await read_json(request)
    body.only({"volunteer_id", "password", "location"})
    volunteer_id = body.string("volunteer_id", max_len=64)
    password = body.string("password", max_len=MAX_PASSWORD_LEN)
    location = body.opt_string("location", max_len=64)
    if location is not None and location not in c.location_ids:
        raise BadRequest("location: not a configured location", code="invalid_field")

    # Rate limits first (429, no hashing); then argon2, which is deliberately slow, on the
    # bounded login pool (429 when its line is full), off the event loop and off every thread
    # the call path waits for. A client that leaves before its turn costs no hashing at all.
    guard = request.app[LOGIN_GUARD]
    address = address_key(request.remote)
    guard.admit(address, volunteer_id)
    if client_gone(request):
        raise ClientGone("the client left before its login was checked")
    job = pools.submit("login", c.directory.verify_password, volunteer_id, password)
    if not await while_connected(request, job):
        guard.failed(address, volunteer_id)
        log.info("login refused from %s", request.remote)
        security_log.failed_login(volunteer_id, request.remote)
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    if client_gone(request):  # nobody to hand a token to: do not log them into the ACD
        raise ClientGone("the client left while its login was checked")
    info = await asyncio.to_thread(c.directory.get, volunteer_id)
    if info is None or not info.enabled:  # disabled between the two reads
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    location = location or info.location_id
    if location not in c.location_ids:
        raise BadRequest(
            "location: your home location is no longer configured; choose one",
            code="invalid_field",
        )

    # A volunteer who is still logged in (page reload, second device) keeps their ACD state.
    if c.gateway.agent_view(info.id) is None:
        await c.gateway.login(info.id, location, frozenset(info.skills), frozenset(info.languages))
    token = new_token()
    session = Session(
        volunteer_id=info.id,
        location_id=location,
        created_at=time.time(),
        credential_version=info.credential_version,
    )
    ttl_s = c.cfg.http.session_ttl_s
    await c.sessions.put(token_hash(token), session, ttl_s)
    log.info("volunteer %s logged in at %s", info.id, location)
    return web.json_response(
        {
            "token": token,
            "expires_in_s": ttl_s,
            "volunteer": volunteer_json(info),
            "location": location,
            "agent": c.gateway.agent_view(info.id),
        },
        status=201,
    )


@routes.delete("/api/v1/session")
async def delete_session(request: web.Request) -> web.Response:
    """Log out of the ACD (after wrap-up if busy) and revoke this token."""
    caller = await authenticate(request)
    try:
        await caller.ctx.gateway.submit(acd.AgentLoggedOut(caller.volunteer.id))
    except acd.UnknownAgent:
        pass  # already logged out of the ACD (e.g. after a restart): just end the session
    finally:
        await caller.ctx.sessions.delete(caller.token_key)
    log.info("volunteer %s logged out", caller.volunteer.id)
    return web.json_response(
        {"ok": True, "agent": caller.ctx.gateway.agent_view(caller.volunteer.id)}
    )


@routes.get("/api/v1/me")
async def get_me(request: web.Request) -> web.Response:
    """The volunteer, their session's location and their ACD state (null when logged out)."""
    caller = await authenticate(request)
    return web.json_response(_me(caller))


async def _submit(caller: Caller, event: acd.Event) -> web.Response:
    await caller.ctx.gateway.submit(event)
    return web.json_response(_me(caller))


@routes.post("/api/v1/me/ready")
async def post_ready(request: web.Request) -> web.Response:
    """Ready for contacts."""
    caller = await authenticate(request)
    (await read_json(request, allow_empty=True)).only(())
    return await _submit(caller, acd.AgentReady(caller.volunteer.id))


@routes.post("/api/v1/me/pause")
async def post_pause(request: web.Request) -> web.Response:
    """Pause with one of ``PAUSE_REASONS``."""
    caller = await authenticate(request)
    body = await read_json(request)
    body.only({"reason"})
    reason = body.string("reason", max_len=32)
    if reason not in PAUSE_REASONS:
        raise BadRequest(f"reason: must be one of {', '.join(PAUSE_REASONS)}", code="invalid_field")
    return await _submit(caller, acd.AgentPaused(caller.volunteer.id, reason))


@routes.post("/api/v1/me/wrap-up/end")
async def post_wrap_up_end(request: web.Request) -> web.Response:
    """The registration form is done: end wrap-up before its timer."""
    caller = await authenticate(request)
    (await read_json(request, allow_empty=True)).only(())
    return await _submit(caller, acd.WrapUpEnded(caller.volunteer.id))
