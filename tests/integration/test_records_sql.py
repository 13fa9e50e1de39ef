"""The storage contract for contact records and volunteers, run on SQLite and on the real
PostgreSQL at 127.0.0.1:5432 (a throwaway database per test session, dropped afterwards)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from config.settings import parse_config
from storage import db
from storage.errors import DuplicateRecord, InvalidRecord, UnknownVolunteer, VolunteerExists
from storage.models import Base, ContactRecord, SipSecret, Volunteer
from storage.records import ContactRecordData, RecordWriter
from storage.volunteers import ARGON2_PROFILE_ENV, VolunteerDirectory, sip_ha1
from tests.integration.databases import BACKENDS, migrated_backend, throwaway_postgres
from tests.record_samples import T0, answered_record, referred
from tests.unit.test_record_referral import check_migration_0005
from tests.unit.test_reports_referrals import check_referral_report
from tests.unit.test_volunteers import check_migration_0004

PASSWORD = "correct horse battery"
# A caller number that the code under test is never given: it must appear nowhere.
CALLER = "0612345678"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("helpline_test") as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def migrated(request, tmp_path_factory) -> Iterator[Engine]:
    with migrated_backend(request, tmp_path_factory.mktemp("sql")) as engine:
        yield engine


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(ContactRecord))
        conn.execute(delete(SipSecret))
        conn.execute(delete(Volunteer))


@pytest.fixture
def engine(migrated: Engine) -> Iterator[Engine]:
    _wipe(migrated)
    yield migrated
    _wipe(migrated)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")


def abandoned(at: datetime, **changes) -> ContactRecordData:
    base = dict(
        arrived_at=at,
        answered_at=None,
        ended_at=at + timedelta(seconds=30),
        wait_s=30.0,
        talk_s=None,
        outcome="abandoned",
        volunteer_id=None,
        location_id=None,
    )
    base.update(changes)
    return answered_record(**base)


def _rows(engine: Engine, table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table))]


# -- schema ------------------------------------------------------------------------------------


def test_migration_is_idempotent_and_matches_models(engine):
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_reporting_indexes_exist(engine):
    found = inspect(engine).get_indexes("contact_records")
    indexes = {ix["name"]: ix["column_names"] for ix in found}
    assert indexes["ix_contact_records_arrived_at"] == ["arrived_at"]
    assert indexes["ix_contact_records_arrived_outcome"] == ["arrived_at", "outcome"]


def test_contact_records_have_exactly_the_allowed_columns(engine):
    # Adding a column must be a conscious privacy decision, reviewed here.
    # Issue 10 added the referral: a partner id and a region id from the configured directory
    # (identifier-shaped, never a number or what the child said), and two booleans. Nothing
    # about the child: the region is the partner's werkgebied, named only if the child chose.
    columns = {c["name"] for c in inspect(engine).get_columns("contact_records")}
    assert columns == {
        "id", "channel", "line_id", "language", "priority", "arrived_at", "answered_at",
        "ended_at", "wait_s", "talk_s", "outcome", "overflow_reason", "volunteer_id",
        "location_id",
        "referral_partner", "referral_region", "referral_consent", "referral_volunteer_stayed",
    }  # fmt: skip
    vol_columns = {c["name"] for c in inspect(engine).get_columns("volunteers")}
    suspicious = re.compile(r"caller|number|msisdn|phone|ip_?addr|address|^cli$|^ani$")
    assert not [c for c in columns | vol_columns if suspicious.search(c)]


def test_no_value_in_either_table_could_be_a_caller_number(engine):
    writer = RecordWriter(
        engine,
        line_ids={"116111", "0800-0432"},
        partner_ids={"veilig-thuis", "113"},
        region_ids={"utrecht", "twente"},
    )
    vols = VolunteerDirectory(engine, "helpline")
    vols.add("anna", "Anna", "utrecht", ["phone", "chat"], ["nl"], PASSWORD)
    writer.write(answered_record())
    writer.write(abandoned(T0, line_id="0800-0432", channel="chat"))
    writer.write(abandoned(T0, outcome="overflowed", overflow_reason="max_wait"))
    writer.write(referred("veilig-thuis", "utrecht", T0, stayed=True))
    for bad in (
        {"line_id": CALLER},
        {"location_id": "+31" + CALLER[1:]},
        {"id": CALLER},
        {"referral_partner": CALLER, "referral_consent": True, "referral_volunteer_stayed": False},
        {
            "referral_partner": "veilig-thuis",
            "referral_region": CALLER,
            "referral_consent": True,
            "referral_volunteer_stayed": False,
        },
    ):
        with pytest.raises(InvalidRecord):
            writer.write(answered_record(**bad))
    hashes = {"password_hash", "ha1"}  # hex/base64 digests: digits by chance, not data
    for table in (ContactRecord.__table__, Volunteer.__table__, SipSecret.__table__):
        names = [c.name for c in table.columns]
        for row in _rows(engine, table):
            for name, value in zip(names, row, strict=True):
                text = str(value)
                assert CALLER[1:] not in text
                if name in hashes or name == "id" or isinstance(value, datetime | float):
                    continue
                # Longest digit run allowed in text columns: the 6-digit line id 116111.
                assert not re.search(r"\d{7,}", text), (name, text)
    assert len(_rows(engine, ContactRecord.__table__)) == 4


# -- records -----------------------------------------------------------------------------------


def test_record_roundtrip(engine):
    writer = RecordWriter(engine)
    rec = answered_record()
    writer.write(rec)
    got = writer.get(rec.id)
    assert got == rec
    assert got.arrived_at.tzinfo is not None and got.arrived_at.utcoffset() == timedelta(0)
    assert writer.get(str(uuid.uuid4())) is None


def test_referral_roundtrip_and_report(engine):
    stays = referred("veilig-thuis", "utrecht", T0 - timedelta(days=3), stayed=True)
    leaves = referred("113", None, T0 - timedelta(days=3))
    writer = RecordWriter(engine)
    writer.write(stays)
    writer.write(leaves)
    assert writer.get(stays.id) == stays and writer.get(leaves.id) == leaves
    _wipe(engine)
    check_referral_report(engine)


def test_referral_migration_keeps_old_records(empty_url):
    engine = db.make_engine(empty_url)
    try:
        check_migration_0005(engine)
    finally:
        engine.dispose()


def test_duplicate_write_leaves_original_and_no_partial_row(engine):
    writer = RecordWriter(engine)
    original = answered_record()
    writer.write(original)
    clash = abandoned(T0 + timedelta(hours=1), id=original.id, line_id="0800-0432")
    with pytest.raises(DuplicateRecord, match=original.id):
        writer.write(clash)
    assert writer.get(original.id) == original
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ContactRecord)).scalar_one() == 1
    # The failed write left the connection pool usable.
    other = answered_record()
    writer.write(other)
    assert writer.get(other.id) == other


def test_counts_by_outcome_uses_a_half_open_window(engine):
    writer = RecordWriter(engine)
    writer.write(answered_record(arrived_at=T0, answered_at=T0, ended_at=T0 + timedelta(seconds=9)))
    writer.write(abandoned(T0 + timedelta(minutes=5)))
    writer.write(abandoned(T0 + timedelta(minutes=6)))
    writer.write(abandoned(T0 + timedelta(hours=1), outcome="overflowed", overflow_reason="closed"))
    assert writer.counts_by_outcome(T0, T0 + timedelta(hours=1)) == {
        "answered": 1,
        "abandoned": 2,
        "overflowed": 0,
    }
    assert writer.counts_by_outcome(T0 + timedelta(seconds=1), T0 + timedelta(days=1)) == {
        "answered": 0,
        "abandoned": 2,
        "overflowed": 1,
    }
    assert writer.counts_by_outcome(T0 - timedelta(days=1), T0) == dict.fromkeys(
        ("answered", "abandoned", "overflowed"), 0
    )


def test_between_returns_oldest_first(engine):
    writer = RecordWriter(engine)
    late = abandoned(T0 + timedelta(minutes=2))
    early = abandoned(T0 + timedelta(minutes=1))
    writer.write(late)
    writer.write(early)
    writer.write(abandoned(T0 + timedelta(days=2)))
    assert writer.between(T0, T0 + timedelta(days=1)) == [early, late]


# -- volunteers --------------------------------------------------------------------------------


def test_volunteer_lifecycle(engine):
    vols = VolunteerDirectory(engine, "helpline", locations={"utrecht"}, languages={"nl", "en"})
    added = vols.add("anna", "Anna", "utrecht", ["phone", "chat"], ["en", "nl"], PASSWORD)
    vols.add("yara", "Yara", "utrecht", ["peer_chat"], ["nl"], PASSWORD, young=True)
    assert vols.get("anna") == added
    assert added.created_at.tzinfo is not None
    assert [v.id for v in vols.list()] == ["anna", "yara"]
    with pytest.raises(VolunteerExists):
        vols.add("anna", "Anna 2", "utrecht", ["chat"], ["nl"], PASSWORD)

    vols.disable("yara")
    assert [v.id for v in vols.list(enabled_only=True)] == ["anna"]
    assert not vols.get("yara").enabled
    assert not vols.verify_password("yara", PASSWORD)
    vols.enable("yara")
    assert vols.verify_password("yara", PASSWORD)
    for action in (vols.disable, vols.enable):
        with pytest.raises(UnknownVolunteer):
            action("nobody")
    with pytest.raises(UnknownVolunteer):
        vols.require("nobody")


def test_passwords_and_sip_credentials(engine):
    vols = VolunteerDirectory(engine, "kt")
    vols.add("anna", "Anna", "utrecht", ["phone"], ["nl"], PASSWORD)
    vols.add("bas", "Bas", "utrecht", ["phone"], ["nl"], "bas password")
    assert vols.verify_password("anna", PASSWORD)
    assert not vols.verify_password("anna", "bas password")
    assert not vols.verify_password("ghost", PASSWORD)
    vols.set_password("anna", "new password")
    assert vols.verify_password("anna", "new password")
    assert vols.require("anna").credential_version == 1
    vols.disable("bas")
    [(user, ha1)] = vols.sip_credentials()
    assert user == "anna" and ha1 != sip_ha1("anna", "kt", "new password")
    secret = vols.new_sip_secret("anna")
    assert vols.sip_credentials() == [("anna", sip_ha1("anna", "kt", secret))]
    rows = _rows(engine, Volunteer.__table__) + _rows(engine, SipSecret.__table__)
    everything = " ".join(str(v) for row in rows for v in row)
    for plain in ("new password", "bas password", secret):
        assert plain not in everything


def test_sip_secret_migration_replaces_password_digests(empty_url):
    engine = db.make_engine(empty_url)
    try:
        check_migration_0004(engine)
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_seed_from_config_creates_missing_and_leaves_existing(engine):
    cfg = parse_config(
        """
        [[lines]]
        id = "116111"
        numbers = ["116111"]
        [[locations]]
        id = "almelo"
        name = "Almelo"
        [asterisk]
        ari_password = "ari-secret-1"
        ami_password = "ami-secret-1"
        trunk_addresses = ["127.0.0.2"]
        [[volunteers]]
        id = "demo1"
        name = "Demo One"
        location = "almelo"
        password = "demo-password-1"
        [[volunteers]]
        id = "demo2"
        name = "Demo Two"
        location = "almelo"
        skills = ["chat"]
        password = "demo-password-2"
        """
    )
    vols = VolunteerDirectory.from_config(engine, cfg)
    vols.add("demo2", "Renamed", "almelo", ["phone"], ["nl"], "changed password")
    assert vols.seed_from_config(cfg) == ["demo1"]
    assert vols.seed_from_config(cfg) == []
    assert vols.get("demo2").name == "Renamed"
    assert vols.verify_password("demo2", "changed password")
    assert vols.verify_password("demo1", "demo-password-1")
    assert vols.get("demo1").skills == ("chat", "phone")


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> Iterator[str]:
    """A database URL with nothing migrated yet (SQLite file, or a throwaway PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
    else:
        with throwaway_postgres("helpline_test") as url:
            yield url


def test_role_migration_makes_existing_accounts_volunteers(empty_url):
    engine = db.make_engine(empty_url)
    try:
        db.migrate(engine, "0002")
        with engine.begin() as conn:  # the volunteers table as 0002 had it: no role
            conn.execute(
                text(
                    "INSERT INTO volunteers (id, name, location_id, skills, languages, young,"
                    " password_hash, sip_ha1, sip_realm, enabled, created_at) VALUES"
                    " ('old1', 'Old', 'utrecht', 'chat', 'nl', :f, 'x', 'y', 'kt', :t, :at)"
                ),
                {"f": False, "t": True, "at": T0},
            )
        db.migrate(engine)
        assert VolunteerDirectory(engine, "kt").require("old1").role == "volunteer"
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(update(Volunteer).values(role="root"))
        db.downgrade(engine, "0002")
        assert "role" not in {c["name"] for c in inspect(engine).get_columns("volunteers")}
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


@pytest.mark.integration
def test_concurrent_first_migrations_on_postgresql_do_not_collide():
    # The app and the CLI may both start on an empty database; the advisory lock serialises them.
    import threading

    with throwaway_postgres("helpline_test") as url:
        errors: list[BaseException] = []

        def run() -> None:
            try:
                db.migrate(url)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        engine = db.make_engine(url)
        try:
            assert db.current_revision(engine) == db.head_revision()
        finally:
            engine.dispose()
