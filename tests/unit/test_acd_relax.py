"""Preferences that relax: a child's language, and requirements escalated after a wait.

Settings are the defaults: ring 20 s, wrap-up 60 s, language wait 30 s, maximum wait 900 s.
"""

from __future__ import annotations

import math

import pytest

from acd import (
    AcdSettings,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    ConnectContact,
    ContactArrived,
    ContactEnded,
    InvalidEvent,
    OfferAccepted,
    WithdrawOffer,
    WrapUpEnded,
)
from acd.model import contact_requirements
from tests.unit.acd_helpers import CHAT, PHONE, A, Script, assert_rejected, changed, offer

EN = frozenset({"en"})
CHAT_ONLY = frozenset({"chat"})
PEER = frozenset({"peer_chat"})


def setup_wrap_up() -> Script:
    """ "dutch" free since 0 (but ranked after); "english" wraps up from 10 until 70."""
    s = Script()
    s.login("english", 0, languages=EN)
    s.arrive("c0", 1)
    s.feed(OfferAccepted("c0", "english"), 2)
    s.login("dutch", 3)
    s.feed(ContactEnded("c0"), 10)
    assert s.state("english") is A.WRAP_UP and s.state("dutch") is A.AVAILABLE
    s.forget()
    return s


def test_paused_english_speaker_does_not_hold_the_child():
    """The issue's case: the only English speaker is on a break, Dutch speakers are free."""
    s = Script()
    s.login("dutch", 0)
    s.login("english", 0, languages=EN)
    s.feed(AgentPaused("english"), 1)
    s.forget()
    assert s.arrive("c1", 5, language="en") == [
        offer("c1", "dutch"),
        changed("dutch", A.OFFERED, 5),
    ]
    contact = s.acd.contact("c1")
    assert contact.relaxed == {"language"} and contact.relax_at == {}
    assert contact.requires == contact_requirements(PHONE, frozenset(), None)
    assert s.acd.next_deadline() == 25.0  # the ring timeout; no relaxation pending


def test_child_waits_for_a_speaker_in_wrap_up_who_comes_back_in_time():
    s = setup_wrap_up()
    assert s.arrive("c1", 11, language="en") == []  # "dutch" is free but not asked
    assert s.acd.next_deadline() == 41.0  # 11 + language_wait_s
    assert s.feed(WrapUpEnded("english"), 20) == [
        changed("english", A.AVAILABLE, 20),
        offer("c1", "english"),
        changed("english", A.OFFERED, 20),
    ]
    assert s.acd.contact("c1").relaxed == frozenset()


def test_language_relaxes_at_exactly_language_wait_s():
    s = setup_wrap_up()
    s.arrive("c1", 11, language="en")
    assert s.timer(40.99) == []
    assert s.acd.next_deadline() == 41.0
    assert s.timer() == [offer("c1", "dutch"), changed("dutch", A.OFFERED, 41)]
    assert s.acd.contact("c1").relaxed == {"language"}


def test_language_wait_is_a_setting():
    s = Script(AcdSettings(language_wait_s=5))
    s.login("english", 0, languages=EN)
    s.arrive("c0", 1)
    s.feed(OfferAccepted("c0", "english"), 2)
    s.login("dutch", 3)
    s.feed(ContactEnded("c0"), 10)
    s.forget()
    s.arrive("c1", 11, language="en")
    assert s.acd.next_deadline() == 16.0
    assert s.timer() == [offer("c1", "dutch"), changed("dutch", A.OFFERED, 16)]


@pytest.mark.parametrize(
    ("event", "announced"),
    [
        (AgentPaused("english"), changed("english", A.PAUSED, 15, "break")),
        (AgentLoggedOut("english"), changed("english", A.LOGGED_OUT, 15)),
    ],
    ids=["pause", "logout"],
)
def test_last_speaker_leaving_relaxes_at_once(event, announced):
    s = setup_wrap_up()
    s.arrive("c1", 11, language="en")
    assert s.feed(event, 15) == [announced, offer("c1", "dutch"), changed("dutch", A.OFFERED, 15)]
    assert s.acd.next_deadline() == 35.0  # c1's ring timeout; the relaxation deadline is void


def test_last_speakers_phone_unregistering_relaxes_a_call():
    s = setup_wrap_up()
    s.arrive("c1", 11, language="en")
    s.arrive("ch1", 12, CHAT, language="en")  # a chat still has its speaker
    assert s.feed(AgentReachability("english", False), 15) == [
        offer("c1", "dutch"),
        changed("dutch", A.OFFERED, 15),
    ]
    assert s.acd.contact("ch1").relaxed == frozenset()
    assert s.feed(WrapUpEnded("english"), 16) == [
        changed("english", A.AVAILABLE, 16),
        offer("ch1", "english", CHAT),
        changed("english", A.OFFERED, 16),
    ]


def test_speaker_ringing_counts_until_they_take_a_call():
    s = Script()
    s.login("english", 0, languages=EN)
    s.arrive("c0", 1)  # rings at "english"
    s.login("dutch", 2)
    s.forget()
    assert s.arrive("c1", 3, language="en") == []  # "english" may yet be free (c0 may fail)
    assert s.feed(OfferAccepted("c0", "english"), 4) == [
        ConnectContact("c0", "english"),
        changed("english", A.BUSY, 4),
        offer("c1", "dutch"),
        changed("dutch", A.OFFERED, 4),
    ]


def test_speaker_who_pauses_while_ringing_releases_the_child():
    s = Script()
    s.login("english", 0, languages=EN)
    s.arrive("c0", 1, language="en")  # rings at "english"
    s.login("dutch", 2)
    s.forget()
    assert s.feed(AgentPaused("english"), 3) == [
        WithdrawOffer("c0", "english", "paused"),
        changed("english", A.PAUSED, 3, "break"),
        offer("c0", "dutch"),
        changed("dutch", A.OFFERED, 3),
    ]


def test_ring_out_at_the_relaxation_instant_goes_to_anyone():
    s = setup_wrap_up()
    s.arrive("c1", 11, language="en")
    s.feed(WrapUpEnded("english"), 21)  # rings at "english" until 41 = 11 + 30
    s.forget()
    assert s.timer() == [
        WithdrawOffer("c1", "english", "timeout"),
        changed("english", A.AVAILABLE, 41),
        offer("c1", "dutch"),
        changed("dutch", A.OFFERED, 41),
    ]


def test_relaxed_contact_keeps_its_place_and_priority():
    s = setup_wrap_up()
    s.feed(AgentPaused("dutch"), 10.5)
    s.arrive("c1", 11, language="en")
    s.arrive("c2", 12)
    s.timer(41)  # c1 relaxed; nobody free
    assert s.acd.queue_position("c1") == 1 and s.acd.queue_position("c2") == 2
    s.forget()
    assert s.login("late", 50, ready=True)[-2:] == [
        offer("c1", "late"),
        changed("late", A.OFFERED, 50),
    ]


def test_no_language_means_no_preference():
    s = setup_wrap_up()
    s.arrive("c1", 11)
    contact = s.acd.contact("c1")
    assert contact.relax_at == {} and contact.relaxed == frozenset()


def test_required_language_never_relaxes():
    s = setup_wrap_up()
    s.feed(AgentPaused("english"), 10.5)
    assert s.arrive("c1", 11, language="en", prefer={}) == []
    assert s.acd.next_deadline() == 911.0  # only the maximum wait


def test_preferred_language_with_its_own_wait():
    s = setup_wrap_up()
    s.arrive("c1", 11, language="en", prefer={"language": 4})
    assert s.timer() == [offer("c1", "dutch"), changed("dutch", A.OFFERED, 15)]


def test_escalated_requirement_holds_strictly_then_drops():
    """A peer chat waits two minutes for a young volunteer, even with none around."""
    s = Script()
    s.login("adult", 0, skills=CHAT_ONLY)
    s.forget()
    assert s.arrive("ch1", 10, CHAT, skills=PEER, escalate={"peer_chat": 120}) == []
    assert s.acd.next_deadline() == 130.0
    assert s.timer() == [offer("ch1", "adult", CHAT), changed("adult", A.OFFERED, 130)]
    assert s.acd.contact("ch1").requires == contact_requirements(CHAT, frozenset(), None)


def test_preferred_skill_relaxes_at_once_without_a_prospect():
    s = Script()
    s.login("adult", 0, skills=CHAT_ONLY)
    s.forget()
    assert s.arrive("ch1", 10, CHAT, skills=PEER, prefer={"peer_chat": 120}) == [
        offer("ch1", "adult", CHAT),
        changed("adult", A.OFFERED, 10),
    ]


def test_language_preference_and_skill_escalation_together():
    s = Script()
    s.login("young_nl", 0, skills=PEER)
    s.login("adult_en", 0, skills=CHAT_ONLY, languages=EN)
    s.feed(AgentPaused("young_nl"), 1)
    s.forget()
    # No young English speaker: the language goes at once, the peer requirement holds.
    assert s.arrive("ch1", 10, CHAT, skills=PEER, language="en", escalate={"peer_chat": 60}) == []
    contact = s.acd.contact("ch1")
    assert contact.relaxed == {"language"} and contact.relax_at == {"peer_chat": 70.0}
    assert s.acd.next_deadline() == 70.0
    assert s.timer() == [offer("ch1", "adult_en", CHAT), changed("adult_en", A.OFFERED, 70)]


def test_busy_chat_speaker_with_room_counts_and_takes_the_chat():
    s = Script()
    s.login("english", 0, skills=CHAT_ONLY, languages=EN, max_chats=2)
    s.arrive("ch0", 1, CHAT)
    s.feed(OfferAccepted("ch0", "english"), 2)
    s.login("dutch", 3, skills=CHAT_ONLY)
    s.forget()
    # "dutch" holds no chat and would rank first; the chat prefers the English speaker.
    assert s.arrive("ch1", 4, CHAT, language="en") == [offer("ch1", "english", CHAT)]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"prefer": {"peer_chat": 10}}, "does not require 'peer_chat'"),
        ({"language": None, "prefer": {"language": 10}}, "does not require 'language'"),
        ({"escalate": {"x": 10}}, "does not require 'x'"),
        ({"prefer": {"language": 0}}, "above 0"),
        ({"prefer": {"language": -1.0}}, "above 0"),
        ({"prefer": {"language": math.nan}}, "above 0"),
        ({"prefer": {"language": math.inf}}, "above 0"),
        ({"prefer": {"language": True}}, "number of seconds"),
        ({"prefer": {"language": "30"}}, "number of seconds"),
        ({"prefer": [("language", 3)]}, "must map"),
        ({"prefer": {"language": 3}, "escalate": {"language": 9}}, "both"),
    ],
)
def test_bad_relaxations_are_refused_and_change_nothing(fields, match):
    s = setup_wrap_up()
    s.arrive("c1", 11, language="en")
    event = ContactArrived(**{"contact_id": "c2", "channel": PHONE, "language": "en", **fields})
    assert_rejected(s.acd, InvalidEvent, event, 12, match)


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, True])
def test_language_wait_setting_is_validated(value):
    with pytest.raises(InvalidEvent, match="language_wait_s"):
        AcdSettings(language_wait_s=value)
