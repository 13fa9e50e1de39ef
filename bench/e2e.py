"""End-to-end SIP benchmark: our ACD versus Asterisk's app_queue on the same Asterisk.

Real SIP load through a real Asterisk 22: auto-answering sipp volunteers (registered with
digest auth) and sipp callers from the carrier address 127.0.0.2, at several call rates. The
same calls go (a) to 116111, routed by our Stasis app (``helpline.service.serve``, in this
process, with the HTTP API used to log the volunteers in), and (b) to a bench number that runs
``Queue(bench)``: strategy leastrecent, the same volunteers as members, the same ring timeout,
ringinuse=no, wrapuptime = our wrap-up. The two systems take turns at each rate.

The bench uses a private copy of the cached Asterisk root and its own ports (SIP 5070, ARI
8098, API 8099), so a running ``make up`` or test Asterisk is left alone. The queue and the
bench number are added to the *rendered* queues.conf/extensions.conf here, never to dialplan/.

Measured from sipp's own message traces (microsecond timestamps, one clock): time from the
caller's INVITE to the volunteer's INVITE (ring) and to the volunteer's 200 OK (answer). Calls
carry no shared id across the two legs, so the k-th caller INVITE of a run is paired with the
k-th volunteer INVITE of that run (both systems serve FIFO while volunteers are plentiful); a
run whose counts differ is flagged and left out of the percentiles.

    python bench/e2e.py [--volunteers 20] [--rates 5,10,20] [--calls 150]

The last lines are machine-readable: ring_p50_ms_acd, ring_p99_ms_acd, ring_p50_ms_app_queue,
ring_p99_ms_app_queue, ring_p99_ratio (acd / app_queue) and lost_calls (never reached a
volunteer, both systems, all rates). Needs root (chroot), sipp, Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Bench volunteers are created fresh each run: hash their passwords cheaply.
os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

import redis  # noqa: E402

from helpline.asterisk import DEFAULT_ROOT, AriAccess, AsteriskRuntime  # noqa: E402
from helpline.config import HelplineConfig, parse_config  # noqa: E402
from helpline.simulate import (  # noqa: E402
    CallerLoad,
    PhoneAccount,
    PhoneBank,
    VolunteerApi,
    VolunteerPhone,
)

BENCH_ROOT = DEFAULT_ROOT.with_name("bench-asterisk-root")
BENCH_NUMBER = "999001"
"""Carrier-context number that runs Queue(bench)."""
ACD_NUMBER = "116111"
PASSWORD = "bench-volunteer-password"

CONFIG = """
languages = ["nl"]
log_dir = "{work}/log"
[helpline]
name = "Bench"
[[lines]]
id = "116111"
numbers = ["{acd_number}"]
language = "nl"
[[locations]]
id = "bench"
name = "Bench"
[ivr]
welcome = false   # straight to the queue, like Queue(bench)
[schedules.default]
daily = ["00:00-24:00"]
holidays = ""
[queue]
strategy = "longest_idle"
ring_timeout_s = {ring_timeout}
wrap_up_s = {wrap_up}
max_wait_s = 600
max_queue_length = 1000
[asterisk]
root = "{root}"
bind = "127.0.0.1"
sip_port = 5070
http_port = 8098
ami_port = 5048
app = "helpline-bench"
ari_user = "helpline-bench"
ari_password = "bench-ari-secret"
ami_user = "helpline-bench"
ami_password = "bench-ami-secret"
sip_realm = "helpline"
trunk_addresses = ["127.0.0.2"]
rtp_start = 12000
rtp_end = 12999
[database]
url = "sqlite:///{work}/bench.db"
[redis]
url = "redis://127.0.0.1:6379/0"
prefix = "helpline-bench:"
[http]
host = "127.0.0.1"
port = 8099
"""


@dataclass(frozen=True, slots=True)
class Settings:
    """What one bench run does."""

    volunteers: int
    rates: tuple[float, ...]
    calls: int
    hold_ms: tuple[int, int]
    answer_ms: int
    ring_timeout_s: int
    wrap_up_s: int


# ----------------------------------------------------------------------------- SIP traces


@dataclass(frozen=True, slots=True)
class SipMessage:
    """One message of a sipp ``-trace_msg`` log."""

    ts: float
    sent: bool
    first_line: str
    call_id: str
    cseq_method: str


_SEPARATOR = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$")


def parse_trace(path: Path) -> list[SipMessage]:
    """Every message in a sipp message log, with its (local wall-clock) time as epoch seconds."""
    out: list[SipMessage] = []
    if not path.exists():
        return out
    block: list[str] = []
    stamp: str | None = None

    def flush() -> None:
        if stamp is None or len(block) < 2:
            return
        sent = "sent" in block[0]
        lines = [line for line in block[1:] if line.strip()]
        if not lines:
            return
        call_id = cseq = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name in ("call-id", "i"):
                call_id = value.strip()
            elif name == "cseq":
                cseq = value.split()[-1] if value.split() else ""
        ts = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        out.append(SipMessage(ts, sent, lines[0].strip(), call_id, cseq))

    with path.open(errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            match = _SEPARATOR.match(line)
            if match:
                flush()
                stamp, block = match.group(1), []
            elif stamp is not None:
                block.append(line)
    flush()
    return out


def first_by_call(
    messages: Sequence[SipMessage], want: Callable[[SipMessage], bool]
) -> dict[str, float]:
    """Call-ID -> time of the first message matching ``want`` (retransmissions ignored)."""
    found: dict[str, float] = {}
    for msg in messages:
        if want(msg) and msg.call_id not in found:
            found[msg.call_id] = msg.ts
    return found


def _is_invite(msg: SipMessage) -> bool:
    return msg.first_line.startswith("INVITE ")


def _is_invite_ok(msg: SipMessage) -> bool:
    return msg.first_line.startswith("SIP/2.0 200") and msg.cseq_method == "INVITE"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ----------------------------------------------------------------------------- profiling


@dataclass
class Profile:
    """Where the ACD spends a call's time before the volunteer's phone rings (this process)."""

    ari_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    admit_start: list[float] = field(default_factory=list)
    admit_ms: list[float] = field(default_factory=list)
    offer_start: list[float] = field(default_factory=list)
    journal_ms: list[float] = field(default_factory=list)
    writer_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Time the single writer spends per input, by input type."""
    recording: bool = False


def install_profiling(profile: Profile) -> None:
    """Time every ARI request, ``admit``, the originate, the Redis journal and the writer."""
    from ari_app.app import HelplineApp
    from ari_app.client import AriClient

    def timed(cls: Any, name: str, record: Callable[[float, float, tuple[Any, ...]], None]) -> None:
        original = getattr(cls, name)

        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.time()
            t0 = time.perf_counter()
            try:
                return await original(self, *args, **kwargs)
            finally:
                if profile.recording:
                    record(start, (time.perf_counter() - t0) * 1000, args)

        setattr(cls, name, wrapper)

    def ari(start: float, ms: float, args: tuple[Any, ...]) -> None:
        method, path = args[0], list(args[1])
        if len(path) > 1:
            path[1] = "{id}"
        profile.ari_ms[f"{method} /{'/'.join(path)}"].append(ms)

    def admit(start: float, ms: float, args: tuple[Any, ...]) -> None:
        profile.admit_start.append(start)
        profile.admit_ms.append(ms)

    def writer(start: float, ms: float, args: tuple[Any, ...]) -> None:
        item = args[0]
        kind = type(item).__name__
        if kind == "UnknownEvent":
            kind = f"(ignored) {getattr(item, 'type', '?')}"
        profile.writer_ms[kind].append(ms)

    timed(AriClient, "request", ari)
    timed(HelplineApp, "_process", writer)
    timed(HelplineApp, "admit", admit)
    timed(HelplineApp, "_offer", lambda start, ms, args: profile.offer_start.append(start))
    timed(HelplineApp, "_journal", lambda start, ms, args: profile.journal_ms.append(ms))


# ----------------------------------------------------------------------------- Asterisk


def bench_root() -> Path:
    """A private copy of the cached Asterisk root (made once), so other Asterisks stay up."""
    if (BENCH_ROOT / "usr/sbin/asterisk").is_file():
        return BENCH_ROOT
    source = AsteriskRuntime(AriAccess("http://127.0.0.1:8088/ari", "x", "x"), DEFAULT_ROOT)
    source.ensure_root()
    tmp = BENCH_ROOT.with_name(f".{BENCH_ROOT.name}.copy-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["cp", "-a", str(DEFAULT_ROOT), str(tmp)], check=True)
    # Contacts registered on the source live in its astdb: start without them.
    (tmp / "var/lib/asterisk/astdb.sqlite3").unlink(missing_ok=True)
    for pid_file in (tmp / "run/asterisk").glob("asterisk.*"):
        pid_file.unlink()
    tmp.rename(BENCH_ROOT)
    return BENCH_ROOT


def app_queue_config(s: Settings, members: Sequence[str]) -> tuple[str, str]:
    """The queue and the bench number, appended to the rendered queues/extensions.conf."""
    queue = (
        "\n[bench]\n"
        "strategy=leastrecent\n"
        f"timeout={s.ring_timeout_s}\n"
        "retry=1\n"
        f"wrapuptime={s.wrap_up_s}\n"
        "ringinuse=no\n"
        "autofill=yes\n"
        "joinempty=yes\n"
        "leavewhenempty=no\n"
        "announce-frequency=0\n"
        "periodic-announce-frequency=0\n"
        "announce-holdtime=no\n"
        "announce-position=no\n" + "".join(f"member => PJSIP/{m}\n" for m in members)
    )
    # Same anonymisation as the real numbers; 'r' = ring the caller (no early-media MoH).
    exten = (
        "\n[carrier]\n"
        f"exten => {BENCH_NUMBER},1,Gosub(helpline-anonymise,s,1)\n"
        " same => n,Queue(bench,r)\n"
        " same => n,Hangup()\n"
    )
    return queue, exten


def bench_config(s: Settings, work: Path) -> HelplineConfig:
    text = CONFIG.format(
        work=work,
        root=BENCH_ROOT,
        acd_number=ACD_NUMBER,
        ring_timeout=s.ring_timeout_s,
        wrap_up=s.wrap_up_s,
    )
    text += "".join(
        f'[[volunteers]]\nid = "{vid}"\nname = "{vid}"\nlocation = "bench"\n'
        f'skills = ["phone"]\nlanguages = ["nl"]\npassword = "{PASSWORD}"\n'
        for vid in volunteer_ids(s)
    )
    return parse_config(text, "bench/e2e.py")


def volunteer_ids(s: Settings) -> list[str]:
    return [f"bench-{i:02d}" for i in range(1, s.volunteers + 1)]


def start_asterisk(cfg: HelplineConfig, s: Settings) -> AsteriskRuntime:
    from helpline.cli_asterisk import render_for, runtime_for
    from helpline.service import prepare_database, prompt_languages, required_prompts
    from ivr.prompts import generate_prompts

    prepare_database(cfg)  # creates the bench volunteers, so render_for gives their accounts
    files = render_for(cfg)
    queue, exten = app_queue_config(s, volunteer_ids(s))
    files["queues.conf"] += queue
    files["extensions.conf"] += exten
    runtime = runtime_for(cfg)
    runtime.stop()  # a leftover from an earlier bench: start clean
    runtime.install_config(files)
    # The app refuses to start without every prompt it may play (cached by a manifest).
    generate_prompts(runtime.root, prompt_languages(cfg), required_prompts(cfg))
    runtime.start(wait_s=60.0)
    return runtime


def clear_live_state(cfg: HelplineConfig) -> None:
    """The bench's Redis keys from an earlier run would restore old volunteers and calls."""
    client = redis.Redis.from_url(cfg.redis.url)
    try:
        keys = list(client.scan_iter(match=cfg.redis.prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# ----------------------------------------------------------------------------- runs


@dataclass
class Run:
    """One system at one rate."""

    system: str
    rate: float
    start: float
    end: float = 0.0
    callers: int = 0
    rang: int = 0
    answered: int = 0
    ring_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    caller_answered_ms: list[float] = field(default_factory=list)
    """ACD only: INVITE -> the 200 OK our app sends the caller (music on hold)."""
    admit_delay_ms: list[float] = field(default_factory=list)
    """ACD only: INVITE -> our writer starts ``admit`` for the call."""
    originate_delay_ms: list[float] = field(default_factory=list)
    """ACD only: INVITE -> our writer starts the originate to the volunteer."""
    sipp_failed: int = 0
    paired: bool = True

    @property
    def lost(self) -> int:
        return max(0, self.callers - self.answered)


async def place(
    s: Settings, workdir: Path, system: str, rate: float, phones: PhoneBank, profile: Profile
) -> tuple[Run, Path]:
    number = ACD_NUMBER if system == "acd" else BENCH_NUMBER
    name = f"callers-{system}-{rate:g}"
    load = CallerLoad(
        "127.0.0.1:5070",
        number,
        workdir,
        count=s.calls,
        rate=rate,
        hold_ms=s.hold_ms,
        trace=True,
        name=name,
    )
    run = Run(system, rate, start=time.time())
    profile.recording = system == "acd"
    await load.start()
    budget = s.calls / rate + s.hold_ms[1] / 1000 + s.ring_timeout_s + 30
    await load.wait(budget)
    # Every volunteer leg over (the BYE reaches the phones a moment after the caller's).
    async with asyncio.timeout(15):
        while phones.stats().current:
            await asyncio.sleep(0.1)
    await asyncio.sleep(max(1.0, s.wrap_up_s + 0.5))  # let wrap-up end before the next run
    profile.recording = False
    run.end = time.time()
    run.sipp_failed = load.stats().failed
    return run, load.message_log


def analyse(
    run: Run, caller_log: Path, volunteer_msgs: Sequence[SipMessage], profile: Profile
) -> None:
    """Fill ``run`` from the traces (volunteer messages are picked by the run's time window)."""
    caller_msgs = parse_trace(caller_log)
    invites = first_by_call(caller_msgs, lambda m: m.sent and _is_invite(m))
    caller_ok = first_by_call(caller_msgs, lambda m: not m.sent and _is_invite_ok(m))
    window = [m for m in volunteer_msgs if run.start <= m.ts <= run.end]
    rings = first_by_call(window, lambda m: not m.sent and _is_invite(m))
    answers = first_by_call(window, lambda m: m.sent and _is_invite_ok(m))
    run.callers, run.rang, run.answered = len(invites), len(rings), len(answers)
    caller_t = sorted(invites.values())
    ring_t = sorted(rings.values())
    answer_t = sorted(answers.values())
    run.paired = len(caller_t) == len(ring_t) == len(answer_t) and run.sipp_failed == 0
    if not run.paired:
        return
    run.ring_ms = [(r - c) * 1000 for c, r in zip(caller_t, ring_t, strict=True)]
    run.answer_ms = [(a - c) * 1000 for c, a in zip(caller_t, answer_t, strict=True)]
    if run.system == "acd":
        run.caller_answered_ms = [(caller_ok[cid] - t) * 1000 for cid, t in invites.items()]
        admits = sorted(t for t in profile.admit_start if run.start <= t <= run.end)
        offers = sorted(t for t in profile.offer_start if run.start <= t <= run.end)
        if len(admits) == len(caller_t):
            run.admit_delay_ms = [(a - c) * 1000 for c, a in zip(caller_t, admits, strict=True)]
        if len(offers) == len(caller_t):
            run.originate_delay_ms = [(o - c) * 1000 for c, o in zip(caller_t, offers, strict=True)]


# ----------------------------------------------------------------------------- main


async def bench(s: Settings, workdir: Path) -> list[Run]:
    from helpline.service import serve

    cfg = bench_config(s, workdir)
    bench_root()
    clear_live_state(cfg)
    print(f"starting the bench Asterisk ({BENCH_ROOT}) ...", flush=True)
    runtime = await asyncio.to_thread(start_asterisk, cfg, s)
    profile = Profile()
    install_profiling(profile)
    started = asyncio.Event()
    app = asyncio.create_task(serve(cfg, started), name="helpline-app")
    runs: list[Run] = []
    try:
        await _wait(started.wait(), app, 30)
        phone_dir = workdir / "phones"
        phone_dir.mkdir()
        phones = PhoneBank(
            [
                VolunteerPhone(
                    PhoneAccount(vid, PASSWORD),
                    "127.0.0.1:5070",
                    phone_dir,
                    answer_ms=s.answer_ms,
                    trace=True,
                )
                for vid in volunteer_ids(s)
            ]
        )
        async with phones:
            base = f"http://{cfg.http.host}:{cfg.http.port}/api/v1"
            async with VolunteerApi(base) as api:
                for vid in volunteer_ids(s):
                    await api.login(vid, PASSWORD)
                    await api.ready(vid)
                print(f"{s.volunteers} volunteers registered, logged in and ready", flush=True)
                logs: list[tuple[Run, Path]] = []
                for rate in s.rates:
                    for system in ("acd", "app_queue"):
                        print(f"  {system:9} {rate:g} calls/s x {s.calls} ...", flush=True)
                        logs.append(await place(s, workdir, system, rate, phones, profile))
                await api.logout_all()
        volunteer_msgs = sorted(
            (m for p in phones.phones for m in parse_trace(p.message_log)), key=lambda m: m.ts
        )
        for run, caller_log in logs:
            analyse(run, caller_log, volunteer_msgs, profile)
            runs.append(run)
    finally:
        app.cancel()
        await asyncio.gather(app, return_exceptions=True)
        await asyncio.to_thread(runtime.stop)
        clear_live_state(cfg)
    report(s, runs, profile)
    return runs


async def _wait(aw: Awaitable[Any], guard: asyncio.Task[Any], timeout_s: float) -> None:
    """Await ``aw`` unless ``guard`` (the app) dies first."""
    waiter = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({waiter, guard}, timeout=timeout_s, return_when="FIRST_COMPLETED")
    if guard in done:
        waiter.cancel()
        guard.result()
        raise RuntimeError("the app stopped")
    if waiter not in done:
        waiter.cancel()
        raise TimeoutError("the app did not start")


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def report(s: Settings, runs: Sequence[Run], profile: Profile) -> None:
    print()
    print(
        f"e2e: {s.volunteers} auto-answer volunteers (200 OK after {s.answer_ms} ms), "
        f"{s.calls} calls per rate, caller hold {s.hold_ms[0]}-{s.hold_ms[1]} ms, "
        f"ring timeout {s.ring_timeout_s} s, wrap-up {s.wrap_up_s} s"
    )
    print(
        "pairing: within a run the k-th caller INVITE (sorted by time) is paired with the k-th "
        "volunteer INVITE and 200 OK; runs whose counts differ are flagged and not pooled"
    )
    print(
        f"{'system':10}{'rate/s':>7}{'calls':>7}{'rang':>6}{'lost':>6}"
        f"{'ring p50':>10}{'ring p99':>10}{'ans p50':>9}{'ans p99':>9}  paired"
    )
    for r in runs:
        print(
            f"{r.system:10}{r.rate:>7g}{r.callers:>7}{r.rang:>6}{r.lost:>6}"
            f"{_fmt(percentile(r.ring_ms, 50)):>10}{_fmt(percentile(r.ring_ms, 99)):>10}"
            f"{_fmt(percentile(r.answer_ms, 50)):>9}{_fmt(percentile(r.answer_ms, 99)):>9}"
            f"  {'yes' if r.paired else f'NO (sipp failed calls: {r.sipp_failed})'}"
        )
    acd_runs = [r for r in runs if r.system == "acd" and r.paired]
    print()
    print("ACD breakdown, ms from the caller's INVITE (p50 / p99, all paired runs):")
    for label, attr in (
        ("our writer starts admit (SIP->dialplan->Stasis->websocket)", "admit_delay_ms"),
        ("caller gets 200 OK (ARI answer done)", "caller_answered_ms"),
        ("our writer starts the originate", "originate_delay_ms"),
        ("volunteer's phone gets the INVITE", "ring_ms"),
    ):
        values = [v for r in acd_runs for v in getattr(r, attr)]
        print(f"  {label:60} {_fmt(percentile(values, 50)):>7} / {_fmt(percentile(values, 99))}")
    print(
        f"  admit() itself: p50 {_fmt(percentile(profile.admit_ms, 50))} ms, "
        f"p99 {_fmt(percentile(profile.admit_ms, 99))} ms; Redis journal append p50 "
        f"{_fmt(percentile(profile.journal_ms, 50))} ms"
    )
    calls = sum(r.callers for r in runs if r.system == "acd")
    busy = sum(sum(v) for v in profile.writer_ms.values())
    print(
        f"The single writer was busy {busy / max(1, calls):.1f} ms per call "
        "(inputs by type: count, total ms, p50 ms, p99 ms):"
    )
    for kind, values in sorted(profile.writer_ms.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {kind:40} {len(values):>6} {sum(values):>8.0f} {_fmt(percentile(values, 50)):>7}"
            f" {_fmt(percentile(values, 99)):>7}"
        )
    print("ARI requests during the ACD runs (count, p50 ms, p99 ms):")
    for op, values in sorted(profile.ari_ms.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {op:40} {len(values):>6} {_fmt(percentile(values, 50)):>7}"
            f" {_fmt(percentile(values, 99)):>7}"
        )
    pooled = {
        system: [v for r in runs if r.system == system and r.paired for v in r.ring_ms]
        for system in ("acd", "app_queue")
    }
    acd_p99 = percentile(pooled["acd"], 99)
    aq_p99 = percentile(pooled["app_queue"], 99)
    ratio = acd_p99 / aq_p99 if aq_p99 and not math.isnan(aq_p99) else math.nan
    print()
    print(f"ring_p50_ms_acd={percentile(pooled['acd'], 50):.1f}")
    print(f"ring_p99_ms_acd={acd_p99:.1f}")
    print(f"ring_p50_ms_app_queue={percentile(pooled['app_queue'], 50):.1f}")
    print(f"ring_p99_ms_app_queue={aq_p99:.1f}")
    print(f"ring_p99_ratio={ratio:.2f}")
    print(f"lost_calls={sum(r.lost for r in runs)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=20)
    parser.add_argument("--rates", default="5,10,20", help="calls per second, comma-separated")
    parser.add_argument("--calls", type=int, default=150, help="calls per rate and system")
    parser.add_argument("--hold-ms", default="300,500", help="caller hold time range (ms)")
    parser.add_argument("--answer-ms", type=int, default=50, help="volunteer answer delay")
    parser.add_argument("--ring-timeout", type=int, default=10)
    parser.add_argument("--wrap-up", type=int, default=0, help="seconds (app_queue: whole s)")
    parser.add_argument("--keep", action="store_true", help="keep the traces' directory")
    args = parser.parse_args(argv)
    low, high = (int(x) for x in args.hold_ms.split(","))
    settings = Settings(
        volunteers=args.volunteers,
        rates=tuple(float(r) for r in args.rates.split(",")),
        calls=args.calls,
        hold_ms=(low, high),
        answer_ms=args.answer_ms,
        ring_timeout_s=args.ring_timeout,
        wrap_up_s=args.wrap_up,
    )
    if os.geteuid() != 0:
        print("error: the chrooted Asterisk needs root", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="helpline-e2e-"))
    try:
        asyncio.run(bench(settings, workdir))
    finally:
        if args.keep:
            print(f"traces kept in {workdir}", file=sys.stderr)
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
