"""Serve the volunteer's workspace (the browser softphone) and the child's chat page from the
app's own origin.

``make build-softphone`` bundles ``softphone/web`` into ``softphone/static`` (``index.html``,
``app.js``, ``app.css``; ``chat.html``, ``chat.js``, ``chat.css``; and their compressed
copies). ``install`` adds ``GET /`` (the page, with the locations for the sign-in form filled
in), ``GET /chat`` (the child's page, under a stricter Content-Security-Policy of its own) and
``GET /static/{name}`` to the volunteer app. One origin for the pages, the API, the live bus
and the SIP WebSocket: no CORS, and the session cookie never leaves it.

Without a build, ``/`` answers a short 503 page that says how to build it, never a 500.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiohttp import web

from config.settings import HelplineConfig

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where ``make build-softphone`` writes the bundle (gitignored)."""

ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
"""What ``/static/`` serves, by suffix: the bundle and nothing else (no directory listing,
no source maps, no dotfiles)."""

_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\.[a-z0-9]{1,8}")

# The Content-Security-Policy, nosniff and Referrer-Policy come from the web layer
# (web.browser.add_security_headers, on every response of the app); these add what only the
# page needs.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",  # for browsers that predate CSP frame-ancestors
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    # Always revalidated: a new build reaches every browser at its next load.
    "Cache-Control": "no-cache",
}
BOOT_MARKER = '<script id="boot" type="application/json">{}</script>'

CHAT_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    )
)
"""The child's page: nothing from anywhere but this origin (no font, image or script of a
third party, so nobody else learns that a child opened it), no form posted anywhere (the page
talks to the API with fetch and one WebSocket), never framed. Stricter than the app's
(``web.browser``), which keeps it because it is."""

CHAT_PAGE_HEADERS = {
    "Content-Security-Policy": CHAT_CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    # No microphone, camera or place: the chat is text only.
    "Permissions-Policy": "microphone=(), camera=(), geolocation=()",
    # Never kept: a shared or family device must not show the page from a cache.
    "Cache-Control": "no-store",
}

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workspace not built</title></head>
<body>
<h1>The volunteer's workspace has not been built</h1>
<p>Run <code>make build-softphone</code> (or <code>make up</code>) in the repository, then reload
this page. The HTTP API is running; only the page is missing.</p>
<p lang="nl">De werkplek is nog niet gebouwd: voer <code>make build-softphone</code> uit en laad
de pagina opnieuw.</p>
</body></html>
"""

STATIC_KEY = web.AppKey("softphone_static", Path)
BOOT_KEY = web.AppKey("softphone_boot", str)
CHAT_BOOT_KEY = web.AppKey("softphone_chat_boot", str)


def boot_json(cfg: HelplineConfig) -> str:
    """What the sign-in form needs before anyone is signed in: the helpline's name and its
    locations (ids and names; nothing else of the configuration). Escaped for a ``<script>``
    data block."""
    data = {
        "helpline": cfg.helpline.name,
        "locations": [{"id": loc.id, "name": loc.name} for loc in cfg.locations],
    }
    return _script_json(data)


def chat_boot_json(cfg: HelplineConfig) -> str:
    """What the child's page needs before its first request: where the quick exit goes (it
    must work even when the API does not answer) and the forum. Nothing else."""
    data = {"quick_exit_url": cfg.chat.quick_exit_url, "forum_url": cfg.chat.forum_url}
    return _script_json(data)


def _script_json(data: object) -> str:
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    # "</script>" or "<!--" inside the JSON must not end or confuse the data block.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def install(app: web.Application, cfg: HelplineConfig, static_dir: Path | None = None) -> None:
    """Add the page and its assets to the volunteer app (``web.create_app``'s)."""
    app[STATIC_KEY] = static_dir or STATIC_DIR
    app[BOOT_KEY] = boot_json(cfg)
    app[CHAT_BOOT_KEY] = chat_boot_json(cfg)
    app.router.add_get("/", index)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/wallboard", wallboard)
    app.router.add_get("/static/{name}", asset)


async def index(request: web.Request) -> web.Response:
    return _page(request, "index.html")


async def wallboard(request: web.Request) -> web.Response:
    """The supervisors' wallboard (the page signs in like the workspace; its figures come
    from the live bus, for supervisor sessions only)."""
    return _page(request, "wallboard.html")


def _page(
    request: web.Request,
    name: str,
    boot_key: web.AppKey[str] = BOOT_KEY,
    headers: dict[str, str] = PAGE_HEADERS,
) -> web.Response:
    static = request.app[STATIC_KEY]
    try:
        page = (static / name).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return web.Response(
            status=503,
            text=NOT_BUILT,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store", "Retry-After": "60"},
        )
    boot = f'<script id="boot" type="application/json">{request.app[boot_key]}</script>'
    page = page.replace(BOOT_MARKER, boot, 1)
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=dict(headers))


async def chat_page(request: web.Request) -> web.Response:
    """The child's chat page, under its own stricter headers. Not built: the same short 503."""
    return _page(request, "chat.html", CHAT_BOOT_KEY, CHAT_PAGE_HEADERS)


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = ASSET_TYPES.get(Path(name).suffix)
    if content_type is None or _ASSET_NAME.fullmatch(name) is None:
        raise web.HTTPNotFound()
    path = request.app[STATIC_KEY] / name
    if not path.is_file():
        raise web.HTTPNotFound()
    # FileResponse answers If-None-Match/If-Modified-Since with a 304 and serves the .br/.gz
    # copy the build wrote beside the file when the browser accepts it.
    return web.FileResponse(
        path,
        headers={
            "Content-Type": content_type,
            "Cache-Control": "no-cache",
        },
    )


def describe_missing(static_dir: Path | None = None) -> str | None:
    """A sentence for ``helpline up``/``run`` when the page is not built, else None."""
    if ((static_dir or STATIC_DIR) / "index.html").is_file():
        return None
    return "the volunteer's workspace is not built: run `make build-softphone`"
