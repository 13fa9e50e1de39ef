"""A busy evening at scale: 600 registered volunteers, 20 calls/s, ~200 calls in progress.

Real SIP through the real (chrooted) Asterisk 22 and our app run as a subprocess
(``helpline run``, as in production): a :class:`~runtime.phone_pool.PhonePool` registers the
volunteers' phones (a few sipp processes, each serving many accounts: one injection file of
accounts, one port) and answers every INVITE after ``--answer-ms``; the volunteers exist in SQL
and in the rendered pjsip.conf and are logged in and made ready through the HTTP API. Callers
come from the test carrier (127.0.0.2) at ``--rate`` calls/s for ``--minutes`` and hang up
8-12 s after our 200 OK (the app answers at once with music on hold and rings a volunteer), so
about rate x 10 calls are in progress. No RTP flows (the callers send none): this measures
signalling, our app and Asterisk's channel handling, not media relaying.

The shared Asterisk (the cached root and the test ports 5060/8088) is started and stopped
here, holding the same file lock as the integration tests' fixture for the whole run, so a
concurrent test session waits for us (and we for it).

    python bench/evening.py               # 600 volunteers, 20 calls/s, 5 minutes
    python bench/evening.py --quick       # 100 volunteers, 5 calls/s, 30 s: to try it

Measured from sipp's own event logs (one wall clock, microseconds): ring = the caller's INVITE
to the volunteer phone's INVITE. Calls carry no shared id across the two legs, so they are
paired in order (first caller waiting, first volunteer rung: the ACD serves FIFO while
volunteers are free); a caller not rung within ``PAIR_WINDOW_S`` is left unpaired. CPU shares
are the process's CPU seconds (all threads, from /proc/<pid>/stat) over the wall seconds of the
load; peak RSS is the app's VmHWM. The last lines are ``name=value``: calls_offered,
calls_answered, lost_calls (offered calls that no volunteer answered), ring_p50_ms,
ring_p99_ms, app_cpu_share, app_peak_rss_mb, asterisk_cpu_share. Needs root (chroot), sipp,
Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The evening's volunteers are created fresh each run: hash their passwords cheaply.
os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

import redis  # noqa: E402

from config.settings import HelplineConfig, parse_config  # noqa: E402
from runtime.asterisk import DEFAULT_ROOT, AsteriskRuntime  # noqa: E402
from runtime.phone_pool import EventLog, PhonePool, SipEvent, pair_rings  # noqa: E402
from runtime.simulate import (  # noqa: E402
    CallerLoad,
    PhoneAccount,
    VolunteerApi,
    free_udp_port,
)

LOCK_PATH = Path("/var/lib/helpline/asterisk-tests.lock")
"""The integration tests' fixture holds this while its Asterisk runs (conftest.py)."""
ACD_NUMBER = "116111"
SIP = "127.0.0.1:5060"
PAIR_WINDOW_S = 30.0
"""A caller INVITE not followed by a volunteer INVITE within this long stays unpaired."""

CONFIG = """
languages = ["nl"]
log_dir = "{work}/log"
[helpline]
name = "Evening"
demo = true   # bench secrets, the shared test Redis
[[lines]]
id = "116111"
numbers = ["{acd_number}"]
language = "nl"
[[locations]]
id = "evening"
name = "Evening"
[ivr]
welcome = false   # straight to the queue: the evening measures routing, not prompts
[schedules.default]
daily = ["00:00-24:00"]
holidays = ""
[queue]
strategy = "longest_idle"
ring_timeout_s = {ring_timeout}
wrap_up_s = {wrap_up}
max_wait_s = 600
max_queue_length = 2000
[asterisk]
root = "{root}"
bind = "127.0.0.1"
sip_port = 5060
http_port = 8088
ami_port = 5038
app = "helpline-evening"
ari_user = "helpline-evening"
ari_password = "evening-ari-secret"
ami_user = "helpline-evening"
ami_password = "evening-ami-secret"
sip_realm = "helpline"
trunk_addresses = ["127.0.0.2"]
# Two RTP ports per channel, two channels per call: room for 750 calls at once (below the
# phones' sipp ports, 16000-19999, and clear of the test and bench RTP ranges).
rtp_start = 13000
rtp_end = 15999
[database]
url = "sqlite:///{work}/evening.db"
[redis]
url = "redis://127.0.0.1:6379/0"
prefix = "helpline-evening:"
[http]
host = "127.0.0.1"
port = {http_port}
"""


@dataclass(frozen=True, slots=True)
class Settings:
    """What one evening does."""

    volunteers: int
    rate: float
    """Calls per second."""
    minutes: float
    hold_s: tuple[float, float]
    """A caller hangs up this long after our 200 OK (uniform)."""
    answer_ms: int
    """A phone rings this long before it answers."""
    per_process: int
    """Volunteer accounts per sipp process."""
    ring_timeout_s: int
    wrap_up_s: int
    log_level: str

    @property
    def calls(self) -> int:
        return max(1, round(self.rate * self.minutes * 60))


# ----------------------------------------------------------------------------- processes


@contextlib.contextmanager
def asterisk_lock() -> Iterator[None]:
    """Hold the shared Asterisk's lock (as the test fixture does) for the whole evening."""
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_PATH.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {LOCK_PATH} (a test session or bench is using Asterisk) ...",
                  flush=True)  # fmt: skip
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14, 15)


def peak_rss_mb(pid: int) -> float:
    """VmHWM (the peak resident set) of a process in MiB; NaN if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (the first line of /proc/stat)."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / _CLK_TCK


class CpuWindow:
    """CPU seconds of groups of processes, and of the whole machine, over the load.

    ``sample()`` is called every second or so: a process that has exited keeps the CPU time it
    had when last seen (the callers' sipp ends with the load).
    """

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self._last: dict[int, float] = {}
        self.wall0 = self.wall1 = 0.0
        self._cpu0: dict[str, float] = {}
        self._cpu1: dict[str, float] = {}
        self._last_shares_at: tuple[float, dict[str, float]] = (0.0, {})

    def sample(self) -> dict[str, float]:
        for pids in self.groups.values():
            for pid in pids:
                seconds = cpu_seconds(pid)
                if seconds > 0:
                    self._last[pid] = seconds
        cpu = {
            name: sum(self._last.get(p, 0.0) for p in pids) for name, pids in self.groups.items()
        }
        cpu["machine"] = machine_busy_seconds()
        return cpu

    def start(self) -> None:
        self.wall0, self._cpu0 = time.monotonic(), self.sample()
        self._last_shares_at = (self.wall0, self._cpu0)

    def stop(self) -> None:
        self.wall1, self._cpu1 = time.monotonic(), self.sample()

    def shares(self, since_last: bool = False) -> dict[str, float]:
        """CPU seconds per wall second (1.0 = one core busy) of each group, of the machine and
        of everything else on it (``others``), over the load; ``since_last``: from the
        previous such call until now (progress lines: a burst of other work shows there)."""
        if since_last:
            wall0, cpu0 = self._last_shares_at
            wall1, cpu1 = time.monotonic(), self.sample()
            self._last_shares_at = (wall1, cpu1)
        else:
            wall0, cpu0, wall1, cpu1 = self.wall0, self._cpu0, self.wall1, self._cpu1
        wall = max(1e-9, wall1 - wall0)
        shares = {name: (cpu1[name] - cpu0[name]) / wall for name in cpu1}
        shares["others"] = shares["machine"] - sum(shares[name] for name in self.groups)
        return shares


def evening_config(s: Settings, work: Path) -> tuple[HelplineConfig, Path]:
    text = CONFIG.format(
        work=work,
        root=DEFAULT_ROOT,
        acd_number=ACD_NUMBER,
        ring_timeout=s.ring_timeout_s,
        wrap_up=s.wrap_up_s,
        http_port=free_udp_port("127.0.0.1"),
    )
    path = work / "evening.toml"
    path.write_text(text)
    return parse_config(text, str(path)), path


def volunteer_ids(s: Settings) -> list[str]:
    return [f"eve-{i:03d}" for i in range(1, s.volunteers + 1)]


def prepare(
    cfg: HelplineConfig, ids: Sequence[str], password: str
) -> tuple[AsteriskRuntime, dict[str, str]]:
    """Volunteers in SQL, their accounts in the rendered config, Asterisk (re)started; returns
    it and id -> the SIP secret of their phone."""
    from helpline.cli_asterisk import render_for, runtime_for
    from helpline.service import prepare_database, prompt_languages, required_prompts
    from runtime.prompts import generate_prompts
    from storage.db import make_engine
    from storage.volunteers import VolunteerDirectory

    prepare_database(cfg)
    engine = make_engine(cfg.database.url)
    try:
        directory = VolunteerDirectory.from_config(engine, cfg)
        sip_secrets: dict[str, str] = {}
        for vid in ids:
            directory.add(vid, vid, "evening", ["phone"], ["nl"], password)
            sip_secrets[vid] = directory.new_sip_secret(vid)
    finally:
        engine.dispose()
    runtime = runtime_for(cfg)
    runtime.stop()  # the test Asterisk or a `make up` one: we hold the lock, so it is ours now
    runtime.install_config(render_for(cfg))
    generate_prompts(runtime.root, prompt_languages(cfg), required_prompts(cfg))
    runtime.start(wait_s=60.0)
    return runtime, sip_secrets


def clear_live_state(cfg: HelplineConfig) -> None:
    """Our Redis keys (an earlier evening's would restore its volunteers and calls)."""
    client = redis.Redis.from_url(cfg.redis.url)
    try:
        keys = list(client.scan_iter(match=cfg.redis.prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def start_app(
    cfg: HelplineConfig, config_path: Path, s: Settings, work: Path
) -> asyncio.subprocess.Process:
    """``helpline run`` as a subprocess; returns once its HTTP API answers."""
    with (work / "app.log").open("wb") as sink:
        app = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "helpline.cli", "--config", str(config_path),
            "run", "--log-level", s.log_level,
            stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://{cfg.http.host}:{cfg.http.port}/healthz"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.returncode is not None:
            raise RuntimeError(f"the app exited ({app.returncode}):\n{_tail(work / 'app.log')}")
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return app
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the app did not answer at {url}:\n{_tail(work / 'app.log')}")


async def stop_app(app: asyncio.subprocess.Process) -> None:
    if app.returncode is None:
        app.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(app.wait(), 15)
        except TimeoutError:
            app.kill()
            await app.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ----------------------------------------------------------------------------- analysis


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the evening measured."""

    offered: int
    """Calls the callers' sipp started (INVITEs sent)."""
    caller_answered: int
    """Callers that got our 200 OK (music on hold at once)."""
    caller_failed: int
    """Caller calls that sipp counted as failed (an unexpected reply or none)."""
    rung: int
    """INVITEs the volunteer phones received."""
    answered: int
    """Calls a volunteer phone answered."""
    ring_ms: list[float]
    peak_in_progress: int
    app_cpu_share: float
    app_peak_rss_mb: float
    asterisk_cpu_share: float
    sipp_cpu_share: float
    """Our simulated phones and callers (they share the machine with what they measure)."""
    others_cpu_share: float
    """Everything else on the machine (other jobs): high values make the figures noisy."""
    ring_by_minute: list[list[float]]
    """Ring times (ms) of the calls offered in each minute of the load."""
    load_s: float

    @property
    def lost(self) -> int:
        return max(0, self.offered - self.answered)


def analyse(
    caller_events: Sequence[SipEvent], phone_events: Sequence[SipEvent], since: float
) -> tuple[int, int, int, int, list[tuple[float, float]]]:
    """Offered, caller-answered, rung, answered and the rings as (seconds into the load,
    ms), from the events after ``since``."""
    caller = [e for e in caller_events if e.ts >= since]
    phone = [e for e in phone_events if e.ts >= since]
    invites = [e.ts for e in caller if e.kind == "invite"]
    rings = [e.ts for e in phone if e.kind == "invite"]
    pairs = pair_rings(invites, rings, PAIR_WINDOW_S)
    return (
        len(invites),
        sum(1 for e in caller if e.kind == "answered"),
        len(rings),
        sum(1 for e in phone if e.kind == "answered"),
        [(c - since, (r - c) * 1000) for c, r in pairs],
    )


# ----------------------------------------------------------------------------- the evening


async def evening(s: Settings, work: Path) -> Outcome:
    password = "evening-volunteer-password"
    cfg, config_path = evening_config(s, work)
    ids = volunteer_ids(s)
    clear_live_state(cfg)
    print(f"preparing {len(ids)} volunteers and starting Asterisk ({DEFAULT_ROOT}) ...",
          flush=True)  # fmt: skip
    runtime, sip_secrets = await asyncio.to_thread(prepare, cfg, ids, password)
    app: asyncio.subprocess.Process | None = None
    try:
        app = await start_app(cfg, config_path, s, work)
        asterisk_pid = runtime.pid()
        if asterisk_pid is None:
            raise RuntimeError("Asterisk is not running")
        phone_dir = work / "phones"
        phone_dir.mkdir()
        accounts = [PhoneAccount(vid, sip_secrets[vid]) for vid in ids]
        started = time.monotonic()
        async with PhonePool(
            accounts, SIP, phone_dir, per_process=s.per_process, answer_ms=s.answer_ms,
            register_rate=100,
        ) as phones:  # fmt: skip
            print(f"{phones.counts().registered} phones registered by {len(phones.groups)} sipp "
                  f"processes in {time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
            base = f"http://{cfg.http.host}:{cfg.http.port}/api/v1"
            async with VolunteerApi(base) as api:
                started = time.monotonic()
                limit = asyncio.Semaphore(8)

                async def log_in(vid: str) -> None:
                    async with limit:
                        await api.login(vid, password)
                        await api.ready(vid)

                await asyncio.gather(*(log_in(vid) for vid in ids))
                print(f"{len(ids)} volunteers logged in and ready in "
                      f"{time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
                return await _load(s, work, app, asterisk_pid, phones)
    finally:
        if app is not None:
            await stop_app(app)
        await asyncio.to_thread(runtime.stop)
        clear_live_state(cfg)


async def _load(
    s: Settings, work: Path, app: asyncio.subprocess.Process, asterisk_pid: int, phones: PhonePool
) -> Outcome:
    callers = CallerLoad(
        SIP,
        ACD_NUMBER,
        work,
        count=s.calls,
        rate=s.rate,
        hold_ms=(int(s.hold_s[0] * 1000), int(s.hold_s[1] * 1000)),
        event_log=True,
    )
    since = time.time()
    await callers.start()
    sipp = [*phones.pids, *([callers.pid] if callers.pid is not None else [])]
    cpu = CpuWindow({"app": [app.pid], "asterisk": [asterisk_pid], "sipp": sipp})
    cpu.start()
    print(f"placing {s.calls} calls at {s.rate:g}/s for {s.minutes:g} min, hold "
          f"{s.hold_s[0]:g}-{s.hold_s[1]:g} s ...", flush=True)  # fmt: skip
    deadline = time.monotonic() + s.minutes * 60 + s.hold_s[1] + s.ring_timeout_s + 60
    peak = 0
    last_report = time.monotonic()
    while callers.running and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        if app.returncode is not None:
            raise RuntimeError(f"the app exited ({app.returncode}):\n{_tail(work / 'app.log')}")
        phones.check_alive()
        counts = phones.counts()
        peak = max(peak, counts.talking)
        cpu.sample()  # keeps the callers' CPU time when their sipp exits
        if time.monotonic() - last_report >= 10:
            last_report = time.monotonic()
            shares = cpu.shares(since_last=True)
            stats = callers.stats()
            print(f"[{time.monotonic() - cpu.wall0:4.0f}s] offered {stats.created:5}  answered "
                  f"{counts.answered:5}  talking {counts.talking:4}  cpu last 10 s: app "
                  f"{shares['app']:.2f} asterisk {shares['asterisk']:.2f} sipp "
                  f"{shares['sipp']:.2f} others {shares['others']:.2f}", flush=True)  # fmt: skip
    code = await callers.wait(5.0)
    cpu.stop()
    shares = cpu.shares()
    rss = peak_rss_mb(app.pid)
    if code != 0:
        print(f"note: the callers' sipp exited {code}:\n{callers.output_tail()}", flush=True)
    # The volunteers' legs end a moment after the callers' (the BYE comes from Asterisk).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(15):
            while phones.counts().talking:
                await asyncio.sleep(0.2)
    assert callers.event_log is not None
    caller_log = EventLog(callers.event_log)
    caller_log.poll()
    offered, caller_answered, rung, answered, rings = analyse(
        caller_log.events, phones.events(), since
    )
    ring_ms = [ms for _, ms in rings]
    ring_by_minute: list[list[float]] = [[] for _ in range(math.ceil(s.minutes) or 1)]
    for offset, ms in rings:
        ring_by_minute[min(len(ring_by_minute) - 1, int(offset // 60))].append(ms)
    return Outcome(
        offered=offered,
        caller_answered=caller_answered,
        caller_failed=callers.stats().failed,
        rung=rung,
        answered=answered,
        ring_ms=ring_ms,
        peak_in_progress=peak,
        app_cpu_share=shares["app"],
        app_peak_rss_mb=rss,
        asterisk_cpu_share=shares["asterisk"],
        sipp_cpu_share=shares["sipp"],
        others_cpu_share=shares["others"],
        ring_by_minute=ring_by_minute,
        load_s=cpu.wall1 - cpu.wall0,
    )


def report(s: Settings, o: Outcome) -> None:
    print()
    print(
        f"evening: {s.volunteers} volunteers ({s.per_process} per sipp process, answer after "
        f"{s.answer_ms} ms), {s.rate:g} calls/s for {s.minutes:g} min, hold "
        f"{s.hold_s[0]:g}-{s.hold_s[1]:g} s, wrap-up {s.wrap_up_s} s; load lasted {o.load_s:.0f} s"
    )
    print(
        f"callers: {o.offered} offered, {o.caller_answered} got our 200 OK, "
        f"{o.caller_failed} failed in sipp; phones: {o.rung} rung, {o.answered} answered; "
        f"at most {o.peak_in_progress} volunteers talking at once"
    )
    print(f"ring (caller INVITE -> volunteer INVITE): {len(o.ring_ms)} paired; by minute:")
    for minute, values in enumerate(o.ring_by_minute, 1):
        print(f"  minute {minute}: {len(values):5} calls, p50 {percentile(values, 50):7.1f} ms, "
              f"p99 {percentile(values, 99):7.1f} ms")  # fmt: skip
    print(
        f"cpu shares over the load (1.0 = one core): sipp {o.sipp_cpu_share:.2f}, everything "
        f"else on the machine {o.others_cpu_share:.2f} (other jobs: the figures are that noisy)"
    )
    print(f"calls_offered={o.offered}")
    print(f"calls_answered={o.answered}")
    print(f"lost_calls={o.lost}")
    print(f"ring_p50_ms={percentile(o.ring_ms, 50):.1f}")
    print(f"ring_p99_ms={percentile(o.ring_ms, 99):.1f}")
    print(f"app_cpu_share={o.app_cpu_share:.3f}")
    print(f"app_peak_rss_mb={o.app_peak_rss_mb:.1f}")
    print(f"asterisk_cpu_share={o.asterisk_cpu_share:.3f}")
    print(f"others_cpu_share={o.others_cpu_share:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long calls arrive")
    parser.add_argument("--hold", default="8,12", help="seconds a call lasts: MIN,MAX")
    parser.add_argument("--answer-ms", type=int, default=200, help="phones ring this long")
    parser.add_argument("--per-process", type=int, default=100, help="accounts per sipp")
    parser.add_argument("--wrap-up", type=int, default=3, help="the ACD's wrap-up (s)")
    parser.add_argument("--log-level", default="INFO", help="of `helpline run`")
    parser.add_argument("--quick", action="store_true", help="100 volunteers, 5/s, 30 s")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args(argv)
    low, high = (float(x) for x in args.hold.split(","))
    settings = Settings(
        volunteers=100 if args.quick else args.volunteers,
        rate=5.0 if args.quick else args.rate,
        minutes=0.5 if args.quick else args.minutes,
        hold_s=(min(low, high), max(low, high)),
        answer_ms=args.answer_ms,
        per_process=args.per_process,
        ring_timeout_s=10,
        wrap_up_s=args.wrap_up,
        log_level=args.log_level,
    )
    if os.geteuid() != 0:
        print("error: the chrooted Asterisk needs root", file=sys.stderr)
        return 2
    if shutil.which("sipp") is None:
        print("error: sipp is not installed (apt-get install -y sip-tester)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="helpline-evening-"))
    try:
        with asterisk_lock():
            outcome = asyncio.run(evening(settings, work))
        report(settings, outcome)
    finally:
        if args.keep:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
