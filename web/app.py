"""The application factory and a helper to serve it.

``create_app`` wires the API to its collaborators; the Stasis app process (``ari_app``) calls
it with its ``AcdGateway`` and serves it with ``start_site`` next to the ACD.
"""

from __future__ import annotations

from aiohttp import web

from config.settings import HelplineConfig, HttpSection
from storage.hours_store import HoursExceptionStore
from storage.volunteers import VolunteerDirectory
from web import admin_api, health, hours_api, live_api, volunteer_api
from web.auth import SessionStore
from web.body import MAX_BODY_BYTES
from web.context import CTX, SipChanged, WebContext
from web.errors import error_middleware
from web.gateway import AcdGateway
from web.health import AlwaysReady, Readiness


def create_app(
    cfg: HelplineConfig,
    directory: VolunteerDirectory,
    gateway: AcdGateway,
    sessions: SessionStore,
    hours: HoursExceptionStore | None = None,
    readiness: Readiness | None = None,
    sip_changed: SipChanged | None = None,
) -> web.Application:
    """The API application. The admin routes exist only when an admin token is configured.

    ``readiness`` feeds ``/healthz/ready`` (and ``/healthz``); without it the app counts as
    always ready (see :mod:`web.health`). ``sip_changed`` is awaited after an admin reset,
    disable or enable, so the rotated SIP secret reaches Asterisk at once.
    """
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app[CTX] = WebContext(
        cfg=cfg, directory=directory, gateway=gateway, sessions=sessions, sip_changed=sip_changed
    )
    health.install(app, readiness or AlwaysReady())
    app.add_routes(volunteer_api.routes)
    app.add_routes(live_api.routes)
    if cfg.http.admin_token is not None:
        app.add_routes(admin_api.routes)
    if hours is not None:
        hours_api.install(app, hours)  # mounts nothing without an admin token
    return app


async def start_site(app: web.Application, http: HttpSection) -> web.AppRunner:
    """Serve ``app`` on ``[http] host:port``; the caller awaits ``runner.cleanup()`` to stop.

    aiohttp's access log records method, path and status, never bodies or the Authorization
    header.
    """
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, http.host, http.port)
    await site.start()
    return runner
