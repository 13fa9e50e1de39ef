"""``GET /api/v1/openapi.yaml``: the API's OpenAPI document, as kept in the repository.

The document (``web/openapi.yaml``) is written by hand; ``tests/unit/test_openapi.py`` proves
it names exactly the app's routes, and the fuzz test checks the app against it.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

routes = web.RouteTableDef()

DOCUMENT = "openapi.yaml"


def document() -> bytes:
    """The OpenAPI document's bytes (read from the installed package)."""
    return resources.files(__package__).joinpath(DOCUMENT).read_bytes()


@routes.get("/api/v1/openapi.yaml")
async def get_openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3 document of this API (public: it describes, it holds no data)."""
    return web.Response(body=document(), content_type="application/yaml", charset="utf-8")
