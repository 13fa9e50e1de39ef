"""The rendered configuration, loaded into the real Asterisk, does what we rendered it for."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dialplan import stasis_args
from tests.integration.sipp import (
    SECRET_CALLER_NAME,
    SECRET_CALLER_NUMBER,
    SECRET_DIVERSION_NUMBER,
    free_udp_port,
    start_carrier_call,
)

pytestmark = pytest.mark.integration

SECRETS = (SECRET_CALLER_NUMBER, SECRET_CALLER_NAME, SECRET_DIVERSION_NUMBER)


def test_every_number_of_every_line_goes_to_stasis(asterisk):
    out = asterisk.runtime.cli("dialplan show carrier")
    for line in asterisk.cfg.lines:
        args = ",".join(stasis_args.encode(stasis_args.InboundCall(line_id=line.id)))
        for number in line.numbers:
            assert f"'{number}' =>" in out
        assert f"Stasis({asterisk.app},{args})" in out
    assert "Gosub(helpline-anonymise,s,1)" in out


def test_anonymise_runs_before_stasis_in_each_extension(asterisk):
    for line in asterisk.cfg.lines:
        for number in line.numbers:
            out = asterisk.runtime.cli(f"dialplan show {number}@carrier")
            block = out[out.index(f"'{number}' =>") :].split("\n  '")[0]
            apps = [ln.split(". ", 1)[1].split("(")[0] for ln in block.splitlines() if ". " in ln]
            assert apps == ["Gosub", "Set", "Stasis", "GotoIf", "Hangup"], block
            assert "Set(CHANNEL(language)=" + line.language + ")" in block


def test_endpoints_and_identify_are_loaded(asterisk):
    out = asterisk.runtime.cli("pjsip show endpoints")
    for name in ("carrier", *asterisk.volunteers):
        assert f"Endpoint:  {name}" in out
    identify = asterisk.runtime.cli("pjsip show identifies")
    assert "Match: 127.0.0.2/32" in identify
    assert "127.0.0.1/32" not in identify


def test_webrtc_endpoint_has_dtls_and_ice(asterisk):
    out = asterisk.runtime.cli("pjsip show endpoint test-web-1")
    settings = dict(
        (parts[0], parts[2] if len(parts) > 2 else "")
        for parts in (ln.split(None, 2) for ln in out.splitlines())
        if len(parts) >= 2 and parts[1] == ":"
    )
    assert settings["webrtc"] == "yes"
    assert settings["ice_support"] == "true"
    assert settings["media_encryption"] == "dtls"
    assert settings["transport"] == "transport-ws"
    assert "opus" in settings["allow"]


def test_carrier_endpoint_does_not_trust_identity_headers(asterisk):
    out = asterisk.runtime.cli("pjsip show endpoint carrier")
    assert "trust_id_inbound" in out
    line = next(ln for ln in out.splitlines() if ln.split()[:1] == ["trust_id_inbound"])
    assert line.split()[-1] == "false"


def test_only_our_modules_no_cdr_cel_backends(asterisk):
    for pattern in ("cdr_", "cel_", "chan_iax2", "chan_sip", "res_agi", "app_voicemail"):
        out = asterisk.runtime.cli(f"module show like {pattern}")
        assert "0 modules loaded" in out, out
    for needed in ("res_ari.so", "app_stasis.so", "res_pjsip_transport_websocket.so", "app_queue"):
        out = asterisk.runtime.cli(f"module show like {needed}")
        assert "1 modules loaded" in out, out


@dataclass
class AriEvents:
    """An ARI websocket of our app (subscribeAll) and an HTTP session with the same credentials."""

    queue: asyncio.Queue[dict[str, Any]]
    session: aiohttp.ClientSession


@pytest.fixture
async def ari_events(asterisk) -> AsyncIterator[AriEvents]:
    """Our ARI app connected with subscribeAll: sees every channel from its creation on."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    ari = asterisk.ari
    token = base64.b64encode(f"{ari.user}:{ari.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    ws_url = ari.base_url.replace("http://", "ws://") + "/events"
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.ws_connect(
            ws_url, params={"app": asterisk.app, "subscribeAll": "true"}
        ) as ws:

            async def pump() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        queue.put_nowait(json.loads(msg.data))

            task = asyncio.create_task(pump())
            try:
                yield AriEvents(queue=queue, session=session)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def _next(queue: asyncio.Queue[dict[str, Any]], kind: str, seen: list[str]) -> dict:
    while True:
        event = await asyncio.wait_for(queue.get(), 10.0)
        seen.append(json.dumps(event))
        if event.get("type") == kind:
            return event


async def test_carrier_call_reaches_stasis_anonymised(asterisk, ari_events):
    session = ari_events.session
    call = await start_carrier_call("116111", asterisk=asterisk.sip_address)
    seen: list[str] = []
    start = await _next(ari_events.queue, "StasisStart", seen)
    channel = start["channel"]
    assert stasis_args.decode(start["args"]) == stasis_args.InboundCall(line_id="116111")
    assert channel["caller"] == {"name": "", "number": ""}
    assert channel["language"] == "nl"
    assert channel["dialplan"]["exten"] == "116111"
    base = asterisk.ari.base_url
    async with session.post(f"{base}/channels/{channel['id']}/answer") as resp:
        assert resp.status == 204
    async with session.delete(f"{base}/channels/{channel['id']}") as resp:
        assert resp.status == 204
    await _next(ari_events.queue, "StasisEnd", seen)
    code, output = await call.wait()
    assert code == 0, output
    # Nothing about the caller reached our application, not even in ChannelCreated/Varset.
    for text in seen:
        for secret in SECRETS:
            assert secret not in text


async def test_unknown_number_is_refused_cleanly(asterisk, ari_events):
    call = await start_carrier_call("999", asterisk=asterisk.sip_address, final=404)
    code, output = await call.wait()
    assert code == 0, output
    # The refused call was created and destroyed without ever entering our application.
    seen: list[str] = []
    destroyed = await _next(ari_events.queue, "ChannelDestroyed", seen)
    assert destroyed["cause"] == 1  # unallocated number
    assert not any('"type": "StasisStart"' in text for text in seen)


def test_asterisk_wrote_nothing_about_the_caller(asterisk):
    # Runs after the calls above (file order): grep everything Asterisk may have written.
    for directory in asterisk.runtime.written_dirs():
        for path in directory.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                for secret in SECRETS:
                    assert secret.encode() not in data, f"{secret} found in {path}"


_REGISTER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:{user}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:{user}@[local_ip]:[local_port]>
      Expires: 60
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:{user}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:{user}@[local_ip]:[local_port]>
      [authentication username={user} password={password}]
      Expires: {expires}
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="{final}"/>
</scenario>
"""


async def _register(
    asterisk, user: str, password: str, final: int, expires: int, port: int | None = None
) -> int:
    with tempfile.TemporaryDirectory(prefix="sipp-") as tmp:
        scenario = Path(tmp) / "register.xml"
        scenario.write_text(
            _REGISTER.format(user=user, password=password, final=final, expires=expires)
        )
        proc = await asyncio.create_subprocess_exec(
            shutil.which("sipp") or "sipp",
            asterisk.sip_address,
            "-sf",
            str(scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(port or free_udp_port("127.0.0.1")),
            "-m",
            "1",
            "-timeout",
            "10s",
            "-timeout_error",
            "-nostdin",
            cwd=tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await asyncio.wait_for(proc.wait(), 15.0)


async def test_volunteer_registers_with_digest_from_ha1(asterisk):
    user, password = "test-udp-1", asterisk.volunteers["test-udp-1"]
    # One port for both: the Contact must match to unregister (a second contact is refused).
    port = free_udp_port("127.0.0.1")
    assert await _register(asterisk, user, password, final=200, expires=60, port=port) == 0
    contacts = asterisk.runtime.cli(f"pjsip show aor {user}")
    assert f"Contact:  {user}/sip:{user}@127.0.0.1" in contacts
    # Unregister again so later tests start from an offline phone.
    assert await _register(asterisk, user, password, final=200, expires=0, port=port) == 0
    assert "Contact:  test-udp-1/sip:" not in asterisk.runtime.cli(f"pjsip show aor {user}")


async def test_wrong_sip_password_is_refused(asterisk):
    assert await _register(asterisk, "test-udp-2", "not-the-password", final=401, expires=60) == 0
