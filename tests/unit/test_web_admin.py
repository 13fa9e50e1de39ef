"""Web API: the admin bearer token, volunteer CRUD and the queue overview."""

from __future__ import annotations

import pytest

import acd
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv, web_env

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NEW = {
    "id": "noor",
    "name": "Noor",
    "location": "almelo",
    "skills": ["chat"],
    "languages": ["nl"],
    "password": "another good secret",
}


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": "Bearer ünïcode"},
    ],
)
async def test_admin_needs_the_admin_token(env: WebEnv, headers):
    for method, path in [
        ("GET", "/api/v1/admin/volunteers"),
        ("POST", "/api/v1/admin/volunteers"),
        ("POST", "/api/v1/admin/volunteers/anna/disable"),
        ("GET", "/api/v1/admin/queue"),
    ]:
        resp = await env.admin.request(method, path, headers=headers, json=NEW)
        assert resp.status == 401, path
        assert (await resp.json())["error"] == "unauthorized"
    assert env.directory.get("noor") is None
    assert env.directory.get("anna").enabled


async def test_a_volunteer_session_token_is_not_an_admin_token(env: WebEnv):
    token = await env.login()
    resp = await env.admin.get("/api/v1/admin/volunteers", headers=env.bearer(token))
    assert resp.status == 401


async def test_admin_api_is_absent_without_a_configured_token(tmp_path):
    async with web_env(tmp_path, admin_token=None) as env:
        for headers in ({}, ADMIN, {"Authorization": "Bearer None"}):
            resp = await env.admin.get("/api/v1/admin/volunteers", headers=headers)
            assert resp.status == 404
            assert (await resp.json())["error"] == "not_found"
        # The volunteer API is unaffected.
        assert (await env.client.get("/healthz")).status == 200


async def test_list_volunteers(env: WebEnv):
    resp = await env.admin.get("/api/v1/admin/volunteers", headers=ADMIN)
    assert resp.status == 200
    vols = (await resp.json())["volunteers"]
    assert [v["id"] for v in vols] == ["anna", "bram", "sam"]
    assert vols[1]["enabled"] is False
    assert vols[2]["young"] is True
    assert [v["role"] for v in vols] == ["volunteer"] * 3
    assert set(vols[0]) == {
        "id",
        "name",
        "location",
        "skills",
        "languages",
        "young",
        "role",
        "enabled",
        "created_at",
    }


async def test_add_volunteer_then_they_can_log_in(env: WebEnv):
    resp = await env.admin.post("/api/v1/admin/volunteers", json=NEW, headers=ADMIN)
    assert resp.status == 201
    vol = (await resp.json())["volunteer"]
    assert vol["id"] == "noor"
    assert vol["skills"] == ["chat"]
    assert vol["enabled"] is True
    assert vol["role"] == "volunteer"
    await env.login("noor", NEW["password"])
    assert env.gateway.logins[-1] == ("noor", "almelo", frozenset({"chat"}), frozenset({"nl"}))


async def test_add_supervisor(env: WebEnv):
    new = {**NEW, "role": "supervisor"}
    resp = await env.admin.post("/api/v1/admin/volunteers", json=new, headers=ADMIN)
    assert resp.status == 201
    assert (await resp.json())["volunteer"]["role"] == "supervisor"
    assert env.directory.require("noor").role == "supervisor"


async def test_add_existing_volunteer_is_409(env: WebEnv):
    resp = await env.admin.post(
        "/api/v1/admin/volunteers", json={**NEW, "id": "anna"}, headers=ADMIN
    )
    assert resp.status == 409
    assert (await resp.json())["error"] == "volunteer_exists"


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"location": "atlantis"}, "invalid_volunteer", "location"),
        ({"skills": ["juggling"]}, "invalid_volunteer", "skills"),
        ({"skills": ["peer_chat"]}, "invalid_volunteer", "peer_chat"),
        ({"languages": ["xx"]}, "invalid_volunteer", "language"),
        ({"password": "short"}, "invalid_volunteer", "password"),
        ({"id": "Has Spaces"}, "invalid_volunteer", "id"),
        ({"skills": "chat"}, "invalid_field", "skills:"),
        ({"skills": [1]}, "invalid_field", "skills[0]:"),
        ({"young": "yes"}, "invalid_field", "young:"),
        ({"role": "root"}, "invalid_volunteer", "one of volunteer, supervisor, admin"),
        ({"role": "SUPERVISOR"}, "invalid_volunteer", "role: must be one of"),
        ({"role": 1}, "invalid_field", "role: must be a string"),
        ({"role": ["supervisor"]}, "invalid_field", "role: must be a string"),
        ({"role": ""}, "invalid_field", "role: must be 1..32"),
        ({"role": "x" * 33}, "invalid_field", "role: must be 1..32"),
        ({"password": None}, "missing_field", "password: required"),
        ({"sip_ha1": "abc"}, "unknown_field", "sip_ha1: unknown field"),
    ],
)
async def test_add_invalid_volunteer_is_400(env: WebEnv, change, code, fragment):
    resp = await env.admin.post("/api/v1/admin/volunteers", json={**NEW, **change}, headers=ADMIN)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == code
    assert fragment in body["message"]
    assert env.directory.get("noor") is None


async def test_disable_logs_out_of_the_acd_and_blocks_login(env: WebEnv):
    token = await env.login()
    resp = await env.admin.post("/api/v1/admin/volunteers/anna/disable", headers=ADMIN)
    assert resp.status == 200
    assert (await resp.json())["volunteer"]["enabled"] is False
    assert env.gateway.events == [acd.AgentLoggedOut("anna")]
    assert env.gateway.agent_view("anna") is None
    assert (await env.client.get("/api/v1/me", headers=env.bearer(token))).status == 401
    refused = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
    )
    assert refused.status == 401


async def test_disable_of_a_volunteer_not_logged_in_is_fine(env: WebEnv):
    resp = await env.admin.post("/api/v1/admin/volunteers/sam/disable", headers=ADMIN)
    assert resp.status == 200
    assert env.directory.get("sam").enabled is False


async def test_enable_lets_them_back_in(env: WebEnv):
    resp = await env.admin.post("/api/v1/admin/volunteers/bram/enable", headers=ADMIN)
    assert resp.status == 200
    assert (await resp.json())["volunteer"]["enabled"] is True
    await env.login("bram")


async def test_set_role(env: WebEnv):
    path = "/api/v1/admin/volunteers/anna/role"
    resp = await env.admin.post(path, json={"role": "supervisor"}, headers=ADMIN)
    assert resp.status == 200
    assert (await resp.json())["volunteer"]["role"] == "supervisor"
    assert env.directory.require("anna").role == "supervisor"
    resp = await env.admin.post(path, json={"role": "volunteer"}, headers=ADMIN)
    assert (await resp.json())["volunteer"]["role"] == "volunteer"


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"role": "root"}, "invalid_volunteer", "role: must be one of volunteer, supervisor"),
        ({"role": None}, "missing_field", "role: required"),
        ({}, "missing_field", "role: required"),
        ({"role": True}, "invalid_field", "role: must be a string"),
        ({"role": "supervisor", "young": True}, "unknown_field", "young: unknown field"),
    ],
)
async def test_set_bad_role_is_400(env: WebEnv, body, code, fragment):
    resp = await env.admin.post("/api/v1/admin/volunteers/anna/role", json=body, headers=ADMIN)
    assert resp.status == 400
    answer = await resp.json()
    assert answer["error"] == code
    assert fragment in answer["message"]
    assert env.directory.require("anna").role == "volunteer"


async def test_set_role_needs_the_admin_token(env: WebEnv):
    resp = await env.admin.post(
        "/api/v1/admin/volunteers/anna/role",
        json={"role": "supervisor"},
        headers={"Authorization": "Bearer wrong-token-wrong-token-wrong"},
    )
    assert resp.status == 401
    assert env.directory.require("anna").role == "volunteer"


async def test_me_shows_the_role(env: WebEnv):
    env.directory.set_role("anna", "supervisor")
    token = await env.login()
    resp = await env.client.get("/api/v1/me", headers=env.bearer(token))
    assert (await resp.json())["volunteer"]["role"] == "supervisor"


@pytest.mark.parametrize("action", ["disable", "enable", "password", "role"])
async def test_unknown_volunteer_is_404(env: WebEnv, action):
    resp = await env.admin.post(
        f"/api/v1/admin/volunteers/ghost/{action}",
        json={"password": "a fine new password"} if action == "password" else {"role": "volunteer"},
        headers=ADMIN,
    )
    assert resp.status == 404
    assert await resp.json() == {"error": "unknown_volunteer", "message": "no such volunteer"}


async def test_get_one_volunteer_with_acd_state(env: WebEnv):
    await env.login()
    resp = await env.admin.get("/api/v1/admin/volunteers/anna", headers=ADMIN)
    assert resp.status == 200
    body = await resp.json()
    assert body["volunteer"]["id"] == "anna"
    assert body["agent"]["state"] == "paused"
    missing = await env.admin.get("/api/v1/admin/volunteers/ghost", headers=ADMIN)
    assert missing.status == 404


async def test_set_password(env: WebEnv):
    resp = await env.admin.post(
        "/api/v1/admin/volunteers/anna/password",
        json={"password": "a fine new password"},
        headers=ADMIN,
    )
    assert resp.status == 200
    old = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
    )
    assert old.status == 401
    await env.login("anna", "a fine new password")


async def test_queue_view(env: WebEnv):
    await env.login()
    env.gateway.offer_call("c1")
    resp = await env.admin.get("/api/v1/admin/queue", headers=ADMIN)
    assert resp.status == 200
    queue = await resp.json()
    assert queue["channels"]["phone"]["waiting"] == 1
    assert queue["channels"]["phone"]["oldest_arrived_at"] == env.gateway.now
    assert queue["channels"]["chat"]["waiting"] == 0
    assert queue["agents_by_state"]["paused"] == 1  # anna logged in, not yet ready
    assert queue["agents_by_location"] == {"utrecht": 1}
