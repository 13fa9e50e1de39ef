"""The live state bus under load: the delay to every WebSocket client, and a stalled client.

200 clients subscribe to ``GET /api/v1/live`` (20 supervisors, who see every delta, and 180
volunteers, who see their own record and contacts and the public queue figures) while
``bench/e2e.py``-style SIP load runs through the bench Asterisk: sipp callers from the carrier
address at ``--rate`` calls/s to 116111, answered by ``--volunteers`` sipp phones. The other
volunteer clients are listen-only accounts (chat skill only, so never offered a call): they
log in, go ready, and pause and go ready once more at a random moment of the load, so they
receive their own agent deltas and every queue figure; the supervisors only log in. This
process runs the app (``helpline.service.serve``, in-process as in ``e2e.py``), logs every
account in (50 logins per loopback address, under the app's per-address limit) and makes the
pause/ready calls. The 200 WebSocket clients run in a process of their own (this file with
``--client-fleet``: one event loop, one aiohttp ClientSession) that connects to the app's
public port, so their reading and JSON parsing is not on the app's event loop. Asterisk, ports,
lock, phones and callers are ``e2e.py``'s and ``rig.py``'s.

Latency: a delta carries ``at``, the server's Unix time when the engine's writer published it
(right after the core's step: the step itself is not included here; ``e2e.py``'s ring times
measure it). A client's delay for a delta is its receive time (``time.time()``) minus ``at``;
"every client has it" is the largest delay among the clients that received that delta. The
percentiles are over the deltas published after every client had its first snapshot. Both
times are read from the same machine clock. The client process has its own event loop but
shares the machine's two cores with the app, Asterisk and sipp, so a busy machine still shows
in the figure.

Stalled client: one more supervisor that opens the WebSocket over a plain socket with a tiny
``SO_RCVBUF`` and then reads nothing (the app gives every live socket a 64 KiB kernel send
buffer, ``web.live_api.SEND_BUFFER_BYTES``, so the stall reaches the hub's queue within
seconds). ``--stall load`` (default) reads nothing until the load is over;
``--stall overflow`` starts reading as soon as the hub has dropped its queue once; a number
stalls that many seconds. Then it reads everything buffered and says how its stream went on:
a fresh snapshot (what the hub gives a client whose queue overflowed), a close frame, or the
end of the connection. The stalled client stays in this process: it finds its subscription
through a hook on the hub. The app's memory is this process's RSS (``/proc/self/status``: VmRSS
before and after the load, VmHWM for the peak since start): the app, the bench's own code and
the stalled client, no longer the 200 clients (their process's peak is printed apart).

    python bench/live.py [--volunteers 20] [--listeners 200] [--supervisors 20]
                         [--rate 10] [--calls 300] [--stall load|overflow|<s>]

Last lines (name=value): live_p50_ms, live_p99_ms, live_deltas, live_clients,
live_client_queue, live_rss_mb_start, live_rss_mb_end, live_rss_mb_max,
live_stalled_got_snapshot, live_stalled_overflows. Needs root (chroot), sipp, Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import math
import os
import random
import socket
import struct
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Bench accounts are created fresh each run: hash their passwords cheaply.
os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

import aiohttp  # noqa: E402

import web.live_hub as live_hub  # noqa: E402
from bench.e2e import (  # noqa: E402
    NUMBERS,
    PASSWORD,
    Settings,
    make_phones,
    running_app,
    volunteer_ids,
)
from bench.rig import Callers, PortPool, RigError, run_locked  # noqa: E402
from bench.traces import percentile  # noqa: E402
from config.settings import HelplineConfig  # noqa: E402
from runtime.simulate import CARRIER_IP  # noqa: E402
from web.live_api import SEND_BUFFER_BYTES, SEND_TIMEOUT_S  # noqa: E402

LOCATION = "bench"
LISTENER = "bench-l-{:03d}"
SUPERVISOR = "bench-sup-{:02d}"
STALLED = "bench-sup-stalled"
STALLED_RCVBUF = 1024
"""The stalled client's receive buffer (Linux makes it 2304 bytes, its minimum)."""
CONNECTING = 50
"""Connects in progress at once (see ``listen``)."""
TARGET_P99_MS = 50.0
SEED = 116111


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """What one run does."""

    phones: int
    """Volunteers with sipp phones, taking the calls."""
    listeners: int
    """WebSocket clients in all (supervisors included; the stalled one is extra)."""
    supervisors: int
    rate: float
    calls: int
    hold_ms: tuple[int, int]
    answer_ms: int
    stall: str
    """"load", "overflow", or seconds."""
    client_queue: int | None
    """Overrides ``web.live_hub.CLIENT_QUEUE`` when given."""

    @property
    def listen_only(self) -> int:
        return self.listeners - self.supervisors - self.phones

    def e2e(self) -> Settings:
        return Settings(
            volunteers=self.phones,
            rates=(self.rate,),
            calls=self.calls,
            hold_ms=self.hold_ms,
            answer_ms=self.answer_ms,
            ring_timeout_s=10,
            wrap_up_s=0,
            systems=("acd",),
        )


# ----------------------------------------------------------------------------- accounts


def add_accounts(
    cfg: HelplineConfig, listen_only: Sequence[str], supervisors: Sequence[str]
) -> None:
    """Listen-only volunteers and supervisors, in SQL before the app starts."""
    from storage.db import make_engine
    from storage.volunteers import VolunteerDirectory

    engine = make_engine(cfg.database.url)
    try:
        directory = VolunteerDirectory.from_config(engine, cfg)
        for vid in listen_only:
            directory.add(vid, vid, LOCATION, ["chat"], ["nl"], PASSWORD)
        for vid in supervisors:
            directory.add(vid, vid, LOCATION, ["chat"], ["nl"], PASSWORD, role="supervisor")
    finally:
        engine.dispose()


API_TIMEOUT = aiohttp.ClientTimeout(total=15)


LOGINS_PER_SOURCE = 50
"""Logins from one loopback address, well under the app's per-address limit
(``[logins] per_address``, 1000 in 10 minutes by default; 100 when this was written): the
bench is not about the guard."""


def login_source(i: int) -> str:
    """The address the i-th login comes from: 127.0.20.1, 127.0.20.2, ... (127/8 is loopback)."""
    return f"127.0.20.{1 + i // LOGINS_PER_SOURCE}"


class Api:
    """The few volunteer API calls the bench makes; logins from a few loopback addresses."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self._logins = 0
        self._sources: dict[str, aiohttp.ClientSession] = {}

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        http: aiohttp.ClientSession | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (http or self.http).request(
            method, self.base + path, json=body, headers=headers, timeout=API_TIMEOUT
        ) as r:
            data = await r.json(content_type=None)
            if r.status >= 300:
                raise RigError(f"{method} {path}: HTTP {r.status} {data}")
            return data

    async def login(self, vid: str) -> str:
        source = login_source(self._logins)
        self._logins += 1
        if source not in self._sources:
            connector = aiohttp.TCPConnector(local_addr=(source, 0))
            self._sources[source] = aiohttp.ClientSession(connector=connector)
        body = {"volunteer_id": vid, "password": PASSWORD, "location": LOCATION}
        data = await self.call("POST", "/session", None, body, self._sources[source])
        return str(data["token"])

    async def close(self) -> None:
        """The login sessions (``http`` is the caller's)."""
        for session in self._sources.values():
            await session.close()

    async def ready(self, token: str) -> None:
        await self.call("POST", "/me/ready", token)

    async def pause(self, token: str) -> None:
        await self.call("POST", "/me/pause", token, {"reason": "break"})


# ----------------------------------------------------------------------------- listeners


@dataclass
class Tally:
    """What all listeners received."""

    worst: dict[int, float] = field(default_factory=dict)
    """Delta seq -> the largest delay (s) of any client that received it."""
    each: list[float] = field(default_factory=list)
    """Every (client, delta) delay (s), after ``start_seq``."""
    start_seq: int | None = None
    """Deltas after this seq were published while every client was subscribed."""
    subscribed: int = 0
    failed: int = 0
    """Clients that never got their first snapshot."""
    all_subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0


@dataclass
class Listener:
    vid: str
    token: str
    supervisor: bool
    deltas: int = 0
    snapshots: int = 0
    gaps: int = 0
    """Supervisors only (they see every seq): a seq that is not one more than the last."""
    last_seq: int = 0
    error: str | None = None


async def listen(
    http: aiohttp.ClientSession, url: str, who: Listener, tally: Tally, gate: asyncio.Semaphore
) -> None:
    """Subscribe and tally every delta until cancelled.

    ``gate`` limits the connects in progress: each one reads the session from Redis, and more
    than the app's Redis pool holds (redis-py's default, 100) at once are refused.
    """
    headers = {"Authorization": f"Bearer {who.token}"}
    await gate.acquire()
    waiting = True
    try:
        async with http.ws_connect(url, headers=headers, max_msg_size=0) as ws:
            async for msg in ws:
                now = time.time()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)  # one message, or several in order
                for message in data if isinstance(data, list) else [data]:
                    seq = int(message["seq"])
                    if message["type"] == "snapshot":
                        who.snapshots += 1
                        who.last_seq = seq
                        if waiting:
                            waiting = False
                            gate.release()
                            tally.subscribed += 1
                            if tally.subscribed + tally.failed == tally.expected:
                                tally.all_subscribed.set()
                        continue
                    who.deltas += 1
                    if who.supervisor and seq != who.last_seq + 1:
                        who.gaps += 1
                    who.last_seq = seq
                    if tally.start_seq is not None and seq > tally.start_seq:
                        delay = now - float(message["at"])
                        tally.each.append(delay)
                        if delay > tally.worst.get(seq, -math.inf):
                            tally.worst[seq] = delay
            who.error = f"closed ({ws.close_code})"
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
        who.error = f"{type(exc).__name__}: {exc}"
    finally:
        if waiting:
            gate.release()
            tally.failed += 1
            if tally.subscribed + tally.failed == tally.expected:
                tally.all_subscribed.set()


# ----------------------------------------------------------------------------- the client process


async def _line(reader: asyncio.StreamReader) -> Any:
    """The next JSON line from the other process."""
    line = await reader.readline()
    if not line:
        raise EOFError
    return json.loads(line)


async def _stdin() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def _say(message: Any) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def client_fleet() -> None:
    """The clients' process: subscribe every client, tally until told the load is over.

    Talks JSON lines: reads ``{"url", "clients": [[vid, token, supervisor], ...]}`` on stdin,
    says ``{"subscribed", "failed", "start_seq"}``, reads ``"load"`` (the load starts) and
    ``"stop"``, then says the tallies and exits. Tokens come on stdin, not in argv, which
    ``ps`` shows.
    """
    stdin = await _stdin()
    spec = await _line(stdin)
    listeners = [Listener(vid, token, bool(sup)) for vid, token, sup in spec["clients"]]
    tally = Tally(expected=len(listeners))
    connector = aiohttp.TCPConnector(limit=0)  # 200 sockets at once, not the default 100
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        gate = asyncio.Semaphore(CONNECTING)
        clients = [
            asyncio.create_task(listen(http, spec["url"], w, tally, gate)) for w in listeners
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.all_subscribed.wait(), 60)
        # A delta after every client's snapshot seq was published while all were subscribed.
        tally.start_seq = max((w.last_seq for w in listeners), default=0)
        _say({"subscribed": tally.subscribed, "failed": tally.failed, "start_seq": tally.start_seq})
        if await _line(stdin) != "load":
            raise RigError("client fleet: expected load")
        cpu0, t0 = time.process_time(), time.monotonic()
        if await _line(stdin) != "stop":
            raise RigError("client fleet: expected stop")
        cpu_share = (time.process_time() - cpu0) / (time.monotonic() - t0)
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    _say(
        {
            "listeners": [
                [w.vid, w.supervisor, w.deltas, w.snapshots, w.gaps, w.last_seq, w.error]
                for w in listeners
            ],
            "worst": list(tally.worst.items()),
            "each": tally.each,
            "start_seq": tally.start_seq,
            "cpu_share": cpu_share,
            "rss_mb_max": proc_status_mb("VmHWM"),
        }
    )


@dataclass(frozen=True, slots=True)
class FleetResult:
    """What the client process tallied."""

    listeners: list[Listener]
    tally: Tally
    cpu_share: float
    """Of a core, from the start of the load to its end."""
    rss_mb_max: float
    """The client process's peak RSS."""


class ClientFleet:
    """The client process, seen from the app's: start, ``load``, ``stop`` -> ``FleetResult``."""

    def __init__(self, url: str, listeners: Sequence[Listener]) -> None:
        self._spec = {
            "url": url,
            "clients": [[w.vid, w.token, w.supervisor] for w in listeners],
        }
        self._process: asyncio.subprocess.Process | None = None
        self.subscribed = 0
        self.failed = 0

    async def _tell(self, message: Any) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write((json.dumps(message) + "\n").encode())
        await self._process.stdin.drain()

    async def _hear(self, timeout_s: float) -> Any:
        assert self._process is not None and self._process.stdout is not None
        try:
            return await asyncio.wait_for(_line(self._process.stdout), timeout_s)
        except (EOFError, TimeoutError, ValueError) as exc:
            raise RigError(f"the client process did not answer: {exc!r}") from exc

    async def __aenter__(self) -> ClientFleet:
        """Start the process; return once every client has its snapshot (or was refused)."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--client-fleet",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**26,  # the tallies come back as one line of a few MB
        )
        await self._tell(self._spec)
        said = await self._hear(90)
        self.subscribed, self.failed = int(said["subscribed"]), int(said["failed"])
        return self

    async def load(self) -> None:
        """The load starts now (the process measures its CPU from here)."""
        await self._tell("load")

    async def stop(self) -> FleetResult:
        """The load is over: the tallies."""
        await self._tell("stop")
        said = await self._hear(60)
        listeners = [
            Listener(vid, "", sup, deltas, snapshots, gaps, last_seq, error)
            for vid, sup, deltas, snapshots, gaps, last_seq, error in said["listeners"]
        ]
        tally = Tally(
            worst={int(seq): float(delay) for seq, delay in said["worst"]},
            each=[float(x) for x in said["each"]],
            start_seq=int(said["start_seq"]),
            subscribed=self.subscribed,
            failed=self.failed,
            expected=len(listeners),
        )
        return FleetResult(listeners, tally, float(said["cpu_share"]), float(said["rss_mb_max"]))

    async def __aexit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # its next read sees the end and it exits
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


# ----------------------------------------------------------------------------- the stalled one


SUBSCRIPTIONS: list[live_hub.Subscription] = []
"""Every subscription the hub made, in order (the stalled client's is found here)."""


def install_hooks() -> None:
    """Record the hub's subscriptions and the app's "too slow" notices."""
    subscribe = live_hub.LiveHub.subscribe

    def recording(self: live_hub.LiveHub, *args: Any, **kwargs: Any) -> live_hub.Subscription:
        sub = subscribe(self, *args, **kwargs)
        SUBSCRIPTIONS.append(sub)
        return sub

    live_hub.LiveHub.subscribe = recording  # type: ignore[method-assign]
    log = logging.getLogger("web.live_api")
    log.setLevel(logging.INFO)  # its "too slow" notice is INFO
    log.addHandler(SLOW_NOTICES)


class SlowNotices(logging.Handler):
    """When the app said it disconnected a client for being too slow."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "too slow" in record.getMessage():
            self.times.append(record.created)


SLOW_NOTICES = SlowNotices()


@dataclass
class StallReport:
    buffered_deltas: int = 0
    """Deltas it read after the stall, before the stream changed course."""
    ending: str = "nothing"
    """What came after them: "snapshot", "close <code>", "eof", or "quiet" (nothing more)."""
    overflow_at: float | None = None
    """Seconds into the load when the hub first dropped its queue."""
    dropped_at: float | None = None
    """Seconds into the load when the app unsubscribed it."""


class StalledClient:
    """A WebSocket client on a plain socket that reads nothing until told to."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
        self.sock.setblocking(False)
        self._buffer = b""

    async def open(self) -> None:
        """Connect and upgrade; the frames that follow stay unread in the kernel."""
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, (self.host, self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/v1/live HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # a byte at a time: leave the frames unread
            byte = await asyncio.wait_for(loop.sock_recv(self.sock, 1), 10)
            if not byte:
                raise RigError("stalled client: connection closed during the upgrade")
            head += byte
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RigError(f"stalled client: upgrade refused: {status.decode(errors='replace')}")

    async def _read(self, n: int, timeout_s: float) -> bytes | None:
        loop = asyncio.get_running_loop()
        while len(self._buffer) < n:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), timeout_s)
            except TimeoutError:
                return None
            if not chunk:
                raise EOFError
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    async def _frame(self, timeout_s: float) -> tuple[int, bytes] | None:
        """(opcode, payload) of the server's next frame (unmasked, unfragmented)."""
        head = await self._read(2, timeout_s)
        if head is None:
            return None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self._read(2, timeout_s) or b"\0\0")[0]
        elif length == 127:
            length = struct.unpack("!Q", await self._read(8, timeout_s) or bytes(8))[0]
        payload = await self._read(length, timeout_s) if length else b""
        return opcode, payload or b""

    async def _pong(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        frame = bytes([0x8A, 0x80 | len(payload)]) + mask + masked
        with contextlib.suppress(OSError):
            await asyncio.get_running_loop().sock_sendall(self.sock, frame)

    async def drain(self, report: StallReport, quiet_s: float = 5.0) -> None:
        """Read what was held back, then see what follows the buffered deltas."""
        seen_snapshot = False
        try:
            while True:
                frame = await self._frame(quiet_s)
                if frame is None:
                    report.ending = "quiet"
                    return
                opcode, payload = frame
                if opcode == 0x9:
                    await self._pong(payload)
                elif opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    report.ending = f"close {code}"
                    return
                elif opcode == 0x1:
                    data = json.loads(payload)
                    for message in data if isinstance(data, list) else [data]:
                        if message["type"] == "delta":
                            report.buffered_deltas += 1
                        elif seen_snapshot:
                            report.ending = "snapshot"
                            return
                        else:
                            seen_snapshot = True  # the first one, sent when it subscribed
        except (EOFError, OSError):
            report.ending = "eof"

    async def follow(self) -> None:
        """Read and drop everything (answering pings) until the connection ends."""
        with contextlib.suppress(EOFError, OSError):
            while True:
                frame = await self._frame(60.0)
                if frame is not None and frame[0] == 0x9:
                    await self._pong(frame[1])
                elif frame is not None and frame[0] == 0x8:
                    return

    def close(self) -> None:
        self.sock.close()


async def watch(sub: live_hub.Subscription, report: StallReport, t0: float) -> None:
    """Note when the hub first drops the stalled client's queue, and when it lets it go."""
    while True:
        if report.overflow_at is None and sub.overflows:
            report.overflow_at = time.monotonic() - t0
        if report.dropped_at is None and sub.closed:
            report.dropped_at = time.monotonic() - t0
        await asyncio.sleep(0.1)


# ----------------------------------------------------------------------------- measuring


STOP_WATCHDOG_S = 60.0


async def dump_tasks_after(delay_s: float) -> None:
    """If stopping takes longer than ``delay_s``, show where every task waits."""
    await asyncio.sleep(delay_s)
    print(f"still stopping after {delay_s:g} s; the tasks:", file=sys.stderr, flush=True)
    for task in asyncio.all_tasks():
        task.print_stack(limit=6, file=sys.stderr)


def proc_status_mb(field_name: str) -> float:
    """VmRSS / VmHWM of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


async def loop_lag(samples: list[float], period_s: float = 0.01) -> None:
    """How late the event loop wakes a 10 ms sleeper (ms): the app's loop is busy that long."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(period_s)
        samples.append((loop.time() - start - period_s) * 1000)


async def toggle(api: Api, token: str, at_s: float, back_s: float) -> None:
    """A listen-only volunteer pauses once during the load and goes ready again."""
    await asyncio.sleep(at_s)
    await api.pause(token)
    await asyncio.sleep(back_s)
    await api.ready(token)


@dataclass
class Result:
    listeners: list[Listener]
    tally: Tally
    clients_cpu_share: float
    """The client process's, during the load."""
    clients_rss_max: float
    stall: StallReport
    client_queue: int
    stalled_overflows: int
    stalled_queue_at_end: int
    rss_start: float
    rss_end: float
    rss_max: float
    cpu_share: float
    lag_ms: list[float]
    load_s: float
    problems: list[str]
    placed: int
    """Calls the callers placed."""
    rang: int
    """Calls that reached a volunteer's phone."""
    too_slow_at: list[float]
    """Seconds into the load when the app logged "live client too slow; disconnected"."""


async def bench(ls: LiveSettings, workdir: Path) -> Result:
    s = ls.e2e()
    rng = random.Random(SEED)
    listen_only = [LISTENER.format(i) for i in range(1, ls.listen_only + 1)]
    supervisors = [SUPERVISOR.format(i) for i in range(1, ls.supervisors + 1)]
    if ls.client_queue is not None:
        live_hub.CLIENT_QUEUE = ls.client_queue  # read when the app creates its hub
    install_hooks()

    def before_serve(cfg: HelplineConfig) -> None:
        add_accounts(cfg, listen_only, [*supervisors, STALLED])

    problems: list[str] = []
    async with running_app(s, workdir, before_serve) as running:
        cfg = running.cfg
        base = f"http://{cfg.http.host}:{cfg.http.port}"
        connector = aiohttp.TCPConnector(limit=0)  # 160 toggles at once, not the default 100
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with (
            contextlib.AsyncExitStack() as stack,
            aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
        ):
            api = Api(http, base + "/api/v1")
            stack.push_async_callback(api.close)
            phones = make_phones(s, workdir, running.sip_secrets, trace=False)
            async with phones:
                listeners: list[Listener] = []
                for vid in volunteer_ids(s):
                    token = await api.login(vid)
                    await api.ready(token)
                    listeners.append(Listener(vid, token, supervisor=False))
                quiet = {vid: await api.login(vid) for vid in listen_only}
                for vid, token in quiet.items():
                    await api.ready(token)
                    listeners.append(Listener(vid, token, supervisor=False))
                for vid in supervisors:
                    listeners.append(Listener(vid, await api.login(vid), supervisor=True))
                stalled_token = await api.login(STALLED)
                print(
                    f"{ls.phones} volunteers with phones ready; {len(listen_only)} listen-only "
                    f"volunteers ready; {len(supervisors)} supervisors signed in",
                    flush=True,
                )
                fleet = ClientFleet(base + "/api/v1/live", listeners)
                await stack.enter_async_context(fleet)
                stalled = StalledClient(cfg.http.host, cfg.http.port, stalled_token)
                before = len(SUBSCRIPTIONS)
                await stalled.open()
                while len(SUBSCRIPTIONS) == before:  # the app subscribes it after the upgrade
                    await asyncio.sleep(0.01)
                stalled_sub = SUBSCRIPTIONS[-1]
                print(
                    f"{fleet.subscribed} clients subscribed in their own process "
                    f"({fleet.failed} refused), plus one here that stalls",
                    flush=True,
                )

                lag: list[float] = []
                lagger = asyncio.create_task(loop_lag(lag))
                stall = StallReport()
                t0 = time.monotonic()
                t0_wall = time.time()
                watcher = asyncio.create_task(watch(stalled_sub, stall, t0))
                rss_start = proc_status_mb("VmRSS")
                cpu0 = time.process_time()
                await fleet.load()
                callers = Callers(
                    f"127.0.0.1:{cfg.asterisk.sip_port}",
                    NUMBERS["acd"],
                    workdir,
                    PortPool(CARRIER_IP),
                    count=ls.calls,
                    rate=ls.rate,
                    hold_ms=ls.hold_ms,
                    name="callers-live",
                    trace=False,
                )
                placing_s = ls.calls / ls.rate
                toggles = [
                    asyncio.create_task(
                        toggle(api, token, rng.uniform(0, placing_s), rng.uniform(2, 6))
                    )
                    for token in quiet.values()
                ]
                print(f"load: {ls.calls} calls at {ls.rate:g}/s ...", flush=True)
                await callers.start()
                reader: asyncio.Task[None] | None = None
                if ls.stall != "load":
                    reader = asyncio.create_task(stall_then_read(ls.stall, stalled, stall))
                await callers.wait(placing_s + ls.hold_ms[1] / 1000 + s.ring_timeout_s + 30)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(15):
                        while phones.in_progress():
                            await asyncio.sleep(0.1)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(15):
                        await asyncio.gather(*toggles, return_exceptions=True)
                await asyncio.sleep(1.0)  # the last deltas reach the clients
                load_s = time.monotonic() - t0
                cpu_share = (time.process_time() - cpu0) / load_s
                rss_end = proc_status_mb("VmRSS")
                rss_max = proc_status_mb("VmHWM")
                clients = await fleet.stop()
                queue_at_end = len(stalled_sub.queue)
                lagger.cancel()
                if (problem := callers.problem()) is not None:
                    problems.append(problem)
                problems += phones.problems({})
                placed = callers.stats().created
                rang = sum(phone.stats().created for phone in phones.phones)
                print("load over; the stalled client reads", flush=True)
                if reader is None:
                    await stalled.drain(stall)
                else:
                    await asyncio.wait_for(_until_read(stall), 15)
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
                watcher.cancel()
                stalled.close()
                print("stopping the phones and the app ...", flush=True)
        watchdog = asyncio.create_task(dump_tasks_after(STOP_WATCHDOG_S))
    watchdog.cancel()
    return Result(
        listeners=clients.listeners,
        tally=clients.tally,
        clients_cpu_share=clients.cpu_share,
        clients_rss_max=clients.rss_mb_max,
        stall=stall,
        client_queue=stalled_sub.limit,
        stalled_overflows=stalled_sub.overflows,
        stalled_queue_at_end=queue_at_end,
        rss_start=rss_start,
        rss_end=rss_end,
        rss_max=rss_max,
        cpu_share=cpu_share,
        lag_ms=lag,
        load_s=load_s,
        problems=problems,
        placed=placed,
        rang=rang,
        too_slow_at=[t - t0_wall for t in SLOW_NOTICES.times],
    )


async def _until_read(report: StallReport) -> None:
    while report.ending == "nothing":
        await asyncio.sleep(0.05)


async def stall_then_read(stall: str, client: StalledClient, report: StallReport) -> None:
    """Stall for ``stall`` seconds, or until the hub dropped the queue once; then read."""
    if stall == "overflow":
        while report.overflow_at is None and report.dropped_at is None:
            await asyncio.sleep(0.05)
    else:
        await asyncio.sleep(float(stall))
    await client.drain(report)
    await client.follow()  # keep reading (the load goes on) until cancelled


# ----------------------------------------------------------------------------- report


def _ms(values: Sequence[float], p: float) -> float:
    return percentile(values, p) * 1000


def _when(t: float | None) -> str:
    return "never" if t is None else f"{t:.1f} s into the load"


def report(ls: LiveSettings, r: Result) -> None:
    worst = list(r.tally.worst.values())
    sup = [w for w in r.listeners if w.supervisor]
    vols = [w for w in r.listeners if not w.supervisor]
    errors = Counter(w.error for w in r.listeners if w.error)
    p50, p99 = _ms(worst, 50), _ms(worst, 99)
    print()
    print(
        f"live: {len(r.listeners)} WebSocket clients: {len(sup)} supervisors (every delta) and "
        f"{len(vols)} volunteers ({ls.phones} with sipp phones taking the calls, "
        f"{ls.listen_only} listen-only: chat skill, each paused and made ready once during the "
        "load, so they get their own agent deltas and the public queue figures)"
    )
    print(
        f"load: {ls.calls} calls at {ls.rate:g}/s (hold {ls.hold_ms[0]}-{ls.hold_ms[1]} ms), "
        f"{r.load_s:.0f} s, {r.rang} of {r.placed} reached a volunteer's phone; "
        f"the app's process used {r.cpu_share:.2f} of a core, the clients' "
        f"{r.clients_cpu_share:.2f}; "
        f"event loop lag p50 {percentile(r.lag_ms, 50):.1f} ms, p99 "
        f"{percentile(r.lag_ms, 99):.1f} ms, max {max(r.lag_ms, default=math.nan):.1f} ms"
    )
    print(
        f"deltas: {len(worst)} published during the load; received: supervisors "
        f"{sum(w.deltas for w in sup)}, volunteers {sum(w.deltas for w in vols)}; "
        f"gaps seen by supervisors {sum(w.gaps for w in sup)}; snapshots after the first "
        f"{sum(max(0, w.snapshots - 1) for w in r.listeners)}"
    )
    if errors:
        print(f"  clients that ended early: {dict(errors)}")
    print(
        f"delay publish -> every client has it (max over clients, per delta): p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(worst, default=math.nan) * 1000:.1f} ms "
        f"(target p99 <= {TARGET_P99_MS:.0f}: {'met' if p99 <= TARGET_P99_MS else 'MISSED'})"
    )
    print(
        f"delay per (client, delta): p50 {_ms(r.tally.each, 50):.1f} ms, "
        f"p99 {_ms(r.tally.each, 99):.1f} ms over {len(r.tally.each)} deliveries"
    )
    st = r.stall
    print(
        f"stalled client (supervisor, SO_RCVBUF {STALLED_RCVBUF}, app-side SO_SNDBUF "
        f"{SEND_BUFFER_BYTES // 1024} KiB, stall: {ls.stall}): hub queue "
        f"{r.client_queue} messages, overflowed {r.stalled_overflows} times (first "
        f"{_when(st.overflow_at)}), {r.stalled_queue_at_end} queued at the end; the app let it "
        f"go {_when(st.dropped_at)}; when it read: {st.buffered_deltas} buffered deltas, then "
        f"{st.ending}"
    )
    if r.too_slow_at:
        print(
            f"  the app disconnected {len(r.too_slow_at)} client(s) as too slow (first "
            f"{_when(r.too_slow_at[0])}; web.live_api.SEND_TIMEOUT_S = {SEND_TIMEOUT_S:g} s)"
        )
    print(
        f"memory (the app's process, without the 200 clients): RSS {r.rss_start:.1f} MB "
        f"before the load, {r.rss_end:.1f} MB after, peak (VmHWM) {r.rss_max:.1f} MB; "
        f"the clients' process peaked at {r.clients_rss_max:.1f} MB"
    )
    for problem in r.problems:
        print(f"sipp problem: {problem}")
    print()
    print(f"live_p50_ms={p50:.1f}")
    print(f"live_p99_ms={p99:.1f}")
    print(f"live_deltas={len(worst)}")
    print(f"live_clients={sum(1 for w in r.listeners if w.snapshots)}")
    print(f"live_client_queue={r.client_queue}")
    print(f"live_rss_mb_start={r.rss_start:.1f}")
    print(f"live_rss_mb_end={r.rss_end:.1f}")
    print(f"live_rss_mb_max={r.rss_max:.1f}")
    print(f"live_stalled_got_snapshot={int(st.ending == 'snapshot')}")
    print(f"live_stalled_overflows={r.stalled_overflows}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=20, help="with sipp phones")
    parser.add_argument("--listeners", type=int, default=200, help="WebSocket clients in all")
    parser.add_argument("--supervisors", type=int, default=20, help="of the listeners")
    parser.add_argument("--rate", type=float, default=10.0, help="calls per second")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--hold-ms", default="300,500", help="caller hold time range (ms)")
    parser.add_argument("--answer-ms", type=int, default=50, help="volunteer answer delay")
    parser.add_argument(
        "--stall", default="load", help="load | overflow | seconds (how long the client stalls)"
    )
    parser.add_argument("--client-queue", type=int, help="override web.live_hub.CLIENT_QUEUE")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--client-fleet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client_fleet:
        with contextlib.suppress(EOFError):  # the bench gave up on us: nothing to say
            asyncio.run(client_fleet())
        return 0
    low, high = (int(x) for x in args.hold_ms.split(","))
    if args.stall not in ("load", "overflow"):
        try:
            float(args.stall)
        except ValueError:
            parser.error("--stall: load, overflow or a number of seconds")
    ls = LiveSettings(
        phones=args.volunteers,
        listeners=args.listeners,
        supervisors=args.supervisors,
        rate=args.rate,
        calls=args.calls,
        hold_ms=(low, high),
        answer_ms=args.answer_ms,
        stall=args.stall,
        client_queue=args.client_queue,
    )
    if ls.listen_only < 0:
        parser.error("--listeners must be at least --volunteers + --supervisors")
    if os.geteuid() != 0:
        print("error: the chrooted Asterisk needs root", file=sys.stderr)
        return 2
    result = run_locked(
        lambda workdir: bench(ls, workdir), "helpline-live-", args.keep, "work directory kept:"
    )
    if result is None:
        return 1
    report(ls, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
