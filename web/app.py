"""The application factories and a helper to serve them.

Two applications on two listeners: ``create_app`` is the volunteer/softphone API (the one that
browsers at the locations reach), ``create_admin_app`` the staff API (one static token), served
on ``[http] admin_host:admin_port``, loopback by default. No admin path exists on the public
listener, so a leaked or guessed admin token is useless from a location's network.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from config.settings import HelplineConfig
from storage.hours_store import HoursExceptionStore
from storage.registrations import RegistrationStore
from web import (
    admin_api,
    chat_api,
    health,
    hours_api,
    live_api,
    openapi,
    registration_api,
    reports_api,
    sip_proxy,
    supervisor_api,
    transfer_api,
    volunteer_api,
    wallboard_api,
)
from web.access_log import PrivateAccessLogger
from web.auth import SessionStore
from web.body import MAX_BODY_BYTES
from web.browser import install_security_headers
from web.chat_api import ChatWeb
from web.context import CTX, SipChanged, WebContext
from web.errors import error_middleware
from web.gateway import AcdGateway
from web.health import AlwaysReady, Readiness
from web.login_guard import LOGIN_GUARD, LoginGuard
from web.ports import SIP_ACCESS, Accounts, SipAccess


def create_app(
    cfg: HelplineConfig,
    directory: Accounts,
    gateway: AcdGateway,
    sessions: SessionStore,
    *,
    readiness: Readiness | None = None,
    registrations: RegistrationStore | None = None,
    clock: Callable[[], float] = time.time,
    sip: SipAccess | None = None,
    chat: ChatWeb | None = None,
    reports: reports_api.ReportMaker | None = None,
) -> web.Application:
    """The volunteer/softphone API: sessions, ``/me``, the workspace and the wrap-up form,
    transfers to partners, the live feed, the browser phone's SIP account and WebSocket,
    supervisors' reports, and health checks.

    ``readiness`` feeds ``/healthz/ready`` (and ``/healthz``); without it the app counts as
    always ready (see :mod:`web.health`). ``registrations`` keeps the wrap-up forms (without
    it, their routes answer 503); ``clock`` is the engine's (Unix seconds). Without ``sip`` the
    browser phone's routes answer 503, without ``reports`` the reports' (after checking who
    asks), without ``chat`` the children's chat's.
    """
    app = _base(cfg, directory, gateway, sessions)
    app[LOGIN_GUARD] = LoginGuard(cfg.logins)  # rate limits for the logins made here
    health.install(app, readiness or AlwaysReady())
    app.add_routes(volunteer_api.routes)
    registration_api.install(app, registrations, clock=clock)
    app.add_routes(transfer_api.routes)
    app.add_routes(supervisor_api.routes)
    app.add_routes(live_api.routes)
    app.add_routes(wallboard_api.routes)
    reports_api.install(app, reports)
    if sip is not None:
        app[SIP_ACCESS] = sip
    sip_proxy.install(app, cfg)  # GET /api/v1/me/sip and the /sip WebSocket
    chat_api.install(app, chat)  # the children's chat and the volunteer's side of it
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
        # Prometheus: the operators' monitoring, behind the admin token (web.wallboard_api).
        wallboard_api.install_metrics(app, gateway)
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
    install_security_headers(app)  # CSP, nosniff, no-referrer, no-store on every response
    app[CTX] = WebContext(
        cfg=cfg, directory=directory, gateway=gateway, sessions=sessions, sip_changed=sip_changed
    )
    return app


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host:port``; the caller awaits ``runner.cleanup()`` to stop.

    The access log records method, path (no query string), status, size and time: never an
    address, a header or a body (``web.access_log``).
    """
    runner = web.AppRunner(app, access_log_class=PrivateAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
