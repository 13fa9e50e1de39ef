"""Reconciliation after a restart or a reconnect: the core (as restored from the journal) and
Asterisk's lists (served by the fake ARI) in, the rebuilt sessions and the exact clean-up
requests out."""

from __future__ import annotations

import asyncio

import acd
from acd import AgentState, ContactState, Outcome
from ari_app.websocket import Connected, Disconnected
from engine import Tick
from session.ids import LegRole
from session.states import LegState, SessionState
from tests.unit.ari_support import (
    SETTINGS,
    T0,
    caller_enters,
    config,
    destroyed,
    endpoint_change,
    leg_enters,
    started_app,
    vol_leg,
)
from tests.unit.fake_ari import bridge_json, channel_json, endpoint_json

S = SessionState
C1 = "11111111-2a8d-4d7e-9a55-2f2f8d1b7c11"
C2 = "22222222-2a8d-4d7e-9a55-2f2f8d1b7c22"
GONE = "99999999-2a8d-4d7e-9a55-2f2f8d1b7c99"
"""A contact the core no longer knows (finished before the restart)."""

SNAPSHOT_READS = [
    "POST /applications/helpline/subscription",
    "PUT /applications/helpline/eventFilter",
    "GET /bridges",
    "GET /channels",
    "GET /endpoints",
]


def core_with(
    *events: acd.Event, volunteers: tuple[str, ...] = ("noor",), ago: float = 5.0
) -> acd.Acd:
    """A core as a restart restores it: volunteers ready, then ``events``, ``ago`` seconds
    ago (within the ring timeout: the core's deadlines are not due yet)."""
    core = acd.Acd(SETTINGS)
    for agent in volunteers:
        core.handle(acd.AgentLoggedIn(agent, "utrecht", frozenset({"phone"}), NL), T0 - 90)
        core.handle(acd.AgentReady(agent), T0 - 90)
    for event in events:
        core.handle(event, T0 - ago)
    return core


NL = frozenset({"nl"})


def arrived(contact_id: str) -> acd.ContactArrived:
    return acd.ContactArrived(contact_id, acd.Channel.PHONE, language="nl")


def caller(channel_id: str, **kw) -> dict:
    return channel_json(channel_id, **kw)


def leg(contact_id: str, token: int = 1, state: str = "Up") -> dict:
    return channel_json(
        vol_leg(contact_id, token), state=state, name="PJSIP/noor-1", context="default"
    )


NOOR_ONLINE = (endpoint_json("noor"),)


def asterisk(channels=(), bridges=(), endpoints=NOOR_ONLINE):
    def script(run) -> None:
        run.fake.channels = list(channels)
        run.fake.bridges = list(bridges)
        run.fake.endpoints = list(endpoints)

    return script


def after_snapshot(run) -> list[str]:
    """The requests reconciliation made, after reading Asterisk's lists."""
    requests = run.fake.lines
    assert sorted(requests[:5]) == sorted(SNAPSHOT_READS)
    return requests[5:]


async def test_restart_rebuilds_a_talking_and_a_waiting_caller_and_touches_nothing():
    core = core_with(arrived(C1), acd.OfferAccepted(C1, "noor"), arrived(C2))
    assert core.contact(C2).state is ContactState.QUEUED
    state = asterisk(
        channels=[caller("c1"), leg(C1), caller("c2")],
        bridges=[
            bridge_json(f"talk-{C1}", ["c1", vol_leg(C1)], "mixing"),
            bridge_json(f"hold-{C2}", ["c2"]),
            bridge_json("queue-main", ["someone-else"]),  # not ours: left alone
        ],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == []
        talking, waiting = run.engine.sessions[C1], run.engine.sessions[C2]
        assert talking.state is S.TALKING
        assert talking.caller_channel == "c1"
        assert {cid: (lg.role, lg.state, lg.agent_id) for cid, lg in talking.legs.items()} == {
            vol_leg(C1): (LegRole.VOLUNTEER, LegState.UP, "noor")
        }
        assert talking.ivr is None
        assert waiting.state is S.QUEUED
        assert waiting.answered
        assert waiting.next_deadline() is not None  # comfort messages resume
        assert run.engine.contact_of_caller("c2") == C2

        # The rebuilt sessions act like live ones.
        run.fake.requests.clear()
        run.feed(destroyed(vol_leg(C1)))
        await run.settle()
        assert run.fake.lines == [
            "DELETE /channels/c1",
            f"DELETE /bridges/hold-{C1}",
            f"DELETE /bridges/talk-{C1}",
        ]
        assert run.records.written[0][0].outcome is Outcome.ANSWERED


async def test_restart_while_ringing_with_the_leg_still_ringing_keeps_the_offer():
    core = core_with(arrived(C1))
    assert core.contact(C1).state is ContactState.OFFERED
    state = asterisk(
        channels=[caller("c1"), leg(C1, state="Ringing")],
        bridges=[bridge_json(f"hold-{C1}", ["c1"])],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == []
        session = run.engine.sessions[C1]
        assert session.state is S.RINGING
        assert session.ringing_leg() is not None
        # Its StasisStart, when it answers, connects as usual.
        run.fake.requests.clear()
        run.feed(leg_enters(vol_leg(C1), C1))
        await run.settle()
        assert f"POST /bridges/talk-{C1}/addChannel" in run.fake.lines
        assert run.app.acd.contact(C1).state is ContactState.CONNECTED


async def test_restart_finds_the_ringing_leg_answered_while_we_were_away():
    core = core_with(arrived(C1))
    state = asterisk(
        channels=[caller("c1"), leg(C1, state="Up")],
        bridges=[bridge_json(f"hold-{C1}", ["c1"])],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == [
            f"DELETE /bridges/hold-{C1}/moh",
            f"POST /bridges/talk-{C1}",
            f"POST /bridges/hold-{C1}/removeChannel",
            f"POST /bridges/talk-{C1}/addChannel",
            f"DELETE /bridges/hold-{C1}",
        ]
        assert run.engine.sessions[C1].state is S.TALKING
        assert run.app.acd.contact(C1).state is ContactState.CONNECTED
        assert run.app.acd.agent("noor").state is AgentState.BUSY
        assert run.journal.types == ["OfferAccepted"]


async def test_restart_finds_the_ringing_leg_vanished_and_offers_again():
    core = core_with(arrived(C1))
    state = asterisk(channels=[caller("c1")], bridges=[bridge_json(f"hold-{C1}", ["c1"])])
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == ["POST /channels"]
        assert run.fake.requests[-1].params["channelId"] == vol_leg(C1, 2)
        failed = run.journal.entries[0]
        assert failed is not None and failed["type"] == "OfferFailed"
        assert failed["reason"] == acd.OfferFailure.ERROR.value
        assert run.engine.sessions[C1].state is S.RINGING


async def test_restart_finds_the_volunteer_gone_from_a_talk_and_ends_the_contact():
    core = core_with(arrived(C1), acd.OfferAccepted(C1, "noor"))
    state = asterisk(channels=[caller("c1")], bridges=[bridge_json(f"talk-{C1}", ["c1"], "mixing")])
    async with started_app(core=core, before_connect=state, clear=False) as run:
        assert after_snapshot(run) == [
            "DELETE /channels/c1",
            f"DELETE /bridges/hold-{C1}",
            f"DELETE /bridges/talk-{C1}",
        ]
        [(done, line_id, _)] = run.records.written
        assert (done.outcome, line_id) == (Outcome.ANSWERED, "116111")
        assert C1 not in run.engine.sessions
        assert run.app.acd.agent("noor").state is AgentState.WRAP_UP


async def test_restart_finds_a_waiting_caller_gone_and_records_it_abandoned():
    core = core_with(arrived(C1), volunteers=())
    async with started_app(core=core, before_connect=asterisk(), clear=False) as run:
        assert after_snapshot(run) == []
        [(done, line_id, language)] = run.records.written
        assert (done.contact_id, done.outcome) == (C1, Outcome.ABANDONED)
        assert (line_id, language) == ("116111", "nl")
        assert list(run.app.acd.contacts()) == []


async def test_restart_hangs_up_a_stray_leg_and_destroys_a_stray_bridge():
    state = asterisk(
        channels=[leg(GONE), caller("x9"), caller("c8", context="default", exten="s")],
        bridges=[bridge_json(f"talk-{GONE}", ["x9"], "mixing")],
    )
    async with started_app(before_connect=state, clear=False) as run:
        assert sorted(after_snapshot(run)) == sorted(
            [
                "DELETE /channels/x9",
                f"DELETE /bridges/talk-{GONE}",
                f"DELETE /channels/{vol_leg(GONE)}",
            ]
        )
        # Not one of ours and not from the carrier: left alone, not admitted.
        assert run.engine.sessions == {}
        assert "DELETE /channels/c8" not in run.fake.lines


async def test_restart_admits_a_caller_who_entered_stasis_but_was_never_queued():
    state = asterisk(channels=[caller("c7", state="Ring")])
    async with started_app(core=core_with(), before_connect=state, clear=False) as run:
        contact_id = run.contact_of("c7")
        requests = [line.replace(contact_id, "C") for line in after_snapshot(run)]
        assert requests == [
            "POST /channels",
            "POST /channels/c7/answer",
            "POST /bridges/hold-C",
            "POST /bridges/hold-C/addChannel",
            "POST /bridges/hold-C/moh",
        ]
        assert run.app.acd.contact(contact_id).state is ContactState.OFFERED


async def test_reconciliation_refreshes_phone_reachability_from_endpoints():
    core = core_with(volunteers=("noor", "bram", "sara"))
    state = asterisk(
        endpoints=[
            endpoint_json("noor", "offline"),
            endpoint_json("bram", "online"),
            {"technology": "IAX2", "resource": "sara", "state": "online", "channel_ids": []},
        ]
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        reach = {a.agent_id: a.phone_reachable for a in run.app.acd.agents()}
        assert reach == {"noor": False, "bram": True, "sara": False}
        assert run.app.router.phones == {"noor": False, "bram": True, "sara": False}
        assert run.journal.types == ["AgentReachability", "AgentReachability"]


async def test_reconnect_ends_a_contact_whose_caller_left_while_events_were_lost():
    async with started_app() as run:
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.feed(Disconnected("closed by Asterisk"))
        await run.settle()
        assert not run.engine.reconciled.is_set()
        assert not run.app.router.connected
        run.fake.requests.clear()
        run.fake.channels = [leg(contact_id, state="Ringing")]
        run.fake.bridges = [bridge_json(f"hold-{contact_id}", [])]
        await run.reconnect()
        assert after_snapshot(run) == [
            f"DELETE /channels/{vol_leg(contact_id)}",
            f"DELETE /bridges/hold-{contact_id}",
            f"DELETE /bridges/talk-{contact_id}",
        ]
        assert run.records.written[0][0].outcome is Outcome.ABANDONED
        assert run.app.router.connected


async def test_a_hang_up_heard_between_reconnect_and_snapshot_is_not_undone():
    async with started_app() as run:
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        leg_id = vol_leg(contact_id)
        # Asterisk's lists are read after the leg's ChannelDestroyed arrived, but still
        # show it (a stale list): the event must win. The next offer's leg is listed too.
        run.fake.channels = [
            caller("c1"),
            leg(contact_id, state="Ringing"),
            leg(contact_id, 2, state="Ringing"),
        ]
        run.fake.bridges = [bridge_json(f"hold-{contact_id}", ["c1"])]
        run.fake.script("GET", "/channels", delay_s=0.2)
        run.feed(Connected(reconnect=True), destroyed(leg_id, cause=17))
        async with asyncio.timeout(5):
            await run.engine.reconciled.wait()
        await run.settle()
        failed = [e for e in run.journal.entries if e and e["type"] == "OfferFailed"]
        assert [e["reason"] for e in failed] == [acd.OfferFailure.BUSY.value]
        # Offered again on a new leg; the old one is not adopted again.
        assert run.engine.sessions[contact_id].legs.keys() == {vol_leg(contact_id, 2)}


async def test_deadlines_wait_until_reconciled():
    async with started_app() as run:
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.feed(Disconnected("lost"))
        run.clock.now = T0 + SETTINGS.ring_timeout_s + 5
        run.feed(Tick())
        await run.settle()
        assert run.app.acd.contact(contact_id).state is ContactState.OFFERED  # not yet
        run.fake.requests.clear()
        run.fake.channels = [caller("c1"), leg(contact_id, state="Ringing")]
        run.fake.bridges = [bridge_json(f"hold-{contact_id}", ["c1"])]
        run.fake.endpoints = [endpoint_json("noor")]  # her phone is still registered
        await run.reconnect()  # reconciled first; then the overdue ring timeout fires
        assert f"DELETE /channels/{vol_leg(contact_id)}" in run.fake.lines
        assert run.fake.matching("POST", "/channels")[-1].params["channelId"] == vol_leg(
            contact_id, 2
        )


async def test_restart_past_the_ring_timeout_connects_the_leg_that_answered_meanwhile():
    # The core's ring deadline passed while we were down: it fires first and offers the
    # only volunteer again; the leg that answered takes that offer.
    core = core_with(arrived(C1), ago=SETTINGS.ring_timeout_s + 5)
    state = asterisk(
        channels=[caller("c1"), leg(C1, state="Up")],
        bridges=[bridge_json(f"hold-{C1}", ["c1"])],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        requests = after_snapshot(run)
        assert "POST /channels" not in requests
        assert f"POST /bridges/talk-{C1}/addChannel" in requests
        assert run.fake.matching("POST", "/bridges/talk-*/addChannel")[0].params == {
            "channel": f"c1,{vol_leg(C1)}"
        }
        assert run.app.acd.contact(C1).state is ContactState.CONNECTED


async def test_restart_past_the_ring_timeout_rings_again_on_a_new_leg():
    core = core_with(arrived(C1), ago=SETTINGS.ring_timeout_s + 5)
    state = asterisk(
        channels=[caller("c1"), leg(C1, state="Ringing")],
        bridges=[bridge_json(f"hold-{C1}", ["c1"])],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        requests = after_snapshot(run)
        assert requests == [f"DELETE /channels/{vol_leg(C1)}", "POST /channels"]
        assert run.fake.requests[-1].params["channelId"] == vol_leg(C1, 2)
        assert list(run.engine.sessions[C1].legs) == [vol_leg(C1, 2)]


async def test_restart_after_several_ring_timeouts_offers_once_and_pauses_nobody():
    core = core_with(arrived(C1), ago=3 * SETTINGS.ring_timeout_s + 5)
    state = asterisk(
        channels=[caller("c1"), leg(C1, state="Ringing")],
        bridges=[bridge_json(f"hold-{C1}", ["c1"])],
    )
    async with started_app(core=core, before_connect=state, clear=False) as run:
        originated = [r.params["channelId"] for r in run.fake.matching("POST", "/channels")]
        assert len(originated) == len(set(originated)), originated
        assert run.app.acd.agent("noor").state is not AgentState.PAUSED
        assert run.app.acd.contact(C1).state is ContactState.OFFERED


async def test_reconnect_ends_a_talk_whose_volunteer_left_while_events_were_lost():
    async with started_app() as run:
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.feed(leg_enters(vol_leg(contact_id), contact_id))
        await run.settle()
        run.feed(Disconnected("lost"))
        run.fake.requests.clear()
        run.fake.channels = [caller("c1")]
        run.fake.bridges = [bridge_json(f"talk-{contact_id}", ["c1"], "mixing")]
        await run.reconnect()
        assert after_snapshot(run) == [
            "DELETE /channels/c1",
            f"DELETE /bridges/hold-{contact_id}",
            f"DELETE /bridges/talk-{contact_id}",
        ]
        assert run.records.written[0][0].outcome is Outcome.ANSWERED
        assert run.app.acd.agent("noor").state is AgentState.WRAP_UP


MENU = """
[[lines]]
id = "116111"
numbers = ["116111"]
menu = { options = { "1" = "nl", "2" = "en" } }

[[locations]]
id = "utrecht"
name = "Utrecht"

[asterisk]
ari_password = "fake-secret"
ami_password = "fake-secret"
trunk_addresses = ["127.0.0.2"]
"""


async def test_reconnect_forgets_a_caller_who_left_during_the_menu():
    async with started_app(cfg=config(MENU)) as run:
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.feed(Disconnected("lost"))
        run.fake.requests.clear()
        await run.reconnect()
        assert after_snapshot(run) == [
            f"DELETE /bridges/hold-{contact_id}",
            f"DELETE /bridges/talk-{contact_id}",
        ]
        assert run.engine.sessions == {}
        assert run.records.written == []  # it never reached the queue
        assert list(run.app.acd.contacts()) == []


async def test_a_leg_originated_while_the_lists_are_read_does_not_ring_on_forgotten():
    # Asterisk's channel list is read before an offer made during reconciliation creates
    # its leg: the leg looks vanished, so the contact is offered again; the first leg must
    # then be hung up, not left ringing for a session that forgot it.
    async with started_app() as run:
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.feed(Disconnected("lost"))
        await run.settle()
        run.fake.channels = [caller("c1")]  # read before the originate below made its leg
        run.fake.bridges = [bridge_json(f"hold-{contact_id}", ["c1"])]
        run.fake.endpoints = [endpoint_json("noor")]
        run.fake.script("GET", "/channels", delay_s=0.3)
        run.feed(Connected(reconnect=True))
        await run.fake.wait_for("GET", "/channels")
        await run.login_ready("noor")  # an offer goes out while the lists are on their way
        await run.fake.wait_for("POST", "/channels")
        async with asyncio.timeout(5):
            await run.engine.reconciled.wait()
        await run.settle()
        originated = {r.params["channelId"] for r in run.fake.matching("POST", "/channels")}
        hung_up = {r.path.removeprefix("/channels/") for r in run.fake.matching("DELETE", "/*")}
        ringing = set(run.engine.sessions[contact_id].legs)
        assert originated - ringing <= hung_up  # no leg rings that the session forgot
        assert len(ringing) == 1


async def test_a_registration_while_the_lists_are_read_is_not_undone_by_them():
    """Found in CI: a phone registering just after the app connected got no calls. Its
    ``EndpointStateChange`` arrived while ``GET /endpoints`` was on its way; the list, read
    before the REGISTER, then said offline and won. An event that arrives during the read is
    at least as new as the list (the last one per endpoint), so it stands."""
    core = core_with(volunteers=("noor", "bram"))

    def registering_during_the_read(run) -> None:
        run.fake.endpoints = [endpoint_json("noor", "offline"), endpoint_json("bram", "online")]
        run.fake.script("GET", "/endpoints", delay_s=0.3)

        async def register() -> None:
            await run.fake.wait_for("GET", "/endpoints")
            run.feed(endpoint_change("noor", "online"), endpoint_change("bram", "offline"))

        asyncio.get_running_loop().create_task(register())

    async with started_app(core=core, before_connect=registering_during_the_read) as run:
        assert run.app.router.phones == {"noor": True, "bram": False}
        reach = {a.agent_id: a.phone_reachable for a in run.app.acd.agents()}
        assert reach == {"noor": True, "bram": False}
