"""End-to-end SIP benchmark: our ACD, Asterisk's app_queue and a minimal Stasis app (the floor)
on the same Asterisk, with the same volunteers and the same callers.

Real SIP load through a real Asterisk 22: auto-answering sipp volunteers (registered with
digest auth) and sipp callers from the carrier address 127.0.0.2, at several call rates. The
same calls go (a) to 116111, routed by our Stasis app (``helpline.service.serve``, as
``helpline run`` runs it, in this process, with the HTTP API used to log the volunteers in),
(b) to a bench number that runs ``Queue(bench)``: strategy leastrecent, the same volunteers as
members, the same ring timeout, ringinuse=no, wrapuptime = our wrap-up, and (c) to a bench
number that enters ``Stasis(bench-floor)``: ``bench/floor.py`` in its own process, which on
StasisStart originates to the next free volunteer and bridges on answer (no Redis, no SQL, no
IVR): the least any ARI design can do here. The systems take turns at each rate.

The bench uses a private copy of the cached Asterisk root and its own ports (SIP 5070, ARI
8098, API 8099), and holds the integration tests' Asterisk lock for its whole run, so it never
runs beside a test session. The queue and the bench numbers are added to the *rendered*
queues.conf/extensions.conf here, never to dialplan/.

Measured from sipp's own message traces (microsecond timestamps, one clock): time from the
caller's INVITE to the volunteer's INVITE (ring) and to the volunteer's 200 OK (answer). Calls
carry no shared id across the two legs, so the k-th caller INVITE of a run is paired with the
k-th volunteer INVITE of that run (every system serves FIFO while volunteers are plentiful); a
run in which a caller never rang, or whose sipp processes failed, is flagged and left out of
the percentiles, and the failing sipp process is named with its error file (scrubbed). A caller
who hangs up while the phone rings is lost but did ring (the phones take the CANCEL).

    python bench/e2e.py [--volunteers 20] [--rates 5,10,20] [--calls 150]

The last lines are machine-readable: ring_p50_ms_<system> and ring_p99_ms_<system> for acd (ours),
app_queue and floor; ring_p99_ratio (acd / app_queue), ring_p50_ratio_floor and
ring_p99_ratio_floor (acd / floor), lost_calls_<system> and lost_calls (never reached a
volunteer, all systems, all rates). Needs root (chroot), sipp, Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Bench volunteers are created fresh each run: hash their passwords cheaply.
os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

import redis  # noqa: E402

from bench.acd_profile import Profile, install_profiling  # noqa: E402
from bench.floor import FloorProcess  # noqa: E402
from bench.rig import (  # noqa: E402
    Callers,
    Phone,
    Phones,
    PortPool,
    run_locked,
)
from bench.traces import (  # noqa: E402
    SipMessage,
    first_by_call,
    is_invite,
    is_invite_ok,
    parse_trace,
    percentile,
)
from config.settings import HelplineConfig, parse_config  # noqa: E402
from runtime.asterisk import DEFAULT_ROOT, AriAccess, AsteriskRuntime  # noqa: E402
from runtime.simulate import CARRIER_IP, PHONE_IP, PhoneAccount, VolunteerApi  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BENCH_ROOT = DEFAULT_ROOT.with_name("bench-asterisk-root")
BENCH_NUMBER = "999001"
"""Carrier-context number that runs Queue(bench)."""
FLOOR_NUMBER = "999002"
"""Carrier-context number that enters Stasis(bench-floor)."""
FLOOR_APP = "bench-floor"
SYSTEMS = ("acd", "app_queue", "floor")
NUMBERS = {"acd": "116111", "app_queue": BENCH_NUMBER, "floor": FLOOR_NUMBER}
PASSWORD = "bench-volunteer-password"

CONFIG = """
languages = ["nl"]
log_dir = "{work}/log"
[helpline]
name = "Bench"
demo = true   # bench secrets, the shared test Redis
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
    systems: tuple[str, ...] = SYSTEMS


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
    """The queue and the bench numbers, appended to the rendered queues/extensions.conf."""
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
        f"exten => {FLOOR_NUMBER},1,Gosub(helpline-anonymise,s,1)\n"
        f" same => n,Stasis({FLOOR_APP})\n"
        " same => n,Hangup()\n"
    )
    return queue, exten


def bench_config(s: Settings, work: Path) -> HelplineConfig:
    text = CONFIG.format(
        work=work,
        root=BENCH_ROOT,
        acd_number=NUMBERS["acd"],
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


def start_asterisk(cfg: HelplineConfig, s: Settings) -> tuple[AsteriskRuntime, dict[str, str]]:
    """Asterisk with the bench volunteers' accounts; returns it and id -> SIP secret."""
    from helpline.cli_asterisk import render_for, runtime_for
    from helpline.service import prepare_database, prompt_languages, required_prompts
    from runtime.prompts import generate_prompts
    from storage.db import make_engine
    from storage.volunteers import VolunteerDirectory

    prepare_database(cfg)  # creates the bench volunteers, so render_for gives their accounts
    engine = make_engine(cfg.database.url)
    try:
        directory = VolunteerDirectory.from_config(engine, cfg)
        sip_secrets = {vid: directory.new_sip_secret(vid) for vid in volunteer_ids(s)}
    finally:
        engine.dispose()
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
    # ARI answers before every module has loaded: a phone registering then may be refused.
    runtime.cli("core waitfullybooted", timeout_s=60.0)
    return runtime, sip_secrets


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
    stasis_ms: list[float] = field(default_factory=list)
    """ACD and floor: INVITE -> the app reads the caller's StasisStart from its websocket."""
    originate_ms: list[float] = field(default_factory=list)
    """ACD and floor: INVITE -> the app starts the originate request to the volunteer."""
    own_ms: list[float] = field(default_factory=list)
    """ACD and floor: the app's own time, StasisStart read -> originate request started."""
    admit_delay_ms: list[float] = field(default_factory=list)
    """ACD only: INVITE -> our writer starts ``admit`` for the call."""
    problems: list[str] = field(default_factory=list)
    """What went wrong with this run's sipp processes (named, with their scrubbed errors)."""
    paired: bool = True

    @property
    def lost(self) -> int:
        return max(0, self.callers - self.answered)


async def place(
    s: Settings, workdir: Path, system: str, rate: float, phones: Phones, profile: Profile
) -> tuple[Run, Path]:
    name = f"callers-{system}-{rate:g}"
    load = Callers(
        "127.0.0.1:5070",
        NUMBERS[system],
        workdir,
        PortPool(CARRIER_IP),
        count=s.calls,
        rate=rate,
        hold_ms=s.hold_ms,
        name=name,
    )
    run = Run(system, rate, start=time.time())
    failed_before = phones.failed()
    profile.recording = system == "acd"
    await load.start()
    budget = s.calls / rate + s.hold_ms[1] / 1000 + s.ring_timeout_s + 30
    await load.wait(budget)
    # Every volunteer leg over (the BYE reaches the phones a moment after the caller's).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(15):
            while phones.in_progress():
                await asyncio.sleep(0.1)
    await asyncio.sleep(max(1.2, s.wrap_up_s + 0.5))  # let wrap-up end before the next run
    profile.recording = False
    run.end = time.time()
    if (problem := load.problem()) is not None:
        run.problems.append(problem)
    run.problems += phones.problems(failed_before)
    if phones.in_progress():
        run.problems.append(f"{phones.in_progress()} volunteer calls still up 15 s after the run")
    for problem in run.problems:
        print(f"    sipp problem: {problem}", flush=True)
    return run, load.message_log


def _paired_ms(early: Sequence[float], late: Sequence[float]) -> list[float]:
    """k-th of ``early`` with the k-th of ``late`` (both sorted), in ms; [] if counts differ."""
    if len(early) != len(late):
        return []
    return [(b - a) * 1000 for a, b in zip(sorted(early), sorted(late), strict=True)]


def analyse(
    run: Run,
    caller_log: Path,
    volunteer_msgs: Sequence[SipMessage],
    profile: Profile,
    floor_stamps: Sequence[tuple[float, float]],
) -> None:
    """Fill ``run`` from the traces (volunteer messages are picked by the run's time window)."""
    caller_msgs = parse_trace(caller_log)
    invites = first_by_call(caller_msgs, lambda m: m.sent and is_invite(m))
    caller_ok = first_by_call(caller_msgs, lambda m: not m.sent and is_invite_ok(m))
    window = [m for m in volunteer_msgs if run.start <= m.ts <= run.end]
    rings = first_by_call(window, lambda m: not m.sent and is_invite(m))
    answers = first_by_call(window, lambda m: m.sent and is_invite_ok(m))
    run.callers, run.rang, run.answered = len(invites), len(rings), len(answers)
    caller_t = sorted(invites.values())
    # A caller who hangs up while the volunteer's phone rings is lost but did ring: rings are
    # paired when every caller rang, answers only when every call was answered.
    run.paired = len(caller_t) == len(rings) and not run.problems
    if not run.paired:
        return
    run.ring_ms = _paired_ms(caller_t, list(rings.values()))
    run.answer_ms = _paired_ms(caller_t, list(answers.values()))

    def within(t: float) -> bool:
        return run.start <= t <= run.end

    if run.system == "acd":
        run.caller_answered_ms = [
            (caller_ok[cid] - t) * 1000 for cid, t in invites.items() if cid in caller_ok
        ]
        run.admit_delay_ms = _paired_ms(caller_t, [t for t in profile.admit_start if within(t)])
        stamps = [
            (seen, profile.originated[channel])
            for channel, seen in profile.stasis_seen.items()
            if within(seen) and channel in profile.originated
        ]
    elif run.system == "floor":
        stamps = [(seen, orig) for seen, orig in floor_stamps if within(seen)]
    else:
        return
    run.stasis_ms = _paired_ms(caller_t, [seen for seen, _ in stamps])
    run.originate_ms = _paired_ms(caller_t, [orig for _, orig in stamps])
    run.own_ms = [(orig - seen) * 1000 for seen, orig in stamps]


# ----------------------------------------------------------------------------- main


def make_phones(
    s: Settings, workdir: Path, sip_secrets: dict[str, str], *, trace: bool = True
) -> Phones:
    phone_dir = workdir / "phones"
    phone_dir.mkdir(exist_ok=True)
    ports = PortPool(PHONE_IP)
    return Phones(
        [
            Phone(
                PhoneAccount(vid, sip_secrets[vid]),
                "127.0.0.1:5070",
                phone_dir,
                ports,
                answer_ms=s.answer_ms,
                trace=trace,
            )
            for vid in volunteer_ids(s)
        ]
    )


@dataclass
class BenchApp:
    """What ``running_app`` yields."""

    cfg: HelplineConfig
    runtime: AsteriskRuntime
    app: asyncio.Task[None]
    sip_secrets: dict[str, str]
    """The bench volunteers' SIP secrets (random; never their login passwords)."""


@contextlib.asynccontextmanager
async def running_app(
    s: Settings, workdir: Path, before_serve: Callable[[HelplineConfig], None] | None = None
) -> AsyncIterator[BenchApp]:
    """The bench Asterisk started and our app serving in this process, both stopped after.

    ``before_serve`` runs once the database exists and before the app starts (other benches
    add accounts there).
    """
    from helpline.service import serve

    cfg = bench_config(s, workdir)
    bench_root()
    clear_live_state(cfg)
    print(f"starting the bench Asterisk ({BENCH_ROOT}) ...", flush=True)
    runtime, sip_secrets = await asyncio.to_thread(start_asterisk, cfg, s)
    app: asyncio.Task[None] | None = None
    try:
        if before_serve is not None:
            before_serve(cfg)
        started = asyncio.Event()
        app = asyncio.create_task(serve(cfg, started), name="helpline-app")
        await wait_guarded(started.wait(), app, 30)
        yield BenchApp(cfg, runtime, app, sip_secrets)
    finally:
        if app is not None:
            app.cancel()
            await asyncio.gather(app, return_exceptions=True)
        await asyncio.to_thread(runtime.stop)
        clear_live_state(cfg)


async def bench(s: Settings, workdir: Path) -> list[Run]:
    profile = Profile()
    install_profiling(profile)
    runs: list[Run] = []
    async with running_app(s, workdir) as running:
        cfg, runtime = running.cfg, running.runtime
        phones = make_phones(s, workdir, running.sip_secrets)
        floor = FloorProcess(runtime.ari, FLOOR_APP, volunteer_ids(s), workdir)
        async with phones, floor:
            base = f"http://{cfg.http.host}:{cfg.http.port}/api/v1"
            async with VolunteerApi(base) as api:
                for vid in volunteer_ids(s):
                    await api.login(vid, PASSWORD)
                    await api.ready(vid)
                print(f"{s.volunteers} volunteers registered, logged in and ready", flush=True)
                logs: list[tuple[Run, Path]] = []
                for rate in s.rates:
                    for system in s.systems:
                        print(f"  {system:9} {rate:g} calls/s x {s.calls} ...", flush=True)
                        logs.append(await place(s, workdir, system, rate, phones, profile))
                await api.logout_all()
        floor_stamps, floor_own_us = floor.stamps()
        volunteer_msgs = sorted(
            (m for p in phones.phones for m in parse_trace(p.message_log)), key=lambda m: m.ts
        )
        for run, caller_log in logs:
            analyse(run, caller_log, volunteer_msgs, profile, floor_stamps)
            runs.append(run)
    report(s, runs, profile, floor_own_us)
    return runs


async def wait_guarded(aw: Awaitable[Any], guard: asyncio.Task[Any], timeout_s: float) -> None:
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


def _p50_p99(values: Sequence[float]) -> str:
    return f"{_fmt(percentile(values, 50)):>7} / {_fmt(percentile(values, 99))}"


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def report(s: Settings, runs: Sequence[Run], profile: Profile, floor_own_us: list[float]) -> None:
    print()
    print(
        f"e2e: {s.volunteers} auto-answer volunteers (200 OK after {s.answer_ms} ms), "
        f"{s.calls} calls per rate, caller hold {s.hold_ms[0]}-{s.hold_ms[1]} ms, "
        f"ring timeout {s.ring_timeout_s} s, wrap-up {s.wrap_up_s} s"
    )
    print(
        "pairing: within a run the k-th caller INVITE (sorted by time) is paired with the k-th "
        "volunteer INVITE (and 200 OK, when every call was answered); runs where a caller never "
        "rang, or a sipp process failed, are flagged and not pooled"
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
            f"  {'yes' if r.paired else 'NO (sipp problems below)' if r.problems else 'NO'}"
        )
    problems = [(r, p) for r in runs for p in r.problems]
    for r, problem in problems:
        print(f"sipp problem in {r.system} at {r.rate:g}/s: {problem}")

    def pooled(system: str, attr: str) -> list[float]:
        return [v for r in runs if r.system == system and r.paired for v in getattr(r, attr)]

    print()
    print("Breakdown, ms from the caller's INVITE (p50 / p99, all paired runs):")
    print(f"  {'':58} {'acd (ours)':>16} {'floor':>16}")
    for label, attr in (
        ("the app reads the StasisStart (SIP->dialplan->websocket)", "stasis_ms"),
        ("the app starts the originate request", "originate_ms"),
        ("the volunteer's phone gets the INVITE (ring)", "ring_ms"),
    ):
        ours, floor = _p50_p99(pooled("acd", attr)), _p50_p99(pooled("floor", attr))
        print(f"  {label:58} {ours:>16} {floor:>16}")
    print(
        f"  {'own time: StasisStart read -> originate request started':58} "
        f"{_p50_p99(pooled('acd', 'own_ms')):>16} {_p50_p99(pooled('floor', 'own_ms')):>16}"
    )
    print(
        f"  (the floor's own time from its loop's clock: p50 {_fmt(percentile(floor_own_us, 50))}"
        f" us, p99 {_fmt(percentile(floor_own_us, 99))} us)"
    )
    if pooled("acd", "admit_delay_ms"):
        label = "acd: our writer starts admit"
        print(f"  {label:58} {_p50_p99(pooled('acd', 'admit_delay_ms')):>16}")
    print(
        f"  {'acd: the caller gets 200 OK (ARI answer done)':58} "
        f"{_p50_p99(pooled('acd', 'caller_answered_ms')):>16}"
    )
    if profile.missing:
        print(f"  not profiled (the app no longer has them): {', '.join(profile.missing)}")
    if profile.admit_ms:
        print(
            f"  admit() itself: p50 {_fmt(percentile(profile.admit_ms, 50))} ms, "
            f"p99 {_fmt(percentile(profile.admit_ms, 99))} ms"
        )
    if profile.journal_ms:
        print(
            f"  Redis journal append (awaited by the writer): p50 "
            f"{_fmt(percentile(profile.journal_ms, 50))} ms, p99 "
            f"{_fmt(percentile(profile.journal_ms, 99))} ms"
        )
    if profile.writer_ms:
        calls = sum(r.callers for r in runs if r.system == "acd")
        busy = sum(sum(v) for v in profile.writer_ms.values())
        print(
            f"The single writer was busy {busy / max(1, calls):.1f} ms per call "
            "(inputs by type: count, total ms, p50 ms, p99 ms):"
        )
        for kind, values in sorted(profile.writer_ms.items(), key=lambda kv: -sum(kv[1])):
            print(
                f"  {kind:40} {len(values):>6} {sum(values):>8.0f}"
                f" {_fmt(percentile(values, 50)):>7} {_fmt(percentile(values, 99)):>7}"
            )
    print("ARI requests during the ACD runs (count, p50 ms, p99 ms):")
    for op, values in sorted(profile.ari_ms.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {op:40} {len(values):>6} {_fmt(percentile(values, 50)):>7}"
            f" {_fmt(percentile(values, 99)):>7}"
        )
    ring = {system: pooled(system, "ring_ms") for system in SYSTEMS}
    p50 = {system: percentile(values, 50) for system, values in ring.items()}
    p99 = {system: percentile(values, 99) for system, values in ring.items()}
    lost = {system: sum(r.lost for r in runs if r.system == system) for system in SYSTEMS}
    figures = {
        "ring_p99_ratio": (_ratio(p99["acd"], p99["app_queue"]), 1.3),
        "ring_p50_ratio_floor": (_ratio(p50["acd"], p50["floor"]), 1.15),
        "ring_p99_ratio_floor": (_ratio(p99["acd"], p99["floor"]), 1.2),
    }
    print()
    print("Targets (ours = acd):")
    for name, (value, target) in figures.items():
        verdict = "-" if math.isnan(value) else "met" if value <= target else "MISSED"
        print(f"  {name:22} {value:6.2f}  target <= {target:.2f}  {verdict}")
    total_lost = sum(lost.values())
    print(f"  {'lost_calls':22} {total_lost:6d}  target 0  {'met' if not total_lost else 'MISSED'}")
    if problems:
        print(f"  {len(problems)} sipp problems (above): those runs are not pooled")
    print()
    for system in SYSTEMS:
        print(f"ring_p50_ms_{system}={p50[system]:.1f}")
        print(f"ring_p99_ms_{system}={p99[system]:.1f}")
    for name, (value, _) in figures.items():
        print(f"{name}={value:.2f}")
    for system in SYSTEMS:
        print(f"lost_calls_{system}={lost[system]}")
    print(f"lost_calls={total_lost}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=20)
    parser.add_argument("--rates", default="5,10,20", help="calls per second, comma-separated")
    parser.add_argument("--calls", type=int, default=150, help="calls per rate and system")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="of acd,app_queue,floor")
    parser.add_argument("--hold-ms", default="300,500", help="caller hold time range (ms)")
    parser.add_argument("--answer-ms", type=int, default=50, help="volunteer answer delay")
    parser.add_argument("--ring-timeout", type=int, default=10)
    parser.add_argument("--wrap-up", type=int, default=0, help="seconds (app_queue: whole s)")
    parser.add_argument("--keep", action="store_true", help="keep the traces' directory")
    args = parser.parse_args(argv)
    low, high = (int(x) for x in args.hold_ms.split(","))
    systems = tuple(args.systems.split(","))
    if not set(systems) <= set(SYSTEMS):
        parser.error(f"--systems: choose from {','.join(SYSTEMS)}")
    settings = Settings(
        volunteers=args.volunteers,
        rates=tuple(float(r) for r in args.rates.split(",")),
        calls=args.calls,
        hold_ms=(low, high),
        answer_ms=args.answer_ms,
        ring_timeout_s=args.ring_timeout,
        wrap_up_s=args.wrap_up,
        systems=systems,
    )
    if os.geteuid() != 0:
        print("error: the chrooted Asterisk needs root", file=sys.stderr)
        return 2
    runs = run_locked(lambda workdir: bench(settings, workdir), "helpline-e2e-", args.keep)
    if runs is None:
        return 1
    return 0 if all(r.paired and not r.lost for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
