"""Volunteer SIP accounts against the real Asterisk: random secrets that rotate, and a
registered phone that a second REGISTER cannot take over.

The rotation tests use the path the CLI and the admin API use (``reload_phones`` and the
service's ``sip_pusher``: re-render pjsip.conf from the volunteer store, install it, reload
res_pjsip), with a SQLite store of their own; the fixture's accounts come back afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from config.settings import HelplineConfig
from dialplan import sip_ha1
from helpline.cli_asterisk import reload_phones
from helpline.service import sip_pusher
from security.log import LOGGER_NAME
from storage import db
from storage.volunteers import ARGON2_PROFILE_ENV, VolunteerDirectory
from tests.integration.app_harness import running_app
from tests.integration.phones import PhoneError, VolunteerPhone

pytestmark = pytest.mark.integration  # run with --timeout: the Asterisk lock may wait

LOGIN_PASSWORD = "acct login password"
USER = "acct-1"


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")


@pytest.fixture
def store(asterisk, tmp_path: Path) -> Iterator[tuple[HelplineConfig, VolunteerDirectory]]:
    """The test config over a fresh SQLite volunteer store; the fixture's phones return after."""
    database = asterisk.cfg.database.model_copy(update={"url": f"sqlite:///{tmp_path}/v.db"})
    cfg = asterisk.cfg.model_copy(update={"database": database})
    engine = db.make_engine(cfg.database.url)
    db.migrate(engine)
    try:
        yield cfg, VolunteerDirectory.from_config(engine, cfg)
    finally:
        engine.dispose()
        asterisk.runtime.install_config(asterisk.files)
        asterisk.runtime.cli("module reload res_pjsip.so")


async def _refused(asterisk, user: str, secret: str) -> int:
    """Register with ``secret``; the SIP code of the refusal (PhoneError if it was accepted)."""
    async with VolunteerPhone(user, secret, registrar=asterisk.sip_address) as phone:
        with pytest.raises(PhoneError, match="refused"):
            await phone.registered()
        assert phone.reg is not None
        return phone.reg.code


async def _accepted(asterisk, user: str, secret: str) -> None:
    async with VolunteerPhone(user, secret, registrar=asterisk.sip_address) as phone:
        await phone.registered()
        await phone.unregister()  # max_contacts=1 and no take-over: leave the account free


def _contacts(asterisk, aor: str) -> list[str]:
    """The contact URIs registered on ``aor``."""
    text = asterisk.runtime.cli(f"pjsip show aor {aor}")
    return sorted(
        line.split()[1]
        for line in text.splitlines()
        if line.strip().startswith("Contact:") and "/sip:" in line  # not the table's header
    )


@pytest.fixture
async def volunteer(store) -> AsyncIterator[tuple[HelplineConfig, VolunteerDirectory, str]]:
    cfg, vols = store
    vols.add(USER, "Acct One", "utrecht", ["phone"], ["nl"], LOGIN_PASSWORD)
    secret = vols.new_sip_secret(USER)
    assert reload_phones(cfg)
    yield cfg, vols, secret


async def test_the_login_password_is_no_sip_credential(asterisk, volunteer):
    """Finding: the SIP secret was the login password (HA1 of it in the DB and pjsip.conf)."""
    cfg, vols, secret = volunteer
    assert (
        sip_ha1(USER, asterisk.realm, LOGIN_PASSWORD)
        not in asterisk.runtime.etc_dir.joinpath("pjsip.conf").read_text()
    )
    assert await _refused(asterisk, USER, LOGIN_PASSWORD) in (401, 403)
    await _accepted(asterisk, USER, secret)


async def test_a_password_reset_rotates_the_sip_secret_in_asterisk(asterisk, volunteer):
    """Finding: a reset left the old SIP credential working until someone re-rendered."""
    cfg, vols, old = volunteer
    await _accepted(asterisk, USER, old)
    vols.set_password(USER, "a new login password")
    await sip_pusher(cfg)()  # what the admin API awaits after a reset
    assert await _refused(asterisk, USER, old) in (401, 403)
    new = vols.new_sip_secret(USER)
    assert reload_phones(cfg)  # what `helpline volunteer sip-secret` does after printing it
    assert await _refused(asterisk, USER, old) in (401, 403)
    await _accepted(asterisk, USER, new)


async def test_disable_takes_the_phone_off_and_enable_needs_a_new_secret(asterisk, volunteer):
    cfg, vols, secret = volunteer
    vols.disable(USER)
    await sip_pusher(cfg)()
    assert await _refused(asterisk, USER, secret) in (401, 403)
    vols.enable(USER)
    await sip_pusher(cfg)()
    assert await _refused(asterisk, USER, secret) in (401, 403)  # not the one from before
    fresh = vols.new_sip_secret(USER)
    assert reload_phones(cfg)
    await _accepted(asterisk, USER, fresh)


async def test_a_second_register_is_reported_as_a_phone_taken_over(asterisk, tmp_path, caplog):
    """Finding: max_contacts=1 with remove_existing=yes let a new REGISTER *silently* replace a
    volunteer's phone. It still replaces it (refusing it locked out a phone that crashed or
    lost its address until the old contact expired: an hour without calls), but never
    silently: the app writes it to the security log. A phone's own first registration is not
    reported."""
    user, secret = "test-udp-1", asterisk.volunteers["test-udp-1"]
    wanted = f"phone replaced account={user} from=127.0.0.1"

    def reported() -> bool:
        return any(r.getMessage() == wanted for r in caplog.records)

    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone(user, secret, registrar=asterisk.sip_address) as first:
            await first.registered()
            await run.wait_for(lambda: run.app.router.phone_online(user))
            await asyncio.sleep(0.5)  # any event about it has arrived by now
            assert not reported()
            async with VolunteerPhone(user, secret, registrar=asterisk.sip_address) as second:
                await second.registered()
                await run.wait_for(reported, timeout_s=5)
                assert len(_contacts(asterisk, user)) == 1  # one phone per account
