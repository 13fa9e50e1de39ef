"""The volunteer's API: log in and out, see themselves, go ready, pause, end wrap-up.

Used by the browser softphone. Every state change is an ACD event sent through the
``AcdGateway``; the ACD decides whether it is allowed (a refusal becomes a 409).

Signing in answers with the token (for API clients) and sets the session cookie (for the
page); every route calls ``authenticate``, which takes either and applies the CSRF and Origin
rules of :func:`web.auth.require_browser_or_bearer`.
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
from web.auth import Session, new_csrf_token, new_token, require_browser_or_bearer, token_hash
from web.body import read_json
from web.context import WebContext, ctx, volunteer_json
from web.errors import BadRequest, ClientGone, Forbidden, Unauthorized
from web.login_guard import LOGIN_GUARD, address_key, client_gone, while_connected
from web.ports import SIP_ACCESS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

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
    by_cookie: bool = False
    """Signed in by the session cookie (a browser) rather than a bearer header."""


async def authenticate(request: web.Request) -> Caller:
    """The volunteer behind the request's session (bearer token or session cookie);
    Unauthorized (401) otherwise, Forbidden (403 ``csrf``) for a cookie-authenticated state
    change without the CSRF token or from another origin, or a WebSocket upgrade from another
    origin. Every volunteer route, WebSockets included, calls this first.

    The account is re-read on every request so a disabled volunteer, or one whose password
    was reset since this session began (a newer credential version), loses access at once.
    """
    c = ctx(request)
    auth = await require_browser_or_bearer(request, c.sessions, c.browser)
    key, session = auth.key, auth.session
    info = await asyncio.to_thread(c.directory.get, session.volunteer_id)
    if info is None or not info.enabled or info.credential_version != session.credential_version:
        await c.sessions.delete(key)
        raise Unauthorized("the session is unknown or has expired; log in again")
    return Caller(c, key, session, info, auth.by_cookie)


async def end_browser_phone(request: web.Request, caller: Caller) -> None:
    """Sign-out: the session's browser phone credential and ``/sip`` sockets end with it (a
    stolen SIP password dies with the session)."""
    access = request.app.get(SIP_ACCESS)
    if access is not None:
        await access.session_ended(caller.volunteer.id, caller.token_key)


def _me(caller: Caller) -> dict[str, Any]:
    return {
        "volunteer": volunteer_json(caller.volunteer),
        "location": caller.session.location_id,
        "agent": caller.ctx.gateway.agent_view(caller.volunteer.id),
        "csrf_token": caller.session.csrf_token,
    }


@routes.post("/api/v1/session")
async def create_session(request: web.Request) -> web.Response:
    """Log in: check the password, log the volunteer into the ACD, hand out a token (in the
    body and as the session cookie) and the session's CSRF token."""
    c = ctx(request)
    if not c.browser.origin_allowed(request):
        # Another site's page cannot sign a browser into an account of its choosing.
        raise Forbidden("a sign-in from another site's page is refused", code="csrf")
    body = await read_json(request)
    body.only({"volunteer_id", "password", "location", "watch_only"})
    volunteer_id = body.string("volunteer_id", max_len=64)
    # The wallboard's sign-in: a screen that watches, not a person who takes contacts, so it
    # does not join the ACD (a TV on the wall is not a paused volunteer).
    watch_only = body.opt_bool("watch_only", False)
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
    if not watch_only and c.gateway.agent_view(info.id) is None:
        # A supervisor is trained staff: in surge mode new contacts go to them (and ``staff``).
        staff = {"staff"} if info.role == "supervisor" else set()
        skills = frozenset(info.skills) | staff
        await c.gateway.login(info.id, location, skills, frozenset(info.languages))
    token = new_token()
    session = Session(
        volunteer_id=info.id,
        location_id=location,
        created_at=time.time(),
        credential_version=info.credential_version,
        csrf_token=new_csrf_token(),
    )
    ttl_s = c.cfg.http.session_ttl_s
    await c.sessions.put(token_hash(token), session, ttl_s)
    log.info("volunteer %s logged in at %s", info.id, location)
    resp = web.json_response(
        {
            "token": token,
            "csrf_token": session.csrf_token,
            "expires_in_s": ttl_s,
            "volunteer": volunteer_json(info),
            "location": location,
            "agent": c.gateway.agent_view(info.id),
        },
        status=201,
    )
    c.browser.set_session_cookie(resp, request, token, ttl_s)
    return resp


@routes.delete("/api/v1/session")
async def delete_session(request: web.Request) -> web.Response:
    """Log out of the ACD (after wrap-up if busy), revoke this session and clear its cookie."""
    caller = await authenticate(request)
    try:
        await caller.ctx.gateway.submit(acd.AgentLoggedOut(caller.volunteer.id))
    except acd.UnknownAgent:
        pass  # already logged out of the ACD (e.g. after a restart): just end the session
    finally:
        await caller.ctx.sessions.delete(caller.token_key)
        await end_browser_phone(request, caller)
    log.info("volunteer %s logged out", caller.volunteer.id)
    resp = web.json_response(
        {"ok": True, "agent": caller.ctx.gateway.agent_view(caller.volunteer.id)}
    )
    caller.ctx.browser.clear_session_cookie(resp, request)
    return resp


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
    """Pause with one of the configured reasons (``[workspace] pause_reasons``)."""
    caller = await authenticate(request)
    body = await read_json(request)
    body.only({"reason"})
    reason = body.string("reason", max_len=32)
    reasons = caller.ctx.cfg.workspace.pause_reason_ids()
    if reason not in reasons:
        raise BadRequest(f"reason: must be one of {', '.join(reasons)}", code="invalid_field")
    return await _submit(caller, acd.AgentPaused(caller.volunteer.id, reason))


@routes.post("/api/v1/me/wrap-up/end")
async def post_wrap_up_end(request: web.Request) -> web.Response:
    """The registration form is done: end wrap-up before its timer."""
    caller = await authenticate(request)
    (await read_json(request, allow_empty=True)).only(())
    return await _submit(caller, acd.WrapUpEnded(caller.volunteer.id))
