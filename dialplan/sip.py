"""Volunteer SIP accounts as the renderer sees them: a user name and a digest, never a password.

A browser (WebRTC) account has no digest at all: its credential is minted per signed-in web
session and pushed into Asterisk's memory over ARI (``softphone.sip_credentials``), so nothing
static in pjsip.conf can let a browser phone in.
"""

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
BROWSER_PROXY_NETWORKS: tuple[str, ...] = ("127.0.0.1/32",)
"""Where a browser phone's SIP comes from as Asterisk sees it: the app's ``/sip`` WebSocket
proxy, which connects to Asterisk's loopback HTTP server from 127.0.0.1 and lets only a signed-in
session through."""

# Section names the renderer uses itself; a volunteer may not take them.
# "anonymous" is the endpoint Asterisk's anonymous identifier would hand unknown callers to.
RESERVED_NAMES = frozenset(
    {"global", "system", "carrier", "carrier-identify", "carrier-out", "anonymous", "edge-acl"}
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
    ha1: str | None
    """``sip_ha1(sip_user, realm, password)``, lowercase hex; None (and only None) for a
    browser phone, whose credential lives in Asterisk's memory for as long as a web session."""
    webrtc: bool
    """True for a browser phone (WebSocket, DTLS-SRTP, ICE, opus first)."""
    networks: tuple[str, ...] = LOOPBACK_NETWORKS
    """Where this phone may register and call from: its location's networks
    (``HelplineConfig.location_networks``). Requests from anywhere else never authenticate.
    A browser phone reaches Asterisk only through the app's ``/sip`` proxy, so Asterisk sees
    the proxy's address instead (``BROWSER_PROXY_NETWORKS``); its own location's networks do
    not apply to it."""

    def __post_init__(self) -> None:
        if not _SIP_USER.fullmatch(self.sip_user) or self.sip_user.lower() in RESERVED_NAMES:
            raise RenderError(f"invalid SIP user name {self.sip_user!r}")
        if self.sip_user.endswith(("-auth", "-transport")) or self.sip_user.startswith(
            "transport-"
        ):
            raise RenderError(f"SIP user name {self.sip_user!r} collides with our section names")
        if self.webrtc:
            if self.ha1 is not None:
                raise RenderError(
                    f"{self.sip_user!r} is a browser phone: its credential is minted per web"
                    " session, never a static digest"
                )
        elif self.ha1 is None or not _HA1.fullmatch(self.ha1):
            raise RenderError(f"ha1 of {self.sip_user!r} is not a lowercase md5 hex digest")
        if not self.networks:
            raise RenderError(f"{self.sip_user!r} has no network to phone from")
        for net in self.networks:
            try:
                check_network(net)
            except ValueError as exc:
                raise RenderError(f"{self.sip_user!r}: {exc}") from None
