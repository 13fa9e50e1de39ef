"""RecordWriter validation and SQLite storage (backend-parametrised tests live in
tests/integration/test_records_sql.py)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select

from storage import db
from storage.errors import (
    DuplicateRecord,
    InvalidRecord,
    RecordError,
    RecordsUnavailable,
    StorageError,
)
from storage.models import ContactRecord
from storage.records import MemoryRecordSpool, RecordWriter, record_from_json, record_to_json
from tests.record_samples import T0, answered_record


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = db.make_engine(f"sqlite:///{tmp_path}/deep/dir/h.db")
    db.migrate(eng)
    yield eng
    eng.dispose()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ContactRecord)).scalar_one()


def test_make_engine_creates_sqlite_parent_dir_and_migrate_accepts_url(tmp_path):
    url = f"sqlite:///{tmp_path}/a/b/helpline.db"
    db.migrate(url)
    assert (tmp_path / "a" / "b" / "helpline.db").exists()
    eng = db.make_engine(url)
    try:
        assert db.current_revision(eng) == db.head_revision()
    finally:
        eng.dispose()


def test_downgrade_to_base_and_back(engine):
    db.downgrade(engine, "base")
    assert db.current_revision(engine) is None
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_migrations_ship_with_the_package():
    # An installed helpline finds its migrations via the package path; setuptools only ships
    # directories that are packages, so both must have an __init__.py.
    from pathlib import Path

    from setuptools import find_packages

    import storage

    assert db.MIGRATIONS_DIR.parent == Path(storage.__file__).resolve().parent
    root = Path(storage.__file__).resolve().parent.parent
    found = find_packages(str(root), include=["storage*"])
    assert {"storage.migrations", "storage.migrations.versions"} <= set(found)
    assert (db.MIGRATIONS_DIR / "script.py.mako").is_file()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "0612345678"}, "id"),
        ({"channel": "sms"}, "channel"),
        ({"outcome": "lost"}, "outcome"),
        ({"line_id": "Line 1"}, "line_id"),
        ({"language": "nederlands"}, "language"),
        ({"volunteer_id": "Anna Bakker"}, "volunteer_id"),
        ({"priority": 10}, "priority"),
        ({"arrived_at": datetime(2024, 3, 1, 14, 0)}, "arrived_at"),
        ({"ended_at": T0 - timedelta(seconds=1)}, "ended_at"),
        ({"wait_s": -1.0}, "wait_s"),
        ({"answered_at": None}, "answered"),
        ({"volunteer_id": None}, "answered"),
        ({"answered_at": T0 + timedelta(hours=1)}, "answered_at"),
        ({"overflow_reason": "max_wait"}, "overflow_reason"),
    ],
)
def test_invalid_records_are_refused_and_nothing_written(engine, changes, message):
    writer = RecordWriter(engine)
    with pytest.raises(InvalidRecord, match=message):
        writer.write(answered_record(**changes))
    assert _count(engine) == 0


def test_overflow_reason_must_be_a_code_word_without_digits(engine):
    writer = RecordWriter(engine)
    base = dict(outcome="overflowed", answered_at=None, talk_s=None, volunteer_id=None)
    with pytest.raises(InvalidRecord, match="overflow_reason"):
        writer.write(answered_record(**base, overflow_reason="caller 0612345678"))
    with pytest.raises(InvalidRecord, match="needs overflow_reason"):
        writer.write(answered_record(**base))
    writer.write(answered_record(**base, overflow_reason="max_wait"))
    assert _count(engine) == 1


def test_error_messages_do_not_echo_suspicious_values(engine):
    with pytest.raises(InvalidRecord) as info:
        RecordWriter(engine).write(answered_record(location_id="+31612345678"))
    assert "612345678" not in str(info.value)


def test_mapping_input_with_a_caller_field_is_refused(engine):
    data = dataclasses.asdict(answered_record())
    data["caller"] = "0612345678"
    with pytest.raises(InvalidRecord, match="caller"):
        RecordWriter(engine).write(data)
    assert _count(engine) == 0


def test_mapping_input_missing_fields_is_refused(engine):
    with pytest.raises(InvalidRecord, match="incomplete"):
        RecordWriter(engine).write({"id": str(uuid.uuid4())})


def test_mapping_input_is_accepted(engine):
    rec = answered_record()
    RecordWriter(engine).write(dataclasses.asdict(rec))
    assert RecordWriter(engine).get(rec.id) == rec


def test_line_ids_restriction(engine):
    writer = RecordWriter(engine, line_ids={"116111", "0800-0432"})
    with pytest.raises(InvalidRecord, match="configured line"):
        writer.write(answered_record(line_id="0612345678"))
    writer.write(answered_record(line_id="0800-0432"))
    assert _count(engine) == 1


def test_times_come_back_as_utc(engine):
    cest = timezone(timedelta(hours=2))
    rec = answered_record(
        arrived_at=T0.astimezone(cest),
        answered_at=(T0 + timedelta(seconds=12)).astimezone(cest),
        ended_at=(T0 + timedelta(seconds=300)).astimezone(cest),
    )
    writer = RecordWriter(engine)
    writer.write(rec)
    got = writer.get(rec.id)
    assert got is not None
    assert got.arrived_at == T0 and got.arrived_at.utcoffset() == timedelta(0)
    assert got.ended_at.tzinfo is not None


def test_duplicate_is_a_record_error(engine):
    rec = answered_record()
    writer = RecordWriter(engine)
    writer.write(rec)
    with pytest.raises(DuplicateRecord):
        writer.write(rec)
    assert issubclass(DuplicateRecord, RecordError)
    assert issubclass(RecordError, StorageError)


def test_query_window_must_be_aware(engine):
    with pytest.raises(InvalidRecord):
        RecordWriter(engine).counts_by_outcome(datetime(2024, 1, 1), T0)


def test_storage_failure_is_a_record_error(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/never_migrated.db")
    try:
        with pytest.raises(RecordError, match="not written") as info:
            RecordWriter(eng).write(answered_record())
        # Not migrated yet is the database not being ready, not the record being bad: retry.
        assert isinstance(info.value, RecordsUnavailable)
    finally:
        eng.dispose()


def test_an_unreachable_database_is_records_unavailable():
    # Nothing listens on port 1: connection refused, the shape of a stopped PostgreSQL.
    eng = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(RecordsUnavailable, match="OperationalError"):
            RecordWriter(eng).write(answered_record())
    finally:
        eng.dispose()


def test_a_record_survives_the_spool_format_unchanged():
    cest = timezone(timedelta(hours=2))
    for rec in (
        answered_record(arrived_at=T0.astimezone(cest)),
        answered_record(
            outcome="overflowed",
            answered_at=None,
            talk_s=None,
            volunteer_id=None,
            location_id=None,
            overflow_reason="max_wait",
        ),
    ):
        raw = record_to_json(rec)
        assert record_from_json(raw) == rec
        assert record_from_json(raw.encode()) == rec
        assert record_to_json(record_from_json(raw)) == raw  # stable: the spool removes by value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"id": "x"}', "incomplete"),
        ('{"arrived_at": "yesterday"}', "ISO time"),
    ],
)
def test_what_is_not_a_spooled_record_is_invalid(raw, message):
    with pytest.raises(InvalidRecord, match=message):
        record_from_json(raw)


def test_a_spooled_record_with_a_caller_field_is_refused():
    raw = record_to_json(answered_record())
    with pytest.raises(InvalidRecord, match="caller"):
        record_from_json(raw[:-1] + ',"caller":"0612345678"}')


async def test_the_memory_spool_removes_by_value_and_keeps_order():
    spool = MemoryRecordSpool()
    await spool.push(["a", "b", "c"])
    await spool.remove("b")
    await spool.remove("b")  # another reader removed it already: nothing else goes
    await spool.set_aside("c")
    assert await spool.head(10) == (["a"], 1)
    assert spool.dead == ["c"]
