"""The report's figures equal a hand count of ``tests.report_samples`` (SQLite here; the same
check runs on PostgreSQL in tests/integration/test_reports_sql.py), and the SQL groups."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event

from reports import metrics
from reports.erlang import agents_needed
from reports.figures import ReportSettings, build_report, chunks, local_months
from storage import db
from storage.report_queries import ContactCounts
from tests.report_samples import SINCE, TZ, UNTIL, write_sample


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = db.make_engine(f"sqlite:///{tmp_path}/r.db")
    db.migrate(eng)
    yield eng
    eng.dispose()


def check_report_figures(engine: Engine) -> None:
    """Write the sample and compare every figure with the hand count in the comments."""
    write_sample(engine)
    report = build_report(engine, SINCE, UNTIL, TZ, ReportSettings(short_abandon_s=5))
    t = report.total
    # A..G are in the day; H (00:10 local on the 2nd) and I (23:50 local on the 29th) are not.
    assert (t.contacts, t.answered, t.abandoned, t.short_abandoned, t.overflowed) == (7, 4, 2, 1, 1)
    assert t.answered_within == (2, 3)  # 20 s: A (10 s), D (5 s); 60 s: and B (30 s)
    assert (t.answer_wait_s, t.talk_s) == (115.0, 1920.0)  # 10+30+70+5; 300+600+120+900
    assert metrics.answered_rate(t) == pytest.approx(4 / 7)
    assert metrics.abandon_rate(t) == pytest.approx(1 / 6)  # F only, over 7 - 1 short
    assert metrics.service_level_answered(t, 20) == pytest.approx(2 / 4)
    assert metrics.service_level_with_abandons(t, 20) == pytest.approx(2 / 6)
    assert metrics.service_level_answered(t, 60) == pytest.approx(3 / 4)
    assert metrics.service_level_with_abandons(t, 60) == pytest.approx(3 / 6)
    assert metrics.asa_s(t) == pytest.approx(28.75)
    assert metrics.aht_s(t) == pytest.approx(480.0)

    def contacts(dim: str) -> dict[str, int]:
        return {k: c.contacts for k, c in report.by[dim].items()}

    assert contacts("channel") == {"chat": 1, "phone": 6}
    assert contacts("line") == {"0800": 2, "116111": 5}
    assert contacts("location") == {"-": 3, "groningen": 2, "utrecht": 2}
    assert report.by["channel"]["phone"].answered == 3
    # Local hours: A, B, C at 11; D, E, F at 14; G at 23.
    assert {h: c.contacts for h, c in report.by_hour_of_day.items()} == {11: 3, 14: 3, 23: 1}

    # Presence: (busy + wrap-up) / (available + offered + busy + wrap-up); paused left out.
    # Utrecht 1,800 of 3,600 s, Groningen 900 of 3,600 s.
    assert metrics.occupancy(report.occupancy_seconds) == pytest.approx(2700 / 7200)
    assert metrics.occupancy(report.occupancy_by_location["utrecht"]) == pytest.approx(0.5)
    assert metrics.occupancy(report.occupancy_by_location["groningen"]) == pytest.approx(0.25)

    # Registrations of A, B, D (H's contact is outside the day); D has two topics.
    assert report.registrations["category"] == {"bullying": 2, "violence": 2}
    assert report.registrations["topic"] == {"bullying": 2, "violence.physical": 2}
    assert report.registrations["age_band"] == {"12-14": 2, "15-17": 1}
    assert report.registrations["gender"] == {"boy": 1, "girl": 2}
    assert report.registrations["contact_type"] == {"counselling": 3}
    assert [(p.partner_id, p.referrals) for p in report.referrals] == [("veilig-thuis", 1)]

    # Staffing: one Friday; phone arrivals 3 at 11 and 2 (E, F) at 14. Handling time: the
    # phone's talk at 11 is (300+600+120)/3 = 340 s, at 14 (no answered call) the day's 340 s,
    # plus wrap-up 600 s / 4 answered contacts = 150 s: 490 s.
    assert len(report.staffing) == 24 and all(s.weekday == 4 for s in report.staffing)
    at = {s.hour: s for s in report.staffing}
    assert (at[11].arrivals_per_hour, at[14].arrivals_per_hour) == (3.0, 2.0)
    assert at[11].aht_s == pytest.approx(490.0) and at[14].aht_s == pytest.approx(490.0)
    assert at[11].traffic_erlang == pytest.approx(3 * 490 / 3600)
    assert at[11].needed == agents_needed(3 * 490 / 3600, 20, 490, 0.8) == 2
    assert at[12].needed == 0 and at[12].arrivals_per_hour == 0
    # Logged in: 4,200 volunteer-seconds at 11 (paused too), 3,600 at 14, none at 12.
    assert at[11].logged_in == pytest.approx(4200 / 3600)
    assert (at[14].logged_in, at[12].logged_in) == (1.0, 0.0)


def test_report_figures_equal_the_hand_count(engine):
    check_report_figures(engine)


def test_an_empty_period_has_no_rates_and_no_presence(engine):
    report = build_report(engine, SINCE, UNTIL, TZ)
    assert report.total.contacts == 0
    assert metrics.answered_rate(report.total) is None
    assert metrics.occupancy(report.occupancy_seconds) is None
    assert all(s.logged_in is None and s.needed is None for s in report.staffing)


def test_the_database_groups_and_no_contact_row_is_fetched(engine):
    write_sample(engine)
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", before)
    try:
        build_report(engine, SINCE, UNTIL, TZ)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    # Every query the report sends is grouped: only sums per group come back, never a contact.
    selects = [s for s in statements if s.lstrip().startswith("select")]
    assert len(selects) == 8 and all("group by" in s for s in selects)


def test_months_cut_a_year_and_add_up():
    from datetime import datetime

    since = datetime(2024, 1, 15, tzinfo=TZ)
    until = datetime(2025, 1, 15, tzinfo=TZ)
    pieces = list(local_months(since, until))
    assert len(pieces) == chunks(since, until, TZ) == 13
    assert pieces[0] == (since, datetime(2024, 2, 1, tzinfo=TZ))
    assert pieces[-1] == (datetime(2025, 1, 1, tzinfo=TZ), until)
    # The DST change on 31 March does not move April's first instant off local midnight.
    assert pieces[3][0] == datetime(2024, 4, 1, tzinfo=TZ)
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))


def test_contact_counts_add_field_by_field():
    a = ContactCounts(1, 1, 0, 0, 0, (1, 1), 5.0, 10.0)
    b = ContactCounts(2, 0, 1, 1, 1, (0, 0), 0.0, 0.0)
    assert a + b == ContactCounts(3, 1, 1, 1, 1, (1, 1), 5.0, 10.0)
