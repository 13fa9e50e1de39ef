"""Chat relay benchmark: 200 open chats on the real Redis, messages both ways through the hub.

Each chat has a child socket and its volunteer's workspace socket (fake sockets in memory, so
the figure is the hub's and Redis's, not a browser's). Messages arrive as a Poisson stream
over all chats (``--rate`` per second, both directions alike); the latency of one message is
from the frame handed to the hub until the other side's socket was given it: the Lua append
(transcript, TTLs), the receipt to the sender and the fan-out.

    python bench/chat_relay.py [--chats 200] [--messages 4000] [--rate 400] [--redis URL]

The target (issue 12) is p99 <= 50 ms at 200 chats. The last lines are machine-readable:
``chat_relay_p50_ms``, ``chat_relay_p99_ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis.asyncio as aioredis

from chat.hub import ChatHub, Conn
from chat.ids import new_chat_id
from chat.store import ChatMeta, ChatStore, StoreSettings


class Presence:
    def child_away(self, chat_id: str) -> None:
        pass

    def child_back(self, chat_id: str) -> None:
        pass

    def child_left(self, chat_id: str) -> None:
        pass


class TimedSocket:
    """Notes when each message frame (by its text) reached it."""

    def __init__(self, arrived: dict[str, float]) -> None:
        self.arrived = arrived

    async def send_str(self, data: str) -> None:
        frame = json.loads(data)
        if frame.get("type") == "msg":
            self.arrived[frame["text"]] = time.perf_counter()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        return True


async def run(chats: int, messages: int, rate: float, url: str) -> list[float]:
    client = aioredis.Redis.from_url(url)
    prefix = f"helpline-bench-{uuid.uuid4().hex[:8]}:"
    store = ChatStore(client, prefix, StoreSettings(ttl_s=600))
    hub = ChatHub(store, Presence(), max_chars=2000, messages_per_10s=10_000)
    arrived: dict[str, float] = {}
    sent: dict[str, float] = {}
    pumps: list[asyncio.Task[None]] = []
    pairs: list[tuple[str, Conn, Conn]] = []
    try:
        for i in range(chats):
            chat_id = new_chat_id()
            await store.create(ChatMeta(chat_id, False, "nl", "116111", time.time()), f"t{i}")
            child = await hub.attach_child(chat_id, TimedSocket(arrived))
            agent = f"vol-{i // 2}"  # two chats per volunteer, as max_chats allows
            vol = hub.attach_volunteer(agent, TimedSocket(arrived))
            await hub.joined(chat_id, agent, None)
            pumps += [asyncio.create_task(child.pump()), asyncio.create_task(vol.pump())]
            pairs.append((chat_id, child, vol))
        rng = random.Random(116111)
        inflight: set[asyncio.Task[None]] = set()

        async def one(n: int) -> None:
            chat_id, child, vol = pairs[rng.randrange(len(pairs))]
            text = f"m{n} " + "x" * rng.randrange(10, 200)
            sent[text] = time.perf_counter()
            if n % 2:
                await hub.child_frame(child, json.dumps({"type": "msg", "text": text}))
            else:
                frame = {"type": "msg", "chat": chat_id, "text": text}
                await hub.volunteer_frame(vol, json.dumps(frame))

        start = time.perf_counter()
        due = start
        for n in range(messages):
            due += rng.expovariate(rate)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(n))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        await asyncio.gather(*inflight)
        while len(arrived) < messages:  # the last sockets' pumps
            await asyncio.sleep(0.01)
        return [(arrived[t] - sent[t]) * 1000 for t in sent]
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=400.0, help="messages per second")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    latencies = sorted(asyncio.run(run(args.chats, args.messages, args.rate, args.redis)))
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    out: dict[str, Any] = {
        "chats": args.chats,
        "messages": len(latencies),
        "rate_per_s": args.rate,
        "max_ms": round(latencies[-1], 2),
    }
    print(json.dumps(out))
    print(f"chat_relay_p50_ms {statistics.median(latencies):.2f}")
    print(f"chat_relay_p99_ms {p99:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
