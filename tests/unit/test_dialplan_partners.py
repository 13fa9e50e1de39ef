"""Calls out to partners, as rendered (no Asterisk needed); the real INVITE is checked in
tests/integration/test_partner_dial_out.py."""

from __future__ import annotations

import pytest

from config.settings import HelplineConfig, parse_config
from dialplan import RenderError, VolunteerSip, render_asterisk_config
from dialplan.partners import CARRIER_OUT, partner_caller_id, partner_endpoint
from tests.unit.test_sip_edge import DENY_ALL, _one, _sections

CONFIG = """
[helpline]
name = "De Kindertelefoon"

[[lines]]
id = "116111"
numbers = ["116111"]

[[locations]]
id = "utrecht"
name = "Utrecht"

[asterisk]
ari_password = "ari-secret-1"
ami_password = "ami-secret-1"
trunk_addresses = ["198.51.100.20", "203.0.113.0/28"]
"""

PARTNER = """
[[partners]]
id = "veilig-thuis"
name = "Veilig Thuis"
number = "08002000"
"""


def _cfg(extra: str = PARTNER) -> HelplineConfig:
    return parse_config(CONFIG + extra)


def _files(cfg: HelplineConfig) -> dict[str, str]:
    return render_asterisk_config(cfg, [VolunteerSip("anna", "0" * 32, webrtc=False)])


def test_partner_endpoint_dials_the_number_through_carrier_out():
    assert partner_endpoint("08002000") == "PJSIP/08002000@carrier-out"
    assert CARRIER_OUT == "carrier-out"


@pytest.mark.parametrize("bad", ["", "12", "0800-2000", "+318002000", "1" * 16, "０８００"])
def test_partner_endpoint_takes_digits_only(bad):
    with pytest.raises(RenderError):
        partner_endpoint(bad)


def test_no_partners_no_way_out():
    files = _files(_cfg(""))
    assert CARRIER_OUT not in files["pjsip.conf"]


def test_carrier_out_has_a_static_contact_and_sends_no_identity():
    pjsip = _files(_cfg())["pjsip.conf"]
    endpoint = _one(pjsip, CARRIER_OUT, "endpoint")
    assert endpoint["aors"] == [CARRIER_OUT]
    for key in ("send_pai", "send_rpid", "send_diversion", "send_connected_line"):
        assert endpoint[key] == ["no"], key
    assert endpoint["trust_id_outbound"] == ["no"] and endpoint["trust_id_inbound"] == ["no"]
    assert endpoint["allow_transfer"] == ["no"]
    # Nothing incoming can be it: by address only, with no identify naming it.
    assert endpoint["identify_by"] == ["ip"]
    assert endpoint["deny"] == DENY_ALL
    assert endpoint["permit"] == ["198.51.100.20,203.0.113.0/28"]
    assert endpoint["context"] == [CARRIER_OUT]
    assert "from_user" not in endpoint and "callerid" not in endpoint
    for _, opts in _sections(pjsip):
        if opts.get("type") == ["identify"]:
            assert opts["endpoint"] != [CARRIER_OUT]
    aor = _one(pjsip, CARRIER_OUT, "aor")
    assert aor["contact"] == ["sip:198.51.100.20:5060"]
    assert aor["qualify_frequency"] == ["0"]


def test_the_inbound_carrier_is_unchanged_by_partners():
    with_partners = _one(_files(_cfg())["pjsip.conf"], "carrier", "endpoint")
    without = _one(_files(_cfg(""))["pjsip.conf"], "carrier", "endpoint")
    assert with_partners == without
    assert with_partners["callerid"] == ["Anonymous <anonymous>"]


def test_dial_out_uri_is_the_aors_contact():
    cfg = _cfg(PARTNER + '[transfer]\ndial_out_uri = "sip:203.0.113.5:5080"\n')
    aor = _one(_files(cfg)["pjsip.conf"], CARRIER_OUT, "aor")
    assert aor["contact"] == ["sip:203.0.113.5:5080"]


def test_anything_arriving_on_carrier_out_reaches_nothing():
    extensions = _files(_cfg())["extensions.conf"]
    block = extensions[extensions.index(f"[{CARRIER_OUT}]") :].split("\n\n")[0]
    lines = block.splitlines()[1:]
    assert lines and all(line.endswith(",1,Hangup(21)") for line in lines)


def test_a_volunteer_cannot_be_called_carrier_out():
    with pytest.raises(RenderError):
        VolunteerSip(CARRIER_OUT, "0" * 32, webrtc=False)


def test_caller_id_is_the_helplines_name_and_number():
    assert partner_caller_id(_cfg()) == '"De Kindertelefoon" <116111>'
    cfg = _cfg(PARTNER + '[transfer]\ncaller_id = "08000432"\n')
    assert partner_caller_id(cfg) == '"De Kindertelefoon" <08000432>'


def test_caller_id_name_cannot_break_the_quoting():
    cfg = _cfg().model_copy(
        update={"helpline": _cfg().helpline.model_copy(update={"name": 'A "B" <C>\\\n'})}
    )
    assert partner_caller_id(cfg) == '"A B C" <116111>'
    cfg = _cfg().model_copy(update={"helpline": _cfg().helpline.model_copy(update={"name": '""'})})
    assert partner_caller_id(cfg) == "<116111>"
