"""Routing benchmark of the sans-IO ACD core under a busy evening's load.

600 volunteers over the seven locations, 500 contacts waiting, then hours of simulated
traffic: arrivals, answers, rejects, ring timeouts, hang-ups, wrap-up ends, pauses, logins and
logouts. The driver plays the outside world from the core's own commands (as the ARI adapter
would) and times every ``Acd.handle`` / ``Acd.handle_timer`` call with ``perf_counter_ns``.
A call that produced offers counts as that many routing decisions, each taking the call's time
divided by its offers. Everything random is seeded, so the event sequence is identical each run.

The run is played twice from the same seed: once with the plain core, timing whole calls (so
the routing step's own stopwatch does not count against them), and once with the routing
step timed from inside (``TimedAcd``).

    python bench/routing.py [--events N] [--seed S] [--profile]

The last three lines are machine-readable: ``route_decision_median_us``,
``route_decision_p99_us`` and ``events_per_s`` (core calls per second of core time).
"""

from __future__ import annotations

import argparse
import cProfile
import heapq
import io
import pstats
import random
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd import (
    Acd,
    AcdError,
    AcdSettings,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    AgentState,
    AgentStateChanged,
    Channel,
    Command,
    ConnectContact,
    ContactArrived,
    ContactEnded,
    ContactFinished,
    Event,
    OfferAccepted,
    OfferContact,
    OfferFailed,
    OfferFailure,
    WithdrawOffer,
    WrapUpEnded,
)

LOCATIONS = ("groningen", "almelo", "rotterdam", "nijmegen", "utrecht", "amsterdam", "tilburg")
LOCATION_WEIGHTS = (12, 8, 20, 12, 18, 20, 10)
VOLUNTEERS = 600
WAITING_AT_START = 500
TARGET_MEDIAN_US = 10.0

# The queue limits are raised so that 500 waiting contacts are a legal state (the shipped
# default of 200 per channel would overflow them); everything else is the production default.
SETTINGS = AcdSettings(
    ring_timeout_s=20.0,
    wrap_up_s=60.0,
    max_no_answer=2,
    max_wait_s=900.0,
    max_queue_length=1000,
    max_chats=2,
)


class Kind(Enum):
    """What the outside world does next (the driver's own schedule, not ACD events)."""

    ARRIVAL = "arrival"
    ANSWER = "answer"
    REJECT = "reject"
    END = "end"
    ABANDON = "abandon"
    WRAP_DONE = "wrap_done"
    PAUSE = "pause"
    READY = "ready"
    LOGOUT = "logout"
    LOGIN = "login"
    UNREACHABLE = "unreachable"
    REACHABLE = "reachable"


@dataclass(slots=True)
class Stats:
    """Timings and counts collected while measuring."""

    call_ns: list[int] = field(default_factory=list)
    offer_ns: list[float] = field(default_factory=list)
    deadline_ns: int = 0
    calls_by_kind: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    waiting_samples: list[int] = field(default_factory=list)
    offer_calls: dict[str, list[int]] = field(default_factory=dict)
    """Per kind of call: the time of each call that produced at least one offer."""
    errors: Counter[str] = field(default_factory=Counter)


class TimedAcd(Acd):
    """The real core, timing its routing step: choosing the pair and issuing the offer.

    Used only in the second pass; whole calls are timed on a plain ``Acd``.

    ``_dispatch`` is where a routing decision is made; everything else a call does (state
    bookkeeping for the event itself) is measured separately as the whole-call time.
    """

    decision_ns: list[float] | None = None

    def _dispatch(self, now: float, out: list[Command]) -> None:
        samples = self.decision_ns
        if samples is None:
            super()._dispatch(now, out)
            return
        before = len(out)
        t0 = time.perf_counter_ns()
        super()._dispatch(now, out)
        elapsed = time.perf_counter_ns() - t0
        offers = sum(1 for command in out[before:] if type(command) is OfferContact)
        if offers:
            samples.extend([elapsed / offers] * offers)


class World:
    """The outside world: volunteers, children and Asterisk, driven by the core's commands."""

    def __init__(self, seed: int, timed_dispatch: bool = False) -> None:
        self.rng = random.Random(seed)
        self.acd = TimedAcd(SETTINGS) if timed_dispatch else Acd(SETTINGS)
        self.now = 0.0
        self._schedule: list[tuple[float, int, Kind, tuple[Any, ...]]] = []
        self._seq = 0
        self.agent_state: dict[str, AgentState] = {}
        self.wrap_no: Counter[str] = Counter()
        self.offers: dict[str, tuple[str, int]] = {}
        self.offer_no = 0
        self.connected: dict[str, Channel] = {}
        self.live: set[str] = set()
        self.next_agent = 0
        self.next_contact = 0
        self.setup = False
        self._to_accept: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ random profiles

    def new_login(self) -> AgentLoggedIn:
        rng = self.rng
        self.next_agent += 1
        r = rng.random()
        if r < 0.05:
            skills = frozenset({"peer_chat"})  # young volunteers: the peer chat only
        elif r < 0.75:
            skills = frozenset({"phone", "chat"})
        elif r < 0.90:
            skills = frozenset({"chat"})
        else:
            skills = frozenset({"phone"})
        r = rng.random()
        if r < 0.72:
            languages = frozenset({"nl"})
        elif r < 0.92:
            languages = frozenset({"nl", "en"})
        elif r < 0.94:
            languages = frozenset({"en"})
        elif r < 0.96:
            languages = frozenset({"nl", "ar"})
        elif r < 0.98:
            languages = frozenset({"nl", "tr"})
        else:
            languages = frozenset({"nl", "pl"})
        location = rng.choices(LOCATIONS, LOCATION_WEIGHTS)[0]
        return AgentLoggedIn(f"v{self.next_agent:05d}", location, skills, languages)

    def new_contact(self) -> ContactArrived:
        rng = self.rng
        self.next_contact += 1
        r = rng.random()
        skills: frozenset[str] = frozenset()
        if r < 0.55:
            channel = Channel.PHONE
        else:
            channel = Channel.CHAT
            if r >= 0.95:
                skills = frozenset({"peer_chat"})
        r = rng.random()
        language = (
            None
            if r < 0.82
            else "nl"
            if r < 0.90
            else "en"
            if r < 0.96
            else "ar"
            if r < 0.975
            else "tr"
            if r < 0.99
            else "pl"
        )
        priority = 1 if rng.random() < 0.02 else 0
        return ContactArrived(f"c{self.next_contact:07d}", channel, skills, language, priority)

    def talk_time(self, channel: Channel) -> float:
        # Log-normal: most conversations are short, a few run long (medians ~6 and ~14 min).
        median = 360.0 if channel is Channel.PHONE else 840.0
        return min(self.rng.lognormvariate(0.0, 0.7) * median, 5400.0)

    # ------------------------------------------------------------------ schedule

    def at(self, when: float, kind: Kind, *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._schedule, (when, self._seq, kind, args))

    def arrival_gap(self) -> float:
        # Keep about 500 contacts waiting: arrive faster when the queue is short.
        waiting = self.acd.waiting_count()
        rate = 1.6 * min(3.0, max(0.2, 2.0 - waiting / WAITING_AT_START))
        return self.rng.expovariate(rate)

    # ------------------------------------------------------------------ commands -> world

    def apply(self, out: list[Command]) -> None:
        """React to the core's commands as the adapter and the people behind it would."""
        rng, now = self.rng, self.now
        for c in out:
            t = type(c)
            if t is OfferContact:
                self.offer_no += 1
                self.offers[c.contact_id] = (c.agent_id, self.offer_no)
                if self.setup:
                    self._to_accept.append((c.contact_id, c.agent_id))
                    continue
                r = rng.random()
                if r < 0.86:
                    self.at(now + rng.uniform(2, 14), Kind.ANSWER, c.contact_id, c.agent_id)
                elif r < 0.89:
                    self.at(now + rng.uniform(1, 6), Kind.REJECT, c.contact_id, c.agent_id)
                # else: nobody answers; the core's own ring timer fires.
            elif t is WithdrawOffer:
                self.offers.pop(c.contact_id, None)
            elif t is ConnectContact:
                self.offers.pop(c.contact_id, None)
                channel = self.acd.contact(c.contact_id).channel
                self.connected[c.contact_id] = channel
                talk = self.talk_time(channel)
                if self.setup:  # already talking for a while when the measurement starts
                    talk *= rng.random()
                self.at(now + talk, Kind.END, c.contact_id)
            elif t is ContactFinished:
                self.live.discard(c.contact_id)
                self.connected.pop(c.contact_id, None)
                self.offers.pop(c.contact_id, None)
            elif t is AgentStateChanged:
                self.agent_changed(c)

    def agent_changed(self, c: AgentStateChanged) -> None:
        rng, now = self.rng, self.now
        agent_id, state = c.agent_id, c.state
        self.agent_state[agent_id] = state
        if state is AgentState.WRAP_UP:
            self.wrap_no[agent_id] += 1
            if rng.random() < 0.75:  # most finish the form early; the rest hit the timer
                when = now + rng.uniform(10, 55)
                self.at(when, Kind.WRAP_DONE, agent_id, self.wrap_no[agent_id])
        elif state is AgentState.LOGGED_OUT:
            del self.agent_state[agent_id]
            self.at(now + rng.uniform(30, 600), Kind.LOGIN)  # the next shift takes the seat
        elif state is AgentState.PAUSED and c.reason == "no_answer":
            self.at(now + rng.uniform(30, 300), Kind.READY, agent_id)

    def random_agent(self) -> str | None:
        if not self.agent_state:
            return None
        return self.rng.choice(list(self.agent_state))

    # ------------------------------------------------------------------ world -> events

    def next_event(self, kind: Kind, args: tuple[Any, ...]) -> Event | None:
        """The ACD event for a scheduled happening, or ``None`` if the world moved on."""
        rng, now = self.rng, self.now
        if kind is Kind.ARRIVAL:
            self.at(now + self.arrival_gap(), Kind.ARRIVAL)
            arrived = self.new_contact()
            self.live.add(arrived.contact_id)
            self.at(now + rng.expovariate(1 / 700), Kind.ABANDON, arrived.contact_id)
            return arrived
        if kind is Kind.ANSWER or kind is Kind.REJECT:
            contact_id, agent_id = args
            current = self.offers.get(contact_id)
            if current is None or current[0] != agent_id:
                return None
            if kind is Kind.ANSWER:
                return OfferAccepted(contact_id, agent_id)
            return OfferFailed(contact_id, agent_id, OfferFailure.REJECTED)
        if kind is Kind.END:
            return ContactEnded(args[0]) if args[0] in self.connected else None
        if kind is Kind.ABANDON:
            contact_id = args[0]
            if contact_id in self.live and contact_id not in self.connected:
                return ContactEnded(contact_id)
            return None
        if kind is Kind.WRAP_DONE:
            agent_id, number = args
            if self.agent_state.get(agent_id) is AgentState.WRAP_UP:
                if self.wrap_no[agent_id] == number:
                    return WrapUpEnded(agent_id)
            return None
        if kind is Kind.PAUSE:
            self.at(now + rng.expovariate(0.1), Kind.PAUSE)
            agent_id = self.random_agent()
            if agent_id is None:
                return None
            self.at(now + rng.uniform(120, 900), Kind.READY, agent_id)
            return AgentPaused(agent_id, rng.choice(("break", "break", "coaching")))
        if kind is Kind.READY:
            agent_id = args[0]
            state = self.agent_state.get(agent_id)
            if state is None:
                return None
            if state is AgentState.OFFERED:  # ready is not allowed while ringing: try later
                self.at(now + 5.0, Kind.READY, agent_id)
                return None
            return AgentReady(agent_id)
        if kind is Kind.LOGOUT:
            self.at(now + rng.expovariate(0.04), Kind.LOGOUT)
            agent_id = self.random_agent()
            return None if agent_id is None else AgentLoggedOut(agent_id)
        if kind is Kind.LOGIN:
            login = self.new_login()
            self.at(now + rng.uniform(5, 90), Kind.READY, login.agent_id)
            return login
        if kind is Kind.UNREACHABLE or kind is Kind.REACHABLE:
            if kind is Kind.UNREACHABLE:
                self.at(now + rng.expovariate(0.01), Kind.UNREACHABLE)
                agent_id = self.random_agent()
                if agent_id is None:
                    return None
                self.at(now + rng.uniform(20, 180), Kind.REACHABLE, agent_id)
                return AgentReachability(agent_id, False)
            agent_id = args[0]
            return AgentReachability(agent_id, True) if agent_id in self.agent_state else None
        raise AssertionError(kind)

    # ------------------------------------------------------------------ setup

    def feed(self, event: Event) -> None:
        """Setup only: handle an event, accepting every offer at once (nothing is timed)."""
        self.apply(self.acd.handle(event, self.now))
        while self._to_accept:
            contact_id, agent_id = self._to_accept.pop()
            self.apply(self.acd.handle(OfferAccepted(contact_id, agent_id), self.now))

    def build(self) -> None:
        """600 volunteers all busy (mid-conversation) and 500 contacts waiting."""
        self.setup = True
        for _ in range(VOLUNTEERS):
            login = self.new_login()
            self.feed(login)
            self.feed(AgentReady(login.agent_id))
        while self.acd.waiting_count() < WAITING_AT_START:
            arrived = self.new_contact()
            self.live.add(arrived.contact_id)
            self.feed(arrived)
            self.at(self.now + self.rng.expovariate(1 / 700), Kind.ABANDON, arrived.contact_id)
            self.now += 0.25
        self.setup = False
        for kind in (Kind.ARRIVAL, Kind.PAUSE, Kind.LOGOUT, Kind.UNREACHABLE):
            self.at(self.now + 1.0, kind)

    # ------------------------------------------------------------------ the run

    def run(self, events: int, stats: Stats | None, profiler: cProfile.Profile | None) -> None:
        """Drive ``events`` core calls; time them into ``stats`` when given."""
        acd, perf = self.acd, time.perf_counter_ns
        done = 0
        while done < events:
            t0 = perf()
            deadline = acd.next_deadline()
            t1 = perf()
            upcoming = self._schedule[0][0]
            if deadline is not None and deadline <= upcoming:
                self.now = deadline
                label = "timer"
                if profiler is not None:
                    profiler.enable()
                t2 = perf()
                out = acd.handle_timer(deadline)
                t3 = perf()
            else:
                when, _, kind, args = heapq.heappop(self._schedule)
                self.now = max(self.now, when)
                event = self.next_event(kind, args)
                if event is None:
                    continue
                label = type(event).__name__
                if profiler is not None:
                    profiler.enable()
                t2 = perf()
                try:
                    out = acd.handle(event, self.now)
                except AcdError as exc:  # the driver mirrors the state, so this is a bug
                    t3 = perf()
                    if stats is not None:
                        stats.errors[type(exc).__name__] += 1
                    continue
                t3 = perf()
            if profiler is not None:
                profiler.disable()
            done += 1
            if stats is not None:
                elapsed = t3 - t2
                stats.call_ns.append(elapsed)
                stats.deadline_ns += t1 - t0
                stats.calls_by_kind[label] += 1
                offers = 0
                for command in out:
                    stats.commands[type(command).__name__] += 1
                    offers += type(command) is OfferContact
                if offers:
                    stats.offer_ns.extend([elapsed / offers] * offers)
                    stats.offer_calls.setdefault(label, []).append(elapsed)
                    stats.waiting_samples.append(acd.waiting_count())
            self.apply(out)


# ---------------------------------------------------------------------- reporting


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def measure_memory(seed: int) -> tuple[int, int, int]:
    """Traced bytes held after building the start state: total, by ``acd/`` code, peak."""
    tracemalloc.start()
    world = World(seed)
    world.build()
    snapshot = tracemalloc.take_snapshot()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    acd_dir = str(Path(__file__).resolve().parent.parent / "acd" / "*")
    in_core = snapshot.filter_traces([tracemalloc.Filter(True, acd_dir)])
    core_bytes = sum(stat.size for stat in in_core.statistics("filename"))
    del world
    return current, core_bytes, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150_000, help="measured core calls")
    parser.add_argument("--warmup", type=int, default=20_000, help="unmeasured core calls first")
    parser.add_argument("--seed", type=int, default=116111)
    parser.add_argument("--profile", action="store_true", help="cProfile the core's calls")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    world = World(args.seed)
    world.build()
    print(
        f"start state: {len(world.agent_state)} volunteers logged in at {len(LOCATIONS)} "
        f"locations, {world.acd.waiting_count()} waiting "
        f"(phone {world.acd.waiting_count(Channel.PHONE)}, "
        f"chat {world.acd.waiting_count(Channel.CHAT)}), {len(world.connected)} in conversation"
    )
    world.run(args.warmup, None, None)
    sim_start = world.now
    stats = Stats()
    profiler = cProfile.Profile() if args.profile else None
    world.run(args.events, stats, profiler)
    sim_hours = (world.now - sim_start) / 3600
    # Second pass, same seed and so the same events: the routing step timed from inside.
    timed = World(args.seed, timed_dispatch=True)
    timed.build()
    timed.run(args.warmup, None, None)
    decisions: list[float] = []
    assert isinstance(timed.acd, TimedAcd)
    timed.acd.decision_ns = decisions
    timed.run(args.events, None, None)

    call_ns = sorted(stats.call_ns)
    offer_us = sorted(ns / 1000 for ns in stats.offer_ns)
    decision_us = sorted(ns / 1000 for ns in decisions)
    core_s = sum(call_ns) / 1e9
    median, p99 = percentile(decision_us, 50), percentile(decision_us, 99)
    events_per_s = len(call_ns) / core_s if core_s else float("nan")
    mean_waiting = sum(stats.waiting_samples) / max(1, len(stats.waiting_samples))

    print(
        f"measured {len(call_ns)} core calls after {args.warmup} warm-up calls, "
        f"{sim_hours:.1f} simulated hours, seed {args.seed}"
    )
    print("calls: " + ", ".join(f"{k} {v}" for k, v in stats.calls_by_kind.most_common()))
    print("commands: " + ", ".join(f"{k} {v}" for k, v in stats.commands.most_common()))
    if stats.errors:
        print("UNEXPECTED core errors: " + ", ".join(f"{k} {v}" for k, v in stats.errors.items()))
    print(
        f"routing decisions: {len(decision_us)}, with {mean_waiting:.0f} contacts waiting on "
        f"average; the routing step per offer: p50 {median:.2f} us, "
        f"p90 {percentile(decision_us, 90):.2f} us, p99 {p99:.2f} us"
    )
    print(
        f"whole core call that produced an offer (event bookkeeping + routing), per offer: "
        f"p50 {percentile(offer_us, 50):.2f} us, p90 {percentile(offer_us, 90):.2f} us, "
        f"p99 {percentile(offer_us, 99):.2f} us"
    )
    print(
        f"all core calls: p50 {percentile(call_ns, 50) / 1000:.2f} us, "
        f"p99 {percentile(call_ns, 99) / 1000:.2f} us; "
        f"next_deadline() mean {stats.deadline_ns / max(1, len(call_ns)) / 1000:.2f} us"
    )
    by_kind = sorted(stats.offer_calls.items(), key=lambda kv: -len(kv[1]))
    print(
        "calls that offered, by cause (count, median us): "
        + ", ".join(f"{k} {len(v)} {percentile(sorted(v), 50) / 1000:.1f}" for k, v in by_kind)
    )
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        print(text.getvalue())
    total, core_bytes, peak = measure_memory(args.seed)
    print(
        f"memory (tracemalloc, start state): {total / 1e6:.2f} MB traced, of which "
        f"{core_bytes / 1e6:.2f} MB allocated in acd/; peak {peak / 1e6:.2f} MB"
    )
    verdict = "meets" if median <= TARGET_MEDIAN_US else "MISSES"
    print(
        f"target median <= {TARGET_MEDIAN_US:g} us: {verdict}; "
        f"wall time {time.perf_counter() - started:.1f} s"
    )
    print(f"route_decision_median_us={median:.2f}")
    print(f"route_decision_p99_us={p99:.2f}")
    print(f"events_per_s={events_per_s:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
