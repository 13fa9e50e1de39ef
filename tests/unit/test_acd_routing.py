"""Routing in the ACD core: who gets which contact, overflow, and the anonymous end record."""

from __future__ import annotations

import dataclasses

import pytest

from acd import (
    AcdSettings,
    AgentReachability,
    ConnectContact,
    ContactEnded,
    ContactFinished,
    OfferAccepted,
    OfferContact,
    OfferFailed,
    OfferFailure,
    Outcome,
    OverflowContact,
    RoutingStrategy,
    UnknownStrategy,
    WithdrawOffer,
    WrapUpEnded,
    register_strategy,
    strategy_by_name,
)
from acd.strategy import strategy_names
from tests.unit.acd_helpers import (
    CHAT,
    PHONE,
    A,
    Script,
    changed,
    finished,
    offer,
)


def offered_to(s: Script, contact_id: str) -> str | None:
    return s.acd.contact(contact_id).agent_id


def test_one_call_from_arrival_to_wrap_up_end():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0, location="zwolle")
    assert s.arrive("c1", 10) == [offer("c1", "a1"), changed("a1", A.OFFERED, 10)]
    assert s.feed(OfferAccepted("c1", "a1"), 14) == [
        ConnectContact("c1", "a1"),
        changed("a1", A.BUSY, 14),
    ]
    assert s.feed(ContactEnded("c1"), 100) == [
        finished("c1", Outcome.ANSWERED, 10, 100, answered=14, agent="a1", location="zwolle"),
        changed("a1", A.WRAP_UP, 100),
    ]
    assert s.acd.next_deadline() == 130.0
    assert s.timer() == [changed("a1", A.AVAILABLE, 130)]
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE, A.OFFERED, A.BUSY, A.WRAP_UP, A.AVAILABLE]
    assert list(s.acd.contacts()) == []
    assert s.acd.next_deadline() is None


def test_longest_waiting_first():
    s = Script()
    for i, t in enumerate([1, 2, 3], start=1):
        assert s.arrive(f"c{i}", t) == []
    assert [s.acd.queue_position(f"c{i}") for i in (1, 2, 3)] == [1, 2, 3]
    assert s.login("a1", 5)[-2:] == [offer("c1", "a1"), changed("a1", A.OFFERED, 5)]
    assert s.login("a2", 6)[-2:] == [offer("c2", "a2"), changed("a2", A.OFFERED, 6)]
    assert s.acd.queue_position("c3") == 1
    assert s.acd.queue_position("c1") == 0  # offered, not waiting


def test_same_instant_arrivals_keep_arrival_order():
    s = Script()
    for cid in ("x", "b", "a"):
        s.arrive(cid, 1)
    s.login("a1", 2)
    assert offered_to(s, "x") == "a1"


def test_higher_priority_first_even_if_it_arrived_later():
    s = Script()
    s.arrive("low", 1)
    s.arrive("high", 2, priority=5)
    s.arrive("mid", 3, priority=1)
    assert [s.acd.queue_position(c) for c in ("high", "mid", "low")] == [1, 2, 3]
    s.login("a1", 4)
    s.login("a2", 4)
    s.login("a3", 4)
    assert [offered_to(s, c) for c in ("high", "mid", "low")] == ["a1", "a2", "a3"]


def test_longest_idle_volunteer_first():
    s = Script()
    s.login("a2", 1)
    s.login("a1", 2)
    s.login("a3", 3)
    assert s.arrive("c1", 4) == [offer("c1", "a2"), changed("a2", A.OFFERED, 4)]
    assert s.arrive("c2", 5) == [offer("c2", "a1"), changed("a1", A.OFFERED, 5)]


def test_volunteer_back_from_wrap_up_queues_behind_the_idle_ones():
    s = Script()
    s.login("a1", 0)
    s.login("a2", 1)
    s.arrive("c1", 2)
    s.feed(OfferAccepted("c1", "a1"), 3)
    s.feed(ContactEnded("c1"), 4)
    s.feed(WrapUpEnded("a1"), 5)
    assert s.arrive("c2", 6)[0] == offer("c2", "a2")


def _one_handled_then_a_newcomer(strategy: RoutingStrategy | None) -> Script:
    """a1 handled one contact and is free since t=5; a2 logs in at t=10 with none handled."""
    s = Script(strategy=strategy)
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    s.feed(ContactEnded("c1"), 3)
    s.feed(WrapUpEnded("a1"), 5)
    s.login("a2", 10)
    return s


@pytest.mark.parametrize(
    ("name", "expected"), [("longest_idle", "a1"), ("fewest_contacts_today", "a2")]
)
def test_strategy_by_name_decides_between_idle_and_fewest(name, expected):
    s = _one_handled_then_a_newcomer(strategy_by_name(name))
    assert s.arrive("c2", 11)[0] == offer("c2", expected)


def test_fewest_contacts_today_ties_go_to_longest_idle():
    s = Script(strategy=strategy_by_name("fewest_contacts_today"))
    s.login("a2", 1)
    s.login("a1", 2)
    assert s.arrive("c1", 3)[0] == offer("c1", "a2")


def test_default_strategy_is_longest_idle():
    s = _one_handled_then_a_newcomer(None)
    assert s.acd.strategy.name == "longest_idle"
    assert s.arrive("c2", 11)[0] == offer("c2", "a1")


def test_unknown_strategy_names_the_choices():
    with pytest.raises(UnknownStrategy, match="fewest_contacts_today"):
        strategy_by_name("round_robin_please")
    assert {"longest_idle", "fewest_contacts_today"} <= set(strategy_names())


def test_registered_strategy_is_selectable_and_used():
    @register_strategy
    class MostRecentlyFree(RoutingStrategy):
        """Test strategy: the volunteer free the shortest time goes first."""

        name = "test_most_recently_free"

        def rank(self, agent):
            return (-agent.idle_since,)

    s = Script(strategy=strategy_by_name("test_most_recently_free"))
    s.login("a1", 1)
    s.login("a2", 2)
    assert s.arrive("c1", 3)[0] == offer("c1", "a2")


def test_phone_only_and_chat_only_volunteers():
    s = Script()
    s.login("chatter", 0, skills=frozenset({"chat"}))
    s.login("caller", 1, skills=frozenset({"phone"}))
    assert s.arrive("p1", 2)[0] == offer("p1", "caller")
    assert s.arrive("ch1", 3, CHAT)[0] == offer("ch1", "chatter", CHAT)


def test_peer_chat_only_to_peer_chat_volunteers():
    s = Script()
    s.login("adult", 0, skills=frozenset({"phone", "chat"}))
    s.login("young", 5, skills=frozenset({"peer_chat"}))
    # The adult has waited longest, yet the peer chat goes to the young volunteer.
    assert s.arrive("peer", 6, CHAT, skills=frozenset({"peer_chat"})) == [
        offer("peer", "young", CHAT),
        changed("young", A.OFFERED, 6),
    ]


def test_peer_chat_waits_when_no_peer_volunteer_is_free():
    s = Script()
    s.login("adult", 0)
    assert s.arrive("peer", 1, CHAT, skills=frozenset({"peer_chat"})) == []
    assert s.acd.waiting_count(CHAT) == 1


def test_normal_chat_not_to_a_peer_only_volunteer():
    s = Script()
    s.login("young", 0, skills=frozenset({"peer_chat"}))
    assert s.arrive("ch1", 1, CHAT) == []
    assert s.login("adult", 2, skills=frozenset({"chat"}))[-2:] == [
        offer("ch1", "adult", CHAT),
        changed("adult", A.OFFERED, 2),
    ]


def test_required_language_only_to_speakers_and_none_to_anyone():
    s = Script()
    s.login("dutch", 0, languages=frozenset({"nl"}))
    s.login("bilingual", 1, languages=frozenset({"nl", "en"}))
    assert s.arrive("en1", 2, language="en", prefer={})[0] == offer("en1", "bilingual")
    s.feed(OfferAccepted("en1", "bilingual"), 3)
    # The only English speaker is busy and the language is required, not preferred.
    assert s.arrive("en2", 4, language="en", prefer={}) == []
    assert s.arrive("any", 5)[0] == offer("any", "dutch")


def test_contact_nobody_free_can_take_does_not_block_the_queue():
    s = Script()
    s.arrive("en1", 1, language="en", prefer={})
    s.arrive("any", 2)
    s.login("dutch", 3)
    assert offered_to(s, "any") == "dutch"
    assert s.acd.queue_position("en1") == 1
    s.login("english", 4, languages=frozenset({"en"}))
    assert offered_to(s, "en1") == "english"


def test_unreachable_phone_gets_chats_but_no_calls():
    s = Script()
    s.login("a1", 0, phone_reachable=False)
    assert s.arrive("p1", 1) == []
    assert s.arrive("ch1", 2, CHAT) == [offer("ch1", "a1", CHAT), changed("a1", A.OFFERED, 2)]


def test_reachability_back_gets_the_waiting_call_at_once():
    s = Script()
    s.login("a1", 0, phone_reachable=False)
    s.arrive("p1", 1)
    assert s.feed(AgentReachability("a1", True), 5) == [
        offer("p1", "a1"),
        changed("a1", A.OFFERED, 5),
    ]


def test_unreachable_volunteer_is_skipped_for_calls():
    s = Script()
    s.login("a1", 0)
    s.login("a2", 1)
    s.feed(AgentReachability("a1", False), 2)
    assert s.arrive("p1", 3)[0] == offer("p1", "a2")


def test_one_free_volunteer_gets_one_offer_however_many_wait():
    s = Script()
    for i in range(5):
        s.arrive(f"c{i}", i)
    out = s.login("a1", 10)
    assert [c for c in out if isinstance(c, OfferContact)] == [offer("c0", "a1")]
    assert s.acd.waiting_count(PHONE) == 4


def test_waiting_count_per_channel():
    s = Script()
    s.arrive("p1", 1)
    s.arrive("p2", 2)
    s.arrive("ch1", 3, CHAT)
    assert (s.acd.waiting_count(), s.acd.waiting_count(PHONE), s.acd.waiting_count(CHAT)) == (
        3,
        2,
        1,
    )
    assert s.acd.queue_position("ch1") == 1  # positions count within one channel


def test_queue_full_overflows_the_newcomer_per_channel():
    s = Script(AcdSettings(max_queue_length=2))
    s.arrive("p1", 1)
    s.arrive("p2", 2)
    assert s.arrive("ch1", 3, CHAT) == []  # chats have their own limit
    assert s.arrive("p3", 4, priority=3, language="en") == [
        OverflowContact("p3", "queue_full"),
        finished("p3", Outcome.OVERFLOWED, 4, 4, priority=3, language="en", reason="queue_full"),
    ]
    assert s.acd.waiting_count(PHONE) == 2
    assert [c.contact_id for c in s.acd.contacts()] == ["p1", "p2", "ch1"]


def test_queue_full_does_not_count_contacts_being_offered():
    s = Script(AcdSettings(max_queue_length=1))
    s.login("a1", 0)
    s.arrive("p1", 1)  # offered at once
    assert s.arrive("p2", 2) == []
    assert s.arrive("p3", 3)[0] == OverflowContact("p3", "queue_full")


def test_max_wait_overflows_via_the_timer():
    s = Script(AcdSettings(max_wait_s=60))
    s.arrive("p1", 10)
    assert s.acd.next_deadline() == 70.0
    assert s.timer(69.9) == []
    assert s.timer() == [
        OverflowContact("p1", "max_wait"),
        finished("p1", Outcome.OVERFLOWED, 10, 70, reason="max_wait"),
    ]
    assert s.acd.next_deadline() is None
    assert s.acd.waiting_count() == 0


def test_max_wait_timer_of_an_answered_contact_is_void():
    s = Script(AcdSettings(max_wait_s=60, wrap_up_s=1000))
    s.arrive("p1", 10)
    s.login("a1", 20)
    s.feed(OfferAccepted("p1", "a1"), 21)
    assert s.acd.next_deadline() is None
    assert s.timer(500) == []


def test_offer_failing_after_max_wait_overflows_instead_of_requeueing():
    s = Script(AcdSettings(max_wait_s=30))
    s.arrive("p1", 0)
    s.login("a1", 15)  # rings until 35, past the maximum wait at 30
    s.login("a2", 16)  # free, yet p1 is not offered again
    assert s.timer(30) == []  # the maximum wait passes while it rings: nothing yet
    assert s.acd.next_deadline() == 35.0
    assert s.timer() == [
        WithdrawOffer("p1", "a1", "timeout"),
        changed("a1", A.AVAILABLE, 35),
        OverflowContact("p1", "max_wait"),
        finished(
            "p1", Outcome.OVERFLOWED, 0, 35, reason="max_wait", last_failure=OfferFailure.NO_ANSWER
        ),
    ]
    assert s.state("a2") is A.AVAILABLE


def test_offer_rejected_after_max_wait_overflows():
    s = Script(AcdSettings(max_wait_s=30))
    s.arrive("p1", 0)
    s.login("a1", 25)
    assert s.feed(OfferFailed("p1", "a1", OfferFailure.BUSY), 31) == [
        changed("a1", A.AVAILABLE, 31),
        OverflowContact("p1", "max_wait"),
        finished(
            "p1", Outcome.OVERFLOWED, 0, 31, reason="max_wait", last_failure=OfferFailure.BUSY
        ),
    ]


def test_contact_finished_fields_answered_call():
    s = Script()
    s.login("a1", 0, location="groningen")
    s.arrive("p1", 10, language="nl", priority=2)
    s.feed(OfferAccepted("p1", "a1"), 12.5)
    (record, _wrap) = s.feed(ContactEnded("p1"), 300)
    assert record == ContactFinished(
        contact_id="p1",
        channel=PHONE,
        outcome=Outcome.ANSWERED,
        priority=2,
        language="nl",
        arrived_at=10.0,
        answered_at=12.5,
        ended_at=300.0,
        agent_id="a1",
        location_id="groningen",
        reason=None,
        last_failure=None,
    )


def test_contact_finished_carries_nothing_about_the_child():
    # The record is anonymous by construction: only these fields exist.
    assert {f.name for f in dataclasses.fields(ContactFinished)} == {
        "contact_id",
        "channel",
        "outcome",
        "priority",
        "language",
        "arrived_at",
        "answered_at",
        "ended_at",
        "agent_id",
        "location_id",
        "reason",
        "last_failure",
    }


def test_abandoned_after_a_failed_offer_names_no_volunteer():
    s = Script()
    s.login("a1", 0)
    s.arrive("p1", 1)
    s.feed(OfferFailed("p1", "a1", OfferFailure.REJECTED), 2)  # streak 1 of 2: re-offered
    s.feed(OfferFailed("p1", "a1", OfferFailure.REJECTED), 3)  # now paused, p1 waits
    assert s.feed(ContactEnded("p1"), 4) == [
        finished("p1", Outcome.ABANDONED, 1, 4, last_failure=OfferFailure.REJECTED)
    ]
