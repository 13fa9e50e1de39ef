"""The wrap-up registrations on SQLite and on the real PostgreSQL at 127.0.0.1:5432 (a
throwaway database, dropped afterwards): migration 0006 up and down, the store's contract,
SQL counts per category, the notes purge, concurrent saves, and the API end to end."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, inspect

from storage import db
from storage.registrations import Registration, RegistrationStore
from tests.integration.databases import BACKENDS, migrated_backend, throwaway_postgres
from tests.unit.test_registration_store import (
    T0,
    WITH_NOTES,
    check_another_volunteer_cannot_overwrite,
    check_categories_are_counted_in_sql,
    check_migration_0006,
    check_notes_disappear_after_the_retention,
    check_roundtrip_and_replace,
    check_the_database_refuses_a_note_without_expiry,
    reg,
    wipe,
)
from tests.unit.test_web_registration import FORM
from tests.unit.web_support import web_env


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("helpline_reg") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(request, tmp_path_factory) -> Iterator[Engine]:
    with migrated_backend(request, tmp_path_factory.mktemp("reg")) as engine:
        yield engine


@pytest.fixture
def engine(migrated: Engine) -> Iterator[Engine]:
    wipe(migrated)
    yield migrated
    wipe(migrated)


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
    else:
        with throwaway_postgres("helpline_reg") as url:
            yield url


def test_migration_0006_up_and_down(empty_url):
    engine = db.make_engine(empty_url)
    try:
        check_migration_0006(engine)
    finally:
        engine.dispose()


def test_the_tables_hold_ids_and_nothing_about_the_child(engine):
    # Adding a column here must be a conscious privacy decision, reviewed here. The only free
    # text is `notes`, off by default and deleted at `notes_expire_at` when enabled.
    columns = {c["name"] for c in inspect(engine).get_columns("registrations")}
    columns |= {c["name"] for c in inspect(engine).get_columns("registration_topics")}
    assert columns == {
        "contact_id", "volunteer_id", "contact_type", "age_band", "gender", "notes",
        "notes_expire_at", "saved_at", "topic", "category",
    }  # fmt: skip
    suspicious = re.compile(r"caller|number|msisdn|phone|ip_?addr|address|name|school|city")
    assert not [c for c in columns if suspicious.search(c)]


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


def test_saves_of_one_contact_at_once_leave_one_whole_registration(engine):
    # A double click, or two tabs: every save succeeds and the last one stands whole.
    store = RegistrationStore(engine, WITH_NOTES)
    variants = [
        reg(topics=(f"violence.{t}",), notes=f"versie {i}")
        for i, t in enumerate(["physical", "emotional", "sexual", "neglect", "bullying", "online"])
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(len(variants))

    def save(r: Registration) -> None:
        try:
            start.wait(5)
            store.save(r, T0)
        except BaseException as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(v,)) for v in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    got = store.get("c-1")
    assert got is not None
    i = int(got.notes.split()[-1])
    assert got.topics == variants[i].topics  # the topics of the same save as the note


@pytest.mark.integration
async def test_the_api_saves_on_postgresql(tmp_path):
    with throwaway_postgres("helpline_reg") as url:
        async with web_env(tmp_path, db_url=url) as env:
            token = await env.login()
            env.gateway.finish_call("anna", "c1")
            resp = await env.client.post(
                "/api/v1/me/registration", json=FORM, headers=env.bearer(token)
            )
            assert resp.status == 201, await resp.text()
            assert env.gateway.agent_view("anna")["state"] == "available"
            stored = env.registrations.get("c1")
            assert stored is not None
            assert stored.topics == ("school_and_education", "violence.bullying")
            assert stored.saved_at is not None
            window = (stored.saved_at, stored.saved_at + timedelta(minutes=1))
            assert env.registrations.categories_between(*window) == {
                "school_and_education": 1,
                "violence": 1,
            }
