"""The security log against the real Asterisk: wrong SIP passwords and a spoofed carrier call
become log lines, through AMI, naming the account only when it is a volunteer's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.settings import LOOPBACK
from security import log as security_log
from security.ami import AmiSecurityListener
from tests.integration.sip_guess import SipGuesser
from tests.integration.sipp import SECRET_CALLER_NUMBER

pytestmark = pytest.mark.integration

GUESSER_IP = "127.0.0.5"
"""Neither the carrier (127.0.0.2) nor Asterisk (127.0.0.1): someone on the network."""


@contextlib.asynccontextmanager
async def listening(asterisk, path: Path) -> AsyncIterator[AmiSecurityListener]:
    ast = asterisk.cfg.asterisk

    async def accounts() -> set[str]:
        return set(asterisk.volunteers)

    listener = AmiSecurityListener(
        LOOPBACK, ast.ami_port, ast.ami_user, ast.ami_password, accounts, ast.trunk_addresses
    )
    handler = security_log.attach_file(path)
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(10):
            await listener.logged_in.wait()
        yield listener
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        security_log.detach(handler)


async def _lines(path: Path, count: int, settle_s: float = 1.0) -> list[str]:
    """The file's lines once it has ``count`` and nothing more arrived for ``settle_s``."""
    async with asyncio.timeout(15):
        while len(_read(path)) < count:
            await asyncio.sleep(0.05)
    await asyncio.sleep(settle_s)
    return _read(path)


def _read(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _messages(lines: list[str]) -> list[str]:
    return [line.split(" helpline-security: ", 1)[1] for line in lines]


@pytest.fixture
def guesser(asterisk):
    host, port = asterisk.sip_address.rsplit(":", 1)
    g = SipGuesser(GUESSER_IP, (host, int(port)))
    yield g
    g.close()


async def test_a_wrong_register_password_is_one_line_with_account_and_address(
    asterisk, tmp_path, guesser
):
    path = tmp_path / "security.log"
    async with listening(asterisk, path):
        # The right password first: a phone registering writes nothing.
        assert await guesser.attempt("REGISTER", "test-udp-2", "test-sip-pass-2") == (401, 200)
        assert await guesser.attempt("REGISTER", "test-udp-1", "not-the-password") == (401, 401)
        lines = await _lines(path, 1)
    assert _messages(lines) == [
        f"failed SIP auth account=test-udp-1 from={GUESSER_IP} event=ChallengeResponseFailed"
    ]


async def test_twenty_guesses_are_twenty_lines(asterisk, tmp_path, guesser):
    path = tmp_path / "security.log"
    async with listening(asterisk, path):
        for i in range(20):
            assert (await guesser.attempt("REGISTER", "test-udp-1", f"guess-{i}"))[1] != 200
        lines = await _lines(path, 20)
    assert (
        _messages(lines)
        == [f"failed SIP auth account=test-udp-1 from={GUESSER_IP} event=ChallengeResponseFailed"]
        * 20
    )


async def test_a_spoofed_carrier_call_is_logged_without_the_childs_number(
    asterisk, tmp_path, guesser
):
    """An INVITE with the carrier's From (the child's number) from an address that is not the
    trunk's, answering the challenge as that number: a failure line, and no number in it."""
    path = tmp_path / "security.log"
    async with listening(asterisk, path):
        first, final = await guesser.attempt("INVITE", SECRET_CALLER_NUMBER, "any-password")
        assert final in (401, 403), (first, final)
        lines = await _lines(path, 1)
    assert lines, "the spoofed call left no line"
    for message in _messages(lines):
        assert message.startswith(f"failed SIP auth account=unknown from={GUESSER_IP} event=")
    assert SECRET_CALLER_NUMBER not in path.read_text()
