"""Plain-data forms of ACD events and snapshots: round trips, refusals, identical replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from acd import (
    Acd,
    AcdSettings,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    CoachingEnded,
    CoachingStarted,
    ContactArrived,
    ContactEnded,
    ContactHandedOver,
    ContactReturned,
    InvalidEvent,
    OfferAccepted,
    OfferContact,
    OfferFailed,
    OfferFailure,
    OverflowContact,
    SurgeSwitched,
    WithdrawOffer,
    WrapUpEnded,
    strategy_by_name,
)
from acd.events import EVENT_TYPES
from acd.serde import event_from_dict, event_to_dict
from tests.unit.acd_helpers import (
    BOTH,
    CHAT,
    NL,
    PHONE,
    Script,
    assert_restores_at_every_cut,
    via_json,
)

EN = frozenset({"en"})
PEER = frozenset({"peer_chat"})

EVERY_EVENT = [
    AgentLoggedIn("a1", "loc1", BOTH, frozenset({"nl", "en"}), max_chats=3, phone_reachable=False),
    AgentLoggedIn("a2", "loc2", frozenset(), frozenset()),
    AgentReady("a1"),
    AgentPaused("a1", "training"),
    AgentLoggedOut("a1"),
    AgentReachability("a1", True),
    WrapUpEnded("a1"),
    ContactArrived("c1", CHAT, frozenset({"peer_chat"}), "en", 3),
    ContactArrived("c2", PHONE),
    ContactArrived(
        "c3", CHAT, PEER, "en", 0, prefer={"language": 30.0}, escalate={"peer_chat": 120}
    ),
    OfferAccepted("c1", "a1"),
    OfferFailed("c1", "a1", OfferFailure.UNREACHABLE),
    ContactEnded("c1"),
    ContactReturned("c1", "a1"),
    ContactHandedOver("c1", "a1", "a2"),
    SurgeSwitched(True),
    CoachingStarted("sara"),
    CoachingEnded("sara"),
]


def test_every_event_type_is_covered():
    assert {type(e) for e in EVERY_EVENT} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EVERY_EVENT, ids=lambda e: type(e).__name__)
def test_event_round_trip_through_json(event):
    data = event_to_dict(event)
    assert data["type"] == type(event).__name__
    assert event_from_dict(json.loads(json.dumps(data))) == event


def test_event_dict_is_plain_and_stable():
    assert event_to_dict(ContactArrived("c1", CHAT, frozenset({"x", "a"}), "en", 2)) == {
        "type": "ContactArrived",
        "contact_id": "c1",
        "channel": "chat",
        "skills": ["a", "x"],
        "language": "en",
        "priority": 2,
        "prefer": None,
        "escalate": None,
    }


def test_optional_fields_take_their_defaults():
    event = event_from_dict({"type": "ContactArrived", "contact_id": "c1", "channel": "phone"})
    assert event == ContactArrived("c1", PHONE)
    assert event_from_dict({"type": "AgentPaused", "agent_id": "a1"}) == AgentPaused("a1")


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"type": "AgentReady"}, "missing field 'agent_id'"),
        ({"type": "OfferFailed", "contact_id": "c", "agent_id": "a"}, "missing field 'reason'"),
        ({"type": "AgentReady", "agent_id": 5}, "AgentReady.agent_id"),
        ({"type": "AgentReady", "agent_id": None}, "AgentReady.agent_id"),
        (
            {"type": "ContactArrived", "contact_id": "c", "channel": "phone", "priority": "9"},
            "ContactArrived.priority",
        ),
        (
            {"type": "ContactArrived", "contact_id": "c", "channel": "phone", "priority": True},
            "ContactArrived.priority",
        ),
        (
            {"type": "ContactArrived", "contact_id": "c", "channel": "chat", "skills": "chat"},
            "ContactArrived.skills",
        ),
        (
            {"type": "ContactArrived", "contact_id": "c", "channel": "chat", "skills": [1]},
            "ContactArrived.skills",
        ),
        (
            {"type": "ContactArrived", "contact_id": "c", "channel": "chat", "language": 7},
            "ContactArrived.language",
        ),
        (
            {
                "type": "AgentLoggedIn",
                "agent_id": "a",
                "location_id": "l",
                "skills": [],
                "languages": [],
                "max_chats": "2",
            },
            "AgentLoggedIn.max_chats",
        ),
        (
            {"type": "AgentReachability", "agent_id": "a", "phone_reachable": "yes"},
            "AgentReachability.phone_reachable",
        ),
        ({"type": "ContactReturned", "contact_id": "c"}, "missing field 'agent_id'"),
        ({"type": "CoachingStarted"}, "missing field 'agent_id'"),
        ({"type": "CoachingEnded", "agent_id": 1}, "CoachingEnded.agent_id"),
        ({"type": "AgentReady", "agent_id": "a", "colour": "red"}, "unknown fields.*colour"),
        ({"type": "ContactArrived", "contact_id": "c", "channel": "fax"}, "ContactArrived.channel"),
        (
            {"type": "OfferFailed", "contact_id": "c", "agent_id": "a", "reason": "bored"},
            "OfferFailed.reason",
        ),
        ({"type": "CallTeleported", "contact_id": "c"}, "unknown type 'CallTeleported'"),
        ({"contact_id": "c"}, "unknown type None"),
        ({"type": 3}, "unknown type 3"),
        (["AgentReady", "a1"], "expected an object"),
        ("AgentReady", "expected an object"),
    ],
)
def test_bad_event_dicts_name_what_is_wrong(data, names):
    with pytest.raises(InvalidEvent, match=names):
        event_from_dict(data)


# ---------------------------------------------------------------- snapshots

SETTINGS = AcdSettings(
    ring_timeout_s=20, wrap_up_s=30, max_wait_s=200, max_no_answer=2, max_chats=2
)

# (time, event) or (time, None) for a timer call; all valid, covering rings, wrap-ups,
# chats, pauses, abandons and a max-wait overflow.
STEPS: list[tuple[float, Any]] = [
    (0, AgentLoggedIn("a1", "loc1", BOTH, NL)),
    (0, AgentReady("a1")),
    (1, AgentLoggedIn("a2", "loc2", frozenset({"chat"}), frozenset({"nl", "en"}))),
    (1, AgentReady("a2")),
    (2, AgentLoggedIn("a3", "loc1", frozenset({"phone"}), frozenset({"nl"}))),
    (5, ContactArrived("p1", PHONE)),
    (6, ContactArrived("ch1", CHAT, language="en")),
    (7, ContactArrived("p2", PHONE)),
    (8, OfferAccepted("ch1", "a2")),
    (9, ContactArrived("ch2", CHAT)),
    (10, OfferAccepted("ch2", "a2")),
    (25, None),  # p1 rings out at a1 and is offered to a1 again
    (30, OfferAccepted("p1", "a1")),
    (31, AgentReady("a3")),  # takes p2
    (40, ContactEnded("p1")),  # a1 wraps up until 70
    (41, ContactArrived("p3", PHONE)),
    (51, None),  # p2 rings out at a3, offered to a3 again
    (55, OfferFailed("p2", "a3", OfferFailure.REJECTED)),  # a3 auto-paused
    (70, None),  # a1's wrap-up ends; p2 goes to a1
    (72, ContactEnded("ch1")),
    (73, AgentPaused("a2", "break")),
    (74, ContactEnded("ch2")),  # a2 wraps up until 104, then pauses
    (80, AgentReachability("a1", True)),
    (90, None),  # p2 rings out at a1
    (95, ContactEnded("p3")),
    (104, None),
    (105, OfferAccepted("p2", "a1")),
    (106, ContactArrived("p4", PHONE)),
    (306, None),  # p4 overflows
    (310, ContactEnded("p2")),
    (311, AgentLoggedOut("a3")),
    (340, None),
    (341, AgentLoggedOut("a1")),
]


# Preferences relaxing in every way: at once, by a speaker leaving, by the deadline (also
# while ringing), by an escalation deadline, and a speaker coming back in time.
RELAX_STEPS: list[tuple[float, Any]] = [
    (0, AgentLoggedIn("en1", "loc1", BOTH, EN)),
    (0, AgentReady("en1")),
    (0, ContactArrived("p0", PHONE)),  # rings at en1
    (1, AgentLoggedIn("nl1", "loc1", BOTH, NL)),
    (1, AgentReady("nl1")),
    (1, ContactArrived("p1", PHONE)),  # to nl1
    (2, OfferAccepted("p0", "en1")),
    (2, OfferAccepted("p1", "nl1")),
    (3, ContactArrived("e1", PHONE, language="en")),  # nobody soon: relaxed at once
    (4, ContactEnded("p0")),  # en1 wraps up until 34; e1 goes to nobody (nl1 busy)
    (5, ContactArrived("e2", PHONE, language="en")),  # waits for en1 until 35
    (6, ContactArrived("e3", CHAT, PEER, "en", escalate={"peer_chat": 50})),
    (7, ContactArrived("e4", PHONE, language="nl", prefer={"language": 12})),
    (10, ContactEnded("p1")),  # nl1 wraps up until 40
    (11, WrapUpEnded("nl1")),  # nl1 takes e1 (relaxed, longest waiting)
    (12, OfferAccepted("e1", "nl1")),
    (19, None),  # e4's preference relaxes at 19 (nl1 busy, none free)
    (20, AgentReachability("en1", False)),  # e2's last speaker unreachable: relaxed
    (21, AgentReachability("en1", True)),
    (22, WrapUpEnded("en1")),  # takes e2
    (42, None),  # e2 rings out
    (56, None),  # e3's escalation
    (60, AgentPaused("en1")),
    (70, ContactEnded("e1")),
    (100, None),
    (101, AgentLoggedIn("nl2", "loc2", frozenset({"phone"}), NL)),
    (101, AgentReady("nl2")),  # takes e4, relaxed at 19
    (130, None),
]


# Contacts whose volunteer was gone: back at the front, a restarted maximum wait (one
# overflows by it, not by its arrival's), a re-offer that rings out, a re-answer, and an
# abandon while ringing again.
RETURN_STEPS: list[tuple[float, Any]] = [
    (0, AgentLoggedIn("a1", "loc1", BOTH, NL)),
    (0, AgentReady("a1")),
    (0, AgentLoggedIn("a2", "loc2", BOTH, EN)),
    (0, AgentReady("a2")),
    (1, ContactArrived("p1", PHONE)),  # to a1
    (2, ContactArrived("p2", PHONE, language="en")),  # to a2
    (3, OfferAccepted("p1", "a1")),
    (4, OfferAccepted("p2", "a2")),
    (5, ContactArrived("p3", PHONE, priority=3)),  # waits; overflows at 205
    (150, ContactReturned("p1", "a1")),  # a1 wraps up until 180
    (151, ContactReturned("p2", "a2")),  # its language preference lapsed (32): dropped
    (180, None),  # a1's wrap-up ends: takes p1, not p3
    (181, AgentPaused("a2")),  # in wrap-up: paused at once
    (200, None),  # p1 rings out at a1 and is offered to a1 again: still first
    (205, None),  # p3 overflows
    (206, OfferAccepted("p1", "a1")),
    (207, AgentReady("a2")),  # takes p2
    (208, OfferAccepted("p2", "a2")),
    (209, ContactReturned("p2", "a2")),
    (210, AgentPaused("a2")),
    (220, ContactArrived("p4", PHONE, priority=3)),  # waits behind p2
    (300, ContactEnded("p1")),  # a1 wraps up until 330
    (330, None),  # a1 takes p2, not p4
    (331, ContactEnded("p2")),  # gone while ringing, but answered before; a1 takes p4
    (332, OfferAccepted("p4", "a1")),
    (333, ContactReturned("p4", "a1")),
    (334, AgentPaused("a1")),
    (450, None),  # p4's arrival + max wait (420) has passed: nothing happens
    (600, None),  # p4 overflows at 533, 200 s after its return
]


def run(acd: Acd, steps: list[tuple[float, Any]]) -> list[Any]:
    """Feed the steps; return each step's commands and the next deadline after it."""
    trace = []
    for now, event in steps:
        out = acd.handle_timer(now) if event is None else acd.handle(event, now)
        trace.append((out, acd.next_deadline()))
    return trace


@pytest.mark.parametrize("strategy", ["longest_idle", "fewest_contacts_today"])
def test_restored_snapshot_behaves_identically_at_every_cut(strategy):
    full = run(Acd(SETTINGS, strategy_by_name(strategy)), STEPS)
    flat = [c for out, _ in full for c in out]
    # The script exercises what it claims to.
    assert any(isinstance(c, WithdrawOffer) and c.reason == "timeout" for c in flat)
    assert OverflowContact("p4", "max_wait") in flat
    assert_restores_at_every_cut(
        lambda: Acd(SETTINGS, strategy_by_name(strategy)),
        lambda data: Acd.from_snapshot(data, SETTINGS, strategy_by_name(strategy)),
        run,
        STEPS,
        full,
    )


def test_relaxations_restore_identically_at_every_cut():
    full = run(Acd(SETTINGS), RELAX_STEPS)
    flat = [c for out, _ in full for c in out]
    offered = {c.contact_id for c in flat if isinstance(c, OfferContact)}
    assert {"e1", "e2", "e4"} <= offered  # the script relaxes what it claims to
    assert_restores_at_every_cut(
        lambda: Acd(SETTINGS),
        lambda data: Acd.from_snapshot(data, SETTINGS),
        run,
        RELAX_STEPS,
        full,
    )


def test_returns_restore_identically_at_every_cut():
    full = run(Acd(SETTINGS), RETURN_STEPS)
    # The script does what it claims.
    offers = [(c.contact_id, c.agent_id) for out, _ in full for c in out if type(c) is OfferContact]
    assert offers[2:] == [("p1", "a1"), ("p1", "a1"), ("p2", "a2"), ("p2", "a1"), ("p4", "a1")]
    assert full[-2][0] == []
    ends = {
        c.contact_id: (c.outcome.value, c.ended_at, c.agent_id, c.reason)
        for out, _ in full
        for c in out
        if type(c).__name__ == "ContactFinished"
    }
    assert ends == {
        "p1": ("answered", 300.0, "a1", None),
        "p2": ("answered", 331.0, "a2", None),
        "p3": ("overflowed", 205.0, None, "max_wait"),
        "p4": ("answered", 533.0, "a1", None),  # overflowed, 200 s after its return
    }
    assert_restores_at_every_cut(
        lambda: Acd(SETTINGS),
        lambda data: Acd.from_snapshot(data, SETTINGS),
        run,
        RETURN_STEPS,
        full,
    )


def test_journal_replay_of_returns_gives_the_same_state():
    live = Acd(SETTINGS)
    journal = []
    for now, event in RETURN_STEPS[:12]:
        live.handle_timer(now) if event is None else live.handle(event, now)
        journal.append((now, None if event is None else event_to_dict(event)))
    assert journal[9][1] == {"type": "ContactReturned", "contact_id": "p1", "agent_id": "a1"}
    assert journal[11][1] is None  # a1's wrap-up ends and p1 rings: replayed as a timer
    replayed = Acd(SETTINGS)
    for now, data in json.loads(json.dumps(journal)):
        if data is None:
            replayed.handle_timer(now)
        else:
            replayed.handle(event_from_dict(data), now)
    assert replayed.snapshot() == live.snapshot()
    assert replayed.next_deadline() == live.next_deadline()


def test_journal_replay_gives_the_same_relaxation_state():
    live = Acd(SETTINGS)
    journal = []
    for now, event in RELAX_STEPS[:14]:
        live.handle_timer(now) if event is None else live.handle(event, now)
        journal.append((now, None if event is None else event_to_dict(event)))
    replayed = Acd(SETTINGS)
    for now, data in json.loads(json.dumps(journal)):
        if data is None:
            replayed.handle_timer(now)
        else:
            replayed.handle(event_from_dict(data), now)
    assert replayed.snapshot() == live.snapshot()
    assert replayed.next_deadline() == live.next_deadline()


def test_snapshot_keeps_pending_deadlines():
    s = Script(SETTINGS)
    s.login("a1", 0)
    s.arrive("p1", 5)  # ring deadline 25
    s.arrive("p2", 6)  # max-wait deadline 206
    restored = Acd.from_snapshot(via_json(s.acd.snapshot()), SETTINGS)
    assert restored.next_deadline() == 25.0
    assert restored.handle_timer(25) == s.acd.handle_timer(25)
    assert restored.handle(OfferAccepted("p1", "a1"), 26) == s.acd.handle(
        OfferAccepted("p1", "a1"), 26
    )
    assert restored.handle_timer(206) == s.acd.handle_timer(206)
    assert restored.next_deadline() == s.acd.next_deadline() is None


def test_snapshot_of_a_fresh_acd():
    data = Acd().snapshot()
    assert data["version"] == 1 and data["now"] is None
    assert data["agents"] == [] and data["contacts"] == []
    restored = Acd.from_snapshot(via_json(data))
    assert via_json(restored.snapshot()) == data
    assert restored.next_deadline() is None


def test_snapshot_is_json_and_names_no_child():
    s = Script(SETTINGS)
    s.login("a1", 0)
    s.arrive("p1", 5, language="en")
    text = json.dumps(s.acd.snapshot())
    # Contacts carry only routing data: ids, channel, skills, language, times.
    for contact in json.loads(text)["contacts"]:
        assert not {"caller", "number", "name", "caller_id"} & set(contact)


def test_snapshot_restores_the_clock():
    s = Script(SETTINGS)
    s.login("a1", 50)
    restored = Acd.from_snapshot(via_json(s.acd.snapshot()), SETTINGS)
    assert restored.handle(AgentPaused("a1"), 10)[0].at == 50.0


def test_surge_mode_is_kept_by_the_snapshot_and_a_snapshot_without_it_is_off():
    acd = Acd(SETTINGS)
    acd.handle(SurgeSwitched(True), 1)
    acd.handle(ContactArrived("p1", PHONE), 2)
    assert acd.contact("p1").skills == frozenset({"phone", "staff"})
    data = via_json(acd.snapshot())
    assert data["surge"] is True
    restored = Acd.from_snapshot(data, SETTINGS)
    assert restored.surge is True
    restored.handle(ContactArrived("p2", CHAT), 3)
    restored.handle(ContactArrived("p3", CHAT, PEER), 3)  # young volunteers keep peer chats
    assert restored.contact("p2").skills == frozenset({"chat", "staff"})
    assert restored.contact("p3").skills == PEER
    restored.handle(SurgeSwitched(False), 4)
    restored.handle(ContactArrived("p4", PHONE), 5)
    assert restored.contact("p4").skills == frozenset()
    assert restored.contact("p1").skills == frozenset({"phone", "staff"})  # waiting: unchanged

    older = dict(data)
    del older["surge"]  # written before surge mode was the core's
    assert Acd.from_snapshot(older, SETTINGS).surge is False
    with pytest.raises(InvalidEvent, match="surge"):
        Acd.from_snapshot({**data, "surge": "yes"}, SETTINGS)
    with pytest.raises(InvalidEvent, match="surge"):
        Acd(SETTINGS).handle(SurgeSwitched("yes"), 1)  # type: ignore[arg-type]


def good_snapshot() -> dict[str, Any]:
    s = Script(SETTINGS)
    s.login("a1", 0)
    s.arrive("p1", 5)
    return via_json(s.acd.snapshot())


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda d: d.update(version=2), "unsupported version 2"),
        (lambda d: d.pop("version"), "unsupported version None"),
        (lambda d: d.update(agents={}), "snapshot.agents"),
        (lambda d: d.pop("contacts"), "snapshot.contacts"),
        (lambda d: d.update(seq="7"), "snapshot.seq"),
        (lambda d: d.update(now="yesterday"), "snapshot.now"),
        (lambda d: d["agents"][0].update(state="dancing"), "snapshot.agents.state"),
        (lambda d: d["agents"][0].update(state="logged_out"), "logged out"),
        (lambda d: d["agents"][0].pop("agent_id"), "missing field 'agent_id'"),
        (lambda d: d["agents"][0].update(mood="good"), "unknown fields.*mood"),
        (lambda d: d["contacts"][0].update(state="abandoned"), "terminal state"),
        (lambda d: d["contacts"][0].update(channel="fax"), "snapshot.contacts.channel"),
        (lambda d: d["contacts"][0].update(relaxed=["language"]), "do not match"),
        (lambda d: d["contacts"][0].update(relax_early=["language"]), "do not match"),
        (lambda d: d["contacts"][0].update(relax_at={"language": "soon"}), "relax_at.language"),
        (lambda d: d["contacts"][0].update(returns=1), "return does not add up"),
        (lambda d: d["contacts"][0].update(returned_at=5.0), "return does not add up"),
        (
            lambda d: d["contacts"][0].update(returned_at=5.0, returns=1),
            "return does not add up",  # never answered
        ),
        (
            lambda d: d["contacts"][0].update(returned_at=5.0, returns=-1, answered_at=4.0),
            "return does not add up",
        ),
    ],
)
def test_bad_snapshots_are_refused(mutate, names):
    data = good_snapshot()
    mutate(data)
    with pytest.raises(InvalidEvent, match=names):
        Acd.from_snapshot(data, SETTINGS)


@pytest.mark.parametrize("data", [None, [], "snapshot"])
def test_non_object_snapshot_is_refused(data):
    with pytest.raises(InvalidEvent, match="unsupported version"):
        Acd.from_snapshot(data)


def test_snapshot_restores_without_a_json_round_trip():
    s = Script(SETTINGS)
    s.login("a1", 0)
    Acd.from_snapshot(s.acd.snapshot(), SETTINGS)


def test_snapshot_keeps_its_strategy():
    live = Acd(SETTINGS, strategy_by_name("fewest_contacts_today"))
    restored = Acd.from_snapshot(via_json(live.snapshot()), SETTINGS)
    assert restored.strategy.name == "fewest_contacts_today"


def test_snapshot_with_a_dangling_agent_reference_is_refused():
    data = good_snapshot()  # p1 rings for a1
    data["agents"] = []
    with pytest.raises(InvalidEvent, match="a1"):
        Acd.from_snapshot(data, SETTINGS)


def test_a_record_without_fields_can_be_made():
    from acd.record import record

    @record
    class Nothing:
        """No fields at all (a bare signal, like the engine's Tick)."""

    assert Nothing() == Nothing()
