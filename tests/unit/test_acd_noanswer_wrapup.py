"""Ring timeouts, no-answer auto-pause, abandons, stale races and wrap-up in the ACD core."""

from __future__ import annotations

import pytest

from acd import (
    AcdSettings,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    ConnectContact,
    ContactEnded,
    OfferAccepted,
    OfferContact,
    OfferFailed,
    OfferFailure,
    Outcome,
    OverflowContact,
    StaleOffer,
    WithdrawOffer,
    WrapUpEnded,
)
from tests.unit.acd_helpers import (
    CHAT,
    A,
    Script,
    assert_rejected,
    changed,
    finished,
    offer,
)


def two_volunteers(settings: AcdSettings | None = None) -> Script:
    s = Script(settings)
    s.login("a1", 0)
    s.login("a2", 1)
    return s


# ---------------------------------------------------------------- ring timeout


def test_ring_timeout_withdraws_and_offers_the_next_volunteer():
    s = two_volunteers()
    s.arrive("c1", 10)
    assert s.acd.next_deadline() == 30.0
    assert s.timer(29.9) == []
    assert s.timer() == [
        WithdrawOffer("c1", "a1", "timeout"),
        changed("a1", A.AVAILABLE, 30),
        offer("c1", "a2"),
        changed("a2", A.OFFERED, 30),
    ]
    assert s.acd.next_deadline() == 50.0
    assert s.acd.agent("a1").no_answer_streak == 1
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE, A.OFFERED, A.AVAILABLE]


def test_late_timer_call_fires_at_the_deadline_time_and_the_next_offer_rings_from_now():
    s = two_volunteers()
    s.arrive("c1", 10)
    out = s.timer(33.0)
    assert out[1] == changed("a1", A.AVAILABLE, 30)  # the ring-out happened at its deadline
    assert out[3] == changed("a2", A.OFFERED, 33)  # the new phone rings from when it is rung
    assert s.acd.contact("c1").offer_deadline == 53.0


def test_an_outage_of_several_ring_periods_makes_one_offer_not_a_chain():
    s = two_volunteers()
    s.arrive("c1", 10)  # rings for a1 until 30
    out = s.timer(100.0)  # the app was away for 70 s
    offers = [c for c in out if isinstance(c, OfferContact)]
    assert offers == [offer("c1", "a2")]
    assert s.acd.agent("a1").no_answer_streak == 1
    assert s.acd.agent("a2").no_answer_streak == 0
    assert s.acd.contact("c1").offer_deadline == 120.0


def test_the_volunteer_who_let_it_ring_goes_to_the_back():
    s = two_volunteers()
    s.login("a3", 2)
    s.arrive("c1", 10)
    s.timer()  # a1 rang out at 30; c1 now rings for a2
    assert s.arrive("c2", 31)[0] == offer("c2", "a3")
    s.feed(OfferAccepted("c1", "a2"), 32)
    s.feed(OfferAccepted("c2", "a3"), 32)
    assert s.arrive("c3", 33)[0] == offer("c3", "a1")


def test_auto_pause_after_max_no_answer_timeouts_in_a_row():
    s = Script(AcdSettings(max_no_answer=2))
    s.login("a1", 0)
    s.arrive("c1", 1)
    assert s.timer() == [
        WithdrawOffer("c1", "a1", "timeout"),
        changed("a1", A.AVAILABLE, 21),
        offer("c1", "a1"),
        changed("a1", A.OFFERED, 21),
    ]
    assert s.timer() == [
        WithdrawOffer("c1", "a1", "timeout"),
        changed("a1", A.AVAILABLE, 41),
        changed("a1", A.PAUSED, 41, "no_answer"),
    ]
    assert s.acd.queue_position("c1") == 1
    assert s.history["a1"][-5:] == [
        (A.OFFERED, ""),
        (A.AVAILABLE, ""),
        (A.OFFERED, ""),
        (A.AVAILABLE, ""),
        (A.PAUSED, "no_answer"),
    ]


@pytest.mark.parametrize(
    "reason", [OfferFailure.NO_ANSWER, OfferFailure.BUSY, OfferFailure.REJECTED]
)
def test_counted_failures_pause_and_requeue(reason):
    s = two_volunteers(AcdSettings(max_no_answer=1))
    s.arrive("c1", 5)
    assert s.feed(OfferFailed("c1", "a1", reason), 6) == [
        changed("a1", A.AVAILABLE, 6),
        changed("a1", A.PAUSED, 6, "no_answer"),
        offer("c1", "a2"),
        changed("a2", A.OFFERED, 6),
    ]
    assert s.acd.contact("c1").last_failure is reason


def test_unreachable_does_not_count_and_marks_the_phone_unreachable():
    s = two_volunteers(AcdSettings(max_no_answer=1))
    s.arrive("c1", 5)
    assert s.feed(OfferFailed("c1", "a1", OfferFailure.UNREACHABLE), 6) == [
        changed("a1", A.AVAILABLE, 6),
        offer("c1", "a2"),
        changed("a2", A.OFFERED, 6),
    ]
    a1 = s.acd.agent("a1")
    assert (a1.state, a1.no_answer_streak, a1.phone_reachable) == (A.AVAILABLE, 0, False)
    assert s.arrive("p2", 7) == []  # no calls for an unregistered phone
    assert s.arrive("ch1", 8, CHAT)[0] == offer("ch1", "a1", CHAT)  # chats still


def test_error_does_not_count():
    s = Script(AcdSettings(max_no_answer=1))
    s.login("a1", 0)
    s.arrive("c1", 5)
    assert s.feed(OfferFailed("c1", "a1", OfferFailure.ERROR), 6) == [
        changed("a1", A.AVAILABLE, 6),
        offer("c1", "a1"),
        changed("a1", A.OFFERED, 6),
    ]
    assert s.acd.agent("a1").no_answer_streak == 0
    assert s.acd.agent("a1").phone_reachable is True


def test_an_answer_resets_the_no_answer_streak():
    s = Script(AcdSettings(max_no_answer=2, wrap_up_s=0))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.timer()  # first miss at 21, re-offered
    s.feed(OfferAccepted("c1", "a1"), 22)
    assert s.acd.agent("a1").no_answer_streak == 0
    s.feed(ContactEnded("c1"), 30)
    s.arrive("c2", 31)
    assert s.timer() == [
        WithdrawOffer("c2", "a1", "timeout"),
        changed("a1", A.AVAILABLE, 51),
        offer("c2", "a1"),
        changed("a1", A.OFFERED, 51),
    ]


def test_ready_after_auto_pause_starts_a_new_streak():
    s = Script(AcdSettings(max_no_answer=1))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.timer()
    assert s.state("a1") is A.PAUSED
    assert s.feed(AgentReady("a1"), 50) == [
        changed("a1", A.AVAILABLE, 50),
        offer("c1", "a1"),
        changed("a1", A.OFFERED, 50),
    ]
    assert s.acd.agent("a1").no_answer_streak == 0


# ---------------------------------------------------------------- stale races


def test_answer_after_the_ring_timeout_is_stale():
    s = two_volunteers()
    s.arrive("c1", 10)
    s.timer()  # c1 now rings for a2
    err = assert_rejected(s.acd, StaleOffer, OfferAccepted("c1", "a1"), 30)
    assert (err.contact_id, err.agent_id) == ("c1", "a1")
    assert s.feed(OfferAccepted("c1", "a2"), 31) == [
        ConnectContact("c1", "a2"),
        changed("a2", A.BUSY, 31),
    ]


def test_answer_after_timeout_and_requeue_is_stale():
    s = Script(AcdSettings(max_no_answer=1))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.timer()  # a1 paused, c1 waits
    assert_rejected(s.acd, StaleOffer, OfferAccepted("c1", "a1"), 21)
    assert_rejected(s.acd, StaleOffer, OfferFailed("c1", "a1", OfferFailure.BUSY), 21)


def test_answer_by_someone_else_is_stale():
    s = two_volunteers()
    s.arrive("c1", 10)
    assert_rejected(s.acd, StaleOffer, OfferAccepted("c1", "a2"), 10)


def test_failure_after_answer_is_stale():
    s = two_volunteers()
    s.arrive("c1", 10)
    s.feed(OfferAccepted("c1", "a1"), 11)
    assert_rejected(s.acd, StaleOffer, OfferFailed("c1", "a1", OfferFailure.NO_ANSWER), 11)


def test_the_ring_timer_of_an_answered_offer_is_void():
    s = two_volunteers(AcdSettings(wrap_up_s=1000))
    s.arrive("c1", 10)
    s.feed(OfferAccepted("c1", "a1"), 11)
    assert s.acd.next_deadline() is None
    assert s.timer(100) == []


# ---------------------------------------------------------------- abandon and withdraw


def test_hang_up_while_ringing_keeps_the_volunteer_idle_order():
    s = two_volunteers()
    s.arrive("c1", 10)
    assert s.feed(ContactEnded("c1"), 12) == [
        WithdrawOffer("c1", "a1", "abandoned"),
        finished("c1", Outcome.ABANDONED, 10, 12),
        changed("a1", A.AVAILABLE, 12),
    ]
    assert s.acd.agent("a1").no_answer_streak == 0
    assert s.acd.next_deadline() is None  # no ring or max-wait left for a finished contact
    assert s.arrive("c2", 13)[0] == offer("c2", "a1")  # still the longest idle


def test_hang_up_while_queued():
    s = Script()
    s.arrive("c1", 10)
    s.arrive("c2", 11)
    assert s.feed(ContactEnded("c1"), 15) == [finished("c1", Outcome.ABANDONED, 10, 15)]
    assert s.acd.waiting_count() == 1
    assert s.acd.queue_position("c2") == 1


def test_pause_while_ringing_reoffers_in_the_original_queue_position():
    s = Script()
    s.login("a1", 0)
    s.login("a2", 1, ready=False)
    s.arrive("c1", 10)  # rings for a1
    s.arrive("c2", 11)  # waits
    assert s.feed(AgentPaused("a1", "toilet"), 12) == [
        WithdrawOffer("c1", "a1", "paused"),
        changed("a1", A.PAUSED, 12, "toilet"),
    ]
    assert [s.acd.queue_position(c) for c in ("c1", "c2")] == [1, 2]
    assert s.feed(AgentReady("a2"), 13) == [
        changed("a2", A.AVAILABLE, 13),
        offer("c1", "a2"),
        changed("a2", A.OFFERED, 13),
    ]


def test_pause_while_ringing_goes_straight_to_the_next_volunteer():
    s = two_volunteers()
    s.arrive("c1", 10)
    assert s.feed(AgentPaused("a1"), 11) == [
        WithdrawOffer("c1", "a1", "paused"),
        changed("a1", A.PAUSED, 11, "break"),
        offer("c1", "a2"),
        changed("a2", A.OFFERED, 11),
    ]
    assert s.acd.agent("a1").no_answer_streak == 0


def test_logout_while_ringing_counts_no_failure():
    s = two_volunteers()
    s.arrive("c1", 10)
    s.feed(AgentLoggedOut("a1"), 11)
    assert s.acd.contact("c1").last_failure is None


# ---------------------------------------------------------------- wrap-up


def answered_and_ended(s: Script, agent_id: str = "a1", t: float = 10) -> None:
    s.arrive("c1", t)
    s.feed(OfferAccepted("c1", agent_id), t + 1)
    s.feed(ContactEnded("c1"), t + 2)


def test_wrap_up_runs_out_on_the_timer():
    s = Script(AcdSettings(wrap_up_s=45))
    s.login("a1", 0)
    answered_and_ended(s)
    assert s.state("a1") is A.WRAP_UP
    assert s.acd.next_deadline() == 57.0
    assert s.timer(56) == []
    assert s.timer() == [changed("a1", A.AVAILABLE, 57)]
    assert s.acd.agent("a1").idle_since == 57.0


def test_no_offers_during_wrap_up_then_at_once_after():
    s = Script(AcdSettings(wrap_up_s=45))
    s.login("a1", 0)
    answered_and_ended(s)
    assert s.arrive("c2", 13) == []
    assert s.timer() == [
        changed("a1", A.AVAILABLE, 57),
        offer("c2", "a1"),
        changed("a1", A.OFFERED, 57),
    ]


def test_wrap_up_ended_early_and_its_timer_is_void():
    s = Script(AcdSettings(wrap_up_s=45))
    s.login("a1", 0)
    answered_and_ended(s)
    assert s.feed(WrapUpEnded("a1"), 20) == [changed("a1", A.AVAILABLE, 20)]
    assert s.acd.next_deadline() is None
    assert s.timer(57) == []


def test_ready_during_wrap_up_ends_it_early():
    s = Script(AcdSettings(wrap_up_s=45))
    s.login("a1", 0)
    answered_and_ended(s)
    s.arrive("c2", 13)
    assert s.feed(AgentReady("a1"), 14) == [
        changed("a1", A.AVAILABLE, 14),
        offer("c2", "a1"),
        changed("a1", A.OFFERED, 14),
    ]
    assert s.acd.next_deadline() == 34.0  # c2's ring, not the old wrap-up


def test_pause_during_wrap_up_is_immediate():
    s = Script(AcdSettings(wrap_up_s=45))
    s.login("a1", 0)
    answered_and_ended(s)
    assert s.feed(AgentPaused("a1", "debrief"), 14) == [changed("a1", A.PAUSED, 14, "debrief")]
    assert s.timer(100) == []
    assert s.state("a1") is A.PAUSED


def test_second_wrap_up_is_not_cut_short_by_the_first_timer():
    s = Script(AcdSettings(wrap_up_s=45))
    s.login("a1", 0)
    answered_and_ended(s)  # wrap-up until 57
    s.feed(WrapUpEnded("a1"), 20)
    s.arrive("c2", 30)
    s.feed(OfferAccepted("c2", "a1"), 31)
    s.feed(ContactEnded("c2"), 40)  # wrap-up until 85
    assert s.timer(57) == []
    assert s.state("a1") is A.WRAP_UP
    assert s.timer(85) == [changed("a1", A.AVAILABLE, 85)]


def test_zero_wrap_up_goes_straight_back_to_available():
    s = Script(AcdSettings(wrap_up_s=0))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    s.arrive("c2", 3)
    assert s.feed(ContactEnded("c1"), 4) == [
        finished("c1", Outcome.ANSWERED, 1, 4, answered=2, agent="a1", location="loc1"),
        changed("a1", A.WRAP_UP, 4),
        changed("a1", A.AVAILABLE, 4),
        offer("c2", "a1"),
        changed("a1", A.OFFERED, 4),
    ]
    assert s.acd.next_deadline() == 24.0  # only c2's ring; no wrap-up timer


def test_timer_fires_several_deadlines_in_order():
    s = Script(AcdSettings(max_wait_s=50, max_no_answer=1))
    s.login("a1", 0)
    s.arrive("c1", 1)  # rings for a1 until 21
    s.arrive("c2", 2)  # waits; overflows at 52
    assert s.timer(60) == [
        WithdrawOffer("c1", "a1", "timeout"),
        changed("a1", A.AVAILABLE, 21),
        changed("a1", A.PAUSED, 21, "no_answer"),
        OverflowContact("c1", "max_wait"),
        finished(
            "c1", Outcome.OVERFLOWED, 1, 51, reason="max_wait", last_failure=OfferFailure.NO_ANSWER
        ),
        OverflowContact("c2", "max_wait"),
        finished("c2", Outcome.OVERFLOWED, 2, 52, reason="max_wait"),
    ]


def test_requeued_contact_still_overflows_after_next_deadline_was_read():
    s = Script(AcdSettings(max_wait_s=900))
    s.arrive("c1", 0)
    s.login("a1", 890)  # rings until 910; max wait is 900
    # The adapter asks after every event; the max-wait deadline (900) may wake it while the
    # contact rings (nothing happens then), the ring timeout is 910.
    assert s.acd.next_deadline() in (900.0, 910.0)
    s.feed(AgentPaused("a1"), 895)  # withdrawn before max wait: requeued
    assert s.acd.next_deadline() == 900.0
    assert s.timer(900)[0] == OverflowContact("c1", "max_wait")


def test_pause_while_ringing_past_max_wait_overflows_the_contact():
    s = Script(AcdSettings(max_wait_s=30))
    s.arrive("p1", 0)
    s.login("a1", 25)
    s.login("a2", 26)  # free, yet p1 has waited too long to be offered again
    assert s.feed(AgentPaused("a1"), 31) == [
        WithdrawOffer("p1", "a1", "paused"),
        OverflowContact("p1", "max_wait"),
        finished("p1", Outcome.OVERFLOWED, 0, 31, reason="max_wait"),
        changed("a1", A.PAUSED, 31, "break"),
    ]
