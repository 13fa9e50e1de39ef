"""Web API: logging in and out, tokens, session revocation and expiry."""

from __future__ import annotations

import pytest

import acd
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv, web_env
from web import Session, token_hash


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


async def test_login_returns_token_and_volunteer_and_logs_into_the_acd(env: WebEnv):
    resp = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
    )
    assert resp.status == 201
    body = await resp.json()
    assert len(body["token"]) >= 43  # token_urlsafe(32)
    assert body["volunteer"]["id"] == "anna"
    assert body["location"] == "utrecht"  # the home location by default
    assert body["agent"]["state"] == "paused"
    assert env.gateway.logins == [
        ("anna", "utrecht", frozenset({"phone", "chat"}), frozenset({"nl", "en"}))
    ]
    # Only the hash of the token is stored.
    assert env.sessions.keys() == [token_hash(body["token"])]


async def test_login_at_another_configured_location(env: WebEnv):
    await env.login(location="almelo")
    assert env.gateway.logins[0][1] == "almelo"


async def test_login_at_an_unconfigured_location_is_refused_naming_the_field(env: WebEnv):
    resp = await env.client.post(
        "/api/v1/session",
        json={"volunteer_id": "anna", "password": PASSWORD, "location": "atlantis"},
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "invalid_field"
    assert body["message"].startswith("location:")
    assert env.gateway.logins == []


@pytest.mark.parametrize(
    ("volunteer_id", "password"),
    [
        ("anna", "wrong password!"),  # wrong password
        ("bram", PASSWORD),  # disabled
        ("nobody", PASSWORD),  # unknown
    ],
)
async def test_refused_logins_look_identical(env: WebEnv, volunteer_id, password):
    resp = await env.client.post(
        "/api/v1/session", json={"volunteer_id": volunteer_id, "password": password}
    )
    assert resp.status == 401
    assert await resp.json() == {
        "error": "invalid_credentials",
        "message": "unknown volunteer id or wrong password",
    }
    assert env.gateway.logins == []
    assert env.sessions.keys() == []


async def test_login_of_a_volunteer_still_in_the_acd_keeps_their_state(env: WebEnv):
    first = await env.login()
    await env.client.post("/api/v1/me/ready", headers=env.bearer(first))
    second = await env.login()
    assert second != first
    assert len(env.gateway.logins) == 1  # not logged in twice
    resp = await env.client.get("/api/v1/me", headers=env.bearer(second))
    assert (await resp.json())["agent"]["state"] == "available"


async def test_acd_refusing_the_login_creates_no_session(env: WebEnv):
    env.gateway.fail_with = acd.IllegalTransition("agent anna", "busy", "login")
    resp = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
    )
    assert resp.status == 409
    assert (await resp.json())["error"] == "illegal_transition"
    assert env.sessions.keys() == []


async def test_me_shows_volunteer_location_and_agent(env: WebEnv):
    token = await env.login(location="almelo")
    resp = await env.client.get("/api/v1/me", headers=env.bearer(token))
    assert resp.status == 200
    body = await resp.json()
    assert body["volunteer"]["id"] == "anna"
    assert body["volunteer"]["location"] == "utrecht"  # home location
    assert body["location"] == "almelo"  # where they work today
    assert body["agent"]["state"] == "paused"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": "Basic YW5uYTpwdw=="},
        {"Authorization": "Bearer "},
    ],
)
async def test_me_without_a_valid_token_is_401(env: WebEnv, headers):
    resp = await env.client.get("/api/v1/me", headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert (await resp.json())["error"] == "unauthorized"


async def test_logout_ends_acd_login_and_revokes_the_token(env: WebEnv):
    token = await env.login()
    resp = await env.client.delete("/api/v1/session", headers=env.bearer(token))
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "agent": None}
    assert env.gateway.events == [acd.AgentLoggedOut("anna")]
    assert env.gateway.agent_view("anna") is None
    again = await env.client.get("/api/v1/me", headers=env.bearer(token))
    assert again.status == 401
    assert env.sessions.keys() == []


async def test_logout_when_the_acd_already_forgot_the_volunteer_still_revokes(env: WebEnv):
    token = await env.login()
    await env.gateway.submit(acd.AgentLoggedOut("anna"))  # e.g. the ACD restarted empty
    resp = await env.client.delete("/api/v1/session", headers=env.bearer(token))
    assert resp.status == 200
    assert env.sessions.keys() == []


async def test_logout_revokes_only_that_token(env: WebEnv):
    first = await env.login()
    second = await env.login()
    await env.client.delete("/api/v1/session", headers=env.bearer(first))
    assert (await env.client.get("/api/v1/me", headers=env.bearer(first))).status == 401
    resp = await env.client.get("/api/v1/me", headers=env.bearer(second))
    assert resp.status == 200
    assert (await resp.json())["agent"] is None  # logged out of the ACD, though


async def test_disabling_a_volunteer_kills_their_session_at_the_next_request(env: WebEnv):
    token = await env.login()
    env.directory.disable("anna")
    resp = await env.client.get("/api/v1/me", headers=env.bearer(token))
    assert resp.status == 401
    assert env.sessions.keys() == []  # revoked, not just refused


async def test_expired_session_is_refused(tmp_path):
    async with web_env(tmp_path) as env:
        clock = [0.0]
        env.sessions._clock = lambda: clock[0]
        token = await env.login()
        clock[0] = env.cfg.http.session_ttl_s - 1
        assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 200
        clock[0] = env.cfg.http.session_ttl_s + 1
        assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 401


# -- revocation: a credential version on the account, checked on every request ---------------


async def test_a_password_reset_ends_every_session_at_once(env: WebEnv):
    """Finding: a password reset left existing sessions working."""
    first, second = await env.login(), await env.login()
    resp = await env.admin.post(
        "/api/v1/admin/volunteers/anna/password",
        json={"password": "a brand new password"},
        headers=env.bearer(ADMIN_TOKEN),
    )
    assert resp.status == 200
    for token in (first, second):
        assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 401
        # Every authenticated route, not only /me.
        ready = await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
        assert ready.status == 401
    assert env.sessions.keys() == []  # revoked, not just refused
    fresh = await env.login(password="a brand new password")
    assert (await env.client.get("/api/v1/me", headers=env.bearer(fresh))).status == 200


async def test_a_reset_through_the_directory_also_ends_sessions(env: WebEnv):
    # The CLI (another process) changes only SQL: the version there is what counts.
    token = await env.login()
    env.directory.set_password("anna", "a brand new password")
    assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 401


async def test_disable_then_enable_does_not_bring_an_old_session_back(env: WebEnv):
    token = await env.login()
    admin = env.bearer(ADMIN_TOKEN)
    assert (await env.admin.post("/api/v1/admin/volunteers/anna/disable", headers=admin)).ok
    assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 401
    env.sessions._items.clear()  # even had it been kept, the version would refuse it
    await env.sessions.put(
        token_hash(token), Session("anna", "utrecht", 0.0, credential_version=0), 60
    )
    assert (await env.admin.post("/api/v1/admin/volunteers/anna/enable", headers=admin)).ok
    assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 401
    assert (await env.client.get("/api/v1/me", headers=env.bearer(await env.login()))).ok


async def test_a_new_phone_secret_or_role_change_keeps_sessions(env: WebEnv):
    token = await env.login()
    env.directory.new_sip_secret("anna")
    env.directory.set_role("anna", "supervisor")
    assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 200


async def test_reset_disable_and_enable_push_the_sip_accounts(env: WebEnv):
    admin = env.bearer(ADMIN_TOKEN)
    c = env.admin
    await c.post("/api/v1/admin/volunteers/anna/password", json={"password": "x" * 12},
                 headers=admin)  # fmt: skip
    await c.post("/api/v1/admin/volunteers/anna/disable", headers=admin)
    await c.post("/api/v1/admin/volunteers/anna/enable", headers=admin)
    await c.post("/api/v1/admin/volunteers/anna/role", json={"role": "admin"}, headers=admin)
    assert env.sip_pushes == ["push"] * 3  # a role change touches no SIP account
