"""The SIP edge against the real Asterisk, one door at a time (issue 9).

- A spoofed ``From: carrier`` from an address that is not a trunk is refused (before: 200 OK
  and the call entered the helpline); the same INVITE from the trunk still gets in.
- No anonymous inbound: an unknown or anonymous From never gets a channel.
- A volunteer phone registers only from its location's networks, even with the right password.
- A source outside every trunk and location network gets a 403 and no digest challenge.
- A volunteer phone dials nothing: every number is refused and no channel reaches the carrier.

sipp plays each side (as tests/integration/sipp.py does for the carrier); an ARI websocket of
our app with ``subscribeAll`` sees every channel Asterisk creates.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import FAR_VOLUNTEER
from tests.integration.sipp import CARRIER_IP, SECRET_CALLER_NUMBER, free_udp_port

pytestmark = pytest.mark.integration

_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'

_SDP = """
      v=0
      o=edge 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 0
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
"""


def _invite(from_user: str, cseq: int, auth: str = "") -> str:
    # PAI carries the secret number too: whatever gets through must not be able to use it.
    return f"""
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]edge[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: <sip:{from_user}@[local_ip]:[local_port]>
      P-Asserted-Identity: <sip:{SECRET_CALLER_NUMBER}@[local_ip]>
      {auth}
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]
{_SDP}
  ]]></send>
  <recv response="100" optional="true"/>
"""


def _ack(cseq: int) -> str:
    # The ACK of a non-2xx final answer: same branch as the INVITE (RFC 3261 17.1.1.3).
    return f"""
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: {cseq} ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
"""


_BYE_FROM_ASTERISK = """
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
"""


def unauthenticated_invite(from_user: str, final: int) -> str:
    """INVITE as ``from_user`` with no credentials; expect ``final`` (200: wait for our BYE)."""
    body = _invite(from_user, 1)
    if final == 200:
        body += _BYE_FROM_ASTERISK
    else:
        body += f'  <recv response="{final}"/>\n' + _ack(1)
    return _HEAD + f'<scenario name="edge invite">\n{body}</scenario>\n'


def authenticated_invite(user: str, password: str, final: int) -> str:
    """A volunteer phone's INVITE: challenged, answered with the digest, then ``final``."""
    auth = f"[authentication username={user} password={password}]"
    body = (
        _invite(user, 1)
        + '  <recv response="401" auth="true"/>\n'
        + _ack(1)
        + _invite(user, 2, auth)
        + f'  <recv response="{final}"/>\n'
        + _ack(2)
    )
    return _HEAD + f'<scenario name="volunteer dials out">\n{body}</scenario>\n'


def register(user: str, password: str, final: int, expires: int = 60) -> str:
    """REGISTER, answer the challenge with ``password``, expect ``final``."""
    body = ""
    for cseq, auth in ((1, ""), (2, f"[authentication username={user} password={password}]")):
        body += f"""
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:{user}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
      Contact: <sip:{user}@[local_ip]:[local_port]>
      {auth}
      Expires: {expires}
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
"""
        body += '  <recv response="401" auth="true"/>\n' if cseq == 1 else ""
    body += f'  <recv response="{final}"/>\n'
    return _HEAD + f'<scenario name="register">\n{body}</scenario>\n'


def bare_register(user: str, final: int) -> str:
    """One REGISTER and its answer: from outside every network there is no challenge."""
    body = f"""
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
  <recv response="{final}"/>
"""
    return _HEAD + f'<scenario name="bare register">\n{body}</scenario>\n'


async def run_sipp(asterisk, scenario: str, local_ip: str, service: str = "s") -> tuple[int, str]:
    """Run ``scenario`` once from ``local_ip``; sipp's exit code (0: exactly as scripted)."""
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.skip("sipp is not installed")
    with tempfile.TemporaryDirectory(prefix="sipp-edge-") as tmp:
        path = Path(tmp) / "scenario.xml"
        path.write_text(scenario)
        proc = await asyncio.create_subprocess_exec(
            sipp,
            asterisk.sip_address,
            "-sf",
            str(path),
            "-s",
            service,
            "-i",
            local_ip,
            "-p",
            str(free_udp_port(local_ip)),
            "-mi",
            local_ip,
            "-mp",
            str(free_udp_port(local_ip)),
            "-m",
            "1",
            "-timeout",
            "15s",
            "-timeout_error",
            "-recv_timeout",
            "10000",
            "-nostdin",
            cwd=tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 25.0)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode is not None
        return proc.returncode, out.decode(errors="replace")


class Channels:
    """Every ARI event of our app with ``subscribeAll``: all channels, from creation on."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.events: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    def created(self) -> list[str]:
        return [e["channel"]["name"] for e in self.events if e.get("type") == "ChannelCreated"]

    def stasis_starts(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "StasisStart"]

    async def wait_for(self, kind: str, timeout_s: float = 10.0) -> dict[str, Any]:
        async def seen() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if event.get("type") == kind:
                        return event
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(seen(), timeout_s)

    async def settle(self) -> None:
        """Give Asterisk a moment to report anything a refused request might have started."""
        await asyncio.sleep(0.5)


@pytest.fixture
async def channels(asterisk) -> AsyncIterator[Channels]:
    ari = asterisk.ari
    token = base64.b64encode(f"{ari.user}:{ari.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    ws_url = ari.base_url.replace("http://", "ws://") + "/events"
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.ws_connect(
            ws_url, params={"app": asterisk.app, "subscribeAll": "true"}
        ) as ws:
            watcher = Channels(session, ari.base_url)

            async def pump() -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        watcher.events.append(json.loads(msg.data))
                        watcher.arrived.set()

            task = asyncio.create_task(pump())
            try:
                yield watcher
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def _contacts(asterisk, user: str) -> str:
    return asterisk.runtime.cli(f"pjsip show aor {user}")


# ---------------------------------------------------------------- the carrier door


@pytest.mark.parametrize("source", ["127.0.0.1", "127.0.0.3"])
async def test_spoofed_carrier_from_a_non_trunk_address_is_refused(asterisk, channels, source):
    # Before: 200 OK and a StasisStart, i.e. a fake child in the queue. Now the From user names
    # no endpoint that may be matched by name, so the artificial endpoint's 401 is all it gets.
    code, out = await run_sipp(asterisk, unauthenticated_invite("carrier", 401), source, "116111")
    assert code == 0, out
    await channels.settle()
    assert channels.created() == []
    assert channels.stasis_starts() == []


async def test_the_same_invite_from_the_trunk_still_gets_in(asterisk, channels):
    # The control for the test above: only the source address differs.
    call = asyncio.create_task(
        run_sipp(asterisk, unauthenticated_invite("carrier", 200), CARRIER_IP, "116111")
    )
    start = await channels.wait_for("StasisStart")
    channel = start["channel"]
    assert channel["name"].startswith("PJSIP/carrier-")
    assert channel["caller"] == {"name": "", "number": ""}
    url = f"{channels.base_url}/channels/{channel['id']}"
    async with channels.session.post(f"{url}/answer") as resp:
        assert resp.status == 204
    async with channels.session.delete(url) as resp:
        # The call got in (above); a channel Asterisk already hung up (seen once in several
        # runs, cause 127) is gone by now, which is as good for what this test proves.
        assert resp.status in (204, 404), [
            (e["type"], e.get("cause"), e.get("cause_txt")) for e in channels.events
        ]
    code, out = await call
    assert code == 0, out


@pytest.mark.parametrize("from_user", ["anonymous", "Anonymous", "116111", "nobody"])
async def test_no_anonymous_or_unknown_inbound(asterisk, channels, from_user):
    code, out = await run_sipp(
        asterisk, unauthenticated_invite(from_user, 401), "127.0.0.1", "116111"
    )
    assert code == 0, out
    await channels.settle()
    assert channels.created() == []


def _option(asterisk, endpoint: str, name: str) -> str:
    out = asterisk.runtime.cli(f"pjsip show endpoint {endpoint}")
    found = re.search(rf"^\s*{name}\s+:\s*(.*?)\s*$", out, flags=re.M)
    assert found is not None, out
    return found.group(1)


def test_asterisk_loaded_the_edge_as_rendered(asterisk):
    assert _option(asterisk, "carrier", "identify_by") == "ip"
    for endpoint in ("carrier", "test-udp-1", FAR_VOLUNTEER[0]):
        assert _option(asterisk, endpoint, "acl") == "deny/permit"
    assert _option(asterisk, "test-udp-1", "allow_transfer") == "false"


# ---------------------------------------------------------------- the volunteers' door


async def test_volunteer_registers_only_from_its_locations_network(asterisk):
    user, password = FAR_VOLUNTEER
    # From 127.0.0.1 (utrecht's loopback, not far's 127.0.0.64/26): the right password gets
    # the artificial endpoint's 401 again, and no contact is bound.
    code, out = await run_sipp(asterisk, register(user, password, final=401), "127.0.0.1")
    assert code == 0, out
    assert "Contact:  " + user not in _contacts(asterisk, user)
    # From inside its network the same REGISTER succeeds (and is undone again).
    code, out = await run_sipp(asterisk, register(user, password, final=200), "127.0.0.70")
    assert code == 0, out
    assert f"Contact:  {user}/sip:{user}@127.0.0.70" in _contacts(asterisk, user)
    code, out = await run_sipp(asterisk, register(user, password, 200, expires=0), "127.0.0.70")
    assert code == 0, out


async def test_volunteer_cannot_call_from_outside_its_network(asterisk, channels):
    user, password = FAR_VOLUNTEER
    code, out = await run_sipp(
        asterisk, authenticated_invite(user, password, final=401), "127.0.0.1", "116111"
    )
    assert code == 0, out
    await channels.settle()
    assert channels.created() == []


def _outside_address() -> str | None:
    """A local IPv4 address outside loopback (a route's source), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.123", 9))  # no packet is sent; this only picks a route
        except OSError:
            return None
        address: str = sock.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_a_stranger_gets_403_and_no_challenge(asterisk):
    source = _outside_address()
    if source is None:
        pytest.skip("no non-loopback IPv4 address on this host")
    # The right password does not matter: there is no 401 to answer (the edge ACL refuses
    # before any endpoint is looked up), so there is nothing to guess against either.
    user = "test-udp-1"
    code, out = await run_sipp(asterisk, bare_register(user, final=403), source)
    assert code == 0, out
    code, out = await run_sipp(asterisk, unauthenticated_invite("carrier", 403), source, "116111")
    assert code == 0, out


@pytest.mark.parametrize(
    "number", ["0612345678", "+31612345678", "112", "116111", "1", "*1", "test-udp-1", "s"]
)
async def test_volunteer_phone_dials_nothing(asterisk, channels, number):
    user = "test-udp-2"
    password = asterisk.volunteers[user]
    code, out = await run_sipp(
        asterisk, authenticated_invite(user, password, final=403), "127.0.0.1", number
    )
    assert code == 0, out
    await channels.settle()
    created = channels.created()
    # The volunteer's own channel may exist for the moment it takes to refuse; nothing else.
    assert all(name.startswith(f"PJSIP/{user}-") for name in created), created
    assert not any(name.startswith("PJSIP/carrier") for name in created)
    assert channels.stasis_starts() == []
