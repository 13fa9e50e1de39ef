"""Volunteer life cycle in the ACD core: login, ready, pause, logout and illegal moves."""

from __future__ import annotations

import pytest

from acd import (
    AcdSettings,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReachability,
    AgentReady,
    ContactEnded,
    IllegalTransition,
    InvalidEvent,
    OfferAccepted,
    Outcome,
    UnknownAgent,
    WithdrawOffer,
    WrapUpEnded,
)
from tests.unit.acd_helpers import (
    BOTH,
    NL,
    A,
    Script,
    assert_rejected,
    changed,
    finished,
    offer,
)


def test_login_starts_paused_not_ready():
    s = Script(AcdSettings(max_chats=3))
    out = s.feed(AgentLoggedIn("a1", "utrecht", BOTH, NL), 5.0)
    assert out == [changed("a1", A.PAUSED, 5, "not_ready")]
    agent = s.acd.agent("a1")
    assert (agent.state, agent.reason, agent.location_id) == (A.PAUSED, "not_ready", "utrecht")
    assert agent.max_chats == 3  # from the settings when the login names none
    assert agent.skills == BOTH and agent.languages == NL


def test_login_max_chats_overrides_settings():
    s = Script(AcdSettings(max_chats=3))
    s.feed(AgentLoggedIn("a1", "loc1", BOTH, NL, max_chats=1), 0)
    assert s.acd.agent("a1").max_chats == 1


def test_login_then_ready_is_available():
    s = Script()
    s.feed(AgentLoggedIn("a1", "loc1", BOTH, NL), 1)
    assert s.feed(AgentReady("a1"), 2) == [changed("a1", A.AVAILABLE, 2)]
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE]
    assert s.acd.agent("a1").idle_since == 2.0


def test_ready_when_already_available_changes_nothing():
    s = Script()
    s.login("a1", 1)
    assert s.feed(AgentReady("a1"), 7) == []
    assert s.acd.agent("a1").idle_since == 1.0  # keeps their place in the idle order


def test_pause_with_reason_and_change_of_reason():
    s = Script()
    s.login("a1", 0)
    assert s.feed(AgentPaused("a1", "training"), 3) == [changed("a1", A.PAUSED, 3, "training")]
    assert s.feed(AgentPaused("a1", "break"), 4) == [changed("a1", A.PAUSED, 4, "break")]
    assert s.feed(AgentPaused("a1", "break"), 5) == []
    assert s.history["a1"] == [
        (A.PAUSED, "not_ready"),
        (A.AVAILABLE, ""),
        (A.PAUSED, "training"),
        (A.PAUSED, "break"),
    ]


def test_pause_default_reason_is_break():
    s = Script()
    s.login("a1", 0)
    assert s.feed(AgentPaused("a1"), 1) == [changed("a1", A.PAUSED, 1, "break")]


def test_paused_volunteer_gets_nothing_until_ready():
    s = Script()
    s.login("a1", 0, ready=False)
    assert s.arrive("c1", 1) == []
    assert s.acd.waiting_count() == 1
    assert s.feed(AgentReady("a1"), 2) == [
        changed("a1", A.AVAILABLE, 2),
        offer("c1", "a1"),
        changed("a1", A.OFFERED, 2),
    ]


@pytest.mark.parametrize("ready", [False, True])
def test_logout_from_paused_or_available(ready):
    s = Script()
    s.login("a1", 0, ready=ready)
    assert s.feed(AgentLoggedOut("a1"), 9) == [changed("a1", A.LOGGED_OUT, 9)]
    with pytest.raises(UnknownAgent):
        s.acd.agent("a1")
    assert list(s.acd.agents()) == []
    # A logged-out volunteer is never offered anything.
    assert s.arrive("c1", 10) == []


def test_login_again_after_logout_is_a_fresh_start():
    s = Script()
    s.login("a1", 0)
    s.feed(AgentLoggedOut("a1"), 1)
    assert s.login("a1", 2, location="home") == [
        changed("a1", A.PAUSED, 2, "not_ready"),
        changed("a1", A.AVAILABLE, 2),
    ]
    assert s.acd.agent("a1").location_id == "home"
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE, A.LOGGED_OUT, A.PAUSED, A.AVAILABLE]


def test_login_twice_is_illegal():
    s = Script()
    s.login("a1", 0)
    err = assert_rejected(s.acd, IllegalTransition, AgentLoggedIn("a1", "x", BOTH, NL), 0)
    assert err.trigger == "login" and err.state == "available"


def test_login_with_zero_max_chats_is_invalid():
    s = Script()
    with pytest.raises(InvalidEvent, match="max_chats"):
        s.feed(AgentLoggedIn("a1", "loc1", BOTH, NL, max_chats=0), 0)
    assert list(s.acd.agents()) == []


def test_ready_while_ringing_is_illegal_and_changes_nothing():
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 1)
    err = assert_rejected(s.acd, IllegalTransition, AgentReady("a1"), 1)
    assert (err.entity, err.state, err.trigger) == ("agent a1", "offered", "ready")


@pytest.mark.parametrize("ready", [False, True])
def test_wrap_up_ended_outside_wrap_up_is_illegal(ready):
    s = Script()
    s.login("a1", 0, ready=ready)
    assert_rejected(s.acd, IllegalTransition, WrapUpEnded("a1"), 0)


def test_wrap_up_ended_while_busy_is_illegal():
    s = Script()
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    assert_rejected(s.acd, IllegalTransition, WrapUpEnded("a1"), 2)


@pytest.mark.parametrize(
    "event",
    [
        AgentReady("ghost"),
        AgentPaused("ghost", "break"),
        AgentLoggedOut("ghost"),
        AgentReachability("ghost", True),
        WrapUpEnded("ghost"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_events_for_an_unknown_volunteer(event):
    s = Script()
    s.login("a1", 0)
    err = assert_rejected(s.acd, UnknownAgent, event, 0)
    assert err.agent_id == "ghost"


def test_logout_while_ringing_withdraws_and_reoffers():
    s = Script()
    s.login("a1", 0)
    s.login("a2", 1)
    s.arrive("c1", 2)
    assert s.feed(AgentLoggedOut("a1"), 3) == [
        WithdrawOffer("c1", "a1", "logged_out"),
        changed("a1", A.LOGGED_OUT, 3),
        offer("c1", "a2"),
        changed("a2", A.OFFERED, 3),
    ]
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE, A.OFFERED, A.LOGGED_OUT]


def test_logout_while_busy_takes_effect_after_wrap_up():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0, location="utrecht")
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    assert s.feed(AgentLoggedOut("a1"), 3) == []
    assert s.state("a1") is A.BUSY
    s.arrive("c2", 4)  # a volunteer on the way out is offered nothing more
    assert s.acd.waiting_count() == 1
    assert s.feed(ContactEnded("c1"), 10) == [
        finished("c1", Outcome.ANSWERED, 1, 10, answered=2, agent="a1", location="utrecht"),
        changed("a1", A.WRAP_UP, 10),
    ]
    assert s.acd.next_deadline() == 40.0
    assert s.timer() == [changed("a1", A.LOGGED_OUT, 40)]
    assert s.states("a1")[-3:] == [A.BUSY, A.WRAP_UP, A.LOGGED_OUT]
    assert list(s.acd.agents()) == []


def test_pause_while_busy_takes_effect_after_wrap_up():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    assert s.feed(AgentPaused("a1", "training"), 3) == []
    s.feed(ContactEnded("c1"), 10)
    s.arrive("c2", 11)
    assert s.timer() == [changed("a1", A.PAUSED, 40, "training")]
    assert s.acd.contact("c2").agent_id is None
    assert s.history["a1"][-3:] == [(A.BUSY, ""), (A.WRAP_UP, ""), (A.PAUSED, "training")]


def test_ready_while_busy_cancels_a_pending_pause():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    s.feed(AgentPaused("a1", "break"), 3)
    assert s.feed(AgentReady("a1"), 4) == []
    s.feed(ContactEnded("c1"), 10)
    assert s.timer() == [changed("a1", A.AVAILABLE, 40)]


def test_ready_while_busy_cancels_a_pending_logout():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    s.feed(AgentLoggedOut("a1"), 3)
    s.feed(AgentReady("a1"), 4)
    s.feed(ContactEnded("c1"), 10)
    assert s.timer() == [changed("a1", A.AVAILABLE, 40)]


def test_logout_during_wrap_up_is_immediate():
    s = Script(AcdSettings(wrap_up_s=30))
    s.login("a1", 0)
    s.arrive("c1", 1)
    s.feed(OfferAccepted("c1", "a1"), 2)
    s.feed(ContactEnded("c1"), 3)
    assert s.feed(AgentLoggedOut("a1"), 4) == [changed("a1", A.LOGGED_OUT, 4)]
    assert s.acd.next_deadline() is None  # the wrap-up timer died with the session


def test_reachability_changes_announce_nothing():
    s = Script()
    s.login("a1", 0)
    assert s.feed(AgentReachability("a1", False), 1) == []
    assert s.acd.agent("a1").phone_reachable is False
    assert s.feed(AgentReachability("a1", True), 2) == []
    assert s.acd.agent("a1").phone_reachable is True
    assert s.states("a1") == [A.PAUSED, A.AVAILABLE]
