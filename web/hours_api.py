"""Staff API for opening hours: status per line and channel, ad-hoc closures and openings.

Mounted with ``install(app, store)`` (only when ``[http] admin_token`` is configured); every
request needs ``Authorization: Bearer <admin_token>``. Times in requests are ISO 8601 with an
offset ("2025-06-02T15:00+02:00" or "...Z"), or "now"; responses give UTC ISO 8601.

Reads and writes go to SQL on asyncio's default pool (nothing on the call path uses it). A
change is announced to every running app by the store's ``on_change`` hook (the service builds
the store with ``HoursAnnouncer.announce``), in the same worker thread after the commit; a
failed announcement is logged and does not fail the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from ivr.hours import ALL_SCHEDULES, HoursException, HoursStatus
from storage.errors import InvalidHoursException, UnknownHoursException
from storage.hours_store import HoursExceptionStore, HoursService
from web.auth import require_admin
from web.body import read_json
from web.context import CTX, ctx
from web.errors import BadRequest, NotFound

routes = web.RouteTableDef()

_EXCEPTION_FIELDS = {"kind", "schedule", "starts_at", "ends_at", "reason"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class HoursWeb:
    """What the hours routes need: the service (config + store) and a clock."""

    service: HoursService
    clock: Callable[[], datetime] = _utcnow


HOURS = web.AppKey("helpline_hours", HoursWeb)


def install(
    app: web.Application,
    store: HoursExceptionStore,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Add the hours routes to an app made by ``create_app`` (none without an admin token)."""
    cfg = app[CTX].cfg
    if cfg.http.admin_token is None:
        return
    app[HOURS] = HoursWeb(HoursService(cfg, store), clock)
    app.add_routes(routes)


def _hours(request: web.Request) -> HoursWeb:
    token = ctx(request).cfg.http.admin_token
    assert token is not None  # the routes are not mounted without one
    require_admin(request, token)
    return request.app[HOURS]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def exception_json(e: HoursException) -> dict[str, object]:
    """An exception for API responses."""
    return {
        "id": e.id,
        "kind": e.kind,
        "schedule": e.schedule,
        "starts_at": _iso(e.starts_at),
        "ends_at": _iso(e.ends_at),
        "reason": e.reason,
    }


def status_json(line_id: str, channel: str, status: HoursStatus) -> dict[str, object]:
    """One line/channel's opening status."""
    return {
        "line": line_id,
        "channel": channel,
        "schedule": status.schedule,
        "open": status.open,
        "reason": status.reason,
        "closes_at": _iso(status.closes_at),
        "opens_at": _iso(status.opens_at),
    }


# Exceptions are planned in this range; anything outside is a typo (or a probe), and near
# year 1 or 9999 an offset pushes the time off Python's calendar (OverflowError).
MIN_YEAR = 2000
MAX_YEAR = 2199
MAX_ID = 2**31 - 1  # the id column is an SQL INTEGER: PostgreSQL refuses a larger value


def _parse_time(name: str, text: str, now: datetime) -> datetime:
    if text.strip().lower() == "now":
        return now
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name}: must be an ISO 8601 time", code="invalid_field") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadRequest(f"{name}: must include an offset (e.g. +02:00 or Z)", code="invalid_field")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadRequest(
            f"{name}: must be between the years {MIN_YEAR} and {MAX_YEAR}", code="invalid_field"
        )
    return value.astimezone(UTC)


def exception_id(raw: str) -> int | None:
    """The id in a path, or None unless it is ASCII digits ("²".isdigit() is True) of a
    number an SQL INTEGER holds."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ID))):
        return None
    ident = int(raw)
    return ident if ident <= MAX_ID else None


@routes.get("/api/v1/admin/hours")
async def get_hours(request: web.Request) -> web.Response:
    """Open or closed per line and channel now, and the current and future exceptions."""
    h = _hours(request)
    now = h.clock()

    def read() -> tuple[list[tuple[str, str, HoursStatus]], list[HoursException]]:
        return h.service.all_statuses(now), h.service.store.upcoming(now)

    statuses, exceptions = await asyncio.to_thread(read)
    return web.json_response(
        {
            "now": _iso(now),
            "timezone": h.service.cfg.helpline.timezone,
            "lines": [status_json(line, ch, st) for line, ch, st in statuses],
            "exceptions": [exception_json(e) for e in exceptions],
        }
    )


@routes.post("/api/v1/admin/hours/exceptions")
async def add_exception(request: web.Request) -> web.Response:
    """Add a closure (``kind: "closed"``) or an extra opening (``"open"``)."""
    h = _hours(request)
    body = await read_json(request)
    body.only(_EXCEPTION_FIELDS)
    now = h.clock()
    kind = body.string("kind", max_len=8)
    schedule = body.opt_string("schedule", max_len=48) or ALL_SCHEDULES
    starts_at = _parse_time("starts_at", body.string("starts_at", max_len=64), now)
    ends_at = _parse_time("ends_at", body.string("ends_at", max_len=64), now)
    reason = body.string("reason", max_len=1024)
    try:
        added = await asyncio.to_thread(
            h.service.store.add, schedule, starts_at, ends_at, kind, reason, now=now
        )
    except InvalidHoursException as exc:
        # Its messages name the field and never echo the reason text.
        raise BadRequest(str(exc), code="invalid_exception") from None
    return web.json_response({"exception": exception_json(added)}, status=201)


@routes.delete("/api/v1/admin/hours/exceptions/{id}")
async def remove_exception(request: web.Request) -> web.Response:
    """Delete a closure or extra opening."""
    h = _hours(request)
    ident = exception_id(request.match_info["id"])
    if ident is None:
        raise NotFound("no such exception")
    try:
        removed = await asyncio.to_thread(h.service.store.remove, ident)
    except UnknownHoursException:
        raise NotFound("no such exception") from None
    return web.json_response({"exception": exception_json(removed)})
