"""Walk the app's route table: every route refuses no session, a wrong role and another
volunteer's session. A new route fails here until it is given a kind below."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import LoginsSection
from tests.unit.test_openapi import app_routes
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv, web_env
from web.browser import CSRF_HEADER

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/healthz/live"),
    ("GET", "/healthz/ready"),
    ("GET", "/api/v1/openapi.yaml"),
    ("POST", "/api/v1/session"),  # the login itself
    # The children's chat: a child has no account (the chat token, once there is a chat).
    ("GET", "/api/v1/chat/status"),
    ("POST", "/api/v1/chat"),
    ("GET", "/api/v1/chat/ws"),
    ("POST", "/api/v1/chat/survey"),
}
"""Routes anyone may call; everything else needs a session or the admin token."""

VOLUNTEER = {
    ("DELETE", "/api/v1/session"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/me/ready"),
    ("POST", "/api/v1/me/pause"),
    ("POST", "/api/v1/me/wrap-up/end"),
    ("GET", "/api/v1/live"),
    ("GET", "/api/v1/me/sip"),
    ("GET", "/sip"),
    ("GET", "/api/v1/partners"),
    ("GET", "/api/v1/me/transfer"),
    ("POST", "/api/v1/me/transfer"),
    ("POST", "/api/v1/me/transfer/conference"),
    ("POST", "/api/v1/me/transfer/leave"),
    ("POST", "/api/v1/me/transfer/stay"),
    ("POST", "/api/v1/me/transfer/cancel"),
    ("GET", "/api/v1/workspace"),
    ("GET", "/api/v1/me/registration"),
    ("POST", "/api/v1/me/registration"),
    ("GET", "/api/v1/wallboard"),  # supervisors only: refused to a volunteer (403)
    ("GET", "/api/v1/chat/canned"),
    ("GET", "/api/v1/me/chats"),
    ("GET", "/api/v1/me/chats/ws"),
    ("POST", "/api/v1/me/chats/{id}/accept"),
    ("POST", "/api/v1/me/chats/{id}/decline"),
    ("POST", "/api/v1/me/chats/{id}/end"),
    ("POST", "/api/v1/me/chats/{id}/handoff"),
    # A supervisor's socket (403 not_a_supervisor for others), not in SUPERVISOR: no plain GET.
    ("GET", "/api/v1/supervise/chats/{id}/ws"),
}
"""Per-volunteer routes: they act on the session's own volunteer, never on anyone else."""

REPORTS = {
    ("GET", "/api/v1/reports"),
    ("GET", "/api/v1/reports/report.css"),
}
"""Staff routes on the public listener: a supervisor's (or admin's) session, 403 for a
volunteer's."""

COACHING = {
    ("GET", "/api/v1/supervisor/volunteers"),
    ("GET", "/api/v1/supervisor/coaching"),
    ("POST", "/api/v1/supervisor/volunteers/{id}/coaching"),
    ("POST", "/api/v1/supervisor/volunteers/{id}/coaching/mode"),
    ("POST", "/api/v1/supervisor/volunteers/{id}/coaching/stop"),
    ("POST", "/api/v1/supervisor/volunteers/{id}/pause"),
    ("POST", "/api/v1/supervisor/volunteers/{id}/logout"),
    ("GET", "/api/v1/supervisor/surge"),
    ("POST", "/api/v1/supervisor/surge"),
}
"""A supervisor's routes on other volunteers' calls and states, for the supervisor role only."""

SUPERVISOR = REPORTS | COACHING

BODIES = {
    "/api/v1/me/pause": {"reason": "break"},
    "/api/v1/supervisor/volunteers/{id}/coaching": {"mode": "listen"},
    "/api/v1/supervisor/volunteers/{id}/coaching/mode": {"mode": "whisper"},
    "/api/v1/supervisor/volunteers/{id}/pause": {"reason": "break"},
    "/api/v1/supervisor/surge": {"on": True},
    "/api/v1/me/transfer": {"partner": "veilig-thuis", "mode": "consult", "consent": True},
    "/api/v1/me/registration": {
        "contact_id": "c1",
        "contact_type": "silent",
        "topics": [],
        "age_band": "unknown",
        "gender": "unknown",
    },
}
WRONG_TOKENS = ["", "Bearer", "Bearer x", f"Bearer {ADMIN_TOKEN}x", f"Basic {ADMIN_TOKEN}"]


def _path(template: str) -> str:
    return template.replace("{id}", "1" if "/hours/" in template else "anna")


@pytest.fixture
async def env(tmp_path):
    # One login per route and test: more than the default per-account limit allows.
    logins = LoginsSection(per_address="1000/minute", per_account="1000/minute")
    clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)  # noqa: E731
    async with web_env(tmp_path, hours_clock=clock, logins=logins) as e:
        yield e


async def _call(env: WebEnv, method: str, template: str, auth: str | None):
    headers = {} if auth is None else {"Authorization": auth}
    body = BODIES.get(template, {})
    client = env.admin if template.startswith("/api/v1/admin/") else env.client
    return await client.request(method, _path(template), json=body, headers=headers)


def all_routes(env: WebEnv) -> set[tuple[str, str]]:
    """Both listeners' routes: the public one's and the admin one's."""
    return app_routes(env.client.app) | app_routes(env.admin.app)


async def test_every_route_has_a_kind(env: WebEnv):
    routes = all_routes(env)
    admin = {r for r in routes if r[1].startswith("/api/v1/admin/")}
    assert admin, "the admin routes are mounted in this test"
    assert routes == PUBLIC | VOLUNTEER | SUPERVISOR | admin
    assert not (PUBLIC & VOLUNTEER) and not (VOLUNTEER & SUPERVISOR)


async def test_supervisor_routes_refuse_a_volunteer_and_serve_a_supervisor(env: WebEnv):
    volunteer = await env.login("anna")
    env.directory.set_role("sam", "supervisor")
    supervisor = await env.login("sam")
    for method, template in REPORTS:
        path = template + ("?from=2025-06-02&to=2025-06-02" if template.endswith("reports") else "")
        resp = await env.client.request(method, path, headers=env.bearer(volunteer))
        assert resp.status == 403, (method, template)
        assert (await resp.json())["error"] == "not_a_supervisor"
        resp = await env.client.request(method, path, headers=env.bearer(supervisor))
        assert resp.status == 200, (method, template)


async def test_supervisor_routes_refuse_a_volunteer_with_403_and_change_nothing(env: WebEnv):
    anna = await env.login("anna")
    before = env.gateway.agent_view("anna")
    for method, template in sorted(SUPERVISOR):
        resp = await _call(env, method, template, f"Bearer {anna}")
        assert resp.status == 403, (method, template)
        assert (await resp.json())["error"] == "not_a_supervisor"
    assert env.gateway.coaching_calls == [] and env.gateway.surge_on is False
    assert env.gateway.agent_view("anna") == before
    assert env.gateway.events == []


async def test_supervisor_routes_refuse_the_admin_token(env: WebEnv):
    for method, template in SUPERVISOR:
        resp = await _call(env, method, template, f"Bearer {ADMIN_TOKEN}")
        assert resp.status == 401, (method, template)


async def test_supervisor_state_changes_need_the_csrf_token_with_the_cookie(env: WebEnv):
    env.directory.set_role("sam", "supervisor")
    login = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "sam", "password": PASSWORD}
    )
    csrf = (await login.json())["csrf_token"]
    own = str(env.client.make_url("")).rstrip("/")
    for method, template in sorted(COACHING):
        if method == "GET":
            continue
        body = BODIES.get(template, {})
        before = (list(env.gateway.coaching_calls), env.gateway.surge_on, len(env.gateway.events))
        for headers in ({}, {CSRF_HEADER: "wrong"}):
            resp = await env.client.request(method, _path(template), json=body, headers=headers)
            assert resp.status == 403, (method, template, headers)
            assert (await resp.json())["error"] == "csrf"
        after = (env.gateway.coaching_calls, env.gateway.surge_on, len(env.gateway.events))
        assert after == before, (method, template)
        headers = {CSRF_HEADER: csrf, "Origin": own}
        resp = await env.client.request(method, _path(template), json=body, headers=headers)
        assert resp.status not in (401, 403), (method, template)


async def test_every_protected_route_refuses_no_session_and_wrong_tokens(env: WebEnv):
    for method, template in all_routes(env) - PUBLIC:
        for auth in [None, *WRONG_TOKENS]:
            resp = await _call(env, method, template, auth)
            assert resp.status == 401, (method, template, auth)
            assert (await resp.json())["error"] == "unauthorized"
    assert env.gateway.logins == [] and env.gateway.events == []
    assert env.gateway.transfer_calls == []


async def test_admin_routes_refuse_volunteer_and_supervisor_sessions(env: WebEnv):
    volunteer = await env.login("anna")
    env.directory.set_role("sam", "supervisor")
    supervisor = await env.login("sam")
    before = env.directory.list()
    for method, template in all_routes(env):
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
    env.gateway.finish_call("anna", "c1")  # anna's wrap-up form is open: nobody else's to save
    anna_state = env.gateway.agent_view("anna")
    for method, template in sorted(VOLUNTEER):
        sam = await env.login("sam")  # DELETE /session ends it: a fresh one for each route
        env.gateway.events.clear()
        env.gateway.transfer_calls.clear()
        resp = await _call(env, method, template, f"Bearer {sam}")
        assert resp.status < 500, (method, template)
        for event in env.gateway.events:
            assert event.agent_id == "sam", (method, template, event)
        for call in env.gateway.transfer_calls:
            assert call[0] == "sam", (method, template, call)
        if resp.status == 200 and resp.content_type == "application/json":
            assert "anna" not in await resp.text(), (method, template)
        assert env.gateway.agent_view("anna") == anna_state, (method, template)
        assert env.registrations.get("c1") is None, (method, template)
        me = await env.client.get("/api/v1/me", headers=env.bearer(anna))
        assert me.status == 200 and (await me.json())["volunteer"]["id"] == "anna"


async def test_a_disabled_volunteers_session_is_refused_everywhere(env: WebEnv):
    tokens = [await env.login("anna") for _ in VOLUNTEER]  # the first refusal revokes one
    env.directory.disable("anna")
    for (method, template), token in zip(sorted(VOLUNTEER), tokens, strict=True):
        resp = await _call(env, method, template, f"Bearer {token}")
        assert resp.status == 401, (method, template)


async def test_every_state_changing_route_needs_the_csrf_token_with_the_cookie(env: WebEnv):
    """A route added with ``authenticate`` gets the cookie's CSRF and Origin rules for free."""
    login = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
    )
    csrf = (await login.json())["csrf_token"]  # the session cookie is in the client's jar now
    own = str(env.client.make_url("")).rstrip("/")
    refusals = [{}, {CSRF_HEADER: "wrong"}, {CSRF_HEADER: csrf, "Origin": "https://evil.example"}]
    for method, template in sorted(VOLUNTEER):
        if method == "GET":
            continue
        body = BODIES.get(template, {})
        before = (list(env.gateway.events), list(env.gateway.transfer_calls))
        for headers in refusals:
            resp = await env.client.request(method, _path(template), json=body, headers=headers)
            assert resp.status == 403, (method, template, headers)
            assert (await resp.json())["error"] == "csrf"
        assert (env.gateway.events, env.gateway.transfer_calls) == before, (method, template)
        if template == "/api/v1/session":
            continue  # signing out would end the walk
        # With the token (and the page's own Origin) it gets past authentication.
        headers = {CSRF_HEADER: csrf, "Origin": own}
        resp = await env.client.request(method, _path(template), json=body, headers=headers)
        assert resp.status not in (401, 403), (method, template)
    assert len(env.sessions.keys()) == 1
