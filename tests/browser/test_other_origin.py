"""A page on another origin, or a copied cookie, cannot act for a signed-in volunteer.

The volunteer signs in in a real Chromium; then a page served from another origin in the same
browser (127.0.0.1 on another port: the same *site*, so the SameSite=Strict cookie does travel)
tries to make them ready and to open their live bus and SIP sockets. The app refuses it all by
Origin and CSRF token; the volunteer's state does not change. The same with the cookie copied
into a client that sends it from elsewhere.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import RunningHelpline, sign_in, status

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

ATTACK = """<!doctype html><meta charset="utf-8"><title>elsewhere</title><script>
window.results = {};
const app = "APP";
fetch(app + "/api/v1/me/ready", {method: "POST", credentials: "include", mode: "no-cors",
  headers: {"content-type": "text/plain"}, body: "{}"})
  .then(() => { window.results.post = "sent"; }, () => { window.results.post = "failed"; });
for (const path of ["/api/v1/live", "/sip"]) {
  const ws = new WebSocket(app.replace("http", "ws") + path, path === "/sip" ? "sip" : undefined);
  ws.onopen = () => { window.results[path] = "open"; };
  ws.onerror = () => { window.results[path] = window.results[path] || "refused"; };
  ws.onclose = () => { window.results[path] = window.results[path] || "refused"; };
}
</script>"""


@pytest.fixture
def elsewhere(helpline: RunningHelpline) -> Iterator[str]:
    """An origin of its own on this host, serving the attacking page."""
    page = ATTACK.replace("APP", helpline.base_url).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's API)
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_another_origin_in_the_same_browser_cannot_act(
    page: Page, helpline: RunningHelpline, elsewhere: str
):
    page.goto(helpline.base_url + "/")
    sign_in(page, "uma")
    expect(page.locator(".state-panel")).to_be_visible()
    assert status(page)["agent"] == "paused"
    other = page.context.new_page()  # a second tab, on the other origin
    other.goto(elsewhere)
    other.wait_for_function(
        "() => window.results.post && window.results['/api/v1/live'] && window.results['/sip']"
    )
    results = other.evaluate("window.results")
    assert results["/api/v1/live"] == "refused" and results["/sip"] == "refused"
    page.wait_for_timeout(500)  # the live bus would have said so by now
    assert status(page)["agent"] == "paused"  # the POST changed nothing


def test_a_copied_cookie_without_its_csrf_token_cannot_act(
    page: Page, helpline: RunningHelpline, elsewhere: str
):
    page.goto(helpline.base_url + "/")
    sign_in(page, "tess")
    expect(page.locator(".state-panel")).to_be_visible()
    cookies = page.context.cookies(helpline.base_url)
    assert cookies and all(c["httpOnly"] and c["sameSite"] == "Strict" for c in cookies)
    jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    request = page.context.request
    # From another origin, and from no origin but without the CSRF token: both refused.
    for headers in ({"origin": elsewhere.rstrip("/")}, {}):
        reply = request.post(
            helpline.base_url + "/api/v1/me/ready",
            headers={"cookie": jar, "content-type": "application/json", **headers},
            data="{}",
        )
        assert reply.status == 403, reply.text()
    assert status(page)["agent"] == "paused"
