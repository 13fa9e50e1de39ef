"""Web API: the partner directory and the volunteer's transfer routes (on the fake gateway)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

import acd
from session.errors import TransferRefused
from tests.unit.web_support import WebEnv, web_env
from web import create_app
from web.errors import map_exception
from web.gateway import StandbyGateway

START = {"partner": "veilig-thuis", "mode": "consult", "consent": True}
STEP_PATHS = [f"/api/v1/me/transfer/{step}" for step in ("conference", "leave", "stay", "cancel")]


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


@pytest.fixture
async def token(env: WebEnv) -> str:
    return await env.login()


def in_a_call(env: WebEnv, agent_id: str = "anna", contact_id: str = "c1") -> None:
    """The volunteer is ready and has taken a phone call."""
    gw = env.gateway
    gw.handle(acd.AgentReady(agent_id))
    gw.offer_call(contact_id)
    gw.handle(acd.OfferAccepted(contact_id, agent_id))


async def start(env: WebEnv, token: str, **changes):
    body = {**START, **changes}
    body = {k: v for k, v in body.items() if v is not ...}
    return await env.client.post("/api/v1/me/transfer", json=body, headers=env.bearer(token))


# -- the directory ------------------------------------------------------------------------------


async def test_partners_are_listed_with_open_now(env: WebEnv, token: str):
    resp = await env.client.get("/api/v1/partners", headers=env.bearer(token))
    assert resp.status == 200
    partners = (await resp.json())["partners"]
    assert [p["id"] for p in partners] == ["veilig-thuis", "kinderrechtenhelpdesk"]
    vt, krh = partners
    assert vt == {
        "id": "veilig-thuis",
        "name": "Veilig Thuis",
        "description": "",
        "regions": ["utrecht", "haaglanden"],
        "open_now": True,
        "opens_at": None,
        "closes_at": None,
    }
    assert krh["open_now"] and krh["closes_at"] == "2025-06-02T18:00:00+00:00"  # 20:00 local
    assert "number" not in vt


async def test_a_closed_partner_says_when_it_opens(env: WebEnv, token: str):
    env.gateway.clock = datetime(2025, 6, 2, 6, tzinfo=UTC)  # 08:00 in Amsterdam
    resp = await env.client.get("/api/v1/partners", headers=env.bearer(token))
    krh = (await resp.json())["partners"][1]
    assert (krh["open_now"], krh["opens_at"], krh["closes_at"]) == (
        False,
        "2025-06-02T09:00:00+00:00",
        None,
    )


@pytest.mark.parametrize("path", ["/api/v1/partners", "/api/v1/me/transfer"])
async def test_reading_needs_a_session(env: WebEnv, path):
    resp = await env.client.get(path)
    assert resp.status == 401
    resp = await env.client.get(path, headers=env.bearer("not-a-token"))
    assert resp.status == 401


# -- starting -----------------------------------------------------------------------------------


async def test_start_a_consult_then_conference_stay_and_leave(env: WebEnv, token: str):
    in_a_call(env)
    resp = await start(env, token, region="utrecht")
    assert resp.status == 200, await resp.text()
    transfer = (await resp.json())["transfer"]
    assert transfer == {
        "contact_id": "c1",
        "agent_id": "anna",
        "partner_id": "veilig-thuis",
        "partner_name": "Veilig Thuis",
        "mode": "consult",
        "region": "utrecht",
        "state": "consult",
        "reason": "",
        "stayed": False,
        "started_at": 1000.0,
        "updated_at": 1000.0,
    }
    assert env.gateway.transfer_calls == [("anna", "start", "veilig-thuis", "consult", "utrecht")]
    resp = await env.client.get("/api/v1/me/transfer", headers=env.bearer(token))
    assert (await resp.json())["transfer"] == transfer

    for step, state in (("conference", "conference"), ("stay", "conference")):
        resp = await env.client.post(f"/api/v1/me/transfer/{step}", headers=env.bearer(token))
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["transfer"]["state"] == state
    assert env.gateway.transfers["anna"]["stayed"] is True
    resp = await env.client.post("/api/v1/me/transfer/leave", json={}, headers=env.bearer(token))
    assert resp.status == 200
    resp = await env.client.get("/api/v1/me/transfer", headers=env.bearer(token))
    assert await resp.json() == {"transfer": None}


async def test_direct_mode_without_a_region(env: WebEnv, token: str):
    in_a_call(env)
    resp = await start(env, token, mode="direct", partner="kinderrechtenhelpdesk")
    assert resp.status == 200
    transfer = (await resp.json())["transfer"]
    assert (transfer["mode"], transfer["region"], transfer["state"]) == (
        "direct",
        None,
        "conference",
    )


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"consent": ...}, "consent_required", "consent: must be true"),
        ({"consent": False}, "consent_required", "consent: must be true"),
        ({"consent": "true"}, "invalid_field", "consent: must be true or false"),
        ({"consent": 1}, "invalid_field", "consent: must be true or false"),
        ({"mode": "cold"}, "invalid_field", "mode: must be one of consult, direct"),
        ({"mode": ...}, "missing_field", "mode: required"),
        ({"partner": ...}, "missing_field", "partner: required"),
        ({"partner": 7}, "invalid_field", "partner: must be a string"),
        ({"region": "groningen"}, "invalid_field", "region: not one of this partner's regions"),
        ({"region": ""}, "invalid_field", "region: must be 1..64 characters"),
        ({"number": "0612345678"}, "unknown_field", "number: unknown field"),
    ],
)
async def test_bad_requests_are_400_naming_the_field(
    env: WebEnv, token: str, changes, code, message
):
    in_a_call(env)
    resp = await start(env, token, **changes)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == code and body["message"].startswith(message), body
    assert env.gateway.transfer_calls == []


async def test_a_region_of_another_partner_is_refused(env: WebEnv, token: str):
    in_a_call(env)
    resp = await start(env, token, partner="kinderrechtenhelpdesk", region="utrecht")
    assert resp.status == 400
    assert env.gateway.transfer_calls == []


@pytest.mark.parametrize("partner", ["113", "0612345678", "Veilig-Thuis", "v" * 40, "a/b"])
async def test_a_partner_not_in_the_directory_is_404(env: WebEnv, token: str, partner):
    in_a_call(env)
    resp = await start(env, token, partner=partner)
    assert resp.status == 404
    body = await resp.json()
    assert body["error"] == "unknown_partner"
    assert partner not in body["message"]
    assert env.gateway.transfer_calls == []


async def test_a_closed_partner_is_409_with_when_it_opens(env: WebEnv, token: str):
    in_a_call(env)
    env.gateway.clock = datetime(2025, 6, 2, 19, tzinfo=UTC)  # 21:00 in Amsterdam
    resp = await start(env, token, partner="kinderrechtenhelpdesk")
    assert resp.status == 409
    assert await resp.json() == {
        "error": "partner_closed",
        "message": "Kinderrechtenhelpdesk is closed now; it opens on Tuesday 3 June at 11:00",
        "partner": "kinderrechtenhelpdesk",
        "opens_at": "2025-06-03T09:00:00+00:00",
    }
    assert env.gateway.transfers == {}


async def test_without_a_call_there_is_nothing_to_transfer(env: WebEnv, token: str):
    resp = await start(env, token)
    assert resp.status == 409
    assert (await resp.json())["error"] == "no_call"


async def test_one_transfer_at_a_time(env: WebEnv, token: str):
    in_a_call(env)
    assert (await start(env, token)).status == 200
    resp = await start(env, token, partner="kinderrechtenhelpdesk", mode="direct")
    assert resp.status == 409
    assert (await resp.json())["error"] == "transfer_in_progress"
    assert env.gateway.transfers["anna"]["partner_id"] == "veilig-thuis"


async def test_the_body_must_be_json(env: WebEnv, token: str):
    in_a_call(env)
    resp = await env.client.post(
        "/api/v1/me/transfer", data="partner=veilig-thuis", headers=env.bearer(token)
    )
    assert resp.status == 415


# -- steps --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STEP_PATHS)
async def test_a_step_without_a_transfer_is_409(env: WebEnv, token: str, path):
    resp = await env.client.post(path, headers=env.bearer(token))
    assert resp.status == 409
    assert (await resp.json())["error"] == "no_transfer"


@pytest.mark.parametrize("path", STEP_PATHS)
async def test_steps_take_no_fields(env: WebEnv, token: str, path):
    resp = await env.client.post(path, json={"partner": "x"}, headers=env.bearer(token))
    assert resp.status == 400
    assert (await resp.json())["error"] == "unknown_field"


async def test_a_step_out_of_order_is_409(env: WebEnv, token: str):
    in_a_call(env)
    await start(env, token)
    resp = await env.client.post("/api/v1/me/transfer/leave", headers=env.bearer(token))
    assert resp.status == 409
    assert await resp.json() == {
        "error": "not_allowed",
        "message": "cannot leave now",
        "state": "consult",
    }
    resp = await env.client.post("/api/v1/me/transfer/cancel", headers=env.bearer(token))
    assert resp.status == 200 and (await resp.json())["transfer"]["state"] == "cancelled"
    assert env.gateway.transfer_view("anna") is None


@pytest.mark.parametrize("path", ["/api/v1/me/transfer", *STEP_PATHS])
async def test_transfer_routes_need_a_session(env: WebEnv, path):
    resp = await env.client.post(path, json=START)
    assert resp.status == 401
    assert env.gateway.transfer_calls == []


async def test_a_standby_answers_503(env: WebEnv, token: str):
    # A process waiting for the lease, on the same sessions (as in the service).
    standby = create_app(env.cfg, env.directory, StandbyGateway(), env.sessions)
    async with TestClient(TestServer(standby)) as client:
        resp = await client.get("/api/v1/partners", headers=env.bearer(token))
        assert resp.status == 503
        resp = await client.get("/api/v1/me/transfer", headers=env.bearer(token))
        assert resp.status == 200 and await resp.json() == {"transfer": None}
        resp = await client.post("/api/v1/me/transfer", json=START, headers=env.bearer(token))
        assert resp.status == 503


# -- the error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("unknown_partner", 404),
        ("partner_closed", 409),
        ("transfer_in_progress", 409),
        ("no_call", 409),
        ("not_allowed", 409),
        ("no_transfer", 409),
    ],
)
def test_every_refusal_has_its_status(code, status):
    resp = map_exception(TransferRefused(code, "why", {"error": "x", "message": "y", "n": 1}))
    assert resp is not None and resp.status == status
    assert resp.text is not None
    # The details go beside the code and message, never over them.
    assert json.loads(resp.text) == {"error": code, "message": "why", "n": 1}
