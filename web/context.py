"""What every handler needs, stored once on the application under a typed key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from config.settings import HelplineConfig
from storage.volunteers import VolunteerInfo
from web.auth import SessionStore
from web.browser import BrowserPolicy
from web.gateway import AcdGateway
from web.ports import Accounts

SipChanged = Callable[[], Awaitable[None]]
"""Gives Asterisk the volunteers' current SIP accounts (after a reset, disable or enable)."""


@dataclass(frozen=True, slots=True)
class WebContext:
    """The API's collaborators: configuration, volunteer directory, ACD gateway, sessions."""

    cfg: HelplineConfig
    directory: Accounts
    """The accounts (``storage.volunteers.VolunteerDirectory`` in the service)."""
    gateway: AcdGateway
    sessions: SessionStore
    location_ids: frozenset[str] = field(init=False)
    """The configured location ids, for validating a login's ``location``."""
    sip_changed: SipChanged | None = None
    """Pushes rotated SIP secrets to Asterisk; None where nothing can (unit tests)."""
    browser: BrowserPolicy = field(init=False)
    """The session cookie's and the Origin checks' settings (``[http]``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "location_ids", frozenset(loc.id for loc in self.cfg.locations))
        object.__setattr__(self, "browser", BrowserPolicy.from_config(self.cfg.http))


CTX = web.AppKey("helpline_web_context", WebContext)


def ctx(request: web.Request) -> WebContext:
    """The application's context."""
    return request.app[CTX]


def volunteer_json(info: VolunteerInfo) -> dict[str, object]:
    """A volunteer for API responses: never a password hash or SIP digest."""
    return {
        "id": info.id,
        "name": info.name,
        "location": info.location_id,
        "skills": list(info.skills),
        "languages": list(info.languages),
        "young": info.young,
        "role": info.role,
        "enabled": info.enabled,
        "created_at": info.created_at.isoformat(),
    }
