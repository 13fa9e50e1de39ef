"""Issue 9, inputs: client input that used to reach a 500 is now a clear 4xx JSON error.

Each test names the finding it covers; strict validation (surrogates, non-ASCII tokens,
decimal ids, Content-Type) is checked on the routes that read it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from config.errors import ConfigError
from config.settings import parse_config
from storage import db
from storage.errors import InvalidVolunteer
from storage.volunteers import VolunteerDirectory
from tests.unit.web_support import ADMIN_TOKEN, CONFIG, PASSWORD, WebEnv, web_env

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path, hours_clock=lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)) as e:
        yield e


async def _raw(env: WebEnv, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` as raw bytes (headers a client library would refuse to send)."""
    server = env.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_a_password_with_a_lone_surrogate_is_400_not_500(env: WebEnv):
    # JSON "\ud800" decodes to a lone surrogate that no codec (argon2's UTF-8) can encode.
    body = '{"volunteer_id": "anna", "password": "\\ud800-correct-horse"}'
    resp = await env.client.post(
        "/api/v1/session", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"] == "invalid_field"
    assert env.gateway.logins == []


async def test_a_surrogate_anywhere_in_a_body_is_400(env: WebEnv):
    token = await env.login()
    for body in ('{"reason": "\\udfff"}', '{"\\ud800": 1}'):
        resp = await env.client.post(
            "/api/v1/me/pause",
            data=body,
            headers={"Content-Type": "application/json", **env.bearer(token)},
        )
        assert resp.status == 400, body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("DELETE", "/api/v1/session"),
        ("GET", "/api/v1/live"),
        ("GET", "/api/v1/admin/volunteers"),
        ("GET", "/api/v1/admin/queue"),
        ("GET", "/api/v1/admin/hours"),
    ],
)
@pytest.mark.parametrize("token", [b"\xff\xfe\xfd", b"t\xc3\xb6k\xc3\xa9n", b"\xed\xa0\x80abc"])
async def test_a_non_utf8_or_non_ascii_authorization_header_is_401(env, method, path, token):
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + b"Authorization: Bearer "
        + token
        + b"\r\n\r\n"
    )
    status, body = await _raw(env, request)
    assert status == 401, body


@pytest.mark.parametrize(
    "raw_id", ["²", "١", "%C2%B2", "+1", "-1", "1_0", "0x1", "9" * 19, str(2**31), "9" * 11]
)
async def test_hours_exception_ids_are_decimal_digits_only(env: WebEnv, raw_id):
    resp = await env.client.delete(f"/api/v1/admin/hours/exceptions/{raw_id}", headers=ADMIN)
    assert resp.status == 404, await resp.text()
    assert (await resp.json())["error"] == "not_found"


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00+01:00",
        "9999-12-31T23:59-01:00",
        "1900-01-01T00:00Z",
        "2025-06-02T15:00:00+02:00\n",
        "2025-06-02T15:00:00+02:00\ud800",
    ],
)
async def test_a_start_time_at_the_edge_of_the_calendar_is_400(env: WebEnv, when):
    body = {"kind": "closed", "starts_at": when, "ends_at": "now", "reason": "edge"}
    resp = await env.client.post("/api/v1/admin/hours/exceptions", json=body, headers=ADMIN)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"] == "invalid_field"


@pytest.mark.parametrize("raw_id", ["bob%0A", "%ED%A0%80", "%FF", "B" * 49, "bob%00"])
async def test_admin_volunteer_ids_in_paths_are_checked(env: WebEnv, raw_id):
    for method, path in [
        ("GET", f"/api/v1/admin/volunteers/{raw_id}"),
        ("POST", f"/api/v1/admin/volunteers/{raw_id}/disable"),
        ("POST", f"/api/v1/admin/volunteers/{raw_id}/enable"),
    ]:
        resp = await env.client.request(method, path, headers=ADMIN)
        assert resp.status == 404, (path, await resp.text())


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"],
)
async def test_a_body_that_is_not_application_json_is_415(env: WebEnv, content_type):
    # A web page may post text/plain cross-site without a preflight; we read only JSON.
    body = f'{{"volunteer_id": "anna", "password": "{PASSWORD}"}}'.encode()
    headers = {} if content_type is None else {"Content-Type": content_type}
    resp = await env.client.post("/api/v1/session", data=body, headers=headers)
    if content_type is None:
        resp = await env.client.post(
            "/api/v1/session", data=body, skip_auto_headers=["Content-Type"]
        )
    assert resp.status == 415, await resp.text()
    assert (await resp.json())["error"] == "unsupported_media_type"
    assert env.gateway.logins == []


async def test_application_json_with_a_charset_is_read(env: WebEnv):
    body = f'{{"volunteer_id": "anna", "password": "{PASSWORD}"}}'.encode()
    resp = await env.client.post(
        "/api/v1/session", data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert resp.status == 201


async def test_an_action_without_a_body_needs_no_content_type(env: WebEnv):
    token = await env.login()
    resp = await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
async def test_json_nan_and_infinity_are_not_json(env: WebEnv, text):
    resp = await env.client.post(
        "/api/v1/session",
        data=f'{{"volunteer_id": "anna", "password": {text}}}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_json"


# -- configuration ---------------------------------------------------------------------------


def _config(http: str = "", extra: str = "") -> str:
    return CONFIG.format(admin=http) + extra


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e300"])
def test_session_ttl_must_be_a_finite_bounded_number(value):
    with pytest.raises(ConfigError, match="http.session_ttl_s"):
        parse_config(_config(http=f"session_ttl_s = {value}").replace("session_ttl_s = 3600\n", ""))


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("queue", "ring_timeout_s"),
        ("queue", "wrap_up_s"),
        ("queue", "max_wait_s"),
        ("queue", "language_wait_s"),
        ("redis", "lease_s"),
        ("hours", "refresh_s"),
        ("asterisk", "reconnect_max_s"),
        ("ivr", "comfort_every_s"),
    ],
)
@pytest.mark.parametrize("value", ["inf", "nan", "1e300"])
def test_every_float_in_the_config_is_finite_and_bounded(section, key, value):
    text = _config() + f"\n[{section}]\n{key} = {value}\n"
    if section == "asterisk":
        text = _config().replace("[asterisk]\n", f"[asterisk]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=f"{section}.{key}"):
        parse_config(text)


@pytest.mark.parametrize(("key", "value"), [("max_queue_length", "10000000000")])
def test_config_counts_are_bounded(key, value):
    with pytest.raises(ConfigError, match=f"queue.{key}"):
        parse_config(_config() + f"\n[queue]\n{key} = {value}\n")


@pytest.mark.parametrize("bad_id", ["bob\n", "bob\n\n", "\nbob", "bob\x00"])
def test_a_seed_volunteer_id_with_a_newline_is_refused(bad_id):
    seed = f"\n[[volunteers]]\nid = {json.dumps(bad_id)}\n"
    seed += 'name = "Bob"\nlocation = "utrecht"\npassword = "long-enough-1"\n'
    with pytest.raises(ConfigError, match="volunteers"):
        parse_config(_config() + seed)


@pytest.mark.parametrize("bad_id", ["bob\n", "bob\n\n", "bob\x00", "bób"])
def test_the_directory_refuses_an_id_with_a_newline(tmp_path, bad_id):
    # "bob\n" would write a broken pjsip.conf section and take every phone off the air.
    cfg = parse_config(_config())
    engine = db.make_engine(f"sqlite:///{tmp_path}/v.db")
    db.migrate(engine)
    try:
        directory = VolunteerDirectory.from_config(engine, cfg)
        with pytest.raises(InvalidVolunteer):
            directory.add(bad_id, "Bob", "utrecht", ["phone"], ["nl"], PASSWORD)
        with pytest.raises(InvalidVolunteer):
            directory.add("bob", "Bob", "utrecht\n", ["phone"], ["nl"], PASSWORD)
        with pytest.raises(InvalidVolunteer):
            directory.add("bob", "Bob", "utrecht", ["phone"], ["nl\x00"], PASSWORD)
        assert directory.list() == []
    finally:
        engine.dispose()


async def test_the_api_refuses_a_volunteer_id_with_a_newline(env: WebEnv):
    body = {
        "id": "bob\n",
        "name": "Bob",
        "location": "utrecht",
        "skills": ["phone"],
        "languages": ["nl"],
        "password": PASSWORD,
    }
    resp = await env.client.post("/api/v1/admin/volunteers", json=body, headers=ADMIN)
    assert resp.status == 400, await resp.text()
    assert env.directory.get("bob\n") is None
    assert env.directory.get("bob") is None
