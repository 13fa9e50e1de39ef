"""``helpline live``: follow the live state bus from another process, as JSON lines.

For IT staff and scripts: what a supervisor's screen would receive, read from the Redis
Stream the serving process writes (``storage.live_stream``), not from the app. Without
``--after`` it starts with the newest snapshot; with it, it resumes after that sequence
number. When the stream has a hole (trimmed, or dropped while Redis was away) it prints a
fresh snapshot and goes on from there. There is no caller identity on the bus.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from config.settings import HelplineConfig
from helpline.cli_support import EXIT_FAILURE, EXIT_OK, config_or_report
from storage.errors import LiveStateError, LiveStreamGap
from storage.live_stream import LiveStream

Printer = Callable[[str], None]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("live", help="follow the live state bus (JSON lines)")
    parser.add_argument(
        "--after",
        type=int,
        default=None,
        metavar="SEQ",
        help="resume after this sequence number (default: newest snapshot)",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=None,
        metavar="N",
        help="stop after N changes (default: follow until interrupted)",
    )
    parser.set_defaults(func=_live)  # fmt: skip


def _live(args: argparse.Namespace) -> int:
    cfg = config_or_report(args)
    if cfg is None:
        return 2
    try:
        asyncio.run(follow_bus(cfg, args.after, args.count, print_line))
    except KeyboardInterrupt:
        return EXIT_OK
    except LiveStateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def print_line(text: str) -> None:
    print(text, flush=True)


async def follow_bus(
    cfg: HelplineConfig, after: int | None, count: int | None, out: Printer
) -> None:
    """Print the bus from ``after`` (or the newest snapshot) until ``count`` changes."""
    client = aioredis.from_url(cfg.redis.url)
    stream = LiveStream(client, cfg.redis.prefix.rstrip(":"))
    seen = 0
    try:
        if after is None:
            after = await _print_snapshot(stream, out)
        while count is None or seen < count:
            try:
                async for delta in stream.follow(after):
                    out(_dumps({"type": "delta", **_public(delta)}))
                    after = int(delta["seq"])
                    seen += 1
                    if count is not None and seen >= count:
                        return
            except LiveStreamGap:
                after = await _print_snapshot(stream, out)
    finally:
        await client.aclose()


async def _print_snapshot(stream: LiveStream, out: Printer) -> int:
    stored = await stream.snapshot()
    if stored is None:
        seq = await stream.last_seq()
        out(_dumps({"type": "snapshot", "seq": seq, "state": None}))
        return seq
    seq, state = stored
    out(_dumps({"type": "snapshot", **state, "seq": seq}))
    return seq


def _public(delta: dict[str, Any]) -> dict[str, Any]:
    """The message as a supervisor's client gets it (no audience bookkeeping)."""
    return {"seq": delta["seq"], "kind": delta["kind"], "id": delta["key"], "data": delta["data"]}


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))
