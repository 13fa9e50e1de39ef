"""pjsip.conf: transports, the carrier trunk and one endpoint per volunteer."""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import AsteriskSection
from dialplan.errors import RenderError
from dialplan.sip import VolunteerSip
from dialplan.values import conf_value

CARRIER = "carrier"
"""Endpoint name (and dialplan context) of the carrier trunk."""
VOLUNTEER_CONTEXT = "volunteers"
"""Dialplan context of calls *from* volunteer phones: they may dial nothing."""
UDP_TRANSPORT = "transport-udp"
WS_TRANSPORT = "transport-ws"


def render_pjsip(ast: AsteriskSection, volunteers: Sequence[VolunteerSip]) -> str:
    """The whole pjsip.conf."""
    bind = conf_value(ast.bind)
    realm = conf_value(ast.sip_realm)
    seen: set[str] = set()
    for vol in volunteers:
        if vol.sip_user in seen:
            raise RenderError(f"SIP user {vol.sip_user!r} appears twice")
        seen.add(vol.sip_user)
    out = [
        "; Rendered by helpline (dialplan.render); do not edit, re-render.",
        "[global]",
        "type=global",
        "user_agent=helpline",
        # Carrier by source address first; volunteers by their From user (then digest auth).
        "endpoint_identifier_order=ip,username",
        f"default_realm={realm}",
        "",
        f"[{UDP_TRANSPORT}]",
        "type=transport",
        "protocol=udp",
        f"bind={bind}:{ast.sip_port}",
        "",
        # Browser phones: SIP over WebSocket on http.conf's server (ws://bind:http_port/ws).
        f"[{WS_TRANSPORT}]",
        "type=transport",
        "protocol=ws",
        f"bind={bind}",
        "",
        *_carrier(ast),
    ]
    for vol in volunteers:
        out.extend(_volunteer(ast, vol, realm))
    return "\n".join(out) + "\n"


def _media(ast: AsteriskSection) -> list[str]:
    # RTP on our bind address only (the root shares the host network).
    return [
        f"media_address={conf_value(ast.bind)}",
        "bind_rtp_to_media_address=yes",
        "direct_media=no",
        "rtp_symmetric=yes",
    ]


def _carrier(ast: AsteriskSection) -> list[str]:
    matches = ",".join(conf_value(a) for a in ast.trunk_addresses)
    return [
        f"[{CARRIER}]",
        "type=endpoint",
        f"context={CARRIER}",
        f"transport={UDP_TRANSPORT}",
        "disallow=all",
        "allow=alaw,ulaw",
        # Never take the caller's identity from P-Asserted-Identity / Remote-Party-ID, and
        # replace what the From header says before a channel exists: the endpoint's own caller
        # ID wins over From when it is set (res_pjsip_caller_id). The dialplan clears it again.
        "trust_id_inbound=no",
        "trust_id_outbound=no",
        "send_pai=no",
        "send_rpid=no",
        "send_diversion=no",
        "callerid=Anonymous <anonymous>",
        "callerid_privacy=prohib",
        "inband_progress=no",
        "dtmf_mode=rfc4733",
        *_media(ast),
        "",
        f"[{CARRIER}-identify]",
        "type=identify",
        f"endpoint={CARRIER}",
        f"match={matches}",
        "",
    ]


def _volunteer(ast: AsteriskSection, vol: VolunteerSip, realm: str) -> list[str]:
    name = vol.sip_user
    endpoint = [
        f"[{name}]",
        "type=endpoint",
        f"context={VOLUNTEER_CONTEXT}",
        f"auth={name}-auth",
        f"aors={name}",
        "disallow=all",
        # A volunteer must never see who calls: no identity headers towards their phone.
        "send_pai=no",
        "send_rpid=no",
        "trust_id_outbound=no",
        "dtmf_mode=rfc4733",
        *_media(ast),
    ]
    if vol.webrtc:
        endpoint += [
            "allow=opus,ulaw,alaw",
            f"transport={WS_TRANSPORT}",
            "webrtc=yes",  # avpf, dtls-srtp, ice, rtcp-mux, dtls_verify=fingerprint
            "dtls_auto_generate_cert=yes",
        ]
    else:
        endpoint += [
            "allow=ulaw,alaw,opus",
            f"transport={UDP_TRANSPORT}",
            "force_rport=yes",
            "rewrite_contact=yes",
        ]
    return [
        *endpoint,
        "",
        f"[{name}]",
        "type=aor",
        "max_contacts=1",
        # A second REGISTER from elsewhere is refused while the phone's contact lives: it must
        # not silently take over a volunteer's phone (and the calls meant for it).
        "remove_existing=no",
        "",
        f"[{name}-auth]",
        "type=auth",
        "auth_type=digest",
        f"username={name}",
        f"realm={realm}",
        # Only the HA1 is stored; the password itself never reaches Asterisk.
        f"password_digest=MD5:{vol.ha1}",
        "",
    ]
