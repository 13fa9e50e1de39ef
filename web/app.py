"""The application factories and a helper to serve them.

Two applications on two listeners: ``create_app`` is the volunteer/softphone API (the one that
browsers at the locations reach), ``create_admin_app`` the staff API (one static token), served
on ``[http] admin_host:admin_port``, loopback by default. No admin path exists on the public
listener, so a leaked or guessed admin token is useless from a location's network.
"""

from __future__ import annotations

from aiohttp import web

from config.settings import HelplineConfig
from storage.hours_store import HoursExceptionStore
from web import admin_api, health, hours_api, live_api, openapi, volunteer_api
from web.auth import SessionStore
from web.body import MAX_BODY_BYTES
from web.context import CTX, SipChanged, WebContext
from web.errors import error_middleware
from web.gateway import AcdGateway
from web.health import AlwaysReady, Readiness
from web.login_guard import LOGIN_GUARD, LoginGuard
from web.ports import Accounts


def create_app(
    cfg: HelplineConfig,
    directory: Accounts,
    gateway: AcdGateway,
    sessions: SessionStore,
    *,
    readiness: Readiness | None = None,
) -> web.Application:
    """The volunteer/softphone API: sessions, ``/me``, the live feed and health checks.

    ``readiness`` feeds ``/healthz/ready`` (and ``/healthz``); without it the app counts as
    always ready (see :mod:`web.health`).
    """
    app = _base(cfg, directory, gateway, sessions)
    app[LOGIN_GUARD] = LoginGuard(cfg.logins)  # rate limits for the logins made here
    health.install(app, readiness or AlwaysReady())
    app.add_routes(volunteer_api.routes)
    app.add_routes(live_api.routes)
    app.add_routes(openapi.routes)
    return app


def create_admin_app(
    cfg: HelplineConfig,
    directory: Accounts,
    gateway: AcdGateway,
    sessions: SessionStore,
    hours: HoursExceptionStore | None = None,
    *,
    sip_changed: SipChanged | None = None,
) -> web.Application:
    """The staff API (volunteer accounts, the queue, opening hours) for its own listener.

    Every path is a 404 without ``[http] admin_token``; the service then starts no admin
    listener at all. ``sip_changed`` is awaited after an admin reset, disable or enable, so
    the rotated SIP secret reaches Asterisk at once.
    """
    app = _base(cfg, directory, gateway, sessions, sip_changed)
    if cfg.http.admin_token is not None:
        app.add_routes(admin_api.routes)
    if hours is not None:
        hours_api.install(app, hours)  # mounts nothing without an admin token
    return app


def _base(
    cfg: HelplineConfig,
    directory: Accounts,
    gateway: AcdGateway,
    sessions: SessionStore,
    sip_changed: SipChanged | None = None,
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[CTX] = WebContext(
        cfg=cfg, directory=directory, gateway=gateway, sessions=sessions, sip_changed=sip_changed
    )
    return app


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host:port``; the caller awaits ``runner.cleanup()`` to stop.

    aiohttp's access log records method, path and status, never bodies or the Authorization
    header.
    """
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
