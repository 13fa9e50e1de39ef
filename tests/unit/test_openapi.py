"""The OpenAPI document (web/openapi.yaml) names exactly the app's routes, and is served."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from tests.unit.web_support import WebEnv, web_env
from web import openapi

DOC_PATH = Path(openapi.__file__).with_name(openapi.DOCUMENT)
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path, hours_clock=lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)) as e:
        yield e


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route (HEAD twins of GETs left out)."""
    out = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        out.add((route.method, route.resource.canonical))
    return out


def doc_routes(doc: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_document_is_openapi_3():
    doc = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                assert op.get("operationId"), (method, path)
                assert op.get("responses"), (method, path)


async def test_the_document_names_exactly_the_apps_routes(env: WebEnv):
    doc = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
    # The admin routes are on their own listener; the document covers both.
    assert app_routes(env.client.app) | app_routes(env.admin.app) == doc_routes(doc)
    assert not {r for r in app_routes(env.client.app) if r[1].startswith("/api/v1/admin/")}


async def test_authenticated_operations_name_their_security(env: WebEnv):
    doc = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
    public = {("GET", "/healthz"), ("GET", "/healthz/live"), ("GET", "/healthz/ready")}
    public |= {("GET", "/api/v1/openapi.yaml"), ("POST", "/api/v1/session")}
    # The child has no account: the chat token, or nothing before there is a chat.
    public |= {("GET", "/api/v1/chat/status"), ("POST", "/api/v1/chat"), ("GET", "/api/v1/chat/ws")}
    assert doc["paths"]["/api/v1/chat/survey"]["post"]["security"] == [{"chatToken": []}]
    public |= {("POST", "/api/v1/chat/survey")}
    for method, path in doc_routes(doc) - public:
        security = doc["paths"][path][method.lower()].get("security")
        # A volunteer route takes the bearer token or the session cookie (web.auth).
        expected = (
            [{"admin": []}]
            if path.startswith("/api/v1/admin/")
            else [{"session": []}, {"cookieAuth": []}]
        )
        assert security == expected, (method, path)


async def test_cookie_state_changes_document_the_csrf_header_and_403(env: WebEnv):
    doc = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
    csrf = {"$ref": "#/components/parameters/CsrfToken"}
    for method, path in doc_routes(doc):
        op = doc["paths"][path][method.lower()]
        if {"cookieAuth": []} in op.get("security", []) and method != "GET":
            assert csrf in op.get("parameters", []), (method, path)
            assert "403" in op["responses"], (method, path)


async def test_the_document_is_served(env: WebEnv):
    resp = await env.client.get("/api/v1/openapi.yaml")
    assert resp.status == 200
    assert resp.content_type == "application/yaml"
    assert await resp.read() == DOC_PATH.read_bytes()
