"""The registrations table on SQLite: save, replace, validate, count per category, purge notes.

The ``check_*`` functions take a migrated engine and are run on PostgreSQL too
(``tests/integration/test_registrations_sql.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, inspect, select, text

from config.registration import NOTES_MAX_LEN, RegistrationSection
from storage import db
from storage.errors import InvalidRegistration, RegistrationConflict, RegistrationsUnavailable
from storage.models import RegistrationRow, RegistrationTopic
from storage.registrations import (
    MAX_TOPICS,
    Registration,
    RegistrationStore,
    minute,
    purge_notes_forever,
)

T0 = datetime(2026, 3, 2, 14, 7, 31, 250_000, tzinfo=UTC)
WITH_NOTES = RegistrationSection(notes_enabled=True, notes_retention_days=30)
WITHOUT_NOTES = RegistrationSection()
CALLER = "0612345678"


def reg(contact_id: str = "c-1", **changes) -> Registration:
    base: dict = dict(
        contact_id=contact_id,
        volunteer_id="anna",
        contact_type="conversation",
        topics=("violence.physical", "family"),
        age_band="12_14",
        gender="girl",
        notes=None,
    )
    base.update(changes)
    return Registration(**base)


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    eng = db.make_engine(f"sqlite:///{tmp_path}/reg.db")
    db.migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()


def wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(RegistrationTopic))
        conn.execute(delete(RegistrationRow))


# -- shared with PostgreSQL ---------------------------------------------------------------------


def check_roundtrip_and_replace(engine: Engine) -> None:
    store = RegistrationStore(engine, WITHOUT_NOTES)
    saved = store.save(reg(topics=("family", "violence.physical", "family")), T0)
    assert saved.saved_at == datetime(2026, 3, 2, 14, 7, tzinfo=UTC)  # to the minute
    assert saved.topics == ("family", "violence.physical")  # sorted, once each
    got = store.get("c-1")
    assert got == saved
    assert got.saved_at.tzinfo is not None
    assert store.get("c-2") is None
    # A second save replaces the first, topics included.
    later = store.save(reg(contact_type="information_request", topics=("other",)), T0)
    assert store.get("c-1") == later
    with engine.connect() as conn:
        rows = conn.execute(select(RegistrationTopic.topic, RegistrationTopic.category)).all()
    assert [tuple(r) for r in rows] == [("other", "other")]
    # Nothing ticked is a registration too (a silent call).
    store.save(reg("c-2", contact_type="silent", topics=(), age_band="unknown"), T0)
    assert store.get("c-2").topics == ()


def check_another_volunteer_cannot_overwrite(engine: Engine) -> None:
    store = RegistrationStore(engine, WITHOUT_NOTES)
    first = store.save(reg(), T0)
    with pytest.raises(RegistrationConflict):
        store.save(reg(volunteer_id="bram", topics=()), T0)
    assert store.get("c-1") == first


def check_categories_are_counted_in_sql(engine: Engine) -> None:
    store = RegistrationStore(engine, WITHOUT_NOTES)
    store.save(reg("c-1", topics=("violence.physical", "violence.bullying")), T0)
    store.save(reg("c-2", topics=("violence", "family")), T0)
    store.save(reg("c-3", topics=("mental_health.anxiety",)), T0)
    store.save(reg("c-4", topics=("family",)), T0 + timedelta(days=2))  # outside the window
    counts = store.categories_between(T0 - timedelta(hours=1), T0 + timedelta(days=1))
    # c-1 counts once for violence, however many sub-categories were ticked.
    assert counts == {"violence": 2, "family": 1, "mental_health": 1}


def check_notes_disappear_after_the_retention(engine: Engine) -> None:
    store = RegistrationStore(engine, WITH_NOTES)
    store.save(reg("c-1", notes="  belt morgen terug  "), T0)
    store.save(reg("c-2", notes="later"), T0 + timedelta(days=1))
    store.save(reg("c-3"), T0)  # no note
    first = store.get("c-1")
    assert first.notes == "belt morgen terug"
    assert first.notes_expire_at == minute(T0) + timedelta(days=30)
    assert store.purge_notes(T0 + timedelta(days=29, hours=23)) == 0
    assert store.get("c-1").notes == "belt morgen terug"
    assert store.purge_notes(minute(T0) + timedelta(days=30)) == 1  # at the expiry: gone
    purged = store.get("c-1")
    assert purged.notes is None and purged.notes_expire_at is None
    assert purged.topics == first.topics and purged.contact_type == first.contact_type
    assert store.get("c-2").notes == "later"
    assert store.purge_notes(T0 + timedelta(days=31)) == 1
    assert store.get("c-2").notes is None
    assert store.purge_notes(T0 + timedelta(days=400)) == 0
    with engine.connect() as conn:
        left = conn.execute(text("SELECT notes FROM registrations")).scalars().all()
    assert left == [None, None, None]


def check_the_database_refuses_a_note_without_expiry(engine: Engine) -> None:
    with pytest.raises(Exception, match="(?i)check|constraint"):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO registrations (contact_id, volunteer_id, contact_type, age_band,"
                    " gender, notes, saved_at) VALUES ('x', 'anna', 'silent', 'unknown',"
                    " 'unknown', 'a note', :t)"
                ),
                {"t": T0},
            )


def check_migration_0006(engine: Engine) -> None:
    """From 0005 up and down again: two new tables, nothing else touched."""
    db.migrate(engine, "0005")
    before = set(inspect(engine).get_table_names())
    assert "registrations" not in before
    db.migrate(engine, "0006")
    after = inspect(engine)
    assert set(after.get_table_names()) == before | {"registrations", "registration_topics"}
    assert {c["name"] for c in after.get_columns("registrations")} == {
        "contact_id", "volunteer_id", "contact_type", "age_band", "gender", "notes",
        "notes_expire_at", "saved_at",
    }  # fmt: skip
    assert {c["name"] for c in after.get_columns("registration_topics")} == {
        "contact_id", "topic", "category",
    }  # fmt: skip
    assert after.get_pk_constraint("registration_topics")["constrained_columns"] == [
        "contact_id",
        "topic",
    ]
    indexes = {ix["name"] for ix in after.get_indexes("registrations")}
    assert {"ix_registrations_saved_at", "ix_registrations_notes_expire_at"} <= indexes
    RegistrationStore(engine, WITHOUT_NOTES).save(reg(), T0)
    db.downgrade(engine, "0005")
    assert set(inspect(engine).get_table_names()) == before
    db.migrate(engine, "0006")
    assert db.current_revision(engine) == "0006"


# -- SQLite --------------------------------------------------------------------------------------


def test_roundtrip_and_replace(engine):
    check_roundtrip_and_replace(engine)


def test_another_volunteer_cannot_overwrite(engine):
    check_another_volunteer_cannot_overwrite(engine)


def test_categories_are_counted_in_sql(engine):
    check_categories_are_counted_in_sql(engine)


def test_notes_disappear_after_the_retention(engine):
    check_notes_disappear_after_the_retention(engine)


def test_the_database_refuses_a_note_without_expiry(engine):
    check_the_database_refuses_a_note_without_expiry(engine)


def test_migration_0006(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    try:
        check_migration_0006(eng)
    finally:
        eng.dispose()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contact_type": "chat_bot"}, "contact_type"),
        ({"contact_type": CALLER}, "contact_type"),
        ({"topics": ("family", "physical")}, "topics[1]"),  # a sub-category needs its category
        ({"topics": ("violence.",)}, "topics[0]"),
        ({"topics": (3,)}, "topics[0]"),
        ({"topics": tuple(f"t{i}" for i in range(MAX_TOPICS + 1))}, "topics"),
        ({"age_band": "13"}, "age_band"),
        ({"gender": "Girl"}, "gender"),
        ({"notes": "een notitie"}, "notes"),  # notes are off
        ({"contact_id": "c 1"}, "contact_id"),
        ({"contact_id": "x" * 37}, "contact_id"),
        ({"volunteer_id": "Anna"}, "volunteer_id"),
    ],
)
def test_every_value_is_checked_against_the_configuration(engine, changes, field):
    store = RegistrationStore(engine, WITHOUT_NOTES)
    with pytest.raises(InvalidRegistration) as err:
        store.save(reg(**changes), T0)
    assert err.value.field == field
    assert CALLER not in str(err.value) and "notitie" not in str(err.value)  # nothing echoed
    assert store.get("c-1") is None


@pytest.mark.parametrize("notes", ["x" * (NOTES_MAX_LEN + 1), "nul\x00", 12])
def test_a_note_must_be_plain_text_of_bounded_length(engine, notes):
    with pytest.raises(InvalidRegistration, match="notes"):
        RegistrationStore(engine, WITH_NOTES).save(reg(notes=notes), T0)


def test_a_blank_note_is_no_note(engine):
    store = RegistrationStore(engine, WITH_NOTES)
    saved = store.save(reg(notes="   "), T0)
    assert saved.notes is None and saved.notes_expire_at is None


def test_a_naive_time_is_refused(engine):
    store = RegistrationStore(engine, WITHOUT_NOTES)
    with pytest.raises(InvalidRegistration):
        store.save(reg(), T0.replace(tzinfo=None))
    with pytest.raises(InvalidRegistration):
        store.purge_notes(T0.replace(tzinfo=None))


def test_a_database_that_fails_is_unavailable_not_a_crash(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/never-migrated.db")
    try:
        store = RegistrationStore(eng, WITH_NOTES)
        with pytest.raises(RegistrationsUnavailable):
            store.save(reg(), T0)
        with pytest.raises(RegistrationsUnavailable):
            store.get("c-1")
        with pytest.raises(RegistrationsUnavailable):
            store.purge_notes(T0)
    finally:
        eng.dispose()


async def test_the_app_purges_notes_periodically_and_survives_a_failing_database(engine):
    store = RegistrationStore(engine, WITH_NOTES)
    store.save(reg(notes="weg ermee"), T0)
    now = [T0]
    purges: list[datetime] = []

    class Flaky(RegistrationStore):
        def purge_notes(self, at: datetime) -> int:
            purges.append(at)
            if len(purges) == 1:
                raise RegistrationsUnavailable("the database is away")
            return super().purge_notes(at)

    flaky = Flaky(engine, WITH_NOTES)
    task = asyncio.create_task(purge_notes_forever(flaky, every_s=0.01, clock=lambda: now[0]))
    try:
        while len(purges) < 3:
            await asyncio.sleep(0.01)
        assert store.get("c-1").notes == "weg ermee"  # not yet expired
        now[0] = T0 + timedelta(days=31)
        while store.get("c-1").notes is not None:
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_cli_purges_expired_notes_now(tmp_path, capsys):
    from helpline import cli as cli_main
    from tests.unit.web_support import CONFIG

    path = tmp_path / "helpline.toml"
    db_url = f"sqlite:///{tmp_path}/cli.db"
    path.write_text(
        CONFIG.format(admin="")
        + f'\n[database]\nurl = "{db_url}"\n'
        + "\n[registration]\nnotes_enabled = true\nnotes_retention_days = 7\n"
    )
    eng = db.make_engine(db_url)
    try:
        db.migrate(eng)
        store = RegistrationStore(
            eng, RegistrationSection(notes_enabled=True, notes_retention_days=7)
        )
        now = datetime.now(UTC)
        store.save(reg("old", notes="te oud"), now - timedelta(days=8))
        store.save(reg("new", notes="nog goed"), now - timedelta(days=6))
        assert cli_main.main(["-c", str(path), "registrations", "purge-notes"]) == 0
        out, err = capsys.readouterr()
        assert out == "deleted the notes of 1 registrations (past their retention)\n"
        assert err == ""
        assert store.get("old").notes is None
        assert store.get("new").notes == "nog goed"
    finally:
        eng.dispose()


def test_a_chat_is_registered_under_its_record_id(engine):
    # A chat's id ("chat-" and 32 hex digits) is longer than the column: the registration is
    # keyed as the chat's contact record is, and read back by the chat's own id.
    store = RegistrationStore(engine, WITHOUT_NOTES)
    chat = "chat-" + "0123456789abcdef" * 2
    saved = store.save(reg(chat), T0)
    assert saved.contact_id == chat and store.get(chat) == saved
    with engine.connect() as conn:
        keys = conn.execute(select(RegistrationRow.contact_id)).scalars().all()
    assert keys == ["01234567-89ab-cdef-0123-456789abcdef"]
    with pytest.raises(InvalidRegistration):
        store.check(reg("chat-not-hex-at-all-and-far-too-long-for-the-column"))
