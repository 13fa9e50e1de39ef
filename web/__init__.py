"""The authenticated HTTP API (aiohttp) for the browser softphone and staff tooling.

``create_app(cfg, directory, gateway, sessions)`` builds the volunteer API and
``create_admin_app`` the staff API for its own (loopback) listener; the ACD is reached only through
the ``AcdGateway`` Protocol. HTTP status codes exist only in this package.
"""

from web.app import create_admin_app, create_app, start_site
from web.auth import (
    MemorySessionStore,
    RedisSessionStore,
    Session,
    SessionStore,
    new_token,
    token_hash,
)
from web.errors import ApiError, SessionStoreError, WebError
from web.gateway import AcdGateway
from web.health import AlwaysReady, Readiness, ReadinessChecks

__all__ = [
    "AcdGateway",
    "AlwaysReady",
    "ApiError",
    "MemorySessionStore",
    "Readiness",
    "ReadinessChecks",
    "RedisSessionStore",
    "Session",
    "SessionStore",
    "SessionStoreError",
    "WebError",
    "create_admin_app",
    "create_app",
    "new_token",
    "start_site",
    "token_hash",
]
