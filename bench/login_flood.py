"""Login-flood bench: how long a new child's call takes to reach a volunteer while 300 bad
logins are in flight.

Our app (``helpline.service.serve``, as ``helpline run`` runs it and as ``bench/e2e.py``
starts it, with the same private Asterisk copy, ports, phones and lock) hashes passwords with
the production argon2 parameters here (~0.26 s of CPU each), unlike the other benches. A
separate process (this file with ``--flood-worker``, so the attackers' CPU is not the app's
event loop) keeps ``--clients`` bad logins in flight: each client posts a login for a random
unknown volunteer id with a wrong password, and posts again as soon as it has its answer or
has given up; half give up after ``--give-up-ms`` (and close the connection), half wait. By
default every client has its own loopback source address (127.0.10.1 ...), the worst case for
the per-address rate limit, so the bounded hashing pool is what must hold. The attackers run
at nice 19 by default (``--flood-nice``): a real attacker's CPU is not ours, but on this one
machine their process would otherwise take a core from the app and Asterisk.

Calls are placed one at a time from the test carrier (127.0.0.2) with sipp, first without the
flood (baseline), then with it. Measured from sipp's own traces: the caller's INVITE -> the
volunteer's phone gets the INVITE (**ring**, what ``login_flood_call_delay_ms`` reports), and
-> the caller gets its 200 OK (our app answers the caller when it enters the queue).

    python bench/login_flood.py [--clients 300] [--calls 5] [--give-up-ms 200] [--sources 300]

The last lines are machine-readable: ``login_flood_call_delay_ms`` (median ring time of the
calls placed during the flood; target < 500) and ``login_flood_rejected`` (flood answers that
were 429: pool full or rate-limited). Needs root (chroot), sipp, Redis; holds the tests'
Asterisk lock for its whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from bench.e2e import (  # noqa: E402
    NUMBERS,
    PASSWORD,
    Settings,
    make_phones,
    running_app,
    volunteer_ids,
)
from bench.rig import Callers, Phones, PortPool, RigError, run_locked  # noqa: E402
from bench.traces import SipMessage, is_invite, is_invite_ok, parse_trace  # noqa: E402
from runtime.simulate import CARRIER_IP, VolunteerApi  # noqa: E402

TARGET_MS = 500.0


# ----------------------------------------------------------------------------- the flood


def source_address(i: int) -> str:
    """The i-th flood source: 127.0.10.1, 127.0.10.2, ... (all of 127/8 is loopback)."""
    return f"127.0.{10 + i // 250}.{1 + i % 250}"


async def _attempt(
    session: aiohttp.ClientSession, url: str, body: dict[str, str]
) -> tuple[int, str]:
    async with session.post(url, json=body) as resp:
        data = await resp.json(content_type=None)
        return resp.status, str(data.get("error", "")) if isinstance(data, dict) else ""


async def _flood_client(
    i: int, url: str, source: str, give_up_s: float | None, stop: asyncio.Event, tally: Counter[str]
) -> None:
    # force_close: every attempt is a new connection, and giving up closes it, as a flooder's.
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"volunteer_id": f"flood-{i}-{n}", "password": "not-the-password"}

            tally["sent"] += 1
            try:
                if give_up_s is None:
                    status, code = await _attempt(session, url, body)
                else:
                    status, code = await asyncio.wait_for(_attempt(session, url, body), give_up_s)
            except TimeoutError:
                tally["gave_up"] += 1
                continue
            except aiohttp.ClientError:
                tally["client_error"] += 1
                await asyncio.sleep(0.05)
                continue
            tally[f"http_{status}"] += 1
            if status == 429:
                tally[f"429_{code}"] += 1


async def flood_worker(args: argparse.Namespace) -> None:
    """The attackers' process: keep ``clients`` logins in flight until SIGTERM; JSON tally."""
    if args.flood_nice:
        # The attackers' CPU is not ours in real life: on this one machine, let them have only
        # what the app and Asterisk leave.
        os.nice(args.flood_nice)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tally: Counter[str] = Counter()
    give_up_s = args.give_up_ms / 1000
    clients = [
        asyncio.create_task(
            _flood_client(
                i,
                args.url,
                source_address(i % args.sources),
                give_up_s if i % 2 == 0 else None,  # half give up, half wait
                stop,
                tally,
            )
        )
        for i in range(args.clients)
    ]
    print("flooding", flush=True)
    await stop.wait()
    for task in clients:
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    print(json.dumps(dict(tally)), flush=True)


class Flood:
    """The flood worker process (an async context manager); ``tally`` once it has stopped."""

    def __init__(self, url: str, args: argparse.Namespace) -> None:
        self._cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--flood-worker",
            "--url", url,
            "--clients", str(args.clients),
            "--sources", str(args.sources),
            "--give-up-ms", str(args.give_up_ms),
            "--flood-nice", str(args.flood_nice),
        ]  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None
        self.tally: dict[str, int] = {}

    async def __aenter__(self) -> Flood:
        self._process = await asyncio.create_subprocess_exec(
            *self._cmd, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        if line.strip() != b"flooding":
            raise RigError(f"the flood worker did not start: {line!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        lines = out.decode().strip().splitlines()
        with contextlib.suppress(IndexError, ValueError):
            self.tally = json.loads(lines[-1])


# ----------------------------------------------------------------------------- calls


@dataclass
class Call:
    """One child's call, placed alone."""

    flood: bool
    ring_ms: float = float("nan")
    """Caller's INVITE -> the volunteer's phone gets the INVITE."""
    answer_ms: float = float("nan")
    """Caller's INVITE -> the caller gets its 200 OK."""
    problem: str | None = None


async def place_call(n: int, flood: bool, phones: Phones, work: Path) -> Call:
    result = Call(flood)
    caller = Callers(
        "127.0.0.1:5070",
        NUMBERS["acd"],
        work,
        PortPool(CARRIER_IP),
        count=1,
        rate=1,
        hold_ms=(1000, 1000),
        name=f"call{n}-{'flood' if flood else 'baseline'}",
    )
    started = time.time()
    await caller.start()
    await caller.wait(60)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while phones.in_progress():
                await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # wrap-up is 0 s; the volunteer's state settles
    problem = caller.problem()
    if problem is not None:
        result.problem = problem
        return result
    msgs = parse_trace(caller.message_log)
    invite = next(m.ts for m in msgs if m.sent and is_invite(m))
    answered = next((m.ts for m in msgs if not m.sent and is_invite_ok(m)), None)
    volunteer = sorted(
        (m for p in phones.phones for m in parse_trace(p.message_log) if m.ts >= started),
        key=lambda m: m.ts,
    )
    ring: SipMessage | None = next(
        (m for m in volunteer if m.ts >= invite and not m.sent and is_invite(m)), None
    )
    if ring is None or answered is None:
        result.problem = "no volunteer INVITE or no caller 200 OK in the traces"
        return result
    result.ring_ms = (ring.ts - invite) * 1000
    result.answer_ms = (answered - invite) * 1000
    return result


@dataclass
class Hashes:
    """Password checks the app actually ran (counted in its process)."""

    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def count_hashes() -> Hashes:
    from storage.volunteers import VolunteerDirectory

    hashes = Hashes()
    real = VolunteerDirectory.verify_password

    def counted(self: VolunteerDirectory, volunteer_id: str, password: str) -> bool:
        with hashes.lock:
            hashes.started += 1
        return real(self, volunteer_id, password)

    VolunteerDirectory.verify_password = counted  # type: ignore[method-assign]
    return hashes


async def bench(args: argparse.Namespace, work: Path) -> tuple[list[Call], dict[str, int], int]:
    s = Settings(
        volunteers=args.volunteers,
        rates=(1.0,),
        calls=1,
        hold_ms=(1000, 1000),
        answer_ms=50,
        ring_timeout_s=10,
        wrap_up_s=0,
    )
    hashes = count_hashes()
    calls: list[Call] = []
    tally: dict[str, int] = {}
    hashed_in_flood = 0
    async with running_app(s, work) as running:
        cfg = running.cfg
        phones = make_phones(s, work, running.sip_secrets)
        base = f"http://{cfg.http.host}:{cfg.http.port}/api/v1"
        async with phones, VolunteerApi(base) as api:
            for vid in volunteer_ids(s):
                await api.login(vid, PASSWORD)
                await api.ready(vid)
            print(f"{s.volunteers} volunteers ready; baseline calls ...", flush=True)
            for n in range(args.calls):
                calls.append(await place_call(n, False, phones, work))
                _show(calls[-1])
            print(
                f"flood: {args.clients} bad logins in flight from {args.sources} addresses "
                f"(half give up after {args.give_up_ms} ms) ...",
                flush=True,
            )
            before = hashes.started
            flood = Flood(base + "/session", args)
            async with flood:
                await asyncio.sleep(args.settle_s)
                for n in range(args.calls):
                    calls.append(await place_call(n, True, phones, work))
                    _show(calls[-1])
                hashed_in_flood = hashes.started - before
            tally = flood.tally
            await api.logout_all()
    return calls, tally, hashed_in_flood


def _show(call: Call) -> None:
    kind = "flood   " if call.flood else "baseline"
    print(
        f"  {kind}: ring {call.ring_ms:8.1f} ms, caller answered {call.answer_ms:8.1f} ms"
        + (f"  PROBLEM: {call.problem}" if call.problem else ""),
        flush=True,
    )


def report(
    args: argparse.Namespace, calls: Sequence[Call], tally: dict[str, int], hashed: int
) -> tuple[float, int]:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    good = [c for c in calls if c.problem is None]
    rows = {
        kind: [c for c in good if c.flood == (kind == "flood")] for kind in ("baseline", "flood")
    }
    print()
    print(f"{'':12}{'calls':>6}{'ring p50 ms':>13}{'ring max ms':>13}{'answer p50 ms':>15}")
    for kind, group in rows.items():
        ring = [c.ring_ms for c in group]
        print(
            f"  {kind:10}{len(group):>6}{med(ring):>13.1f}{max(ring, default=float('nan')):>13.1f}"
            f"{med([c.answer_ms for c in group]):>15.1f}"
        )
    left_out = len(calls) - len(good)
    if left_out:
        print(f"  {left_out} calls left out (a sipp problem)")
    rejected = tally.get("http_429", 0)
    print(
        f"flood: {tally.get('sent', 0)} attempts, {tally.get('http_401', 0)} answered 401, "
        f"{rejected} answered 429 ({tally.get('429_busy', 0)} pool full, "
        f"{tally.get('429_rate_limited', 0)} rate-limited), {tally.get('gave_up', 0)} given up "
        f"after {args.give_up_ms} ms, {tally.get('client_error', 0)} connection errors; "
        f"the app ran {hashed} password checks meanwhile"
    )
    delay = med([c.ring_ms for c in rows["flood"]])
    verdict = "met" if delay < TARGET_MS else "MISSED"
    print(
        f"target: login_flood_call_delay_ms < {TARGET_MS:g} "
        f"(caller INVITE -> volunteer ring): {verdict}"
    )
    print()
    print(f"login_flood_call_delay_ms={delay:.1f}")
    print(f"login_flood_rejected={rejected}")
    return delay, rejected


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=300, help="bad logins kept in flight")
    parser.add_argument("--sources", type=int, default=300, help="distinct source addresses")
    parser.add_argument("--give-up-ms", type=int, default=200, help="for half the clients")
    parser.add_argument("--calls", type=int, default=5, help="baseline calls, then flood calls")
    parser.add_argument("--settle-s", type=float, default=2.0, help="flood before the 1st call")
    parser.add_argument(
        "--flood-nice",
        type=int,
        default=19,
        help="the attackers' process's nice value (19: their CPU is not ours; 0: it competes)",
    )
    parser.add_argument("--volunteers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the traces' directory")
    parser.add_argument("--flood-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.flood_worker:
        asyncio.run(flood_worker(args))
        return 0
    if os.geteuid() != 0:
        print("error: the chrooted Asterisk needs root", file=sys.stderr)
        return 2
    # Unlike the other benches (bench.e2e picks argon2's cheapest profile when imported), hash
    # with the production parameters: that cost is the point. Read when the app's volunteer
    # directory is made, so setting it here (not at import: tests import this) is enough.
    os.environ["HELPLINE_ARGON2_PROFILE"] = "production"
    if not 1 <= args.sources <= 250 * 200:
        parser.error("--sources: 1..50000")
    outcome = run_locked(lambda work: bench(args, work), "helpline-login-flood-", args.keep)
    if outcome is None:
        return 1
    calls, tally, hashed = outcome
    delay, _ = report(args, calls, tally, hashed)
    return 0 if delay < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
