"""The wrap-up form's API: the workspace lists, the volunteer's last contact, saving it.

On the fake gateway (a real ACD core, its clock ``gateway.now`` is also the API's) and a real
SQLite registrations table.
"""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

import acd
from config.settings import parse_config
from session.referral import Referral
from tests.unit.web_support import ADMIN_TOKEN, CONFIG, WebEnv, web_env
from web import create_app
from web.gateway import StandbyGateway

NOTES = """
[registration]
notes_enabled = true
notes_retention_days = 14

[workspace]
pause_reasons = ["break", { id = "debrief", labels = { nl = "Nabespreking", en = "Debrief" } }]
"""

FORM = {
    "contact_id": "c1",
    "contact_type": "conversation",
    "topics": ["violence.bullying", "school_and_education"],
    "age_band": "12_14",
    "gender": "girl",
}


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


@pytest.fixture
async def notes_env(tmp_path):
    cfg = parse_config(CONFIG.format(admin=f'admin_token = "{ADMIN_TOKEN}"') + NOTES)
    async with web_env(tmp_path, cfg=cfg) as e:
        yield e


@pytest.fixture
async def token(env: WebEnv) -> str:
    return await env.login()


async def get_json(env: WebEnv, path: str, token: str, status: int = 200):
    resp = await env.client.get(path, headers=env.bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def post(env: WebEnv, token: str, body: dict, status: int = 201):
    resp = await env.client.post("/api/v1/me/registration", json=body, headers=env.bearer(token))
    assert resp.status == status, await resp.text()
    return await resp.json()


# -- GET /api/v1/workspace ----------------------------------------------------------------------


async def test_the_workspace_lists_in_dutch_by_default(env: WebEnv, token: str):
    ws = await get_json(env, "/api/v1/workspace", token)
    assert set(ws) == {"language", "languages", "pause_reasons", "registration"}
    assert (ws["language"], ws["languages"]) == ("nl", ["nl", "en"])
    assert ws["pause_reasons"][0] == {"id": "break", "label": "Pauze"}
    assert [r["id"] for r in ws["pause_reasons"]] == [
        "break", "training", "meeting", "admin", "other",
    ]  # fmt: skip
    reg = ws["registration"]
    assert set(reg) == {
        "contact_types", "topics", "age_bands", "genders", "notes_enabled",
        "notes_retention_days", "notes_max_length", "max_topics",
    }  # fmt: skip
    assert reg["contact_types"][0] == {"id": "conversation", "label": "Gesprek"}
    violence = reg["topics"][0]
    assert (violence["id"], violence["label"]) == ("violence", "Geweld en misbruik")
    assert violence["children"][0] == {"id": "violence.physical", "label": "Lichamelijk geweld"}
    assert reg["topics"][-1] == {"id": "other", "label": "Overig", "children": []}
    assert reg["age_bands"][-1] == {"id": "unknown", "label": "Onbekend"}
    assert [g["id"] for g in reg["genders"]] == ["girl", "boy", "non_binary", "unknown"]
    assert (reg["notes_enabled"], reg["notes_retention_days"], reg["notes_max_length"]) == (
        False, None, None,
    )  # fmt: skip
    assert reg["max_topics"] == 20


async def test_the_workspace_in_english(env: WebEnv, token: str):
    ws = await get_json(env, "/api/v1/workspace?lang=en", token)
    assert ws["language"] == "en"
    assert ws["pause_reasons"][0] == {"id": "break", "label": "Break"}
    assert ws["registration"]["topics"][0]["children"][0]["label"] == "Physical violence"


@pytest.mark.parametrize("lang", ["de", "", "NL", "nl\x00"])
async def test_another_language_is_400_naming_lang(env: WebEnv, token: str, lang):
    body = await get_json(env, f"/api/v1/workspace?lang={lang}", token, 400)
    assert body == {"error": "invalid_field", "message": "lang: must be one of nl, en"}


async def test_the_workspace_needs_a_session(env: WebEnv):
    resp = await env.client.get("/api/v1/workspace")
    assert resp.status == 401


async def test_configured_notes_and_pause_reasons(notes_env: WebEnv):
    env = notes_env
    token = await env.login()
    ws = await get_json(env, "/api/v1/workspace?lang=en", token)
    assert ws["pause_reasons"] == [
        {"id": "break", "label": "Break"},
        {"id": "debrief", "label": "Debrief"},
    ]
    reg = ws["registration"]
    assert (reg["notes_enabled"], reg["notes_retention_days"], reg["notes_max_length"]) == (
        True, 14, 2000,
    )  # fmt: skip
    # Pausing takes the configured reasons, and only those.
    resp = await env.client.post(
        "/api/v1/me/pause", json={"reason": "debrief"}, headers=env.bearer(token)
    )
    assert resp.status == 200
    resp = await env.client.post(
        "/api/v1/me/pause", json={"reason": "training"}, headers=env.bearer(token)
    )
    assert resp.status == 400
    assert (await resp.json())["message"] == "reason: must be one of break, debrief"


# -- GET /api/v1/me/registration ----------------------------------------------------------------


async def test_no_contact_no_form(env: WebEnv, token: str):
    assert await get_json(env, "/api/v1/me/registration", token) is None


async def test_the_form_of_the_last_call_in_wrap_up(env: WebEnv, token: str):
    gw = env.gateway
    gw.referrals["c1"] = Referral("veilig-thuis", "utrecht", True, False)
    gw.finish_call("anna", "c1")
    form = await get_json(env, "/api/v1/me/registration", token)
    assert form == {
        "contact_id": "c1",
        "channel": "phone",
        "line_id": "116111",
        "language": "nl",
        "referral": {
            "partner": "veilig-thuis",
            "region": "utrecht",
            "consent": True,
            "volunteer_stayed": False,
        },
        "saved": False,
        "wrap_until": gw.now + 60.0,
        "ended_at": gw.now,
        "open_until": gw.now + 30 * 60.0,
        "registration": None,
    }


async def test_the_form_closes_when_the_next_call_is_answered(env: WebEnv, token: str):
    gw = env.gateway
    gw.finish_call("anna", "c1")
    gw.handle(acd.WrapUpEnded("anna"))
    form = await get_json(env, "/api/v1/me/registration", token)
    assert form["contact_id"] == "c1" and form["wrap_until"] is None  # after wrap-up: still
    gw.offer_call("c2")
    assert (await get_json(env, "/api/v1/me/registration", token))["contact_id"] == "c1"
    gw.handle(acd.OfferAccepted("c2", "anna"))
    assert await get_json(env, "/api/v1/me/registration", token) is None
    body = await post(env, token, FORM, 409)
    assert body["error"] == "registration_closed"


async def test_the_form_closes_after_the_window(env: WebEnv, token: str):
    gw = env.gateway
    gw.finish_call("anna", "c1")
    gw.now += 30 * 60
    assert (await get_json(env, "/api/v1/me/registration", token))["contact_id"] == "c1"
    gw.now += 1
    assert await get_json(env, "/api/v1/me/registration", token) is None
    body = await post(env, token, FORM, 409)
    assert body == {
        "error": "registration_closed",
        "message": "the time to register this contact is over (a next contact was answered,"
        " or 30 minutes passed)",
    }


# -- POST /api/v1/me/registration ---------------------------------------------------------------


async def test_saving_ends_wrap_up_and_a_second_save_replaces_the_first(env: WebEnv, token: str):
    gw = env.gateway
    gw.finish_call("anna", "c1")
    body = await post(env, token, FORM)
    assert body["saved"] is True
    assert body["agent"]["state"] == "available"
    assert gw.events[-1] == acd.WrapUpEnded("anna")
    stored = env.registrations.get("c1")
    assert stored is not None
    assert (stored.volunteer_id, stored.contact_type, stored.topics) == (
        "anna", "conversation", ("school_and_education", "violence.bullying"),
    )  # fmt: skip
    form = await get_json(env, "/api/v1/me/registration", token)
    assert form["saved"] is True and form["wrap_until"] is None
    assert form["registration"] == {
        "contact_type": "conversation",
        "topics": ["school_and_education", "violence.bullying"],
        "age_band": "12_14",
        "gender": "girl",
        "notes": None,
        "saved_at": stored.saved_at.isoformat(),
    }
    # Corrected a minute later: replaced; wrap-up is over already, nothing more is asked.
    events = len(gw.events)
    gw.now += 60
    await post(env, token, {**FORM, "contact_type": "information_request", "topics": []})
    assert len(gw.events) == events
    again = env.registrations.get("c1")
    assert (again.contact_type, again.topics) == ("information_request", ())


async def test_a_wrap_up_the_timer_ended_meanwhile_is_no_error(env: WebEnv, token: str):
    gw = env.gateway
    gw.finish_call("anna", "c1")
    # The timer ends wrap-up between the API's look and its request.
    gw.fail_with = acd.IllegalTransition("agent anna", "available", "wrap_up_done")
    body = await post(env, token, FORM)
    assert body["saved"] is True
    assert env.registrations.get("c1") is not None


async def test_only_the_volunteers_own_last_contact(env: WebEnv, token: str):
    gw = env.gateway
    assert (await post(env, token, FORM, 409))["error"] == "not_your_last_contact"
    gw.finish_call("anna", "c1")
    body = await post(env, token, {**FORM, "contact_id": "c9"}, 409)
    assert body == {
        "error": "not_your_last_contact",
        "message": "contact_id: not your last contact",
    }
    # Another volunteer cannot register anna's contact.
    await gw.login("sam", "almelo", frozenset({"phone"}), frozenset({"nl"}))
    sam = await env.login("sam")
    assert (await post(env, sam, FORM, 409))["error"] == "not_your_last_contact"
    assert env.registrations.get("c1") is None


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"contact_type": "chat_bot"}, "invalid_field", "contact_type: not one of the configured"),
        ({"topics": ["family", "bullying"]}, "invalid_field", "topics[1]: not a configured topic"),
        ({"topics": "family"}, "invalid_field", "topics: must be a list of at most 20 strings"),
        ({"topics": [""]}, "invalid_field", "topics[0]: must be 1..80 characters"),
        ({"age_band": "13"}, "invalid_field", "age_band: not one of the configured ids"),
        ({"gender": "Girl"}, "invalid_field", "gender: not one of the configured ids"),
        ({"gender": None}, "missing_field", "gender: required"),
        ({"notes": "belt morgen"}, "notes_disabled", "notes: notes are not enabled"),
        ({"caller": "0612345678"}, "unknown_field", "caller: unknown field"),
    ],
)
async def test_bad_values_are_400_naming_the_field(env: WebEnv, token: str, changes, code, message):
    env.gateway.finish_call("anna", "c1")
    body = await post(env, token, {**FORM, **changes}, 400)
    assert body["error"] == code
    assert body["message"].startswith(message)
    assert "0612345678" not in body["message"] and "belt" not in body["message"]
    assert env.registrations.get("c1") is None
    assert env.gateway.agent_view("anna")["state"] == "wrap_up"  # not ended by a failed save


async def test_bad_values_are_400_even_without_a_contact(env: WebEnv, token: str):
    body = await post(env, token, {**FORM, "age_band": "x"}, 400)
    assert body["message"].startswith("age_band:")


async def test_notes_where_enabled_are_saved_and_never_logged(notes_env: WebEnv, caplog):
    env = notes_env
    token = await env.login()
    env.gateway.finish_call("anna", "c1")
    caplog.set_level(logging.DEBUG)
    await post(env, token, {**FORM, "notes": "belt morgen terug"})
    stored = env.registrations.get("c1")
    assert stored.notes == "belt morgen terug"
    assert stored.notes_expire_at is not None
    form = await get_json(env, "/api/v1/me/registration", token)
    assert form["registration"]["notes"] == "belt morgen terug"
    assert "belt morgen" not in caplog.text


async def test_a_note_longer_than_allowed_is_400(notes_env: WebEnv):
    env = notes_env
    token = await env.login()
    env.gateway.finish_call("anna", "c1")
    body = await post(env, token, {**FORM, "notes": "x" * 2001}, 400)
    assert body["message"] == "notes: must be 1..2000 characters"


async def test_the_form_needs_a_session(env: WebEnv):
    assert (await env.client.get("/api/v1/me/registration")).status == 401
    assert (await env.client.post("/api/v1/me/registration", json=FORM)).status == 401


async def test_no_store_or_a_standby_is_503(env: WebEnv, token: str):
    for gateway in (env.gateway, StandbyGateway()):
        app = create_app(env.cfg, env.directory, gateway, env.sessions)  # no registrations
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/api/v1/me/registration", headers=env.bearer(token))
            assert resp.status == 503
            resp = await client.post(
                "/api/v1/me/registration", json=FORM, headers=env.bearer(token)
            )
            assert resp.status == 503
            resp = await client.get("/api/v1/workspace", headers=env.bearer(token))
            assert resp.status == 200  # the lists come from the configuration
    standby = create_app(
        env.cfg, env.directory, StandbyGateway(), env.sessions, registrations=env.registrations
    )
    async with TestClient(TestServer(standby)) as client:
        resp = await client.get("/api/v1/me/registration", headers=env.bearer(token))
        assert resp.status == 503


async def test_the_responses_match_the_openapi_document(notes_env: WebEnv):
    # The fuzzer meets the form's `null` and its refusals; here the filled-in shapes too.
    import asyncio
    from pathlib import Path

    import requests
    import schemathesis

    from web import openapi

    schema = schemathesis.openapi.from_path(Path(openapi.__file__).with_name(openapi.DOCUMENT))
    env = notes_env
    token = await env.login()
    env.gateway.referrals["c1"] = Referral("veilig-thuis", None, True, True)
    env.gateway.finish_call("anna", "c1")
    base = str(env.client.make_url("")).rstrip("/")
    headers = env.bearer(token)

    def call(method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(method, base + path, json=body, headers=headers, timeout=10)

    checks = [
        ("GET", "/api/v1/workspace", None, 200),
        ("GET", "/api/v1/me/registration", None, 200),
        ("POST", "/api/v1/me/registration", {**FORM, "notes": "een notitie"}, 201),
        ("GET", "/api/v1/me/registration", None, 200),
        ("POST", "/api/v1/me/registration", {**FORM, "contact_id": "c2"}, 409),
    ]
    for method, path, body, status in checks:
        resp = await asyncio.to_thread(call, method, path, body)
        assert resp.status_code == status, (method, path, resp.text)
        schema[path][method].validate_response(resp)
    assert resp.json()["error"] == "not_your_last_contact"


async def test_each_of_several_recent_contacts_has_its_own_form(env: WebEnv, token: str):
    gw = env.gateway
    gw.finish_call("anna", "c1")
    gw.finish_call("anna", "c2")
    assert (await get_json(env, "/api/v1/me/registration", token))["contact_id"] == "c2"
    first = await get_json(env, "/api/v1/me/registration?contact_id=c1", token)
    assert first is None  # a call's form closes when the next contact is answered
    assert await get_json(env, "/api/v1/me/registration?contact_id=c9", token) is None
    too_long = await get_json(env, "/api/v1/me/registration?contact_id=" + "x" * 65, token, 400)
    assert too_long["error"] == "invalid_field"
    await post(env, token, {**FORM, "contact_id": "c2"})
    assert env.registrations.get("c2") is not None
