"""The SIP edge as rendered, and the config addresses it is rendered from (no Asterisk needed).

Issue 9: anyone who reached the SIP port could say ``From: carrier`` and be the carrier;
volunteer phones were accepted from anywhere; config addresses took any text, ``0.0.0.0/0``
included. The same doors are tried against the real Asterisk in
tests/integration/test_sip_edge.py.
"""

from __future__ import annotations

import re

import pytest

from config.addresses import LOOPBACK_NETWORKS, check_address, check_network
from config.errors import ConfigError
from config.settings import HelplineConfig, parse_config
from dialplan import RenderError, VolunteerSip, render_asterisk_config, sip_ha1
from dialplan.extensions import render_extensions

CONFIG = """
[[lines]]
id = "116111"
numbers = ["116111"]
language = "nl"

[[locations]]
id = "utrecht"
name = "Utrecht"
networks = ["192.0.2.0/24", "2001:db8:1::/48"]

[[locations]]
id = "tilburg"
name = "Tilburg"

[asterisk]
bind = "127.0.0.1"
ari_password = "ari-secret-1"
ami_password = "ami-secret-1"
sip_realm = "kt"
trunk_addresses = ["198.51.100.20", "203.0.113.0/28"]
"""

DENY_ALL = ["0.0.0.0/0.0.0.0,::/0"]


@pytest.fixture
def cfg() -> HelplineConfig:
    return parse_config(CONFIG)


def _vol(user: str, networks: tuple[str, ...] | None, webrtc: bool = False) -> VolunteerSip:
    assert networks is not None
    ha1 = None if webrtc else sip_ha1(user, "kt", "pw-" + user)
    return VolunteerSip(user, ha1, webrtc=webrtc, networks=networks)


def _sections(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Every ``[name]`` section in order, with its options as key -> values."""
    out = []
    for chunk in re.split(r"^\[", text, flags=re.M)[1:]:
        header, _, body = chunk.partition("\n")
        opts: dict[str, list[str]] = {}
        for line in body.splitlines():
            if "=" in line and not line.startswith(";"):
                key, _, value = line.partition("=")
                opts.setdefault(key.strip(), []).append(value.lstrip(">").strip())
        out.append((header.split("]")[0], opts))
    return out


def _one(text: str, name: str, kind: str) -> dict[str, list[str]]:
    found = [opts for sec, opts in _sections(text) if sec == name and opts["type"] == [kind]]
    assert len(found) == 1, (name, kind)
    return found[0]


def _pjsip(cfg: HelplineConfig) -> str:
    vols = [
        _vol("anna", cfg.location_networks("utrecht")),
        _vol("bram", cfg.location_networks("tilburg"), webrtc=True),
    ]
    return render_asterisk_config(cfg, vols)["pjsip.conf"]


def test_carrier_is_identified_by_source_address_only(cfg):
    carrier = _one(_pjsip(cfg), "carrier", "endpoint")
    # The default (username,ip) let any "From: carrier" in; by address only it cannot.
    assert carrier["identify_by"] == ["ip"]
    assert "auth" not in carrier  # the trunk does not authenticate: its address is its identity
    identify = _one(_pjsip(cfg), "carrier-identify", "identify")
    assert identify["match"] == ["198.51.100.20,203.0.113.0/28"]


def test_carrier_endpoint_acl_denies_all_but_the_trunk(cfg):
    carrier = _one(_pjsip(cfg), "carrier", "endpoint")
    assert carrier["deny"] == DENY_ALL
    assert carrier["permit"] == ["198.51.100.20,203.0.113.0/28"]
    # deny before permit: in an Asterisk ACL the last matching rule wins.
    keys = [k for k in carrier if k in ("deny", "permit")]
    assert keys == ["deny", "permit"]


def test_no_anonymous_identification_and_no_anonymous_endpoint(cfg):
    pjsip = _pjsip(cfg)
    glob = _one(pjsip, "global", "global")
    order = glob["endpoint_identifier_order"][0].split(",")
    assert order == ["ip", "username"]
    assert "anonymous" not in [name for name, _ in _sections(pjsip)]
    assert not any("allow_unauthenticated_options" in opts for _, opts in _sections(pjsip))
    files = render_asterisk_config(cfg, [])
    assert "res_pjsip_endpoint_identifier_anonymous" not in files["modules.conf"]


@pytest.mark.parametrize("user", ["anonymous", "Anonymous", "edge-acl", "bob\n", "anna\n"])
def test_reserved_or_broken_sip_user_names_are_refused(user):
    with pytest.raises(RenderError):
        VolunteerSip(user, "0" * 32, webrtc=False)


def test_ha1_with_a_trailing_newline_is_refused():
    with pytest.raises(RenderError):
        VolunteerSip("anna", "0" * 32 + "\n", webrtc=False)


def test_volunteer_endpoints_only_from_their_locations_networks(cfg):
    pjsip = _pjsip(cfg)
    anna = _one(pjsip, "anna", "endpoint")
    assert anna["identify_by"] == ["username"]
    assert anna["deny"] == DENY_ALL
    assert anna["permit"] == ["192.0.2.0/24,2001:db8:1::/48"]
    # A location with no networks: this host only.
    cees = _vol("cees", cfg.location_networks("tilburg"))
    alone = render_asterisk_config(cfg, [cees])["pjsip.conf"]
    assert _one(alone, "cees", "endpoint")["permit"] == [",".join(LOOPBACK_NETWORKS)]
    assert list(LOOPBACK_NETWORKS) == ["127.0.0.0/8", "::1/128"]


def test_a_browser_phone_is_let_in_only_through_the_apps_proxy(cfg):
    # Asterisk sees the app's /sip proxy (127.0.0.1), which checks the web session; the
    # location's own networks are not where its SIP comes from.
    bram = _one(_pjsip(cfg), "bram", "endpoint")
    assert bram["deny"] == DENY_ALL
    assert bram["permit"] == ["127.0.0.1/32"]
    assert bram["transport"] == ["transport-ws"]
    assert bram["auth"] == ["bram-auth"]
    office = cfg.location_networks("utrecht")
    assert office is not None and "127.0.0.1/32" not in office
    pjsip = render_asterisk_config(cfg, [_vol("dirk", office, webrtc=True)])["pjsip.conf"]
    assert _one(pjsip, "dirk", "endpoint")["permit"] == ["127.0.0.1/32"]
    assert "127.0.0.1/32" in _one(pjsip, "edge-acl", "acl")["permit"][0].split(",")


def test_volunteers_dial_nothing_and_transfer_nothing(cfg):
    pjsip = _pjsip(cfg)
    for name in ("anna", "bram"):
        endpoint = _one(pjsip, name, "endpoint")
        assert endpoint["context"] == ["volunteers"]
        assert endpoint["allow_transfer"] == ["no"]
    extensions = render_extensions(cfg)
    context = extensions.split("[volunteers]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    # Every pattern that could match anything hangs up with 21 (403); nothing Dials.
    assert context == [
        "exten => _X,1,Hangup(21)",
        "exten => _X.,1,Hangup(21)",
        "exten => _[+*#A-Za-z],1,Hangup(21)",
        "exten => _[+*#A-Za-z].,1,Hangup(21)",
    ]


def test_edge_acl_lets_in_only_trunks_and_location_networks(cfg):
    acl = _one(_pjsip(cfg), "edge-acl", "acl")
    assert acl["deny"] == DENY_ALL
    assert acl["permit"] == [
        "198.51.100.20,203.0.113.0/28,192.0.2.0/24,2001:db8:1::/48,127.0.0.1/32"
    ]


def test_edge_acl_without_volunteers_is_the_trunk_only(cfg):
    acl = _one(render_asterisk_config(cfg, [])["pjsip.conf"], "edge-acl", "acl")
    assert acl["permit"] == ["198.51.100.20,203.0.113.0/28"]


def test_ipv6_bind_is_bracketed_for_the_transport(cfg):
    v6 = cfg.model_copy(update={"asterisk": cfg.asterisk.model_copy(update={"bind": "::1"})})
    pjsip = render_asterisk_config(v6, [])["pjsip.conf"]
    assert _one(pjsip, "transport-udp", "transport")["bind"] == ["[::1]:5060"]
    assert _one(pjsip, "carrier", "endpoint")["media_address"] == ["::1"]


@pytest.mark.parametrize("bad", [("0.0.0.0/0",), ("::/0",), ("10.0.0.1/8",), ("pbx.example",), ()])
def test_volunteer_networks_are_checked_when_rendering(bad):
    with pytest.raises(RenderError):
        VolunteerSip("anna", "0" * 32, webrtc=False, networks=bad)


# ---------------------------------------------------------------- config addresses


def _with(old: str, new: str) -> str:
    assert old in CONFIG
    return CONFIG.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "key", "why"),
    [
        ('"198.51.100.20", ', '"0.0.0.0/0", ', "asterisk.trunk_addresses[0]", "every address"),
        ('"198.51.100.20", ', '"::/0", ', "asterisk.trunk_addresses[0]", "every address"),
        ('"198.51.100.20", ', '"0.0.0.0", ', "asterisk.trunk_addresses[0]", "no sender"),
        ('"198.51.100.20", ', '"carrier.example", ', "asterisk.trunk_addresses[0]", "host names"),
        ('"198.51.100.20", ', '"198.51.100.20/24", ', "asterisk.trunk_addresses[0]", "host bits"),
        ('"192.0.2.0/24", ', '"0.0.0.0/0", ', "locations[0].networks[0]", "every address"),
        ('"192.0.2.0/24", ', '"192.0.2.300/24", ', "locations[0].networks[0]", "not an IP"),
        (
            'networks = ["192.0.2.0/24", "2001:db8:1::/48"]',
            "networks = []",
            "locations[0].networks",
            "at least 1",
        ),
        ('bind = "127.0.0.1"', 'bind = "localhost"', "asterisk.bind", "not an IP address"),
        ('bind = "127.0.0.1"', 'bind = "127.0.0.1/32"', "asterisk.bind", "not an IP address"),
        ('bind = "127.0.0.1"', 'bind = "127.0.0.1\\n"', "asterisk.bind", "not an IP address"),
    ],
)
def test_bad_addresses_are_refused_with_the_key_named(old, new, key, why):
    with pytest.raises(ConfigError) as info:
        parse_config(_with(old, new))
    assert f"{key}: " in str(info.value)
    assert why in str(info.value)


@pytest.mark.parametrize("host", ["localhost", "0.0.0.0/0", "127.0.0.1 ", ""])
def test_http_host_must_be_an_ip_address(host):
    with pytest.raises(ConfigError, match="http.host: "):
        parse_config(CONFIG + f'\n[http]\nhost = "{host}"\n')


def test_listen_on_all_interfaces_is_an_address_not_a_network():
    # docker/helpline.toml listens on 0.0.0.0 inside its container; that stays possible.
    cfg = parse_config(CONFIG + '\n[http]\nhost = "0.0.0.0"\n')
    assert cfg.http.host == "0.0.0.0"


def test_addresses_are_normalised(cfg):
    text = _with('"198.51.100.20", ', '"2001:DB8:0:0::7", ').replace(
        '"2001:db8:1::/48"', '"2001:0db8:0001::/48"'
    )
    parsed = parse_config(text)
    assert parsed.asterisk.trunk_addresses == ["2001:db8::7", "203.0.113.0/28"]
    assert parsed.location_networks("utrecht") == ("192.0.2.0/24", "2001:db8:1::/48")
    assert parsed.location_networks("nowhere") is None
    assert check_address("::FFFF:7f00:1") == "::ffff:7f00:1"
    assert check_network("10.1.2.3/32") == "10.1.2.3/32"


def test_example_configs_still_load():
    from config.settings import DEFAULT_CONFIG

    cfg = parse_config(DEFAULT_CONFIG.read_text())
    assert cfg.asterisk.trunk_addresses == ["127.0.0.2"]
    assert all(loc.networks == list(LOOPBACK_NETWORKS) for loc in cfg.locations)
