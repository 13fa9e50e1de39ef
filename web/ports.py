"""What the web layer needs of storage, as a small Protocol: the API depends on this, and the
composition root passes ``storage.volunteers.VolunteerDirectory``, which has it (mypy checks
that where the service and the tests build the app).

Blocking calls (SQL, argon2): handlers run them off the event loop (``asyncio.to_thread`` or
``storage.pools``), never on it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Protocol

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
