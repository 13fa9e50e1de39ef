"""Health endpoints: liveness apart from readiness.

- ``GET /healthz/live``: the process serves HTTP (200). A supervisor restarts a process that
  stops answering this; nothing else decides it.
- ``GET /healthz/ready``: 200 only when every readiness check passes, else 503; the body names
  each check, e.g. ``{"ok": false, "checks": {"ari": false, "redis": true, "lease": true}}``.
  Not ready means calls cannot be served by this process now (Asterisk's ARI is not connected,
  Redis does not answer, or the lease is not held): callers hear the dialplan's "unavailable"
  message meanwhile. An orchestrator routes to, and a supervisor's wallboard shows, this one.
- ``GET /healthz``: the same as ``/healthz/ready`` (what ``helpline up``, ``helpline
  simulate`` and the container's health check wait for).

The application provides the checks through the small :class:`Readiness` Protocol;
:class:`ReadinessChecks` builds one from the engine's callables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

log = logging.getLogger(__name__)

REDIS_TIMEOUT_S = 0.5
"""How long a readiness probe waits for Redis's PONG: a local Redis answers in a millisecond."""


class Readiness(Protocol):
    """What the application tells the health endpoints."""

    async def checks(self) -> dict[str, bool]:
        """Each readiness check by name (``ari``, ``redis``, ``lease``) and whether it passes.

        Must not raise and must return quickly: an orchestrator probes every few seconds.
        """
        ...


class AlwaysReady:
    """No checks, so always ready: for callers of ``create_app`` that run no engine."""

    async def checks(self) -> dict[str, bool]:
        return {}


class ReadinessChecks:
    """Readiness from the engine's parts: ARI connected, Redis reachable, the lease held.

    ``ari_connected`` and ``lease_held`` are read as they are (they must be cheap and local);
    ``redis_ping`` is awaited with a short timeout, and any error or timeout counts as down.
    """

    def __init__(
        self,
        *,
        ari_connected: Callable[[], bool],
        lease_held: Callable[[], bool],
        redis_ping: Callable[[], Awaitable[object]],
        redis_timeout_s: float = REDIS_TIMEOUT_S,
    ) -> None:
        self._ari_connected = ari_connected
        self._lease_held = lease_held
        self._redis_ping = redis_ping
        self._redis_timeout_s = redis_timeout_s

    async def checks(self) -> dict[str, bool]:
        return {
            "ari": _safely("ari", self._ari_connected),
            "redis": await self._redis_reachable(),
            "lease": _safely("lease", self._lease_held),
        }

    async def _redis_reachable(self) -> bool:
        try:
            async with asyncio.timeout(self._redis_timeout_s):
                await self._redis_ping()
        except Exception as exc:  # any failure to answer, timeouts included, means "down"
            log.debug("readiness: redis unreachable (%s)", type(exc).__name__)
            return False
        return True


def _safely(name: str, check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:  # a broken check reports "not ready"; the probe itself must answer
        log.exception("readiness check %r failed", name)
        return False


READINESS = web.AppKey("helpline_readiness", Readiness)


async def live(request: web.Request) -> web.Response:
    """Liveness: the process serves HTTP."""
    return web.json_response({"ok": True})


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 when every check passes, 503 naming the failing ones otherwise."""
    checks = await request.app[READINESS].checks()
    ok = all(checks.values())
    return web.json_response({"ok": ok, "checks": checks}, status=200 if ok else 503)


def install(app: web.Application, readiness: Readiness) -> None:
    """Mount ``/healthz/live``, ``/healthz/ready`` and ``/healthz`` (= ready) on ``app``."""
    app[READINESS] = readiness
    app.router.add_get("/healthz/live", live)
    app.router.add_get("/healthz/ready", ready)
    app.router.add_get("/healthz", ready)
