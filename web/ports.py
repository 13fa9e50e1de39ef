"""What the web layer needs of storage and of the browser phone's edge, as small Protocols: the
API depends on these, and the composition root passes ``storage.volunteers.VolunteerDirectory``
and ``helpline.sip_edge.WebSipAccess``, which have them (mypy checks that where the service and
the tests build the app).

Blocking calls (SQL, argon2): handlers run them off the event loop (``asyncio.to_thread`` or
``storage.pools``), never on it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from typing import Protocol

from aiohttp import web

from storage.volunteers import VolunteerInfo


class Accounts(Protocol):
    """Volunteer, supervisor and admin accounts."""

    def get(self, volunteer_id: str) -> VolunteerInfo | None:
        """The account, or None if there is none."""
        ...

    def require(self, volunteer_id: str) -> VolunteerInfo:
        """The account; ``UnknownVolunteer`` if there is none."""
        ...

    def list(self, enabled_only: bool = False) -> builtins.list[VolunteerInfo]: ...

    def add(
        self,
        volunteer_id: str,
        name: str,
        location: str,
        skills: str | Iterable[str],
        languages: str | Iterable[str],
        password: str,
        young: bool = False,
        role: str = "volunteer",
    ) -> VolunteerInfo:
        """A new account; ``InvalidVolunteer``/``VolunteerExists`` say why not."""
        ...

    def disable(self, volunteer_id: str) -> None: ...

    def enable(self, volunteer_id: str) -> None: ...

    def set_role(self, volunteer_id: str, role: str) -> None: ...

    def set_password(self, volunteer_id: str, password: str) -> None:
        """New password (argon2): rotates the SIP secret and ends every session."""
        ...

    def verify_password(self, volunteer_id: str, password: str) -> bool:
        """Whether the password is right for an enabled account (slow on purpose)."""
        ...


class SipGrant(Protocol):
    """A browser phone's SIP credential for one web session."""

    @property
    def password(self) -> str: ...

    @property
    def expires_at(self) -> float:
        """Unix time: the web session's end, and the credential's."""
        ...


class SipAccess(Protocol):
    """The browser phones' short-lived SIP credentials (``softphone.sip_credentials``).

    ``credential`` raises ``web.errors.SipUnavailable`` when no credential can be pushed from
    this process now (a standby, Asterisk away); the caller has checked that the account is a
    browser phone.
    """

    async def credential(self, volunteer_id: str, session_key: str, expires_at: float) -> SipGrant:
        """The session's credential, minted and pushed to Asterisk on first use."""
        ...

    async def session_ended(self, volunteer_id: str, session_key: str) -> None:
        """Sign-out: the session's credential and ``/sip`` sockets end now."""
        ...

    def serving(self) -> bool:
        """Whether this process talks to Asterisk (``/sip`` is proxied only then)."""
        ...

    def watch(
        self, volunteer_id: str, session_key: str, close: Callable[[], None]
    ) -> Callable[[], None]:
        """Have ``close`` called when the session's credential is revoked; returns the
        function that stops watching."""
        ...

    def sockets(self, volunteer_id: str) -> int:
        """How many ``/sip`` sockets of the volunteer are open in this process."""
        ...


SIP_ACCESS = web.AppKey("helpline_sip_access", SipAccess)
"""Where ``create_app`` keeps the browser phones' access (absent: no browser phones here)."""
