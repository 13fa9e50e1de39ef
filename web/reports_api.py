"""Reports for supervisors: ``GET /api/v1/reports?from=&to=&format=html|csv|pdf&lang=nl|en``.

The same report as ``helpline report`` (counts only: nothing in it identifies a child), over
the local days ``from`` .. ``to`` (both included, in ``[helpline] timezone``), for supervisors
and admins; a volunteer gets 403, nobody signed in 401. The HTML page is shown inline, CSV and
PDF come as attachments with a file name that tells the period.

The web layer cannot import ``reports`` (they are siblings in the layers), so the report is made
by a ``ReportMaker`` the composition root hands to ``install`` (``helpline.report_maker``). Making
one is blocking (SQL, then WeasyPrint for a PDF, seconds for a year), so it runs on the
``reports`` pool of ``storage.pools``: two at a time at low CPU priority, two more waiting, and a
429 beyond that rather than a queue without end. The period is at most ``MAX_DAYS`` long.

The app's Content-Security-Policy allows no inline style, so the HTML links its stylesheet,
``GET /api/v1/reports/report.css``, instead of carrying it (the charts are inline SVG drawn on
the server with presentation attributes, which the CSP does not govern; no script at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol, TypeVar, get_args

from aiohttp import web

from storage import pools
from storage.errors import PoolFull
from web.errors import ApiError, BadRequest, Forbidden, TooManyRequests, WebError
from web.volunteer_api import Caller, authenticate

routes = web.RouteTableDef()

ReportFormat = Literal["html", "csv", "pdf"]
ReportLanguage = Literal["nl", "en"]
FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
LANGUAGES: tuple[ReportLanguage, ...] = get_args(ReportLanguage)

MAX_DAYS = 366
"""The longest period one request may ask for: a (leap) year. Longer periods are the CLI's
(``helpline report``), with its progress bar, not a browser's request."""

MIN_YEAR, MAX_YEAR = 2000, 2199
"""Dates outside these years are a typo or a probe (and near year 1 or 9999 a time zone pushes
them off Python's calendar)."""

STAFF_ROLES = frozenset({"supervisor", "admin"})
"""Roles that may see reports (as they see everything on the live bus: ``web.live_api``)."""

STYLESHEET_PATH = "/api/v1/reports/report.css"

CONTENT_TYPES: dict[ReportFormat, str] = {
    "html": "text/html",
    "csv": "text/csv",
    "pdf": "application/pdf",
}

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ReportUnavailable(WebError):
    """A report could not be made now (the database failed, the PDF library is missing): 503.
    Its message is shown to the supervisor, so it never holds more than what failed."""


class ReportMaker(Protocol):
    """Makes reports (``helpline.report_maker.SqlReportMaker`` in the service). Blocking."""

    def make(
        self,
        first: date,
        last: date,
        fmt: ReportFormat,
        lang: ReportLanguage,
        stylesheet: str,
    ) -> bytes:
        """The report of the local days ``first`` .. ``last`` (both included) in ``fmt``; an
        HTML page links ``stylesheet`` for its style. ReportUnavailable when it cannot."""
        ...

    def stylesheet(self) -> str:
        """The CSS the HTML report links."""
        ...


@dataclass(frozen=True, slots=True)
class ReportsWeb:
    """What the report routes need: the maker, or None where reports are not served."""

    maker: ReportMaker | None


REPORTS = web.AppKey("helpline_reports", ReportsWeb)


class ReportsUnavailableError(ApiError):
    """Reports are not made here, or making this one failed."""

    status = 503
    code = "unavailable"


def install(app: web.Application, maker: ReportMaker | None) -> None:
    """Add the routes; without a maker they answer 503 after checking who asks."""
    app[REPORTS] = ReportsWeb(maker)
    app.add_routes(routes)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """A report request's query, checked."""

    first: date
    """First local day (included)."""
    last: date
    """Last local day (included)."""
    fmt: ReportFormat
    lang: ReportLanguage

    def filename(self) -> str:
        """``helpline-report-<first>_<last>.<format>``: ASCII only, safe in a header."""
        return f"helpline-report-{self.first.isoformat()}_{self.last.isoformat()}.{self.fmt}"


def _date(query: dict[str, str], name: str) -> date:
    raw = query.get(name)
    if raw is None or raw == "":
        raise BadRequest(f"{name}: required, a date YYYY-MM-DD", code="invalid_field")
    # The regex first: fromisoformat also takes "20261203" and week dates, which a form
    # never sends and a reader would not expect to work.
    if not raw.isascii() or _DATE.fullmatch(raw) is None:
        raise BadRequest(f"{name}: expected a date, YYYY-MM-DD", code="invalid_field")
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: not a date of the calendar", code="invalid_field") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadRequest(
            f"{name}: must be between the years {MIN_YEAR} and {MAX_YEAR}", code="invalid_field"
        )
    return value


def parse_query(query: dict[str, str]) -> ReportRequest:
    """The checked request; BadRequest naming the field otherwise."""
    first, last = _date(query, "from"), _date(query, "to")
    if last < first:
        raise BadRequest("to: the period ends before it starts", code="invalid_period")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise BadRequest(
            f"the period is {days} days long; a report covers at most {MAX_DAYS} days "
            "(use `helpline report` for longer periods)",
            code="period_too_long",
        )
    fmt = _choice("format", query.get("format", "html"), FORMATS)
    lang = _choice("lang", query.get("lang", "nl"), LANGUAGES)
    return ReportRequest(first, last, fmt, lang)


_Choice = TypeVar("_Choice", bound=str)


def _choice(name: str, value: str, allowed: tuple[_Choice, ...]) -> _Choice:
    for option in allowed:
        if value == option:
            return option
    raise BadRequest(f"{name}: must be one of {', '.join(allowed)}", code="invalid_field")


async def _staff(request: web.Request) -> Caller:
    caller = await authenticate(request)
    if caller.volunteer.role not in STAFF_ROLES:
        raise Forbidden("reports are for supervisors", code="not_a_supervisor")
    return caller


def _maker(request: web.Request) -> ReportMaker:
    maker = request.app[REPORTS].maker
    if maker is None:
        raise ReportsUnavailableError("reports are not made by this server")
    return maker


@routes.get("/api/v1/reports")
async def get_report(request: web.Request) -> web.Response:
    """The report over a period, as an HTML page (inline), CSV or PDF (attachments)."""
    await _staff(request)
    asked = parse_query(dict(request.query))
    maker = _maker(request)
    try:
        body = await pools.run_in(
            "reports", maker.make, asked.first, asked.last, asked.fmt, asked.lang, STYLESHEET_PATH
        )
    except PoolFull:
        raise TooManyRequests(
            "other reports are being made; try again in a moment", retry_after_s=5, code="busy"
        ) from None
    except ReportUnavailable as exc:
        raise ReportsUnavailableError(str(exc)) from exc
    disposition = "inline" if asked.fmt == "html" else "attachment"
    charset = None if asked.fmt == "pdf" else "utf-8"
    return web.Response(
        body=body,
        content_type=CONTENT_TYPES[asked.fmt],
        charset=charset,
        headers={"Content-Disposition": f'{disposition}; filename="{asked.filename()}"'},
    )


@routes.get(STYLESHEET_PATH)
async def get_stylesheet(request: web.Request) -> web.Response:
    """The HTML report's stylesheet (the CSP allows no inline style)."""
    await _staff(request)
    maker = _maker(request)
    # A constant: no thread needed.
    return web.Response(text=maker.stylesheet(), content_type="text/css", charset="utf-8")
