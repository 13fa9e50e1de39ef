"""The wrap-up form: what it offers, the volunteer's last contact pre-filled, and saving it.

``GET /api/v1/workspace`` gives the configured lists (pause reasons; contact types, topics, age
bands and genders of the anonymous registration) with labels in the language asked for.
``GET /api/v1/me/registration`` is the form for the volunteer's last contact (from the
engine's memory: ``AcdGateway.last_contact``, seeded from the contact records when the process
becomes the writer); ``POST`` saves it and ends wrap-up.

A volunteer registers only their own recent contacts: a call from its end until they answer their
next contact, a chat (they hold several at once) until its window closes; at most
``[registration] window_min`` minutes after the end (409 otherwise). A second save
within that time replaces the first. Every value is a configured id (400 naming the field);
free text only in ``notes``, only where the helpline enabled them (400 otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

import acd
from config.registration import NOTES_MAX_LEN, Choice, RegistrationSection, WorkspaceSection
from storage.errors import InvalidRegistration, RegistrationConflict, RegistrationsUnavailable
from storage.registrations import MAX_TOPICS, Registration, RegistrationStore
from web.body import read_json
from web.errors import ApiError, BadRequest, Conflict
from web.volunteer_api import Caller, authenticate

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

_FIELDS = {"contact_id", "contact_type", "topics", "age_band", "gender", "notes"}


class RegistrationsUnavailableError(ApiError):
    """Registrations cannot be read or saved here now (no store, or the database failed)."""

    status = 503
    code = "unavailable"


@dataclass(frozen=True, slots=True)
class RegistrationWeb:
    """What the registration routes need besides the context: the store and a clock."""

    store: RegistrationStore | None
    clock: Callable[[], float] = time.time
    """Unix seconds, the engine's clock: contacts' ``ended_at`` are compared with it."""


REGISTRATIONS = web.AppKey("helpline_registrations", RegistrationWeb)


def install(
    app: web.Application,
    store: RegistrationStore | None,
    *,
    clock: Callable[[], float] = time.time,
) -> None:
    """Add the routes; without a store the form's routes answer 503 (the workspace works)."""
    app[REGISTRATIONS] = RegistrationWeb(store, clock)
    app.add_routes(routes)


def _choices(choices: list[Choice], lang: str) -> list[dict[str, str]]:
    return [{"id": c.id, "label": c.label(lang)} for c in choices]


def workspace_json(
    registration: RegistrationSection, workspace: WorkspaceSection, lang: str
) -> dict[str, Any]:
    """The workspace's lists with their labels in ``lang`` (a workspace language)."""
    return {
        "language": lang,
        "languages": list(workspace.languages),
        "pause_reasons": _choices(workspace.pause_reasons, lang),
        "registration": {
            "contact_types": _choices(registration.contact_types, lang),
            "topics": [
                {
                    "id": t.id,
                    "label": t.label(lang),
                    "children": [
                        {"id": t.qualified(c), "label": c.label(lang)} for c in t.children
                    ],
                }
                for t in registration.topics
            ],
            "age_bands": _choices(registration.age_bands, lang),
            "genders": _choices(registration.genders, lang),
            "notes_enabled": registration.notes_enabled,
            "notes_retention_days": registration.retention_days,
            "notes_max_length": NOTES_MAX_LEN if registration.notes_enabled else None,
            "max_topics": MAX_TOPICS,
        },
    }


@routes.get("/api/v1/workspace")
async def get_workspace(request: web.Request) -> web.Response:
    """Pause reasons and the registration form's lists, labelled in ``?lang=`` (default:
    the first workspace language)."""
    caller = await authenticate(request)
    cfg = caller.ctx.cfg
    languages = cfg.workspace.languages
    lang = request.query.get("lang", languages[0])
    if lang not in languages:
        raise BadRequest(f"lang: must be one of {', '.join(languages)}", code="invalid_field")
    return web.json_response(workspace_json(cfg.registration, cfg.workspace, lang))


def _registrations(request: web.Request) -> tuple[RegistrationWeb, RegistrationStore]:
    reg = request.app[REGISTRATIONS]
    if reg.store is None:
        raise RegistrationsUnavailableError("registrations are not kept here")
    return reg, reg.store


def _last_contact(caller: Caller, contact_id: str | None = None) -> dict[str, Any] | None:
    return caller.ctx.gateway.last_contact(caller.volunteer.id, contact_id)


def _open_until(caller: Caller, last: dict[str, Any]) -> float:
    return float(last["ended_at"]) + caller.ctx.cfg.registration.window_min * 60.0


def _is_open(caller: Caller, last: dict[str, Any], now: float) -> bool:
    """The form of ``last`` may still be saved: no next contact answered, within the window."""
    return not last["next_answered"] and now <= _open_until(caller, last)


async def _read(store: RegistrationStore, contact_id: str) -> Registration | None:
    try:
        return await asyncio.to_thread(store.get, contact_id)
    except RegistrationsUnavailable as exc:
        log.warning("%s", exc)
        raise RegistrationsUnavailableError("registrations are unavailable; try again") from exc


def saved_json(reg: Registration) -> dict[str, Any]:
    """A saved registration, for the volunteer who made it."""
    return {
        "contact_type": reg.contact_type,
        "topics": list(reg.topics),
        "age_band": reg.age_band,
        "gender": reg.gender,
        "notes": reg.notes,
        "saved_at": reg.saved_at.isoformat() if reg.saved_at is not None else None,
    }


@routes.get("/api/v1/me/registration")
async def get_registration(request: web.Request) -> web.Response:
    """The form for the volunteer's last contact (or ``?contact_id=``, one of their recent
    contacts: a volunteer ends several chats), or null when there is none to register."""
    caller = await authenticate(request)
    reg, store = _registrations(request)
    wanted = request.query.get("contact_id")
    if wanted is not None and not 0 < len(wanted) <= 64:
        raise BadRequest("contact_id: 1 to 64 characters", code="invalid_field")
    last = _last_contact(caller, wanted)
    if last is None or not _is_open(caller, last, reg.clock()):
        return web.json_response(None)
    saved = await _read(store, last["contact_id"])
    if saved is not None and saved.volunteer_id != caller.volunteer.id:
        saved = None  # never someone else's answers (cannot happen: one handler per contact)
    return web.json_response(
        {
            "contact_id": last["contact_id"],
            "channel": last["channel"],
            "line_id": last["line_id"],
            "language": last["language"],
            "referral": last["referral"],
            "saved": saved is not None,
            "wrap_until": last["wrap_until"],
            "ended_at": last["ended_at"],
            "open_until": _open_until(caller, last),
            "registration": saved_json(saved) if saved is not None else None,
        }
    )


@routes.post("/api/v1/me/registration")
async def post_registration(request: web.Request) -> web.Response:
    """Save the registration of the volunteer's last contact, then end their wrap-up."""
    caller = await authenticate(request)
    reg, store = _registrations(request)
    body = await read_json(request)
    body.only(_FIELDS)
    contact_id = body.string("contact_id", max_len=64)
    contact_type = body.string("contact_type", max_len=64)
    topics = body.string_list("topics", max_items=MAX_TOPICS, max_len=80)
    age_band = body.string("age_band", max_len=64)
    gender = body.string("gender", max_len=64)
    notes = body.opt_string("notes", max_len=NOTES_MAX_LEN)
    if notes is not None and not caller.ctx.cfg.registration.notes_enabled:
        raise BadRequest("notes: notes are not enabled on this helpline", code="notes_disabled")
    wanted = Registration(
        contact_id, caller.volunteer.id, contact_type, tuple(topics), age_band, gender, notes
    )
    try:
        wanted = store.check(wanted)  # memory only: every id against the configuration
    except InvalidRegistration as exc:
        raise BadRequest(str(exc), code="invalid_field") from None

    last = _last_contact(caller, contact_id)
    if last is None or last["contact_id"] != contact_id:
        raise Conflict("contact_id: not your last contact", code="not_your_last_contact")
    if not _is_open(caller, last, reg.clock()):
        raise Conflict(
            "the time to register this contact is over (a next contact was answered, or "
            f"{caller.ctx.cfg.registration.window_min} minutes passed)",
            code="registration_closed",
        )
    now = reg.clock()
    try:
        await asyncio.to_thread(store.save, wanted, datetime.fromtimestamp(now, UTC))
    except RegistrationConflict:
        raise Conflict(
            "contact_id: registered by another volunteer", code="not_your_last_contact"
        ) from None
    except RegistrationsUnavailable as exc:
        log.warning("%s", exc)
        raise RegistrationsUnavailableError("registrations are unavailable; try again") from exc
    await _end_wrap_up(caller)
    return web.json_response(
        {"saved": True, "agent": caller.ctx.gateway.agent_view(caller.volunteer.id)}, status=201
    )


async def _end_wrap_up(caller: Caller) -> None:
    """The form is done: end wrap-up before its timer, if it has not ended already."""
    gateway = caller.ctx.gateway
    agent = gateway.agent_view(caller.volunteer.id)
    if agent is None or agent.get("state") != acd.AgentState.WRAP_UP.value:
        return  # the timer ended it (or they paused, logged out...): nothing to do
    try:
        await gateway.submit(acd.WrapUpEnded(caller.volunteer.id))
    except (acd.IllegalTransition, acd.UnknownAgent):
        pass  # the timer was quicker, between the look and the request
