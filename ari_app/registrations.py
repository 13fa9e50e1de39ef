"""Who took a volunteer's phone: telling a second registration from a phone's own.

Asterisk lets a new REGISTER replace a volunteer's registered phone (``max_contacts=1``,
``remove_existing=yes``): refusing it instead left a phone that crashed, or lost its address
when Asterisk restarted, unable to register again until its old contact expired (up to an
hour without calls). Only phones on the location's networks with the account's random SIP
secret get this far; when one replaces another it is reported, so staff can check that the
volunteer moved phones themselves.

Sans-IO: ARI's ``ContactStatusChange`` facts in, "replaced" out. (Measured on Asterisk 22: a
take-over arrives as ``NonQualified`` for the new contact, then ``Removed`` for the old.)
"""

from __future__ import annotations

REPLACED_WITHIN_S = 2.0
"""A contact created this soon after another was removed took its place (Asterisk may report
the removal first)."""


class Registrations:
    """The current contact (URI) of each volunteer's account, as Asterisk reports them."""

    def __init__(self) -> None:
        self._current: dict[str, str] = {}
        self._removed: dict[str, tuple[str, float]] = {}

    def current(self, aor: str) -> str | None:
        """The contact URI registered on ``aor`` now, as far as the events told."""
        return self._current.get(aor)

    def seen(self, aor: str, uri: str, status: str, now: float) -> bool:
        """Record one change; True when a new contact replaced a different live one."""
        if status == "Removed":
            if self._current.get(aor) == uri:
                del self._current[aor]
            self._removed[aor] = (uri, now)
            return False
        old = self._current.get(aor)
        if old == uri:
            return False  # news of the phone's own contact (reachability, a refresh)
        # A contact we did not know: Asterisk reports a new one as ``Created`` or, with no
        # qualify configured (ours), as ``NonQualified``; it may do so before or after the
        # removal of the one it replaces.
        recent = self._removed.pop(aor, None)
        self._current[aor] = uri
        if old is not None:
            return True
        return recent is not None and recent[0] != uri and now - recent[1] <= REPLACED_WITHIN_S
