"""The session's transition table, row by row: on its own and as the machine walks it.

Every legal (state, trigger) pair is driven through a real ``ContactSession`` with the event
that causes it, and must land where the table says; the ACD's words (offer, connect,
overflow, finished) in a state that has no row for them raise ``IllegalSessionTransition``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acd import Outcome
from session import events as e
from session.errors import IllegalSessionTransition, SessionError
from session.ids import LegRole
from session.machine import Leg
from session.states import (
    SESSION_TRANSITIONS,
    LegState,
    SessionState,
    SessionTrigger,
    next_session_state,
)
from tests.unit.session_helpers import CALLER, SessionScript, done, pb, vol
from tests.unit.transfer_helpers import partner, request, step

S, T = SessionState, SessionTrigger

LEGAL = [(s, t) for s, row in SESSION_TRANSITIONS.items() for t in row]
ILLEGAL = [(s, t) for s in S for t in T if t not in SESSION_TRANSITIONS[s]]


def test_every_state_has_a_row_and_only_ended_is_terminal():
    assert set(SESSION_TRANSITIONS) == set(S)
    assert [s for s, row in SESSION_TRANSITIONS.items() if not row] == [S.ENDED]


@pytest.mark.parametrize(("state", "trigger"), LEGAL)
def test_a_legal_trigger_gives_the_tables_state(state, trigger):
    assert next_session_state("c", state, trigger) is SESSION_TRANSITIONS[state][trigger]


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL)
def test_an_illegal_trigger_raises_the_named_error(state, trigger):
    with pytest.raises(IllegalSessionTransition) as info:
        next_session_state("c-1", state, trigger)
    assert isinstance(info.value, SessionError)
    assert (info.value.state, info.value.trigger) == (state.value, trigger.value)
    assert "c-1" in str(info.value)


def test_every_state_can_reach_ended():
    reach = {S.ENDED}
    for _ in S:
        reach |= {s for s, row in SESSION_TRANSITIONS.items() if set(row.values()) & reach}
    assert reach == set(S)


# -- the machine walks the table ---------------------------------------------------------------


def _in_state(state: SessionState) -> SessionScript:
    """A fresh session brought to ``state`` by ordinary events."""
    if state is S.IVR:
        s = SessionScript(welcome=True)
        s.begin()  # the welcome plays (playback 1)
    elif state is S.QUEUED:
        s = SessionScript().queued()
    elif state is S.RINGING:
        s = SessionScript().ringing(1)
    elif state is S.TALKING:
        s = SessionScript().talking(1)
    elif state is S.OVERFLOW:
        s = SessionScript().queued()
        s.feed(e.AcdOverflow("max_wait"))  # the overflow message is playback 1
    elif state is S.ENDING:
        s = SessionScript().talking(1)
        s.feed(e.LegGone(CALLER))
    elif state is S.HANDED_OVER:
        s = SessionScript().talking(1)
        s.feed(request(), 5.0)
        s.feed(e.LegAnswered(partner()), 6.0)
        s.feed(e.LegGone(vol(1)), 7.0)  # the volunteer drops once the partner answered
    else:
        s = SessionScript().queued()
        s.feed(e.AcdFinished(done(Outcome.ABANDONED)))
    assert s.state is state
    return s


def _closed_line_in_ivr() -> SessionScript:
    s = SessionScript()
    s.begin(open=False)
    return s


def _cause(trigger: SessionTrigger, state: SessionState) -> Callable[[SessionScript], None]:
    """The event(s) that make a session in ``state`` see ``trigger``."""
    if trigger is T.ENQUEUE:
        return lambda s: s.feed(e.PromptDone(pb(1)))  # the welcome ends: queue
    if trigger is T.OFFER:
        return lambda s: s.feed(e.AcdOffer("v2", 2, 4.0))
    if trigger is T.OFFER_VOID:
        return lambda s: s.feed(e.AcdWithdraw("v1"))
    if trigger is T.CONNECT:

        def connect(s: SessionScript) -> None:
            if vol(1) not in s.session.legs:  # a leg must exist, or it is another error
                s.session.add_recovered_leg(Leg(vol(1), LegRole.VOLUNTEER, LegState.DIALING, "v1"))
            s.feed(e.LegAnswered(vol(1)))
            s.feed(e.AcdConnect("v1"))

        return connect
    if trigger is T.OVERFLOW:
        return lambda s: s.feed(e.AcdOverflow("queue_full"))
    if trigger is T.CALLER_GONE:
        return lambda s: s.feed(e.LegGone(CALLER, 16))
    if trigger is T.LAST_PARTY_GONE and state is S.HANDED_OVER:
        return lambda s: s.feed(e.LegGone(partner(), 16))
    if trigger is T.LAST_PARTY_GONE:
        return lambda s: s.feed(e.LegGone(vol(1), 16))
    if trigger is T.HAND_OVER:

        def hand_over(s: SessionScript) -> None:
            s.feed(request(), 5.0)
            s.feed(e.LegAnswered(partner()), 6.0)
            s.feed(step("conference"), 7.0)
            s.feed(step("leave"), 8.0)

        return hand_over
    if trigger is T.RETURN:

        def back_to_queue(s: SessionScript) -> None:
            s.feed(request(), 5.0)
            s.feed(e.LegGone(vol(1)), 6.0)  # before the partner answered

        return back_to_queue
    if trigger is T.FINISHED:
        return lambda s: s.feed(e.AcdFinished(done()))
    assert trigger is T.IVR_DONE
    return lambda s: s.feed(e.PromptDone(pb(1)))  # the closed or overflow message ends


@pytest.mark.parametrize(("state", "trigger"), LEGAL)
def test_the_machine_follows_every_row_of_the_table(state, trigger):
    if (state, trigger) == (S.ENDING, T.LAST_PARTY_GONE):
        # Once ending, a further party leaving changes nothing and is not even looked at.
        s = _in_state(state)
        assert s.feed(e.LegGone(vol(1), 16)) == []
        assert s.state is S.ENDING
        return
    s = _closed_line_in_ivr() if (state, trigger) == (S.IVR, T.IVR_DONE) else _in_state(state)
    before = list(s.history)
    _cause(trigger, state)(s)
    target = SESSION_TRANSITIONS[state][trigger]
    assert s.state is target
    assert s.history == before + ([target] if target is not state else [])


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(s, t) for s, t in ILLEGAL if t in (T.OFFER, T.CONNECT, T.OVERFLOW, T.FINISHED)],
)
def test_the_acds_word_in_a_state_without_a_row_for_it_raises(state, trigger):
    if state is S.ENDED:
        s = _in_state(state)
        said = len(s.log)
        _cause(trigger, state)(s)  # late news about a finished contact: nothing at all
        assert s.state is S.ENDED and len(s.log) == said
        return
    s = _in_state(state)
    with pytest.raises(IllegalSessionTransition) as info:
        _cause(trigger, state)(s)
    assert (info.value.state, info.value.trigger) == (state.value, trigger.value)
    assert s.state is state
