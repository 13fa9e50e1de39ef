"""Coaching, scripted: a supervisor listens, whispers, barges, switches, stops, hangs up; the
volunteer leaves; the call ends. Each step's whole list of commands and the recorded states."""

from __future__ import annotations

import pytest

import acd
from session import commands as c
from session import events as e
from session.coaching_states import (
    COACHING_CALLER_ID,
    COACHING_TRANSITIONS,
    CoachingState,
    CoachingTrigger,
    CoachMode,
    next_coaching_state,
)
from session.errors import CoachingRefused
from session.ids import LegRole, coach_bridge_id, contact_of_coaching, leg_id, snoop_id
from session.states import SessionState
from tests.unit.session_helpers import CALLER, CID, TALK, SessionScript, done, vol

SUP = "sara"
SUP_LEG = leg_id(LegRole.SUPERVISOR, CID, 1)
COACH = coach_bridge_id(CID)
CS = CoachingState


def spy(n: int) -> str:
    return snoop_id(CID, n)


def ask(mode: CoachMode = CoachMode.LISTEN, supervisor: str = SUP) -> e.CoachingRequested:
    return e.CoachingRequested(supervisor, "v1", mode)


def dial_supervisor(n: int = 1) -> c.Originate:
    leg = leg_id(LegRole.SUPERVISOR, CID, n)
    # Not the line's caller id (SHOWN) a child's call has: the workspace answers only this itself.
    return c.Originate(CID, leg, LegRole.SUPERVISOR, f"PJSIP/{SUP}", 30, CALLER, COACHING_CALLER_ID)


def snoop(n: int, whisper: str = "none") -> c.Snoop:
    return c.Snoop(CID, spy(n), vol(1), "both", whisper)


def effects(out: list[c.Command]) -> list[c.Command]:
    return [x for x in out if not isinstance(x, c.CoachingChanged) and not marks([x])]


def marks(out: list[c.Command]) -> list[tuple[str, str]]:
    """What the core hears of the supervisor's coaching: no offers to her meanwhile."""
    said = {acd.CoachingStarted: "started", acd.CoachingEnded: "ended"}
    return [
        (said[type(x.event)], x.event.agent_id)
        for x in out
        if isinstance(x, c.ToAcd) and type(x.event) in said
    ]


def views(out: list[c.Command]) -> list[tuple[str, str, str]]:
    return [
        (x.view.state, x.view.mode, x.view.reason) for x in out if isinstance(x, c.CoachingChanged)
    ]


def coached(mode: CoachMode = CoachMode.LISTEN) -> SessionScript:
    """A call with the supervisor's phone answered in ``mode`` (and its snoop up)."""
    s = SessionScript().talking()
    s.feed(ask(mode))
    s.feed(e.LegAnswered(SUP_LEG))
    if mode is not CoachMode.BARGE:
        s.feed(e.LegAnswered(spy(1)))
    return s


# ------------------------------------------------------------------ the table


def test_the_table_refuses_what_is_not_in_it():
    assert next_coaching_state(CS.RINGING, CoachingTrigger.SUPERVISOR_ANSWERED) is CS.ACTIVE
    assert COACHING_TRANSITIONS[CS.ENDED] == {}
    with pytest.raises(CoachingRefused) as refused:
        next_coaching_state(CS.ACTIVE, CoachingTrigger.SUPERVISOR_ANSWERED)
    assert refused.value.code == "not_allowed"
    for trigger in CoachingTrigger:
        with pytest.raises(CoachingRefused):
            next_coaching_state(CS.ENDED, trigger)


def test_ids_name_the_contact_and_nothing_else():
    assert spy(3) == f"spy-{CID}-3" and contact_of_coaching(spy(3)) == CID
    assert contact_of_coaching(COACH) == CID
    assert contact_of_coaching(f"talk-{CID}") is None and contact_of_coaching(vol(1)) is None


# ------------------------------------------------------------------ listen, whisper, barge


def test_listen_rings_the_supervisor_then_snoops_both_ways_into_the_coach_bridge():
    s = SessionScript().talking()
    out = s.feed(ask())
    assert effects(out) == [dial_supervisor()]
    assert views(out) == [("ringing", "listen", "")]
    # From the moment her phone rings for it, the core offers her nothing.
    assert marks(out) == [("started", SUP)]
    out = s.feed(e.LegAnswered(SUP_LEG))
    assert marks(out) == []
    assert effects(out) == [
        c.CreateBridge(CID, COACH, "mixing"),
        c.AddToBridge(CID, COACH, (SUP_LEG,)),
        snoop(1, "none"),
    ]
    assert views(out) == [("active", "listen", "")]
    assert s.feed(e.LegAnswered(spy(1))) == [c.AddToBridge(CID, COACH, (spy(1),))]
    # The supervisor is not a party of the conversation: not among the session's legs.
    assert set(s.session.legs) == {vol(1)}
    assert s.state is SessionState.TALKING


def test_whisper_goes_out_to_the_volunteers_phone_only():
    s = coached(CoachMode.WHISPER)
    assert snoop(1, "out") in s.log
    assert not [x for x in s.log if isinstance(x, c.AddToBridge) and SUP_LEG in x.channel_ids
                and x.bridge_id == TALK]  # fmt: skip


def test_barge_puts_the_supervisor_in_the_talk_bridge_without_a_snoop():
    s = SessionScript().talking()
    s.feed(ask(CoachMode.BARGE))
    out = s.feed(e.LegAnswered(SUP_LEG))
    assert effects(out) == [c.AddToBridge(CID, TALK, (SUP_LEG,))]
    assert not [x for x in s.log if isinstance(x, c.Snoop)]


def test_switching_listen_to_whisper_replaces_the_snoop():
    s = coached()
    out = s.feed(e.CoachingStep(SUP, CoachMode.WHISPER))
    assert effects(out) == [c.Hangup(CID, spy(1)), snoop(2, "out")]
    assert views(out) == [("active", "whisper", "")]
    # The old snoop's echo changes nothing; the new one joins the supervisor.
    assert s.feed(e.LegGone(spy(1))) == []
    assert s.feed(e.LegAnswered(spy(2))) == [c.AddToBridge(CID, COACH, (spy(2),))]


def test_switching_to_barge_and_back():
    s = coached(CoachMode.WHISPER)
    out = s.feed(e.CoachingStep(SUP, CoachMode.BARGE))
    assert effects(out) == [
        c.Hangup(CID, spy(1)),
        c.RemoveFromBridge(CID, COACH, SUP_LEG),
        c.AddToBridge(CID, TALK, (SUP_LEG,)),
        c.DeleteBridge(CID, COACH),
    ]
    out = s.feed(e.CoachingStep(SUP, CoachMode.LISTEN))
    assert effects(out) == [
        c.RemoveFromBridge(CID, TALK, SUP_LEG),
        c.CreateBridge(CID, COACH, "mixing"),
        c.AddToBridge(CID, COACH, (SUP_LEG,)),
        snoop(2, "none"),
    ]


def test_a_mode_chosen_while_ringing_applies_when_the_supervisor_answers():
    s = SessionScript().talking()
    s.feed(ask())
    out = s.feed(e.CoachingStep(SUP, CoachMode.BARGE))
    assert effects(out) == [] and views(out) == [("ringing", "barge", "")]
    assert effects(s.feed(e.LegAnswered(SUP_LEG))) == [c.AddToBridge(CID, TALK, (SUP_LEG,))]


def test_a_late_snoop_of_an_older_mode_is_hung_up():
    s = SessionScript().talking()
    s.feed(ask())
    s.feed(e.LegAnswered(SUP_LEG))
    s.feed(e.CoachingStep(SUP, CoachMode.WHISPER))  # before spy 1 entered the app
    assert s.feed(e.LegAnswered(spy(1))) == [c.Hangup(CID, spy(1))]


# ------------------------------------------------------------------ endings


def test_stop_hangs_up_the_supervisor_and_the_snoop_and_the_call_goes_on():
    s = coached()
    out = s.feed(e.CoachingStep(SUP, None))
    assert effects(out) == [
        c.Hangup(CID, spy(1)),
        c.Hangup(CID, SUP_LEG),
        c.DeleteBridge(CID, COACH),
    ]
    assert views(out) == [("ended", "listen", "stopped")]
    assert marks(out) == [("ended", SUP)]
    assert s.state is SessionState.TALKING
    assert s.feed(e.LegGone(SUP_LEG)) == []  # the echo of our own hang-up
    assert s.session.coaching is not None
    assert s.session.coaching.history == [CS.RINGING, CS.ACTIVE, CS.ENDED]


def test_the_supervisor_hanging_up_ends_the_coaching_only():
    s = coached()
    out = s.feed(e.LegGone(SUP_LEG, 16))
    assert effects(out) == [c.Hangup(CID, spy(1)), c.DeleteBridge(CID, COACH)]
    assert views(out) == [("ended", "listen", "supervisor_left")]
    assert marks(out) == [("ended", SUP)]
    assert s.state is SessionState.TALKING and set(s.session.legs) == {vol(1)}


@pytest.mark.parametrize(("cause", "reason"), [(17, "busy"), (None, "no_answer"), (21, "rejected")])
def test_a_supervisor_phone_that_does_not_answer(cause, reason):
    s = SessionScript().talking()
    s.feed(ask())
    out = s.feed(e.LegGone(SUP_LEG, cause))
    assert effects(out) == [c.DeleteBridge(CID, COACH)]
    assert views(out) == [("ended", "listen", reason)]
    assert marks(out) == [("ended", SUP)]


@pytest.mark.parametrize("kind", ["error", "timeout"])
def test_a_supervisor_phone_that_cannot_be_dialled(kind):
    s = SessionScript().talking()
    s.feed(ask())
    out = s.feed(e.EffectFailed(dial_supervisor(), kind))
    hang_up = [c.Hangup(CID, SUP_LEG)] if kind == "timeout" else []
    assert effects(out) == [*hang_up, c.DeleteBridge(CID, COACH)]
    assert views(out) == [("ended", "listen", "unreachable")]
    assert marks(out) == [("ended", SUP)]


def test_a_snoop_that_cannot_be_made_ends_the_coaching():
    s = SessionScript().talking()
    s.feed(ask())
    s.feed(e.LegAnswered(SUP_LEG))
    out = s.feed(e.EffectFailed(snoop(1), "error"))
    assert effects(out) == [c.Hangup(CID, SUP_LEG), c.DeleteBridge(CID, COACH)]
    assert views(out) == [("ended", "listen", "failed")]
    assert marks(out) == [("ended", SUP)]


def test_the_volunteer_leaving_ends_the_coaching_and_the_call():
    s = coached(CoachMode.BARGE)
    out = s.feed(e.LegGone(vol(1)))
    assert effects(out)[:2] == [c.Hangup(CID, SUP_LEG), c.DeleteBridge(CID, COACH)]
    assert views(out) == [("ended", "barge", "volunteer_left")]
    assert marks(out) == [("ended", SUP)]
    # A barging supervisor does not keep the call going: it ends as without them.
    assert s.state is SessionState.ENDING


def test_the_child_hanging_up_ends_the_coaching_at_once():
    s = coached()
    out = s.feed(e.LegGone(CALLER))
    assert c.Hangup(CID, SUP_LEG) in out and c.Hangup(CID, spy(1)) in out
    assert views(out) == [("ended", "listen", "call_ended")]
    assert marks(out) == [("ended", SUP)]
    out = s.feed(e.AcdFinished(done()))
    assert not [x for x in out if isinstance(x, c.CoachingChanged)]  # said once
    assert marks(out) == []
    assert out[-1] == c.SessionClosed(CID)


# ------------------------------------------------------------------ refusals


def test_refusals_change_nothing():
    s = SessionScript().ringing()
    with pytest.raises(CoachingRefused) as refused:
        s.feed(ask())
    assert refused.value.code == "no_call"
    s.feed(e.LegAnswered(vol(1)))
    s.feed(e.AcdConnect("v1"))
    with pytest.raises(CoachingRefused) as refused:
        s.feed(e.CoachingStep(SUP, CoachMode.BARGE))
    assert refused.value.code == "no_coaching"
    with pytest.raises(CoachingRefused) as refused:
        s.feed(e.CoachingRequested("v1", "v1", CoachMode.LISTEN))
    assert refused.value.code == "not_allowed"
    s.feed(ask())
    before = list(s.log)
    with pytest.raises(CoachingRefused) as refused:
        s.feed(ask(supervisor="tom"))
    assert refused.value.code == "coaching_in_progress"
    assert s.log == before
    assert marks(s.log) == [("started", SUP)]  # tom, refused, was never marked


def test_a_second_coaching_after_the_first_uses_a_new_supervisor_leg():
    s = coached()
    s.feed(e.CoachingStep(SUP, None))
    out = s.feed(ask())
    assert effects(out) == [dial_supervisor(2)]
    assert marks(s.log) == [("started", SUP), ("ended", SUP), ("started", SUP)]
    # An echo of the first leg does not touch the second coaching.
    assert s.feed(e.LegGone(SUP_LEG)) == []
    assert s.session.coaching is not None and s.session.coaching.state is CS.RINGING


def test_a_snoop_that_timed_out_may_exist_and_is_hung_up():
    """Found by the property test: after a timeout the snoop may have been made."""
    s = SessionScript().talking()
    s.feed(ask())
    s.feed(e.LegAnswered(SUP_LEG))
    out = s.feed(e.EffectFailed(snoop(1), "timeout"))
    assert effects(out) == [
        c.Hangup(CID, spy(1)),
        c.Hangup(CID, SUP_LEG),
        c.DeleteBridge(CID, COACH),
    ]
    # A snoop of an older mode that timed out is hung up too.
    s = coached()
    s.feed(e.CoachingStep(SUP, CoachMode.WHISPER))
    assert s.feed(e.EffectFailed(snoop(1), "timeout")) == [c.Hangup(CID, spy(1))]
    assert s.feed(e.EffectFailed(snoop(1), "error")) == []


def test_the_coaching_diagram_is_drawn_from_the_table():
    from session.diagram import coaching_diagram

    lines = coaching_diagram().splitlines()
    assert lines[:2] == ["stateDiagram-v2", "    [*] --> ringing"]
    assert "    ringing --> active: supervisor_answered" in lines
    assert "    active --> ended: volunteer_left" not in lines  # the trigger's own name:
    assert "    active --> ended: volunteer_gone" in lines
    assert not [line for line in lines if line.startswith("    ended -->")]
