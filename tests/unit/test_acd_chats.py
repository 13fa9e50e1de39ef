"""Chats in the ACD core: several at once per volunteer, never mixed with a call."""

from __future__ import annotations

from acd import (
    AcdSettings,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    ConnectContact,
    ContactEnded,
    OfferAccepted,
    Outcome,
    StaleOffer,
    WithdrawOffer,
)
from tests.unit.acd_helpers import (
    CHAT,
    PHONE,
    A,
    Script,
    assert_rejected,
    changed,
    finished,
    offer,
)


def holding_chats(s: Script, agent_id: str, *contact_ids: str, t: float = 10) -> None:
    """Let ``agent_id`` (the only free volunteer) answer each chat in turn."""
    for cid in contact_ids:
        assert s.arrive(cid, t, CHAT)[0] == offer(cid, agent_id, CHAT)
        s.feed(OfferAccepted(cid, agent_id), t)
        t += 1


def test_up_to_max_chats_then_the_next_waits():
    s = Script(AcdSettings(max_chats=2))
    s.login("a1", 0)
    assert s.arrive("ch1", 1, CHAT) == [offer("ch1", "a1", CHAT), changed("a1", A.OFFERED, 1)]
    assert s.feed(OfferAccepted("ch1", "a1"), 2) == [
        ConnectContact("ch1", "a1"),
        changed("a1", A.BUSY, 2),
    ]
    # A second chat is offered on top; the volunteer stays busy, so no state change.
    assert s.arrive("ch2", 3, CHAT) == [offer("ch2", "a1", CHAT)]
    assert s.feed(OfferAccepted("ch2", "a1"), 4) == [ConnectContact("ch2", "a1")]
    assert s.arrive("ch3", 5, CHAT) == []
    assert s.acd.queue_position("ch3") == 1
    # One ends: the volunteer stays busy and takes the waiting chat.
    assert s.feed(ContactEnded("ch1"), 6) == [
        finished(
            "ch1", Outcome.ANSWERED, 1, 6, channel=CHAT, answered=2, agent="a1", location="loc1"
        ),
        offer("ch3", "a1", CHAT),
    ]
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE, A.OFFERED, A.BUSY]
    assert list(s.acd.agent("a1").contacts) == ["ch2"]


def test_login_max_chats_below_the_setting():
    s = Script(AcdSettings(max_chats=2))
    s.login("a1", 0, max_chats=1)
    holding_chats(s, "a1", "ch1")
    assert s.arrive("ch2", 20, CHAT) == []


def test_login_max_chats_above_the_setting():
    s = Script(AcdSettings(max_chats=1))
    s.login("a1", 0, max_chats=3)
    holding_chats(s, "a1", "ch1", "ch2", "ch3")
    assert s.arrive("ch4", 20, CHAT) == []
    assert len(s.acd.agent("a1").contacts) == 3


def test_volunteer_in_a_call_gets_no_chat():
    s = Script()
    s.login("a1", 0)
    s.arrive("p1", 1)
    s.feed(OfferAccepted("p1", "a1"), 2)
    assert s.arrive("ch1", 3, CHAT) == []
    assert s.acd.waiting_count(CHAT) == 1


def test_volunteer_ringing_for_a_call_gets_no_chat():
    s = Script()
    s.login("a1", 0)
    s.arrive("p1", 1)
    assert s.arrive("ch1", 2, CHAT) == []


def test_volunteer_holding_a_chat_gets_no_call():
    s = Script()
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1")
    assert s.arrive("p1", 20) == []
    assert s.login("a2", 21)[-2:] == [offer("p1", "a2"), changed("a2", A.OFFERED, 21)]


def test_second_chat_goes_to_a_volunteer_holding_none_first():
    s = Script()
    s.login("a1", 0)  # longest idle
    holding_chats(s, "a1", "ch1")
    s.login("a2", 20)
    assert s.arrive("ch2", 21, CHAT)[0] == offer("ch2", "a2", CHAT)
    s.feed(OfferAccepted("ch2", "a2"), 22)
    # Both hold one now: the longest idle (a1) gets the third.
    assert s.arrive("ch3", 23, CHAT) == [offer("ch3", "a1", CHAT)]


def test_last_chat_ending_starts_wrap_up():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1", "ch2")
    assert s.feed(ContactEnded("ch2"), 40) == [
        finished(
            "ch2", Outcome.ANSWERED, 11, 40, channel=CHAT, answered=11, agent="a1", location="loc1"
        )
    ]
    assert s.state("a1") is A.BUSY
    out = s.feed(ContactEnded("ch1"), 50)
    assert out[1:] == [changed("a1", A.WRAP_UP, 50)]
    assert s.acd.next_deadline() == 80.0


def test_abandoned_second_chat_offer_leaves_the_volunteer_busy():
    s = Script()
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1")
    s.arrive("ch2", 20, CHAT)
    assert s.feed(ContactEnded("ch2"), 21) == [
        WithdrawOffer("ch2", "a1", "abandoned"),
        finished("ch2", Outcome.ABANDONED, 20, 21, channel=CHAT),
    ]
    assert s.state("a1") is A.BUSY
    assert s.arrive("ch3", 22, CHAT) == [offer("ch3", "a1", CHAT)]


def test_second_chat_rings_out_for_a_busy_volunteer():
    s = Script(AcdSettings(max_no_answer=5))
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1")
    s.login("a2", 15, max_chats=1)
    s.arrive("p1", 16)  # a2 takes a call
    s.feed(OfferAccepted("p1", "a2"), 17)
    s.arrive("ch2", 20, CHAT)
    assert s.timer() == [
        WithdrawOffer("ch2", "a1", "timeout"),
        offer("ch2", "a1", CHAT),  # the only one who can take it
    ]
    assert s.acd.agent("a1").no_answer_streak == 1
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE, A.OFFERED, A.BUSY]


def test_pause_while_holding_chats_stops_new_chats_and_applies_after_wrap_up():
    s = Script(AcdSettings(wrap_up_s=10))
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1")
    s.arrive("ch2", 20, CHAT)  # rings for a1 on top of ch1
    assert s.feed(AgentPaused("a1", "break"), 21) == [WithdrawOffer("ch2", "a1", "paused")]
    assert s.acd.queue_position("ch2") == 1
    s.feed(ContactEnded("ch1"), 30)
    assert s.timer() == [changed("a1", A.PAUSED, 40, "break")]
    assert s.acd.queue_position("ch2") == 1


def test_logout_while_holding_chats_stops_new_chats():
    s = Script()
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1")
    assert s.feed(AgentLoggedOut("a1"), 20) == []
    assert s.arrive("ch2", 21, CHAT) == []


def test_phone_and_chat_queues_are_served_by_priority_then_wait():
    s = Script()
    s.arrive("ch1", 1, CHAT)
    s.arrive("p1", 2, PHONE)
    s.login("a1", 3)
    assert s.acd.contact("ch1").agent_id == "a1"
    assert s.acd.queue_position("p1") == 1


def test_held_chat_ending_while_a_second_chat_rings_withdraws_it():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0)
    holding_chats(s, "a1", "ch1")
    s.login("a2", 15, skills=frozenset({"chat"}), ready=False)
    s.arrive("ch2", 20, CHAT)  # rings for a1 on top of ch1
    assert s.feed(ContactEnded("ch1"), 21) == [
        finished(
            "ch1", Outcome.ANSWERED, 10, 21, channel=CHAT, answered=10, agent="a1", location="loc1"
        ),
        WithdrawOffer("ch2", "a1", "wrap_up"),
        changed("a1", A.WRAP_UP, 21),
    ]
    assert s.acd.agent("a1").offer is None
    assert s.acd.queue_position("ch2") == 1
    assert_rejected(s.acd, StaleOffer, OfferAccepted("ch2", "a1"), 22)
    assert s.feed(AgentReady("a2"), 23) == [
        changed("a2", A.AVAILABLE, 23),
        offer("ch2", "a2", CHAT),
        changed("a2", A.OFFERED, 23),
    ]


def test_free_for_says_whether_a_free_volunteer_could_take_such_a_contact_now():
    s = Script(AcdSettings(max_chats=1))
    peer = frozenset({"peer_chat"})
    assert not s.acd.free_for(CHAT, frozenset(), "nl")
    s.login("a1", 0)  # phone and chat, nl
    before = s.acd.snapshot()
    assert s.acd.free_for(CHAT, frozenset(), "nl")
    assert s.acd.free_for(CHAT, frozenset(), "en")  # the language may be dropped at once
    assert not s.acd.free_for(CHAT, peer, None)
    assert s.acd.snapshot() == before
    holding_chats(s, "a1", "ch1")
    assert not s.acd.free_for(CHAT, frozenset(), "nl")  # full at max_chats
