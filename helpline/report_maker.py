"""Reports for the web API (``web.reports_api``): the figures from SQL, drawn as HTML, CSV or
PDF by ``reports``; the composition root hands ``SqlReportMaker`` to ``web.create_app``.

Blocking: the web layer runs ``make`` on the ``reports`` pool, never on the event loop.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.settings import HelplineConfig
from reports.errors import ReportError
from reports.figures import ReportSettings, build_report
from reports.render import STYLESHEET, render_csv, render_html, render_pdf
from storage.errors import StorageError
from web.reports_api import ReportFormat, ReportLanguage, ReportUnavailable

log = logging.getLogger(__name__)


class SqlReportMaker:
    """``web.reports_api.ReportMaker`` over the contact records in ``engine``."""

    def __init__(self, engine: Engine, cfg: HelplineConfig) -> None:
        self._engine = engine
        self._tz = ZoneInfo(cfg.helpline.timezone)
        r = cfg.reports
        self._settings = ReportSettings(
            r.short_abandon_s, r.target_answer_s, r.target_service_level
        )

    def period(self, first: date, last: date) -> tuple[datetime, datetime]:
        """``[start of first, start of the day after last)`` in the helpline's time zone."""
        since = datetime.combine(first, time(), self._tz)
        return since, datetime.combine(last + timedelta(days=1), time(), self._tz)

    def make(
        self,
        first: date,
        last: date,
        fmt: ReportFormat,
        lang: ReportLanguage,
        stylesheet: str,
    ) -> bytes:
        since, until = self.period(first, last)
        try:
            report = build_report(self._engine, since, until, self._tz, self._settings)
            if fmt == "pdf":
                return render_pdf(report, lang)  # inline style: WeasyPrint knows no CSP
            if fmt == "csv":
                return render_csv(report, lang).encode()
            return render_html(report, lang, stylesheet=stylesheet).encode()
        except SQLAlchemyError as exc:
            # The exception's text may quote SQL parameters: its type only, here and in the log.
            log.warning("report failed: %s", type(exc).__name__)
            raise ReportUnavailable("the database cannot be read now; try again") from exc
        except (ReportError, StorageError) as exc:
            log.warning("report failed: %s", exc)
            raise ReportUnavailable(f"the report could not be made: {exc}") from exc

    def stylesheet(self) -> str:
        return STYLESHEET
