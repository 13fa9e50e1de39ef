"""Chat end to end: 200 concurrent chats over real WebSockets against ``helpline run``.

Issue 12's figure. The whole path is the real one: ``helpline run`` (the app as ``make up``
starts it, on the browser tests' Asterisk and configuration, with the machine's Redis), 100
volunteers signed in over HTTP and ready, each holding two chats (``max_chats = 2``), and 200
children who open a chat (``POST /api/v1/chat``) and talk over their own WebSocket
(``/api/v1/chat/ws``); the volunteers take their offers from the supervisor's live state bus
socket (``POST .../accept``) and talk over their workspace socket (``/api/v1/me/chats/ws``).

Then for ``--seconds`` (60) every child sends a message every ``--every`` seconds (2.5, with a
random phase) and every volunteer answers each one. A message's latency runs from the
bench's clock just before the child's frame is sent to the volunteer's socket receiving it
(same process, same clock): the app's WebSocket, the hub, the Lua append to the transcript in
Redis and the fan-out. The replies are counted too: a message or reply that never arrives is
lost. The app's memory is its resident set (``VmRSS``) at the end, with 200 chats open.

    python bench/chat.py [--chats 200] [--seconds 60] [--every 2.5]

Prints ``chat_msg_p50_ms``, ``chat_msg_p99_ms``, ``chat_msg_max_ms``, ``chat_messages``,
``chat_lost_messages``, ``chat_chats`` and ``chat_app_rss_mb``. Needs root (the chrooted
Asterisk), Redis on 6379 and ``make build-softphone``; holds the integration tests' Asterisk
lock for its whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

import aiohttp  # noqa: E402

from bench.browser_app import running_app  # noqa: E402
from bench.browser_ring import percentile  # noqa: E402
from tests.browser.conftest import PASSWORD, SUPERVISOR, RunningHelpline  # noqa: E402

READY_TIMEOUT_S = 60.0
"""Time for every chat to be offered, accepted and joined."""


def bench_config(base: str, volunteers: int) -> str:
    """The browser tests' configuration with bench volunteers (chat only, two chats each)
    and the chat's limits raised to what a bench sends (the tests keep them low)."""
    text = base.replace("messages_per_10s = 5", "messages_per_10s = 60")
    text = text.replace("grace_s = 5", "grace_s = 120")
    text = text.replace("max_message_chars = 200", "max_message_chars = 2000")
    for i in range(volunteers):
        text += (
            f'\n[[volunteers]]\nid = "bench-{i:03d}"\nname = "Bench {i}"\nlocation = "utrecht"\n'
            f'password = "{PASSWORD}"\nlanguages = ["nl", "en"]\nskills = ["chat"]\n'
        )
    return text


class Volunteer:
    """One signed-in volunteer with a workspace socket; answers every child's message."""

    def __init__(self, vid: str, token: str, http: aiohttp.ClientSession, base: str) -> None:
        self.vid, self.token, self.http, self.base = vid, token, http, base
        self.joined: set[str] = set()
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def accept(self, chat_id: str) -> None:
        async with self.http.post(
            f"{self.base}/api/v1/me/chats/{chat_id}/accept", headers=self.headers
        ) as resp:
            if resp.status not in (200, 201, 409):  # 409: taken meanwhile (a late offer)
                raise RuntimeError(f"{self.vid} accept {chat_id}: {resp.status}")

    async def run(self, bench: Bench) -> None:
        self.ws = await self.http.ws_connect(
            f"{self.base.replace('http', 'ws', 1)}/api/v1/me/chats/ws", headers=self.headers
        )
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if kind == "joined":
                self.joined.add(frame["chat"])
                if bench.all_joined():
                    bench.joined.set()
            elif kind == "msg" and frame.get("from") == "child":
                bench.child_message_arrived(frame["text"])
                reply = {
                    "type": "msg",
                    "chat": frame["chat"],
                    "client_id": uuid.uuid4().hex[:12],
                    "text": "re:" + frame["text"],
                }
                await self.ws.send_str(json.dumps(reply))


class Child:
    """One child's chat: opens it, waits for a volunteer, sends and counts replies."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.token = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> None:
        async with self.http.post(
            f"{self.base}/api/v1/chat",
            json={"kind": "chat", "language": "nl"},
            headers={"Origin": self.base},
        ) as resp:
            body = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"opening a chat: {resp.status} {body}")
            self.token = body["token"]
        self.ws = await self.http.ws_connect(
            f"{self.base.replace('http', 'ws', 1)}/api/v1/chat/ws?token={self.token}",
            headers={"Origin": self.base},
        )

    async def listen(self, bench: Bench) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame.get("type") == "msg" and frame.get("from") == "volunteer":
                bench.replies += 1
            elif frame.get("type") == "error":
                bench.errors.append(frame.get("code", "?"))

    async def talk(self, bench: Bench, seconds: float, every: float) -> None:
        assert self.ws is not None
        await asyncio.sleep(random.uniform(0, every))
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            text = uuid.uuid4().hex
            bench.sent[text] = time.perf_counter()
            frame = {"type": "msg", "client_id": text[:12], "text": text}
            await self.ws.send_str(json.dumps(frame))
            await asyncio.sleep(every)


class Bench:
    def __init__(self, chats: int) -> None:
        self.chats = chats
        self.volunteers: dict[str, Volunteer] = {}
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.replies = 0
        self.errors: list[str] = []
        self.joined = asyncio.Event()
        self.rss_mb = float("nan")
        """The app's resident memory with every chat open."""

    def all_joined(self) -> bool:
        return sum(len(v.joined) for v in self.volunteers.values()) >= self.chats

    def child_message_arrived(self, text: str) -> None:
        sent = self.sent.get(text)
        if sent is not None:
            self.latencies.append((time.perf_counter() - sent) * 1000.0)


async def _login(http: aiohttp.ClientSession, base: str, vid: str) -> str:
    async with http.post(
        f"{base}/api/v1/session", json={"volunteer_id": vid, "password": PASSWORD}
    ) as resp:
        body = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"login {vid}: {resp.status} {body}")
        return str(body["token"])


async def _offers(http: aiohttp.ClientSession, base: str, token: str, bench: Bench) -> None:
    """The supervisor's live socket: every chat offer is accepted by the volunteer offered."""
    ws = await http.ws_connect(
        f"{base.replace('http', 'ws', 1)}/api/v1/live",
        headers={"Authorization": f"Bearer {token}"},
    )
    accepting: set[tuple[str, str]] = set()

    def agents_of(frame: dict[str, Any]) -> list[dict[str, Any]]:
        if frame.get("type") == "snapshot":
            return list(frame.get("agents", []))
        if frame.get("type") == "delta" and frame.get("kind") == "agent" and frame.get("data"):
            return [frame["data"]]
        return []

    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        data = json.loads(msg.data)
        frames = data if isinstance(data, list) else [data]  # the hub batches deltas
        for agent in (a for f in frames for a in agents_of(f)):
            offer, vid = agent.get("offer"), agent.get("agent_id")
            volunteer = bench.volunteers.get(vid or "")
            if offer and volunteer is not None and (vid, offer) not in accepting:
                accepting.add((vid, offer))
                asyncio.get_running_loop().create_task(volunteer.accept(offer))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(app: RunningHelpline, chats: int, seconds: float, every: float) -> Bench:
    bench = Bench(chats)
    base = app.base_url
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        ids = [f"bench-{i:03d}" for i in range(math.ceil(chats / 2))]
        # One at a time: the login pool refuses a crowd (429 busy), as it should.
        tokens = [await _login(http, base, vid) for vid in ids]
        for vid, token in zip(ids, tokens, strict=True):
            bench.volunteers[vid] = Volunteer(vid, token, http, base)
        tasks = [asyncio.create_task(v.run(bench)) for v in bench.volunteers.values()]
        supervisor = await _login(http, base, SUPERVISOR)
        tasks.append(asyncio.create_task(_offers(http, base, supervisor, bench)))
        for volunteer in bench.volunteers.values():
            async with http.post(
                f"{base}/api/v1/me/ready", json={}, headers=volunteer.headers
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"ready {volunteer.vid}: {resp.status}")
        children = [Child(http, base) for _ in range(chats)]
        for child in children:  # one after another, as children arrive
            await child.open()
        tasks += [asyncio.create_task(c.listen(bench)) for c in children]
        await asyncio.wait_for(bench.joined.wait(), READY_TIMEOUT_S)
        await asyncio.gather(*(c.talk(bench, seconds, every) for c in children))
        await asyncio.sleep(3.0)  # the last messages and replies in flight
        assert app.process is not None
        bench.rss_mb = _rss_mb(app.process.pid)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for child in children:
            if child.ws is not None:
                await child.ws.close()
        for volunteer in bench.volunteers.values():
            if volunteer.ws is not None:
                await volunteer.ws.close()
    return bench


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=2.5)
    args = parser.parse_args(argv)
    volunteers = math.ceil(args.chats / 2)
    with running_app("chat", lambda text: bench_config(text, volunteers)) as app:
        try:
            bench = asyncio.run(measure(app, args.chats, args.seconds, args.every))
        except BaseException:
            print(app.log_tail(60), file=sys.stderr)
            raise
    sent = len(bench.sent)
    lost = (sent - len(bench.latencies)) + (len(bench.latencies) - bench.replies)
    if not bench.latencies:
        print("error: no message arrived", file=sys.stderr)
        return 1
    print(f"chat_chats={args.chats}")
    print(f"chat_messages={sent}")
    print(f"chat_msg_p50_ms={percentile(bench.latencies, 50):.1f}")
    print(f"chat_msg_p99_ms={percentile(bench.latencies, 99):.1f}")
    print(f"chat_msg_max_ms={max(bench.latencies):.1f}")
    print(f"chat_lost_messages={lost}")
    print(f"chat_refused={len(bench.errors)}")
    print(f"chat_app_rss_mb={bench.rss_mb:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
