"""``GET /api/v1/wallboard`` (supervisors only) and the metrics (admin listener)."""

from __future__ import annotations

import pytest

import acd
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv, web_env


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        e.directory.add("sofie", "Sofie", "utrecht", ["phone"], ["nl"], PASSWORD, role="supervisor")
        yield e


async def test_a_supervisor_gets_the_figures(env: WebEnv):
    token = await env.login("sofie")
    anna = await env.login("anna")
    assert anna
    env.gateway.handle(acd.AgentReady("anna"))
    env.gateway.offer_call("c1")
    resp = await env.client.get("/api/v1/wallboard", headers=env.bearer(token))
    assert resp.status == 200
    data = await resp.json()
    assert data["kinds"]["phone"]["ringing"] == 1
    assert data["kinds"]["total"]["waiting"] == 1
    assert data["agents"]["offered"] == 1
    assert data["agents"]["paused"] == 1  # sofie herself, signed in (not watch-only)
    assert "c1" not in await resp.text()  # no contact ids on the board


async def test_a_volunteer_is_refused(env: WebEnv):
    token = await env.login("anna")
    resp = await env.client.get("/api/v1/wallboard", headers=env.bearer(token))
    assert resp.status == 403
    assert (await resp.json())["error"] == "supervisors_only"


async def test_no_session_no_figures(env: WebEnv):
    resp = await env.client.get("/api/v1/wallboard")
    assert resp.status == 401


async def test_metrics_are_on_the_admin_listener_behind_the_token(env: WebEnv):
    await env.login("anna")
    env.gateway.handle(acd.AgentReady("anna"))
    env.gateway.offer_call("c1")
    assert (
        await env.client.get("/api/v1/admin/metrics")
    ).status == 404  # never on the public listener
    assert (await env.admin.get("/api/v1/admin/metrics")).status == 401
    resp = await env.admin.get(
        "/api/v1/admin/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = await resp.text()
    assert 'helpline_contacts_ringing{kind="phone"} 1.0' in text
    assert 'helpline_volunteers{state="offered"} 1.0' in text
    assert 'helpline_volunteers_at_location{location="utrecht",state="offered"} 1.0' in text
    assert "helpline_serving_queue 1.0" in text
    assert "anna" not in text and "c1" not in text  # no volunteer or contact ids


async def test_no_admin_token_no_metrics(tmp_path):
    async with web_env(tmp_path, admin_token=None) as env:
        assert (await env.admin.get("/api/v1/admin/metrics")).status == 404


async def test_a_watch_only_sign_in_does_not_join_the_acd(env: WebEnv):
    resp = await env.client.post(
        "/api/v1/session",
        json={"volunteer_id": "sofie", "password": PASSWORD, "watch_only": True},
    )
    assert resp.status == 201
    body = await resp.json()
    assert body["agent"] is None and env.gateway.logins == []
    figures = await env.client.get("/api/v1/wallboard", headers=env.bearer(body["token"]))
    assert (await figures.json())["agents"]["paused"] == 0  # the screen is nobody
    resp = await env.client.post(
        "/api/v1/session",
        json={"volunteer_id": "sofie", "password": PASSWORD, "watch_only": "yes"},
    )
    assert resp.status == 400


async def test_metrics_count_the_supervisors_coaching(env: WebEnv):
    await env.login("sofie")
    env.gateway.handle(acd.CoachingStarted("sofie"))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    text = await (await env.admin.get("/api/v1/admin/metrics", headers=headers)).text()
    assert "helpline_supervisors_coaching 1.0" in text
    env.gateway.handle(acd.CoachingEnded("sofie"))
    text = await (await env.admin.get("/api/v1/admin/metrics", headers=headers)).text()
    assert "helpline_supervisors_coaching 0.0" in text
    assert "sofie" not in text
