"""A chat's record: its id (``chat-`` + 32 hex) stored as a UUID, and the channel
``peer_chat`` allowed by the validation and by the database after migration 0007."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from acd import Channel, ContactFinished, Outcome
from storage import db
from storage.errors import InvalidRecord
from storage.record_queue import record_id, record_of
from storage.records import RecordWriter, validate_record

HEX = "0123456789abcdef0123456789abcdef"
CHAT_ID = "chat-" + HEX


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = db.make_engine(f"sqlite:///{tmp_path}/h.db")
    db.migrate(eng)
    yield eng
    eng.dispose()


def chat_done(contact_id: str = CHAT_ID) -> ContactFinished:
    return ContactFinished(
        contact_id=contact_id,
        channel=Channel.CHAT,
        outcome=Outcome.ANSWERED,
        priority=0,
        language="nl",
        arrived_at=1_800_000_000.0,
        answered_at=1_800_000_010.0,
        ended_at=1_800_000_900.0,
        agent_id="anna",
        location_id="utrecht",
    )


def test_a_chat_id_becomes_its_hex_digits_as_a_uuid_and_a_call_id_stays():
    assert record_id(CHAT_ID) == str(uuid.UUID(hex=HEX))
    call = str(uuid.uuid4())
    assert record_id(call) == call
    assert record_id("chat-not-hex") == "chat-not-hex"  # refused later as not a UUID


def test_a_peer_chat_record_is_valid_and_stored(engine):
    rec = record_of(chat_done(), "116111", "nl", channel="peer_chat")
    assert (rec.id, rec.channel) == (str(uuid.UUID(hex=HEX)), "peer_chat")
    validate_record(rec)
    RecordWriter(engine).write(rec)
    assert RecordWriter(engine).get(rec.id) == rec
    plain = record_of(chat_done("chat-" + "f" * 32), "116111", "nl")
    assert plain.channel == "chat"
    RecordWriter(engine).write(plain)


def test_an_unknown_channel_is_still_refused(engine):
    rec = record_of(chat_done(), "116111", "nl", channel="video")
    with pytest.raises(InvalidRecord, match="channel"):
        validate_record(rec)


def test_migration_0007_widens_the_channel_and_its_check(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    try:
        db.migrate(eng, "0006")
        insert_peer = text(
            "INSERT INTO contact_records (id, channel, line_id, language, priority, arrived_at,"
            " ended_at, wait_s, outcome) VALUES (:id, 'peer_chat', '116111', 'nl', 0,"
            " '2026-12-03 10:00:00', '2026-12-03 10:01:00', 60, 'abandoned')"
        )
        with pytest.raises(IntegrityError), eng.begin() as conn:
            conn.execute(insert_peer, {"id": str(uuid.uuid4())})
        indexes = {ix["name"] for ix in inspect(eng).get_indexes("contact_records")}
        db.migrate(eng, "0007")  # not head: a later migration adds an index of its own
        with eng.begin() as conn:
            conn.execute(insert_peer, {"id": str(uuid.uuid4())})
        after = inspect(eng)
        assert {ix["name"] for ix in after.get_indexes("contact_records")} == indexes
        checks = {c["name"] for c in after.get_check_constraints("contact_records")}
        assert "ck_contact_records_channel" in checks
        with pytest.raises(IntegrityError), eng.begin() as conn:
            conn.execute(
                text("UPDATE contact_records SET channel = 'video' WHERE channel = 'peer_chat'")
            )
        with eng.begin() as conn:
            conn.execute(text("DELETE FROM contact_records"))
        db.downgrade(eng, "0006")
        db.migrate(eng)
        assert db.current_revision(eng) == db.head_revision()
    finally:
        eng.dispose()
