"""pjsip.conf: transports, the carrier trunk (in and out) and one endpoint per volunteer.

Who may talk to us, in three layers:

- ``edge-acl`` (res_pjsip_acl) answers 403 to any request whose source is neither a trunk
  address nor a location network, before an endpoint is even looked up: strangers get no digest
  challenge to guess against.
- The carrier is identified by source address only (``identify_by=ip``), and its endpoint ACL
  permits only the trunk addresses: an INVITE saying ``From: carrier`` from elsewhere matches no
  endpoint and gets the artificial endpoint's 401 that nothing can answer.
- A volunteer endpoint has an ACL of its location's networks: from anywhere else, even with the
  right password, Asterisk swaps in the artificial endpoint (401, never 200). A browser phone's
  endpoint admits only the app's ``/sip`` proxy on 127.0.0.1 (``BROWSER_PROXY_NETWORKS``),
  which lets a signed-in web session through and nothing else; its auth object is not in this
  file at all but pushed into Asterisk's memory per session (``sorcery.conf``'s
  ``auth=memory``, see ``softphone.sip_credentials``), so without a live session there is no
  credential to guess.

There is no anonymous endpoint and no ``anonymous`` identifier: an unknown From never reaches
the dialplan. Volunteers' context dials nothing (extensions.py).

Calls *out* (a partner added to a child's call) leave through a second carrier endpoint,
``carrier-out``, with a static contact at ``[transfer] dial_out_uri``: only the ARI app
originates on it (``partner_endpoint``), nothing identifies an incoming request as it, and
the inbound ``carrier`` endpoint stays exactly as it was. It is rendered only when partners are
configured. Towards the partner we send the helpline's number (the caller ID the originate
sets, see ``dialplan.partners``) and no identity header of any kind.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.addresses import url_host
from config.settings import AsteriskSection
from dialplan.errors import RenderError
from dialplan.sip import BROWSER_PROXY_NETWORKS, VolunteerSip
from dialplan.values import conf_value

CARRIER = "carrier"
"""Endpoint name (and dialplan context) of the carrier trunk."""
CARRIER_OUT = "carrier-out"
"""Endpoint and AOR of calls out through the carrier (to partners), and the dialplan context
of anything that would ever arrive on it (refused)."""
VOLUNTEER_CONTEXT = "volunteers"
"""Dialplan context of calls *from* volunteer phones: they may dial nothing."""
UDP_TRANSPORT = "transport-udp"
WS_TRANSPORT = "transport-ws"
EDGE_ACL = "edge-acl"
"""The global ACL section: trunk addresses and location networks, nobody else."""

# An ACL lets through whatever no rule matches, so every list starts by denying both families.
_DENY_ALL = "0.0.0.0/0.0.0.0,::/0"


def partner_endpoint(number: str) -> str:
    """The ARI ``endpoint`` that dials ``number`` through the carrier:
    ``PJSIP/<number>@carrier-out`` (the number becomes the user part of the request URI sent
    to ``dial_out_uri``)."""
    if not (number.isascii() and number.isdigit() and 3 <= len(number) <= 15):
        raise RenderError("a partner number is 3-15 digits")
    return f"PJSIP/{number}@{CARRIER_OUT}"


def render_pjsip(
    ast: AsteriskSection, volunteers: Sequence[VolunteerSip], dial_out_uri: str | None = None
) -> str:
    """The whole pjsip.conf; with ``dial_out_uri`` also the ``carrier-out`` endpoint."""
    bind = conf_value(url_host(ast.bind))
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
        # No "anonymous": a request nobody is identified for never gets an endpoint.
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
        *_edge_acl(ast, volunteers),
        *_carrier(ast),
        *(_carrier_out(ast, dial_out_uri) if dial_out_uri is not None else []),
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


def phone_networks(vol: VolunteerSip) -> tuple[str, ...]:
    """Where Asterisk lets ``vol``'s phone in from: its location's networks, or for a browser
    phone the app's ``/sip`` proxy (which checks the web session instead)."""
    return BROWSER_PROXY_NETWORKS if vol.webrtc else vol.networks


def auth_id(sip_user: str) -> str:
    """The name of a volunteer's pjsip auth object (static or pushed over ARI)."""
    return f"{sip_user}-auth"


def _edge_acl(ast: AsteriskSection, volunteers: Sequence[VolunteerSip]) -> list[str]:
    allowed = list(
        dict.fromkeys([*ast.trunk_addresses, *(n for v in volunteers for n in phone_networks(v))])
    )
    return [
        f"[{EDGE_ACL}]",
        "type=acl",
        f"deny={_DENY_ALL}",
        f"permit={','.join(conf_value(a) for a in allowed)}",
        "",
    ]


def _carrier(ast: AsteriskSection) -> list[str]:
    matches = ",".join(conf_value(a) for a in ast.trunk_addresses)
    return [
        f"[{CARRIER}]",
        "type=endpoint",
        # By source address only: the default (username,ip) made anyone saying From: carrier
        # the carrier. The ACL is the second lock on the same door.
        "identify_by=ip",
        f"deny={_DENY_ALL}",
        f"permit={matches}",
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


def _carrier_out(ast: AsteriskSection, uri: str) -> list[str]:
    return [
        f"[{CARRIER_OUT}]",
        "type=endpoint",
        # Only ever dialled. No identify section names it and the From user never selects it,
        # so no request from outside lands here; its ACL and context are the second lock.
        "identify_by=ip",
        f"deny={_DENY_ALL}",
        f"permit={','.join(conf_value(a) for a in ast.trunk_addresses)}",
        f"context={CARRIER_OUT}",
        f"transport={UDP_TRANSPORT}",
        f"aors={CARRIER_OUT}",
        "disallow=all",
        "allow=alaw,ulaw",
        "allow_transfer=no",
        # The partner sees the helpline's number in From (the originate's caller ID, with
        # presentation allowed) and nothing else: no PAI/RPID/Diversion, no connected-line
        # updates (UPDATE/re-INVITE) when the call is bridged with the child.
        "trust_id_inbound=no",
        "trust_id_outbound=no",
        "send_pai=no",
        "send_rpid=no",
        "send_diversion=no",
        "send_connected_line=no",
        "inband_progress=no",
        "dtmf_mode=rfc4733",
        *_media(ast),
        "",
        f"[{CARRIER_OUT}]",
        "type=aor",
        f"contact={conf_value(uri)}",
        "max_contacts=1",
        "qualify_frequency=0",
        "",
    ]


def _volunteer(ast: AsteriskSection, vol: VolunteerSip, realm: str) -> list[str]:
    name = vol.sip_user
    endpoint = [
        f"[{name}]",
        "type=endpoint",
        "identify_by=username",
        # Only from the volunteer's location (a browser phone: only through the app's proxy);
        # elsewhere even the right password gets a 401.
        f"deny={_DENY_ALL}",
        f"permit={','.join(conf_value(n) for n in phone_networks(vol))}",
        # The context dials nothing, and no REFER may send a child's call somewhere either.
        f"context={VOLUNTEER_CONTEXT}",
        "allow_transfer=no",
        f"auth={auth_id(name)}",
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
    out = [
        *endpoint,
        "",
        f"[{name}]",
        "type=aor",
        "max_contacts=1",
        # A new REGISTER replaces the phone's contact. Refusing it (remove_existing=no) locked
        # out a phone that crashed or lost its address across an Asterisk restart until the old
        # contact expired; a take-over is reported instead (ari_app.registrations), and only a
        # phone on the location's networks with the random SIP secret gets this far.
        "remove_existing=yes",
        "",
    ]
    if vol.ha1 is None:
        # A browser phone: its auth object is pushed into Asterisk's memory while a web
        # session of the volunteer lives, and deleted when it ends (softphone.sip_credentials).
        return out
    return [
        *out,
        f"[{auth_id(name)}]",
        "type=auth",
        "auth_type=digest",
        f"username={name}",
        f"realm={realm}",
        # Only the HA1 is stored; the password itself never reaches Asterisk.
        f"password_digest=MD5:{vol.ha1}",
        "",
    ]
