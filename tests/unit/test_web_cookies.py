"""Browser sign-in: the session cookie, the CSRF token, the Origin checks and the security
headers (web.browser, web.auth.require_browser_or_bearer).

The test client keeps cookies like a browser (its jar accepts them from 127.0.0.1), so after
``sign_in`` every request it makes carries the session cookie unless it sends its own
``Authorization`` header.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

import acd
from config.addresses import canonical_origin
from config.errors import ConfigError
from config.settings import parse_config
from tests.unit.web_support import ADMIN_TOKEN, CONFIG, PASSWORD, WebEnv, make_config, web_env
from web.auth import Session, csrf_matches
from web.browser import (
    CONTENT_SECURITY_POLICY,
    CSRF_HEADER,
    SECURE_SESSION_COOKIE,
    SESSION_COOKIE,
    BrowserPolicy,
)

FOREIGN = "https://evil.example"


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


async def sign_in(env: WebEnv, volunteer_id: str = "anna", **headers: str) -> dict[str, Any]:
    """Sign in as a browser does (no Authorization header); the cookie lands in the jar."""
    resp = await env.client.post(
        "/api/v1/session",
        json={"volunteer_id": volunteer_id, "password": PASSWORD},
        headers=headers,
    )
    assert resp.status == 201, await resp.text()
    body: dict[str, Any] = await resp.json()
    body["set_cookie"] = resp.headers.getall("Set-Cookie")
    return body


def own_origin(env: WebEnv) -> str:
    return str(env.client.make_url("")).rstrip("/")


def csrf(token: str) -> dict[str, str]:
    return {CSRF_HEADER: token}


def parse_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, attributes by lower-case name) of one Set-Cookie header."""
    first, *attrs = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    out = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        out[key.lower()] = val
    return name, value, out


def ws_handshake(**extra: str) -> dict[str, str]:
    """The headers of a WebSocket upgrade request, sent as a plain GET."""
    return {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        **extra,
    }


# -- signing in ------------------------------------------------------------------------------


async def test_sign_in_sets_an_httponly_strict_cookie_holding_the_session(env: WebEnv):
    body = await sign_in(env)
    [header] = body["set_cookie"]
    name, value, attrs = parse_cookie(header)
    assert name == SESSION_COOKIE and value == body["token"]
    assert "httponly" in attrs and attrs["samesite"] == "Strict" and attrs["path"] == "/"
    assert attrs["max-age"] == "3600"  # [http] session_ttl_s of the test config
    assert "secure" not in attrs  # plain http on 127.0.0.1 (secure_cookies defaults to off)
    assert "domain" not in attrs and "expires" not in attrs
    # A separate random CSRF token, not derived from the session token.
    assert len(body["csrf_token"]) >= 43 and body["csrf_token"] != body["token"]
    assert env.sessions.keys() and len(env.sessions.keys()) == 1


async def test_each_session_has_its_own_csrf_token(env: WebEnv):
    first = await sign_in(env)
    second = await sign_in(env)
    assert first["csrf_token"] != second["csrf_token"]


async def test_a_sign_in_from_another_origin_is_refused(env: WebEnv):
    resp = await env.client.post(
        "/api/v1/session",
        json={"volunteer_id": "anna", "password": PASSWORD},
        headers={"Origin": FOREIGN},
    )
    assert resp.status == 403
    assert (await resp.json())["error"] == "csrf"
    assert "Set-Cookie" not in resp.headers and env.gateway.logins == []
    assert env.sessions.keys() == []
    await sign_in(env, Origin=own_origin(env))  # the page itself may


# -- the cookie authenticates; state changes need the CSRF token -----------------------------


async def test_the_cookie_authenticates_a_get_and_me_returns_the_csrf_token(env: WebEnv):
    body = await sign_in(env)
    resp = await env.client.get("/api/v1/me")
    assert resp.status == 200
    me = await resp.json()
    assert me["volunteer"]["id"] == "anna" and me["csrf_token"] == body["csrf_token"]
    assert (await env.client.get("/api/v1/partners")).status == 200


@pytest.mark.parametrize("token", [None, "", "wrong", "almost"])
async def test_a_cookie_post_without_the_right_csrf_token_is_403_and_changes_nothing(
    env: WebEnv, token: str | None
):
    body = await sign_in(env)
    headers = {} if token is None else csrf(token)
    if token == "almost":
        headers = csrf(body["csrf_token"][:-1])
    events = list(env.gateway.events)
    for path, payload in [("/api/v1/me/ready", {}), ("/api/v1/me/pause", {"reason": "break"})]:
        resp = await env.client.post(path, json=payload, headers=headers)
        assert resp.status == 403, path
        error = await resp.json()
        assert error["error"] == "csrf" and CSRF_HEADER in error["message"]
        assert body["csrf_token"] not in error["message"]
    assert env.gateway.events == events
    assert env.gateway.agent_view("anna")["state"] == "paused"


async def test_a_cookie_post_with_the_right_csrf_token_works(env: WebEnv):
    body = await sign_in(env)
    resp = await env.client.post("/api/v1/me/ready", json={}, headers=csrf(body["csrf_token"]))
    assert resp.status == 200, await resp.text()
    assert env.gateway.events == [acd.AgentReady("anna")]
    assert (await resp.json())["agent"]["state"] == "available"
    # Same origin (the page's fetch) is fine too.
    headers = {**csrf(body["csrf_token"]), "Origin": own_origin(env)}
    resp = await env.client.post("/api/v1/me/pause", json={"reason": "break"}, headers=headers)
    assert resp.status == 200


async def test_another_sessions_csrf_token_does_not_do(env: WebEnv):
    other = await sign_in(env, "sam")  # its cookie is replaced by anna's next
    await sign_in(env)
    resp = await env.client.post("/api/v1/me/ready", json={}, headers=csrf(other["csrf_token"]))
    assert resp.status == 403


@pytest.mark.parametrize("origin", [FOREIGN, "null", "http://127.0.0.1:1", "not a url"])
async def test_a_cookie_post_from_another_origin_is_403_even_with_the_token(
    env: WebEnv, origin: str
):
    body = await sign_in(env)
    headers = {**csrf(body["csrf_token"]), "Origin": origin}
    resp = await env.client.post("/api/v1/me/ready", json={}, headers=headers)
    assert resp.status == 403
    assert (await resp.json())["error"] == "csrf"
    assert env.gateway.events == []


async def test_a_cookie_get_from_another_origin_is_only_a_read(env: WebEnv):
    # Reads carry no CSRF rule (SameSite=Strict keeps the cookie off other sites' requests,
    # and without CORS their scripts cannot read the answer).
    await sign_in(env)
    assert (await env.client.get("/api/v1/me", headers={"Origin": FOREIGN})).status == 200


async def test_bearer_requests_need_no_csrf_token(env: WebEnv):
    token = await env.login()
    env.client.session.cookie_jar.clear()  # an API client: no cookie at all
    resp = await env.client.post("/api/v1/me/ready", headers=env.bearer(token))
    assert resp.status == 200
    # With a cookie as well, the Authorization header alone decides (and needs no token).
    await sign_in(env, "sam")
    resp = await env.client.post(
        "/api/v1/me/pause", json={"reason": "break"}, headers=env.bearer(token)
    )
    assert resp.status == 200
    assert [e.agent_id for e in env.gateway.events] == ["anna", "anna"]


async def test_an_authorization_header_is_never_topped_up_by_the_cookie(env: WebEnv):
    await sign_in(env)
    for auth in ["Bearer nope", "Basic abc", ""]:
        resp = await env.client.get("/api/v1/me", headers={"Authorization": auth})
        assert resp.status == 401, auth


async def test_an_expired_or_unknown_cookie_is_401_not_403(env: WebEnv):
    await sign_in(env)
    [key] = env.sessions.keys()
    await env.sessions.delete(key)
    assert (await env.client.post("/api/v1/me/ready", json={})).status == 401
    assert (await env.client.get("/api/v1/me")).status == 401
    env.client.session.cookie_jar.update_cookies({SESSION_COOKIE: "garbage token!"})
    assert (await env.client.get("/api/v1/me")).status == 401


async def test_a_session_without_a_csrf_token_changes_nothing_by_cookie(env: WebEnv):
    # A session stored before CSRF tokens existed: readable, never a state change by cookie.
    body = await sign_in(env)
    [key] = env.sessions.keys()
    old = await env.sessions.get(key)
    await env.sessions.put(
        key,
        Session(old.volunteer_id, old.location_id, old.created_at, old.credential_version),
        60,
    )
    assert (await (await env.client.get("/api/v1/me")).json())["csrf_token"] == ""
    for token in ["", body["csrf_token"]]:
        assert (await env.client.post("/api/v1/me/ready", headers=csrf(token))).status == 403
    resp = await env.client.post("/api/v1/me/ready", headers=env.bearer(body["token"]))
    assert resp.status == 200


# -- the live WebSocket ----------------------------------------------------------------------


async def test_the_live_socket_accepts_the_cookie_from_the_own_origin(env: WebEnv):
    await sign_in(env)
    ws = await env.client.ws_connect("/api/v1/live", origin=own_origin(env))
    msg = await ws.receive_json(timeout=2)
    assert msg["type"] == "snapshot"
    assert [a["agent_id"] for a in msg["agents"]] == ["anna"]
    await ws.close()


@pytest.mark.parametrize("origin", [FOREIGN, "null"])
async def test_the_live_socket_refuses_another_origin_with_403_json(env: WebEnv, origin: str):
    body = await sign_in(env)
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await env.client.ws_connect("/api/v1/live", origin=origin)
    assert info.value.status == 403
    # The refusal is the API's JSON error, before any upgrade; a bearer token does not help.
    for auth in [{}, env.bearer(body["token"])]:
        resp = await env.client.get("/api/v1/live", headers=ws_handshake(Origin=origin, **auth))
        assert resp.status == 403
        assert (await resp.json())["error"] == "csrf"


async def test_the_live_socket_without_a_session_is_still_401(env: WebEnv):
    resp = await env.client.get("/api/v1/live", headers=ws_handshake(Origin=own_origin(env)))
    assert resp.status == 401


# -- signing out, and a password reset -------------------------------------------------------


async def test_sign_out_clears_the_cookie_and_ends_the_session(env: WebEnv):
    body = await sign_in(env)
    refused = await env.client.delete("/api/v1/session")  # no CSRF token: nothing happens
    assert refused.status == 403 and len(env.sessions.keys()) == 1
    resp = await env.client.delete("/api/v1/session", headers=csrf(body["csrf_token"]))
    assert resp.status == 200
    [header] = resp.headers.getall("Set-Cookie")
    name, value, attrs = parse_cookie(header)
    assert name == SESSION_COOKIE and value in ("", '""')
    assert attrs["max-age"] == "0" and attrs["path"] == "/" and "httponly" in attrs
    assert env.sessions.keys() == []
    assert env.gateway.agent_view("anna") is None  # logged out of the queue too
    assert not env.client.session.cookie_jar.filter_cookies(env.client.make_url("/"))
    # Even a browser that kept the cookie gets nothing with it.
    env.client.session.cookie_jar.update_cookies({SESSION_COOKIE: body["token"]})
    assert (await env.client.get("/api/v1/me")).status == 401


async def test_a_password_reset_ends_the_cookie_session(env: WebEnv):
    body = await sign_in(env)
    resp = await env.admin.post(
        "/api/v1/admin/volunteers/anna/password",
        json={"password": "a brand new password"},
        headers=env.bearer(ADMIN_TOKEN),
    )
    assert resp.status == 200
    assert (await env.client.get("/api/v1/me")).status == 401
    post = await env.client.post("/api/v1/me/ready", headers=csrf(body["csrf_token"]))
    assert post.status == 401
    assert env.sessions.keys() == []  # revoked, not just refused
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await env.client.ws_connect("/api/v1/live", origin=own_origin(env))
    assert info.value.status == 401


# -- security headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz/live"), ("GET", "/api/v1/me"), ("GET", "/nope"), ("POST", "/api/v1/me")],
)
async def test_every_response_carries_the_security_headers(env: WebEnv, method: str, path: str):
    resp = await env.client.request(method, path)
    assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-store"


async def test_the_admin_listener_carries_them_too(env: WebEnv):
    resp = await env.admin.get("/api/v1/admin/queue", headers=env.bearer(ADMIN_TOKEN))
    assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_csp_forbids_inline_code_framing_and_other_origins():
    directives = dict(
        (d.split(" ", 1)[0], d.split(" ", 1)[1]) for d in CONTENT_SECURITY_POLICY.split("; ")
    )
    assert directives == {
        "default-src": "'self'",
        "connect-src": "'self'",
        "img-src": "'self' data:",
        "style-src": "'self'",
        "script-src": "'self'",
        "object-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
    }
    assert "unsafe" not in CONTENT_SECURITY_POLICY


# -- behind TLS: Secure, __Host-, public_origin, X-Forwarded-Proto ---------------------------


async def test_behind_a_tls_proxy_the_cookie_is_secure_and_host_prefixed(tmp_path):
    origin = "https://helpline.example.org"
    async with web_env(tmp_path, http={"public_origin": origin + "/"}) as env:
        assert env.cfg.http.public_origin == origin  # canonical: no trailing slash
        resp = await env.client.post(
            "/api/v1/session",
            json={"volunteer_id": "anna", "password": PASSWORD},
            headers={"Origin": origin},
        )
        assert resp.status == 201
        body = await resp.json()
        name, value, attrs = parse_cookie(resp.headers["Set-Cookie"])
        assert name == SECURE_SESSION_COOKIE and value == body["token"]
        assert "secure" in attrs and attrs["path"] == "/" and "domain" not in attrs
        # The jar keeps a Secure cookie off plain http: send it by hand, as the proxy would.
        cookie = {"Cookie": f"{SECURE_SESSION_COOKIE}={body['token']}"}
        assert (await env.client.get("/api/v1/me", headers=cookie)).status == 200
        # The plain-named cookie (which a sibling subdomain could plant) is not read here.
        plain = {"Cookie": f"{SESSION_COOKIE}={body['token']}"}
        assert (await env.client.get("/api/v1/me", headers=plain)).status == 401
        # Own origin is the configured one, not what the Host header says.
        token = body["csrf_token"]
        for bad in [own_origin(env), "http://helpline.example.org"]:
            headers = {**cookie, **csrf(token), "Origin": bad}
            assert (await env.client.post("/api/v1/me/ready", headers=headers)).status == 403
        headers = {**cookie, **csrf(token), "Origin": "https://HELPLINE.example.org:443"}
        assert (await env.client.post("/api/v1/me/ready", headers=headers)).status == 200
        ws = await env.client.ws_connect("/api/v1/live", origin=origin, headers=cookie)
        assert (await ws.receive_json(timeout=2))["type"] == "snapshot"
        await ws.close()
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await env.client.ws_connect("/api/v1/live", origin=own_origin(env), headers=cookie)


async def test_secure_cookies_forces_secure(tmp_path):
    async with web_env(tmp_path, http={"secure_cookies": True}) as env:
        resp = await env.client.post(
            "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
        )
        name, _, attrs = parse_cookie(resp.headers["Set-Cookie"])
        assert name == SECURE_SESSION_COOKIE and "secure" in attrs


def _request(headers: dict[str, str] | None = None, *, secure: bool = False) -> Any:
    req = make_mocked_request("GET", "/", headers=CIMultiDict(headers or {}))
    if secure:
        req = req.clone(scheme="https")
    return req


def test_x_forwarded_proto_counts_only_when_trusted():
    forwarded = _request({"Host": "helpline.example.org", "X-Forwarded-Proto": "https"})
    untrusting = BrowserPolicy()
    assert untrusting.scheme(forwarded) == "http" and not untrusting.secure(forwarded)
    assert untrusting.own_origin(forwarded) == "http://helpline.example.org"
    trusting = BrowserPolicy(trust_forwarded_proto=True)
    assert trusting.scheme(forwarded) == "https" and trusting.secure(forwarded)
    assert trusting.own_origin(forwarded) == "https://helpline.example.org"
    assert trusting.cookie_name(forwarded) == SECURE_SESSION_COOKIE
    # Garbage in the header: the connection's own scheme.
    odd = _request({"Host": "h.example", "X-Forwarded-Proto": "gopher"})
    assert trusting.scheme(odd) == "http"
    # TLS straight to the app.
    assert BrowserPolicy().secure(_request({"Host": "h.example"}, secure=True))


def test_origin_allowed_compares_canonical_origins():
    policy = BrowserPolicy()
    req = _request({"Host": "127.0.0.1:8080"})
    assert policy.origin_allowed(req)  # no Origin: not a cross-site browser request
    for origin, ok in [
        ("http://127.0.0.1:8080", True),
        ("HTTP://127.0.0.1:8080", True),
        ("http://127.0.0.1:8081", False),
        ("https://127.0.0.1:8080", False),
        ("http://localhost:8080", False),
        ("null", False),
        ("", False),
    ]:
        assert policy.origin_allowed(_request({"Host": "127.0.0.1:8080", "Origin": origin})) is ok
    # A Host header that is no host matches nothing.
    assert not policy.origin_allowed(_request({"Host": "a b", "Origin": "http://a b"}))


def test_csrf_matches_only_the_sessions_own_token():
    session = Session("anna", "utrecht", 0.0, 0, csrf_token="abc123")
    assert csrf_matches(_request({CSRF_HEADER: "abc123"}), session)
    assert not csrf_matches(_request({CSRF_HEADER: "abc124"}), session)
    assert not csrf_matches(_request({}), session)
    assert not csrf_matches(_request({CSRF_HEADER: "abc12é"}), session)
    empty = Session("anna", "utrecht", 0.0, 0)
    assert not csrf_matches(_request({CSRF_HEADER: ""}), empty)


def test_the_csrf_token_survives_the_store_and_old_sessions_have_none():
    session = Session("anna", "utrecht", 1.5, 2, csrf_token="tok")
    assert Session.from_json(session.to_json()) == session
    old = '{"volunteer_id":"anna","location_id":"utrecht","created_at":1,"credential_version":0}'
    assert Session.from_json(old).csrf_token == ""
    with pytest.raises(ValueError):
        Session.from_json(old[:-1] + ',"csrf_token":5}')


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("https://helpline.example.org", "https://helpline.example.org"),
        ("https://Helpline.Example.org:443/", "https://helpline.example.org"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_canonical_origin(text: str, canonical: str):
    assert canonical_origin(text) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "",
        "helpline.example.org",
        "ftp://helpline.example.org",
        "https://helpline.example.org/softphone",
        "https://helpline.example.org?x=1",
        "https://helpline.example.org#x",
        "https://user@helpline.example.org",
        "https://helpline.example.org:99999",
        "https://helpline.example.org:x",
        "https:// helpline.example.org",
        "https://",
    ],
)
def test_not_an_origin(text: str):
    with pytest.raises(ValueError):
        canonical_origin(text)


def test_a_bad_public_origin_is_refused_at_start_with_its_key():
    text = CONFIG.format(admin='public_origin = "https://helpline.example.org/softphone"')
    with pytest.raises(ConfigError, match="http.public_origin"):
        parse_config(text)
    assert make_config().http.public_origin is None
