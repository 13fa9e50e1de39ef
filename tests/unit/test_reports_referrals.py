"""The referral report on SQLite: counts per partner and per (partner, region), nothing more.

The same checks run on PostgreSQL in tests/integration/test_records_sql.py.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, event

from reports.referrals import (
    PartnerCount,
    RegionCount,
    referrals_per_partner,
    referrals_per_region,
)
from storage import db
from storage.records import RecordWriter
from tests.record_samples import REFERRAL_COUNTS, REFERRAL_WINDOW, T0, referral_sample, referred


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = db.make_engine(f"sqlite:///{tmp_path}/h.db")
    db.migrate(eng)
    yield eng
    eng.dispose()


def check_referral_report(engine: Engine) -> None:
    """Write the hand-counted sample and compare the report with the hand count."""
    writer = RecordWriter(engine)
    for rec in referral_sample():
        writer.write(rec)
    since, until = REFERRAL_WINDOW
    per_partner = referrals_per_partner(engine, since, until)
    per_region = referrals_per_region(engine, since, until)
    assert [(r.partner_id, r.referrals) for r in per_partner] == REFERRAL_COUNTS["per_partner"]
    assert [(r.partner_id, r.region, r.referrals) for r in per_region] == REFERRAL_COUNTS[
        "per_region"
    ]
    # Wider: the contact one second before and the one exactly at `until` come in.
    wide = referrals_per_partner(engine, since - timedelta(days=1), until + timedelta(days=1))
    assert wide == [
        PartnerCount("113", 1),
        PartnerCount("kinderrechtenhelpdesk", 1),
        PartnerCount("veilig-thuis", 5),
    ]
    assert referrals_per_region(engine, until, until + timedelta(days=1)) == [
        RegionCount("kinderrechtenhelpdesk", "utrecht", 1)
    ]
    # An empty period, and a period with contacts but no referrals, count nothing.
    assert referrals_per_partner(engine, since, since) == []
    hour = timedelta(hours=1)
    assert referrals_per_region(engine, since + 5 * hour, since + 7 * hour) == []


def test_referral_counts_match_the_hand_count(engine):
    check_referral_report(engine)


def test_report_rows_are_frozen_counts_and_nothing_more():
    # Counts only: a partner, a region and a number; no contact id, time or volunteer.
    assert [f.name for f in dataclasses.fields(PartnerCount)] == ["partner_id", "referrals"]
    assert [f.name for f in dataclasses.fields(RegionCount)] == [
        "partner_id",
        "region",
        "referrals",
    ]
    row = PartnerCount("veilig-thuis", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.referrals = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (T0.replace(tzinfo=None), T0, "timezone-aware"),
        (T0, datetime(2024, 3, 2), "timezone-aware"),
        (T0, T0 - timedelta(seconds=1), "ends before"),
    ],
)
def test_a_bad_period_is_refused(engine, since, until, message):
    for report in (referrals_per_partner, referrals_per_region):
        with pytest.raises(ValueError, match=message):
            report(engine, since, until)


def test_the_counting_is_done_by_the_database(engine):
    # GROUP BY in SQL: the statement sent counts, it does not fetch the records.
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        referrals_per_region(engine, *REFERRAL_WINDOW)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    [sql] = statements
    assert "count(" in sql.lower() and "group by" in sql.lower()


# -- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path, capsys):
    """Run ``helpline -c <file> report ...`` on a SQLite file; returns (exit code, out, err)."""
    from helpline import cli as cli_main
    from tests.unit.web_support import CONFIG

    path = tmp_path / "helpline.toml"
    db_url = f"sqlite:///{tmp_path}/cli.db"
    path.write_text(CONFIG.format(admin="") + f'\n[database]\nurl = "{db_url}"\n')

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(["-c", str(path), "report", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run.db_url = db_url  # type: ignore[attr-defined]
    return run


def test_cli_prints_the_counts_as_csv_for_whole_local_days(cli):
    eng = db.make_engine(cli.db_url)
    try:
        db.migrate(eng)
        writer = RecordWriter(eng)
        for rec in referral_sample():
            writer.write(rec)
        # Amsterdam midnight is 23:00 UTC in March: a contact at 23:30 UTC is the next day.
        late = T0.replace(hour=23, minute=30)
        writer.write(referred("113", "twente", late))
    finally:
        eng.dispose()
    code, out, err = cli("referrals", "--from", "2024-03-01", "--to", "2024-03-01")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "partner,region,referrals",
        "113,,1",
        "veilig-thuis,,1",
        "veilig-thuis,gelderland-zuid,1",
        "veilig-thuis,utrecht,3",  # the whole day: 13:59:59 (out of the sample window) is in
    ]
    code, out, _ = cli("referrals", "--from", "2024-03-01", "--to", "2024-03-02", "--by", "partner")
    assert out.splitlines() == [
        "partner,referrals",
        "113,2",
        "kinderrechtenhelpdesk,1",
        "veilig-thuis,5",
    ]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("--from", "1 maart", "--to", "2024-03-01"), "expected a date"),
        (("--from", "2024-03-02", "--to", "2024-03-01"), "before --from"),
    ],
)
def test_cli_bad_dates_exit_2_with_one_line(cli, argv, words):
    code, out, err = cli("referrals", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("helpline report: ") and words in err
    assert len(err.strip().splitlines()) == 1
