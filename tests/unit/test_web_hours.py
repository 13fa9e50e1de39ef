"""Web API: opening-hours status and ad-hoc closures/openings (admin token only)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from storage import db
from storage.hours_store import HoursExceptionStore
from storage.volunteers import VolunteerDirectory
from tests.unit.web_support import ADMIN_TOKEN, FakeGateway, make_config
from web import MemorySessionStore, create_admin_app, hours_api

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # Monday 12:00 in Amsterdam
CLOSE = {
    "kind": "closed",
    "starts_at": "now",
    "ends_at": "2025-06-02T15:00:00+02:00",
    "reason": "staff shortage",
}


class Env:
    def __init__(self, client: TestClient, store: HoursExceptionStore, clock: dict) -> None:
        self.client = client
        self.store = store
        self.clock = clock


async def _env(tmp_path, admin_token):
    cfg = make_config(admin_token)
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    announced: list[str] = []  # the service passes HoursAnnouncer.announce here

    def announce() -> None:
        announced.append(threading.current_thread().name)

    store = HoursExceptionStore.from_config(engine, cfg, on_change=announce)
    store.announced = announced  # type: ignore[attr-defined]
    app = create_admin_app(
        cfg, VolunteerDirectory.from_config(engine, cfg), FakeGateway(), MemorySessionStore()
    )
    clock = {"now": NOW}
    hours_api.install(app, store, clock=lambda: clock["now"])
    client: TestClient = TestClient(TestServer(app))
    await client.start_server()
    return Env(client, store, clock), engine


@pytest.fixture
async def env(tmp_path):
    e, engine = await _env(tmp_path, ADMIN_TOKEN)
    yield e
    await e.client.close()
    engine.dispose()


async def test_hours_routes_need_the_admin_token(env):
    for method, path in [
        ("GET", "/api/v1/admin/hours"),
        ("POST", "/api/v1/admin/hours/exceptions"),
        ("DELETE", "/api/v1/admin/hours/exceptions/1"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}):
            resp = await env.client.request(method, path, headers=headers, json=CLOSE)
            assert resp.status == 401, path
    assert env.store.list(now=NOW) == []


async def test_hours_routes_are_absent_without_an_admin_token(tmp_path):
    e, engine = await _env(tmp_path, None)
    try:
        resp = await e.client.get("/api/v1/admin/hours", headers=ADMIN)
        assert resp.status == 404
    finally:
        await e.client.close()
        engine.dispose()


async def test_status_per_line_and_channel(env):
    resp = await env.client.get("/api/v1/admin/hours", headers=ADMIN)
    assert resp.status == 200
    data = await resp.json()
    assert data["now"] == "2025-06-02T10:00:00+00:00"
    assert data["timezone"] == "Europe/Amsterdam"
    assert data["exceptions"] == []
    assert data["lines"] == [
        {
            "line": "116111",
            "channel": channel,
            "schedule": "default",
            "open": True,
            "reason": "schedule",
            "closes_at": "2025-06-02T18:00:00+00:00",
            "opens_at": None,
        }
        for channel in ("phone", "chat")
    ]


async def test_close_then_status_then_remove(env):
    resp = await env.client.post("/api/v1/admin/hours/exceptions", json=CLOSE, headers=ADMIN)
    assert resp.status == 201
    added = (await resp.json())["exception"]
    assert added["schedule"] == "*" and added["kind"] == "closed"
    assert added["starts_at"] == "2025-06-02T10:00:00+00:00"
    assert added["ends_at"] == "2025-06-02T13:00:00+00:00"

    data = await (await env.client.get("/api/v1/admin/hours", headers=ADMIN)).json()
    phone = data["lines"][0]
    assert (phone["open"], phone["reason"]) == (False, "closed:staff shortage")
    assert phone["opens_at"] == "2025-06-02T13:00:00+00:00"
    assert [e["id"] for e in data["exceptions"]] == [added["id"]]

    path = f"/api/v1/admin/hours/exceptions/{added['id']}"
    resp = await env.client.delete(path, headers=ADMIN)
    assert resp.status == 200 and (await resp.json())["exception"] == added
    resp = await env.client.delete(path, headers=ADMIN)
    assert resp.status == 404 and (await resp.json())["error"] == "not_found"
    assert env.store.list(now=NOW) == []
    # Both changes were announced, from the worker thread that wrote them, never the loop's.
    assert len(env.store.announced) == 2
    assert threading.current_thread().name not in env.store.announced


async def test_extra_opening_for_one_schedule(env):
    body = {
        "kind": "open",
        "schedule": "default",
        "starts_at": "2025-06-02T18:00:00Z",
        "ends_at": "2025-06-02T21:00:00Z",
        "reason": "campaign",
    }
    resp = await env.client.post("/api/v1/admin/hours/exceptions", json=body, headers=ADMIN)
    assert resp.status == 201
    env.clock["now"] = NOW + timedelta(hours=9)  # 21:00 local
    data = await (await env.client.get("/api/v1/admin/hours", headers=ADMIN)).json()
    assert data["lines"][0]["reason"] == "extra_opening:campaign"
    assert data["lines"][0]["closes_at"] == "2025-06-02T21:00:00+00:00"


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"starts_at": "2025-06-02 15:00"}, "invalid_field", "starts_at: must include an offset"),
        ({"ends_at": "tomorrow"}, "invalid_field", "ends_at: must be an ISO 8601 time"),
        ({"ends_at": "2025-06-02T11:00:00+02:00"}, "invalid_exception", "ends_at:"),
        ({"kind": "maybe"}, "invalid_exception", "kind:"),
        ({"schedule": "night"}, "invalid_exception", "schedule:"),
        ({"reason": "ring 0612345678"}, "invalid_exception", "reason:"),
        ({"reason": None}, "missing_field", "reason: required"),
        ({"until": "x"}, "unknown_field", "until: unknown field"),
    ],
)
async def test_invalid_exception_is_400_naming_the_field(env, change, code, fragment):
    body = {**CLOSE, **change}
    body = {k: v for k, v in body.items() if v is not None}
    resp = await env.client.post("/api/v1/admin/hours/exceptions", json=body, headers=ADMIN)
    assert resp.status == 400
    data = await resp.json()
    assert data["error"] == code and fragment in data["message"]
    assert "0612345678" not in data["message"]
    assert env.store.list(now=NOW) == []


async def test_delete_with_a_non_numeric_id_is_404(env):
    resp = await env.client.delete("/api/v1/admin/hours/exceptions/abc", headers=ADMIN)
    assert resp.status == 404
