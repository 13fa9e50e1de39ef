"""The browser phones' credentials over ARI's dynamic configuration: the client's requests and
the adapter's error mapping, against the fake ARI (``tests.unit.fake_ari``); and the connect
listener that pushes them again after an Asterisk restart."""

from __future__ import annotations

import asyncio
import logging

import pytest

import acd
from ari_app.app import HelplineApp
from ari_app.client import AriClient
from ari_app.errors import AriAuthError, AriNotFound, AriProtocolError
from helpline.sip_edge import AriSipConfig
from softphone.errors import AsteriskConfigFailed
from softphone.sip_credentials import SipCredentials
from storage.sip_credentials import MemorySipCredentialStore
from tests.unit import fake_ari
from tests.unit.fake_ari import APP, PASSWORD, USER
from tests.unit.web_support import make_config

AUTH_PATH = "/asterisk/config/dynamic/res_pjsip/auth/anna-auth"
SECRET = "pw-not-in-any-message"


async def _true(vid: str, key: str) -> bool:
    return True


def _fields(payload: dict[str, str]) -> list[dict[str, str]]:
    return [{"attribute": k, "value": v} for k, v in payload.items()]


async def test_put_sends_the_fields_and_returns_what_asterisk_holds():
    async with fake_ari.serve() as fake, AriClient(fake.base_url, USER, PASSWORD, APP) as ari:
        fake.script("PUT", AUTH_PATH, status=200, payload=_fields({"username": "anna", "x": ""}))
        held = await ari.asterisk.config_dynamic_put(
            "res_pjsip", "auth", "anna-auth", {"auth_type": "userpass", "password": SECRET}
        )
        assert held == {"username": "anna", "x": ""}
        [req] = fake.requests
        assert (req.method, req.path) == ("PUT", AUTH_PATH)
        assert req.body == {
            "fields": [
                {"attribute": "auth_type", "value": "userpass"},
                {"attribute": "password", "value": SECRET},
            ]
        }


async def test_a_contact_id_is_quoted_into_one_path_segment():
    contact = "test-web-1;@15075e78089c7ca453dfa56d412dbd9c"
    async with fake_ari.serve() as fake, AriClient(fake.base_url, USER, PASSWORD, APP) as ari:
        await ari.asterisk.config_dynamic_delete("res_pjsip", "contact", contact)
        assert fake.lines == [f"DELETE /asterisk/config/dynamic/res_pjsip/contact/{contact}"]


async def test_errors_name_the_path_never_the_secret():
    async with fake_ari.serve() as fake, AriClient(fake.base_url, USER, PASSWORD, APP) as ari:
        fake.fail("PUT", AUTH_PATH, 403)
        with pytest.raises(AriAuthError) as info:
            await ari.asterisk.config_dynamic_put("res_pjsip", "auth", "anna-auth", {"p": SECRET})
        assert SECRET not in str(info.value)
        fake.fail("DELETE", AUTH_PATH, 404)
        with pytest.raises(AriNotFound):
            await ari.asterisk.config_dynamic_delete("res_pjsip", "auth", "anna-auth")
        fake.script("GET", AUTH_PATH, status=200, payload={"not": "a list"})
        with pytest.raises(AriProtocolError):
            await ari.asterisk.config_dynamic_get("res_pjsip", "auth", "anna-auth")


async def test_the_adapter_pushes_userpass_and_treats_absent_as_deleted():
    async with fake_ari.serve() as fake, AriClient(fake.base_url, USER, PASSWORD, APP) as ari:
        asterisk = AriSipConfig(ari)
        fake.script("PUT", AUTH_PATH, status=200, payload=[])
        await asterisk.put_auth("anna-auth", "anna", SECRET, "helpline")
        assert fake.requests[-1].body == {
            "fields": _fields(
                {
                    "auth_type": "userpass",
                    "username": "anna",
                    "password": SECRET,
                    "realm": "helpline",
                }
            )
        }
        fake.fail("DELETE", AUTH_PATH, 404)
        await asterisk.delete_auth("anna-auth")  # gone already: fine
        fake.fail("DELETE", "/asterisk/config/dynamic/res_pjsip/contact/*", 404)
        await asterisk.delete_contact("anna;@00")
        fake.fail("DELETE", AUTH_PATH, 403)  # from pjsip.conf: cannot be deleted
        with pytest.raises(AsteriskConfigFailed):
            await asterisk.delete_auth("anna-auth")
        fake.fail("PUT", AUTH_PATH, 500)
        with pytest.raises(AsteriskConfigFailed) as info:
            await asterisk.put_auth("anna-auth", "anna", SECRET, "helpline")
        assert SECRET not in str(info.value)


async def test_every_ari_connect_pushes_the_live_credentials_again(caplog):
    caplog.set_level(logging.INFO)
    cfg = make_config()
    async with fake_ari.serve() as fake, AriClient(fake.base_url, USER, PASSWORD, APP) as ari:
        creds = SipCredentials(MemorySipCredentialStore(), "helpline", _true)
        app = HelplineApp(cfg, ari, acd.Acd())
        creds.attach(AriSipConfig(ari), app.contact_of)
        app.add_connect_listener(creds.on_connected)
        fake.script("PUT", AUTH_PATH, status=200, payload=[], times=None)
        await creds.issue("anna", "s1", 10**10)
        run = asyncio.create_task(app.run())
        try:
            await fake.wait_for("PUT", AUTH_PATH, count=2)  # the first connect
            fake.drop_websocket()  # Asterisk restarts...
            await fake.wait_for("PUT", AUTH_PATH, count=3, timeout=10)  # ...and it is back
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
        passwords = {r.body["fields"][2]["value"] for r in fake.matching("PUT", AUTH_PATH)}
        assert len(passwords) == 1  # the same credential each time: the page keeps working
        assert "browser phone credentials pushed to Asterisk: 1" in caplog.text
        assert SECRET not in caplog.text


async def test_the_app_knows_the_registered_contact_from_asterisks_events():
    cfg = make_config()
    uri = "sip:abc@127.0.0.1:5555;transport=ws;x-ast-orig-host=h.invalid:0"
    async with fake_ari.serve() as fake, AriClient(fake.base_url, USER, PASSWORD, APP) as ari:
        app = HelplineApp(cfg, ari, acd.Acd())
        run = asyncio.create_task(app.run())
        try:
            await asyncio.wait_for(app.reconciled.wait(), 5)
            assert app.contact_of("anna") == []
            for status in ("NonQualified", "Removed", "NonQualified"):
                fake.send_event(_contact_event(uri, status))
            async with asyncio.timeout(5):
                while app.contact_of("anna") != [uri]:
                    await asyncio.sleep(0.01)
            fake.send_event(_contact_event(uri, "Removed"))
            async with asyncio.timeout(5):
                while app.contact_of("anna"):
                    await asyncio.sleep(0.01)
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)


def _contact_event(uri: str, status: str) -> dict[str, object]:
    return {
        "type": "ContactStatusChange",
        "application": APP,
        "timestamp": "2026-12-03T10:00:00.000+0000",
        "endpoint": {
            "technology": "PJSIP",
            "resource": "anna",
            "state": "online" if status != "Removed" else "offline",
            "channel_ids": [],
        },
        "contact_info": {
            "uri": uri,
            "contact_status": status,
            "aor": "anna",
            "roundtrip_usec": "0",
        },
    }
