"""The contact session, scripted: events at a fake ``now`` in, the whole command list out,
and the recorded history of states."""

from __future__ import annotations

import pytest

import acd
from acd import OfferFailure, Outcome
from ivr.prompt_texts import menu_prompt
from session import commands as c
from session import events as e
from session.errors import SessionError
from session.ids import LegRole
from session.machine import PHONE_RECHECK_S, Leg, QueueNews, offer_failure_for
from session.states import LegState
from tests.unit.session_helpers import (
    CALLER,
    CID,
    HOLD,
    LINE,
    MENU,
    TALK,
    S,
    SessionScript,
    cleaned_up,
    connected,
    done,
    enqueued,
    originate,
    pb,
    ptn,
    sound,
    vol,
)

CLOSED_MESSAGE = sound("closed", "forum", "danger_112", "goodbye")
OVERFLOW_MESSAGE = sound("overflow", "forum", "danger_112", "goodbye")

# -- the IVR stage -----------------------------------------------------------------------------


def test_closed_line_plays_the_message_then_hangs_up_and_closes_without_the_acd():
    s = SessionScript()
    assert s.begin(open=False) == [
        c.Answer(CID, CALLER),
        c.Play(CID, False, CALLER, CLOSED_MESSAGE, pb(1), "nl"),
    ]
    assert s.feed(e.PromptDone(pb(1)), 30.0) == cleaned_up(caller=True)
    assert s.history == [S.IVR, S.ENDED]
    assert not any(isinstance(x, (c.ToAcd, c.WriteRecord)) for x in s.log)
    assert s.feed(e.LegGone(CALLER, 16), 31.0) == []  # our own hang-up coming back


def test_a_stale_prompt_done_in_the_closed_message_changes_nothing():
    s = SessionScript()
    s.begin(open=False)
    assert s.feed(e.PromptDone(pb(7))) == []
    assert s.state is S.IVR


def test_welcome_answers_first_then_queues_when_it_ends():
    s = SessionScript(welcome=True)
    assert s.begin() == [
        c.Answer(CID, CALLER),
        c.Play(CID, False, CALLER, sound("welcome"), pb(1), "nl"),
    ]
    assert s.state is S.IVR
    assert s.feed(e.PromptDone(pb(1)), 4.0) == enqueued(answer=False)
    assert s.history == [S.IVR, S.QUEUED]


def test_straight_to_the_queue_hands_to_the_acd_before_answering():
    """Enqueue order: the ACD first (a free volunteer's phone rings at once), then answer,
    the holding bridge and the caller in it, then music."""
    s = SessionScript()
    out = s.begin()
    assert out == enqueued()
    assert isinstance(out[0], c.ToAcd) and isinstance(out[1], c.Answer)
    assert s.history == [S.IVR, S.QUEUED]


def test_menu_digit_queues_in_the_chosen_language():
    s = SessionScript()
    menu = (menu_prompt("nl", "1"), menu_prompt("en", "2"))
    assert s.begin(menu=MENU) == [
        c.Answer(CID, CALLER),
        c.Play(CID, False, CALLER, sound(*menu), pb(1), "nl"),
    ]
    assert s.feed(e.CallerDigit("2"), 2.0) == [
        c.StopPlayback(CID, pb(1)),
        *enqueued("en", answer=False),
    ]
    assert s.session.language == "en"
    assert s.history == [S.IVR, S.QUEUED]


def test_menu_without_a_key_twice_queues_in_the_lines_language():
    s = SessionScript()
    s.begin(menu=MENU)
    s.feed(e.PromptDone(pb(1)), 3.0)
    assert s.session.next_deadline() == 8.0
    menu = sound(menu_prompt("nl", "1"), menu_prompt("en", "2"))
    assert s.timer() == [c.Play(CID, False, CALLER, menu, pb(2), "nl")]  # once more
    s.feed(e.PromptDone(pb(2)), 11.0)
    assert s.timer() == enqueued(answer=False)
    assert s.history == [S.IVR, S.QUEUED]


def test_digits_after_the_menu_and_from_a_gone_caller_are_ignored():
    s = SessionScript()
    s.begin(menu=MENU)
    s.feed(e.CallerDigit("1"))
    assert s.feed(e.CallerDigit("2")) == []
    assert s.session.language == "nl"
    s.feed(e.LegGone(CALLER))
    assert s.feed(e.CallerDigit("1")) == []


def test_caller_gone_in_the_ivr_closes_with_no_acd_event():
    s = SessionScript(welcome=True)
    s.begin()
    assert s.feed(e.LegGone(CALLER, 16), 1.5) == cleaned_up(caller=False)
    assert s.history == [S.IVR, S.ENDED]
    assert s.session.closed and s.session.next_deadline() is None
    assert not any(isinstance(x, c.ToAcd) for x in s.log)


def test_comfort_message_while_queued_carries_the_queue_news():
    s = SessionScript(comfort_every_s=30.0)
    s.begin(0.0)
    assert s.session.next_deadline() == 30.0
    assert s.timer(30.0, QueueNews(3, None)) == [
        c.StopMoh(CID, True, HOLD),
        c.Play(CID, True, HOLD, sound("comfort", "position_3"), pb(1), "nl"),
    ]
    assert s.feed(e.PromptDone(pb(1)), 36.0) == [c.StartMoh(CID, True, HOLD)]
    assert s.state is S.QUEUED


# -- offers ------------------------------------------------------------------------------------


def test_offer_rings_the_volunteer_as_the_helpline_never_as_the_child():
    s = SessionScript().queued()
    assert s.feed(e.AcdOffer("v1", 7, 4.0), 2.0) == [originate(7)]
    leg = s.session.ringing_leg()
    assert leg is not None and (leg.channel_id, leg.agent_id) == (vol(7), "v1")
    assert s.history == [S.IVR, S.QUEUED, S.RINGING]


def test_answer_then_connect_joins_caller_and_volunteer_in_the_talk_bridge():
    s = SessionScript().ringing(1)
    assert s.feed(e.LegAnswered(vol(1)), 3.0) == [c.ToAcd(acd.OfferAccepted(CID, "v1"))]
    assert s.state is S.RINGING
    assert s.feed(e.AcdConnect("v1"), 3.0) == connected(1)
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.TALKING]


def test_connect_during_a_comfort_message_stops_the_message_not_the_music():
    s = SessionScript(comfort_every_s=30.0).ringing(1)
    s.timer(30.0)
    s.feed(e.LegAnswered(vol(1)), 31.0)
    assert s.feed(e.AcdConnect("v1"), 31.0) == connected(1, playing=pb(1))


def test_connect_for_a_volunteer_without_a_leg_is_a_session_error():
    s = SessionScript().ringing(1)
    with pytest.raises(SessionError):
        s.feed(e.AcdConnect("v9"))
    assert s.state is S.RINGING


def test_withdraw_hangs_up_the_ringing_leg_and_the_caller_waits_again():
    s = SessionScript().ringing(1)
    assert s.feed(e.AcdWithdraw("v1"), 6.0) == [c.Hangup(CID, vol(1))]
    assert s.session.legs == {}
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.QUEUED]
    assert s.feed(e.AcdWithdraw("v1"), 6.1) == []  # twice: nothing more
    assert s.feed(e.LegGone(vol(1), 16), 6.2) == []  # our own hang-up coming back


def test_withdraw_for_another_volunteer_is_ignored():
    s = SessionScript().ringing(1)
    assert s.feed(e.AcdWithdraw("v2")) == []
    assert s.state is S.RINGING and vol(1) in s.session.legs


@pytest.mark.parametrize(
    ("cause", "failure"),
    [
        (None, OfferFailure.NO_ANSWER),
        (16, OfferFailure.NO_ANSWER),
        (17, OfferFailure.BUSY),
        (19, OfferFailure.NO_ANSWER),
        (21, OfferFailure.REJECTED),
        (3, OfferFailure.UNREACHABLE),
        (-1, OfferFailure.ERROR),
    ],
)
def test_a_ringing_leg_that_hangs_up_fails_the_offer_with_its_cause(cause, failure):
    assert offer_failure_for(cause) is failure
    s = SessionScript().ringing(1)
    assert s.feed(e.LegGone(vol(1), cause), 5.0) == [c.ToAcd(acd.OfferFailed(CID, "v1", failure))]
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.QUEUED]


def test_late_answer_of_an_older_offer_is_hung_up_and_the_new_one_rings_on():
    s = SessionScript().ringing(1)
    s.feed(e.AcdWithdraw("v1"), 6.0)
    s.feed(e.AcdOffer("v2", 2, 4.0), 6.0)
    assert s.feed(e.LegAnswered(vol(1)), 6.1) == [c.Hangup(CID, vol(1))]
    assert s.state is S.RINGING and s.session.ringing_leg().channel_id == vol(2)  # type: ignore[union-attr]
    assert s.feed(e.LegAnswered(vol(2)), 7.0) == [c.ToAcd(acd.OfferAccepted(CID, "v2"))]


def test_answer_of_a_leg_we_never_dialled_is_hung_up():
    s = SessionScript().queued()
    assert s.feed(e.LegAnswered(vol(42))) == [c.Hangup(CID, vol(42))]
    assert s.state is S.QUEUED


def test_acd_refusing_the_answer_hangs_up_that_leg():
    """The offer timed out as the volunteer answered: the ACD refuses the acceptance."""
    s = SessionScript().ringing(1)
    s.feed(e.LegAnswered(vol(1)), 5.99)
    assert s.feed(e.AcdRefused(acd.OfferAccepted(CID, "v1")), 5.99) == [c.Hangup(CID, vol(1))]
    assert s.session.legs == {}
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.QUEUED]


def test_other_refusals_change_nothing():
    s = SessionScript().ringing(1)
    assert s.feed(e.AcdRefused(acd.ContactEnded(CID))) == []
    assert s.state is S.RINGING


def test_failed_originate_fails_the_offer_as_unreachable_and_rechecks_the_phone():
    s = SessionScript().ringing(1)
    assert s.feed(e.EffectFailed(originate(1), "error"), 2.1) == [
        c.ToAcd(acd.OfferFailed(CID, "v1", OfferFailure.UNREACHABLE)),
        c.RecheckPhone(CID, "v1", PHONE_RECHECK_S),
    ]
    assert s.session.legs == {}
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.QUEUED]
    assert s.feed(e.EffectFailed(originate(1), "error"), 2.2) == []  # reported twice


def test_failed_originate_of_an_older_offer_changes_nothing():
    s = SessionScript().ringing(2)
    assert s.feed(e.EffectFailed(originate(1), "error")) == []
    assert s.state is S.RINGING


# -- overflow ----------------------------------------------------------------------------------


def test_overflow_plays_the_message_in_the_holding_bridge_then_hangs_up():
    s = SessionScript().ringing(1)
    assert s.feed(e.AcdOverflow("max_wait"), 120.0) == [
        c.Hangup(CID, vol(1)),
        c.StopMoh(CID, True, HOLD),
        c.Play(CID, True, HOLD, OVERFLOW_MESSAGE, pb(1), "nl"),
    ]
    finished = done(Outcome.OVERFLOWED)
    assert s.feed(e.AcdFinished(finished), 120.0) == [c.WriteRecord(finished, LINE, "nl")]
    assert s.state is S.OVERFLOW  # the message is still playing
    assert s.feed(e.PromptDone(pb(1)), 140.0) == cleaned_up(caller=True)
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.OVERFLOW, S.ENDED]


def test_caller_leaving_during_the_overflow_message_closes_without_the_acd():
    s = SessionScript().queued()
    s.feed(e.AcdOverflow("queue_full"), 1.0)
    s.feed(e.AcdFinished(done(Outcome.OVERFLOWED)), 1.0)
    assert s.feed(e.LegGone(CALLER), 5.0) == cleaned_up(caller=False)
    assert s.history == [S.IVR, S.QUEUED, S.OVERFLOW, S.ENDED]
    assert [x for x in s.log if isinstance(x, c.ToAcd)] == [s.log[0]]  # only the arrival


def test_overflow_without_an_ivr_hangs_up_the_caller_at_once():
    s = SessionScript(ivr=False)
    s.session.state = S.QUEUED  # as reconciliation adopts a waiting caller
    assert s.feed(e.AcdOverflow("max_wait")) == [c.Hangup(CID, CALLER)]
    assert s.feed(e.LegGone(CALLER)) == cleaned_up(caller=False)


# -- the end -----------------------------------------------------------------------------------


def test_caller_hangs_up_while_talking_then_the_acd_finishes():
    s = SessionScript().talking(1)
    assert s.feed(e.LegGone(CALLER, 16), 60.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.state is S.ENDING
    finished = done()
    assert s.feed(e.AcdFinished(finished), 60.0) == [
        c.WriteRecord(finished, LINE, "nl"),
        *cleaned_up(vol(1), caller=False),
    ]
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.TALKING, S.ENDING, S.ENDED]


def test_volunteer_hangs_up_alone_with_the_caller_ends_the_contact():
    s = SessionScript().talking(1)
    assert s.feed(e.LegGone(vol(1), 16), 60.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.state is S.ENDING
    finished = done(language=None)
    assert s.feed(e.AcdFinished(finished), 60.0) == [
        c.WriteRecord(finished, LINE, "nl"),  # the session's language when the ACD has none
        *cleaned_up(caller=True),
    ]
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.TALKING, S.ENDING, S.ENDED]


def test_volunteer_leaving_with_a_partner_still_up_keeps_the_contact_going():
    s = SessionScript().talking(1)
    partner = s.add_partner()
    assert s.feed(e.LegGone(vol(1), 16), 60.0) == []
    assert s.state is S.TALKING and list(s.session.legs) == [partner]
    assert s.feed(e.LegGone(partner, 16), 90.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.TALKING, S.ENDING]


def test_a_partner_still_dialling_does_not_keep_the_conversation_going():
    s = SessionScript().talking(1)
    s.session.add_recovered_leg(Leg(ptn(1), LegRole.PARTNER, LegState.DIALING))
    assert s.feed(e.LegGone(vol(1), 16)) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.state is S.ENDING
    finished = done()
    assert s.feed(e.AcdFinished(finished)) == [
        c.WriteRecord(finished, LINE, "nl"),
        *cleaned_up(ptn(1), caller=True),  # the partner's phone stops ringing too
    ]


def test_caller_gone_while_queued_ends_then_closes_on_the_acds_word():
    s = SessionScript().queued()
    assert s.feed(e.LegGone(CALLER), 10.0) == [c.ToAcd(acd.ContactEnded(CID))]
    finished = done(Outcome.ABANDONED)
    assert s.feed(e.AcdFinished(finished), 10.0) == [
        c.WriteRecord(finished, LINE, "nl"),
        *cleaned_up(caller=False),
    ]
    assert s.history == [S.IVR, S.QUEUED, S.ENDING, S.ENDED]


def test_caller_gone_while_ringing_the_acd_withdraws_and_the_leg_is_hung_up():
    s = SessionScript().ringing(1)
    assert s.feed(e.LegGone(CALLER), 3.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.feed(e.AcdWithdraw("v1"), 3.0) == [c.Hangup(CID, vol(1))]
    finished = done(Outcome.ABANDONED)
    assert s.feed(e.AcdFinished(finished), 3.0) == [
        c.WriteRecord(finished, LINE, "nl"),
        *cleaned_up(caller=False),
    ]
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.ENDING, S.ENDED]


def test_duplicate_caller_gone_events_are_idempotent():
    s = SessionScript().talking(1)
    first = s.feed(e.LegGone(CALLER, 16))
    assert first == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.feed(e.LegGone(CALLER, 16)) == []
    assert s.feed(e.EffectFailed(c.Answer(CID, CALLER), "not_found")) == []
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.TALKING, S.ENDING]


def test_caller_channel_not_found_is_the_callers_hang_up():
    s = SessionScript().queued()
    failed = c.Answer(CID, CALLER)
    assert s.feed(e.EffectFailed(failed, "not_found"), 1.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.session.caller_gone and s.state is S.ENDING


@pytest.mark.parametrize(
    ("failed", "kind"),
    [
        (c.AddToBridge(CID, HOLD, (CALLER,)), "not_found"),  # 404: the bridge is missing
        (c.CreateBridge(CID, HOLD, "holding"), "unavailable"),
        (c.AddToBridge(CID, HOLD, (CALLER,)), "timeout"),
    ],
    ids=["bridge-missing", "create-failed", "add-timed-out"],
)
def test_a_waiting_child_whose_holding_bridge_failed_is_held_again_once(failed, kind):
    s = SessionScript().queued()
    again = [
        c.CreateBridge(CID, HOLD, "holding"),
        c.AddToBridge(CID, HOLD, (CALLER,)),
        c.StartMoh(CID, True, HOLD),
    ]
    assert s.feed(e.EffectFailed(failed, kind), 1.0) == again
    assert s.feed(e.EffectFailed(failed, kind), 2.0) == []  # once, never a loop
    assert s.state is S.QUEUED and not s.session.caller_gone


def test_not_found_in_the_ivr_closes_at_once():
    s = SessionScript(welcome=True)
    s.begin()
    assert s.feed(e.EffectFailed(c.Answer(CID, CALLER), "not_found")) == cleaned_up(caller=False)
    assert s.history == [S.IVR, S.ENDED]


def test_other_failures_are_not_taken_for_a_gone_caller():
    s = SessionScript().queued()
    assert s.feed(e.EffectFailed(c.Answer(CID, CALLER), "timeout")) == []
    assert s.feed(e.EffectFailed(c.DeleteBridge(CID, TALK), "not_found")) == []
    assert s.feed(e.EffectFailed(c.Hangup(CID, vol(1)), "not_found")) == []
    assert s.state is S.QUEUED and not s.session.caller_gone


def test_finished_while_queued_hangs_up_the_caller_and_closes():
    s = SessionScript().queued()
    finished = done(Outcome.ABANDONED)
    assert s.feed(e.AcdFinished(finished)) == [
        c.WriteRecord(finished, LINE, "nl"),
        *cleaned_up(caller=True),
    ]
    assert s.history == [S.IVR, S.QUEUED, S.ENDED]


def test_events_after_the_end_do_nothing():
    s = SessionScript().talking(1)
    s.feed(e.LegGone(CALLER))
    s.feed(e.AcdFinished(done()))
    said = len(s.log)
    for event in [
        e.LegGone(CALLER),
        e.LegGone(vol(1)),
        e.LegAnswered(vol(1)),
        e.CallerDigit("1"),
        e.PromptDone(pb(1)),
        e.AcdOffer("v1", 9, 4.0),
        e.AcdWithdraw("v1"),
        e.AcdConnect("v1"),
        e.AcdOverflow("max_wait"),
        e.AcdFinished(done()),
        e.AcdRefused(acd.OfferAccepted(CID, "v1")),
        e.EffectFailed(originate(9), "error"),
    ]:
        assert s.feed(event) == []
    assert s.timer(1000.0) == []
    assert len(s.log) == said and s.state is S.ENDED


def test_not_a_session_event_is_a_session_error():
    s = SessionScript().queued()
    with pytest.raises(SessionError):
        s.feed(acd.ContactEnded(CID))  # type: ignore[arg-type]


def test_begin_without_an_ivr_is_a_session_error():
    s = SessionScript(ivr=False)
    with pytest.raises(SessionError):
        s.begin()


# -- races between the ACD's ring timeout and the volunteer's answer ---------------------------


def test_withdraw_after_the_volunteer_answered_leaves_the_leg_to_the_acds_answer():
    """The engine fires the core's due timers before the acceptance: the ring timeout's
    withdraw and the next offer reach the session after LegAnswered, then the refusal."""
    s = SessionScript().ringing(1)
    s.feed(e.LegAnswered(vol(1)), 6.0)
    assert s.feed(e.AcdWithdraw("v1"), 6.0) == []
    assert s.state is S.QUEUED
    assert s.feed(e.AcdOffer("v2", 2, 4.0), 6.0) == [originate(2, "v2")]
    assert s.feed(e.AcdRefused(acd.OfferAccepted(CID, "v1")), 6.0) == [c.Hangup(CID, vol(1))]
    assert s.state is S.RINGING and list(s.session.legs) == [vol(2)]
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.QUEUED, S.RINGING]


def test_offered_again_to_the_volunteer_who_answered_connects_that_leg():
    s = SessionScript().ringing(1)
    s.feed(e.LegAnswered(vol(1)), 6.0)
    s.feed(e.AcdWithdraw("v1"), 6.0)
    assert s.feed(e.AcdOffer("v1", 2, 4.0), 6.0) == []  # no second call to the same phone
    assert s.feed(e.AcdConnect("v1"), 6.0) == connected(1)
    assert s.history == [S.IVR, S.QUEUED, S.RINGING, S.QUEUED, S.RINGING, S.TALKING]


def test_a_contact_the_acd_finished_while_it_waited_has_no_comfort_timer_left():
    s = SessionScript(comfort_every_s=10.0).queued()
    s.feed(e.AcdFinished(done(Outcome.ABANDONED)), 1.0)
    assert s.session.next_deadline() is None
    assert s.timer(11.0) == []  # no comfort message into a bridge that is gone


def test_a_refused_finish_changes_nothing_and_the_record_is_still_written_later():
    s = SessionScript(welcome=True)
    s.begin()
    with pytest.raises(SessionError):
        s.feed(e.AcdFinished(done()))  # the ACD never heard of a caller in the IVR
    assert not s.session.record_written and s.state is S.IVR
    s.feed(e.PromptDone(pb(1)))
    finished = done(Outcome.ABANDONED)
    assert s.feed(e.AcdFinished(finished))[0] == c.WriteRecord(finished, LINE, "nl")


@pytest.mark.parametrize("kind", ["timeout", "unavailable"])
def test_an_originate_that_may_have_reached_asterisk_is_hung_up_as_well(kind):
    s = SessionScript().ringing(1)
    assert s.feed(e.EffectFailed(originate(1), kind), 12.0) == [
        c.ToAcd(acd.OfferFailed(CID, "v1", OfferFailure.UNREACHABLE)),
        c.RecheckPhone(CID, "v1", PHONE_RECHECK_S),
        c.Hangup(CID, vol(1)),  # or the volunteer's phone rings on after the offer moved on
    ]
    assert s.state is S.QUEUED
