"""``GET /api/v1/me/sip``: the browser phone's SIP account for this web session.

The page configures its SIP user agent (JsSIP) with it and registers through ``/sip``
(``web.sip_proxy``). The password is minted for this session on first use and pushed into
Asterisk without a reload; it dies with the session (``softphone.sip_credentials``). Asking
again from the same session returns the same password (a reload of the page); another session
of the same account that asks takes the phone over with a new one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from config.settings import HelplineConfig
from web.errors import Conflict, SipUnavailable
from web.ports import SIP_ACCESS
from web.volunteer_api import Caller, authenticate

routes = web.RouteTableDef()

WS_PATH = "/sip"
"""Where the page opens its SIP WebSocket (on the page's own origin)."""


def require_browser_phone(caller: Caller) -> None:
    """Conflict (409 ``not_browser_phone``) unless the account's phone is the browser."""
    if caller.ctx.cfg.phone_of(caller.volunteer.id) != "webrtc":
        raise Conflict(
            "this account uses a SIP phone (desk phone or softphone), not the browser;"
            " register that phone with its own SIP secret",
            code="not_browser_phone",
        )


def session_expires_at(caller: Caller) -> float:
    """Unix time the caller's web session ends (its store TTL began at sign-in)."""
    return caller.session.created_at + caller.ctx.cfg.http.session_ttl_s


def sip_account(cfg: HelplineConfig, volunteer_id: str, password: str, expires_at: float) -> Any:
    realm = cfg.asterisk.sip_realm
    return {
        "username": volunteer_id,
        "password": password,
        "realm": realm,
        "uri": f"sip:{volunteer_id}@{realm}",
        "ws_path": WS_PATH,
        "expires_at": expires_at,
    }


@routes.get("/api/v1/me/sip")
async def get_sip(request: web.Request) -> web.Response:
    """The session's SIP account for the browser phone (minted on first use)."""
    caller = await authenticate(request)
    require_browser_phone(caller)
    access = request.app.get(SIP_ACCESS)
    if access is None:
        raise SipUnavailable("this app serves no browser phones")
    grant = await access.credential(
        caller.volunteer.id, caller.token_key, session_expires_at(caller)
    )
    return web.json_response(
        sip_account(caller.ctx.cfg, caller.volunteer.id, grant.password, grant.expires_at)
    )
