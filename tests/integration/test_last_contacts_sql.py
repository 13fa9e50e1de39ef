"""The wrap-up forms survive a restart or a take-over, on SQLite and on the real PostgreSQL at
127.0.0.1:5432 (a throwaway database, dropped afterwards): migration 0010's index, the bounded
read of recent answered contacts, and, after a simulated restart (a fresh process's empty
memory seeded from what the previous one left in SQL and the records spool), a volunteer
fetches and saves the registration of the contact that ended before it through the API, while
a call followed by an answered contact stays closed. The spool's tail on the real Redis too."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, inspect

from engine.writer import Engine as AcdEngine
from helpline.last_contacts_seed import seed_last_contacts
from storage import db
from storage.record_queue import contact_id_of
from storage.records import (
    MemoryRecordSpool,
    RecordWriter,
    RedisRecordSpool,
    record_to_json,
)
from storage.registrations import Registration
from tests.integration.databases import BACKENDS, migrated_backend, throwaway_postgres
from tests.integration.redis_support import redis  # noqa: F401 (fixture)
from tests.record_samples import ended_before
from tests.unit.test_web_registration import FORM
from tests.unit.web_support import WebEnv, web_env

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
"""The new process's clock (the gateway's, so the API's too)."""
CALLER = "0612345678"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("helpline_last") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(request, tmp_path_factory) -> Iterator[Engine]:
    with migrated_backend(request, tmp_path_factory.mktemp("last")) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/web.db"
    else:
        with throwaway_postgres("helpline_last") as url:
            yield url


ended = functools.partial(ended_before, NOW)
"""A record answered and ended so many seconds before NOW."""


# -- schema and the bounded read ------------------------------------------------------------


def test_migration_0010_adds_the_ended_at_index_and_removes_it_again(db_url):
    engine = db.make_engine(db_url)
    try:
        db.migrate(engine)

        def indexes() -> dict[str, list[str | None]]:
            found = inspect(engine).get_indexes("contact_records")
            return {ix["name"]: ix["column_names"] for ix in found}

        assert indexes()["ix_contact_records_ended_at"] == ["ended_at"]
        db.downgrade(engine, "0009")
        assert "ix_contact_records_ended_at" not in indexes()
        assert "ix_contact_records_arrived_at" in indexes()  # the others stay
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_answered_since_reads_the_window_newest_first_and_bounded(migrated):
    writer = RecordWriter(migrated)
    with migrated.begin() as conn:
        conn.exec_driver_sql("DELETE FROM contact_records")
    inside = [ended(600 - 10 * i, 500 - 10 * i) for i in range(5)]
    at_the_edge = ended(1900, 1800)
    too_old = ended(1900, 1801)
    abandoned = dataclasses.replace(
        ended(400, 400),
        outcome="abandoned", answered_at=None, talk_s=None, volunteer_id=None, location_id=None,
    )  # fmt: skip
    for rec in [*inside, at_the_edge, too_old, abandoned]:
        writer.write(rec)
    since = NOW - timedelta(minutes=30)
    got = writer.answered_since(since, 100)
    assert [r.id for r in got] == [r.id for r in reversed(inside)] + [at_the_edge.id]
    assert got[0] == inside[-1]  # the whole record, times in UTC
    assert [r.id for r in writer.answered_since(since, 2)] == [inside[4].id, inside[3].id]


async def test_the_spools_tail_on_redis(redis: aioredis.Redis):  # noqa: F811
    spool = RedisRecordSpool(redis, f"test-last-{uuid.uuid4().hex}:")
    try:
        assert await spool.tail(5) == []
        await spool.push([f"r{i}" for i in range(10)])
        assert await spool.tail(3) == ["r7", "r8", "r9"]
        assert await spool.tail(0) == []
        assert await spool.tail(50) == [f"r{i}" for i in range(10)]
    finally:
        await redis.delete(spool.key, spool.dead_key)


# -- after a restart, through the API ---------------------------------------------------------


@pytest.fixture
async def env(db_url: str, tmp_path: Path) -> AsyncIterator[WebEnv]:
    async with web_env(tmp_path, db_url=db_url) as e:
        e.gateway.now = NOW.timestamp()
        yield e


async def restart(env: WebEnv, sql: Engine, spool: MemoryRecordSpool) -> int:
    """The new process becomes the writer: its memory is empty; seed it as the service does
    (the records read on a worker thread, merged in one step of a running writer)."""
    cfg = env.cfg
    writer = RecordWriter(
        sql,
        line_ids=[line.id for line in cfg.lines],
        partner_ids=[p.id for p in cfg.partners],
        region_ids=[r for p in cfg.partners for r in p.regions],
    )
    engine = AcdEngine(env.gateway.core, clock=lambda: env.gateway.now)
    task = asyncio.create_task(engine.run())
    try:
        window_s = cfg.registration.window_min * 60.0
        return await seed_last_contacts(env.gateway.last, engine, writer, spool, window_s=window_s)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def get_form(env: WebEnv, token: str, contact_id: str | None = None):
    path = "/api/v1/me/registration" + (f"?contact_id={contact_id}" if contact_id else "")
    resp = await env.client.get(path, headers=env.bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def post_form(env: WebEnv, token: str, contact_id: str, status: int):
    resp = await env.client.post(
        "/api/v1/me/registration",
        json={**FORM, "contact_id": contact_id},
        headers=env.bearer(token),
    )
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_after_a_restart_the_contact_that_ended_before_it_can_be_registered(
    env: WebEnv, db_url: str
):
    sql = db.make_engine(db_url)
    try:
        # What the previous process left: anna's call, a chat (registered already), and her
        # last call, referred to a partner, still in the records spool (SQL had not got it).
        first_call = ended(900, 800)
        chat = ended(700, 650, channel="chat")
        last_call = ended(
            500, 300, referral_partner="veilig-thuis", referral_region="utrecht",
            referral_consent=True, referral_volunteer_stayed=False,
        )  # fmt: skip
        too_old = ended(4000, 1900)  # 31 minutes ago: past [registration] window_min
        sams_chat = ended(400, 200, agent="sam", channel="peer_chat")
        writer = RecordWriter(sql)
        for rec in (first_call, chat, too_old, sams_chat):
            writer.write(rec)
        spool = MemoryRecordSpool()
        await spool.push([record_to_json(last_call)])
        chat_id = contact_id_of(chat.id, "chat")
        env.registrations.save(
            Registration(chat_id, "anna", "conversation", ("family",), "15_17", "girl"),
            NOW - timedelta(minutes=10),
        )

        anna = await env.login("anna")
        sam = await env.login("sam")
        assert await get_form(env, anna) is None  # the empty memory of a fresh process

        assert await restart(env, sql, spool) == 4  # anna's three, sam's one

        form = await get_form(env, anna)
        assert form["contact_id"] == last_call.id
        assert (form["channel"], form["line_id"], form["language"]) == ("phone", "116111", "nl")
        assert form["referral"] == {
            "partner": "veilig-thuis", "region": "utrecht", "consent": True,
            "volunteer_stayed": False,
        }  # fmt: skip
        assert form["ended_at"] == (NOW - timedelta(seconds=300)).timestamp()
        assert form["saved"] is False
        assert CALLER not in repr(form)
        # Her first call was followed by an answered contact: closed, as the live rule has it.
        assert await get_form(env, anna, first_call.id) is None
        closed = await post_form(env, anna, first_call.id, 409)
        assert closed["error"] == "registration_closed"
        assert await get_form(env, anna, too_old.id) is None
        # The chat she registered before the restart: her answers are there to correct.
        chat_form = await get_form(env, anna, chat_id)
        assert (chat_form["channel"], chat_form["saved"]) == ("chat", True)
        assert chat_form["registration"]["topics"] == ["family"]
        # Never another volunteer's contact, seeded or not.
        assert await get_form(env, sam, last_call.id) is None
        assert (await post_form(env, sam, last_call.id, 409))["error"] == "not_your_last_contact"
        assert (await get_form(env, sam))["channel"] == "peer_chat"

        assert (await post_form(env, anna, last_call.id, 201))["saved"] is True
        stored = env.registrations.get(last_call.id)
        assert stored is not None and stored.volunteer_id == "anna"
        assert stored.topics == ("school_and_education", "violence.bullying")
        await post_form(env, anna, chat_id, 201)  # a second save replaces the first, as ever
        assert env.registrations.get(chat_id).topics == tuple(sorted(FORM["topics"]))
    finally:
        sql.dispose()
