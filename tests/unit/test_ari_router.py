"""Whole calls through ``HelplineApp`` on the fake ARI: scripted ARI events in, the exact ARI
requests out, and the core's and the session's state after."""

from __future__ import annotations

from datetime import datetime

import pytest

import acd
from acd import AgentState, ContactState, Outcome
from ari_app.ari_events import ChannelDtmfReceived, PlaybackFinished, PlaybackStarted
from ari_app.models import Channel, Playback
from engine import Tick
from ivr.hours import HoursStatus
from session.states import SessionState
from tests.unit.ari_support import (
    SETTINGS,
    T0,
    caller_enters,
    config,
    destroyed,
    endpoint_change,
    leg_enters,
    started_app,
    stasis_end,
    vol_leg,
)

S = SessionState

ENTERED = [
    "POST /channels",
    "POST /channels/c1/answer",
    "POST /bridges/hold-C",
    "POST /bridges/hold-C/addChannel",
    "POST /bridges/hold-C/moh",
]
"""A caller entering Stasis with a free volunteer (no welcome, no menu)."""

TALK = [
    "DELETE /bridges/hold-C/moh",
    "POST /bridges/talk-C",
    "POST /bridges/hold-C/removeChannel",
    "POST /bridges/talk-C/addChannel",
    "DELETE /bridges/hold-C",
]
"""The volunteer answered: the caller moves from the holding to the talk bridge."""


def lines(run, contact_id: str) -> list[str]:
    """The requests so far, with the contact id written as ``C``."""
    return [line.replace(contact_id, "C") for line in run.fake.lines]


async def ringing(run, caller: str = "c1") -> str:
    run.feed(caller_enters(caller))
    await run.settle()
    return run.contact_of(caller)


async def talking(run, caller: str = "c1") -> str:
    contact_id = await ringing(run, caller)
    run.feed(leg_enters(vol_leg(contact_id), contact_id))
    await run.settle()
    run.fake.requests.clear()
    return contact_id


async def test_caller_is_offered_held_and_the_originate_has_its_own_lane():
    async with started_app() as run:
        await run.login_ready("noor")
        contact_id = await ringing(run)

        assert lines(run, contact_id) == ENTERED
        originate = run.fake.matching("POST", "/channels")[0]
        assert originate.params == {
            "endpoint": "PJSIP/noor",
            "app": "helpline",
            "appArgs": f"volunteer,{contact_id}",
            "channelId": vol_leg(contact_id),
            "originator": "c1",
            "callerId": '"Kindertelefoon" <116111>',
            "timeout": "25",  # the core's 20 s ring timeout fires first
        }
        assert "0612345678" not in repr(run.fake.requests)
        session = run.engine.sessions[contact_id]
        assert session.history == [S.IVR, S.QUEUED, S.RINGING]
        assert run.app.acd.contact(contact_id).state is ContactState.OFFERED
        assert run.app.acd.agent("noor").state is AgentState.OFFERED
        assert run.journal.types[-1] == "ContactArrived"


async def test_the_originate_does_not_wait_for_the_callers_answer():
    async with started_app() as run:
        await run.login_ready("noor")
        run.fake.script("POST", "/channels/c1/answer", delay_s=1.0)
        run.feed(caller_enters("c1"))
        originate = await run.fake.wait_for("POST", "/channels", timeout=0.5)
        answer = run.fake.matching("POST", "/channels/c1/answer")[0]
        # The contact's lane is stuck behind the slow answer; the leg's lane is not.
        assert originate.at - answer.at < 0.5
        assert run.fake.matching("POST", "/bridges/*") == []
        await run.settle()
        contact_id = run.contact_of("c1")
        assert lines(run, contact_id) == ENTERED


async def test_volunteer_answers_the_caller_is_moved_to_the_talk_bridge():
    async with started_app() as run:
        await run.login_ready("noor")
        contact_id = await ringing(run)
        run.fake.requests.clear()
        run.clock.now = T0 + 4
        run.feed(leg_enters(vol_leg(contact_id), contact_id))
        await run.settle()

        assert lines(run, contact_id) == TALK
        added = run.fake.matching("POST", "/bridges/talk-*/addChannel")[0]
        assert added.params == {"channel": f"c1,{vol_leg(contact_id)}"}
        assert run.engine.sessions[contact_id].history[-1] is S.TALKING
        assert run.app.acd.contact(contact_id).state is ContactState.CONNECTED
        assert run.app.acd.agent("noor").state is AgentState.BUSY
        assert run.journal.types[-1] == "OfferAccepted"


async def test_caller_hangs_up_while_ringing_leg_hung_up_and_abandoned_record():
    async with started_app() as run:
        await run.login_ready("noor")
        contact_id = await ringing(run)
        run.fake.requests.clear()
        run.clock.now = T0 + 3
        run.feed(stasis_end("c1"), destroyed("c1"))
        await run.settle()

        assert lines(run, contact_id) == [
            f"DELETE /channels/{vol_leg('C')}",
            "DELETE /bridges/hold-C",
            "DELETE /bridges/talk-C",
        ]
        assert contact_id not in run.engine.sessions
        assert run.engine.contact_of_caller("c1") is None
        [(done, line_id, language)] = run.records.written
        assert (done.outcome, line_id, language) == (Outcome.ABANDONED, "116111", "nl")
        assert done.ended_at - done.arrived_at == pytest.approx(3)
        assert run.app.acd.agent("noor").state is AgentState.AVAILABLE


async def test_volunteer_hangs_up_while_talking_caller_hung_up_record_answered():
    async with started_app() as run:
        await run.login_ready("noor")
        run.clock.now = T0 + 1
        contact_id = await talking(run)
        run.clock.now = T0 + 61
        run.feed(stasis_end(vol_leg(contact_id)), destroyed(vol_leg(contact_id)))
        await run.settle()

        assert lines(run, contact_id) == [
            "DELETE /channels/c1",
            "DELETE /bridges/hold-C",
            "DELETE /bridges/talk-C",
        ]
        [(done, _, _)] = run.records.written
        assert done.outcome is Outcome.ANSWERED
        assert done.agent_id == "noor"
        assert contact_id not in run.engine.sessions
        assert run.app.acd.agent("noor").state is AgentState.WRAP_UP
        # The caller's own hang-up comes back afterwards and changes nothing.
        run.feed(destroyed("c1"))
        await run.settle()
        assert len(run.fake.requests) == 3
        assert len(run.records.written) == 1


async def test_caller_hangs_up_while_talking_volunteer_leg_hung_up():
    async with started_app() as run:
        await run.login_ready("noor")
        contact_id = await talking(run)
        run.feed(destroyed("c1"))
        await run.settle()
        assert lines(run, contact_id) == [
            f"DELETE /channels/{vol_leg('C')}",
            "DELETE /bridges/hold-C",
            "DELETE /bridges/talk-C",
        ]
        assert run.records.written[0][0].outcome is Outcome.ANSWERED


async def test_no_volunteer_caller_waits_in_the_hold_bridge_until_one_is_ready():
    async with started_app() as run:
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        assert lines(run, contact_id) == [line for line in ENTERED if line != "POST /channels"]
        assert run.engine.sessions[contact_id].state is S.QUEUED
        run.fake.requests.clear()
        await run.login_ready("noor")
        await run.settle()
        assert lines(run, contact_id) == ["POST /channels"]
        assert run.engine.sessions[contact_id].state is S.RINGING


async def test_ring_timeout_withdraws_the_offer_and_rings_again_on_a_new_leg():
    async with started_app() as run:
        await run.login_ready("noor")
        contact_id = await ringing(run)
        run.fake.requests.clear()
        run.clock.now = T0 + SETTINGS.ring_timeout_s + 0.1
        run.feed(Tick())
        await run.settle()
        # The only volunteer is offered again at once, on a leg with the next token.
        assert lines(run, contact_id) == [f"DELETE /channels/{vol_leg('C')}", "POST /channels"]
        assert run.fake.requests[1].params["channelId"] == vol_leg(contact_id, 2)
        assert run.engine.sessions[contact_id].history[-3:] == [S.RINGING, S.QUEUED, S.RINGING]
        assert "OfferFailed" not in run.journal.types  # the core's own timer, journaled as None
        assert run.journal.types[-1] is None
        # The first leg's late StasisStart (answered just too late) is hung up, not connected.
        run.fake.requests.clear()
        run.feed(leg_enters(vol_leg(contact_id), contact_id))
        await run.settle()
        assert run.fake.lines == [f"DELETE /channels/{vol_leg(contact_id)}"]
        assert run.app.acd.contact(contact_id).state is ContactState.OFFERED


@pytest.mark.parametrize(
    "args",
    [["inbound"], ["outbound", "116111"], ["inbound", "bad,line"], []],
    ids=["too-few", "unknown-kind", "bad-id", "none"],
)
async def test_bad_stasis_args_hang_up_the_channel(args):
    async with started_app() as run:
        run.feed(caller_enters("x1", args=args))
        await run.settle()
        assert run.fake.lines == ["DELETE /channels/x1"]
        assert run.engine.sessions == {}


async def test_unknown_line_hangs_up_and_opens_no_session():
    async with started_app() as run:
        run.feed(caller_enters("x1", line_id="0800-9999"))
        await run.settle()
        assert run.fake.lines == ["DELETE /channels/x1"]
        assert run.engine.sessions == {}
        assert list(run.app.acd.contacts()) == []


async def test_leg_of_an_unknown_contact_is_hung_up():
    async with started_app() as run:
        orphan = "0b0e7a52-8a2d-4d7e-9a55-2f2f8d1b7c11"
        run.feed(leg_enters(vol_leg(orphan), orphan))
        await run.settle()
        assert run.fake.lines == [f"DELETE /channels/{vol_leg(orphan)}"]


async def test_endpoint_state_changes_become_reachability():
    async with started_app() as run:
        await run.login_ready("noor")
        assert run.app.acd.agent("noor").phone_reachable
        run.feed(endpoint_change("noor", "offline"))
        await run.settle()
        assert not run.app.acd.agent("noor").phone_reachable
        assert not run.app.router.phone_online("noor")
        assert run.journal.types[-1] == "AgentReachability"
        n = len(run.journal.entries)
        run.feed(endpoint_change("noor", "offline"))  # no change: nothing journaled
        await run.settle()
        assert len(run.journal.entries) == n
        run.feed(endpoint_change("noor", "online"), endpoint_change("bram", "online"))
        await run.settle()
        assert run.app.acd.agent("noor").phone_reachable
        assert run.app.router.phones == {"noor": True, "bram": True}
        assert run.fake.requests == []  # all from events, nothing asked of Asterisk


async def test_offline_volunteer_is_not_offered_a_caller():
    async with started_app() as run:
        await run.login_ready("noor")
        run.feed(endpoint_change("noor", "offline"))
        contact_id = await ringing(run)
        assert "POST /channels" not in lines(run, contact_id)
        assert run.engine.sessions[contact_id].state is S.QUEUED


MENU_CONFIG = """
[[lines]]
id = "116111"
numbers = ["116111"]
language = "nl"
menu = { options = { "1" = "nl", "2" = "en" } }

[[locations]]
id = "utrecht"
name = "Utrecht"

[asterisk]
ari_password = "fake-secret"
ami_password = "fake-secret"
trunk_addresses = ["127.0.0.2"]
"""


async def test_welcome_and_menu_are_played_on_the_channel_and_a_digit_queues():
    async with started_app(cfg=config(MENU_CONFIG)) as run:
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        assert lines(run, contact_id) == [
            "POST /channels/c1/answer",
            "POST /channels/c1/play/C-p1",
        ]
        play = run.fake.requests[1]
        assert play.params == {"media": "sound:helpline/welcome", "lang": "nl"}
        run.fake.requests.clear()
        # Asterisk tells us what it started and finished; the menu follows the welcome.
        played = Playback(f"{contact_id}-p1", "sound:helpline/welcome", "channel:c1", "done")
        run.feed(PlaybackStarted("helpline", played), PlaybackFinished("helpline", played))
        await run.settle()
        assert run.app.played == ["sound:helpline/welcome"]
        assert lines(run, contact_id) == ["POST /channels/c1/play/C-p2"]
        run.fake.requests.clear()
        caller = Channel("c1", "PJSIP/carrier-1", "Up")
        run.feed(ChannelDtmfReceived("helpline", caller, "2", 100))
        await run.settle()
        assert lines(run, contact_id) == [
            "DELETE /playbacks/C-p2",
            "POST /bridges/hold-C",
            "POST /bridges/hold-C/addChannel",
            "POST /bridges/hold-C/moh",
        ]
        assert run.app.acd.contact(contact_id).language == "en"


async def test_closed_line_plays_the_closed_message_and_never_queues():
    def closed(line_id: str, now: datetime) -> HoursStatus:
        assert now.timestamp() == T0  # the writer's clock, not the wall clock
        return HoursStatus(open=False, reason="closed", closes_at=None, opens_at=None)

    async with started_app(hours=closed) as run:
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        assert lines(run, contact_id)[0] == "POST /channels/c1/answer"
        assert lines(run, contact_id)[1].startswith("POST /channels/c1/play/C-p")
        assert "POST /channels" not in lines(run, contact_id)
        assert list(run.app.acd.contacts()) == []


async def test_hours_lookup_failing_answers_as_open():
    def broken(line_id: str, now: datetime) -> HoursStatus:
        raise RuntimeError("hours store bug")

    async with started_app(hours=broken) as run:
        await run.login_ready("noor")
        contact_id = await ringing(run)
        assert lines(run, contact_id) == ENTERED


async def test_two_callers_ring_two_volunteers_in_separate_legs():
    async with started_app() as run:
        await run.login_ready("noor")
        await run.login_ready("bram")
        first = await ringing(run, "c1")
        second = await ringing(run, "c2")
        originates = run.fake.matching("POST", "/channels")
        assert [r.params["channelId"] for r in originates] == [vol_leg(first), vol_leg(second)]
        assert {r.params["endpoint"] for r in originates} == {"PJSIP/noor", "PJSIP/bram"}
        assert len(run.engine.sessions) == 2


async def test_ringing_leg_rejected_goes_to_the_next_volunteer():
    async with started_app() as run:
        await run.login_ready("noor")
        await run.login_ready("bram")
        contact_id = await ringing(run)
        first = run.fake.matching("POST", "/channels")[0].params["endpoint"]
        run.fake.requests.clear()
        run.feed(destroyed(vol_leg(contact_id), cause=21))  # call rejected
        await run.settle()
        [again] = run.fake.matching("POST", "/channels")
        assert again.params["channelId"] == vol_leg(contact_id, 2)
        assert again.params["endpoint"] != first
        assert run.app.acd.contact(contact_id).state is ContactState.OFFERED
        assert run.engine.sessions[contact_id].history[-2:] == [S.QUEUED, S.RINGING]
        assert isinstance(run.journal.entries[-1], dict)
        assert run.journal.entries[-1]["type"] == "OfferFailed"
        assert acd.OfferFailure.REJECTED.value in str(run.journal.entries[-1])


async def test_volunteer_answers_just_as_the_ring_timeout_fires():
    # The leg's StasisStart is the first input after the deadline: the core's ring timer
    # fires before the OfferAccepted it causes, withdraws the offer and offers the only
    # volunteer again; the OfferAccepted then takes that new offer.
    async with started_app() as run:
        await run.login_ready("noor")
        contact_id = await ringing(run)
        run.fake.requests.clear()
        run.clock.now = T0 + SETTINGS.ring_timeout_s + 0.1
        run.feed(leg_enters(vol_leg(contact_id), contact_id))
        await run.settle()
        # No second call to her phone: the leg that answered is connected.
        assert lines(run, contact_id) == TALK
        added = run.fake.matching("POST", "/bridges/talk-*/addChannel")[0]
        assert added.params == {"channel": f"c1,{vol_leg(contact_id)}"}
        session = run.engine.sessions[contact_id]
        assert session.history[-3:] == [S.QUEUED, S.RINGING, S.TALKING]
        assert run.app.acd.contact(contact_id).state is ContactState.CONNECTED
        assert run.journal.types[-2:] == [None, "OfferAccepted"]


async def test_volunteer_answers_just_as_the_offer_moves_to_another():
    async with started_app() as run:
        await run.login_ready("noor")
        await run.login_ready("bram")
        contact_id = await ringing(run)
        first = run.fake.matching("POST", "/channels")[0].params["endpoint"]
        run.fake.requests.clear()
        run.clock.now = T0 + SETTINGS.ring_timeout_s + 0.1
        run.feed(leg_enters(vol_leg(contact_id), contact_id))
        await run.settle()
        # Too late: the leg that answered is hung up; the other volunteer's phone rings.
        assert sorted(lines(run, contact_id)) == [
            "DELETE /channels/vol-C-1",
            "POST /channels",
        ]
        again = run.fake.matching("POST", "/channels")[0]
        assert again.params["channelId"] == vol_leg(contact_id, 2)
        assert again.params["endpoint"] != first
        session = run.engine.sessions[contact_id]
        assert session.state is S.RINGING
        assert list(session.legs) == [vol_leg(contact_id, 2)]
        assert run.app.acd.contact(contact_id).state is ContactState.OFFERED
        run.fake.requests.clear()
        run.feed(leg_enters(vol_leg(contact_id, 2), contact_id))
        await run.settle()
        assert lines(run, contact_id) == TALK


OVERFLOW_MEDIA = (
    "sound:helpline/overflow,sound:helpline/forum,sound:helpline/danger_112,sound:helpline/goodbye"
)


def finished(playback_id: str, target: str) -> PlaybackFinished:
    return PlaybackFinished("helpline", Playback(playback_id, "sound:x", target, "done"))


async def test_a_full_queue_overflows_the_caller_who_hears_the_message_then_is_hung_up():
    core = acd.Acd(acd.AcdSettings(max_queue_length=1))
    async with started_app(core=core) as run:
        run.feed(caller_enters("c1"))
        await run.settle()
        run.fake.requests.clear()
        run.feed(caller_enters("c2"))
        await run.settle()
        contact_id = run.contact_of("c2")
        assert lines(run, contact_id) == [
            "POST /channels/c2/answer",
            "POST /bridges/hold-C",
            "POST /bridges/hold-C/addChannel",
            "POST /bridges/hold-C/moh",
            "DELETE /bridges/hold-C/moh",
            "POST /bridges/hold-C/play/C-p1",
        ]
        assert run.fake.requests[-1].params == {"media": OVERFLOW_MEDIA, "lang": "nl"}
        [(done, _, _)] = run.records.written
        assert (done.outcome, done.reason) == (Outcome.OVERFLOWED, "queue_full")
        assert run.engine.sessions[contact_id].state is S.OVERFLOW
        # The message ends: hang up, clean up, forget; the record is not written twice.
        run.fake.requests.clear()
        run.feed(finished(f"{contact_id}-p1", f"bridge:hold-{contact_id}"))
        await run.settle()
        assert lines(run, contact_id) == [
            "DELETE /channels/c2",
            "DELETE /bridges/hold-C",
            "DELETE /bridges/talk-C",
        ]
        assert contact_id not in run.engine.sessions
        assert len(run.records.written) == 1
        run.feed(destroyed("c2"))
        await run.settle()
        assert len(run.fake.requests) == 3


async def test_caller_hanging_up_during_the_overflow_message_is_not_hung_up_again():
    core = acd.Acd(acd.AcdSettings(max_queue_length=1))
    async with started_app(core=core) as run:
        run.feed(caller_enters("c1"), caller_enters("c2"))
        await run.settle()
        contact_id = run.contact_of("c2")
        run.fake.requests.clear()
        run.feed(destroyed("c2"))
        await run.settle()
        assert lines(run, contact_id) == ["DELETE /bridges/hold-C", "DELETE /bridges/talk-C"]
        assert contact_id not in run.engine.sessions


async def test_comfort_message_tells_the_place_in_the_queue_then_max_wait_overflows():
    core = acd.Acd(acd.AcdSettings(max_wait_s=80.0))
    async with started_app(core=core) as run:
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.fake.requests.clear()
        run.clock.now = T0 + 46  # the comfort message is due every 45 s
        run.feed(Tick())
        await run.settle()
        assert lines(run, contact_id) == [
            "DELETE /bridges/hold-C/moh",
            "POST /bridges/hold-C/play/C-p1",
        ]
        media = run.fake.requests[-1].params["media"]
        assert media == "sound:helpline/comfort,sound:helpline/position_1"
        # The message ends: music again.
        run.fake.requests.clear()
        run.feed(finished(f"{contact_id}-p1", f"bridge:hold-{contact_id}"))
        await run.settle()
        assert lines(run, contact_id) == ["POST /bridges/hold-C/moh"]
        run.fake.requests.clear()
        run.clock.now = T0 + 81  # before the next comfort message (T0 + 91)
        run.feed(Tick())
        await run.settle()
        assert lines(run, contact_id) == [
            "DELETE /bridges/hold-C/moh",
            "POST /bridges/hold-C/play/C-p2",
        ]
        assert run.fake.requests[-1].params["media"] == OVERFLOW_MEDIA
        assert run.records.written[0][0].reason == "max_wait"
