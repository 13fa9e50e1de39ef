"""A referral on the anonymous contact record: shape, consent, spool format, SQLite storage.

The same storage checks run on PostgreSQL in tests/integration/test_records_sql.py.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from acd import Channel, ContactFinished, Outcome
from session.referral import Referral
from storage import db
from storage.errors import InvalidRecord
from storage.models import ContactRecord
from storage.record_queue import RecordQueue, record_of
from storage.records import (
    MemoryRecordSpool,
    RecordWriter,
    record_from_json,
    record_to_json,
)
from tests.record_samples import T0, answered_record, referred
from tests.unit.test_record_queue import FAST, FakeWriter, until

REFERRAL_COLUMNS = {
    "referral_partner",
    "referral_region",
    "referral_consent",
    "referral_volunteer_stayed",
}


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = db.make_engine(f"sqlite:///{tmp_path}/h.db")
    db.migrate(eng)
    yield eng
    eng.dispose()


def finished(outcome: Outcome = Outcome.ANSWERED) -> ContactFinished:
    answered = outcome is Outcome.ANSWERED
    return ContactFinished(
        contact_id=str(uuid.uuid4()),
        channel=Channel.PHONE,
        outcome=outcome,
        priority=0,
        language="nl",
        arrived_at=1_800_000_000.0,
        answered_at=1_800_000_010.0 if answered else None,
        ended_at=1_800_000_900.0,
        agent_id="anna" if answered else None,
        location_id="utrecht" if answered else None,
    )


# -- the session's record of it ----------------------------------------------------------------


def test_a_referral_is_a_frozen_record_of_four_fields():
    ref = Referral("veilig-thuis", "utrecht", consent=True, volunteer_stayed=False)
    assert [f.name for f in dataclasses.fields(Referral)] == [
        "partner_id",
        "region",
        "consent",
        "volunteer_stayed",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.region = None  # type: ignore[misc]
    assert ref == Referral("veilig-thuis", "utrecht", True, False)


def test_record_of_notes_the_referral_and_nothing_without_one():
    done = finished()
    ref = Referral("veilig-thuis", None, consent=True, volunteer_stayed=True)
    rec = record_of(done, "116111", "nl", referral=ref)
    got = (
        rec.referral_partner,
        rec.referral_region,
        rec.referral_consent,
        rec.referral_volunteer_stayed,
    )
    assert got == ("veilig-thuis", None, True, True)
    assert dataclasses.replace(rec, **dict.fromkeys(REFERRAL_COLUMNS)) == record_of(
        done, "116111", "nl"
    )
    plain = record_of(done, "116111", "nl")
    assert all(getattr(plain, name) is None for name in REFERRAL_COLUMNS)


async def test_the_queue_carries_the_referral_to_sql():
    writer = FakeWriter()
    queue = RecordQueue(writer, **FAST)
    queue.start()
    done, other = finished(), finished()
    ref = Referral("113", "noord-holland", consent=True, volunteer_stayed=False)
    queue.submit(done, "116111", "nl", referral=ref)
    queue.submit(other, "116111", "nl")
    await until(lambda: queue.written == 2)
    assert writer.rows[done.contact_id] == record_of(done, "116111", "nl", referral=ref)
    assert writer.rows[other.contact_id].referral_partner is None
    await queue.close()


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # Not all or nothing.
        ({"referral_partner": "veilig-thuis"}, "referral_consent"),
        ({"referral_consent": True, "referral_volunteer_stayed": False}, "need a partner"),
        ({"referral_region": "utrecht"}, "need a partner"),
        (
            {"referral_partner": "veilig-thuis", "referral_consent": True},
            "referral_volunteer_stayed",
        ),
        # Never without consent.
        (
            {
                "referral_partner": "veilig-thuis",
                "referral_consent": False,
                "referral_volunteer_stayed": False,
            },
            "only with consent",
        ),
        (
            {
                "referral_partner": "veilig-thuis",
                "referral_consent": 1,
                "referral_volunteer_stayed": False,
            },
            "only with consent",
        ),
        # Identifiers only: nothing a child said, no number.
        (
            {
                "referral_partner": "0800 2000",
                "referral_consent": True,
                "referral_volunteer_stayed": False,
            },
            "referral_partner",
        ),
        (
            {
                "referral_partner": "veilig-thuis",
                "referral_region": "Bij oma in Zwolle",
                "referral_consent": True,
                "referral_volunteer_stayed": False,
            },
            "referral_region",
        ),
        (
            {
                "referral_partner": "veilig-thuis",
                "referral_consent": True,
                "referral_volunteer_stayed": "no",
            },
            "referral_volunteer_stayed",
        ),
    ],
)
def test_an_inconsistent_referral_is_refused_and_nothing_written(engine, changes, message):
    with pytest.raises(InvalidRecord, match=message) as info:
        RecordWriter(engine).write(answered_record(**changes))
    assert "Zwolle" not in str(info.value) and "2000" not in str(info.value)
    assert RecordWriter(engine).between(T0, T0 + timedelta(days=1)) == []


def test_only_an_answered_contact_can_have_a_referral(engine):
    # A partner is added by a volunteer in a conversation: never on an abandoned contact.
    rec = referred("veilig-thuis", None, T0)
    abandoned = dataclasses.replace(
        rec, outcome="abandoned", answered_at=None, talk_s=None, volunteer_id=None
    )
    with pytest.raises(InvalidRecord, match="abandoned: must not have a referral"):
        RecordWriter(engine).write(abandoned)


# -- SQLite ------------------------------------------------------------------------------------


def test_a_referral_survives_sql(engine):
    writer = RecordWriter(engine)
    records = [
        referred("veilig-thuis", "utrecht", T0, stayed=True),
        referred("113", None, T0),
        answered_record(),
    ]
    for rec in records:
        writer.write(rec)
    for rec in records:
        assert writer.get(rec.id) == rec
    got = writer.get(records[0].id)
    assert got is not None and got.referral_volunteer_stayed is True


def test_the_database_itself_refuses_a_referral_without_consent(engine):
    # Defence in depth: a write that skips validate_record still meets the table's CHECK.
    values = dataclasses.asdict(referred("veilig-thuis", None, T0))
    for bad in (
        {"referral_consent": False},
        {"referral_consent": None},
        {"referral_partner": None},
        {"referral_volunteer_stayed": None},
    ):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(ContactRecord), [{**values, **bad, "id": str(uuid.uuid4())}])
    with engine.begin() as conn:
        conn.execute(insert(ContactRecord), [values])


def test_migration_0005_keeps_old_records_without_a_referral(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    try:
        check_migration_0005(eng)
    finally:
        eng.dispose()


def check_migration_0005(engine: Engine) -> None:
    """Upgrade a 0004 database holding a record; it reads back as one without a referral.

    The table keeps its other constraints and indexes through SQLite's table copy, and a
    downgrade drops only the referral columns. Shared with the PostgreSQL run.
    """
    old = answered_record()
    db.migrate(engine, "0004")
    with engine.begin() as conn:  # the row as 0004 stored it: no referral columns yet
        conn.execute(
            text(
                "INSERT INTO contact_records (id, channel, line_id, language, priority,"
                " arrived_at, answered_at, ended_at, wait_s, talk_s, outcome, volunteer_id,"
                " location_id) VALUES (:id, 'phone', '116111', 'nl', 0, :a, :b, :e, 12, 288,"
                " 'answered', 'anna', 'utrecht')"
            ),
            {"id": old.id, "a": old.arrived_at, "b": old.answered_at, "e": old.ended_at},
        )
    before = inspect(engine)
    checks = {c["name"] for c in before.get_check_constraints("contact_records")}
    indexes = {ix["name"] for ix in before.get_indexes("contact_records")}
    db.migrate(engine, "0005")  # not head: a later migration adds an index of its own
    after = inspect(engine)
    columns = {c["name"] for c in after.get_columns("contact_records")}
    assert REFERRAL_COLUMNS <= columns
    assert {c["name"] for c in after.get_check_constraints("contact_records")} == checks | {
        "ck_contact_records_referral"
    }
    assert {ix["name"] for ix in after.get_indexes("contact_records")} == indexes
    assert RecordWriter(engine).get(old.id) == old
    RecordWriter(engine).write(referred("veilig-thuis", "utrecht", T0))
    db.downgrade(engine, "0004")
    reverted = inspect(engine)
    assert not REFERRAL_COLUMNS & {c["name"] for c in reverted.get_columns("contact_records")}
    assert {c["name"] for c in reverted.get_check_constraints("contact_records")} == checks
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()


# -- the spool ---------------------------------------------------------------------------------


def test_a_referral_survives_the_spool_format_unchanged():
    rec = referred("veilig-thuis", None, T0, stayed=True)
    raw = record_to_json(rec)
    assert record_from_json(raw) == rec
    assert record_to_json(record_from_json(raw)) == raw  # stable: the spool removes by value
    assert json.loads(raw)["referral_partner"] == "veilig-thuis"


def test_a_record_without_a_referral_is_spooled_as_before():
    # The line has no referral keys at all, so an older version (a standby during an upgrade)
    # reads it instead of setting it aside for an unknown field.
    raw = record_to_json(answered_record())
    assert not REFERRAL_COLUMNS & set(json.loads(raw))


async def test_a_record_spooled_before_the_upgrade_is_still_written(engine):
    # A line exactly as the previous version wrote it (its own keys, sorted, compact).
    rec = answered_record()
    before = {
        f.name: getattr(rec, f.name)
        for f in dataclasses.fields(rec)
        if f.name not in REFERRAL_COLUMNS
    }
    for name in ("arrived_at", "answered_at", "ended_at"):
        before[name] = before[name].isoformat()
    raw = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert record_from_json(raw) == rec
    spool = MemoryRecordSpool()
    await spool.push([raw])
    queue = RecordQueue(RecordWriter(engine), spool, **FAST)
    queue.start()
    await until(lambda: queue.written == 1)
    await queue.close()
    assert spool.items == [] and spool.dead == []
    assert RecordWriter(engine).get(rec.id) == rec


def test_partners_and_regions_outside_the_directory_are_refused(engine):
    # A number has an identifier's shape: only the configured ids keep one out of the table.
    writer = RecordWriter(engine, partner_ids={"veilig-thuis", "113"}, region_ids={"utrecht"})
    for partner, region, message in (
        ("0612345678", None, "not a partner of the directory"),
        ("veilig-thuis", "0612345678", "not a configured region"),
    ):
        with pytest.raises(InvalidRecord, match=message) as info:
            writer.write(referred(partner, region, T0))
        assert "0612345678" not in str(info.value)
    writer.write(referred("113", None, T0))
    writer.write(referred("veilig-thuis", "utrecht", T0))
    writer.write(answered_record())  # no referral: nothing to look up
    assert len(writer.between(T0, T0 + timedelta(days=1))) == 3
