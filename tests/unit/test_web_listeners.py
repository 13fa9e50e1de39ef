"""The admin API has its own listener: no admin path answers on the volunteer API's.

Finding (issue 9): the admin API (one static token) shared the softphone API's listener and
port, so anyone who reached the softphone API could try the admin token.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from config.errors import ConfigError
from config.settings import parse_config
from storage import db
from storage.hours_store import HoursExceptionStore
from storage.volunteers import VolunteerDirectory
from tests.unit.web_support import ADMIN_TOKEN, CONFIG, FakeGateway, make_config, web_env
from web import MemorySessionStore, admin_api, create_admin_app, create_app, hours_api

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _admin_routes() -> list[tuple[str, str]]:
    """Every admin route, its ``{id}`` filled with a volunteer that exists."""
    routes = [*admin_api.routes, *hours_api.routes]
    found = [
        (r.method, r.path.replace("{id}", "anna")) for r in routes if isinstance(r, web.RouteDef)
    ]
    assert len(found) >= 11  # 8 account/queue routes and 3 hours routes
    return found


async def _clients(tmp_path) -> tuple[TestClient[Any, Any], TestClient[Any, Any], Any]:
    cfg = make_config()
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    directory.add("anna", "Anna", "utrecht", ["phone"], ["nl"], "correct horse battery")
    hours = HoursExceptionStore.from_config(engine, cfg)
    gateway, sessions = FakeGateway(), MemorySessionStore()
    public: TestClient[Any, Any] = TestClient(
        TestServer(create_app(cfg, directory, gateway, sessions))
    )
    admin: TestClient[Any, Any] = TestClient(
        TestServer(create_admin_app(cfg, directory, gateway, sessions, hours))
    )
    await public.start_server()
    await admin.start_server()
    return public, admin, engine


async def test_admin_routes_are_not_on_the_public_listener(tmp_path):
    public, admin, engine = await _clients(tmp_path)
    try:
        for method, path in _admin_routes():
            resp = await public.request(method, path, headers=ADMIN, json={})
            assert resp.status == 404, (method, path)
            assert (await resp.json())["error"] == "not_found"
    finally:
        await public.close()
        await admin.close()
        engine.dispose()


async def test_admin_routes_answer_on_the_admin_listener(tmp_path):
    public, admin, engine = await _clients(tmp_path)
    try:
        for method, path in _admin_routes():
            # Mounted here: the handler itself asks for the token (a 404 would be the router)
            resp = await admin.request(method, path, json={})
            assert resp.status == 401, (method, path, resp.status)
        queue = await admin.get("/api/v1/admin/queue", headers=ADMIN)
        assert queue.status == 200
        # and the admin listener serves no volunteer route: one door per listener
        assert (await admin.post("/api/v1/session", json={})).status == 404
        assert (await public.get("/healthz")).status == 200
    finally:
        await public.close()
        await admin.close()
        engine.dispose()


async def test_without_an_admin_token_the_admin_app_has_no_routes(tmp_path):
    async with web_env(tmp_path, admin_token=None) as env:
        resp = await env.admin.get("/api/v1/admin/queue", headers=ADMIN)
        assert resp.status == 404


def test_the_admin_listener_defaults_to_loopback_and_its_own_port():
    http = make_config().http
    assert (http.admin_host, http.admin_port) == ("127.0.0.1", 8081)
    assert http.admin_port != http.port


def test_the_admin_port_cannot_be_the_public_port():
    text = CONFIG.format(admin=f'admin_token = "{ADMIN_TOKEN}"\nport = 9000\nadmin_port = 9000')
    with pytest.raises(ConfigError, match="admin_port must differ"):
        parse_config(text)
