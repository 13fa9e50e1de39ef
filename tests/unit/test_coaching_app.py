"""Coaching and surge mode through the engine, the ARI effector, the router and
reconciliation (fake ARI): what goes to Asterisk for each step, what the observers hear, and
what a restart of ours does with a coaching's leftovers."""

from __future__ import annotations

from typing import Any

import pytest

import acd
from ari_app.ari_events import parse_event
from session import events as e
from session.coaching_states import CoachingView, CoachMode
from session.errors import CoachingRefused
from session.ids import LegRole, coach_bridge_id, leg_id, snoop_id
from session.states import SessionState
from tests.unit.ari_support import caller_enters, destroyed, leg_enters, started_app, vol_leg
from tests.unit.fake_ari import bridge_json, channel_json
from tests.unit.test_ari_reconcile import C1, after_snapshot, arrived, asterisk, caller, core_with
from tests.unit.test_ari_reconcile import leg as volunteer_channel
from tests.unit.test_transfer_app import talking_call

S = SessionState


def sup(contact_id: str, n: int = 1) -> str:
    return leg_id(LegRole.SUPERVISOR, contact_id, n)


def snoop_enters(channel_id: str, contact_id: str) -> Any:
    """A snoop channel we made entered Stasis (``coach`` arguments)."""
    return parse_event(
        {
            "type": "StasisStart",
            "application": "helpline",
            "args": ["coach", contact_id],
            "channel": channel_json(channel_id, name="Snoop/x-00000001", context="default"),
        }
    )


async def coach(run: Any, event: e.Event, agent: str = "noor") -> CoachingView:
    view: CoachingView = await run.engine.call(lambda: run.engine.coaching_request(agent, event))
    await run.settle()
    return view


async def test_listen_whisper_barge_and_the_end_as_asterisk_sees_them():
    async with started_app() as run:
        seen: list[CoachingView] = []
        run.engine.coaching_observers.append(seen.append)
        cid = await talking_call(run)

        view = await coach(run, e.CoachingRequested("sara", "noor", CoachMode.LISTEN))
        assert (view.state, view.mode, view.supervisor_id) == ("ringing", "listen", "sara")
        assert run.app.acd.coaching == frozenset({"sara"})  # journaled: offered nothing now
        (dial,) = run.fake.matching("POST", "/channels")
        assert dial.params["endpoint"] == "PJSIP/sara"
        assert dial.params["channelId"] == sup(cid)
        assert dial.params["appArgs"] == f"volunteer,{cid}"
        # Not the line's caller id a child's call shows: the workspace answers only this by itself.
        assert dial.params["callerId"] == '"Coaching" <coaching>'

        run.fake.requests.clear()
        run.feed(leg_enters(sup(cid), cid))
        await run.settle()
        coach_bridge, spy1 = coach_bridge_id(cid), snoop_id(cid, 1)
        # The snoop is made in its own lane (its hang-up never overtakes it).
        assert sorted(run.fake.lines) == [
            f"POST /bridges/{coach_bridge}",
            f"POST /bridges/{coach_bridge}/addChannel",
            f"POST /channels/{vol_leg(cid)}/snoop/{spy1}",
        ]
        (made,) = run.fake.matching("POST", "/channels/*/snoop/*")
        assert made.params["spy"] == "both" and made.params["whisper"] == "none"
        assert made.params["app"] == "helpline" and made.params["appArgs"] == f"coach,{cid}"

        run.fake.requests.clear()
        run.feed(snoop_enters(spy1, cid))
        await run.settle()
        assert run.fake.lines == [f"POST /bridges/{coach_bridge}/addChannel"]
        assert run.fake.requests[0].params["channel"] == spy1

        run.fake.requests.clear()
        await coach(run, e.CoachingStep("sara", CoachMode.WHISPER))
        spy2 = snoop_id(cid, 2)
        assert sorted(run.fake.lines) == sorted(
            [f"DELETE /channels/{spy1}", f"POST /channels/{vol_leg(cid)}/snoop/{spy2}"]
        )
        (made,) = run.fake.matching("POST", "/channels/*/snoop/*")
        assert made.params["whisper"] == "out"

        run.fake.requests.clear()
        await coach(run, e.CoachingStep("sara", CoachMode.BARGE))
        assert sorted(run.fake.lines) == sorted(
            [
                f"DELETE /channels/{spy2}",
                f"POST /bridges/{coach_bridge}/removeChannel",
                f"POST /bridges/talk-{cid}/addChannel",
                f"DELETE /bridges/{coach_bridge}",
            ]
        )

        run.fake.requests.clear()
        run.feed(destroyed("c1"))
        await run.settle()
        assert f"DELETE /channels/{sup(cid)}" in run.fake.lines
        assert cid not in run.engine.sessions
        assert [(v.state, v.mode) for v in seen] == [
            ("ringing", "listen"),
            ("active", "listen"),
            ("active", "whisper"),
            ("active", "barge"),
            ("ended", "barge"),
        ]
        assert seen[-1].reason == "call_ended"
        assert run.app.acd.coaching == frozenset()
        journaled = [entry for entry in run.journal.entries if entry is not None]
        assert {"type": "CoachingStarted", "agent_id": "sara"} in journaled
        assert {"type": "CoachingEnded", "agent_id": "sara"} in journaled


async def test_the_engine_refuses_no_call_and_a_supervisor_on_two_calls():
    async with started_app() as run:
        with pytest.raises(CoachingRefused) as refused:
            await coach(run, e.CoachingRequested("sara", "noor", CoachMode.LISTEN))
        assert refused.value.code == "no_call"
        await talking_call(run)
        await coach(run, e.CoachingRequested("sara", "noor", CoachMode.LISTEN))
        # A second volunteer in a call: sara is busy with noor's.
        await run.login_ready("anna")
        run.feed(caller_enters("c2"))
        await run.settle()
        other = run.contact_of("c2")
        ringing = run.engine.sessions[other].ringing_leg()
        assert ringing is not None and ringing.agent_id == "anna"
        run.feed(leg_enters(ringing.channel_id, other))
        await run.settle()
        assert run.engine.sessions[other].state is S.TALKING
        with pytest.raises(CoachingRefused) as refused:
            await coach(run, e.CoachingRequested("sara", "anna", CoachMode.LISTEN), "anna")
        assert refused.value.code == "coaching_in_progress"
        view = await coach(run, e.CoachingRequested("tom", "anna", CoachMode.BARGE), "anna")
        assert view.supervisor_id == "tom"


async def test_a_snoop_of_a_call_that_is_over_is_hung_up():
    async with started_app() as run:
        ghost = "99999999-2a8d-4d7e-9a55-2f2f8d1b7c99"
        run.feed(snoop_enters(snoop_id(ghost, 1), ghost))
        await run.settle()
        assert run.fake.lines == [f"DELETE /channels/{snoop_id(ghost, 1)}"]


async def test_restart_ends_a_coaching_and_keeps_the_call():
    """A coaching is not rebuilt: its supervisor leg (even barging in the talk bridge), snoop
    and coach bridge are removed; the child and the volunteer talk on."""
    core = core_with(
        arrived(C1),
        acd.OfferAccepted(C1, "noor"),
        acd.CoachingStarted("sara"),
        volunteers=("noor", "sara"),
    )
    talk = f"talk-{C1}"
    state = asterisk(
        channels=[
            caller("c1"),
            volunteer_channel(C1),
            channel_json(sup(C1), name="PJSIP/sara-1", context="default"),
            channel_json(snoop_id(C1, 3), name="Snoop/x-1", context="default"),
        ],
        bridges=[
            bridge_json(talk, ["c1", vol_leg(C1), sup(C1)], "mixing"),
            bridge_json(coach_bridge_id(C1), [snoop_id(C1, 3)], "mixing"),
        ],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert sorted(after_snapshot(run)) == sorted(
            [
                f"DELETE /bridges/{coach_bridge_id(C1)}",
                f"DELETE /channels/{sup(C1)}",
                f"DELETE /channels/{snoop_id(C1, 3)}",
            ]
        )
        session = run.engine.sessions[C1]
        assert session.state is S.TALKING and set(session.legs) == {vol_leg(C1)}
        # No session holds a coaching of hers now: the core must not keep her out for ever.
        assert run.app.acd.coaching == frozenset()
        assert run.app.acd.agent("sara").coaching is False


async def test_a_reconnect_keeps_a_coaching_that_is_going_on():
    async with started_app() as run:
        cid = await talking_call(run)
        await coach(run, e.CoachingRequested("sara", "noor", CoachMode.LISTEN))
        run.feed(leg_enters(sup(cid), cid), snoop_enters(snoop_id(cid, 1), cid))
        await run.settle()
        run.fake.channels = [
            channel_json("c1"),
            channel_json(vol_leg(cid), context="default"),
            channel_json(sup(cid), context="default"),
            channel_json(snoop_id(cid, 1), context="default"),
        ]
        run.fake.bridges = [
            bridge_json(f"talk-{cid}", ["c1", vol_leg(cid)], "mixing"),
            bridge_json(coach_bridge_id(cid), [sup(cid), snoop_id(cid, 1)], "mixing"),
        ]
        run.fake.requests.clear()
        await run.reconnect()
        assert not [line for line in run.fake.lines if line.startswith("DELETE")]
        coaching = run.engine.sessions[cid].coaching
        assert coaching is not None and coaching.state.value == "active"
        assert run.app.acd.coaching == frozenset({"sara"})  # still coaching: still kept out


async def test_a_ready_supervisor_who_coaches_is_not_rung_for_a_child():
    async with started_app() as run:
        cid = await talking_call(run)  # noor's
        await run.login_ready("sara")  # free the longest: without her coaching, rung first
        await coach(run, e.CoachingRequested("sara", "noor", CoachMode.LISTEN))
        await run.login_ready("anna")
        run.fake.requests.clear()
        run.feed(caller_enters("c2"))
        await run.settle()
        assert run.app.acd.contact(run.contact_of("c2")).agent_id == "anna"
        dialled = [r.params["endpoint"] for r in run.fake.matching("POST", "/channels")]
        assert dialled == ["PJSIP/anna"]
        # Her coaching ends with the call: she is back in the pool.
        run.feed(destroyed("c1"))
        await run.settle()
        assert cid not in run.engine.sessions
        assert run.app.acd.agent("sara").coaching is False


async def test_a_coaching_the_sessions_no_longer_hold_is_ended_at_reconciliation():
    """The coaching's end was lost (its step failed; our CoachingEnded never reached the core):
    the next reconciliation ends the core's mark, so she is not kept out of routing for ever."""
    async with started_app() as run:
        await run.engine.call(lambda: run.engine.to_acd(acd.CoachingStarted("sara")))
        await run.settle()
        assert run.app.acd.coaching == frozenset({"sara"})
        await run.reconnect()
        assert run.app.acd.coaching == frozenset()


# ---------------------------------------------------------------------- surge mode


async def test_surge_mode_sends_new_calls_to_staff_only_and_back():
    async with started_app() as run:
        switched: list[bool] = []
        run.engine.surge_observers.append(switched.append)
        await run.login_ready("noor")  # phone only: not trained staff
        await run.engine.call(lambda: run.engine.set_surge(True))
        run.feed(caller_enters("c1"))
        await run.settle()
        surged = run.contact_of("c1")
        assert run.app.acd.contact(surged).skills == frozenset({"phone", "staff"})
        assert run.app.acd.agent("noor").state is acd.AgentState.AVAILABLE  # not offered

        run.app.router.phones["sara"] = True
        await run.engine.apply(
            acd.AgentLoggedIn("sara", "utrecht", frozenset({"phone", "staff"}), frozenset({"nl"}))
        )
        await run.engine.apply(acd.AgentReady("sara"))
        await run.settle()
        assert run.app.acd.contact(surged).agent_id == "sara"

        await run.engine.call(lambda: run.engine.set_surge(False))
        run.feed(caller_enters("c2"))
        await run.settle()
        after = run.contact_of("c2")
        assert run.app.acd.contact(after).skills == frozenset()
        assert run.app.acd.contact(after).agent_id == "noor"
        assert switched == [True, False]


async def test_surge_mode_leaves_peer_chats_to_their_young_volunteers():
    async with started_app() as run:
        await run.engine.call(lambda: run.engine.set_surge(True))
        await run.engine.call(lambda: run.engine.set_surge(True))  # no change, no news
        peer = acd.ContactArrived("p1", acd.Channel.CHAT, skills=frozenset({"peer_chat"}))
        chat = acd.ContactArrived("p2", acd.Channel.CHAT)
        await run.engine.call(lambda: (run.engine.to_acd(peer), run.engine.to_acd(chat)))
        await run.settle()
        assert run.app.acd.contact("p1").skills == frozenset({"peer_chat"})
        assert run.app.acd.contact("p2").skills == frozenset({"chat", "staff"})
