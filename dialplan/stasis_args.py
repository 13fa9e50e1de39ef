"""The ``Stasis()`` argument contract, shared by ``dialplan/`` (which writes it) and ``ari_app/``.

Every channel that enters our ARI application carries a small list of arguments telling what it
is. The dialplan puts them there for inbound calls (``Stasis(helpline,inbound,<line_id>)``); the
ARI app puts them there itself when it originates a leg to a volunteer (``appArgs``). Both sides
go through ``encode``/``decode`` here, so the format has one definition.

The arguments never carry anything about the caller: only our own identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialplan.errors import InvalidStasisArgs

# Our identifiers: config ids ("116111", "0800-0432") and generated ids (uuid hex, uuid4 str).
# No commas (the dialplan's argument separator), no spaces, nothing that needs quoting.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

INBOUND = "inbound"
VOLUNTEER = "volunteer"
COACH = "coach"


@dataclass(frozen=True, slots=True)
class InboundCall:
    """A caller's channel, sent to Stasis by the dialplan after its caller ID was removed."""

    line_id: str
    """Which configured line (``cfg.lines[].id``) the caller dialled."""

    def __post_init__(self) -> None:
        _check_id("line_id", self.line_id)


@dataclass(frozen=True, slots=True)
class VolunteerLeg:
    """An outbound leg the ARI app originated to a volunteer's phone, for one contact."""

    contact_id: str
    """The ACD's contact this leg offers."""

    def __post_init__(self) -> None:
        _check_id("contact_id", self.contact_id)


@dataclass(frozen=True, slots=True)
class CoachLeg:
    """A snoop channel the ARI app made on a volunteer's leg, for a supervisor's coaching."""

    contact_id: str
    """The contact whose call is coached."""

    def __post_init__(self) -> None:
        _check_id("contact_id", self.contact_id)


StasisArgs = InboundCall | VolunteerLeg | CoachLeg


def encode(args: StasisArgs) -> list[str]:
    """The argument list for ``Stasis(app, ...)`` / ARI ``appArgs``."""
    if isinstance(args, InboundCall):
        return [INBOUND, args.line_id]
    if isinstance(args, VolunteerLeg):
        return [VOLUNTEER, args.contact_id]
    if isinstance(args, CoachLeg):
        return [COACH, args.contact_id]
    raise InvalidStasisArgs(f"not a Stasis argument object: {args!r}")


def encode_app_args(args: StasisArgs) -> str:
    """The same, joined for ARI's ``appArgs`` query parameter (comma separated)."""
    return ",".join(encode(args))


def decode(args: list[str]) -> StasisArgs:
    """Parse a StasisStart event's ``args``; raise InvalidStasisArgs on anything malformed."""
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InvalidStasisArgs(f"Stasis args must be a list of strings, got {args!r}")
    if len(args) != 2:
        raise InvalidStasisArgs(f"expected 2 Stasis args, got {len(args)}")
    kind, value = args
    if kind == INBOUND:
        return InboundCall(line_id=value)
    if kind == VOLUNTEER:
        return VolunteerLeg(contact_id=value)
    if kind == COACH:
        return CoachLeg(contact_id=value)
    raise InvalidStasisArgs(f"unknown Stasis argument kind {kind!r}")


def _check_id(field: str, value: object) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidStasisArgs(f"{field} {value!r} is not a valid identifier")
