"""Volunteer SIP accounts as the renderer sees them: a user name and a digest, never a password."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from config.addresses import LOOPBACK_NETWORKS, check_network
from dialplan.errors import RenderError

# Becomes a pjsip.conf section name and a SIP user part: keep it boring.
# Always fullmatch: "$" also matches before a trailing newline ("bob\n" would pass).
_SIP_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HA1 = re.compile(r"[0-9a-f]{32}")
# Section names the renderer uses itself; a volunteer may not take them.
# "anonymous" is the endpoint Asterisk's anonymous identifier would hand unknown callers to.
RESERVED_NAMES = frozenset(
    {"global", "system", "carrier", "carrier-identify", "anonymous", "edge-acl"}
)


def sip_ha1(user: str, realm: str, password: str) -> str:
    """The RFC 2617 HA1, ``md5("user:realm:password")``: what Asterisk stores instead of the
    password (``password_digest=MD5:<ha1>``)."""
    return hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324


@dataclass(frozen=True, slots=True)
class VolunteerSip:
    """One volunteer's SIP account: endpoint, AOR and auth share the name ``sip_user``."""

    sip_user: str
    """SIP user name the phone registers with; also the PJSIP endpoint name."""
    ha1: str
    """``sip_ha1(sip_user, realm, password)``, lowercase hex."""
    webrtc: bool
    """True for a browser phone (WebSocket, DTLS-SRTP, ICE, opus first)."""
    networks: tuple[str, ...] = LOOPBACK_NETWORKS
    """Where this phone may register and call from: its location's networks
    (``HelplineConfig.location_networks``). Requests from anywhere else never authenticate."""

    def __post_init__(self) -> None:
        if not _SIP_USER.fullmatch(self.sip_user) or self.sip_user.lower() in RESERVED_NAMES:
            raise RenderError(f"invalid SIP user name {self.sip_user!r}")
        if self.sip_user.endswith(("-auth", "-transport")) or self.sip_user.startswith(
            "transport-"
        ):
            raise RenderError(f"SIP user name {self.sip_user!r} collides with our section names")
        if not _HA1.fullmatch(self.ha1):
            raise RenderError(f"ha1 of {self.sip_user!r} is not a lowercase md5 hex digest")
        if not self.networks:
            raise RenderError(f"{self.sip_user!r} has no network to phone from")
        for net in self.networks:
            try:
                check_network(net)
            except ValueError as exc:
                raise RenderError(f"{self.sip_user!r}: {exc}") from None
