"""Walk the app's route table: every route refuses no session, a wrong role and another
volunteer's session. A new route fails here until it is given a kind below."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.test_openapi import app_routes
from tests.unit.web_support import ADMIN_TOKEN, WebEnv, web_env

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/healthz/live"),
    ("GET", "/healthz/ready"),
    ("GET", "/api/v1/openapi.yaml"),
    ("POST", "/api/v1/session"),  # the login itself
}
"""Routes anyone may call; everything else needs a session or the admin token."""

VOLUNTEER = {
    ("DELETE", "/api/v1/session"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/me/ready"),
    ("POST", "/api/v1/me/pause"),
    ("POST", "/api/v1/me/wrap-up/end"),
    ("GET", "/api/v1/live"),
}
"""Per-volunteer routes: they act on the session's own volunteer, never on anyone else."""

BODIES = {"/api/v1/me/pause": {"reason": "break"}}
WRONG_TOKENS = ["", "Bearer", "Bearer x", f"Bearer {ADMIN_TOKEN}x", f"Basic {ADMIN_TOKEN}"]


def _path(template: str) -> str:
    return template.replace("{id}", "1" if "/hours/" in template else "anna")


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path, hours_clock=lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)) as e:
        yield e


async def _call(env: WebEnv, method: str, template: str, auth: str | None):
    headers = {} if auth is None else {"Authorization": auth}
    body = BODIES.get(template, {})
    return await env.client.request(method, _path(template), json=body, headers=headers)


async def test_every_route_has_a_kind(env: WebEnv):
    routes = app_routes(env.client.app)
    admin = {r for r in routes if r[1].startswith("/api/v1/admin/")}
    assert admin, "the admin routes are mounted in this test"
    assert routes == PUBLIC | VOLUNTEER | admin
    assert not (PUBLIC & VOLUNTEER)


async def test_every_protected_route_refuses_no_session_and_wrong_tokens(env: WebEnv):
    for method, template in app_routes(env.client.app) - PUBLIC:
        for auth in [None, *WRONG_TOKENS]:
            resp = await _call(env, method, template, auth)
            assert resp.status == 401, (method, template, auth)
            assert (await resp.json())["error"] == "unauthorized"
    assert env.gateway.logins == [] and env.gateway.events == []


async def test_admin_routes_refuse_volunteer_and_supervisor_sessions(env: WebEnv):
    volunteer = await env.login("anna")
    env.directory.set_role("sam", "supervisor")
    supervisor = await env.login("sam")
    before = env.directory.list()
    for method, template in app_routes(env.client.app):
        if not template.startswith("/api/v1/admin/"):
            continue
        for token in (volunteer, supervisor):
            resp = await _call(env, method, template, f"Bearer {token}")
            assert resp.status in (401, 403), (method, template)
    assert env.directory.list() == before


async def test_volunteer_routes_refuse_the_admin_token(env: WebEnv):
    for method, template in VOLUNTEER:
        resp = await _call(env, method, template, f"Bearer {ADMIN_TOKEN}")
        assert resp.status == 401, (method, template)


async def test_volunteer_routes_act_only_on_the_sessions_own_volunteer(env: WebEnv):
    anna = await env.login("anna")
    anna_state = env.gateway.agent_view("anna")
    for method, template in sorted(VOLUNTEER):
        sam = await env.login("sam")  # DELETE /session ends it: a fresh one for each route
        env.gateway.events.clear()
        resp = await _call(env, method, template, f"Bearer {sam}")
        assert resp.status < 500, (method, template)
        for event in env.gateway.events:
            assert event.agent_id == "sam", (method, template, event)
        if resp.status == 200 and resp.content_type == "application/json":
            assert "anna" not in await resp.text(), (method, template)
        assert env.gateway.agent_view("anna") == anna_state, (method, template)
        me = await env.client.get("/api/v1/me", headers=env.bearer(anna))
        assert me.status == 200 and (await me.json())["volunteer"]["id"] == "anna"


async def test_a_disabled_volunteers_session_is_refused_everywhere(env: WebEnv):
    tokens = [await env.login("anna") for _ in VOLUNTEER]  # the first refusal revokes one
    env.directory.disable("anna")
    for (method, template), token in zip(sorted(VOLUNTEER), tokens, strict=True):
        resp = await _call(env, method, template, f"Bearer {token}")
        assert resp.status == 401, (method, template)
