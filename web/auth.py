"""Volunteer sessions and the admin bearer token.

A session token is ``secrets.token_urlsafe(32)``, handed to the client once; the store only
ever sees its SHA-256, so a leaked Redis dump or log line holds nothing that logs anyone in.
Sessions live in Redis so that a second app process (after a take-over) keeps them; an
in-memory store serves unit tests.

A request presents the token as ``Authorization: Bearer`` (API clients) or as the session
cookie (the softphone page, :mod:`web.browser`); ``require_browser_or_bearer`` is the one
place that decides which, and applies the CSRF and Origin rules a cookie needs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from web.browser import CSRF_HEADER, BrowserPolicy
from web.errors import Forbidden, SessionStoreError, Unauthorized

TOKEN_BYTES = 32

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing; every other method is a state change and, when authenticated
by the cookie, needs the CSRF token."""


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in volunteer, as stored under the hash of their token."""

    volunteer_id: str
    """Who logged in."""
    location_id: str
    """Where they work from in this session."""
    created_at: float
    """Unix time of the login."""
    credential_version: int = 0
    """The account's credential version at login; a reset or disable raises the account's,
    and the session is refused from then on (checked on every request)."""
    csrf_token: str = ""
    """Random, per session: a cookie-authenticated state change must echo it in
    ``X-CSRF-Token``. Empty for a session from before CSRF tokens: its cookie changes nothing
    (its bearer token still works)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Session:
        """Parse a stored session; ValueError when it is not one."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("session is not an object")
        vid, loc, created, version, csrf = (
            data.get("volunteer_id"),
            data.get("location_id"),
            data.get("created_at"),
            data.get("credential_version"),
            data.get("csrf_token", ""),
        )
        if not isinstance(vid, str) or not isinstance(loc, str):
            raise ValueError("session lacks volunteer_id/location_id")
        if not isinstance(created, int | float) or isinstance(created, bool):
            raise ValueError("session lacks created_at")
        # A session from before credential versions existed has none: it is not honoured.
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("session lacks credential_version")
        if not isinstance(csrf, str):
            raise ValueError("session csrf_token is not a string")
        return cls(
            volunteer_id=vid,
            location_id=loc,
            created_at=float(created),
            credential_version=version,
            csrf_token=csrf,
        )


def new_token() -> str:
    """A fresh, unguessable session token (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_csrf_token() -> str:
    """A fresh CSRF token for a new session (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore(Protocol):
    """Where sessions live, keyed by the SHA-256 of their token; entries expire by TTL."""

    async def put(self, key: str, session: Session, ttl_s: float) -> None:
        """Store ``session`` under ``key`` (a token hash) for ``ttl_s`` seconds."""
        ...

    async def get(self, key: str) -> Session | None:
        """The live session under ``key``, or None (unknown, expired or revoked)."""
        ...

    async def delete(self, key: str) -> None:
        """Revoke; deleting an unknown key is not an error."""
        ...


class MemorySessionStore:
    """Sessions in a dict, for unit tests and single-process development."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[Session, float]] = {}

    async def put(self, key: str, session: Session, ttl_s: float) -> None:
        self._items[key] = (session, self._clock() + ttl_s)

    async def get(self, key: str) -> Session | None:
        item = self._items.get(key)
        if item is None:
            return None
        if self._clock() >= item[1]:
            del self._items[key]
            return None
        return item[0]

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def keys(self) -> list[str]:
        """The stored keys (token hashes), for tests."""
        return list(self._items)


class RedisSessionStore:
    """Sessions in Redis under ``<prefix>session:<sha256>``, expiring by Redis TTL.

    The caller owns the client (and closes it).
    """

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix + "session:"

    def key(self, token_sha256: str) -> str:
        """The Redis key for a token hash."""
        return self._prefix + token_sha256

    async def put(self, key: str, session: Session, ttl_s: float) -> None:
        # Milliseconds so a fractional TTL is honoured; at least 1 ms (0 would be an error).
        ttl_ms = max(1, int(ttl_s * 1000))
        try:
            await self._redis.set(self.key(key), session.to_json(), px=ttl_ms)
        except RedisError as exc:
            raise SessionStoreError(f"cannot store session: {type(exc).__name__}") from exc

    async def get(self, key: str) -> Session | None:
        try:
            raw = await self._redis.get(self.key(key))
        except RedisError as exc:
            raise SessionStoreError(f"cannot read session: {type(exc).__name__}") from exc
        if raw is None:
            return None
        try:
            return Session.from_json(raw)
        except ValueError:
            # Not ours or from an incompatible version: treat as logged out, and clean up.
            await self.delete(key)
            return None

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self.key(key))
        except RedisError as exc:
            raise SessionStoreError(f"cannot delete session: {type(exc).__name__}") from exc


# RFC 6750's token68: what our tokens (token_urlsafe) and any sane admin token are made of.
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]{1,512}=*")


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None.

    Anything but visible ASCII (token68) is no token: aiohttp hands undecodable header bytes
    over as surrogates, which no hash or comparison can encode.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip(" \t")
    if scheme.lower() != "bearer" or _TOKEN68.fullmatch(value) is None:
        return None
    return value


async def require_session(request: web.Request, store: SessionStore) -> tuple[str, Session]:
    """The (token hash, session) of the request's bearer token; Unauthorized otherwise.

    Bearer only: routes use ``web.volunteer_api.authenticate`` (cookie or bearer)."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("a session token is required (Authorization: Bearer ...)")
    return await _lookup(store, token)


async def _lookup(store: SessionStore, token: str) -> tuple[str, Session]:
    key = token_hash(token)
    session = await store.get(key)
    if session is None:
        raise Unauthorized("the session is unknown or has expired; log in again")
    return key, session


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A request's session, and how it was presented."""

    key: str
    """SHA-256 of the session token (the store key)."""
    session: Session
    by_cookie: bool
    """True: the session cookie (a browser); False: an ``Authorization: Bearer`` header."""


def is_websocket_upgrade(request: web.Request) -> bool:
    """A WebSocket handshake: the browser sends the cookie with it and no custom header, so
    only its Origin tells our page from another site's."""
    return request.method == "GET" and "websocket" in request.headers.get("Upgrade", "").lower()


def csrf_matches(request: web.Request, session: Session) -> bool:
    """The request's ``X-CSRF-Token`` equals the session's (constant-time); never for a
    session without one."""
    sent = request.headers.get(CSRF_HEADER, "")
    expected = session.csrf_token
    if not expected or not sent.isascii():  # non-ASCII: surrogates that cannot be encoded
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


async def require_browser_or_bearer(
    request: web.Request, store: SessionStore, policy: BrowserPolicy
) -> Authenticated:
    """The request's session, from its bearer token or else its session cookie.

    - A WebSocket upgrade whose ``Origin`` is present and not the app's own is refused (403
      ``csrf``) whatever the credential: cross-site WebSocket hijacking.
    - An ``Authorization`` header, well-formed or not, decides alone: the cookie is not looked
      at. Bearer requests need no CSRF token (another site's page cannot set that header).
    - With the cookie, a state change (any method but GET/HEAD/OPTIONS) is refused (403
      ``csrf``) when its ``Origin`` is present and foreign, or (once the session is known) its
      ``X-CSRF-Token`` is missing or wrong. An unknown or expired session is a 401 first, so a
      page learns to sign in again rather than to fetch a new CSRF token.

    Unauthorized without any valid session. The caller checks the account (enabled, same
    credential version); see ``web.volunteer_api.authenticate``.
    """
    if is_websocket_upgrade(request) and not policy.origin_allowed(request):
        raise Forbidden("a WebSocket from another site's page is refused", code="csrf")
    if "Authorization" in request.headers:
        key, session = await require_session(request, store)
        return Authenticated(key, session, by_cookie=False)
    token = policy.session_cookie(request)
    if token is None or _TOKEN68.fullmatch(token) is None:
        raise Unauthorized("a session is required: sign in (or Authorization: Bearer ...)")
    state_change = request.method not in SAFE_METHODS
    if state_change and not policy.origin_allowed(request):
        raise Forbidden("a request from another site's page is refused", code="csrf")
    key, session = await _lookup(store, token)
    if state_change and not csrf_matches(request, session):
        raise Forbidden(
            f"this request needs the session's CSRF token in the {CSRF_HEADER} header",
            code="csrf",
        )
    return Authenticated(key, session, by_cookie=True)


def require_admin(request: web.Request, admin_token: str) -> None:
    """Unauthorized unless the bearer token equals the configured admin token."""
    token = bearer_token(request) or ""
    # Constant-time comparison of bytes (compare_digest refuses non-ASCII str).
    if not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise Unauthorized("admin token required")
