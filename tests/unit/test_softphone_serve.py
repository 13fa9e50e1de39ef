"""The workspace page, the child's chat page and their assets as the app serves them
(softphone/serve.py): content types, cache and security headers (the chat page's stricter
policy kept), the locations filled in, compressed copies, a 503 page (never a 500) when the
bundle was not built, and nothing outside the bundle reachable."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from softphone import serve
from tests.unit.web_support import FakeGateway, make_config
from web import MemorySessionStore, create_app
from web.browser import CONTENT_SECURITY_POLICY, at_least_as_strict

PAGE = """<!doctype html><html lang="nl"><head>
<script id="boot" type="application/json">{}</script>
<script defer src="/static/app.js?v=abc"></script></head><body></body></html>"""


def _bundle(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text(PAGE)
    (static / "app.js").write_text("console.log('hallo');\n" * 50)
    (static / "app.css").write_text("body { color: #123; }\n")
    (static / "chat.html").write_text(CHAT_PAGE)
    (static / "chat.js").write_text("console.log('chat');\n")
    return static


CHAT_PAGE = """<!doctype html><html lang="nl"><head>
<script id="boot" type="application/json">{}</script>
<script defer src="/static/chat.js?v=abc"></script></head><body></body></html>"""


async def _client(static: Path) -> TestClient[Any, Any]:
    cfg = make_config()
    app = create_app(cfg, _NoAccounts(), FakeGateway(cfg=cfg), MemorySessionStore())
    serve.install(app, cfg, static)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


class _NoAccounts:
    def get(self, volunteer_id: str) -> None:
        return None


async def test_the_page_has_the_locations_and_strict_headers(tmp_path):
    client = await _client(_bundle(tmp_path))
    try:
        resp = await client.get("/")
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.headers["Cache-Control"] == "no-cache"
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        text = await resp.text()
        boot = re.search(r'<script id="boot" type="application/json">(.*?)</script>', text)
        assert boot is not None
        data = json.loads(boot.group(1))
        assert data["locations"] == [
            {"id": "utrecht", "name": "Utrecht"},
            {"id": "almelo", "name": "Almelo"},
        ]
    finally:
        await client.close()


async def test_assets_have_their_types_revalidate_and_come_compressed(tmp_path):
    static = _bundle(tmp_path)
    (static / "app.js.gz").write_bytes(b"\x1f\x8b fake gzip")
    client = await _client(static)
    try:
        resp = await client.get("/static/app.js?v=abc", headers={"Accept-Encoding": "identity"})
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        etag = resp.headers["ETag"]
        again = await client.get(
            "/static/app.js", headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
        )
        assert again.status == 304
        gz = await client.get(
            "/static/app.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        )
        assert gz.headers.get("Content-Encoding") == "gzip"
        assert await gz.read() == b"\x1f\x8b fake gzip"
        css = await client.get("/static/app.css")
        assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    finally:
        await client.close()


async def test_nothing_but_the_bundle_is_served(tmp_path):
    static = _bundle(tmp_path)
    (static / "secret.txt").write_text("no")
    (tmp_path / "outside.js").write_text("no")
    (static / ".hidden.js").write_text("no")
    client = await _client(static)
    try:
        for path in (
            "/static/secret.txt",
            "/static/index.html",
            "/static/.hidden.js",
            "/static/..%2Foutside.js",
            "/static/../outside.js",
            "/static/missing.js",
            "/static/",
        ):
            resp = await client.get(path)
            assert resp.status == 404, path
    finally:
        await client.close()


async def test_without_a_build_the_page_says_how_to_make_one(tmp_path):
    client = await _client(tmp_path / "not-built")
    try:
        resp = await client.get("/")
        assert resp.status == 503
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "make build-softphone" in await resp.text()
        assert (await client.get("/static/app.js")).status == 404
        # The API is unaffected.
        assert (await client.get("/healthz/live")).status == 200
    finally:
        await client.close()
    assert serve.describe_missing(tmp_path / "not-built") is not None
    assert serve.describe_missing(_bundle(tmp_path)) is None


def test_boot_data_cannot_close_its_script_block():
    cfg = make_config()
    loc = cfg.locations[0].model_copy(update={"name": "</script><script>alert(1)</script>"})
    cfg = cfg.model_copy(update={"locations": [loc]})
    text = serve.boot_json(cfg)
    assert "<" not in text and ">" not in text
    assert json.loads(text)["locations"][0]["name"].startswith("</script>")


async def test_the_chat_page_has_its_own_stricter_policy_and_the_quick_exit(tmp_path):
    cfg = make_config()
    client = await _client(_bundle(tmp_path))
    try:
        resp = await client.get("/chat")
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        csp = resp.headers["Content-Security-Policy"]
        assert csp == serve.CHAT_CONTENT_SECURITY_POLICY
        directives = dict(d.split(" ", 1) for d in csp.split("; "))
        assert directives["form-action"] == "'none'"
        assert directives["img-src"] == "'self'"  # not even data:
        assert "unsafe" not in csp
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "microphone=()" in resp.headers["Permissions-Policy"]
        assert "Set-Cookie" not in resp.headers
        text = await resp.text()
        boot = re.search(r'<script id="boot" type="application/json">(.*?)</script>', text)
        assert boot is not None
        data = json.loads(boot.group(1))
        assert data == {
            "quick_exit_url": cfg.chat.quick_exit_url,
            "forum_url": cfg.chat.forum_url,
        }
        # The workspace keeps the app's policy.
        assert (await client.get("/")).headers["Content-Security-Policy"] == (
            CONTENT_SECURITY_POLICY
        )
        assert (await client.get("/static/chat.js")).status == 200
    finally:
        await client.close()


async def test_without_a_build_the_chat_page_is_a_503(tmp_path):
    client = await _client(tmp_path / "not-built")
    try:
        resp = await client.get("/chat")
        assert resp.status == 503
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    finally:
        await client.close()


def test_only_a_stricter_policy_replaces_the_apps():
    assert at_least_as_strict(serve.CHAT_CONTENT_SECURITY_POLICY)
    assert at_least_as_strict(CONTENT_SECURITY_POLICY)
    looser = [
        CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"),
        CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *"),
        # object-src left out falls back to default-src 'self': more than 'none'.
        serve.CHAT_CONTENT_SECURITY_POLICY.replace("; object-src 'none'", ""),
        # frame-ancestors has no default: leaving it out allows any framing.
        serve.CHAT_CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", ""),
        "default-src *",
        "",
    ]
    for policy in looser:
        assert not at_least_as_strict(policy), policy


def test_the_chat_page_leaves_for_the_configured_site():
    cfg = make_config()
    chat = cfg.chat.model_copy(update={"quick_exit_url": "https://example.org/weer</script>"})
    text = serve.chat_boot_json(cfg.model_copy(update={"chat": chat}))
    assert "<" not in text
    assert json.loads(text)["quick_exit_url"] == "https://example.org/weer</script>"
