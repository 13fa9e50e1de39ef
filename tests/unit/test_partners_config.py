"""``[[partners]]`` and ``[transfer]``: who may be added to a call, and how we dial out."""

from __future__ import annotations

import importlib.util
import re
import string
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import parse_config
from ivr.hours_config import ALWAYS_SCHEDULE

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "kindertelefoon.toml"

BASE = """
[[lines]]
id = "116111"
numbers = ["116111", "08000432"]

[[locations]]
id = "utrecht"
name = "Utrecht"

[asterisk]
ari_password = "ari-secret-123"
ami_password = "ami-secret-123"
trunk_addresses = {trunks}
"""

VT = """
[[partners]]
id = "veilig-thuis"
name = "Veilig Thuis"
number = "08002000"
regions = ["utrecht", "haaglanden"]
"""


def config(extra: str = "", trunks: str = '["127.0.0.2"]'):
    return parse_config(BASE.format(trunks=trunks) + extra)


def test_the_example_lists_the_three_partners():
    cfg = parse_config(EXAMPLE.read_text())
    assert [(p.id, p.number, p.schedule) for p in cfg.partners] == [
        ("veilig-thuis", "08002000", "always"),
        ("kinderrechtenhelpdesk", "0715160980", "kinderrechtenhelpdesk"),
        ("113", "08000113", "always"),
    ]
    vt = cfg.partner("veilig-thuis")
    assert vt is not None and len(vt.regions) == 25 and len(set(vt.regions)) == 25
    assert cfg.partner("kinderrechtenhelpdesk").regions == []  # type: ignore[union-attr]
    office = cfg.schedules["kinderrechtenhelpdesk"]
    assert office.holidays == "NL" and office.closed_on_holidays
    assert [len(day) for day in office.weekly()] == [1, 1, 1, 1, 1, 0, 0]
    assert cfg.transfer.hold_music and cfg.transfer.ring_timeout_s == 30
    assert cfg.transfer_caller_id() == "116111"
    assert cfg.dial_out_uri() == "sip:127.0.0.2:5060"


def test_the_docker_config_keeps_its_lines_schedule():
    text = (REPO / "docker" / "helpline.toml").read_text()
    # The addresses come from docker/.env (see .env.example); any real ones will do here.
    text = re.sub(r"\$\{HELPLINE_[A-Z_]*_IP\}", "198.51.100.20", text)
    # The ports are placeholders with defaults (docker/entrypoint.py's SETTING_DEFAULTS).
    spec = importlib.util.spec_from_file_location("entrypoint", REPO / "docker" / "entrypoint.py")
    assert spec is not None and spec.loader is not None
    entrypoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entrypoint)
    cfg = parse_config(string.Template(text).safe_substitute(entrypoint.SETTING_DEFAULTS))
    # What the lines had when the file named no schedule (ivr.hours_config.default_schedules).
    default = cfg.schedules["default"]
    assert default.weekly() == (((660, 1200),),) * 7
    assert default.holidays == "NL" and default.closed_on_holidays
    assert {p.id for p in cfg.partners} == {"veilig-thuis", "kinderrechtenhelpdesk", "113"}


def test_no_partners_by_default_and_always_is_built_in():
    cfg = config()
    assert cfg.partners == []
    assert set(cfg.schedules) == {"default", ALWAYS_SCHEDULE}
    assert cfg.schedules[ALWAYS_SCHEDULE].weekly() == (((0, 1440),),) * 7
    assert cfg.schedules[ALWAYS_SCHEDULE].holidays == ""


def test_a_files_own_schedules_keep_their_meaning_and_gain_always():
    cfg = config('[schedules.default]\ndaily = ["09:00-10:00"]\n')
    assert set(cfg.schedules) == {"default", ALWAYS_SCHEDULE}
    assert cfg.schedules["default"].weekly()[0] == ((540, 600),)


def test_a_files_own_always_wins():
    cfg = config('[schedules.default]\ndaily = []\n[schedules.always]\ndaily = ["08:00-09:00"]\n')
    assert cfg.schedules[ALWAYS_SCHEDULE].weekly()[0] == ((480, 540),)


def test_defaults_and_resolved_accessors():
    cfg = config(VT)
    vt = cfg.partners[0]
    assert (vt.schedule, vt.description) == ("always", "")
    assert cfg.partner("veilig-thuis") is vt and cfg.partner("nope") is None
    assert cfg.transfer_caller_id() == "116111"
    assert cfg.dial_out_uri() == "sip:127.0.0.2:5060"
    cfg = config(
        VT + '[transfer]\ncaller_id = "08000432"\ndial_out_uri = "sip:127.0.0.2:5080"\n'
        "hold_music = false\nring_timeout_s = 5\n"
    )
    assert cfg.transfer_caller_id() == "08000432"
    assert cfg.dial_out_uri() == "sip:127.0.0.2:5080"
    assert not cfg.transfer.hold_music


def test_ipv6_trunk_is_bracketed():
    cfg = config(VT, trunks='["2001:db8::10"]')
    assert cfg.dial_out_uri() == "sip:[2001:db8::10]:5060"


def test_a_trunk_network_needs_an_explicit_dial_out_uri():
    with pytest.raises(ConfigError, match="dial_out_uri: required"):
        config(VT, trunks='["192.0.2.0/28"]')
    cfg = config(VT + '[transfer]\ndial_out_uri = "sip:192.0.2.3"\n', trunks='["192.0.2.0/28"]')
    assert cfg.dial_out_uri() == "sip:192.0.2.3"
    config(trunks='["192.0.2.0/28"]')  # no partners: nothing is dialled out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (VT + VT, "partners: 'veilig-thuis' appears twice"),
        (VT + VT.replace('"veilig-thuis"', '"vt2"'), "partners\\[\\].number: '08002000'"),
        (VT.replace('"08002000"', '"0800-2000"'), "partners\\[0\\].number"),
        (VT.replace('"08002000"', '"116111"'), "one of our own lines' numbers"),
        (VT.replace('"veilig-thuis"', '"' + "v" * 33 + '"'), "partners\\[0\\].id"),
        (VT.replace('"veilig-thuis"', '"Veilig Thuis"'), "partners\\[0\\].id"),
        (VT.replace('"haaglanden"', '"' + "r" * 33 + '"'), "regions\\[1\\]"),
        (VT.replace('"haaglanden"', '"utrecht"'), "regions: 'utrecht' appears twice"),
        (VT + 'schedule = "nope"\n', "partners\\[0\\].schedule 'nope' is not in schedules"),
        (VT + "colour = 1\n", "partners\\[0\\].colour"),
        ('[transfer]\ncaller_id = "+31"\n', "transfer.caller_id"),
        ("[transfer]\nring_timeout_s = 4\n", "transfer.ring_timeout_s"),
        ("[transfer]\nring_timeout_s = 121\n", "transfer.ring_timeout_s"),
        ('[transfer]\ndial_out_uri = "sip:carrier.example:5060"\n', "transfer.dial_out_uri"),
        ('[transfer]\ndial_out_uri = "sip:127.0.0.2;transport=tcp"\n', "transfer.dial_out_uri"),
        ('[transfer]\ndial_out_uri = "sip:1@127.0.0.2"\n', "transfer.dial_out_uri"),
        ('[transfer]\ndial_out_uri = "sip:127.0.0.2:70000"\n', "transfer.dial_out_uri"),
        ('[transfer]\ndial_out_uri = "sip:127.0.0.9"\n', "one of asterisk.trunk_addresses"),
    ],
)
def test_refusals_name_the_key(extra, match):
    with pytest.raises(ConfigError, match=match):
        config(extra)
