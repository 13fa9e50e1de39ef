"""The staff API: manage volunteer accounts and look at the queue.

Only mounted when ``[http] admin_token`` is configured (otherwise every path is a 404), and
every request must carry ``Authorization: Bearer <admin_token>``. A password reset, disable or
enable ends the volunteer's sessions and rotates their SIP secret, which is pushed to Asterisk
at once; the new secret is never in a response (``helpline volunteer sip-secret`` shows it).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

import acd
from storage import pools
from storage.volunteers import MAX_PASSWORD_LEN, is_identifier
from web.auth import require_admin
from web.body import read_json
from web.context import WebContext, ctx, volunteer_json
from web.errors import NotFound
from web.supervisor_api import surge_body

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

_VOLUNTEER_FIELDS = {"id", "name", "location", "skills", "languages", "password", "young", "role"}
_ROLE_MAX_LEN = 32  # longer than any role; the directory says which ones exist


def _volunteer_id(request: web.Request) -> str:
    """The ``{id}`` of the path; a 404 unless it is a well-formed id (never reaches SQL)."""
    volunteer_id = request.match_info["id"]
    if not is_identifier(volunteer_id):
        raise NotFound("no such volunteer", code="unknown_volunteer")
    return volunteer_id


async def _push_sip(c: WebContext, volunteer_id: str) -> None:
    """Give Asterisk the rotated secret; the account change itself is already committed."""
    if c.sip_changed is None:
        return
    try:
        await c.sip_changed()
    except Exception:  # noqa: BLE001 - the change stands; the next reload carries it
        log.warning("volunteer %s: SIP accounts not reloaded in Asterisk", volunteer_id)


def _admin(request: web.Request) -> WebContext:
    c = ctx(request)
    token = c.cfg.http.admin_token
    assert token is not None  # the routes are not mounted without one
    require_admin(request, token)
    return c


@routes.get("/api/v1/admin/volunteers")
async def list_volunteers(request: web.Request) -> web.Response:
    """Every volunteer account, ordered by id."""
    c = _admin(request)
    infos = await asyncio.to_thread(c.directory.list)
    return web.json_response({"volunteers": [volunteer_json(v) for v in infos]})


@routes.post("/api/v1/admin/volunteers")
async def add_volunteer(request: web.Request) -> web.Response:
    """Create an enabled volunteer."""
    c = _admin(request)
    body = await read_json(request)
    body.only(_VOLUNTEER_FIELDS)
    volunteer_id = body.string("id", max_len=48)
    name = body.string("name", max_len=100)
    location = body.string("location", max_len=48)
    skills = body.string_list("skills")
    languages = body.string_list("languages")
    password = body.string("password", max_len=MAX_PASSWORD_LEN)
    young = body.opt_bool("young", False)
    role = body.opt_string("role", max_len=_ROLE_MAX_LEN) or "volunteer"
    info = await pools.run_in(
        "login",
        c.directory.add,
        volunteer_id,
        name,
        location,
        skills,
        languages,
        password,
        young=young,
        role=role,
    )
    return web.json_response({"volunteer": volunteer_json(info)}, status=201)


@routes.get("/api/v1/admin/volunteers/{id}")
async def get_volunteer(request: web.Request) -> web.Response:
    """One volunteer and their ACD state (null when logged out)."""
    c = _admin(request)
    info = await asyncio.to_thread(c.directory.require, _volunteer_id(request))
    return web.json_response(
        {"volunteer": volunteer_json(info), "agent": c.gateway.agent_view(info.id)}
    )


@routes.post("/api/v1/admin/volunteers/{id}/disable")
async def disable_volunteer(request: web.Request) -> web.Response:
    """Disable the account and log the volunteer out of the ACD (after wrap-up if busy)."""
    c = _admin(request)
    volunteer_id = _volunteer_id(request)
    await asyncio.to_thread(c.directory.disable, volunteer_id)
    await _push_sip(c, volunteer_id)
    try:
        await c.gateway.submit(acd.AgentLoggedOut(volunteer_id))
    except acd.AcdError:
        pass  # not logged in: nothing to end. Their sessions are refused from now on.
    info = await asyncio.to_thread(c.directory.require, volunteer_id)
    return web.json_response({"volunteer": volunteer_json(info)})


@routes.post("/api/v1/admin/volunteers/{id}/enable")
async def enable_volunteer(request: web.Request) -> web.Response:
    """Allow a disabled volunteer to log in again."""
    c = _admin(request)
    volunteer_id = _volunteer_id(request)
    await asyncio.to_thread(c.directory.enable, volunteer_id)
    await _push_sip(c, volunteer_id)
    info = await asyncio.to_thread(c.directory.require, volunteer_id)
    return web.json_response({"volunteer": volunteer_json(info)})


@routes.post("/api/v1/admin/volunteers/{id}/password")
async def set_password(request: web.Request) -> web.Response:
    """Replace the volunteer's login password: ends their sessions, rotates their SIP secret."""
    c = _admin(request)
    body = await read_json(request)
    body.only({"password"})
    password = body.string("password", max_len=MAX_PASSWORD_LEN)
    volunteer_id = _volunteer_id(request)
    await pools.run_in("login", c.directory.set_password, volunteer_id, password)
    await _push_sip(c, volunteer_id)
    return web.json_response({"ok": True})


@routes.post("/api/v1/admin/volunteers/{id}/role")
async def set_role(request: web.Request) -> web.Response:
    """Make the account a volunteer or a supervisor; answers with the changed account."""
    c = _admin(request)
    body = await read_json(request)
    body.only({"role"})
    role = body.string("role", max_len=_ROLE_MAX_LEN)
    volunteer_id = _volunteer_id(request)
    await asyncio.to_thread(c.directory.set_role, volunteer_id, role)
    info = await asyncio.to_thread(c.directory.require, volunteer_id)
    return web.json_response({"volunteer": volunteer_json(info)})


@routes.get("/api/v1/admin/queue")
async def get_queue(request: web.Request) -> web.Response:
    """The ACD's overview: waiting contacts per channel, volunteers per state."""
    c = _admin(request)
    return web.json_response(c.gateway.queue_view())


@routes.get("/api/v1/admin/surge")
async def get_surge(request: web.Request) -> web.Response:
    """Whether surge mode is on (``helpline surge``)."""
    c = _admin(request)
    return web.json_response({"surge": c.gateway.surge()})


@routes.post("/api/v1/admin/surge")
async def post_surge(request: web.Request) -> web.Response:
    """Switch surge mode (``helpline surge on|off``): new contacts go to supervisors and
    trained staff only, or to everyone again."""
    c = _admin(request)
    on = await surge_body(request)
    surge = await c.gateway.set_surge(on)
    log.warning("surge mode switched %s through the admin API", "on" if on else "off")
    return web.json_response({"surge": surge})
