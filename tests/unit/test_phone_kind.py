"""Which accounts are browser phones: ``[asterisk] volunteer_phones`` is the default and a
``[[volunteers]]`` entry's ``phone`` overrides it; the renderer and the API both ask
``HelplineConfig.phone_of``."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.settings import parse_config
from helpline.cli_asterisk import volunteer_accounts
from storage import db
from storage.volunteers import ARGON2_PROFILE_ENV, VolunteerDirectory

BASE = """
[[lines]]
id = "116111"
numbers = ["116111"]

[[locations]]
id = "utrecht"
name = "Utrecht"
networks = ["192.0.2.0/24"]

[asterisk]
ari_password = "ari-secret-123"
ami_password = "ami-secret-123"
trunk_addresses = ["127.0.0.2"]
{phones}

[database]
url = "sqlite:///{db}"

[[volunteers]]
id = "anna"
name = "Anna"
location = "utrecht"
password = "anna-password"
phone = "webrtc"

[[volunteers]]
id = "bram"
name = "Bram"
location = "utrecht"
password = "bram-password"
"""


def _cfg(tmp_path, phones: str = ""):
    return parse_config(BASE.format(phones=phones, db=tmp_path / "v.db"))


def test_the_default_is_sip_and_an_entry_overrides_it(tmp_path):
    cfg = _cfg(tmp_path)
    assert cfg.phone_of("anna") == "webrtc"
    assert cfg.phone_of("bram") == "sip"
    assert cfg.phone_of("added-with-the-cli") == "sip"
    browser = _cfg(tmp_path, 'volunteer_phones = "webrtc"')
    assert browser.phone_of("bram") == "webrtc"
    assert browser.phone_of("added-with-the-cli") == "webrtc"


def test_an_unknown_phone_kind_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="phone"):
        parse_config(BASE.format(phones="", db=tmp_path / "v.db").replace('"webrtc"', '"udp"'))


def test_the_renderer_makes_each_account_the_phone_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")
    cfg = _cfg(tmp_path)
    engine = db.make_engine(cfg.database.url)
    db.migrate(engine)
    VolunteerDirectory.from_config(engine, cfg).seed_from_config(cfg)
    engine.dispose()
    accounts = {a.sip_user: a for a in volunteer_accounts(cfg)}
    assert accounts["anna"].webrtc and accounts["anna"].ha1 is None  # minted per session
    assert not accounts["bram"].webrtc and accounts["bram"].ha1 is not None
    assert accounts["bram"].networks == ("192.0.2.0/24",)
