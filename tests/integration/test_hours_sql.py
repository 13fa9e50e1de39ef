"""The hours-exceptions store on SQLite and on the real PostgreSQL at 127.0.0.1:5432
(a throwaway database per test session, dropped afterwards)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from storage import db
from storage.hours_store import HoursExceptionRow, HoursExceptionStore, HoursService
from storage.models import Base
from tests.integration.databases import BACKENDS, migrated_backend, throwaway_postgres
from tests.unit.web_support import make_config

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # Monday 12:00 in Amsterdam


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("helpline_hours") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(request, tmp_path_factory) -> Iterator[Engine]:
    with migrated_backend(request, tmp_path_factory.mktemp("hours")) as engine:
        yield engine


@pytest.fixture
def engine(migrated: Engine) -> Iterator[Engine]:
    with migrated.begin() as conn:
        conn.execute(delete(HoursExceptionRow))
    yield migrated


def test_schema_matches_the_model(engine):
    db.migrate(engine)  # idempotent
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, Base.metadata) if "hours_exceptions" in repr(d)]
    assert diff == []


def test_round_trip_keeps_utc_and_orders_by_start(engine):
    store = HoursExceptionStore(engine, {"default"})
    plus5 = timezone(timedelta(hours=5))
    later = store.add("default", NOW + timedelta(hours=3), NOW + timedelta(hours=4), "open",
                      "campaign", now=NOW)  # fmt: skip
    first = store.add("*", (NOW + timedelta(hours=1)).astimezone(plus5),
                      NOW + timedelta(hours=2), "closed", "staff shortage", now=NOW)  # fmt: skip
    assert first.starts_at == NOW + timedelta(hours=1) and first.starts_at.tzinfo is UTC
    assert store.list(now=NOW) == [first, later]
    assert store.active(NOW + timedelta(hours=1)) == [first]
    assert store.remove(first.id) == first
    assert store.list(now=NOW) == [later]


def test_ids_are_distinct_and_increase(engine):
    store = HoursExceptionStore(engine, {"default"})
    ids = [
        store.add("*", NOW, NOW + timedelta(hours=1), "closed", f"r{i}", now=NOW).id
        for i in range(3)
    ]
    assert ids == sorted(set(ids))


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "maybe"},
        {"ends_at": NOW - timedelta(hours=1)},
    ],
)
def test_check_constraints_hold_even_without_the_store(engine, values):
    row = dict(
        schedule="*",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        kind="closed",
        reason="x",
        created_at=NOW,
    )
    row.update(values)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(HoursExceptionRow), [row])


def test_service_sees_a_closure_written_by_another_connection(engine):
    cfg = make_config()
    service = HoursService(cfg, HoursExceptionStore.from_config(engine, cfg))
    assert service.status("116111", "phone", NOW).open
    # Another process (the CLI) writes through its own engine.
    other = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        HoursExceptionStore.from_config(other, cfg).add(
            "*", NOW, NOW + timedelta(hours=1), "closed", "power cut", now=NOW
        )
    finally:
        other.dispose()
    status = service.status("116111", "phone", NOW)
    assert (status.open, status.reason) == (False, "closed:power cut")
