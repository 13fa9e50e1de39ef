"""What a browser on the helpline's own pages gets that an API client does not: the session
cookie, the origin checks that go with it, and the security headers on every response.

The softphone page is served by this app, so page, API and WebSockets share one origin. The
session cookie is the session token itself (the same secret the JSON body hands to API
clients as ``token``): one session, one revocation, one key in the store. It is ``HttpOnly``
(page scripts cannot read it), ``SameSite=Strict`` (no other site's page makes the browser
send it), ``Path=/`` and, behind TLS, ``Secure`` with the ``__Host-`` name prefix (a sibling
subdomain cannot plant one). The CSRF rules that go with it live in :mod:`web.auth`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiohttp import web

from config.addresses import canonical_origin
from config.settings import HttpSection

SESSION_COOKIE = "helpline_session"
"""The session cookie's name over plain http (127.0.0.1 in development and tests)."""
SECURE_SESSION_COOKIE = "__Host-helpline_session"
"""Its name when it is ``Secure``: the prefix makes browsers refuse it unless it is Secure,
host-only and ``Path=/``, so nothing but this host can set or overwrite it."""

CSRF_HEADER = "X-CSRF-Token"
"""The header a cookie-authenticated POST/PUT/PATCH/DELETE must carry: the session's
``csrf_token`` (from ``POST /api/v1/session`` or ``GET /api/v1/me``)."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        # 'self' covers ws:/wss: to the same host and port (CSP Level 3 "self" matching; checked
        # in Chromium 156: a same-origin ws:// and wss:// connect, another host is blocked). A
        # scheme-only ws:/wss: would allow every host, so there is none.
        "connect-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
"""The one Content-Security-Policy of every response (pages, API, errors): no inline script
or style, nothing from another origin, never framed."""

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""Set on every response, replacing whatever a handler set."""

DEFAULT_CACHE_CONTROL = "no-store"
"""Responses may carry tokens or personal data: never cached anywhere, unless a handler set
its own ``Cache-Control`` (a static asset with a hashed name may)."""


def _directives(policy: str) -> dict[str, frozenset[str]]:
    """A policy as ``{directive: sources}`` (``'none'`` is the empty set)."""
    out: dict[str, frozenset[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = frozenset(w for w in words[1:] if w != "'none'")
    return out


def at_least_as_strict(policy: str, base: str = CONTENT_SECURITY_POLICY) -> bool:
    """Whether ``policy`` allows nothing that ``base`` forbids: every directive of ``base``
    (read through ``default-src`` where one side leaves it out) allows a subset of the
    sources. Only the source lists are compared; that is all our policies use."""
    mine, theirs = _directives(policy), _directives(base)
    fetch_default = "default-src"
    for name, allowed in theirs.items():
        own = mine.get(name)
        if own is None:
            if name.endswith("-src") and fetch_default in mine:
                own = mine[fetch_default]
            else:
                return False
        if not own <= allowed:
            return False
    # A directive ``base`` leaves to its default-src must not allow more than that default.
    base_default = theirs.get(fetch_default)
    for name, own in mine.items():
        if name.endswith("-src") and name not in theirs and base_default is not None:
            if not own <= base_default:
                return False
    return True


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: runs for every response just before its headers are sent
    (handlers, errors, WebSocket upgrades alike), so no path can leave them out. A handler
    may set a Content-Security-Policy of its own only if it is at least as strict (the
    child's chat page); any other is replaced."""
    own_policy = response.headers.get("Content-Security-Policy")
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if own_policy is not None and at_least_as_strict(own_policy):
        response.headers["Content-Security-Policy"] = own_policy
    response.headers.setdefault("Cache-Control", DEFAULT_CACHE_CONTROL)


def install_security_headers(app: web.Application) -> None:
    """Give every response of ``app`` the security headers."""
    app.on_response_prepare.append(add_security_headers)


@dataclass(frozen=True, slots=True)
class BrowserPolicy:
    """How this deployment is reached by browsers (``[http]`` ``public_origin``,
    ``secure_cookies``, ``trust_forwarded_proto``)."""

    public_origin: str | None = None
    """The configured origin (canonical), or None: the request's own."""
    secure_cookies: bool = False
    trust_forwarded_proto: bool = False

    @classmethod
    def from_config(cls, http: HttpSection) -> BrowserPolicy:
        return cls(http.public_origin, http.secure_cookies, http.trust_forwarded_proto)

    def scheme(self, request: web.Request) -> str:
        """``http`` or ``https``: what the request arrived over (per a trusted proxy's
        ``X-Forwarded-Proto`` when configured)."""
        if self.trust_forwarded_proto:
            forwarded = request.headers.get("X-Forwarded-Proto", "")
            first = forwarded.split(",", 1)[0].strip().lower()
            if first in ("http", "https"):
                return first
        return "https" if request.secure else "http"

    def own_origin(self, request: web.Request) -> str | None:
        """The app's origin for this request: the configured one, else scheme://Host. None when
        the Host header is no host (then no Origin matches)."""
        if self.public_origin is not None:
            return self.public_origin
        try:
            return canonical_origin(f"{self.scheme(request)}://{request.host}")
        except ValueError:
            return None

    def origin_allowed(self, request: web.Request) -> bool:
        """True when the request has no ``Origin`` header or it is the app's own origin.

        Browsers send Origin on every cross-origin request, every POST/PUT/PATCH/DELETE and
        every WebSocket handshake; a client that sends none is not a browser on another
        site's page. ``Origin: null`` (sandboxed frames, file:) is never our origin.
        """
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        own = self.own_origin(request)
        try:
            return own is not None and canonical_origin(origin) == own
        except ValueError:
            return False

    def secure(self, request: web.Request) -> bool:
        """Whether the session cookie is ``Secure`` (and ``__Host-`` named) for this request."""
        return (
            self.secure_cookies
            or (self.public_origin is not None and self.public_origin.startswith("https:"))
            or self.scheme(request) == "https"
        )

    def cookie_name(self, request: web.Request) -> str:
        """The session cookie's name for this request. Only this name is read: behind TLS, a
        plain-named cookie (which a sibling subdomain could have planted) is ignored."""
        return SECURE_SESSION_COOKIE if self.secure(request) else SESSION_COOKIE

    def session_cookie(self, request: web.Request) -> str | None:
        """The session cookie's value, or None."""
        return request.cookies.get(self.cookie_name(request)) or None

    def set_session_cookie(
        self, response: web.StreamResponse, request: web.Request, token: str, ttl_s: float
    ) -> None:
        """Hand the browser its session cookie, living as long as the session."""
        response.set_cookie(
            self.cookie_name(request),
            token,
            max_age=max(1, math.ceil(ttl_s)),
            path="/",
            secure=self.secure(request),
            httponly=True,
            samesite="Strict",
        )

    def clear_session_cookie(self, response: web.StreamResponse, request: web.Request) -> None:
        """Tell the browser to forget its session cookie (same attributes, or the browser keeps
        a ``__Host-`` cookie)."""
        response.del_cookie(
            self.cookie_name(request),
            path="/",
            secure=self.secure(request),
            httponly=True,
            samesite="Strict",
        )
