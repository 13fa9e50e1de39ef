"""The web layer's one error shape, and the only place exceptions become HTTP status codes.

Every error response is ``{"error": "<code>", "message": "..."}``. Handlers raise ``ApiError``
(or let ACD, engine and volunteer errors through); ``error_middleware`` maps everything at the
boundary, so neither ``acd``, ``engine`` nor ``storage`` ever knows about HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

import acd
from chat.errors import ChatClosed, ChatConflict, ChatQueueFull, ChatUnavailable
from engine.errors import EngineStopped
from session.errors import CoachingRefused, TransferRefused
from storage.errors import (
    InvalidVolunteer,
    PoolFull,
    SurveyUnavailable,
    UnknownVolunteer,
    VolunteerExists,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebError(Exception):
    """Base of every error the web package raises."""


class SessionStoreError(WebError):
    """The session store could not be reached (not the client's fault): 503."""


class AcdUnavailable(WebError):
    """This process does not serve the queue (yet): a standby, or the engine stopped: 503."""


class SipUnavailable(WebError):
    """No browser phone credential can be pushed to Asterisk from here now (a standby, or
    Asterisk is away): 503, and the page tries again."""


class ChatDisabled(WebError):
    """No children's chat is served here (switched off, or a standby): 503."""


class ApiError(WebError):
    """A request the API refuses; carries its HTTP status, a stable code and a safe message.

    The message is shown to the client, so it must never contain a password, token or any
    part of a request body beyond the name of the offending field.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(ApiError):
    """Malformed JSON, a missing or wrongly typed field, or an invalid value."""


class BodyTooLarge(ApiError):
    """The request body exceeds the API's limit (the brief asks for 400, not 413)."""

    code = "body_too_large"


class UnsupportedMediaType(ApiError):
    """A request body that is not ``application/json``: a web page can post ``text/plain``
    cross-site without a CORS preflight, so nothing else is ever read."""

    status = 415
    code = "unsupported_media_type"


class Unauthorized(ApiError):
    """No valid session or admin token; the message never says which part was wrong."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """Authenticated, but this request may not be made this way (``csrf``: a cookie-authenticated
    state change without the session's CSRF token, or from another site's page)."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """The resource does not exist."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The request does not fit the current state."""

    status = 409
    code = "conflict"


class TooManyRequests(ApiError):
    """Too many attempts (a rate limit) or too much work waiting: 429 with Retry-After."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, retry_after_s)


class ClientGone(WebError):
    """The client closed the connection before its answer was ready: the work was dropped."""


# How an ACD trigger and state read to a volunteer: "cannot go ready while a call rings".
_TRIGGER_WORDS = {
    "ready": "go ready",
    "pause": "pause",
    "logout": "log out",
    "wrap_up_done": "end wrap-up",
    "login": "log in",
}
_STATE_WORDS = {
    "logged_out": "logged out",
    "paused": "paused",
    "available": "available",
    "offered": "a call rings",
    "busy": "in a conversation",
    "wrap_up": "in wrap-up",
}


def illegal_transition_message(exc: acd.IllegalTransition) -> str:
    """A short, human message for an ACD transition the volunteer's state does not allow."""
    verb = _TRIGGER_WORDS.get(exc.trigger, exc.trigger.replace("_", " "))
    state = _STATE_WORDS.get(exc.state, exc.state.replace("_", " "))
    return f"cannot {verb} while {state}"


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def transfer_refused(exc: TransferRefused) -> web.Response:
    """404 for a partner not in the directory, 409 for every other refusal (closed partner,
    a transfer already running, no call...), with the refusal's details beside the code and
    message (e.g. ``opens_at``)."""
    status = 404 if exc.code == "unknown_partner" else 409
    body: dict[str, object] = dict(exc.details)
    body.update(error=exc.code, message=exc.message)  # the details never replace these
    return web.json_response(body, status=status)


def map_exception(exc: BaseException) -> web.Response | None:
    """The response for a known exception, or None when it is unexpected (a 500)."""
    if isinstance(exc, ApiError):
        resp = _json_error(exc.status, exc.code, exc.message)
        if isinstance(exc, Unauthorized):
            resp.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyRequests):
            resp.headers["Retry-After"] = str(exc.retry_after_s)
        return resp
    if isinstance(exc, PoolFull):
        # Password hashing is busy and its waiting line is full: refused at once, not queued.
        resp = _json_error(429, "busy", "too many logins at once; try again in a moment")
        resp.headers["Retry-After"] = "1"
        return resp
    if isinstance(exc, ClientGone):
        # Nobody reads it; nginx's 499 "client closed request" keeps the access log honest.
        return _json_error(499, "client_closed_request", "the client went away")
    if isinstance(exc, (AcdUnavailable, EngineStopped)):
        # EngineStopped: the engine stopped under a request (journal failed, lease lost); a
        # standby takes over, so it is the same "not served here now" as a standby's 503.
        log.info("ACD unavailable: %s", exc)
        return _json_error(503, "unavailable", "the queue is not served here now; try again")
    if isinstance(exc, SipUnavailable):
        log.info("browser phone unavailable: %s", exc)
        return _json_error(
            503, "unavailable", "the browser phone is not served here now; try again"
        )
    if isinstance(exc, SessionStoreError):
        log.warning("%s", exc)  # its message names the operation, never a key or token
        return _json_error(503, "unavailable", "sessions are unavailable; try again shortly")
    if isinstance(exc, TransferRefused):
        return transfer_refused(exc)
    if isinstance(exc, CoachingRefused):
        return _json_error(409, exc.code, exc.message)
    chat = _chat_error(exc)
    if chat is not None:
        return chat
    if isinstance(exc, acd.IllegalTransition):
        return _json_error(409, "illegal_transition", illegal_transition_message(exc))
    if isinstance(exc, acd.UnknownAgent):
        return _json_error(409, "not_logged_in", "not logged in")
    if isinstance(exc, acd.InvalidEvent):
        return _json_error(400, "invalid_event", "the request does not make a valid ACD event")
    if isinstance(exc, acd.AcdError):
        return _json_error(409, "conflict", "the request does not fit the current state")
    if isinstance(exc, VolunteerExists):
        return _json_error(409, "volunteer_exists", "a volunteer with this id already exists")
    if isinstance(exc, UnknownVolunteer):
        return _json_error(404, "unknown_volunteer", "no such volunteer")
    if isinstance(exc, InvalidVolunteer):
        # Its messages name the field and never contain the password (storage.volunteers).
        return _json_error(400, "invalid_volunteer", str(exc))
    if isinstance(exc, web.HTTPException):
        # aiohttp's own 404/405/413...: same shape as ours.
        if isinstance(exc, web.HTTPRequestEntityTooLarge):
            return _json_error(400, BodyTooLarge.code, "body: larger than the 16 KiB limit")
        code = exc.reason.lower().replace(" ", "_")
        resp = _json_error(exc.status, code, exc.reason)
        if isinstance(exc, web.HTTPMethodNotAllowed):
            resp.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        return resp
    return None


# The engine's refusals that mean "there is no such chat for you" rather than "not now".
_CHAT_NOT_FOUND = frozenset({"unknown_chat", "no_chat", "not_found"})


def _chat_error(exc: BaseException) -> web.Response | None:
    if isinstance(exc, ChatClosed):
        return web.json_response(
            {"error": "closed", "message": "the chat is closed now", "opens_at": exc.opens_at},
            status=409,
        )
    if isinstance(exc, ChatQueueFull):
        resp = _json_error(429, "queue_full", "too many children are waiting; try again soon")
        resp.headers["Retry-After"] = "30"
        return resp
    if isinstance(exc, ChatConflict):
        return _json_error(404 if exc.code in _CHAT_NOT_FOUND else 409, exc.code, exc.message)
    if isinstance(exc, (ChatUnavailable, SurveyUnavailable)):
        log.warning("%s", exc)  # names the operation, never a key or token
        return _json_error(503, "unavailable", "the chat is not available now; try again")
    if isinstance(exc, ChatDisabled):
        return _json_error(503, "chat_unavailable", "the chat is not served here")
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception into the one JSON error shape; log unexpected ones (no bodies)."""
    try:
        resp = await handler(request)
    except Exception as exc:
        mapped = map_exception(exc)
        if mapped is None:
            # Method and route only: never the body, query string or headers (tokens).
            route = request.match_info.route.resource
            where = route.canonical if route is not None else "?"
            log.error(
                "unexpected %s in %s %s", type(exc).__name__, request.method, where, exc_info=exc
            )
            mapped = _json_error(500, "internal_error", "internal error")
        resp = mapped
    # Cache-Control, nosniff, CSP...: web.browser.add_security_headers, on every response.
    return resp
