"""Anonymity at the edge: the child's number never reaches any part of our system.

A caller rings 116111 from a recognisable number and name (in From, P-Asserted-Identity and
friends). After the call is routed, answered and ended we search every place the system
writes to: Redis (every key and value), the SQL database, our logs, the volunteer's phone
and everything Asterisk wrote on disk. Zero hits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.integration.app_harness import running_app
from tests.integration.audio import VOLUNTEER_TONE_HZ
from tests.integration.phones import CallerPhone, VolunteerPhone
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

# The number as a carrier might present it, in any of its usual shapes.
FORMS = [
    SECRET_CALLER_NUMBER,
    SECRET_CALLER_NUMBER.lstrip("0"),
    "+31" + SECRET_CALLER_NUMBER.lstrip("0"),
    "0031" + SECRET_CALLER_NUMBER.lstrip("0"),
    SECRET_CALLER_NAME,
]


def _hits(blob: bytes) -> list[str]:
    return [form for form in FORMS if form.encode() in blob]


async def _redis_dump() -> bytes:
    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    parts: list[bytes] = []
    try:
        async for key in client.scan_iter(count=1000):
            parts.append(key)
            kind = (await client.type(key)).decode()
            if kind == "string":
                parts.append(await client.get(key) or b"")
            elif kind == "list":
                parts.extend(await client.lrange(key, 0, -1))
            elif kind == "hash":
                for field, value in (await client.hgetall(key)).items():
                    parts += [field, value]
            elif kind in ("set", "zset"):
                parts.extend(
                    await client.zrange(key, 0, -1)
                    if kind == "zset"
                    else await client.smembers(key)
                )
    finally:
        await client.aclose()
    return b"\n".join(parts)


def _files_under(paths: list[Path]) -> bytes:
    blobs = []
    for root in paths:
        if root.is_file():
            blobs.append(root.read_bytes())
        for path in root.rglob("*") if root.is_dir() else []:
            if path.is_file() and not path.is_symlink():
                blobs.append(path.read_bytes())
    return b"\n".join(blobs)


async def test_the_callers_number_is_nowhere(asterisk, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    redis_seen = b""
    async with running_app(asterisk, tmp_path) as run:
        async with VolunteerPhone.of(asterisk, "test-udp-1") as phone:
            await phone.registered()
            await run.login_ready("test-udp-1")
            async with CallerPhone("116111", log_level=5) as caller:
                await caller.dial()
                incoming = await phone.wait_incoming()
                await phone.answer()
                await caller.wait_hearing(VOLUNTEER_TONE_HZ)
                redis_seen = await _redis_dump()  # while the call is live
                await caller.hangup()
                sent = caller._log_path.read_bytes()
            await phone.wait_ended()
        await run.records_written(1)
        journal_and_snapshot = await _redis_dump()
        rows = run.writer.between(*_day())
    assert len(rows) == 1 and rows[0].outcome == "answered"

    # The probe is real: the caller did present its number and name (its own SIP log shows them).
    assert SECRET_CALLER_NUMBER.encode() in sent and SECRET_CALLER_NAME.encode() in sent

    assert _hits(incoming.invite.encode()) == [], "the volunteer's phone saw the caller"
    assert _hits(redis_seen + journal_and_snapshot) == [], "Redis holds the caller"
    assert _hits(repr(rows).encode()) == [], "a contact record holds the caller"
    assert _hits(_files_under([tmp_path / "records.db"])) == [], "the SQL file holds the caller"
    assert _hits(caplog.text.encode()) == [], "our logs hold the caller"
    written = _files_under(asterisk.runtime.written_dirs())
    assert written, "nothing was read from Asterisk's directories"
    assert _hits(written) == [], "Asterisk wrote the caller to disk"


def _day():
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)
