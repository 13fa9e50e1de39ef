"""Which Asterisk channels and bridges belong to which contact.

Ids are derived from the contact id, so after a restart the app can find everything again in
Asterisk's own lists: the caller waits in bridge ``hold-<contact>``, talks in ``talk-<contact>``,
and the n-th offer to a volunteer is channel ``vol-<contact>-<n>`` (n is the core's offer token).
Nothing here knows or keeps who the caller is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ivr.flow import IvrCall

_LEG = re.compile(r"^vol-(?P<contact>[0-9a-f-]{36})-(?P<n>[0-9]+)$")
_BRIDGE = re.compile(r"^(?P<kind>hold|talk)-(?P<contact>[0-9a-f-]{36})$")


def hold_bridge_id(contact_id: str) -> str:
    return f"hold-{contact_id}"


def talk_bridge_id(contact_id: str) -> str:
    return f"talk-{contact_id}"


def volunteer_leg_id(contact_id: str, offer_token: int) -> str:
    return f"vol-{contact_id}-{offer_token}"


def parse_leg_id(channel_id: str) -> tuple[str, int] | None:
    """``(contact_id, offer_token)`` for one of our volunteer legs, else ``None``."""
    m = _LEG.match(channel_id)
    return (m["contact"], int(m["n"])) if m else None


def contact_of_playback(playback_id: str) -> str | None:
    """The contact whose IVR started this playback (ids are ``<contact>-p<n>``)."""
    contact_id, sep, _ = playback_id.rpartition("-p")
    return contact_id if sep and len(contact_id) == 36 else None


def parse_bridge_id(bridge_id: str) -> tuple[str, str] | None:
    """``("hold"|"talk", contact_id)`` for one of our bridges, else ``None``."""
    m = _BRIDGE.match(bridge_id)
    return (m["kind"], m["contact"]) if m else None


class Role(str, Enum):
    """What a channel is to us."""

    CALLER = "caller"
    VOLUNTEER = "volunteer"


@dataclass(slots=True)
class ContactCall:
    """The Asterisk side of one phone contact."""

    contact_id: str
    line_id: str
    language: str
    caller_channel: str
    volunteer_leg: str | None = None
    """The leg ringing for, or talking with, the volunteer."""
    agent_id: str | None = None
    overflowing: bool = False
    """The caller hears the overflow message; do not hang up on them early."""
    ivr: IvrCall | None = None
    """What the caller hears until a volunteer takes the call."""
    queued: bool = False
    """Handed to the ACD (and waiting in the holding bridge)."""
    answered: bool = False
    """We answered the caller's channel (only once there is something to hear)."""


class CallRegistry:
    """Lookups in both directions between contacts and channels."""

    def __init__(self) -> None:
        self._calls: dict[str, ContactCall] = {}
        self._channels: dict[str, tuple[Role, str]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._calls

    def add(self, call: ContactCall) -> None:
        self._calls[call.contact_id] = call
        self._channels[call.caller_channel] = (Role.CALLER, call.contact_id)

    def get(self, contact_id: str) -> ContactCall | None:
        return self._calls.get(contact_id)

    def calls(self) -> list[ContactCall]:
        return list(self._calls.values())

    def by_channel(self, channel_id: str) -> tuple[Role, ContactCall] | None:
        found = self._channels.get(channel_id)
        if found is None:
            return None
        call = self._calls.get(found[1])
        return (found[0], call) if call is not None else None

    def set_leg(self, contact_id: str, agent_id: str, leg: str) -> None:
        call = self._calls[contact_id]
        self.clear_leg(contact_id)
        call.volunteer_leg = leg
        call.agent_id = agent_id
        self._channels[leg] = (Role.VOLUNTEER, contact_id)

    def clear_leg(self, contact_id: str) -> str | None:
        call = self._calls.get(contact_id)
        if call is None or call.volunteer_leg is None:
            return None
        leg, call.volunteer_leg, call.agent_id = call.volunteer_leg, None, None
        self._channels.pop(leg, None)
        return leg

    def remove(self, contact_id: str) -> ContactCall | None:
        call = self._calls.pop(contact_id, None)
        if call is not None:
            self._channels.pop(call.caller_channel, None)
            if call.volunteer_leg is not None:
                self._channels.pop(call.volunteer_leg, None)
        return call
