"""Issue 9, inputs, on the real stores: the API on PostgreSQL (directory, hours) and Redis
(sessions) turns hostile input into 4xx, never a 500, and the schemathesis fuzz holds there.

PostgreSQL refuses what SQLite swallows (a NUL in text), so the same input is checked on the
database production runs. The ACD is the web tests' fake gateway: input never reaches it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import schemathesis
from hypothesis import HealthCheck, settings

from storage.volunteers import ARGON2_PROFILE_ENV
from tests.integration.databases import throwaway_postgres
from tests.integration.redis_support import REDIS_URL
from tests.unit.fuzz_support import ServedApp, run_case
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv, web_env
from web import RedisSessionStore, openapi

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = datetime(2025, 6, 2, 10, tzinfo=UTC)
schema = schemathesis.openapi.from_path(Path(openapi.__file__).with_name(openapi.DOCUMENT))


@contextlib.asynccontextmanager
async def real_env(tmp_path: Path, pg_url: str) -> AsyncIterator[WebEnv]:
    """``web_env`` on a fresh PostgreSQL database and Redis sessions under a private prefix."""
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"test:inputs:{uuid.uuid4().hex}:"
    try:
        async with web_env(
            tmp_path,
            hours_clock=lambda: NOW,
            db_url=pg_url,
            sessions=RedisSessionStore(client, prefix),
        ) as env:
            yield env
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def env(tmp_path) -> AsyncIterator[WebEnv]:
    with throwaway_postgres("helpline_inputs") as url:
        async with real_env(tmp_path, url) as e:
            yield e


async def test_a_surrogate_password_is_400_on_the_real_stores(env: WebEnv):
    resp = await env.client.post(
        "/api/v1/session",
        data='{"volunteer_id": "anna", "password": "\\ud800-correct-horse"}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 400, await resp.text()
    token = await env.login()  # the real login still works
    me = await env.client.get("/api/v1/me", headers=env.bearer(token))
    assert me.status == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/admin/hours/exceptions",
            {
                "kind": "closed",
                "starts_at": "now",
                "ends_at": "2025-06-03T00:00Z",
                "reason": "a\x00b",
            },
        ),
        (
            "/api/v1/admin/volunteers",
            {
                "id": "nul",
                "name": "N\x00L",
                "location": "utrecht",
                "skills": ["phone"],
                "languages": ["nl"],
                "password": PASSWORD,
            },
        ),
        ("/api/v1/admin/volunteers/anna/role", {"role": "volunteer\x00"}),
    ],
)
async def test_a_nul_in_text_is_400_where_postgresql_would_refuse_it(env: WebEnv, path, body):
    resp = await env.admin.post(path, json=body, headers=ADMIN)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"] == "invalid_field"


async def test_a_volunteer_id_with_a_nul_in_the_login_is_400(env: WebEnv):
    resp = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna\x00", "password": PASSWORD}
    )
    assert resp.status == 400, await resp.text()


async def test_the_edge_of_the_calendar_and_odd_ids_are_4xx(env: WebEnv):
    body = {"kind": "closed", "starts_at": "0001-01-01T00:00+01:00", "ends_at": "now"}
    resp = await env.admin.post(
        "/api/v1/admin/hours/exceptions", json={**body, "reason": "x"}, headers=ADMIN
    )
    assert resp.status == 400
    # "²".isdigit() is True; 99999999999 is more than PostgreSQL's INTEGER id column holds.
    for raw_id in ("²", "99999999999", str(2**31)):
        resp = await env.admin.delete(f"/api/v1/admin/hours/exceptions/{raw_id}", headers=ADMIN)
        assert resp.status == 404, raw_id


# -- the fuzz, on the real stores --------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    tmp_path = tmp_path_factory.mktemp("fuzz-real")
    with pytest.MonkeyPatch.context() as mp, throwaway_postgres("helpline_fuzz") as url:
        mp.setenv(ARGON2_PROFILE_ENV, "test")
        with ServedApp(lambda: real_env(tmp_path, url)) as app:
            yield app


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document_on_the_real_stores(
    case: Any, served: ServedApp
) -> None:
    run_case(case, served)
