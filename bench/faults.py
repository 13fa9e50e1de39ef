"""Fault bench: how long a new caller waits when Asterisk is slow to answer ONE request of
ANOTHER call.

Our app (``helpline.service.serve``, as ``helpline run`` runs it and as ``bench/e2e.py``
starts it) talks to the bench Asterisk through the ARI fault injector
(``tests/integration/ari_proxy.py``). Each trial places caller A, then caller B
``--gap-ms`` later, from separate sipp processes. In a *fault* trial the proxy holds the reply
to the first ``POST /channels/<id>/answer`` after A arrives (A's) for ``--delay-s``; in a
*clean* trial nothing is held. B's time from its carrier INVITE to the volunteer's phone
ringing (INVITE) and to the volunteer's 200 OK is read from sipp's own traces; clean and fault
trials alternate.

    python bench/faults.py [--trials 5] [--delay-s 3] [--gap-ms 300]

The last line is machine-readable: ``slow_ari_delay_ms`` = B's median ring time in fault trials
minus its median in clean trials (target < 50: one slow Asterisk reply must not delay another
child). With an app whose single writer awaits every ARI request it is about the injected
delay. Needs root (chroot), sipp, Redis; holds the tests' Asterisk lock for its whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

from bench.e2e import (  # noqa: E402
    BENCH_ROOT,
    NUMBERS,
    PASSWORD,
    Settings,
    bench_config,
    bench_root,
    clear_live_state,
    make_phones,
    start_asterisk,
    volunteer_ids,
    wait_guarded,
)
from bench.rig import Callers, Phones, PortPool, run_locked  # noqa: E402
from bench.traces import SipMessage, is_invite, is_invite_ok, parse_trace  # noqa: E402
from config.settings import HelplineConfig  # noqa: E402
from runtime.simulate import CARRIER_IP, VolunteerApi  # noqa: E402
from tests.integration.ari_proxy import AriProxy  # noqa: E402

ANSWER = r"/ari/channels/[^/]+/answer"


@dataclass
class Trial:
    """One pair of callers: A (whose answer may be held) and B (measured)."""

    fault: bool
    ring_ms: float = float("nan")
    """B: carrier INVITE -> the volunteer's phone gets the INVITE."""
    answer_ms: float = float("nan")
    """B: carrier INVITE -> the volunteer's 200 OK."""
    held: int = 0
    """Requests the proxy held in this trial (1 in a fault trial, 0 in a clean one)."""
    problem: str | None = None


def _first(msgs: Sequence[SipMessage], after: float, want: str, exclude: set[str]) -> SipMessage:
    for m in msgs:
        if m.ts >= after and m.call_id not in exclude:
            if (want == "ring" and not m.sent and is_invite(m)) or (
                want == "ok" and m.sent and is_invite_ok(m)
            ):
                return m
    raise LookupError(want)


async def trial(
    number: int, fault: bool, args: argparse.Namespace, proxy: AriProxy, phones: Phones, work: Path
) -> Trial:
    result = Trial(fault)
    rule = proxy.delay(args.hold_method, args.hold_path, args.delay_s) if fault else None
    callers = {
        who: Callers(
            "127.0.0.1:5070",
            NUMBERS["acd"],
            work,
            PortPool(CARRIER_IP),
            count=1,
            rate=1,
            hold_ms=(hold, hold),
            name=f"trial{number}-{who}",
        )
        # A stays on the line until its held reply is long answered: a slow Asterisk, not
        # an abandoned call.
        for who, hold in (("A", int(args.delay_s * 1000) + 1000), ("B", 1000))
    }
    started = time.time()
    await callers["A"].start()
    await asyncio.sleep(args.gap_ms / 1000)
    await callers["B"].start()
    budget = args.delay_s + 25
    await asyncio.gather(*(c.wait(budget) for c in callers.values()))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while phones.in_progress():
                await asyncio.sleep(0.1)
    await asyncio.sleep(1.2)  # the phones' stats and the volunteers' state settle
    if rule is not None:
        proxy.clear()
        result.held = rule.applied
    problems = [p for c in callers.values() if (p := c.problem()) is not None]
    if problems:
        result.problem = "; ".join(problems)
        return result
    a_msgs, b_msgs = (parse_trace(callers[w].message_log) for w in ("A", "B"))
    a_invite = next(m.ts for m in a_msgs if m.sent and is_invite(m))
    b_invite = next(m.ts for m in b_msgs if m.sent and is_invite(m))
    volunteer = sorted(
        (m for p in phones.phones for m in parse_trace(p.message_log) if m.ts >= started),
        key=lambda m: m.ts,
    )
    try:
        a_ring = _first(volunteer, a_invite, "ring", set())
        b_ring = _first(volunteer, b_invite, "ring", {a_ring.call_id})
        b_ok = next(
            m for m in volunteer if m.call_id == b_ring.call_id and m.sent and is_invite_ok(m)
        )
    except (LookupError, StopIteration):
        result.problem = "a volunteer INVITE or 200 OK is missing from the phones' traces"
        return result
    result.ring_ms = (b_ring.ts - b_invite) * 1000
    result.answer_ms = (b_ok.ts - b_invite) * 1000
    return result


async def bench(args: argparse.Namespace, work: Path) -> list[Trial]:
    from helpline.service import serve

    s = Settings(
        volunteers=args.volunteers,
        rates=(1.0,),
        calls=1,
        hold_ms=(1000, 1000),
        answer_ms=50,
        ring_timeout_s=10,
        wrap_up_s=0,
    )
    cfg = bench_config(s, work)
    bench_root()
    clear_live_state(cfg)
    print(f"starting the bench Asterisk ({BENCH_ROOT}) ...", flush=True)
    runtime, sip_secrets = await asyncio.to_thread(start_asterisk, cfg, s)
    trials: list[Trial] = []
    try:
        async with AriProxy(f"http://127.0.0.1:{cfg.asterisk.http_port}") as proxy:
            app_cfg = _through(cfg, proxy.port)
            started = asyncio.Event()
            app = asyncio.create_task(serve(app_cfg, started), name="helpline-app")
            try:
                await wait_guarded(started.wait(), app, 30)
                phones = make_phones(s, work, sip_secrets)
                async with phones, VolunteerApi(f"http://127.0.0.1:{cfg.http.port}/api/v1") as api:
                    for vid in volunteer_ids(s):
                        await api.login(vid, PASSWORD)
                        await api.ready(vid)
                    print(f"{s.volunteers} volunteers ready; app's ARI via {proxy.base_url}")
                    for n in range(args.trials * 2):
                        fault = n % 2 == 1
                        t = await trial(n, fault, args, proxy, phones, work)
                        trials.append(t)
                        print(
                            f"  trial {n:2} {'fault' if fault else 'clean'}: B ring "
                            f"{t.ring_ms:8.1f} ms, answer {t.answer_ms:8.1f} ms, held {t.held}"
                            + (f"  PROBLEM: {t.problem}" if t.problem else ""),
                            flush=True,
                        )
                    await api.logout_all()
            finally:
                app.cancel()
                await asyncio.gather(app, return_exceptions=True)
    finally:
        await asyncio.to_thread(runtime.stop)
        clear_live_state(cfg)
    return trials


def _through(cfg: HelplineConfig, port: int) -> HelplineConfig:
    """The app's configuration with ARI reached through the proxy on ``port``."""
    asterisk = cfg.asterisk.model_copy(update={"http_port": port})
    return cfg.model_copy(update={"asterisk": asterisk})


def report(args: argparse.Namespace, trials: Sequence[Trial]) -> float:
    good = [t for t in trials if t.problem is None]
    clean = [t for t in good if not t.fault]
    fault = [t for t in good if t.fault and t.held]

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    ring = {k: med([t.ring_ms for t in v]) for k, v in (("clean", clean), ("fault", fault))}
    answer = {k: med([t.answer_ms for t in v]) for k, v in (("clean", clean), ("fault", fault))}
    delay = ring["fault"] - ring["clean"]
    print()
    print(
        f"faults: caller B {args.gap_ms} ms after caller A; in fault trials the reply to the "
        f"first {args.hold_method} {args.hold_path} after A arrived (A's) was held "
        f"{args.delay_s:g} s by the ARI proxy"
    )
    print(f"{'':28}{'trials':>7}{'B ring p50 ms':>15}{'B answer p50 ms':>17}")
    for kind, group in (("clean", clean), ("fault (A held)", fault)):
        key = kind.split()[0]
        print(f"  {kind:26}{len(group):>7}{ring[key]:>15.1f}{answer[key]:>17.1f}")
    skipped = len(trials) - len(clean) - len(fault)
    if skipped:
        print(f"  {skipped} trials left out (a sipp problem, or nothing was held)")
    if not fault:
        print(f"  no fault trial held a request: does the app still send {args.hold_path}?")
    verdict = "met" if delay < 50 else "MISSED"
    print(f"  target: slow_ari_delay_ms < 50: {verdict}")
    print()
    print(f"slow_ari_delay_ms={delay:.1f}")
    return delay


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="of each kind (clean, fault)")
    parser.add_argument("--delay-s", type=float, default=3.0, help="how long A's reply is held")
    parser.add_argument("--gap-ms", type=int, default=300, help="B calls this long after A")
    parser.add_argument("--volunteers", type=int, default=4)
    parser.add_argument("--hold-method", default="POST", help="of the request to hold")
    parser.add_argument(
        "--hold-path", default=ANSWER, help="regex, full match; the first match after A is held"
    )
    parser.add_argument("--keep", action="store_true", help="keep the traces' directory")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: the chrooted Asterisk needs root", file=sys.stderr)
        return 2
    trials = run_locked(lambda work: bench(args, work), "helpline-faults-", args.keep)
    if trials is None:
        return 1
    delay = report(args, trials)
    return 0 if delay < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
