"""The access log: method, path, status, size and time; never an address, query or header.

aiohttp's default format logs the client's address (``%a``), the request line with its query
string (``%r``: a child's chat token travels in ``/api/v1/chat/ws?token=``) and the user agent.
Nothing that identifies a child may be logged, so every listener uses this logger instead.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PrivateAccessLogger(AbstractAccessLogger):
    """``GET /api/v1/chat/ws 101 0B 12.345s``: the path only (no query string)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(20):  # INFO
            return
        self.logger.info(
            "%s %s %d %dB %.3fs",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )
