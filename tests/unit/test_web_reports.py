"""``GET /api/v1/reports``: supervisors only (401 signed out, 403 a volunteer), each format
with its content type and disposition (the PDF is a PDF), the HTML fit for the app's CSP (its
style a linked file, no script), clear 400s for every bad query and never a 500, made on the
``reports`` pool (off the event loop) and refused with a 429 when that pool's line is full."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
from datetime import date

import pytest
from sqlalchemy import Engine

from config.settings import HelplineConfig
from storage import db, pools
from tests.report_samples import write_sample
from tests.unit.web_support import PASSWORD, WebEnv, web_env
from web.browser import CONTENT_SECURITY_POLICY
from web.reports_api import MAX_DAYS, ReportFormat, ReportLanguage, ReportUnavailable

DAY = "from=2024-03-01&to=2024-03-01"
"""The hand-computed sample day (tests.report_samples): 7 contacts in Europe/Amsterdam."""


async def _with_supervisor(env: WebEnv) -> WebEnv:
    env.directory.add("sofie", "Sofie", "utrecht", ["phone"], ["nl"], PASSWORD, role="supervisor")
    return env


@pytest.fixture
async def env(tmp_path):
    url = f"sqlite:///{tmp_path}/reports.db"
    async with web_env(tmp_path, db_url=url) as e:
        engine = db.make_engine(url)
        write_sample(engine)
        engine.dispose()
        yield await _with_supervisor(e)


async def _get(env: WebEnv, query: str, token: str | None = None):
    headers = env.bearer(token) if token is not None else {}
    return await env.client.get(f"/api/v1/reports?{query}", headers=headers)


async def test_signed_out_is_401_and_a_volunteer_is_403(env: WebEnv):
    for path in (f"/api/v1/reports?{DAY}", "/api/v1/reports/report.css"):
        env.client.session.cookie_jar.clear()  # signed out: no cookie from an earlier login
        resp = await env.client.get(path)
        assert resp.status == 401
        assert (await resp.json())["error"] == "unauthorized"
        resp = await env.client.get(path, headers=env.bearer(await env.login("anna")))
        assert resp.status == 403
        assert (await resp.json())["error"] == "not_a_supervisor"
    # Who asks is checked before what is asked: a volunteer learns nothing from a bad query.
    resp = await _get(env, "from=nonsense", await env.login("anna"))
    assert resp.status == 403


async def test_an_admin_account_may_see_reports_too(env: WebEnv):
    env.directory.add("ad", "Ad", "utrecht", ["phone"], ["nl"], PASSWORD, role="admin")
    resp = await _get(env, DAY + "&format=csv", await env.login("ad"))
    assert resp.status == 200


async def test_html_is_inline_links_its_stylesheet_and_fits_the_csp(env: WebEnv):
    resp = await _get(env, DAY, await env.login("sofie"))
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert resp.charset == "utf-8"
    assert resp.headers["Content-Disposition"] == (
        'inline; filename="helpline-report-2024-03-01_2024-03-01.html"'
    )
    assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    page = await resp.text()
    assert '<html lang="nl">' in page
    assert "Rapportage contacten" in page
    # The CSP has style-src 'self' and script-src 'self': no inline style or script at all.
    assert "<style" not in page and " style=" not in page and "<script" not in page
    assert '<link rel="stylesheet" href="/api/v1/reports/report.css">' in page
    assert page.count("<svg") == 2
    # The sample day's summary row: 7 contacts, 4 answered, 2 abandoned, 1 short abandon.
    summary = page.split('id="summary"')[1].split("</table>")[0]
    assert re.findall(r"<td>([^<]*)</td>", summary)[:4] == ["7", "4", "2", "1"]


async def test_the_stylesheet_is_css(env: WebEnv):
    resp = await env.client.get(
        "/api/v1/reports/report.css", headers=env.bearer(await env.login("sofie"))
    )
    assert resp.status == 200
    assert resp.content_type == "text/css"
    assert "table" in await resp.text()


async def test_english_on_request(env: WebEnv):
    resp = await _get(env, DAY + "&lang=en", await env.login("sofie"))
    page = await resp.text()
    assert '<html lang="en">' in page and "Contact report" in page


async def test_csv_is_an_attachment_with_every_section(env: WebEnv):
    resp = await _get(env, DAY + "&format=csv&lang=en", await env.login("sofie"))
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="helpline-report-2024-03-01_2024-03-01.csv"'
    )
    rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0][:2] == ["section", "Contacts"]
    assert rows[1][:5] == ["summary", "7", "4", "2", "1"]
    assert {"channel", "location", "hour", "referrals", "staffing"} <= {r[0] for r in rows}


async def test_pdf_is_an_attachment_and_a_pdf(env: WebEnv):
    resp = await _get(env, DAY + "&format=pdf", await env.login("sofie"))
    assert resp.status == 200
    assert resp.content_type == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="helpline-report-2024-03-01_2024-03-01.pdf"'
    )
    body = await resp.read()
    assert body.startswith(b"%PDF") and len(body) > 1000


async def test_the_session_cookie_is_enough(env: WebEnv):
    # The page opens the report in a tab: the browser sends the cookie, no header.
    await env.login("sofie")  # sets the cookie in the client's jar
    resp = await env.client.get(f"/api/v1/reports?{DAY}&format=csv")
    assert resp.status == 200


@pytest.mark.parametrize(
    ("query", "code", "says"),
    [
        ("to=2024-03-01", "invalid_field", "from: required"),
        ("from=2024-03-01", "invalid_field", "to: required"),
        ("from=&to=2024-03-01", "invalid_field", "from: required"),
        ("from=2024-13-01&to=2024-03-01", "invalid_field", "from: not a date"),
        ("from=2024-02-30&to=2024-03-01", "invalid_field", "from: not a date"),
        ("from=20240301&to=2024-03-01", "invalid_field", "from: expected a date"),
        ("from=2024-3-1&to=2024-03-01", "invalid_field", "from: expected a date"),
        ("from=2024-03-01T00:00&to=2024-03-01", "invalid_field", "from: expected a date"),
        ("from=%EF%BC%92024-03-01&to=2024-03-01", "invalid_field", "from: expected a date"),
        ("from=2024-03-01&to=%00", "invalid_field", "to: expected a date"),
        ("from=1999-12-31&to=2024-03-01", "invalid_field", "between the years"),
        ("from=2024-03-01&to=9999-12-31", "invalid_field", "between the years"),
        ("from=2024-03-02&to=2024-03-01", "invalid_period", "ends before it starts"),
        ("from=2024-01-01&to=2025-01-01", "period_too_long", "at most 366 days"),
        (DAY + "&format=xlsx", "invalid_field", "format: must be one of html, csv, pdf"),
        (DAY + "&format=", "invalid_field", "format: must be one of"),
        (DAY + "&lang=de", "invalid_field", "lang: must be one of nl, en"),
    ],
)
async def test_a_bad_query_is_a_clear_400(env: WebEnv, query: str, code: str, says: str):
    resp = await _get(env, query, await env.login("sofie"))
    assert resp.status == 400, await resp.text()
    body = await resp.json()
    assert body["error"] == code
    assert says in body["message"]


async def test_a_whole_leap_year_is_allowed(env: WebEnv):
    assert (date(2024, 12, 31) - date(2024, 1, 1)).days + 1 == MAX_DAYS
    resp = await _get(env, "from=2024-01-01&to=2024-12-31&format=csv", await env.login("sofie"))
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO(await resp.text())))
    # Record I (29 February, local) is in the year; H (2 March, local) too: 9 in all.
    assert rows[1][:2] == ["summary", "9"]


class _RecordingMaker:
    """Answers a constant, after waiting for ``release``; notes the thread it ran on."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[str] = []
        self.started = threading.Semaphore(0)

    def make(
        self, first: date, last: date, fmt: ReportFormat, lang: ReportLanguage, stylesheet: str
    ) -> bytes:
        self.threads.append(threading.current_thread().name)
        self.started.release()
        assert self.release.wait(10)
        return b"a,b\n"

    def stylesheet(self) -> str:
        return "body {}"


async def test_reports_run_on_their_pool_and_a_full_line_is_a_429(tmp_path):
    maker = _RecordingMaker()

    def factory(engine: Engine, cfg: HelplineConfig) -> _RecordingMaker:
        return maker

    async with web_env(tmp_path, reports=factory) as env:
        await _with_supervisor(env)
        token = await env.login("sofie")
        # Two run, two wait: the fifth finds the line full at once.
        asked = [asyncio.create_task(_get(env, DAY + "&format=csv", token)) for _ in range(4)]
        for _ in range(2):
            assert await asyncio.to_thread(maker.started.acquire, True, 10)
        # All four are in the pool (two running, two waiting) before the fifth asks: on a
        # busy machine the last ones may still be on their way through the server.
        async with asyncio.timeout(10):
            while pools.POOLS.pending("reports") < 4:
                await asyncio.sleep(0.01)
        resp = await _get(env, DAY + "&format=csv", token)
        assert resp.status == 429
        assert (await resp.json())["error"] == "busy"
        assert resp.headers["Retry-After"] == "5"
        maker.release.set()
        done = await asyncio.gather(*asked)
        assert [r.status for r in done] == [200] * 4
        assert [await r.text() for r in done] == ["a,b\n"] * 4
    assert len(maker.threads) == 4
    assert all(name.startswith("helpline-reports") for name in maker.threads), maker.threads


class _FailingMaker(_RecordingMaker):
    def make(
        self, first: date, last: date, fmt: ReportFormat, lang: ReportLanguage, stylesheet: str
    ) -> bytes:
        raise ReportUnavailable("the database cannot be read now; try again")


@pytest.mark.parametrize("maker", [None, _FailingMaker()])
async def test_no_reports_here_is_a_503(tmp_path, maker):
    async with web_env(tmp_path, reports=lambda engine, cfg: maker) as env:
        await _with_supervisor(env)
        resp = await _get(env, DAY, await env.login("sofie"))
        assert resp.status == 503
        assert (await resp.json())["error"] == "unavailable"


async def test_a_database_failure_is_a_503_not_a_500(tmp_path):
    url = f"sqlite:///{tmp_path}/gone.db"
    async with web_env(tmp_path, db_url=url) as env:
        await _with_supervisor(env)
        token = await env.login("sofie")
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE contact_records")
        engine.dispose()
        resp = await _get(env, DAY, token)
        assert resp.status == 503
        assert "database" in (await resp.json())["message"]


async def test_an_empty_section_says_none_instead_of_an_empty_table(env: WebEnv):
    # A day without contacts: every section but the summary says "none".
    resp = await _get(env, "from=2025-01-01&to=2025-01-01&lang=en", await env.login("sofie"))
    page = await resp.text()
    topics = page.split('id="topic"')[1].split("<h2")[0]
    assert "<table" not in topics and "<p>none</p>" in topics
    summary = page.split('id="summary"')[1].split("<h2")[0]
    assert "<table" in summary  # the summary row is always there (zeros)
