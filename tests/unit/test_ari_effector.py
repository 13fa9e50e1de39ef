"""The ARI effector: each session effect as the exact ARI request, failures reported as
outcomes (404, 409, 500, timeout), per-contact lanes, and what the app makes of failures."""

from __future__ import annotations

import asyncio
import logging

import pytest

import acd
from acd import ContactState, Outcome
from ari_app import effector as effector_module
from ari_app.client import AriClient
from ari_app.effector import AriEffector, AsteriskSnapshot, EndpointSeen, lane_of
from engine import EffectOutcome
from session import commands as c
from session.ids import LegRole
from session.states import SessionState
from tests.unit import fake_ari
from tests.unit.ari_support import caller_enters, destroyed, started_app, vol_leg

CID = "3f0c7f52-2a8d-4d7e-9a55-2f2f8d1b7c11"
LEG = vol_leg(CID)
ORIGINATE = c.Originate(CID, LEG, LegRole.VOLUNTEER, "PJSIP/noor", 25, "c1", '"H" <116111>')


@pytest.fixture
async def fake():
    async with fake_ari.serve() as server:
        yield server


@pytest.fixture
async def ari(fake):
    async with AriClient(
        fake.base_url, fake_ari.USER, fake_ari.PASSWORD, fake_ari.APP, timeout_s=0.3
    ) as client:
        yield client


@pytest.fixture
async def effector(ari):
    reported: list[object] = []
    eff = AriEffector(ari, reported.append)
    eff.reported = reported  # type: ignore[attr-defined]
    yield eff
    await eff.close()


async def run_effects(effector, *effects):
    for effect in effects:
        effector.submit(effect)
    await effector.idle()
    return effector.reported


REQUESTS = [
    (c.Answer(CID, "c1"), "POST /channels/c1/answer", {}),
    (c.Hangup(CID, "c1"), "DELETE /channels/c1", {"reason": "normal"}),
    (
        c.CreateBridge(CID, f"hold-{CID}", "holding"),
        f"POST /bridges/hold-{CID}",
        {"type": "holding", "name": "holding"},
    ),
    (
        c.AddToBridge(CID, f"talk-{CID}", ("c1", LEG)),
        f"POST /bridges/talk-{CID}/addChannel",
        {"channel": f"c1,{LEG}"},
    ),
    (
        c.RemoveFromBridge(CID, f"hold-{CID}", "c1"),
        f"POST /bridges/hold-{CID}/removeChannel",
        {"channel": "c1"},
    ),
    (c.DeleteBridge(CID, f"hold-{CID}"), f"DELETE /bridges/hold-{CID}", {}),
    (
        c.Play(CID, True, f"hold-{CID}", ("sound:a", "sound:b"), f"{CID}-p3", "en"),
        f"POST /bridges/hold-{CID}/play/{CID}-p3",
        {"media": "sound:a,sound:b", "lang": "en"},
    ),
    (
        c.Play(CID, False, "c1", ("sound:helpline/welcome",), f"{CID}-p1", "nl"),
        f"POST /channels/c1/play/{CID}-p1",
        {"media": "sound:helpline/welcome", "lang": "nl"},
    ),
    (c.StopPlayback(CID, f"{CID}-p1"), f"DELETE /playbacks/{CID}-p1", {}),
    (c.StartMoh(CID, True, f"hold-{CID}"), f"POST /bridges/hold-{CID}/moh", {}),
    (c.StopMoh(CID, True, f"hold-{CID}"), f"DELETE /bridges/hold-{CID}/moh", {}),
    (c.StartMoh(CID, False, "c1"), "POST /channels/c1/moh", {}),
    (c.StopMoh(CID, False, "c1"), "DELETE /channels/c1/moh", {}),
]


@pytest.mark.parametrize(
    ("effect", "line", "params"), REQUESTS, ids=[type(r[0]).__name__ for r in REQUESTS]
)
async def test_each_effect_is_one_request_and_reported_done(fake, effector, effect, line, params):
    reported = await run_effects(effector, effect)
    assert fake.lines == [line]
    assert fake.requests[0].params == params
    assert reported == [EffectOutcome(CID, effect, "done")]


async def test_originate_carries_our_leg_id_and_stasis_args(fake, effector):
    await run_effects(effector, ORIGINATE)
    assert fake.lines == ["POST /channels"]
    assert fake.requests[0].params == {
        "endpoint": "PJSIP/noor",
        "app": "helpline",
        "appArgs": f"volunteer,{CID}",
        "channelId": LEG,
        "originator": "c1",
        "callerId": '"H" <116111>',
        "timeout": "25",
    }


@pytest.mark.parametrize(
    ("status", "kind"), [(404, "not_found"), (409, "conflict"), (500, "error"), (400, "error")]
)
async def test_http_failures_are_reported_by_kind(fake, effector, status, kind, caplog):
    fake.fail("DELETE", "/channels/*", status)
    with caplog.at_level(logging.WARNING, "ari_app.effector"):
        reported = await run_effects(effector, c.Hangup(CID, "c1"))
    assert reported == [EffectOutcome(CID, c.Hangup(CID, "c1"), kind)]
    # A 404 is a normal race: not worth a warning.
    assert bool(caplog.records) is (status != 404)


async def test_a_request_that_hangs_is_reported_as_timeout(fake, effector):
    fake.script("POST", "/channels", hang=True)
    loop = asyncio.get_running_loop()
    start = loop.time()
    reported = await run_effects(effector, ORIGINATE)
    assert reported == [EffectOutcome(CID, ORIGINATE, "timeout")]
    assert 0.25 < loop.time() - start < 2.0  # the client's own 0.3 s timeout


async def test_asterisk_unreachable_is_reported_as_unavailable():
    async with fake_ari.serve() as fake:
        base_url = fake.base_url  # the server is gone after this block
    reported: list[object] = []
    async with AriClient(base_url, "u", "p", "helpline", timeout_s=1) as ari:
        eff = AriEffector(ari, reported.append)
        eff.submit(c.Answer(CID, "c1"))
        await eff.idle()
        await eff.close()
    assert reported == [EffectOutcome(CID, c.Answer(CID, "c1"), "unavailable")]


async def test_existing_bridge_from_before_a_restart_is_used(fake, effector):
    fake.fail("POST", "/bridges/*", 409)
    create = c.CreateBridge(CID, f"hold-{CID}", "holding")
    reported = await run_effects(effector, create)
    assert reported == [EffectOutcome(CID, create, "done")]


def test_lanes_per_leg_for_dialling_per_contact_for_the_rest():
    assert lane_of(ORIGINATE) == LEG
    assert lane_of(c.Hangup(CID, LEG)) == LEG
    assert lane_of(c.Hangup(CID, "c1")) == "c1"
    assert lane_of(c.Answer(CID, "c1")) == CID
    assert lane_of(c.AddToBridge(CID, f"hold-{CID}", ("c1",))) == CID
    assert lane_of(c.RecheckPhone(CID, "noor", 5.0)) == "recheck noor"


async def test_a_contacts_effects_keep_their_order_behind_a_slow_one(fake, effector):
    fake.script("POST", "/channels/c1/answer", delay_s=0.3)
    hold = f"hold-{CID}"
    effects = [
        c.Answer(CID, "c1"),
        c.CreateBridge(CID, hold, "holding"),
        c.AddToBridge(CID, hold, ("c1",)),
        c.StartMoh(CID, True, hold),
    ]
    for effect in effects:
        effector.submit(effect)
    effector.submit(ORIGINATE)  # its own lane: not behind the slow answer
    await fake.wait_for("POST", "/channels", timeout=0.2)
    assert fake.lines == ["POST /channels/c1/answer", "POST /channels"]
    await effector.idle()
    assert fake.lines[2:] == [
        f"POST /bridges/{hold}",
        f"POST /bridges/{hold}/addChannel",
        f"POST /bridges/{hold}/moh",
    ]
    assert [o.command for o in effector.reported] == [ORIGINATE, *effects]


async def test_one_slow_request_for_a_child_does_not_delay_another_childs(fake, effector):
    other = "7d1c3a52-8a2d-4d7e-9a55-2f2f8d1b7c22"
    fake.script("POST", "/channels/c1/answer", delay_s=0.5)
    effector.submit(c.Answer(CID, "c1"))
    effector.submit(c.AddToBridge(CID, f"hold-{CID}", ("c1",)))
    effector.submit(c.Answer(other, "c2"))
    effector.submit(c.AddToBridge(other, f"hold-{other}", ("c2",)))
    await fake.wait_for("POST", f"/bridges/hold-{other}/addChannel", timeout=0.3)
    assert fake.matching("POST", f"/bridges/hold-{CID}/*") == []
    await effector.idle()
    assert len(fake.requests) == 4


async def test_recheck_waits_then_reports_the_registration(fake, effector):
    fake.endpoints = [fake_ari.endpoint_json("noor", "online")]
    recheck = c.RecheckPhone(CID, "noor", 0.05)
    reported = await run_effects(effector, recheck)
    assert fake.lines == ["GET /endpoints/PJSIP/noor"]
    assert reported == [EndpointSeen("noor", True), EffectOutcome(CID, recheck, "done")]


async def test_phone_online_reads_the_endpoint_and_counts_errors_as_offline(fake, effector):
    fake.endpoints = [
        fake_ari.endpoint_json("noor", "online"),
        fake_ari.endpoint_json("bram", "offline"),
    ]
    assert await effector.phone_online("noor")
    assert not await effector.phone_online("bram")
    assert not await effector.phone_online("nobody")  # 404
    fake.fail("GET", "/endpoints/PJSIP/noor", 500)
    assert not await effector.phone_online("noor")


async def test_snapshot_subscribes_filters_and_reads_the_three_lists(fake, effector):
    fake.channels = [fake_ari.channel_json("c1")]
    fake.bridges = [fake_ari.bridge_json(f"hold-{CID}", ["c1"])]
    fake.endpoints = [fake_ari.endpoint_json("noor")]
    effector.fetch_snapshot()
    await asyncio.gather(*effector._tasks)
    assert fake.lines[:2] == [
        "POST /applications/helpline/subscription",
        "PUT /applications/helpline/eventFilter",
    ]
    assert fake.requests[0].params == {"eventSource": "endpoint:PJSIP"}
    allowed = {item["type"] for item in fake.requests[1].body["allowed"]}
    assert allowed == {
        "StasisStart",
        "StasisEnd",
        "ChannelDestroyed",
        "ChannelDtmfReceived",
        "PlaybackStarted",
        "PlaybackFinished",
        "EndpointStateChange",
        "ContactStatusChange",
    }
    assert sorted(fake.lines[2:]) == ["GET /bridges", "GET /channels", "GET /endpoints"]
    [snap] = effector.reported
    assert isinstance(snap, AsteriskSnapshot)
    assert [ch.id for ch in snap.channels] == ["c1"]
    assert snap.bridges[0].channel_ids == ("c1",)
    assert snap.endpoints[0].online


async def test_snapshot_retries_until_asterisk_answers(fake, effector, monkeypatch):
    monkeypatch.setattr(effector_module, "SNAPSHOT_RETRY_S", 0.01)
    fake.fail("GET", "/channels", 500, times=2)
    fake.fail("PUT", "/applications/*", 404, times=None)  # an old Asterisk: no filter
    effector.fetch_snapshot()
    async with asyncio.timeout(3):
        await asyncio.gather(*effector._tasks)
    assert len(fake.matching("GET", "/channels")) == 3
    assert len(fake.matching("POST", "/applications/helpline/subscription")) == 3
    assert [type(item) for item in effector.reported] == [AsteriskSnapshot]


# ---------------------------------------------------------------------- through the app


@pytest.mark.parametrize("status", [404, 500])
async def test_failed_originate_offers_the_next_volunteer_and_rechecks(status, monkeypatch):
    monkeypatch.setattr("session.machine.PHONE_RECHECK_S", 0.05)
    async with started_app() as run:
        run.fake.endpoints = [fake_ari.endpoint_json("noor", "online")]
        await run.login_ready("noor")
        await run.login_ready("bram")
        run.fake.fail("POST", "/channels", status)
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        first, second = run.fake.matching("POST", "/channels")
        failed_agent = first.params["endpoint"].removeprefix("PJSIP/")
        assert second.params["channelId"] == vol_leg(contact_id, 2)
        assert second.params["endpoint"] != first.params["endpoint"]
        entry = [e for e in run.journal.entries if e and e["type"] == "OfferFailed"][0]
        assert entry["reason"] == acd.OfferFailure.UNREACHABLE.value
        assert run.engine.sessions[contact_id].state is SessionState.RINGING
        # The phone's registration was looked at again; noor's is online, bram's unknown.
        assert run.fake.lines[-1] == f"GET /endpoints/PJSIP/{failed_agent}"
        expected = failed_agent == "noor"
        assert run.app.acd.agent(failed_agent).phone_reachable is expected


async def test_timed_out_originate_offers_the_next_volunteer(monkeypatch):
    monkeypatch.setattr("session.machine.PHONE_RECHECK_S", 60.0)
    async with started_app(timeout_s=0.3) as run:
        await run.login_ready("noor")
        await run.login_ready("bram")
        run.fake.script("POST", "/channels", hang=True)
        run.feed(caller_enters("c1"))
        await run.fake.wait_for("POST", "/channels", count=2, timeout=3)
        contact_id = run.contact_of("c1")
        legs = [r.params["channelId"] for r in run.fake.matching("POST", "/channels")]
        assert legs == [vol_leg(contact_id, 1), vol_leg(contact_id, 2)]
        await run.app.effector.close()  # the recheck would wait a minute


async def test_404_on_answer_is_the_caller_leaving():
    async with started_app() as run:
        await run.login_ready("noor")
        run.fake.fail("POST", "/channels/c1/answer", 404)
        run.fake.fail("POST", "/bridges/*/addChannel", 404)
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1") if run.engine.contact_of_caller("c1") else None
        assert contact_id is None  # the session ended
        [(done, _, _)] = run.records.written
        assert done.outcome is Outcome.ABANDONED
        leg = vol_leg(done.contact_id)
        assert f"DELETE /channels/{leg}" in run.fake.lines
        assert "DELETE /channels/c1" not in run.fake.lines  # it is gone already
        assert run.app.acd.agent("noor").state is acd.AgentState.AVAILABLE
        assert list(run.app.acd.contacts()) == []


async def test_404_on_hanging_up_a_leg_changes_nothing():
    async with started_app() as run:
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.settle()
        contact_id = run.contact_of("c1")
        run.fake.fail("DELETE", "/channels/*", 404, times=None)
        run.fake.fail("DELETE", "/bridges/*", 404, times=None)
        run.feed(destroyed("c1"))
        await run.settle()
        assert contact_id not in run.engine.sessions
        assert run.records.written[0][0].outcome is Outcome.ABANDONED


async def test_a_slow_reply_for_one_child_does_not_delay_the_next_childs_offer():
    async with started_app() as run:
        await run.login_ready("noor")
        await run.login_ready("bram")
        run.fake.script("POST", "/channels/c1/answer", delay_s=2.0)
        run.feed(caller_enters("c1"))
        await run.fake.wait_for("POST", "/channels/c1/answer", timeout=1)
        run.feed(caller_enters("c2"))
        # c2's offer leaves at once, although c1's answer is still waiting for Asterisk.
        second = await run.fake.wait_for("POST", "/channels", count=2, timeout=0.5)
        slow = run.fake.matching("POST", "/channels/c1/answer")[0]
        assert second.at - slow.at < 0.5
        assert second.params["originator"] == "c2"
        c1_contact, c2_contact = run.contact_of("c1"), run.contact_of("c2")
        # c2 is answered and held too, while c1's lane still waits behind its answer.
        await run.fake.wait_for("POST", f"/bridges/hold-{c2_contact}/addChannel", timeout=0.5)
        assert run.fake.matching("POST", f"/bridges/hold-{c1_contact}*") == []
        assert run.engine.backlog == 0  # the writer is not waiting for Asterisk either
        await run.settle()
        assert run.app.acd.contact(c1_contact).state is ContactState.OFFERED
