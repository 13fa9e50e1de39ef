"""The supervisors' report page in Chromium against the real app (``helpline run``): a supervisor
signs in at the workspace, finds the reports link there (a volunteer does not), opens the report
page in a tab of its own, reaches every control from the keyboard, axe-core finds no serious
or critical violation; the HTML report for today shows the contact recorded today and its
stylesheet applies under the app's real CSP (a context that does not bypass it), and the PDF
downloads as a PDF. Screenshots of the page (Dutch, English) and of the rendered report.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine

from storage.records import RecordWriter
from tests.browser.conftest import (
    DESKTOP,
    SUPERVISOR,
    RunningHelpline,
    axe_violations,
    shot,
    sign_in,
)
from tests.record_samples import answered_record

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

TZ = ZoneInfo("Europe/Amsterdam")  # the test config's [helpline] timezone (the default)


def _record_a_contact_today(helpline: RunningHelpline) -> None:
    """One answered call that arrived a minute ago (local today), as the record writer stores
    it: the report of today must count it."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.astimezone(TZ).date(), datetime.min.time(), TZ)
    arrived = max(now - timedelta(seconds=60), midnight.astimezone(UTC))
    engine = create_engine(f"sqlite:///{helpline.config_path.parent / 'helpline.db'}")
    try:
        RecordWriter(engine).write(
            answered_record(
                arrived_at=arrived,
                answered_at=arrived + timedelta(seconds=4),
                ended_at=arrived + timedelta(seconds=34),
                wait_s=4.0,
                talk_s=30.0,
            )
        )
    finally:
        engine.dispose()


def _today() -> str:
    return datetime.now(TZ).date().isoformat()


def _signed_in_workspace(page: Page, who: str) -> None:
    page.goto("/")
    sign_in(page, who)
    expect(page.locator(".state-panel")).to_be_visible()


def _contacts_in_summary(report: Page) -> int:
    first = report.locator("#summary + table tr").nth(1).locator("td").first
    return int(first.inner_text())


def test_a_volunteer_sees_no_reports(page: Page, helpline: RunningHelpline):
    _signed_in_workspace(page, "uma")
    expect(page.get_by_role("link", name="Rapportages")).to_have_count(0)
    page.goto("/reports")
    expect(page.get_by_text("Rapportages zijn er alleen voor supervisors.")).to_be_visible()
    expect(page.get_by_role("button", name="PDF downloaden")).to_have_count(0)


def test_signed_out_the_report_page_sends_you_to_sign_in(page: Page, helpline: RunningHelpline):
    page.goto("/reports")
    expect(page.get_by_text("Meld je eerst aan op de werkplek")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Naar de werkplek")).to_have_attribute(
        "href", "/"
    )


def test_a_supervisor_opens_todays_report_and_downloads_the_pdf(
    page: Page, browser: Browser, helpline: RunningHelpline
):
    _record_a_contact_today(helpline)
    _signed_in_workspace(page, SUPERVISOR)
    link = page.get_by_role("link", name="Rapportages")
    expect(link).to_have_attribute("target", "_blank")  # the workspace (and its phone) stays
    with page.context.expect_page() as opened:
        link.click()
    reports = opened.value
    expect(reports.get_by_role("heading", level=1)).to_have_text("Rapportages")
    expect(reports).to_have_title("Rapportages")
    form = reports.locator("form.report-form")
    expect(form.get_by_label("Snelkeuze")).to_have_value("today")
    expect(form.get_by_label("Van")).to_have_value(_today())
    expect(form.get_by_label("Tot en met")).to_have_value(_today())
    assert axe_violations(reports) == []
    shot(reports, "reports-page")

    # Every control is reached with Tab, in reading order, with a visible focus.
    reports.locator("body").focus()
    reached: list[str] = []
    for _ in range(24):
        reports.keyboard.press("Tab")
        reached.append(
            reports.evaluate(
                "(() => { const e = document.activeElement;"
                " return (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent)"
                ".trim(); })()"
            )
        )
    wanted = ["Snelkeuze", "Van", "Tot en met", "Rapport openen (HTML)", "CSV downloaden"]
    wanted.append("PDF downloaden")
    positions = [next(i for i, text in enumerate(reached) if text.startswith(w)) for w in wanted]
    assert positions == sorted(positions), reached

    # Yesterday by keyboard, then back to today: the dates follow the choice.
    preset = form.get_by_label("Snelkeuze")
    preset.focus()
    preset.select_option("yesterday")
    yesterday = (datetime.now(TZ).date() - timedelta(days=1)).isoformat()
    expect(form.get_by_label("Van")).to_have_value(yesterday)
    preset.select_option("today")

    # A period that ends before it starts is refused on the page, before any request.
    form.get_by_label("Van").fill("2030-01-02")
    form.get_by_label("Tot en met").fill("2030-01-01")
    form.get_by_role("button", name="CSV downloaden").click()
    expect(form.get_by_role("alert")).to_have_text("De einddatum ligt vóór de begindatum.")
    expect(preset).to_have_value("custom")
    preset.select_option("today")
    expect(form.get_by_role("alert")).to_be_hidden()

    # The HTML report for today, in a tab of its own: the contact recorded above counts.
    with reports.context.expect_page() as html_tab:
        form.get_by_role("link", name=re.compile("Rapport openen")).click()
    report = html_tab.value
    report.wait_for_load_state()
    expect(report).to_have_title("Rapportage contacten")
    assert _contacts_in_summary(report) >= 1
    assert report.url.endswith(f"from={_today()}&to={_today()}&format=html&lang=nl")

    # The PDF, from the keyboard.
    pdf_button = form.get_by_role("button", name="PDF downloaden")
    pdf_button.focus()
    with reports.expect_download() as download_info:
        reports.keyboard.press("Enter")
    download = download_info.value
    assert download.suggested_filename == f"helpline-report-{_today()}_{_today()}.pdf"
    assert Path(download.path()).read_bytes()[:5] == b"%PDF-"
    expect(form.get_by_role("status")).to_have_text(re.compile(r"\.pdf is gedownload"))

    # English on request: the page and the report's language choice follow.
    reports.get_by_role("button", name="English").click()
    expect(reports.get_by_role("heading", level=1)).to_have_text("Reports")
    expect(form.get_by_role("status")).to_have_text(re.compile(r"\.pdf downloaded\.$"))
    form.get_by_label("English").check()
    assert axe_violations(reports) == []
    shot(reports, "reports-page-en")
    reports.get_by_role("button", name="Nederlands").click()

    # Under the app's real CSP (this context does not bypass it): the report's stylesheet
    # applies and nothing is blocked.
    strict = browser.new_context(base_url=helpline.base_url, viewport=DESKTOP, locale="nl-NL")
    try:
        tab = strict.new_page()
        blocked: list[str] = []
        tab.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else 0)
        tab.goto("/")
        sign_in(tab, SUPERVISOR)
        expect(tab.locator(".state-panel")).to_be_visible()
        tab.goto(f"/api/v1/reports?from={_today()}&to={_today()}&format=html&lang=en")
        expect(tab).to_have_title("Contact report")
        header_cell = tab.locator("#summary + table th").first
        expect(header_cell).to_have_css("background-color", "rgb(232, 238, 245)")
        assert tab.locator("svg").count() >= 1
        assert blocked == [], blocked
        shot(tab, "report-html", full_page=True)
    finally:
        strict.close()
