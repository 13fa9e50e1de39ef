"""``GET /reports``: the supervisors' report page (``softphone/web/reports.html``, built with the
workspace by ``make build-softphone``), served like the workspace page from the app's origin.

The page itself holds nothing: it asks ``GET /api/v1/me`` who is signed in (the workspace's
session cookie) and ``GET /api/v1/reports`` for the reports, which only supervisors get. Call
``install`` after ``softphone.serve.install`` (it reads the bundle's folder and boot data from
there).
"""

from __future__ import annotations

from aiohttp import web

from softphone.serve import BOOT_KEY, BOOT_MARKER, PAGE_HEADERS, STATIC_KEY

PAGE = "reports.html"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reports page not built</title></head>
<body><h1>The report page has not been built</h1>
<p>Run <code>make build-softphone</code> in the repository, then reload this page.</p>
<p lang="nl">De rapportagepagina is nog niet gebouwd: voer <code>make build-softphone</code>
uit en laad de pagina opnieuw.</p></body></html>
"""


def install(app: web.Application) -> None:
    """Add ``GET /reports`` to the volunteer app (after ``softphone.serve.install``)."""
    app.router.add_get("/reports", reports_page)


async def reports_page(request: web.Request) -> web.Response:
    try:
        page = (request.app[STATIC_KEY] / PAGE).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return web.Response(
            status=503,
            text=NOT_BUILT,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store", "Retry-After": "60"},
        )
    boot = f'<script id="boot" type="application/json">{request.app[BOOT_KEY]}</script>'
    page = page.replace(BOOT_MARKER, boot, 1)
    return web.Response(
        text=page, content_type="text/html", charset="utf-8", headers=dict(PAGE_HEADERS)
    )
