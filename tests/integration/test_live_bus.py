"""The live state bus against the real app: a real call through the real Asterisk, watched over
``/api/v1/live`` by two volunteers and a supervisor, and stored in the real Redis Stream.

- a volunteer's socket sees their own offer and nothing of the other volunteer;
- a supervisor's sees every change, in order, and so does the stream another process reads;
- a supervisor that reconnects with its last seq misses nothing;
- a stalled client (it stops reading) costs a bounded queue and gets a fresh snapshot;
- the caller's number and name (in the carrier's From) are nowhere on the bus.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

import acd
from storage import db
from storage.live_stream import LiveStream
from storage.volunteers import VolunteerDirectory
from tests.integration.app_harness import RunningApp, running_app
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone
from tests.integration.sipp import SECRET_CALLER_NAME, SECRET_CALLER_NUMBER
from web import MemorySessionStore, create_app, live_hub

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

PASSWORD = "live bus test password"


@dataclass
class Web:
    client: TestClient[Any, Any]

    async def login(self, volunteer_id: str) -> str:
        resp = await self.client.post(
            "/api/v1/session",
            json={"volunteer_id": volunteer_id, "password": PASSWORD, "location": "utrecht"},
        )
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["token"])

    async def ready(self, token: str) -> None:
        resp = await self.client.post("/api/v1/me/ready", headers=_bearer(token))
        assert resp.status == 200, await resp.text()

    async def watch(self, token: str, after: int | None = None) -> Watcher:
        query = "" if after is None else f"?after={after}"
        ws = await self.client.ws_connect(f"/api/v1/live{query}", headers=_bearer(token))
        return Watcher(ws)


class Watcher:
    """A live-bus client that keeps every message it receives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)  # one message, or several in order
                self.messages.extend(data if isinstance(data, list) else [data])

    async def close(self) -> None:
        await self.ws.close()
        await self._task

    def deltas(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "delta"]

    def text(self) -> str:
        return json.dumps(self.messages)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def web_for(run: RunningApp, tmp_path: Any, cfg: Any) -> AsyncIterator[Web]:
    """The HTTP API around the running app, as ``serve`` builds it; accounts in SQLite."""
    engine = db.make_engine(f"sqlite:///{tmp_path}/accounts.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    for user in ("test-udp-1", "test-udp-2"):
        directory.add(user, user, "utrecht", ["phone"], ["nl"], PASSWORD)
    directory.add("sup-1", "Supervisor", "utrecht", ["phone"], ["nl"], PASSWORD, role="supervisor")
    app = create_app(cfg, directory, run.gateway, MemorySessionStore())
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Web(client)
    finally:
        await client.close()
        engine.dispose()


async def _quiet(*watchers: Watcher, for_s: float = 0.5) -> None:
    """Until no watcher has received anything for ``for_s``."""
    while True:
        counts = [len(w.messages) for w in watchers]
        await asyncio.sleep(for_s)
        if counts == [len(w.messages) for w in watchers]:
            return


def _consecutive(deltas: list[dict[str, Any]], after: int) -> bool:
    return [d["seq"] for d in deltas] == list(range(after + 1, after + 1 + len(deltas)))


async def test_a_real_call_on_the_bus(asterisk, tmp_path, redis):
    cfg = asterisk.cfg
    async with running_app(asterisk, tmp_path, live_stream=True) as run:
        async with (
            web_for(run, tmp_path, cfg) as api,
            VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.3)) as phone,
            VolunteerPhone.of(asterisk, "test-udp-2", mode=AutoAnswer(0.3)) as other_phone,
        ):
            await phone.registered()
            await other_phone.registered()
            supervisor = await api.watch(await api.login("sup-1"))
            first = await api.login("test-udp-1")
            second = await api.login("test-udp-2")
            mine, theirs = await api.watch(first), await api.watch(second)
            await api.ready(first)  # idle longest: the call is offered to them
            await api.ready(second)
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await phone.wait_incoming()
                await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                await _quiet(supervisor)
                # The supervisor's connection breaks here; it comes back with its last seq.
                await supervisor.close()
                last = supervisor.deltas()[-1]["seq"]
                await caller.hangup()
            await run.wait_for(lambda: run.state("test-udp-1") == "wrap_up")
            resumed = await api.watch(await api.login("sup-1"), after=last)
            await _quiet(mine, theirs, resumed)
            await mine.close()
            await theirs.close()
            await resumed.close()

        # The volunteer who took the call saw it ring for them, then connect, then go.
        assert mine.messages[0]["type"] == "snapshot"
        contact = [d for d in mine.deltas() if d["kind"] == "contact"]
        states = [d["data"] and (d["data"]["state"], d["data"]["agent_id"]) for d in contact]
        assert ("offered", "test-udp-1") in states and ("connected", "test-udp-1") in states
        assert states[-1] is None  # over: gone from their view
        assert {d["id"] for d in mine.deltas() if d["kind"] == "agent"} == {"test-udp-1"}
        assert "test-udp-2" not in mine.text() and "sup-1" not in mine.text()
        # The other volunteer saw themselves and the queue figures: no contact, no colleague.
        assert {d["kind"] for d in theirs.deltas()} <= {"agent", "queue"}
        assert {d["id"] for d in theirs.deltas() if d["kind"] == "agent"} == {"test-udp-2"}
        assert "test-udp-1" not in theirs.text()
        assert all(set(d["data"]) == {"date", "channels"} for d in theirs.deltas()
                   if d["kind"] == "queue")  # fmt: skip

        # The supervisor saw every change in order, before and after its reconnect.
        snap = supervisor.messages[0]
        assert snap["type"] == "snapshot"
        assert resumed.messages[0]["type"] == "delta"  # resumed from the buffer
        everything = supervisor.deltas() + resumed.deltas()
        assert _consecutive(everything, snap["seq"])
        contact_id = contact[0]["id"]
        assert [d["data"] for d in everything if d["id"] == contact_id][-1] is None
        assert {"test-udp-1", "test-udp-2", contact_id} <= {d["id"] for d in everything}

        # Another process reads the same deltas from the Redis Stream.
        stream = LiveStream(redis, run.prefix)
        stored: list[dict[str, Any]] = []
        async with asyncio.timeout(5):
            while len(stored) < len(everything):  # its flusher writes a moment later
                stored = await stream.read_after(snap["seq"], count=10_000)
                await asyncio.sleep(0.05)
        stored = [d for d in stored if d["seq"] <= everything[-1]["seq"]]  # later: logouts
        assert [(d["seq"], d["kind"], d["key"], d["data"]) for d in stored] == [
            (d["seq"], d["kind"], d["id"], d["data"]) for d in everything
        ]

        # No identifier of the child anywhere: not to anyone, not in Redis.
        raw = await redis.xrange(f"{run.prefix}:live")
        for text in (mine.text(), theirs.text(), supervisor.text(), resumed.text(), str(raw)):
            assert SECRET_CALLER_NUMBER not in text
            assert SECRET_CALLER_NAME not in text


class StalledClient:
    """A WebSocket client on a plain socket with a tiny receive buffer that stops reading."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(
            b"GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"
        )
        self._buf = b""
        self._pending: list[dict[str, Any]] = []
        while b"\r\n\r\n" not in self._buf:
            self._buf += self.sock.recv(4096)
        head, _, self._buf = self._buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def _exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "closed"
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def read_message(self) -> dict[str, Any]:
        """The next message (server frames are unmasked and, from aiohttp, unfragmented; a
        frame holds one message or an array of them)."""
        while not self._pending:
            b0, b1 = self._exactly(2)
            length = b1 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._exactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._exactly(8))
            payload = self._exactly(length)
            if b0 & 0x0F == 0x1:
                data = json.loads(payload)
                self._pending.extend(data if isinstance(data, list) else [data])
        return self._pending.pop(0)


async def test_a_stalled_client_gets_a_snapshot_and_costs_a_bounded_queue(
    asterisk, tmp_path, monkeypatch
):
    monkeypatch.setattr(live_hub, "CLIENT_QUEUE", 32)
    cfg = asterisk.cfg
    async with running_app(asterisk, tmp_path) as run, web_for(run, tmp_path, cfg) as api:
        token = await api.login("sup-1")
        port = api.client.server.port
        assert port is not None
        stalled = await asyncio.to_thread(StalledClient, port, token)
        hub = run.gateway.live_hub()
        await run.wait_for(lambda: hub.clients == 1)
        # Volunteers come and go: thousands of changes while the client reads nothing.
        for round_ in range(400):
            agent_id = f"load-{round_ % 40}"
            await run.gateway.login(agent_id, "utrecht", frozenset(), frozenset({"nl"}))
            await run.gateway.submit(acd.AgentReady(agent_id))
            await run.gateway.submit(acd.AgentLoggedOut(agent_id))
            assert hub.max_queued() <= 32
        assert hub.overflows() >= 1
        first = await asyncio.to_thread(stalled.read_message)
        assert first["type"] == "snapshot"  # the first, on connect
        messages = [first]
        while messages[-1]["seq"] < hub.seq:  # now it reads: until it is up to date
            messages.append(await asyncio.to_thread(stalled.read_message))
        assert messages[-1]["seq"] == hub.seq
        # What it got: snapshots, each followed by the deltas after it, never a hole; and at
        # least one snapshot instead of a backlog that no longer fit its queue.
        expected = None
        for message in messages:
            if message["type"] == "snapshot":
                assert expected is None or message["seq"] >= expected - 1
            else:
                assert message["seq"] == expected
            expected = message["seq"] + 1
        assert sum(m["type"] == "snapshot" for m in messages) >= 2
        assert len(messages) < (hub.seq - first["seq"]) / 2  # most changes were never queued
        stalled.sock.close()
