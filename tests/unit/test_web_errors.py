"""Web API: the one error shape, body validation, limits, 404/405/500, health."""

from __future__ import annotations

import logging

import pytest

from tests.unit.web_support import PASSWORD, WebEnv, web_env
from web.body import MAX_BODY_BYTES


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


async def test_healthz(env: WebEnv):
    resp = await env.client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "checks": {}}  # readiness, no checks: ready


async def _login_raw(env: WebEnv, data: bytes | str, **kw):
    return await env.client.post(
        "/api/v1/session", data=data, headers={"Content-Type": "application/json"}, **kw
    )


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ("{not json", "invalid_json", "body: not valid JSON"),
        ('["anna"]', "invalid_json", "body: must be a JSON object"),
        ("", "missing_body", "body: a JSON object is required"),
        (b"\xff\xfe", "invalid_json", "body: not valid JSON"),
        ("[" * 5000 + "]" * 5000, "invalid_json", "body: not valid JSON"),
        ('{"password": "x-x-x-x-x"}', "missing_field", "volunteer_id: required"),
        ('{"volunteer_id": "anna"}', "missing_field", "password: required"),
        ('{"volunteer_id": 7, "password": "x-x-x-x-x"}', "invalid_field", "volunteer_id:"),
        ('{"volunteer_id": "anna", "password": ["a"]}', "invalid_field", "password:"),
        ('{"volunteer_id": "", "password": "x-x-x-x-x"}', "invalid_field", "volunteer_id:"),
        (
            '{"volunteer_id": "anna", "password": "x-x-x-x-x", "location": 1}',
            "invalid_field",
            "location:",
        ),
        (
            '{"volunteer_id": "anna", "password": "x-x-x-x-x", "admin": true}',
            "unknown_field",
            "admin: unknown field",
        ),
    ],
)
async def test_malformed_bodies_are_400_naming_the_problem(env: WebEnv, data, code, message):
    resp = await _login_raw(env, data)
    assert resp.status == 400
    body = await resp.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert body["message"].startswith(message)
    assert env.gateway.logins == []


async def test_an_unknown_field_with_a_strange_name_is_not_echoed(env: WebEnv):
    resp = await _login_raw(env, '{"volunteer_id": "anna", "password": "x", "hunter2 <b>": 1}')
    assert resp.status == 400
    assert "hunter2" not in await resp.text()


async def test_a_body_over_16_kib_is_400(env: WebEnv):
    big = '{"volunteer_id": "anna", "password": "' + "x" * MAX_BODY_BYTES + '"}'
    resp = await _login_raw(env, big)
    assert resp.status == 400
    assert await resp.json() == {
        "error": "body_too_large",
        "message": "body: larger than the 16 KiB limit",
    }


async def test_a_chunked_body_over_16_kib_is_400(env: WebEnv):
    async def chunks():
        yield b'{"volunteer_id": "anna", "password": "'
        for _ in range(20):
            yield b"x" * 1024
        yield b'"}'

    resp = await _login_raw(env, chunks())
    assert resp.status == 400
    assert (await resp.json())["error"] == "body_too_large"


async def test_a_body_just_under_the_limit_is_read(env: WebEnv):
    # A valid login padded with whitespace up to the limit still works.
    text = '{"volunteer_id": "anna", "password": "' + PASSWORD + '"}'
    resp = await _login_raw(env, text + " " * (MAX_BODY_BYTES - len(text)))
    assert resp.status == 201


async def test_unknown_path_is_a_json_404(env: WebEnv):
    resp = await env.client.get("/api/v1/nothing-here")
    assert resp.status == 404
    assert await resp.json() == {"error": "not_found", "message": "Not Found"}


async def test_wrong_method_is_a_json_405(env: WebEnv):
    resp = await env.client.put("/api/v1/session", json={})
    assert resp.status == 405
    assert (await resp.json())["error"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]


async def test_unexpected_errors_are_a_generic_500_logged_without_the_body(env: WebEnv, caplog):
    token = await env.login()

    async def broken(event):
        raise RuntimeError("gateway exploded")

    env.gateway.submit = broken
    with caplog.at_level(logging.DEBUG):
        resp = await env.client.post(
            "/api/v1/me/pause", json={"reason": "meeting"}, headers=env.bearer(token)
        )
    assert resp.status == 500
    assert await resp.json() == {"error": "internal_error", "message": "internal error"}
    logged = [r for r in caplog.records if r.name == "web.errors"]
    assert len(logged) == 1
    assert "/api/v1/me/pause" in logged[0].getMessage()
    assert "meeting" not in caplog.text  # the body is not logged
    assert token not in caplog.text


async def test_responses_are_never_cached(env: WebEnv):
    ok = await env.client.post(
        "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
    )
    bad = await env.client.get("/api/v1/me")
    for resp in (ok, bad):
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
