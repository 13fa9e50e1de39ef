"""``helpline simulate``: simulated volunteers and callers against the running system.

Creates volunteers ``sim-01``.. (SQL directory, first configured location), renders and
installs Asterisk's config so their SIP accounts exist, registers an auto-answering sipp phone
for each (a :class:`~runtime.phone_pool.PhonePool`: a few sipp processes serve them all), logs
them in and makes them ready through the HTTP API, then places calls from the carrier at a
fixed rate with random hold times. A line of progress each second; at the end a
summary computed from our own contact records in SQL. The volunteers are logged out, their
phones stopped and their accounts left disabled.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.settings import HelplineConfig, load_config
from helpline.errors import SystemNotUp
from runtime.errors import AsteriskError, SimulationError
from runtime.phone_pool import PhonePool
from runtime.simulate import CallerLoad, PhoneAccount, VolunteerApi
from storage.errors import StorageError

Printer = Callable[[str], None]

MAX_VOLUNTEERS = 999
PHONES_PER_PROCESS = 50
"""Accounts per sipp process: 99 volunteers are two processes."""
API_CONCURRENCY = 8
"""HTTP requests in flight at once (a login verifies an Argon2 hash)."""


@dataclass(frozen=True, slots=True)
class SimulationPlan:
    """What to simulate."""

    volunteers: int
    calls_per_minute: float
    minutes: float
    hold_s: tuple[float, float] = (10.0, 40.0)
    """A caller stays this long after being answered (by our music on hold, at once)."""
    answer_s: float = 1.0
    """Each phone rings this long before it answers."""
    wrap_up_s: float = 3.0
    """A simulated volunteer ends wrap-up after this long (the ACD's own timer may be shorter)."""

    @property
    def calls(self) -> int:
        return max(1, round(self.calls_per_minute * self.minutes))


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """The outcome, from our contact records (not from sipp)."""

    placed: int
    """Calls sipp started."""
    records: int
    answered: int
    abandoned: int
    overflowed: int
    mean_wait_s: float | None
    """Over every recorded contact: time to answer, or to hang-up / overflow."""
    max_wait_s: float | None
    phones_registered: int = 0
    """Simulated phones whose REGISTER Asterisk accepted."""
    phones_answered: int = 0
    """Calls the simulated phones answered (from their own logs)."""


def sim_ids(count: int) -> list[str]:
    return [f"sim-{i:02d}" for i in range(1, count + 1)]


def check_system_up(cfg: HelplineConfig) -> None:
    """SystemNotUp unless the API answers and Asterisk's ARI does."""
    url = f"http://{cfg.http.host}:{cfg.http.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status != 200:
                raise SystemNotUp(f"the app at {url} answered {response.status}")
    except (urllib.error.URLError, OSError) as exc:
        raise SystemNotUp(f"the app does not answer at {url}; start it with `make up`") from exc
    from helpline.cli_asterisk import runtime_for

    if runtime_for(cfg).ari_info() is None:
        raise SystemNotUp(f"Asterisk's ARI does not answer at {cfg.asterisk.ari_url}; `make up`")


def prepare_volunteers(
    cfg: HelplineConfig, ids: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Create or re-enable the sim volunteers with fresh passwords and SIP secrets; returns
    (id -> login password, id -> SIP secret of their phone)."""
    from storage.db import make_engine
    from storage.volunteers import VolunteerDirectory

    engine = make_engine(cfg.database.url)
    try:
        directory = VolunteerDirectory.from_config(engine, cfg)
        location = cfg.locations[0].id
        languages = sorted({line.language for line in cfg.lines})
        passwords: dict[str, str] = {}
        sip_secrets: dict[str, str] = {}
        for vid in ids:
            password = secrets.token_urlsafe(12)
            if directory.get(vid) is None:
                name = f"Simulated {vid.removeprefix('sim-')}"
                directory.add(vid, name, location, ["phone"], languages, password)
            else:
                directory.set_password(vid, password)
                directory.enable(vid)
            passwords[vid] = password
            sip_secrets[vid] = directory.new_sip_secret(vid)  # last: enable rotates it too
        return passwords, sip_secrets
    finally:
        engine.dispose()


def disable_volunteers(cfg: HelplineConfig, ids: list[str]) -> None:
    from storage.db import make_engine
    from storage.errors import UnknownVolunteer
    from storage.volunteers import VolunteerDirectory

    engine = make_engine(cfg.database.url)
    try:
        directory = VolunteerDirectory.from_config(engine, cfg)
        for vid in ids:
            try:
                directory.disable(vid)
            except UnknownVolunteer:
                pass
    finally:
        engine.dispose()


def install_accounts(cfg: HelplineConfig) -> None:
    """Render the config for the current volunteers, install it and reload PJSIP."""
    from helpline.cli_asterisk import render_for, runtime_for

    runtime = runtime_for(cfg)
    runtime.install_config(render_for(cfg))
    runtime.cli("module reload res_pjsip.so")  # Asterisk 22 has no "pjsip reload"


def outcome_summary(
    cfg: HelplineConfig, since: datetime, until: datetime, placed: int
) -> SimulationSummary:
    """Counts and waits of the contacts that arrived in [since, until), from SQL."""
    from storage.db import make_engine
    from storage.records import RecordWriter

    engine = make_engine(cfg.database.url)
    try:
        writer = RecordWriter(engine)
        counts = writer.counts_by_outcome(since, until)
        waits = [r.wait_s for r in writer.between(since, until) if r.channel == "phone"]
    finally:
        engine.dispose()
    return SimulationSummary(
        placed=placed,
        records=sum(counts.values()),
        answered=counts.get("answered", 0),
        abandoned=counts.get("abandoned", 0),
        overflowed=counts.get("overflowed", 0),
        mean_wait_s=sum(waits) / len(waits) if waits else None,
        max_wait_s=max(waits) if waits else None,
    )


async def _for_each(ids: list[str], action: Callable[[str], Awaitable[None]]) -> None:
    """``action`` for every volunteer, a few at a time."""
    limit = asyncio.Semaphore(API_CONCURRENCY)

    async def one(vid: str) -> None:
        async with limit:
            await action(vid)

    await asyncio.gather(*(one(vid) for vid in ids))


async def _log_in_all(api: VolunteerApi, ids: list[str], passwords: dict[str, str]) -> None:
    async def log_in(vid: str) -> None:
        await api.login(vid, passwords[vid])
        await api.ready(vid)

    await _for_each(ids, log_in)


async def _volunteers_step(api: VolunteerApi, ids: list[str], plan: SimulationPlan,
                           wrap_seen: dict[str, float]) -> dict[str, int]:  # fmt: skip
    """Poll each volunteer's state; end wrap-ups older than ``plan.wrap_up_s``."""
    states: dict[str, int] = {}
    now = time.monotonic()

    async def step(vid: str) -> None:
        try:
            state = await api.agent_state(vid) or "logged_out"
        except SimulationError:
            state = "unknown"
        states[state] = states.get(state, 0) + 1
        if state != "wrap_up":
            wrap_seen.pop(vid, None)
            return
        since = wrap_seen.setdefault(vid, now)
        if now - since >= plan.wrap_up_s:
            try:
                await api.end_wrap_up(vid)
            except SimulationError:
                pass  # the ACD's own timer ended it meanwhile

    await _for_each(ids, step)
    return states


async def run_simulation(
    cfg: HelplineConfig,
    plan: SimulationPlan,
    *,
    out: Printer = print,
    install: Callable[[HelplineConfig], None] = install_accounts,
    record_timeout_s: float = 15.0,
    on_ready: Callable[[], Awaitable[None]] | None = None,
) -> SimulationSummary:
    """The whole simulation; raises SystemNotUp / SimulationError on a clean failure.

    ``on_ready`` is awaited once every phone is registered and every volunteer ready, before
    the first call (tests look at Asterisk then).
    """
    await asyncio.to_thread(check_system_up, cfg)
    ids = sim_ids(plan.volunteers)
    passwords, sip_secrets = await asyncio.to_thread(prepare_volunteers, cfg, ids)
    try:
        await asyncio.to_thread(install, cfg)
        out(f"{len(ids)} simulated volunteers: {ids[0]}..{ids[-1]} at {cfg.locations[0].id}")
        with tempfile.TemporaryDirectory(prefix="helpline-sim-") as tmp:
            return await _simulate(
                cfg, plan, ids, passwords, sip_secrets, Path(tmp), out, record_timeout_s, on_ready
            )
    finally:
        await asyncio.to_thread(disable_volunteers, cfg, ids)
        try:
            await asyncio.to_thread(install, cfg)  # their SIP accounts go away again
        except Exception as exc:  # noqa: BLE001 - clean-up must not hide the real error
            out(f"warning: re-installing the Asterisk config failed: {exc}")


async def _simulate(
    cfg: HelplineConfig,
    plan: SimulationPlan,
    ids: list[str],
    passwords: dict[str, str],
    sip_secrets: dict[str, str],
    workdir: Path,
    out: Printer,
    record_timeout_s: float,
    on_ready: Callable[[], Awaitable[None]] | None,
) -> SimulationSummary:
    sip = f"{cfg.asterisk.bind}:{cfg.asterisk.sip_port}"
    phones = PhonePool(
        [PhoneAccount(vid, sip_secrets[vid]) for vid in ids],
        sip,
        workdir,
        per_process=PHONES_PER_PROCESS,
        answer_ms=int(plan.answer_s * 1000),
    )
    http = cfg.http
    base = f"http://{http.host}:{http.port}/api/v1"
    admin = f"http://{http.admin_host}:{http.admin_port}/api/v1"
    async with phones, VolunteerApi(base, http.admin_token, admin) as api:
        try:
            registered = phones.counts().registered
            await _log_in_all(api, ids, passwords)
            if on_ready is not None:
                await on_ready()
            out(
                f"{registered} phones registered ({len(phones.groups)} sipp processes), "
                f"volunteers logged in and ready; placing {plan.calls} calls"
            )
            since = datetime.now(UTC) - timedelta(seconds=1)
            callers = CallerLoad(
                sip,
                cfg.lines[0].numbers[0],
                workdir,
                count=plan.calls,
                rate=plan.calls_per_minute,
                period_ms=60_000,
                hold_ms=(int(plan.hold_s[0] * 1000), int(plan.hold_s[1] * 1000)),
            )
            await callers.start()
            started = time.monotonic()
            deadline = started + plan.minutes * 60 + plan.hold_s[1] + 120
            wrap_seen: dict[str, float] = {}
            while callers.running and time.monotonic() < deadline:
                await asyncio.sleep(1.0)
                phones.check_alive()
                states = await _volunteers_step(api, ids, plan, wrap_seen)
                placed, answered = callers.stats().created, phones.counts().answered
                waiting = await _waiting(api, callers, phones)
                volunteers = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
                out(
                    f"[{time.monotonic() - started:5.0f}s] placed {placed:4}  answered "
                    f"{answered:4}  waiting {waiting:3}   volunteers: {volunteers}"
                )
            await callers.wait(5.0)
            placed = callers.stats().created
        finally:
            await api.logout_all()
    summary = await _await_records(cfg, since, placed, record_timeout_s)
    counts = phones.counts()
    summary = replace(summary, phones_registered=counts.registered, phones_answered=counts.answered)
    print_summary(summary, out)
    return summary


async def run_callers(
    cfg: HelplineConfig, calls: int, plan: SimulationPlan, *, out: Printer = print
) -> int:
    """Only callers, for volunteers who are really there (the browser workspace, a desk
    phone): ``calls`` calls from the carrier side, at the plan's rate; returns how many were
    placed. Each caller stays on the line for the plan's hold time once answered."""
    await asyncio.to_thread(check_system_up, cfg)
    sip = f"{cfg.asterisk.bind}:{cfg.asterisk.sip_port}"
    number = cfg.lines[0].numbers[0]
    with tempfile.TemporaryDirectory(prefix="helpline-callers-") as tmp:
        callers = CallerLoad(
            sip,
            number,
            Path(tmp),
            count=calls,
            rate=plan.calls_per_minute,
            period_ms=60_000,
            hold_ms=(int(plan.hold_s[0] * 1000), int(plan.hold_s[1] * 1000)),
        )
        out(f"calling {number} {calls} time(s); answer in the workspace or on a phone")
        await callers.start()
        started = time.monotonic()
        deadline = started + calls * 60 / plan.calls_per_minute + plan.hold_s[1] + 300
        while callers.running and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            stats = callers.stats()
            out(
                f"[{time.monotonic() - started:5.0f}s] placed {stats.created:3}  on the line "
                f"{stats.current:3}  done {stats.succeeded:3}  failed {stats.failed:3}"
            )
        await callers.wait(5.0)
        return callers.stats().created


async def _waiting(api: VolunteerApi, callers: CallerLoad, phones: PhonePool) -> int:
    try:
        waiting = await api.waiting()
    except SimulationError:
        waiting = None
    if waiting is None:  # no admin token: callers in a call minus volunteers in one
        waiting = max(0, callers.stats().current - phones.counts().talking)
    return waiting


async def _await_records(
    cfg: HelplineConfig, since: datetime, placed: int, timeout_s: float
) -> SimulationSummary:
    """Records are written when a contact ends, a moment after the last call."""
    deadline = time.monotonic() + timeout_s
    while True:
        until = datetime.now(UTC) + timedelta(seconds=1)
        summary: SimulationSummary = await asyncio.to_thread(
            outcome_summary, cfg, since, until, placed
        )
        if summary.records >= placed or time.monotonic() > deadline:
            return summary
        await asyncio.sleep(0.5)


def print_summary(s: SimulationSummary, out: Printer) -> None:
    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f} s"

    out("")
    out(f"calls placed: {s.placed}; contact records: {s.records}")
    out(f"  phones registered: {s.phones_registered}; calls they answered: {s.phones_answered}")
    out(f"  answered:   {s.answered}")
    out(f"  abandoned:  {s.abandoned}")
    out(f"  overflowed: {s.overflowed}")
    out(f"  wait: mean {secs(s.mean_wait_s)}, max {secs(s.max_wait_s)}")
    if s.records != s.placed:
        out("  note: records and placed calls differ (other calls meanwhile, or calls lost)")


def register(subparsers: Any) -> None:
    """Add ``simulate``."""
    p = subparsers.add_parser(
        "simulate", help="simulated volunteers (sipp phones) and callers against the running system"
    )
    p.add_argument(
        "--volunteers", type=int, default=5, help=f"phones to simulate (1-{MAX_VOLUNTEERS})"
    )
    p.add_argument("--calls-per-minute", type=float, default=30.0)
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument("--hold", default="10,40", help="caller hold time range in seconds: MIN,MAX")
    p.add_argument("--answer-after", type=float, default=1.0, help="seconds a phone rings")
    p.add_argument("--wrap-up", type=float, default=3.0, help="seconds until wrap-up is ended")
    p.add_argument(
        "--callers-only",
        action="store_true",
        help="no simulated volunteers: place --calls calls for real volunteers to answer",
    )
    p.add_argument("--calls", type=int, default=1, help="with --callers-only: how many calls")
    p.set_defaults(func=_simulate_command)


def _simulate_command(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        low, high = (float(x) for x in args.hold.split(","))
    except ValueError:
        print("error: --hold takes MIN,MAX in seconds, e.g. 10,40", file=sys.stderr)
        return 2
    if (
        not 1 <= args.volunteers <= MAX_VOLUNTEERS
        or args.calls_per_minute <= 0
        or args.minutes <= 0
    ):
        print(
            f"error: need 1-{MAX_VOLUNTEERS} volunteers and a positive rate and duration",
            file=sys.stderr,
        )
        return 2
    plan = SimulationPlan(
        volunteers=args.volunteers,
        calls_per_minute=args.calls_per_minute,
        minutes=args.minutes,
        hold_s=(min(low, high), max(low, high)),
        answer_s=args.answer_after,
        wrap_up_s=args.wrap_up,
    )
    if args.callers_only and not 1 <= args.calls <= 1000:
        print("error: --calls takes 1-1000", file=sys.stderr)
        return 2
    try:
        if args.callers_only:
            asyncio.run(run_callers(cfg, args.calls, plan, out=lambda s: print(s, flush=True)))
            return 0
        asyncio.run(run_simulation(cfg, plan, out=lambda line: print(line, flush=True)))
    except (SystemNotUp, SimulationError, StorageError, AsteriskError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the simulated volunteers were logged out", file=sys.stderr)
        return 130
    return 0
