"""Names of a contact's legs and bridges in Asterisk, derived from the contact id.

After a restart of ours everything is found again in Asterisk's own lists: the caller waits in
bridge ``hold-<contact>`` and talks in ``talk-<contact>``; a leg we dial is
``<role>-<contact>-<n>`` (``vol`` for a volunteer, ``ptn`` for a partner, ``sup`` for a
supervisor; ``n`` distinguishes successive legs of one role, for volunteers the core's offer
token). The caller's own channel keeps the id Asterisk gave it. Nothing here knows who the
caller is.
"""

from __future__ import annotations

import re
from enum import Enum


class LegRole(str, Enum):
    """What a leg is to the contact."""

    CALLER = "caller"
    VOLUNTEER = "volunteer"
    PARTNER = "partner"
    SUPERVISOR = "supervisor"


_PREFIX = {LegRole.VOLUNTEER: "vol", LegRole.PARTNER: "ptn", LegRole.SUPERVISOR: "sup"}
_ROLE_OF_PREFIX = {prefix: role for role, prefix in _PREFIX.items()}
_LEG = re.compile(r"^(?P<prefix>vol|ptn|sup)-(?P<contact>[0-9a-f-]{36})-(?P<n>[0-9]+)$")
_BRIDGE = re.compile(r"^(?P<kind>hold|talk)-(?P<contact>[0-9a-f-]{36})$")


def leg_id(role: LegRole, contact_id: str, n: int) -> str:
    """The channel id of the ``n``-th leg of ``role`` that we dial for this contact."""
    if role is LegRole.CALLER:
        raise ValueError("the caller's channel id is Asterisk's, not ours")
    return f"{_PREFIX[role]}-{contact_id}-{n}"


def parse_leg_id(channel_id: str) -> tuple[LegRole, str, int] | None:
    """``(role, contact_id, n)`` for a leg we dialled, else ``None``."""
    m = _LEG.match(channel_id)
    return (_ROLE_OF_PREFIX[m["prefix"]], m["contact"], int(m["n"])) if m else None


def hold_bridge_id(contact_id: str) -> str:
    """Where the caller waits (holding bridge, music on hold)."""
    return f"hold-{contact_id}"


def talk_bridge_id(contact_id: str) -> str:
    """Where the parties talk (mixing bridge)."""
    return f"talk-{contact_id}"


def parse_bridge_id(bridge_id: str) -> tuple[str, str] | None:
    """``("hold"|"talk", contact_id)`` for one of our bridges, else ``None``."""
    m = _BRIDGE.match(bridge_id)
    return (m["kind"], m["contact"]) if m else None


def contact_of_playback(playback_id: str) -> str | None:
    """The contact whose IVR started this playback (ids are ``<contact>-p<n>``)."""
    contact_id, sep, _ = playback_id.rpartition("-p")
    return contact_id if sep and len(contact_id) == 36 else None
