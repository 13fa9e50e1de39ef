"""Rendering Asterisk's configuration from our TOML config (no Asterisk needed)."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.settings import HelplineConfig, parse_config
from dialplan import RenderError, VolunteerSip, render_asterisk_config, sip_ha1, stasis_args
from dialplan.base import MODULES
from dialplan.errors import InvalidStasisArgs

CONFIG = """
[[lines]]
id = "116111"
numbers = ["116111"]
language = "nl"

[[lines]]
id = "0800-0432"
numbers = ["08000432", "08001234"]
language = "en"

[[locations]]
id = "utrecht"
name = "Utrecht"

[asterisk]
bind = "127.0.0.1"
sip_port = 5070
http_port = 8090
ami_port = 5039
app = "helpline"
ari_user = "ari-user"
ari_password = "ari-secret-1"
ami_user = "ami-user"
ami_password = "ami-secret-1"
sip_realm = "kt"
trunk_addresses = ["127.0.0.2", "192.0.2.10"]
rtp_start = 12000
rtp_end = 12999
"""


@pytest.fixture
def cfg() -> HelplineConfig:
    return parse_config(CONFIG)


def _vols() -> list[VolunteerSip]:
    return [
        VolunteerSip("anna", None, webrtc=True),
        VolunteerSip("bram", sip_ha1("bram", "kt", "plain-pass-bram"), webrtc=False),
    ]


def _section(text: str, name: str) -> dict[str, list[str]]:
    """Options of the first section ``[name]`` whose ``type`` matches, as key -> values."""
    sections = re.split(r"^\[", text, flags=re.M)
    for sec in sections:
        header, _, body = sec.partition("\n")
        if header.split("]")[0] == name:
            opts: dict[str, list[str]] = {}
            for line in body.splitlines():
                if "=" in line and not line.startswith(";"):
                    key, _, value = line.partition("=")
                    opts.setdefault(key.strip(), []).append(value.lstrip(">").strip())
            return opts
    raise AssertionError(f"no section [{name}]")


def test_sip_ha1_is_rfc2617_md5():
    assert sip_ha1("anna", "kt", "pw") == hashlib.md5(b"anna:kt:pw").hexdigest()


@pytest.mark.parametrize("user", ["", "carrier", "global", "a b", "x;y", "anna-auth", "é"])
def test_bad_sip_user_names_are_refused(user):
    with pytest.raises(RenderError):
        VolunteerSip(user, "0" * 32, webrtc=False)


def test_ha1_must_be_a_digest_not_a_password():
    with pytest.raises(RenderError):
        VolunteerSip("anna", "plain-pass-anna", webrtc=False)


def test_renders_the_expected_files(cfg):
    files = render_asterisk_config(cfg, _vols())
    for name in (
        "asterisk.conf",
        "modules.conf",
        "pjsip.conf",
        "extensions.conf",
        "http.conf",
        "ari.conf",
        "manager.conf",
        "musiconhold.conf",
        "rtp.conf",
        "logger.conf",
        "cdr.conf",
        "cel.conf",
    ):
        assert name in files


def test_no_plaintext_sip_password_is_rendered(cfg):
    files = render_asterisk_config(cfg, _vols())
    everything = "\n".join(files.values())
    assert "plain-pass-bram" not in everything
    auth = _section(files["pjsip.conf"], "bram-auth")
    assert auth["auth_type"] == ["digest"]
    assert auth["password_digest"] == [f"MD5:{sip_ha1('bram', 'kt', 'plain-pass-bram')}"]
    assert auth["realm"] == ["kt"]
    assert "password" not in auth


def test_a_browser_phone_has_no_static_credential(cfg):
    # Its auth object is pushed into Asterisk's memory per web session (softphone), so the
    # file names it and holds nothing else of it.
    pjsip = render_asterisk_config(cfg, _vols())["pjsip.conf"]
    assert _section(pjsip, "anna")["auth"] == ["anna-auth"]
    assert "[anna-auth]" not in pjsip
    with pytest.raises(RenderError):
        VolunteerSip("anna", sip_ha1("anna", "kt", "pw"), webrtc=True)
    with pytest.raises(RenderError):
        VolunteerSip("bram", None, webrtc=False)


def test_auth_objects_come_from_the_file_and_from_memory(cfg):
    sorcery = render_asterisk_config(cfg, [])["sorcery.conf"]
    lines = [line for line in sorcery.splitlines() if line and not line.startswith(";")]
    assert lines == [
        "[res_pjsip]",
        "contact=memory",
        "auth=config,pjsip.conf,criteria=type=auth",
        "auth=memory",
    ]


def test_transports_bind_to_the_configured_address(cfg):
    pjsip = render_asterisk_config(cfg, [])["pjsip.conf"]
    assert _section(pjsip, "transport-udp")["bind"] == ["127.0.0.1:5070"]
    assert _section(pjsip, "transport-ws")["protocol"] == ["ws"]


def test_carrier_is_identified_by_address_and_trusts_no_identity(cfg):
    pjsip = render_asterisk_config(cfg, [])["pjsip.conf"]
    identify = _section(pjsip, "carrier-identify")
    assert identify["match"] == ["127.0.0.2,192.0.2.10"]
    carrier = _section(pjsip, "carrier")
    assert carrier["trust_id_inbound"] == ["no"]
    assert carrier["context"] == ["carrier"]
    assert carrier["callerid"] == ["Anonymous <anonymous>"]


def test_webrtc_and_udp_volunteers(cfg):
    pjsip = render_asterisk_config(cfg, _vols())["pjsip.conf"]
    anna = _section(pjsip, "anna")
    assert anna["webrtc"] == ["yes"]
    assert anna["dtls_auto_generate_cert"] == ["yes"]
    assert anna["transport"] == ["transport-ws"]
    bram = _section(pjsip, "bram")
    assert "webrtc" not in bram
    assert bram["transport"] == ["transport-udp"]
    for vol in (anna, bram):
        assert set(vol["allow"][0].split(",")) == {"ulaw", "alaw", "opus"}
        assert vol["context"] == ["volunteers"]
        assert vol["send_pai"] == ["no"]


def test_duplicate_sip_user_is_refused(cfg):
    vol = _vols()[0]
    with pytest.raises(RenderError):
        render_asterisk_config(cfg, [vol, vol])


def test_every_number_goes_anonymised_to_stasis(cfg):
    ext = render_asterisk_config(cfg, [])["extensions.conf"]
    carrier = ext[ext.index("[carrier]") :].split("\n\n")[0]
    for line in cfg.lines:
        args = ",".join(stasis_args.encode(stasis_args.InboundCall(line.id)))
        for number in line.numbers:
            block = carrier[carrier.index(f"exten => {number},1,") :].split("exten =>")[1]
            assert block.startswith(f" {number},1,Gosub(helpline-anonymise,s,1)")
            assert f"Set(CHANNEL(language)={line.language})" in block
            assert f"Stasis(helpline,{args})" in block
    assert "exten => _X.,1,Gosub(helpline-anonymise,s,1)\n same => n,Hangup(1)" in carrier


def test_anonymise_clears_every_identifying_party(cfg):
    ext = render_asterisk_config(cfg, [])["extensions.conf"]
    sub = ext[ext.index("[helpline-anonymise]") :].split("\n\n")[0]
    for needle in (
        "CALLERID(all)=)",
        "CALLERID(num)=)",
        "CALLERID(name)=)",
        "CALLERID(ani-all)=)",
        "CALLERID(rdnis)=)",
        "REDIRECTING(from-all,i)=)",
        "CONNECTEDLINE(all,i)=)",
    ):
        assert needle in sub
    assert sub.rstrip().endswith("Return()")


def test_modules_are_explicit_and_minimal(cfg):
    modules = render_asterisk_config(cfg, [])["modules.conf"]
    assert "autoload=no" in modules
    loaded = re.findall(r"^load => (\S+)$", modules, flags=re.M)
    assert loaded == list(MODULES)
    assert len(set(loaded)) == len(loaded)
    for forbidden in ("cdr_", "cel_", "res_resolver_unbound", "res_stun_monitor", "chan_iax2"):
        assert not any(m.startswith(forbidden) for m in loaded)
    for needed in (
        "chan_pjsip.so",
        "res_pjsip_transport_websocket.so",
        "res_ari.so",
        "app_stasis.so",
        "app_queue.so",
        "app_dial.so",
        "res_srtp.so",
        "codec_opus_open_source.so",
        "format_wav.so",
        "res_musiconhold.so",
    ):
        assert needed in loaded


def test_network_services_bind_loopback_and_configured_ports(cfg):
    files = render_asterisk_config(cfg, [])
    http = _section(files["http.conf"], "general")
    assert http["bindaddr"] == ["127.0.0.1"] and http["bindport"] == ["8090"]
    manager = _section(files["manager.conf"], "general")
    assert manager["bindaddr"] == ["127.0.0.1"] and manager["port"] == ["5039"]
    rtp = _section(files["rtp.conf"], "general")
    assert rtp["rtpstart"] == ["12000"] and rtp["rtpend"] == ["12999"]
    ari = _section(files["ari.conf"], "ari-user")
    assert ari["password"] == ["ari-secret-1"]


def test_ari_and_ami_listen_on_loopback_whatever_the_sip_address(cfg):
    public = cfg.model_copy(
        update={"asterisk": cfg.asterisk.model_copy(update={"bind": "192.0.2.10"})}
    )
    files = render_asterisk_config(public, [])
    assert _section(files["http.conf"], "general")["bindaddr"] == ["127.0.0.1"]
    assert _section(files["manager.conf"], "general")["bindaddr"] == ["127.0.0.1"]
    assert public.asterisk.ari_url == "http://127.0.0.1:8090/ari"


def test_the_ami_user_may_only_read_security_events(cfg):
    manager = render_asterisk_config(cfg, [])["manager.conf"]
    user = _section(manager, "ami-user")
    assert user["read"] == ["security"]
    assert user["write"] == [""]
    assert user["permit"] == ["127.0.0.1/255.255.255.255"]
    assert user["deny"] == ["0.0.0.0/0.0.0.0"]
    # One user, and none of the rights the app never needed.
    assert manager.count("secret=") == 1
    for right in ("originate", "command", "system", "call", "agent", "reporting"):
        assert right not in manager


def test_logger_keeps_no_verbose_log(cfg):
    logger = render_asterisk_config(cfg, [])["logger.conf"]
    logfiles = _section(logger, "logfiles")
    assert logfiles == {"messages": ["warning,error"]}
    assert "queue_log=no" in logger


def test_cdr_and_cel_are_disabled(cfg):
    files = render_asterisk_config(cfg, [])
    assert "enable=no" in files["cdr.conf"] and "enable=no" in files["cel.conf"]


@pytest.mark.parametrize("bad", ["pass;word1", "pass\nword1", " leading-space"])
def test_values_that_would_break_a_config_are_refused(cfg, bad):
    broken = cfg.model_copy(
        update={"asterisk": cfg.asterisk.model_copy(update={"ari_password": bad})}
    )
    with pytest.raises(RenderError):
        render_asterisk_config(broken, [])


# ---------------------------------------------------------------- Stasis args


ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


@given(ids)
def test_inbound_args_round_trip(line_id):
    args = stasis_args.InboundCall(line_id=line_id)
    assert stasis_args.decode(stasis_args.encode(args)) == args


@given(ids)
def test_volunteer_args_round_trip(contact_id):
    args = stasis_args.VolunteerLeg(contact_id=contact_id)
    assert stasis_args.decode(stasis_args.encode(args)) == args
    assert stasis_args.encode_app_args(args) == f"volunteer,{contact_id}"


@pytest.mark.parametrize(
    "raw",
    [
        [],
        ["inbound"],
        ["inbound", "116111", "extra"],
        ["outbound", "116111"],
        ["inbound", ""],
        ["inbound", "a,b"],
        ["volunteer", "../x"],
        ["inbound", 116111],
        "inbound,116111",
    ],
)
def test_malformed_stasis_args_raise(raw):
    with pytest.raises(InvalidStasisArgs):
        stasis_args.decode(raw)


@given(st.lists(st.text(max_size=10), max_size=4))
def test_decode_parses_or_raises_invalid_never_anything_else(raw):
    try:
        stasis_args.decode(raw)
    except InvalidStasisArgs:
        pass


def test_one_phone_per_account_and_a_new_register_replaces_it(cfg):
    """One contact per account; a new REGISTER replaces it (and is reported by the app, see
    ari_app.registrations): refusing it locked out phones that crashed."""
    pjsip = render_asterisk_config(cfg, _vols())["pjsip.conf"]
    aors = [
        sec
        for sec in re.split(r"^\[", pjsip, flags=re.M)
        if sec.startswith("anna]") and "\ntype=aor\n" in sec
    ]
    assert len(aors) == 1
    assert "\nmax_contacts=1\n" in aors[0]
    assert "\nremove_existing=yes\n" in aors[0]
