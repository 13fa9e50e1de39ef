"""The smaller config files: core options, modules, logging, HTTP/ARI/AMI, RTP, music on hold."""

from __future__ import annotations

from config.settings import LOOPBACK, AsteriskSection
from dialplan.values import conf_value

HEADER = "; Rendered by helpline (dialplan.render); do not edit, re-render.\n"

MOH_DIR = "/usr/share/asterisk/moh"
"""Where the default music-on-hold class reads its files (inside the Asterisk root)."""

# Exactly what we use; autoload=no so a package upgrade never slips in a CDR/CEL backend, a
# channel driver listening on a port, or a module resolving DNS at start.
MODULES: tuple[str, ...] = (
    # Sorcery and the PJSIP stack (UDP + WebSocket transports, registrar, digest auth).
    "res_sorcery_config.so",
    "res_sorcery_memory.so",
    "res_sorcery_memory_cache.so",
    "res_sorcery_astdb.so",
    "res_pjproject.so",
    "res_http_websocket.so",
    "res_websocket_client.so",  # res_ari links against it (22.x)
    "res_pjsip.so",
    "res_pjsip_session.so",
    "res_pjsip_pubsub.so",
    "chan_pjsip.so",
    "res_pjsip_authenticator_digest.so",
    "res_pjsip_endpoint_identifier_ip.so",
    "res_pjsip_endpoint_identifier_user.so",
    "res_pjsip_registrar.so",
    "res_pjsip_sdp_rtp.so",
    "res_pjsip_transport_websocket.so",
    "res_pjsip_nat.so",
    "res_pjsip_caller_id.so",  # needed so the carrier's callerid= override replaces From
    "res_pjsip_dtmf_info.so",
    "res_pjsip_rfc3326.so",
    "res_pjsip_acl.so",
    # Media: RTP, DTLS-SRTP for browsers, timing for MoH/playback/mixing bridges.
    "res_rtp_asterisk.so",
    "res_srtp.so",
    "res_crypto.so",
    "res_timing_timerfd.so",
    # ARI and Stasis.
    "res_stasis.so",
    "res_stasis_answer.so",
    "res_stasis_playback.so",
    "res_stasis_recording.so",
    "res_stasis_snoop.so",
    "res_stasis_device_state.so",
    "app_stasis.so",
    "res_ari.so",
    "res_ari_model.so",
    "res_ari_applications.so",
    "res_ari_asterisk.so",
    "res_ari_bridges.so",
    "res_ari_channels.so",
    "res_ari_device_states.so",
    "res_ari_endpoints.so",
    "res_ari_events.so",
    "res_ari_playbacks.so",
    "res_ari_recordings.so",
    "res_ari_sounds.so",
    "chan_bridge_media.so",
    # Bridges.
    "bridge_simple.so",
    "bridge_softmix.so",
    "bridge_native_rtp.so",
    "bridge_holding.so",
    "bridge_builtin_features.so",
    # Music on hold, prompts, the applications our dialplan and the app_queue benchmark use.
    "res_musiconhold.so",
    "app_playback.so",
    "app_stack.so",
    "app_dial.so",
    "app_queue.so",
    "app_echo.so",
    # Codecs and file formats.
    "codec_ulaw.so",
    "codec_alaw.so",
    "codec_a_mu.so",
    "codec_gsm.so",
    "codec_opus_open_source.so",
    "codec_resample.so",
    "res_format_attr_opus.so",
    "format_wav.so",
    "format_wav_gsm.so",
    "format_gsm.so",
    "format_pcm.so",
    "format_sln.so",
    # Dialplan.
    "pbx_config.so",
    "func_callerid.so",
    "func_channel.so",
    "func_strings.so",
    "func_logic.so",
    "func_pjsip_endpoint.so",
)


def render_modules() -> str:
    return HEADER + "[modules]\nautoload=no\n" + "".join(f"load => {m}\n" for m in MODULES)


def render_asterisk_conf() -> str:
    # Debian's directory layout, written out because Debian's asterisk.conf is not loaded.
    return HEADER + (
        "[directories](!)\n"
        "astcachedir => /var/cache/asterisk\n"
        "astetcdir => /etc/asterisk\n"
        "astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules\n"
        "astvarlibdir => /var/lib/asterisk\n"
        "astdbdir => /var/lib/asterisk\n"
        "astkeydir => /var/lib/asterisk\n"
        "astdatadir => /usr/share/asterisk\n"
        "astagidir => /usr/share/asterisk/agi-bin\n"
        "astspooldir => /var/spool/asterisk\n"
        "astrundir => /var/run/asterisk\n"
        "astlogdir => /var/log/asterisk\n"
        "astsbindir => /usr/sbin\n"
        "\n[options]\n"
        "verbose=0\n"
        "debug=0\n"
        "systemname=helpline\n"
        "hideconnect=yes\n"
        "documentation_language=en_US\n"
        "defaultlanguage=en\n"
        "autosystemname=no\n"
    )


def render_logger() -> str:
    # Only warnings and errors, to one file: no verbose "Executing ..." lines and no NOTICEs,
    # which name the From header of rejected requests. No queue_log: it records caller IDs.
    return HEADER + (
        "[general]\n"
        "dateformat=%F %T.%3q\n"
        "use_callids=no\n"
        "appendhostname=no\n"
        "queue_log=no\n"
        "queue_log_to_file=no\n"
        "\n[logfiles]\n"
        "messages => warning,error\n"
    )


def render_http(ast: AsteriskSection) -> str:
    # Loopback only: ARI has full call control. Only the app (same host) talks to it; a
    # browser's SIP WebSocket (/ws) is reached through a proxy that exposes that path alone.
    return HEADER + (
        "[general]\n"
        "enabled=yes\n"
        f"bindaddr={LOOPBACK}\n"
        f"bindport={ast.http_port}\n"
        "servername=helpline\n"
        "sessionlimit=500\n"
        "session_keep_alive=15000\n"
        "enablestatic=no\n"
    )


def render_ari(ast: AsteriskSection) -> str:
    return HEADER + (
        "[general]\n"
        "enabled=yes\n"
        "pretty=no\n"
        "websocket_write_timeout=1000\n"
        f"\n[{conf_value(ast.ari_user)}]\n"
        "type=user\n"
        "read_only=no\n"
        "password_format=plain\n"
        f"password={conf_value(ast.ari_password)}\n"
    )


def render_manager(ast: AsteriskSection) -> str:
    """AMI on loopback, for one user who may only read the ``security`` class.

    The app uses AMI for nothing but the security log (``security.ami``): no originate,
    command or system rights, no write class at all, so a leaked AMI secret can neither
    place a call nor run a shell command.
    """
    return HEADER + (
        "[general]\n"
        "enabled=yes\n"
        f"bindaddr={LOOPBACK}\n"
        f"port={ast.ami_port}\n"
        "displayconnects=no\n"
        "webenabled=no\n"
        f"\n[{conf_value(ast.ami_user)}]\n"
        f"secret={conf_value(ast.ami_password)}\n"
        "deny=0.0.0.0/0.0.0.0\n"
        f"permit={LOOPBACK}/255.255.255.255\n"
        "read=security\n"
        "write=\n"
    )


def render_rtp(ast: AsteriskSection) -> str:
    # No STUN/TURN server: that would be a DNS lookup and traffic we do not want at start.
    return HEADER + (
        "[general]\n"
        f"rtpstart={ast.rtp_start}\n"
        f"rtpend={ast.rtp_end}\n"
        "strictrtp=yes\n"
        "icesupport=yes\n"
    )


def render_musiconhold() -> str:
    return HEADER + (f"[general]\n\n[default]\nmode=files\ndirectory={MOH_DIR}\nsort=alpha\n")


def render_disabled_records() -> dict[str, str]:
    """cdr.conf / cel.conf switched off: no call records outside our own privacy-aware store."""
    return {
        "cdr.conf": HEADER + "[general]\nenable=no\n",
        "cel.conf": HEADER + "[general]\nenable=no\n",
    }


def render_empty_defaults() -> dict[str, str]:
    """Files core modules insist on reading; their defaults are what we want."""
    names = ("features.conf", "acl.conf", "udptl.conf", "ccss.conf", "websocket_client.conf")
    files = {name: HEADER + ("" if name == "acl.conf" else "[general]\n") for name in names}
    files["pjproject.conf"] = HEADER + "[startup]\nlog_level=0\n"
    return files


def render_sorcery() -> str:
    """Phone registrations live in memory, not in Asterisk's SQLite astdb; auth objects come
    from pjsip.conf (desk phones) and from memory (browser phones).

    Under load astdb commits can fail ("database is locked") and a REGISTER that was answered
    200 then leaves no contact behind; in memory that cannot happen. After an Asterisk restart
    the phones simply register again.

    A browser phone's auth object is created, replaced and deleted over ARI
    (``PUT/DELETE /asterisk/config/dynamic/res_pjsip/auth/<id>``) while a web session lives:
    no file re-render, no reload. Measured on Asterisk 22: the new password works at once and
    the old one fails; a ``module reload res_pjsip.so`` keeps memory objects; a restart empties
    them (the app pushes the live sessions' again on every ARI (re)connect); the objects of
    pjsip.conf cannot be deleted this way (403).
    """
    return "\n".join(
        [
            "; Rendered by helpline (dialplan.render); do not edit, re-render.",
            "[res_pjsip]",
            "contact=memory",
            # The file's auth sections first (read only), then memory, where ARI creates.
            "auth=config,pjsip.conf,criteria=type=auth",
            "auth=memory",
            "",
        ]
    )


def render_queues() -> str:
    # app_queue is loaded for the benchmark only; queues are added by whoever runs it.
    return HEADER + "[general]\npersistentmembers=no\nlog_membername_as_agent=yes\n"


def render_indications() -> str:
    return HEADER + (
        "[general]\n"
        "country=nl\n"
        "\n[nl]\n"
        "description = Netherlands\n"
        "ringcadence = 1000,4000\n"
        "dial = 425\n"
        "busy = 425/500,0/500\n"
        "ring = 425/1000,0/4000\n"
        "congestion = 425/250,0/250\n"
        "callwaiting = 425/500,0/9500\n"
        "\n[us]\n"
        "description = United States / North America\n"
        "ringcadence = 2000,4000\n"
        "dial = 350+440\n"
        "busy = 480+620/500,0/500\n"
        "ring = 440+480/2000,0/4000\n"
        "congestion = 480+620/250,0/250\n"
        "callwaiting = 440/300,0/10000\n"
    )
