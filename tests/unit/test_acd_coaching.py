"""A supervisor who coaches a call is offered nothing (``CoachingStarted``/``CoachingEnded``).

Her phone is busy with the coaching: a child's call offered to her would only ring against a
busy phone (486) and lose the child ring time before the next volunteer. The core keeps her
out of the pool from the moment the coaching is asked for until it ends, whatever her state,
logged in or not, and across the journal and snapshots.
"""

from __future__ import annotations

import json

import pytest

from acd import (
    Acd,
    AcdSettings,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    CoachingEnded,
    CoachingStarted,
    ContactArrived,
    ContactEnded,
    ContactHandedOver,
    InvalidEvent,
    OfferAccepted,
    OfferContact,
    WithdrawOffer,
    WrapUpEnded,
)
from acd.serde import event_from_dict, event_to_dict
from tests.unit.acd_helpers import (
    BOTH,
    CHAT,
    NL,
    PHONE,
    A,
    Script,
    assert_rejected,
    assert_restores_at_every_cut,
    changed,
    offer,
    via_json,
)

SETTINGS = AcdSettings(max_chats=2, wrap_up_s=30)
EN = frozenset({"en"})


def test_a_ready_supervisor_who_coaches_is_offered_nothing_until_it_ends():
    s = Script(SETTINGS)
    s.login("sara", 0)  # longest idle: she would be offered first
    s.login("noor", 1)
    assert s.feed(CoachingStarted("sara"), 2) == []  # her state stays what it was
    assert s.acd.coaching == frozenset({"sara"})
    assert s.acd.agent("sara").coaching is True
    assert s.arrive("p1", 3) == [offer("p1", "noor"), changed("noor", A.OFFERED, 3)]
    assert s.arrive("p2", 4) == []  # sara is ready but coaching: p2 waits
    assert s.acd.agent("sara").state is A.AVAILABLE
    # Coaching is work, not idling: she joins the back of the line, and takes p2 now.
    assert s.feed(CoachingEnded("sara"), 60) == [
        offer("p2", "sara"),
        changed("sara", A.OFFERED, 60),
    ]
    assert s.acd.coaching == frozenset()
    assert s.acd.agent("sara").coaching is False


def test_an_offer_ringing_for_her_goes_to_the_next_volunteer_at_once():
    s = Script(SETTINGS)
    s.login("sara", 0)
    s.arrive("p1", 1)  # rings for sara
    s.login("noor", 2)
    s.forget()
    assert s.feed(CoachingStarted("sara"), 3) == [
        WithdrawOffer("p1", "sara", "coaching"),
        changed("sara", A.AVAILABLE, 3),
        offer("p1", "noor"),
        changed("noor", A.OFFERED, 3),
    ]


def test_ready_during_a_coaching_makes_her_available_but_offers_nothing():
    s = Script(SETTINGS)
    s.login("sara", 0, ready=False)
    s.feed(CoachingStarted("sara"), 1)
    s.arrive("p1", 2)
    assert s.feed(AgentReady("sara"), 3) == [changed("sara", A.AVAILABLE, 3)]
    assert s.acd.contact("p1").agent_id is None
    s.feed(CoachingEnded("sara"), 4)
    assert s.acd.contact("p1").agent_id == "sara"


def test_holding_chats_she_is_offered_no_further_chat_and_no_hand_over():
    s = Script(SETTINGS)
    s.login("sara", 0)
    s.arrive("ch1", 1, CHAT)
    s.feed(OfferAccepted("ch1", "sara"), 2)
    s.login("noor", 3)
    s.arrive("ch2", 4, CHAT)  # noor takes it
    s.feed(OfferAccepted("ch2", "noor"), 5)
    s.feed(CoachingStarted("sara"), 6)
    assert s.arrive("ch3", 7, CHAT) == [offer("ch3", "noor", CHAT)]  # not sara, who has room
    assert_rejected(s.acd, InvalidEvent, ContactHandedOver("ch2", "noor", "sara"), 8, "cannot")
    # Her chat ends: wrap-up and its end as usual, still offered nothing.
    s.feed(ContactEnded("ch1"), 9)
    assert s.feed(WrapUpEnded("sara"), 10) == [changed("sara", A.AVAILABLE, 10)]
    s.arrive("ch4", 11, CHAT)
    assert s.acd.contact("ch4").agent_id is None


def test_a_supervisor_not_logged_in_who_coaches_logs_in_coaching():
    s = Script(SETTINGS)
    s.feed(CoachingStarted("sara"), 0)  # e.g. signed in on the wallboard only
    s.login("sara", 1)
    s.arrive("p1", 2)
    assert s.acd.contact("p1").agent_id is None
    # Logging out and in again does not forget it either.
    s.feed(AgentLoggedOut("sara"), 3)
    s.login("sara", 4)
    assert s.acd.agent("sara").coaching is True
    assert s.acd.contact("p1").agent_id is None
    s.feed(CoachingEnded("sara"), 5)
    assert s.acd.contact("p1").agent_id == "sara"


def test_a_coaching_supervisor_is_not_waited_for_by_a_preference():
    # p1 prefers English; only sara speaks it, and she is coaching: not about to be free, so
    # the preference goes at once and noor takes the child now.
    s = Script(SETTINGS)
    s.login("sara", 0, languages=EN)
    s.feed(CoachingStarted("sara"), 1)
    s.login("noor", 2)
    s.feed(AgentPaused("noor"), 2)
    s.arrive("p1", 3, language="en")
    assert s.feed(AgentReady("noor"), 4)[-2:] == [
        offer("p1", "noor"),
        changed("noor", A.OFFERED, 4),
    ]


def test_start_and_end_are_idempotent_and_need_an_id():
    s = Script(SETTINGS)
    s.login("sara", 0)
    assert s.feed(CoachingEnded("sara"), 1) == []  # never started: nothing to end
    s.feed(CoachingStarted("sara"), 2)
    assert s.feed(CoachingStarted("sara"), 3) == []
    s.feed(CoachingEnded("sara"), 4)
    assert s.feed(CoachingEnded("sara"), 5) == []
    assert s.acd.coaching == frozenset()
    assert_rejected(s.acd, InvalidEvent, CoachingStarted(""), 6)
    assert_rejected(s.acd, InvalidEvent, CoachingEnded(7), 6)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- journal and snapshot


# A ringing offer withdrawn by a coaching, contacts that wait for it to end, a supervisor
# coaching before she logs in, and a wrap-up that ends while she coaches.
STEPS = [
    (0, AgentLoggedIn("sara", "loc1", BOTH, NL)),
    (0, AgentReady("sara")),
    (1, ContactArrived("p1", PHONE)),  # rings for sara
    (2, CoachingStarted("sara")),  # withdrawn: p1 waits
    (3, CoachingStarted("tom")),  # not logged in
    (4, AgentLoggedIn("tom", "loc1", BOTH, NL)),
    (5, AgentReady("tom")),  # coaching: p1 still waits
    (6, CoachingEnded("sara")),  # sara takes p1
    (7, OfferAccepted("p1", "sara")),
    (8, ContactArrived("p2", PHONE)),  # waits: tom coaches
    (9, ContactEnded("p1")),  # sara wraps up until 39
    (10, CoachingStarted("sara")),
    (39, None),  # her wrap-up ends: available, offered nothing
    (40, CoachingEnded("tom")),  # tom takes p2
    (41, CoachingEnded("sara")),
]


def run(acd: Acd, steps: list[tuple[float, object]]) -> list[object]:
    trace = []
    for now, event in steps:
        out = acd.handle_timer(now) if event is None else acd.handle(event, now)  # type: ignore[arg-type]
        trace.append((out, acd.next_deadline(), sorted(acd.coaching)))
    return trace


def test_a_restored_snapshot_behaves_identically_at_every_cut():
    full = run(Acd(SETTINGS), STEPS)
    offers = [
        (c.contact_id, c.agent_id) for out, _, _ in full for c in out if type(c) is OfferContact
    ]  # type: ignore[attr-defined]
    assert offers == [("p1", "sara"), ("p1", "sara"), ("p2", "tom")]  # the script does that
    assert_restores_at_every_cut(
        lambda: Acd(SETTINGS),
        lambda data: Acd.from_snapshot(data, SETTINGS),
        run,
        STEPS,
        full,
    )


def test_the_journal_replays_coaching_and_the_snapshot_keeps_it():
    live = Acd(SETTINGS)
    journal = []
    for now, event in [
        (0.0, AgentLoggedIn("sara", "loc1", BOTH, NL)),
        (0.0, AgentReady("sara")),
        (1.0, CoachingStarted("sara")),
        (2.0, CoachingStarted("tom")),
        (3.0, CoachingEnded("tom")),
        (4.0, CoachingStarted("tom")),
    ]:
        live.handle(event, now)
        journal.append((now, event_to_dict(event)))
    assert journal[2][1] == {"type": "CoachingStarted", "agent_id": "sara"}
    replayed = Acd(SETTINGS)
    for now, data in json.loads(json.dumps(journal)):
        replayed.handle(event_from_dict(data), now)
    assert replayed.snapshot() == live.snapshot()
    data = via_json(live.snapshot())
    assert data["coaching"] == ["sara", "tom"]
    restored = Acd.from_snapshot(data, SETTINGS)
    assert restored.coaching == frozenset({"sara", "tom"})
    assert restored.agent("sara").coaching is True
    assert via_json(restored.snapshot()) == data
    # Restored, she is still kept out of the pool, and back in it when the coaching ends.
    restored.handle(AgentLoggedIn("tom", "loc1", BOTH, NL), 5)
    restored.handle(AgentReady("tom"), 5)
    assert restored.handle(CoachingEnded("sara"), 6) == []
    assert restored.handle(CoachingEnded("tom"), 7) == []
    out = restored.handle(ContactArrived("p1", PHONE), 8)
    assert out[0] == offer("p1", "sara")  # longest idle: since 6, tom since 7


def test_a_snapshot_from_before_coaching_has_nobody_coaching():
    s = Script(SETTINGS)
    s.login("sara", 0)
    data = via_json(s.acd.snapshot())
    del data["coaching"]
    for agent in data["agents"]:
        del agent["coaching"]
    restored = Acd.from_snapshot(data, SETTINGS)
    assert restored.coaching == frozenset()
    assert restored.agent("sara").coaching is False


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda d: d.update(coaching="sara"), "snapshot.coaching"),
        (lambda d: d.update(coaching=[1]), "snapshot.coaching"),
        (lambda d: d.update(coaching=[]), "coaching does not match"),
        (lambda d: d["agents"][0].update(coaching=False), "coaching does not match"),
        (lambda d: d["agents"][0].update(coaching="yes"), "snapshot.agents.coaching"),
    ],
)
def test_a_snapshot_whose_coaching_does_not_add_up_is_refused(mutate, names):
    s = Script(SETTINGS)
    s.login("sara", 0)
    s.feed(CoachingStarted("sara"), 1)
    data = via_json(s.acd.snapshot())
    mutate(data)
    with pytest.raises(InvalidEvent, match=names):
        Acd.from_snapshot(data, SETTINGS)


def test_after_a_coaching_she_waits_behind_those_idle_longer():
    s = Script(SETTINGS)
    s.login("sara", 0)  # idle the longest
    s.login("noor", 1)
    s.feed(CoachingStarted("sara"), 2)
    s.feed(CoachingEnded("sara"), 10)
    assert s.arrive("p1", 11)[0] == offer("p1", "noor")
