"""Web API: ready, pause and wrap-up become the right ACD events; refusals become 409."""

from __future__ import annotations

import pytest

import acd
from config.registration import DEFAULT_PAUSE_REASONS
from tests.unit.web_support import WebEnv, web_env


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


@pytest.fixture
async def token(env: WebEnv) -> str:
    return await env.login()


async def test_ready_sends_agent_ready_and_returns_the_new_state(env: WebEnv, token: str):
    resp = await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    assert resp.status == 200
    assert (await resp.json())["agent"]["state"] == "available"
    assert env.gateway.events == [acd.AgentReady("anna")]


@pytest.mark.parametrize("reason", DEFAULT_PAUSE_REASONS)
async def test_pause_sends_agent_paused_with_the_reason(env: WebEnv, token: str, reason):
    await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    resp = await env.client.post(
        "/api/v1/me/pause", json={"reason": reason}, headers=env.bearer(token)
    )
    assert resp.status == 200
    agent = (await resp.json())["agent"]
    assert agent["state"] == "paused"
    assert agent["reason"] == reason
    assert env.gateway.events == [acd.AgentReady("anna"), acd.AgentPaused("anna", reason)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"reason": "lunch with friends"}, "reason: must be one of"),
        ({}, "reason: required"),
        ({"reason": 3}, "reason: must be a string"),
        ({"reason": "break", "why": "x"}, "why: unknown field"),
    ],
)
async def test_pause_with_a_bad_reason_is_400_naming_the_field(
    env: WebEnv, token: str, body, message
):
    resp = await env.client.post("/api/v1/me/pause", json=body, headers=env.bearer(token))
    assert resp.status == 400
    assert (await resp.json())["message"].startswith(message)
    assert env.gateway.events == []


async def test_wrap_up_end_sends_wrap_up_ended(env: WebEnv, token: str):
    gw = env.gateway
    await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    gw.offer_call("c1")
    gw.handle(acd.OfferAccepted("c1", "anna"))
    gw.handle(acd.ContactEnded("c1"))
    assert gw.agent_view("anna")["state"] == "wrap_up"
    resp = await env.client.post("/api/v1/me/wrap-up/end", headers=env.bearer(token))
    assert resp.status == 200
    assert (await resp.json())["agent"]["state"] == "available"
    assert gw.events[-1] == acd.WrapUpEnded("anna")


async def test_ready_while_a_call_rings_is_409(env: WebEnv, token: str):
    await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    env.gateway.offer_call()
    assert env.gateway.agent_view("anna")["state"] == "offered"
    resp = await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    assert resp.status == 409
    assert await resp.json() == {
        "error": "illegal_transition",
        "message": "cannot go ready while a call rings",
    }


async def test_wrap_up_end_while_paused_is_409(env: WebEnv, token: str):
    resp = await env.client.post("/api/v1/me/wrap-up/end", headers=env.bearer(token))
    assert resp.status == 409
    assert await resp.json() == {
        "error": "illegal_transition",
        "message": "cannot end wrap-up while paused",
    }


async def test_actions_when_not_logged_into_the_acd_are_409_not_logged_in(env: WebEnv, token: str):
    await env.gateway.submit(acd.AgentLoggedOut("anna"))
    env.gateway.events.clear()
    for path in ("/api/v1/me/ready", "/api/v1/me/wrap-up/end"):
        resp = await env.client.post(path, headers=env.bearer(token))
        assert resp.status == 409
        assert await resp.json() == {"error": "not_logged_in", "message": "not logged in"}
    me = await env.client.get("/api/v1/me", headers=env.bearer(token))
    assert (await me.json())["agent"] is None


async def test_ready_refuses_a_body_with_fields(env: WebEnv, token: str):
    resp = await env.client.post(
        "/api/v1/me/ready", json={"state": "busy"}, headers=env.bearer(token)
    )
    assert resp.status == 400
    assert (await resp.json())["message"] == "state: unknown field"
    assert env.gateway.events == []


async def test_actions_need_a_session(env: WebEnv):
    for path in ("/api/v1/me/ready", "/api/v1/me/pause", "/api/v1/me/wrap-up/end"):
        resp = await env.client.post(path, json={"reason": "break"})
        assert resp.status == 401
    assert env.gateway.events == []
