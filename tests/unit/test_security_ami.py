"""The AMI listener against a fake AMI server: log in, write failures, reconnect, refuse."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from security import log as security_log
from security.ami import AmiSecurityListener

SECRET_NUMBER = "0612345678"


class FakeAmi:
    """Speaks just enough AMI: the banner, Login (accepted for one secret), pushed events."""

    def __init__(self, secret: str = "ami-secret") -> None:
        self.secret = secret
        self.writers: list[asyncio.StreamWriter] = []
        self.logins = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                fields = dict(
                    line.split(": ", 1)
                    for line in block.decode().strip().split("\r\n")
                    if ": " in line
                )
                action_id = fields.get("ActionID", "")
                if fields.get("Action") == "Login":
                    ok = fields.get("Secret") == self.secret
                    self.logins += ok
                    status = "Success" if ok else "Error"
                    writer.write(f"Response: {status}\r\nActionID: {action_id}\r\n\r\n".encode())
                else:
                    writer.write(f"Response: Success\r\nActionID: {action_id}\r\n\r\n".encode())

    def push(self, **fields: str) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        for w in self.writers:
            w.write(text.encode())


@pytest.fixture
async def fake_ami() -> AsyncIterator[FakeAmi]:
    ami = FakeAmi()
    await ami.start()
    yield ami
    with contextlib.suppress(Exception):
        await ami.stop()


@contextlib.asynccontextmanager
async def running(listener: AmiSecurityListener) -> AsyncIterator[None]:
    task = asyncio.create_task(listener.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _listener(port: int, secret: str = "ami-secret") -> AmiSecurityListener:
    async def accounts() -> set[str]:
        return {"vol-1"}

    return AmiSecurityListener(
        "127.0.0.1", port, "helpline", secret, accounts, trunks=["192.0.2.1"], reconnect_s=1
    )


@pytest.fixture
def security_file(tmp_path: Path):
    path = tmp_path / "security.log"
    handler = security_log.attach_file(path)
    yield path
    security_log.detach(handler)


async def _lines(path: Path, count: int) -> list[str]:
    async with asyncio.timeout(5):
        while True:
            found = path.read_text().splitlines() if path.exists() else []
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)


def _failure(account: str, address: str) -> dict[str, str]:
    return {
        "Event": "ChallengeResponseFailed",
        "Privilege": "security,all",
        "Service": "PJSIP",
        "AccountID": account,
        "RemoteAddress": f"IPV4/UDP/{address}/5060",
    }


async def test_failures_become_lines_and_the_listener_reconnects(fake_ami, security_file):
    listener = _listener(fake_ami.port)
    async with running(listener):
        async with asyncio.timeout(5):
            await listener.logged_in.wait()
        fake_ami.push(Event="ChallengeSent", Service="PJSIP", AccountID="vol-1")
        fake_ami.push(**_failure("vol-1", "198.51.100.7"))
        fake_ami.push(**_failure(SECRET_NUMBER, "198.51.100.8"))
        first = await _lines(security_file, 2)

        # Asterisk restarts: the connection drops, the listener comes back by itself.
        port = fake_ami.port
        await fake_ami.stop()
        async with asyncio.timeout(5):
            while listener.logged_in.is_set():
                await asyncio.sleep(0.02)
        await fake_ami.start(port)
        async with asyncio.timeout(5):
            await listener.logged_in.wait()
        fake_ami.push(**_failure("vol-1", "198.51.100.9"))
        lines = await _lines(security_file, 3)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "failed SIP auth account=vol-1 from=198.51.100.7 event=ChallengeResponseFailed",
        "failed SIP auth account=unknown from=198.51.100.8 event=ChallengeResponseFailed",
        "failed SIP auth account=vol-1 from=198.51.100.9 event=ChallengeResponseFailed",
    ]
    assert lines[:2] == first
    assert fake_ami.logins == 2  # once, and once more after the reconnect


async def test_a_refused_login_is_a_warning_and_nothing_is_logged(fake_ami, caplog):
    listener = _listener(fake_ami.port, secret="wrong")
    async with running(listener):
        async with asyncio.timeout(5):
            while "login refused" not in caplog.text:
                await asyncio.sleep(0.02)
        assert not listener.logged_in.is_set()


async def test_stopping_while_asterisk_is_away_leaves_no_connection_behind(fake_ami):
    port = fake_ami.port
    await fake_ami.stop()
    listener = _listener(port)
    async with running(listener):
        await asyncio.sleep(0.1)  # a refused connection; a reconnect is scheduled
    await fake_ami.start(port)
    await asyncio.sleep(1.5)  # past the reconnect delay: the stopped listener must not return
    assert fake_ami.logins == 0 and fake_ami.writers == []
