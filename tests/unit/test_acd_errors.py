"""The ACD core's error tree, settings validation, malformed input and the clock."""

from __future__ import annotations

import pytest

from acd import (
    Acd,
    AcdError,
    AcdSettings,
    AgentPaused,
    AgentReady,
    ContactArrived,
    ContactEnded,
    DuplicateContact,
    IllegalTransition,
    InvalidEvent,
    NotConnected,
    OfferAccepted,
    OfferFailed,
    OfferFailure,
    StaleOffer,
    UnknownAgent,
    UnknownContact,
    UnknownStrategy,
)
from tests.unit.acd_helpers import CHAT, PHONE, A, Script, assert_rejected, changed


@pytest.mark.parametrize(
    "error",
    [
        InvalidEvent,
        UnknownAgent,
        UnknownContact,
        DuplicateContact,
        IllegalTransition,
        StaleOffer,
        NotConnected,
        UnknownStrategy,
    ],
)
def test_every_error_is_an_acd_error(error):
    assert issubclass(error, AcdError)


def test_error_messages_name_the_ids():
    assert "'a9'" in str(UnknownAgent("a9"))
    assert "'c9'" in str(UnknownContact("c9"))
    assert "'c9'" in str(DuplicateContact("c9"))
    assert str(NotConnected("c9", "a9")) == "contact 'c9' is not connected to 'a9'"
    assert str(IllegalTransition("agent a1", "busy", "login")) == (
        "agent a1: login is not allowed in state busy"
    )


# ---------------------------------------------------------------- settings


def test_default_settings():
    s = AcdSettings()
    assert (s.ring_timeout_s, s.wrap_up_s, s.max_no_answer) == (20.0, 60.0, 2)
    assert (s.max_wait_s, s.max_queue_length, s.max_chats) == (900.0, 200, 2)
    assert AcdSettings(wrap_up_s=0).wrap_up_s == 0  # no wrap-up is allowed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ring_timeout_s", 0),
        ("ring_timeout_s", -5),
        ("wrap_up_s", -1),
        ("max_no_answer", 0),
        ("max_wait_s", 0),
        ("max_queue_length", 0),
        ("max_chats", 0),
    ],
)
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(InvalidEvent, match=field):
        AcdSettings(**{field: value})


@pytest.mark.parametrize("field", ["ring_timeout_s", "wrap_up_s", "max_wait_s"])
def test_nan_settings_are_refused(field):
    with pytest.raises(InvalidEvent, match=field):
        AcdSettings(**{field: float("nan")})


def test_wrongly_typed_setting_is_invalid_not_type_error():
    with pytest.raises(InvalidEvent, match="max_chats"):
        AcdSettings(max_chats="2")  # type: ignore[arg-type]


# ---------------------------------------------------------------- malformed events


def test_unknown_event_type_is_invalid():
    s = Script()
    assert_rejected(s.acd, InvalidEvent, "AgentReady", 0, match="not an ACD event")  # type: ignore[arg-type]


def test_channel_must_be_the_enum():
    s = Script()
    assert_rejected(s.acd, InvalidEvent, ContactArrived("c1", "phone"), 0, match="channel")  # type: ignore[arg-type]


@pytest.mark.parametrize("priority", [True, 1.5, "1"])
def test_priority_must_be_an_integer(priority):
    s = Script()
    assert_rejected(s.acd, InvalidEvent, ContactArrived("c1", PHONE, priority=priority), 0)


def test_offer_failure_reason_must_be_the_enum():
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 1)
    assert_rejected(s.acd, InvalidEvent, OfferFailed("c1", "a1", "busy"), 1, match="failure")  # type: ignore[arg-type]


# ---------------------------------------------------------------- unknown ids and duplicates


def test_duplicate_contact_changes_nothing():
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 1)  # ringing
    s.arrive("c2", 2)  # waiting
    for cid in ("c1", "c2"):
        err = assert_rejected(s.acd, DuplicateContact, ContactArrived(cid, CHAT), 2)
        assert err.contact_id == cid


def test_contact_id_may_be_reused_after_it_finished():
    s = Script()
    s.arrive("c1", 1)
    s.feed(ContactEnded("c1"), 2)
    assert s.arrive("c1", 3) == []
    assert s.acd.contact("c1").arrived_at == 3.0


@pytest.mark.parametrize(
    "event",
    [
        ContactEnded("nope"),
        OfferAccepted("nope", "a1"),
        OfferFailed("nope", "a1", OfferFailure.BUSY),
    ],
    ids=lambda e: type(e).__name__,
)
def test_events_for_an_unknown_contact(event):
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 1)
    err = assert_rejected(s.acd, UnknownContact, event, 1)
    assert err.contact_id == "nope"


def test_contact_ended_twice():
    s = Script()
    s.arrive("c1", 1)
    s.feed(ContactEnded("c1"), 2)
    assert_rejected(s.acd, UnknownContact, ContactEnded("c1"), 2)


def test_offer_answered_by_an_unknown_volunteer():
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 1)
    err = assert_rejected(s.acd, UnknownAgent, OfferAccepted("c1", "ghost"), 1)
    assert err.agent_id == "ghost"


def test_offer_answered_for_a_queued_contact_is_stale():
    s = Script()
    s.login("a1", 0, ready=False)
    s.arrive("c1", 1)
    assert_rejected(s.acd, StaleOffer, OfferAccepted("c1", "a1"), 1)


def test_read_views_raise_unknown():
    acd = Acd()
    with pytest.raises(UnknownAgent):
        acd.agent("a1")
    with pytest.raises(UnknownContact):
        acd.contact("c1")
    with pytest.raises(UnknownContact):
        acd.queue_position("c1")


# ---------------------------------------------------------------- the clock


def test_time_never_runs_backwards():
    s = Script()
    s.login("a1", 100)
    assert s.feed(AgentPaused("a1"), 90) == [changed("a1", A.PAUSED, 100, "break")]
    assert s.arrive("c1", 95) == []
    assert s.acd.contact("c1").arrived_at == 100.0


def test_timer_with_an_earlier_time_fires_nothing():
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 100)  # rings until 120
    assert s.timer(50) == []
    assert s.acd.next_deadline() == 120.0
    assert s.timer(120)[0].reason == "timeout"


def test_clock_steps_back_after_a_timer_then_continues():
    s = Script(AcdSettings(wrap_up_s=10))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    s.feed(ContactEnded("c1"), 3)
    s.timer(20)  # wrap-up ended at 13; the clock is now 20
    assert s.arrive("c2", 15)[1] == changed("a1", A.OFFERED, 20)


@pytest.mark.parametrize("now", [float("nan"), "10", None])
def test_now_must_be_a_number(now):
    s = Script()
    s.login("a1", 0)
    assert_rejected(s.acd, InvalidEvent, AgentReady("a1"), now, match="now")


def test_timer_now_must_be_a_number():
    with pytest.raises(InvalidEvent, match="now"):
        Acd().handle_timer(float("nan"))


def test_a_rejected_event_does_not_move_the_clock():
    s = Script()
    s.login("a1", 10)
    with pytest.raises(UnknownAgent):
        s.acd.handle(AgentReady("ghost"), 1_000_000)
    assert s.feed(AgentPaused("a1"), 11) == [changed("a1", A.PAUSED, 11, "break")]
