"""The volunteer's transfer API: add a partner (Veilig Thuis...) to the child's call.

Only partners in the directory can be added (there is no number to type), only with the child's
consent, and one at a time. The engine carries the transfer out (``AcdGateway.start_transfer``
and ``transfer_step``); what it refuses comes back as ``session.errors.TransferRefused`` and is
mapped by ``web.errors`` (404 for a partner not in the directory, 409 for the rest).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from config.settings import SHORT_ID_LEN, is_identifier
from web.body import read_json
from web.context import ctx
from web.errors import BadRequest, NotFound
from web.volunteer_api import authenticate

routes = web.RouteTableDef()

MODES = ("consult", "direct")
"""``consult``: the child is held while the volunteer talks to the partner alone first;
``direct``: the partner joins the child and the volunteer at once."""
STEPS = ("conference", "leave", "stay", "cancel")
"""What a volunteer may do with a running transfer: join all three, leave the child with the
partner, stay until the end, or cancel (back to the child)."""


@routes.get("/api/v1/partners")
async def list_partners(request: web.Request) -> web.Response:
    """The partner directory, each with whether it is open now."""
    await authenticate(request)
    return web.json_response({"partners": ctx(request).gateway.partners()})


@routes.get("/api/v1/me/transfer")
async def get_transfer(request: web.Request) -> web.Response:
    """The volunteer's current transfer, or null."""
    caller = await authenticate(request)
    return web.json_response({"transfer": caller.ctx.gateway.transfer_view(caller.volunteer.id)})


@routes.post("/api/v1/me/transfer")
async def start_transfer(request: web.Request) -> web.Response:
    """Add a partner to the volunteer's call, with the child's recorded consent."""
    caller = await authenticate(request)
    body = await read_json(request)
    body.only({"partner", "mode", "consent", "region"})
    partner_id = body.string("partner", max_len=64)
    mode = body.string("mode", max_len=16)
    if mode not in MODES:
        raise BadRequest(f"mode: must be one of {', '.join(MODES)}", code="invalid_field")
    if body.opt_bool("consent", False) is not True:
        # Literally true: a referral is made only when the child has said yes to it.
        raise BadRequest(
            "consent: must be true; a referral needs the child's recorded consent",
            code="consent_required",
        )
    region = body.opt_string("region", max_len=64)
    partner = caller.ctx.cfg.partner(partner_id) if _short_id(partner_id) else None
    if partner is None:
        raise NotFound("partner: no such partner in the directory", code="unknown_partner")
    if region is not None and region not in partner.regions:
        raise BadRequest("region: not one of this partner's regions", code="invalid_field")
    transfer = await caller.ctx.gateway.start_transfer(
        caller.volunteer.id, partner.id, mode, region
    )
    return web.json_response({"transfer": transfer})


async def _step(request: web.Request, step: str) -> web.Response:
    caller = await authenticate(request)
    (await read_json(request, allow_empty=True)).only(())
    transfer = await caller.ctx.gateway.transfer_step(caller.volunteer.id, step)
    return web.json_response({"transfer": transfer})


@routes.post("/api/v1/me/transfer/conference")
async def post_conference(request: web.Request) -> web.Response:
    """After the consult: the child joins the volunteer and the partner."""
    return await _step(request, "conference")


@routes.post("/api/v1/me/transfer/leave")
async def post_leave(request: web.Request) -> web.Response:
    """The volunteer leaves; the child and the partner stay connected."""
    return await _step(request, "leave")


@routes.post("/api/v1/me/transfer/stay")
async def post_stay(request: web.Request) -> web.Response:
    """The child asked the volunteer to stay: the volunteer stays until the end."""
    return await _step(request, "stay")


@routes.post("/api/v1/me/transfer/cancel")
async def post_cancel(request: web.Request) -> web.Response:
    """Cancel at any step: the partner is hung up and the volunteer is back with the child."""
    return await _step(request, "cancel")


def _short_id(value: Any) -> bool:
    return is_identifier(value) and len(value) <= SHORT_ID_LEN
