"""Names of a contact's legs and bridges in Asterisk, derived from the contact id.

After a restart of ours everything is found again in Asterisk's own lists: the caller waits in
bridge ``hold-<contact>`` and talks in ``talk-<contact>``; a leg we dial is
``<role>-<contact>-<n>`` (``vol`` for a volunteer, ``ptn`` for a partner, ``sup`` for a
supervisor; ``n`` distinguishes successive legs of one role, for volunteers the core's offer
token). A partner's leg also carries the transfer's facts, ``.<mode>.<partner>.<region>``, so
a transfer in progress is rebuilt from Asterisk's channel list alone after a restart of ours.
The caller's own channel keeps the id Asterisk gave it. Nothing here knows who the caller is.

Coaching (``session.coaching``) adds a supervisor's leg (``sup-<contact>-<n>``), the snoop
channel on the volunteer's leg (``spy-<contact>-<n>``) and the bridge where the supervisor
hears it (``coach-<contact>``); reconciliation after a restart of ours ends a coaching by
these names rather than rebuilding it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class LegRole(str, Enum):
    """What a leg is to the contact."""

    CALLER = "caller"
    VOLUNTEER = "volunteer"
    PARTNER = "partner"
    SUPERVISOR = "supervisor"


_PREFIX = {LegRole.VOLUNTEER: "vol", LegRole.PARTNER: "ptn", LegRole.SUPERVISOR: "sup"}
_ROLE_OF_PREFIX = {prefix: role for role, prefix in _PREFIX.items()}
_LEG = re.compile(
    r"^(?P<prefix>vol|ptn|sup)-(?P<contact>[0-9a-f-]{36})-(?P<n>[0-9]{1,9})"
    r"(?:\.(?P<mode>[cd])\.(?P<partner>[a-z0-9][a-z0-9_-]{0,31})\.(?P<region>[a-z0-9_-]{0,32}))?$"
)
_MODES = {"c": "consult", "d": "direct"}
_BRIDGE = re.compile(r"^(?P<kind>hold|talk)-(?P<contact>[0-9a-f-]{36})$")


def leg_id(role: LegRole, contact_id: str, n: int) -> str:
    """The channel id of the ``n``-th leg of ``role`` that we dial for this contact."""
    if role is LegRole.CALLER:
        raise ValueError("the caller's channel id is Asterisk's, not ours")
    return f"{_PREFIX[role]}-{contact_id}-{n}"


def parse_leg_id(channel_id: str) -> tuple[LegRole, str, int] | None:
    """``(role, contact_id, n)`` for a leg we dialled, else ``None``."""
    m = _LEG.match(channel_id)
    if m is None or (m["mode"] is not None and m["prefix"] != "ptn"):
        return None
    return _ROLE_OF_PREFIX[m["prefix"]], m["contact"], int(m["n"])


@dataclass(frozen=True, slots=True)
class PartnerLegFacts:
    """What a partner leg's id says about its transfer."""

    contact_id: str
    n: int
    mode: str
    """``consult`` or ``direct``."""
    partner_id: str
    region: str | None


def partner_leg_id(contact_id: str, n: int, mode: str, partner_id: str, region: str | None) -> str:
    """The channel id of the ``n``-th partner leg of a contact, with its transfer's facts."""
    code = next((k for k, v in _MODES.items() if v == mode), None)
    channel_id = f"{_PREFIX[LegRole.PARTNER]}-{contact_id}-{n}.{code}.{partner_id}.{region or ''}"
    if code is None or partner_leg_facts(channel_id) is None:
        raise ValueError(f"cannot name a partner leg for {partner_id!r}/{region!r}/{mode!r}")
    return channel_id


def partner_leg_facts(channel_id: str) -> PartnerLegFacts | None:
    """The facts in a partner leg's id, else ``None`` (not a partner leg, or an old form)."""
    m = _LEG.match(channel_id)
    if m is None or m["prefix"] != "ptn" or m["mode"] is None:
        return None
    region = m["region"] or None
    return PartnerLegFacts(m["contact"], int(m["n"]), _MODES[m["mode"]], m["partner"], region)


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


_SNOOP = re.compile(r"^spy-(?P<contact>[0-9a-f-]{36})-(?P<n>[0-9]{1,9})$")
_COACH = re.compile(r"^coach-(?P<contact>[0-9a-f-]{36})$")


def snoop_id(contact_id: str, n: int) -> str:
    """The ``n``-th snoop channel on a contact's volunteer leg (a coaching's ear and mouth)."""
    return f"spy-{contact_id}-{n}"


def coach_bridge_id(contact_id: str) -> str:
    """Where a listening or whispering supervisor meets the snoop channel (mixing bridge)."""
    return f"coach-{contact_id}"


def contact_of_coaching(resource_id: str) -> str | None:
    """The contact of a snoop channel or a coach bridge, else ``None``."""
    m = _SNOOP.match(resource_id) or _COACH.match(resource_id)
    return m["contact"] if m else None


def contact_of_playback(playback_id: str) -> str | None:
    """The contact whose IVR started this playback (ids are ``<contact>-p<n>``)."""
    contact_id, sep, _ = playback_id.rpartition("-p")
    return contact_id if sep and len(contact_id) == 36 else None
