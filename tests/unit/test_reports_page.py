"""``GET /reports`` (softphone/reports_page.py): the built report page with the boot data and
the page headers, and a 503 page (never a 500) without a build."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from softphone import reports_page, serve
from tests.unit.web_support import FakeGateway, make_config
from web import MemorySessionStore, create_app

PAGE = """<!doctype html><html lang="nl"><head>
<script id="boot" type="application/json">{}</script>
<script defer src="/static/reports.js?v=abc"></script></head><body></body></html>"""


class _NoAccounts:
    def get(self, volunteer_id: str) -> None:
        return None


async def _client(static) -> TestClient[Any, Any]:
    cfg = make_config()
    app = create_app(cfg, _NoAccounts(), FakeGateway(cfg=cfg), MemorySessionStore())
    serve.install(app, cfg, static)
    reports_page.install(app)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_the_report_page_is_served_with_boot_data_and_page_headers(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "reports.html").write_text(PAGE)
    (static / "reports.js").write_text("console.log('rapport');\n")
    client = await _client(static)
    try:
        resp = await client.get("/reports")
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        text = await resp.text()
        boot = re.search(r'<script id="boot" type="application/json">(.*?)</script>', text)
        assert boot is not None and '"utrecht"' in boot.group(1)
        js = await client.get("/static/reports.js")
        assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert (await client.get("/static/reports.html")).status == 404  # only via /reports
    finally:
        await client.close()


async def test_without_a_build_the_report_page_says_how_to_make_one(tmp_path):
    client = await _client(tmp_path / "not-built")
    try:
        resp = await client.get("/reports")
        assert resp.status == 503
        assert "make build-softphone" in await resp.text()
    finally:
        await client.close()
