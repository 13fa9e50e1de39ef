"""The one error tree of ``ari_app``.

Everything the ARI client raises is an :class:`AriError`; aiohttp exceptions are wrapped
with ``raise ... from exc`` so callers never import aiohttp to handle a failure. HTTP status
codes are mapped to types here and nowhere else (:func:`error_for_status`).

Privacy: messages carry the method, the path (internal ids only) and Asterisk's own error
text, never query parameters, request bodies or event payloads, which may hold a caller's
number.
"""

from __future__ import annotations


class AriError(Exception):
    """Base class: the ARI call failed or Asterisk misbehaved."""


class AriRequestError(AriError):
    """Asterisk answered with an HTTP error; ``status`` is kept for diagnostics only."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class AriNotFound(AriRequestError):
    """404: the channel, bridge, playback or endpoint is gone (a normal race, caller decides)."""


class AriConflict(AriRequestError):
    """409/412: the object exists but is in the wrong state (e.g. channel not in Stasis)."""


class AriBadRequest(AriRequestError):
    """400/422: we sent something Asterisk rejects (our bug, or a bad config value)."""


class AriAuthError(AriRequestError):
    """401/403: the ARI user or password is wrong (configuration, not a transient failure)."""


class AriServerError(AriRequestError):
    """5xx (or any other unexpected status): Asterisk failed to carry out the request."""


class AriUnavailable(AriError):
    """Asterisk could not be reached: connection refused or reset, or a timeout."""


class AriProtocolError(AriError):
    """Asterisk answered with something we cannot parse (not JSON, or the wrong shape)."""


class MalformedAriEvent(AriProtocolError):
    """An event from the websocket is not valid JSON or lacks a required field."""


def error_for_status(status: int, message: str) -> AriRequestError:
    """Map an HTTP error status from ARI to the matching exception (not raised here)."""
    cls: type[AriRequestError]
    if status == 404:
        cls = AriNotFound
    elif status in (409, 412):
        cls = AriConflict
    elif status in (400, 422):
        cls = AriBadRequest
    elif status in (401, 403):
        cls = AriAuthError
    else:
        cls = AriServerError
    return cls(message, status=status)
