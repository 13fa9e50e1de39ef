"""The floor: the least a Stasis app can do to put a caller through to a volunteer.

No Redis, no SQL, no IVR, no journal: on a caller's StasisStart it originates to the next free
volunteer (round-robin over those not on a call; callers wait in FIFO order when all are busy),
answers the caller, and when the volunteer answers (their leg enters Stasis) bridges the two.
When either side leaves, the other is hung up and the volunteer goes to the back of the line.
Plain aiohttp and json, one websocket, one HTTP session: whatever a real design adds on top of
this is the design's cost; the rest is Asterisk's ARI path and Python's.

``bench/e2e.py`` runs it as a separate process (so our app's loop, idle in the bench process,
does not share its event loop). On SIGTERM it writes, for every caller, when the StasisStart
frame arrived and when the originate request went out (wall clock, seconds), to ``--stats``.

    python -m bench.floor --ari http://127.0.0.1:8098/ari --user U --password P \
        --app bench-floor --volunteers bench-01,bench-02 --stats floor.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from runtime.asterisk import AriAccess

REPO = Path(__file__).resolve().parent.parent

VOLUNTEER_ARG = "volunteer"
"""appArgs of the volunteer legs we originate (callers come with no arguments)."""


class Floor:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, app: str, volunteers: Sequence[str]
    ) -> None:
        self.session = session
        self.base = base_url.rstrip("/")
        self.app = app
        self.free: deque[str] = deque(volunteers)
        self.waiting: deque[str] = deque()
        self.leg_of: dict[str, str] = {}
        """caller channel -> volunteer leg channel."""
        self.caller_of: dict[str, tuple[str, str]] = {}
        """volunteer leg channel -> (caller channel, volunteer)."""
        self.callers: set[str] = set()
        self.seen: dict[str, float] = {}
        """caller channel -> when its StasisStart frame arrived (time.time())."""
        self.originated: dict[str, float] = {}
        """caller channel -> when the originate request went out (time.time())."""
        self.handled_us: list[float] = []
        """Frame received -> originate request handed to aiohttp, microseconds."""
        self.talking: set[str] = set()
        """Volunteer legs that answered."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._legs = 0

    def _spawn(self, method: str, path: str, **params: str) -> None:
        """Fire an ARI request without waiting for it (404 races are expected, ignored)."""
        task = asyncio.create_task(self._request(method, path, params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _request(self, method: str, path: str, params: dict[str, str]) -> None:
        try:
            async with self.session.request(method, self.base + path, params=params) as resp:
                await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            print(f"floor: {method} {path.split('?')[0]}: {type(exc).__name__}", file=sys.stderr)

    def on_frame(self, data: str, received: float, t0: float) -> None:
        event: dict[str, Any] = json.loads(data)
        kind = event.get("type")
        channel = event.get("channel", {}).get("id", "")
        if kind == "StasisStart":
            args = event.get("args") or []
            if args[:1] == [VOLUNTEER_ARG]:
                self._answered(channel)
            else:
                self.callers.add(channel)
                self.seen[channel] = received
                self._offer(channel, t0)
                self._spawn("POST", f"/channels/{channel}/answer")
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            self._gone(channel)

    def _offer(self, caller: str, t0: float | None = None) -> None:
        if not self.free:
            self.waiting.append(caller)
            return
        volunteer = self.free.popleft()
        self._legs += 1
        leg = f"floor-{self._legs}"
        self.leg_of[caller] = leg
        self.caller_of[leg] = (caller, volunteer)
        self._spawn(
            "POST",
            "/channels",
            endpoint=f"PJSIP/{volunteer}",
            app=self.app,
            appArgs=VOLUNTEER_ARG,
            channelId=leg,
            originator=caller,
            callerId='"Bench" <116111>',
            timeout="15",
        )
        if caller not in self.originated:
            self.originated[caller] = time.time()
            if t0 is not None:
                self.handled_us.append((time.perf_counter() - t0) * 1e6)

    def _answered(self, leg: str) -> None:
        pair = self.caller_of.get(leg)
        if pair is None or pair[0] not in self.callers:
            self._spawn("DELETE", f"/channels/{leg}")
            return
        caller = pair[0]
        self.talking.add(leg)
        bridge = f"floor-bridge-{leg}"
        self._spawn_bridge(bridge, caller, leg)

    def _spawn_bridge(self, bridge: str, caller: str, leg: str) -> None:
        async def run() -> None:
            await self._request("POST", "/bridges", {"type": "mixing", "bridgeId": bridge})
            path = f"/bridges/{bridge}/addChannel"
            await self._request("POST", path, {"channel": f"{caller},{leg}"})

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _gone(self, channel: str) -> None:
        if channel in self.callers:
            self.callers.discard(channel)
            with_leg = self.leg_of.pop(channel, None)
            if channel in self.waiting:
                self.waiting.remove(channel)
            if with_leg is not None:
                self._spawn("DELETE", f"/channels/{with_leg}")
                self._spawn("DELETE", f"/bridges/floor-bridge-{with_leg}")
        elif channel in self.caller_of:
            caller, volunteer = self.caller_of.pop(channel)
            self.free.append(volunteer)
            if caller in self.callers and self.leg_of.get(caller) == channel:
                # The volunteer left: the call is over; or never answered: the next one.
                del self.leg_of[caller]
                if channel in self.talking:
                    self._spawn("DELETE", f"/channels/{caller}")
                else:
                    self.waiting.appendleft(caller)
            self.talking.discard(channel)
            if self.waiting:
                self._offer(self.waiting.popleft())


async def run(args: argparse.Namespace, stop: asyncio.Event) -> Floor:
    auth = base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        floor = Floor(session, args.ari, args.app, args.volunteers.split(","))
        ws_url = "ws" + args.ari.removeprefix("http") + "/events"
        async with session.ws_connect(ws_url, params={"app": args.app}) as ws:
            # Only the three event types used here cross the websocket.
            allowed = [{"type": t} for t in ("StasisStart", "StasisEnd", "ChannelDestroyed")]
            async with session.put(
                f"{floor.base}/applications/{args.app}/eventFilter", json={"allowed": allowed}
            ) as resp:
                await resp.read()
            Path(args.ready).touch()
            stopper = asyncio.create_task(stop.wait())
            while not stop.is_set():
                receive = asyncio.create_task(ws.receive())
                done, _ = await asyncio.wait({receive, stopper}, return_when="FIRST_COMPLETED")
                if receive not in done:
                    receive.cancel()
                    break
                msg = receive.result()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                floor.on_frame(msg.data, time.time(), time.perf_counter())
            stopper.cancel()
        await asyncio.gather(*floor._tasks, return_exceptions=True)
    return floor


class FloorProcess:
    """``bench/floor.py`` in its own process, for the whole bench."""

    def __init__(self, ari: AriAccess, app: str, volunteers: Sequence[str], workdir: Path) -> None:
        self.stats_file = workdir / "floor-stats.json"
        self._ready = workdir / "floor-ready"
        self._out = workdir / "floor.out"
        self._args = [
            sys.executable, "-m", "bench.floor",
            "--ari", ari.base_url, "--user", ari.user, "--password", ari.password,
            "--app", app, "--volunteers", ",".join(volunteers),
            "--stats", str(self.stats_file), "--ready", str(self._ready),
        ]  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> FloorProcess:
        with self._out.open("wb") as sink:
            self._process = await asyncio.create_subprocess_exec(
                *self._args, cwd=REPO, stdout=sink, stderr=asyncio.subprocess.STDOUT
            )
        async with asyncio.timeout(15):
            while not self._ready.exists():
                if self._process.returncode is not None:
                    output = self._out.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the floor app exited at once:\n{output}")
                await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()

    def stamps(self) -> tuple[list[tuple[float, float]], list[float]]:
        """(StasisStart read, originate started) per caller, and the floor's own microseconds."""
        try:
            data = json.loads(self.stats_file.read_text())
        except (OSError, ValueError):
            return [], []
        pairs = [(s, o) for s, o in zip(data["seen"], data["originated"], strict=True) if o]
        return pairs, [float(us) for us in data["handled_us"]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ari", required=True, help="e.g. http://127.0.0.1:8098/ari")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--app", default="bench-floor")
    parser.add_argument("--volunteers", required=True, help="SIP users, comma-separated")
    parser.add_argument("--stats", required=True, help="JSON file written on exit")
    parser.add_argument("--ready", required=True, help="file touched once connected")
    args = parser.parse_args(argv)

    async def main_async() -> Floor:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await run(args, stop)

    floor = asyncio.run(main_async())
    stats = {
        "seen": [floor.seen[c] for c in floor.seen],
        "originated": [floor.originated.get(c) for c in floor.seen],
        "handled_us": floor.handled_us,
    }
    Path(args.stats).write_text(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
