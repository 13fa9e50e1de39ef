"""A contact whose volunteer is gone while the child is still there (``ContactReturned``).

It goes back to the front of the queue (ahead of every waiting contact, whatever their
priority), its maximum wait restarts, it stays answered, and the volunteer leaves it as after
``ContactEnded``.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from acd import (
    AcdSettings,
    AgentPaused,
    AgentReady,
    ConnectContact,
    ContactEnded,
    ContactFinished,
    ContactReturned,
    ContactState,
    InvalidEvent,
    NotConnected,
    OfferAccepted,
    OfferFailed,
    OfferFailure,
    Outcome,
    OverflowContact,
    UnknownContact,
    WithdrawOffer,
    WrapUpEnded,
)
from acd.states import CONTACT_TRANSITIONS, ContactTrigger
from storage.record_queue import record_of
from storage.records import validate_record
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

SETTINGS = AcdSettings(ring_timeout_s=20, wrap_up_s=30, max_wait_s=100, language_wait_s=30)


def talking(settings: AcdSettings = SETTINGS) -> Script:
    """a1 talks with p1 (arrived at 1, answered at 2); a2 is logged in but paused."""
    s = Script(settings)
    s.login("a1", 0)
    s.login("a2", 0, ready=False)
    s.arrive("p1", 1)
    s.feed(OfferAccepted("p1", "a1"), 2)
    return s


def test_the_table_returns_a_connected_contact_to_the_queue():
    assert CONTACT_TRANSITIONS[ContactState.CONNECTED][ContactTrigger.RETURN] is (
        ContactState.QUEUED
    )
    for state in ContactState:
        if state is not ContactState.CONNECTED:
            assert ContactTrigger.RETURN not in CONTACT_TRANSITIONS[state]


def test_a_returned_contact_goes_ahead_of_every_waiting_contact_whatever_their_priority():
    s = talking()
    s.arrive("p2", 3, priority=2)
    s.arrive("p3", 4)
    s.arrive("ch1", 5, CHAT, priority=9)
    s.forget()
    assert s.feed(ContactReturned("p1", "a1"), 10) == [changed("a1", A.WRAP_UP, 10)]
    p1 = s.acd.contact("p1")
    assert (p1.state, p1.agent_id, p1.answered_at, p1.returned_at) == (
        ContactState.QUEUED,
        None,
        2.0,
        10.0,
    )
    assert [s.acd.queue_position(c) for c in ("p1", "p2", "p3")] == [1, 2, 3]
    assert s.acd.waiting_count(PHONE) == 3
    # a2 could take the phones and the chat: the returned child comes first, even before a
    # chat of higher priority (it already waited and was mid-conversation).
    assert s.feed(AgentReady("a2"), 11) == [
        changed("a2", A.AVAILABLE, 11),
        offer("p1", "a2"),
        changed("a2", A.OFFERED, 11),
    ]
    assert s.feed(OfferAccepted("p1", "a2"), 12) == [
        ConnectContact("p1", "a2"),
        changed("a2", A.BUSY, 12),
    ]
    # The first answer is kept; the record names the volunteer who answered it last.
    assert s.feed(ContactEnded("p1"), 50) == [
        finished("p1", Outcome.ANSWERED, 1, 50, answered=2, agent="a2", location="loc1"),
        changed("a2", A.WRAP_UP, 50),
    ]


def test_the_earliest_returned_is_offered_first():
    s = Script(SETTINGS)
    for agent in ("a1", "a2", "a3"):
        s.login(agent, 0)
    for i, agent in enumerate(("a1", "a2", "a3"), start=1):
        s.arrive(f"p{i}", i)
        s.feed(OfferAccepted(f"p{i}", agent), i)
    s.arrive("p9", 4, priority=5)
    s.feed(ContactReturned("p3", "a3"), 10)
    s.feed(ContactReturned("p1", "a1"), 11)
    assert [s.acd.queue_position(c) for c in ("p3", "p1", "p9")] == [1, 2, 3]
    s.forget()
    s.feed(ContactEnded("p2"), 12)  # a2 wraps up until 42
    assert s.feed(WrapUpEnded("a2"), 13)[1:] == [offer("p3", "a2"), changed("a2", A.OFFERED, 13)]


def test_after_a_failed_offer_it_goes_back_to_the_front_not_behind_the_others():
    s = talking()
    s.arrive("p2", 3, priority=2)
    s.feed(ContactReturned("p1", "a1"), 10)
    s.feed(AgentReady("a2"), 11)  # p1 rings at a2
    s.forget()
    assert s.feed(OfferFailed("p1", "a2", OfferFailure.REJECTED), 12) == [
        changed("a2", A.AVAILABLE, 12),
        offer("p1", "a2"),  # the only free volunteer, and p1 is still first
        changed("a2", A.OFFERED, 12),
    ]


def test_the_maximum_wait_restarts_from_the_return():
    s = talking()
    s.forget()
    # Arrived at 1 with a maximum wait of 100: returned at 150, it must not overflow at once.
    assert s.feed(ContactReturned("p1", "a1"), 150) == [changed("a1", A.WRAP_UP, 150)]
    assert s.acd.contact("p1").state is ContactState.QUEUED
    assert s.acd.next_deadline() == 180.0  # a1's wrap-up
    s.feed(AgentPaused("a1"), 151)
    assert s.acd.next_deadline() == 250.0
    assert s.timer(249.9) == []
    assert s.timer() == [
        OverflowContact("p1", "max_wait"),
        # Answered once, answered: no overflow reason (storage refuses one on an answered
        # record); the IVR got OverflowContact.
        finished(
            "p1",
            Outcome.ANSWERED,
            1,
            250,
            answered=2,
            agent="a1",
            location="loc1",
        ),
    ]


def test_the_deadline_from_arrival_no_longer_counts_after_a_return():
    s = talking()
    s.feed(ContactReturned("p1", "a1"), 50)  # the arrival's deadline (101) is still pending
    s.feed(AgentPaused("a1"), 51)
    assert s.acd.next_deadline() == 150.0
    assert s.timer(149.0) == []
    assert s.acd.contact("p1").state is ContactState.QUEUED


@given(
    answered=st.floats(0, 19),
    talk=st.floats(0, 400),
    peek=st.booleans(),
    again=st.booleans(),
)
def test_a_returned_contact_overflows_exactly_its_maximum_wait_after_its_last_return(
    answered, talk, peek, again
):
    s = Script(SETTINGS)
    s.login("a1", 0)
    s.arrive("p1", 0)
    s.feed(OfferAccepted("p1", "a1"), answered)
    if peek:  # the adapter asks for the next deadline while the call is connected
        s.acd.next_deadline()
    returned = answered + talk
    s.feed(ContactReturned("p1", "a1"), returned)
    if again:  # answered again at once, and gone again a little later
        s.feed(WrapUpEnded("a1"), returned)
        s.feed(OfferAccepted("p1", "a1"), returned)
        returned += 1.5
        s.feed(ContactReturned("p1", "a1"), returned)
    s.feed(AgentPaused("a1"), returned)  # nobody left to take it
    s.forget()
    while s.acd.holds("p1"):
        s.timer()
    assert s.log == [
        OverflowContact("p1", "max_wait"),
        finished(
            "p1",
            Outcome.ANSWERED,
            0,
            returned + SETTINGS.max_wait_s,
            answered=answered,
            agent="a1",
            location="loc1",
        ),
    ]


def test_a_ring_out_after_the_restarted_wait_ends_overflows():
    s = talking()
    s.feed(ContactReturned("p1", "a1"), 50)
    s.feed(AgentPaused("a1"), 51)
    s.feed(AgentReady("a2"), 140)  # rings until 160, past the restarted wait (150)
    s.forget()
    out = s.feed(OfferFailed("p1", "a2", OfferFailure.NO_ANSWER), 155)
    assert out[-2:] == [
        OverflowContact("p1", "max_wait"),
        finished(
            "p1",
            Outcome.ANSWERED,
            1,
            155,
            answered=2,
            agent="a1",
            location="loc1",
            last_failure=OfferFailure.NO_ANSWER,
        ),
    ]


def test_a_returned_child_who_hangs_up_while_waiting_again_was_answered():
    s = talking()
    s.feed(ContactReturned("p1", "a1"), 10)
    s.forget()
    assert s.feed(ContactEnded("p1"), 20) == [
        finished("p1", Outcome.ANSWERED, 1, 20, answered=2, agent="a1", location="loc1")
    ]
    assert s.acd.waiting_count() == 0


def test_hanging_up_while_ringing_the_next_volunteer_is_answered_too():
    s = talking()
    s.feed(ContactReturned("p1", "a1"), 10)
    s.feed(AgentReady("a2"), 11)
    s.forget()
    assert s.feed(ContactEnded("p1"), 12) == [
        WithdrawOffer("p1", "a2", "abandoned"),
        finished("p1", Outcome.ANSWERED, 1, 12, answered=2, agent="a1", location="loc1"),
        changed("a2", A.AVAILABLE, 12),
    ]


def test_the_volunteer_applies_a_pending_pause_after_the_wrap_up():
    s = talking()
    s.feed(AgentPaused("a1", "training"), 5)  # remembered while busy
    s.forget()
    assert s.feed(ContactReturned("p1", "a1"), 10) == [changed("a1", A.WRAP_UP, 10)]
    assert s.timer() == [changed("a1", A.PAUSED, 40, "training")]


def test_without_wrap_up_the_volunteer_is_free_at_once_but_last_in_line():
    s = Script(AcdSettings(wrap_up_s=0))
    s.login("a1", 0)
    s.login("a2", 1)
    s.arrive("p1", 2)  # to a1, the longest idle
    s.feed(OfferAccepted("p1", "a1"), 3)
    s.feed(AgentPaused("a2"), 4)
    s.feed(AgentReady("a2"), 5)
    s.forget()
    out = s.feed(ContactReturned("p1", "a1"), 10)
    assert out == [
        changed("a1", A.WRAP_UP, 10),
        changed("a1", A.AVAILABLE, 10),
        offer("p1", "a2"),
        changed("a2", A.OFFERED, 10),
    ]


def test_requirements_whose_wait_passed_while_connected_are_dropped_on_return():
    s = Script(SETTINGS)
    s.login("en1", 0, languages=frozenset({"en"}))
    s.login("nl1", 0, languages=frozenset({"nl"}), ready=False)
    s.arrive("p1", 1, language="en")  # prefers English for 30 s: until 31
    s.feed(OfferAccepted("p1", "en1"), 2)
    s.feed(ContactReturned("p1", "en1"), 50)
    assert s.acd.contact("p1").relaxed == {"language"}
    s.forget()
    assert s.feed(AgentReady("nl1"), 51)[1:] == [offer("p1", "nl1"), changed("nl1", A.OFFERED, 51)]


def test_a_preference_still_running_is_kept_and_relaxes_on_time():
    t = Script(SETTINGS)
    t.login("en1", 0, languages=frozenset({"en"}))
    t.login("nl1", 0, languages=frozenset({"nl"}), ready=False)
    t.arrive("p1", 1, language="en")
    t.feed(OfferAccepted("p1", "en1"), 2)
    t.feed(ContactReturned("p1", "en1"), 10)
    # en1 is in wrap-up (about to be free): the preference holds until 31, as from arrival.
    assert t.acd.contact("p1").relaxed == frozenset()
    t.feed(AgentReady("nl1"), 11)
    assert t.acd.contact("p1").state is ContactState.QUEUED
    t.forget()
    assert t.timer() == [offer("p1", "nl1"), changed("nl1", A.OFFERED, 31)]


def test_an_en_speaker_leaving_drops_the_returned_contacts_preference():
    s = Script(SETTINGS)
    s.login("en1", 0, languages=frozenset({"en"}))
    s.login("nl1", 0, languages=frozenset({"nl"}), ready=False)
    s.arrive("p1", 1, language="en")
    s.feed(OfferAccepted("p1", "en1"), 2)
    s.feed(AgentPaused("en1"), 3)  # pending: applies after the wrap-up, so not a prospect
    s.feed(AgentReady("nl1"), 4)
    s.forget()
    assert s.feed(ContactReturned("p1", "en1"), 10) == [
        changed("en1", A.WRAP_UP, 10),
        offer("p1", "nl1"),
        changed("nl1", A.OFFERED, 10),
    ]


# ---------------------------------------------------------------- refusals


def test_a_return_of_a_contact_not_connected_to_that_volunteer_is_refused():
    s = talking()
    s.login("a3", 2)
    s.arrive("p4", 3)
    s.feed(OfferAccepted("p4", "a3"), 3)
    s.feed(ContactReturned("p4", "a3"), 4)
    for event in (
        ContactReturned("p4", "a3"),  # reported twice: it waits again
        ContactReturned("p1", "a2"),  # connected, to someone else
        ContactReturned("p1", "nobody"),
    ):
        error = assert_rejected(s.acd, NotConnected, event, 5, match="not connected")
        assert isinstance(error, NotConnected)
        assert (error.contact_id, error.agent_id) == (event.contact_id, event.agent_id)
    s.feed(AgentReady("a2"), 6)  # p4 rings at a2
    assert_rejected(s.acd, NotConnected, ContactReturned("p4", "a2"), 7)
    s.feed(ContactEnded("p1"), 8)
    assert_rejected(s.acd, UnknownContact, ContactReturned("p1", "a1"), 9)


def test_only_a_phone_contact_returns():
    s = Script(SETTINGS)
    s.login("a1", 0)
    s.arrive("ch1", 1, CHAT)
    s.feed(OfferAccepted("ch1", "a1"), 2)
    assert_rejected(s.acd, InvalidEvent, ContactReturned("ch1", "a1"), 3, match="phone")


def test_the_record_of_a_returned_contact_that_overflowed_is_one_storage_takes():
    s = talking()
    s.feed(ContactReturned("p1", "a1"), 10)
    s.feed(AgentPaused("a1"), 11)
    s.forget()
    s.timer()  # overflows at 110
    done = s.log[-1]
    assert isinstance(done, ContactFinished)
    record = record_of(
        dataclasses.replace(done, contact_id="00000000-0000-0000-0000-000000000001"), "l1", "nl"
    )
    validate_record(record)
    assert (record.outcome, record.volunteer_id, record.overflow_reason) == ("answered", "a1", None)
    assert (record.wait_s, record.talk_s) == (1.0, 108.0)  # talk counts from the first answer
