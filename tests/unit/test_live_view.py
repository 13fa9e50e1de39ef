"""The live view: the core's state as numbered deltas, and who may see which.

Scripted steps drive a real ``acd.Acd`` at a fake ``now`` and feed the view exactly as the
writer's ``acd_observers`` would (refused events are not observed). The property test checks
that a client applying the deltas it is sent always holds what a fresh load would show it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acd import (
    Acd,
    AcdError,
    AcdSettings,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    Channel,
    ContactArrived,
    ContactEnded,
    ContactReturned,
    Event,
    OfferAccepted,
    OfferFailed,
    OfferFailure,
    WrapUpEnded,
)
from live import ContactView, Delta, LiveView, Scope, render

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=AMS).timestamp()
PHONE_ONLY = frozenset({"phone"})
BOTH = frozenset({"phone", "chat"})
CALLER = "0612345678"  # put nowhere: must never show up in any output
SUPERVISOR = Scope.supervisor()


class Rig:
    """One core and one view, fed the way the engine's writer feeds its observers."""

    def __init__(self, settings: AcdSettings | None = None, now: float = T0) -> None:
        self.core = Acd(settings or AcdSettings(wrap_up_s=30.0))
        self.view = LiveView(tz=AMS)
        self.now = now
        self.deltas: list[Delta] = [self.view.load(self.core, now)]

    def feed(self, event: Event, at: float = 0.0) -> list[Delta]:
        self.now = T0 + at
        deltas = self.view.observe(event, self.core.handle(event, self.now), self.core, self.now)
        self.deltas += deltas
        return deltas

    def timer(self) -> list[Delta]:
        due = self.core.next_deadline()
        assert due is not None
        self.now = due
        deltas = self.view.observe(None, self.core.handle_timer(due), self.core, due)
        self.deltas += deltas
        return deltas

    def login(self, agent_id: str, at: float, skills: frozenset[str] = BOTH) -> None:
        self.feed(AgentLoggedIn(agent_id, "utrecht", skills, frozenset({"nl"})), at)
        self.feed(AgentReady(agent_id), at)

    def stream(self, scope: Scope) -> list[dict[str, Any]]:
        return [m for d in self.deltas if (m := render(d, scope)) is not None]


def kinds(deltas: list[Delta]) -> list[tuple[str, str]]:
    return [(d.kind, d.key) for d in deltas]


def test_a_contact_from_arrival_to_wrap_up():
    rig = Rig()
    rig.login("anna", 0)
    assert rig.view.agent("anna") is not None
    assert rig.view.agent("anna").state == "available"  # type: ignore[union-attr]
    assert rig.view.agent("anna").since == T0  # type: ignore[union-attr]

    out = rig.feed(ContactArrived("c1", Channel.PHONE), 5)
    assert kinds(out) == [("agent", "anna"), ("contact", "c1"), ("queue", "queue")]
    assert out[0].data is not None and out[0].data["offer"] == "c1"
    assert out[1].data == {
        "contact_id": "c1",
        "channel": "phone",
        "state": "offered",
        "language": None,
        "priority": 0,
        "arrived_at": T0 + 5,
        "agent_id": "anna",
        "answered_at": None,
        "line_id": None,
    }
    assert out[1].audience == frozenset({"anna"})

    out = rig.feed(OfferAccepted("c1", "anna"), 9)
    assert kinds(out) == [("agent", "anna"), ("contact", "c1"), ("queue", "queue")]
    assert out[0].data is not None
    assert (out[0].data["state"], out[0].data["contacts"], out[0].data["handled"]) == (
        "busy",
        [["c1", "phone"]],
        1,
    )
    assert out[1].data is not None and out[1].data["answered_at"] == T0 + 9

    out = rig.feed(ContactEnded("c1"), 60)
    assert kinds(out) == [("agent", "anna"), ("contact", "c1"), ("queue", "queue")]
    assert out[0].data is not None
    assert (out[0].data["state"], out[0].data["wrap_until"]) == ("wrap_up", T0 + 90)
    assert out[1].data is None and out[1].audience == frozenset({"anna"})
    phone = rig.view.queue().channels[0]
    assert (phone.channel, phone.answered, phone.waiting) == ("phone", 1, 0)

    out = rig.feed(WrapUpEnded("anna"), 70)
    assert kinds(out) == [("agent", "anna"), ("queue", "queue")]
    assert rig.view.agent("anna").since == T0 + 70  # type: ignore[union-attr]

    out = rig.feed(AgentLoggedOut("anna"), 80)
    assert kinds(out) == [("agent", "anna"), ("queue", "queue")]
    assert out[0].data is None
    assert [d.seq for d in rig.deltas] == list(range(1, len(rig.deltas) + 1))


def test_a_returned_contact_shows_as_waiting_again_and_its_volunteer_wraps_up():
    rig = Rig()
    rig.login("anna", 0, PHONE_ONLY)
    rig.feed(ContactArrived("c1", Channel.PHONE), 5)
    rig.feed(OfferAccepted("c1", "anna"), 9)
    rig.feed(ContactArrived("c2", Channel.PHONE, priority=2), 10)

    out = rig.feed(ContactReturned("c1", "anna"), 40)  # anna's phone dropped mid-call
    assert kinds(out) == [("agent", "anna"), ("contact", "c1"), ("queue", "queue")]
    assert out[0].data is not None
    assert (out[0].data["state"], out[0].data["contacts"], out[0].data["wrap_until"]) == (
        "wrap_up",
        [],
        T0 + 70,
    )
    assert out[0].data["since"] == T0 + 40
    assert out[1].data == {
        "contact_id": "c1",
        "channel": "phone",
        "state": "queued",
        "language": None,
        "priority": 0,
        "arrived_at": T0 + 5,
        "agent_id": None,
        "answered_at": T0 + 9,
        "line_id": None,
    }
    # anna sees the contact leave her (she was with it), as after an end; nothing more of it.
    assert out[1].audience == frozenset({"anna"})
    phone = rig.view.queue().channels[0]
    # The view knows arrivals only: the oldest waiting is the returned child, since its arrival.
    assert (phone.waiting, phone.oldest_arrived_at, phone.answered) == (2, T0 + 5, 0)
    assert dict(rig.view.queue().agents_by_state)["wrap_up"] == 1

    rig.login("bram", 41, PHONE_ONLY)  # c1 first, ahead of c2 (priority 2)
    assert rig.view.contact("c1").agent_id == "bram"  # type: ignore[union-attr]
    assert rig.view.contact("c2").state == "queued"  # type: ignore[union-attr]
    rig.feed(OfferAccepted("c1", "bram"), 42)
    rig.feed(ContactEnded("c1"), 90)
    phone = rig.view.queue().channels[0]
    assert (phone.answered, phone.abandoned, phone.waiting) == (1, 0, 1)
    fresh = LiveView(tz=AMS)
    fresh.load(rig.core, rig.now)
    assert fresh.snapshot(SUPERVISOR)["contacts"] == rig.view.snapshot(SUPERVISOR)["contacts"]


def test_ring_timeout_moves_the_contact_and_the_first_volunteer_never_learns_to_whom():
    rig = Rig()
    rig.login("anna", 0)
    rig.login("bram", 1)
    rig.feed(ContactArrived("c1", Channel.PHONE), 5)
    assert rig.view.contact("c1").agent_id == "anna"  # type: ignore[union-attr]

    out = rig.timer()  # anna's phone rings out: offered to bram
    assert kinds(out) == [("agent", "anna"), ("agent", "bram"), ("contact", "c1")]
    assert out[2].audience == frozenset({"anna", "bram"})
    assert rig.view.contact("c1").agent_id == "bram"  # type: ignore[union-attr]

    anna = rig.stream(Scope.volunteer("anna"))
    assert anna[-1] == {"seq": out[2].seq, "kind": "contact", "id": "c1", "data": None}
    assert "bram" not in json.dumps(anna)
    assert "anna" not in json.dumps(rig.stream(Scope.volunteer("bram")))
    assert rig.view.snapshot(Scope.volunteer("anna"))["contacts"] == []
    assert [c["contact_id"] for c in rig.view.snapshot(Scope.volunteer("bram"))["contacts"]] == [
        "c1"
    ]
    assert "bram" in json.dumps(rig.stream(SUPERVISOR))
    assert [d.seq for d in rig.deltas] == list(range(1, len(rig.deltas) + 1))


def test_no_delta_when_nothing_changed():
    rig = Rig()
    rig.login("anna", 0)
    before = rig.view.seq
    assert rig.feed(AgentReady("anna"), 3) == []  # already available: the core says nothing
    assert rig.view.observe(None, [], rig.core, T0 + 4) == []
    assert rig.view.seq == before


def test_queue_figures_track_waiting_and_the_day():
    late = datetime(2026, 12, 2, 23, 59, tzinfo=AMS).timestamp() - T0
    rig = Rig(AcdSettings(max_wait_s=600.0))
    rig.feed(ContactArrived("c1", Channel.CHAT), 10)
    rig.feed(ContactArrived("c2", Channel.CHAT), 20)
    chat = rig.view.queue().channels[1]
    assert (chat.channel, chat.waiting, chat.oldest_arrived_at) == ("chat", 2, T0 + 10)
    rig.feed(ContactEnded("c1"), 30)
    chat = rig.view.queue().channels[1]
    assert (chat.waiting, chat.oldest_arrived_at, chat.abandoned) == (1, T0 + 20, 1)
    rig.timer()  # c2 waited too long
    chat = rig.view.queue().channels[1]
    assert (chat.waiting, chat.oldest_arrived_at, chat.overflowed) == (0, None, 1)
    assert rig.view.queue().date == "2026-12-02"

    out = rig.feed(AgentLoggedIn("anna", "zwolle", BOTH, frozenset()), late + 120)
    assert rig.view.queue().date == "2026-12-03"
    chat = rig.view.queue().channels[1]
    assert (chat.abandoned, chat.overflowed) == (0, 0)
    assert out[-1].data is not None and out[-1].data["agents_by_location"] == {"zwolle": 1}
    assert out[-1].data["agents_by_state"]["paused"] == 1


def test_load_starts_clients_over_and_keeps_what_the_core_cannot_tell():
    rig = Rig()
    rig.login("anna", 0)
    rig.feed(ContactArrived("c1", Channel.CHAT), 1)
    rig.feed(ContactEnded("c1"), 2)  # offered to anna, then the child left: abandoned
    rig.feed(ContactArrived("c2", Channel.PHONE), 3)
    view = LiveView(tz=AMS, seq=41)
    reset = view.load(rig.core, T0 + 4)
    assert (reset.seq, reset.kind, reset.key, reset.data, reset.public) == (
        42,
        "reset",
        "",
        None,
        True,
    )
    assert render(reset, Scope.volunteer("bram")) == {
        "seq": 42,
        "kind": "reset",
        "id": "",
        "data": None,
    }
    assert view.agent("anna").since == T0 + 4  # type: ignore[union-attr]
    assert view.snapshot(Scope.volunteer("anna"))["contacts"][0]["contact_id"] == "c2"

    # Reloading the same view (after a reconnect) keeps since and today's counts.
    reset = rig.view.load(rig.core, T0 + 5)
    assert reset.seq == rig.deltas[-1].seq + 1
    assert rig.view.agent("anna").since == T0 + 3  # type: ignore[union-attr]
    assert rig.view.queue().channels[1].abandoned == 1
    fresh, held = view.snapshot(SUPERVISOR), rig.view.snapshot(SUPERVISOR)
    assert fresh["contacts"] == held["contacts"]
    assert fresh["queue"]["channels"]["chat"]["abandoned"] == 0


class NoScans(Acd):
    """A core that refuses to be walked whole: ``observe`` must read only what a step touched."""

    scans_allowed = True

    def agents(self):
        assert self.scans_allowed, "observe walked every volunteer"
        return super().agents()

    def contacts(self):
        assert self.scans_allowed, "observe walked every contact"
        return super().contacts()


def test_observe_reads_only_what_the_step_touched():
    rig = Rig()
    rig.core = core = NoScans(AcdSettings(max_wait_s=9000.0))
    rig.view.load(core, T0)
    core.scans_allowed = False
    for i in range(50):
        rig.feed(ContactArrived(f"c{i}", Channel.CHAT), i)
    for i in range(1, 50):  # the newest leave first: stale heap entries pile up under the top
        rig.feed(ContactEnded(f"c{i}"), 100 + i)
    chat = rig.view.queue().channels[1]
    assert (chat.waiting, chat.oldest_arrived_at, chat.abandoned) == (1, T0, 49)
    rig.login("anna", 200)
    assert rig.view.contact("c0").agent_id == "anna"  # type: ignore[union-attr]
    assert rig.view.queue().channels[1].oldest_arrived_at is None


def test_the_contact_record_has_exactly_the_documented_keys():
    rig = Rig()
    rig.feed(ContactArrived("c1", Channel.PHONE, language="nl"), 1)
    view = rig.view.contact("c1")
    assert isinstance(view, ContactView)
    assert set(view.to_json()) == {
        "contact_id",
        "channel",
        "state",
        "language",
        "priority",
        "arrived_at",
        "agent_id",
        "answered_at",
        "line_id",
    }
    assert set(ContactView.__dataclass_fields__) == set(view.to_json())
    assert view.line_id is None  # the core knows no line; the bus asks the sessions


def test_a_contact_carries_its_line_when_the_view_is_told_it():
    lines = {"c1": "116111"}
    rig = Rig()
    rig.view = LiveView(tz=AMS, line_of=lines.get)
    rig.feed(ContactArrived("c1", Channel.PHONE, language="nl"), 1)
    rig.feed(ContactArrived("c2", Channel.PHONE), 2)
    assert rig.view.contact("c1").line_id == "116111"  # type: ignore[union-attr]
    assert rig.view.contact("c2").line_id is None  # type: ignore[union-attr]


# ---------------------------------------------------------------------- random event orders

AGENTS = ["v0", "v1", "v2"]
CONTACTS = [f"c{i}" for i in range(6)]

agent_ids = st.sampled_from(AGENTS)
contact_ids = st.sampled_from(CONTACTS)
steps = st.one_of(
    st.tuples(st.just("login"), agent_ids, st.sampled_from([BOTH, PHONE_ONLY]), st.booleans()),
    st.tuples(st.just("login"), agent_ids, st.just(BOTH), st.just(True)),
    st.tuples(st.just("ready"), agent_ids),
    st.tuples(st.just("ready"), agent_ids),
    st.tuples(st.just("pause"), agent_ids, st.sampled_from(["break", "training"])),
    st.tuples(st.just("logout"), agent_ids),
    st.tuples(st.just("reach"), agent_ids, st.booleans()),
    st.tuples(st.just("wrapped"), agent_ids),
    st.tuples(st.just("arrive"), contact_ids, st.sampled_from(list(Channel))),
    st.tuples(st.just("arrive"), contact_ids, st.sampled_from(list(Channel))),
    st.tuples(st.just("accept"), contact_ids, st.none() | agent_ids),
    st.tuples(st.just("accept"), contact_ids, st.none()),
    st.tuples(st.just("fail"), contact_ids, st.sampled_from(list(OfferFailure))),
    st.tuples(st.just("end"), contact_ids),
    st.tuples(st.just("return"), contact_ids),
    st.tuples(st.just("wait"), st.floats(1, 30) | st.floats(1, 400)),
    st.tuples(st.just("reload")),
)


def events_for(step: tuple[Any, ...], core: Acd) -> list[Event]:
    kind, *args = step
    if kind in ("accept", "fail"):
        contact_id = args[0]
        agent_id = core.contact(contact_id).agent_id if core.holds(contact_id) else None
        if kind == "accept":
            return [OfferAccepted(contact_id, args[1] or agent_id or "v0")]
        return [OfferFailed(contact_id, agent_id or "v0", args[1])]
    if kind == "return":  # the volunteer it is with (if any) is gone mid-call
        contact_id = args[0]
        agent_id = core.contact(contact_id).agent_id if core.holds(contact_id) else None
        return [ContactReturned(contact_id, agent_id or "v0")]
    if kind == "login":  # and ready at once, or not
        login = AgentLoggedIn(args[0], f"loc{int(args[0][-1]) % 2}", args[1], frozenset({"nl"}))
        return [login, AgentReady(args[0])] if args[2] else [login]
    make = {
        "ready": AgentReady,
        "pause": AgentPaused,
        "logout": AgentLoggedOut,
        "reach": AgentReachability,
        "wrapped": WrapUpEnded,
        "arrive": lambda c, ch: ContactArrived(c, ch, language="nl" if c < "c3" else None),
        "end": ContactEnded,
    }.get(kind)
    return [] if make is None else [make(*args)]  # type: ignore[operator]


def normal(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without what a fresh load cannot know: ``seq``, ``since``, today's counts."""
    queue = dict(snapshot["queue"])
    queue["channels"] = {
        name: {k: v for k, v in figures.items() if k in ("waiting", "oldest_arrived_at")}
        for name, figures in queue["channels"].items()
    }
    # The wallboard's floor (who and what is held now) must match; today's sums cannot.
    if "board" in queue:  # supervisors only
        board = dict(queue["board"])
        board["kinds"] = {
            kind: {
                k: figures[k] for k in ("waiting", "ringing", "in_contact", "longest_wait_since")
            }
            for kind, figures in board["kinds"].items()
        }
        queue["board"] = board
    return {
        "agents": {a["agent_id"]: a | {"since": 0} for a in snapshot["agents"]},
        "contacts": {c["contact_id"]: c for c in snapshot["contacts"]},
        "queue": queue,
    }


class Client:
    """A browser: holds a snapshot and applies the messages it is sent."""

    def __init__(self, view: LiveView, scope: Scope) -> None:
        self.view, self.scope = view, scope
        self.take(view.snapshot(scope))

    def take(self, snapshot: dict[str, Any]) -> None:
        self.seq = snapshot["seq"]
        self.agents = {a["agent_id"]: a for a in snapshot["agents"]}
        self.contacts = {c["contact_id"]: c for c in snapshot["contacts"]}
        self.queue = snapshot["queue"]

    def apply(self, message: dict[str, Any]) -> None:
        assert message["seq"] > self.seq
        self.seq = message["seq"]
        kind, key, data = message["kind"], message["id"], message["data"]
        if kind == "reset":
            self.take(self.view.snapshot(self.scope))
        elif kind == "queue":
            self.queue = data
        else:
            table = self.agents if kind == "agent" else self.contacts
            if data is None:
                table.pop(key, None)
            else:
                table[key] = data

    def held(self) -> dict[str, Any]:
        return {"seq": 0, "agents": list(self.agents.values())} | {
            "contacts": list(self.contacts.values()),
            "queue": self.queue,
        }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=10, max_size=60))
def test_clients_applying_deltas_hold_what_a_fresh_load_shows(script):
    core = Acd(AcdSettings(ring_timeout_s=15.0, wrap_up_s=30.0, max_wait_s=300.0))
    view = LiveView(tz=AMS)
    view.load(core, T0)
    scopes = [SUPERVISOR] + [Scope.volunteer(a) for a in AGENTS]
    clients = [Client(view, scope) for scope in scopes]
    now = last_seen = T0
    tally = {"answered": 0, "abandoned": 0, "overflowed": 0}
    seq = view.seq

    def observed(event: Event | None, commands: list[Any], at: float) -> list[Delta]:
        for command in commands:
            if type(command).__name__ == "ContactFinished":
                tally[command.outcome.value] += 1
        return view.observe(event, commands, core, at)

    for step in script:
        now += step[1] if step[0] == "wait" else 1.0
        batches: list[list[Delta]] = []
        due = core.next_deadline()
        if due is not None and due <= now:  # the writer fires due deadlines first
            batches.append(observed(None, core.handle_timer(now), now))
            last_seen = now
        if step[0] == "reload":
            batches.append([view.load(core, now)])
            last_seen = now
        for event in events_for(step, core):
            try:
                commands = core.handle(event, now)
            except AcdError:
                commands = None  # refused: the writer observes nothing
            if commands is not None:
                batches.append(observed(event, commands, now))
                last_seen = now
        for delta in (d for batch in batches for d in batch):
            seq += 1
            assert delta.seq == seq
            for client in clients:
                message = render(delta, client.scope)
                if message is not None:
                    assert CALLER not in json.dumps(message)
                    client.apply(message)
        fresh = LiveView(tz=AMS)
        fresh.load(core, last_seen)
        for client in clients:
            assert normal(client.held()) == normal(fresh.snapshot(client.scope))
            if not client.scope.is_supervisor:
                own = client.scope.agent_id
                assert set(client.agents) <= {own}
                assert all(c["agent_id"] == own for c in client.contacts.values())
    counted = {k: sum(ch[k] for ch in view.queue().to_json()["channels"].values()) for k in tally}
    assert counted == tally  # all within one day
    assert CALLER not in json.dumps(view.snapshot(SUPERVISOR))
