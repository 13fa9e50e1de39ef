"""The warm transfer on a contact session: each step's effects on legs and bridges.

The child, the volunteer (``v1`` on leg ``vol(1)``) and Veilig Thuis. Every path of issue 10
is here: consult, conference, leave or stay, cancel, partner busy or not answering, the child
hanging up, the volunteer's phone dropping, the direct mode, one transfer at a time.
"""

from __future__ import annotations

import pytest

import acd
from session import commands as c
from session import events as e
from session.errors import TransferRefused
from session.referral import Referral
from session.states import SessionState
from session.transfer import (
    TRANSFER_TRANSITIONS,
    TransferMode,
    TransferState,
    TransferTrigger,
    next_transfer_state,
)
from tests.unit.session_helpers import CALLER, CID, HOLD, TALK, SessionScript, cleaned_up, done, vol
from tests.unit.transfer_helpers import (
    VT,
    back_to_talk,
    dial,
    effects,
    partner,
    request,
    states,
    step,
    to_hold,
)

S = SessionState
TS = TransferState


def talking() -> SessionScript:
    return SessionScript().talking()


def in_consult() -> SessionScript:
    s = talking()
    s.feed(request(), 10.0)
    s.feed(e.LegAnswered(partner()), 12.0)
    return s


def in_conference() -> SessionScript:
    s = in_consult()
    s.feed(step("conference"), 20.0)
    return s


# ---------------------------------------------------------------------- the table


def test_every_transfer_state_has_a_row_and_only_the_ends_are_terminal():
    assert set(TRANSFER_TRANSITIONS) == set(TS)
    assert {s for s, row in TRANSFER_TRANSITIONS.items() if not row} == {
        TS.DONE,
        TS.CANCELLED,
        TS.FAILED,
    }


def test_a_missing_pair_is_refused_with_a_code():
    with pytest.raises(TransferRefused) as refused:
        next_transfer_state(TS.DIALING, TransferTrigger.LEAVE)
    assert refused.value.code == "not_allowed"


# ---------------------------------------------------------------------- consult path


def test_consult_puts_the_child_on_hold_and_rings_the_partner():
    s = talking()
    out = s.feed(request(), 10.0)
    assert effects(out) == [dial(), *to_hold()]
    assert states(s) == ["dialing"]
    view = out[-1]
    assert isinstance(view, c.TransferChanged)
    assert view.view.partner_id == "veilig-thuis" and view.view.agent_id == "v1"


def test_silence_instead_of_music_if_configured():
    s = talking()
    assert effects(s.feed(request(music=False), 10.0)) == [dial(), *to_hold(music=False)]


def test_the_partner_answers_into_the_talk_bridge_with_the_volunteer():
    s = talking()
    s.feed(request(), 10.0)
    out = s.feed(e.LegAnswered(partner()), 12.0)
    assert effects(out) == [c.AddToBridge(CID, TALK, (partner(),))]
    assert states(s)[-1] == "consult"


def test_conference_brings_the_child_back_to_both():
    s = in_consult()
    out = s.feed(step("conference"), 20.0)
    assert effects(out) == back_to_talk()
    assert states(s)[-1] == "conference"


def test_the_volunteer_leaves_the_child_and_partner_talk_on_and_the_acd_is_told():
    s = in_conference()
    out = s.feed(step("leave"), 30.0)
    assert effects(out) == [c.Hangup(CID, vol(1)), c.ToAcd(acd.ContactEnded(CID))]
    assert s.state is S.HANDED_OVER
    # The ACD finishes the contact: the record says the volunteer left; the call goes on.
    out = s.feed(e.AcdFinished(done()), 30.0)
    assert out == [
        c.WriteRecord(
            done(), "kindertelefoon", "nl", Referral("veilig-thuis", "utrecht", True, False)
        )
    ]
    assert s.state is S.HANDED_OVER
    # The child hangs up: the partner is hung up and everything is cleaned up.
    out = s.feed(e.LegGone(CALLER), 40.0)
    assert effects(out) == cleaned_up(partner(), caller=False)
    assert states(s)[-2:] == ["handed_over", "done"]


def test_after_hand_over_the_partner_hanging_up_ends_the_call_for_the_child():
    s = in_conference()
    s.feed(step("leave"), 30.0)
    s.feed(e.AcdFinished(done()), 30.0)
    out = s.feed(e.LegGone(partner()), 40.0)
    assert effects(out) == cleaned_up(caller=True)
    assert s.state is S.ENDED


def test_the_volunteer_stays_to_the_end():
    s = in_conference()
    s.feed(step("stay"), 25.0)
    out = s.feed(e.LegGone(CALLER), 40.0)
    assert effects(out) == [c.ToAcd(acd.ContactEnded(CID))]
    out = s.feed(e.AcdFinished(done()), 40.0)
    referral = Referral("veilig-thuis", "utrecht", True, True)
    assert out[0] == c.WriteRecord(done(), "kindertelefoon", "nl", referral)
    assert effects(out[1:]) == cleaned_up(vol(1), partner(), caller=False)
    assert s.session.transfer is not None and s.session.transfer.stayed


def test_the_partner_hanging_up_in_conference_leaves_child_and_volunteer_talking():
    s = in_conference()
    out = s.feed(e.LegGone(partner()), 30.0)
    assert effects(out) == []
    assert s.state is S.TALKING and states(s)[-1] == "done"
    # A later end still records the referral (the child did talk with the partner).
    s.feed(e.LegGone(CALLER), 40.0)
    out = s.feed(e.AcdFinished(done()), 40.0)
    assert out[0] == c.WriteRecord(
        done(), "kindertelefoon", "nl", Referral("veilig-thuis", "utrecht", True, True)
    )


# ---------------------------------------------------------------------- cancel and failures


@pytest.mark.parametrize("answered", [False, True])
def test_cancel_in_consult_returns_the_volunteer_to_the_child(answered):
    s = talking()
    s.feed(request(), 10.0)
    if answered:
        s.feed(e.LegAnswered(partner()), 12.0)
    out = s.feed(step("cancel"), 15.0)
    assert effects(out) == [c.Hangup(CID, partner()), *back_to_talk()]
    assert states(s)[-1] == "cancelled" and s.state is S.TALKING
    # No referral: the partner never spoke with the child.
    s.feed(e.LegGone(partner()), 16.0)  # the hang-up's own echo changes nothing
    s.feed(e.LegGone(CALLER), 40.0)
    assert s.feed(e.AcdFinished(done()), 40.0)[0] == c.WriteRecord(done(), "kindertelefoon", "nl")


@pytest.mark.parametrize(
    ("cause", "reason"),
    [(17, "busy"), (19, "no_answer"), (16, "no_answer"), (21, "rejected"), (3, "unreachable")],
)
def test_a_partner_who_does_not_answer_returns_the_volunteer_to_the_child_with_the_reason(
    cause, reason
):
    s = talking()
    s.feed(request(), 10.0)
    out = s.feed(e.LegGone(partner(), cause), 40.0)
    assert effects(out) == back_to_talk()
    view = s.session.transfer
    assert view is not None and (view.state, view.reason) == (TS.FAILED, reason)


def test_a_partner_that_cannot_be_dialled_at_all_is_unreachable():
    s = talking()
    s.feed(request(), 10.0)
    out = s.feed(e.EffectFailed(dial(), "error"), 10.5)
    assert effects(out) == back_to_talk()
    assert s.session.transfer is not None and s.session.transfer.reason == "unreachable"


def test_a_partner_answering_after_the_cancel_is_hung_up():
    s = talking()
    s.feed(request(), 10.0)
    s.feed(step("cancel"), 11.0)
    assert effects(s.feed(e.LegAnswered(partner()), 12.0)) == [c.Hangup(CID, partner())]


def test_cancel_in_conference_hangs_up_the_partner_only():
    s = in_conference()
    out = s.feed(step("cancel"), 25.0)
    assert effects(out) == [c.Hangup(CID, partner())]
    assert s.state is S.TALKING and states(s)[-1] == "done"


# ---------------------------------------------------------------------- the child hangs up


@pytest.mark.parametrize("stage", ["dialing", "consult", "conference"])
def test_the_child_hanging_up_cleans_up_every_leg_and_bridge(stage):
    s = talking()
    s.feed(request(), 10.0)
    legs = [vol(1), partner()]
    if stage != "dialing":
        s.feed(e.LegAnswered(partner()), 12.0)
    if stage == "conference":
        s.feed(step("conference"), 20.0)
    assert effects(s.feed(e.LegGone(CALLER), 30.0)) == [c.ToAcd(acd.ContactEnded(CID))]
    out = s.feed(e.AcdFinished(done()), 30.0)
    assert effects(out[1:]) == cleaned_up(*legs, caller=False)
    assert s.session.transfer is not None and not s.session.transfer.active


# ---------------------------------------------------------------------- the volunteer drops


def test_volunteer_drops_in_consult_after_the_partner_answered_the_child_joins_the_partner():
    s = in_consult()
    out = s.feed(e.LegGone(vol(1)), 15.0)
    assert effects(out) == [*back_to_talk(), c.ToAcd(acd.ContactEnded(CID))]
    assert s.state is S.HANDED_OVER and states(s)[-1] == "handed_over"


def test_volunteer_drops_before_the_partner_answered_the_child_goes_back_to_the_queue():
    s = talking()
    s.feed(request(), 10.0)
    out = s.feed(e.LegGone(vol(1)), 15.0)
    assert effects(out) == [
        c.Hangup(CID, partner()),
        c.StartMoh(CID, True, HOLD),
        c.ToAcd(acd.ContactReturned(CID, "v1")),
    ]
    assert s.state is S.QUEUED and states(s)[-1] == "cancelled"
    # The next volunteer is offered the child and takes it over from the holding bridge.
    s.feed(e.AcdOffer("v2", 2, 4.0), 16.0)
    s.feed(e.LegAnswered(vol(2)), 17.0)
    out = s.feed(e.AcdConnect("v2"), 17.0)
    assert c.AddToBridge(CID, TALK, (CALLER, vol(2))) in out
    assert s.state is S.TALKING
    # The comfort messages resumed while the child waited.
    assert s.session.ivr is not None


def test_volunteer_drops_during_a_direct_dial_the_child_is_held_and_queued():
    s = talking()
    s.feed(request(TransferMode.DIRECT), 10.0)
    out = s.feed(e.LegGone(vol(1)), 15.0)
    assert effects(out) == [
        c.Hangup(CID, partner(mode="direct")),
        *to_hold(),
        c.ToAcd(acd.ContactReturned(CID, "v1")),
    ]


def test_the_core_refusing_the_return_ends_the_call_rather_than_leave_the_child_waiting():
    s = talking()
    s.feed(request(), 10.0)
    s.feed(e.LegGone(vol(1)), 15.0)
    out = s.feed(e.AcdRefused(acd.ContactReturned(CID, "v1")), 15.0)
    assert out == [c.ToAcd(acd.ContactEnded(CID))]


# ---------------------------------------------------------------------- direct mode


def test_direct_mode_keeps_the_child_with_the_volunteer_and_joins_the_partner_at_once():
    s = talking()
    out = s.feed(request(TransferMode.DIRECT), 10.0)
    assert effects(out) == [dial(mode="direct")]
    out = s.feed(e.LegAnswered(partner(mode="direct")), 12.0)
    assert effects(out) == [c.AddToBridge(CID, TALK, (partner(mode="direct"),))]
    assert states(s) == ["dialing_direct", "conference"]


def test_a_busy_partner_in_direct_mode_changes_nothing_for_the_child():
    s = talking()
    s.feed(request(TransferMode.DIRECT), 10.0)
    assert effects(s.feed(e.LegGone(partner(mode="direct"), 17), 12.0)) == []
    assert states(s)[-1] == "failed"


# ---------------------------------------------------------------------- refusals


def test_one_transfer_at_a_time():
    s = talking()
    s.feed(request(), 10.0)
    with pytest.raises(TransferRefused) as refused:
        s.feed(request(), 11.0)
    assert refused.value.code == "transfer_in_progress"


def test_a_new_transfer_after_the_last_one_ended_gets_a_new_leg():
    s = talking()
    s.feed(request(), 10.0)
    s.feed(e.LegGone(partner(), 17), 12.0)
    out = s.feed(request(), 20.0)
    assert effects(out)[0] == dial(n=2)


def test_only_the_volunteer_with_the_child_may_transfer():
    s = talking()
    with pytest.raises(TransferRefused) as refused:
        s.feed(request(agent="v2"), 10.0)
    assert refused.value.code == "no_call"
    s.feed(request(), 10.0)
    with pytest.raises(TransferRefused) as refused:
        s.feed(step("cancel", agent="v2"), 11.0)
    assert refused.value.code == "not_allowed"


def test_no_transfer_before_the_call_is_answered():
    s = SessionScript().ringing()
    with pytest.raises(TransferRefused):
        s.feed(request(), 3.0)


@pytest.mark.parametrize(
    ("stage", "name"),
    [("dialing", "conference"), ("dialing", "leave"), ("consult", "leave"), ("consult", "stay")],
)
def test_a_step_out_of_order_is_refused_and_changes_nothing(stage, name):
    s = in_consult() if stage == "consult" else talking()
    if stage == "dialing":
        s.feed(request(), 10.0)
    before = list(s.log)
    with pytest.raises(TransferRefused) as refused:
        s.feed(step(name), 13.0)
    assert refused.value.code == "not_allowed"
    assert s.log == before and s.session.transfer is not None
    assert s.session.transfer.state.value == stage


def test_no_step_without_a_transfer():
    with pytest.raises(TransferRefused) as refused:
        talking().feed(step("cancel"), 10.0)
    assert refused.value.code == "no_transfer"


def test_the_partner_sees_the_helplines_number_never_the_childs():
    s = talking()
    out = s.feed(request(), 10.0)
    originate = out[0]
    assert isinstance(originate, c.Originate)
    assert originate.caller_id == VT.caller_id and CALLER not in originate.caller_id
