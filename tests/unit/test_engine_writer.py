"""The engine's writer, the lanes, the HTTP gateway and ``HelplineApp.run`` on the fake ARI:
journal failures stop the engine, requests come back through the writer, deadlines fire by
themselves, and the whole app follows the events websocket through a reconnection."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import acd
from acd import AgentState, ContactState
from ari_app.app import HelplineApp
from ari_app.client import AriClient
from engine import EngineStopped, Lanes
from engine.writer import Engine
from helpline.gateway import AppGateway
from helpline.live_bus import start_live_bus
from helpline.partners import PartnerDirectory
from ivr.hours import HoursStatus
from live.view import DEFAULT_TZ
from session.states import SessionState
from tests.unit import fake_ari
from tests.unit.ari_support import (
    SETTINGS,
    FakeJournal,
    FakeRecords,
    caller_enters,
    config,
    started_app,
    vol_leg,
)
from tests.unit.fake_ari import channel_json

NL = frozenset({"nl"})
PHONE = frozenset({"phone"})
ALWAYS_OPEN = HoursStatus(True, "schedule", None, None)


def gateway_for(app):
    """The API's gateway as the service builds it: views come from a live bus on the engine."""
    partners = PartnerDirectory(app.cfg, lambda schedule, now: ALWAYS_OPEN)
    return AppGateway(app, start_live_bus(app.engine, DEFAULT_TZ), partners)


# ---------------------------------------------------------------------- the journal


async def test_journal_failure_stops_the_engine_before_the_offer_goes_out():
    async with started_app() as run:
        await run.login_ready("noor")
        run.journal.fail_from = len(run.journal.entries)
        run.feed(caller_enters("c1"))
        with pytest.raises(EngineStopped) as stopped:
            async with asyncio.timeout(5):
                await asyncio.shield(run.task)
        assert isinstance(stopped.value.__cause__, ConnectionError)
        assert run.engine.stopped is stopped.value
        await run.app.effector.idle()
        # The ContactArrived was never journaled: nothing of that step reaches Asterisk,
        # neither the core's offer nor the session's answer and holding bridge.
        assert run.fake.requests == []
        assert run.app.acd.agent("noor").state is AgentState.OFFERED  # memory is ahead
        assert run.journal.types == ["AgentLoggedIn", "AgentReady"]


async def test_journal_failure_fails_the_request_that_caused_it_and_those_waiting():
    async with started_app() as run:
        gateway = gateway_for(run.app)
        await gateway.login("noor", "utrecht", PHONE, NL)
        run.journal.fail_from = len(run.journal.entries)
        first = asyncio.ensure_future(gateway.submit(acd.AgentReady("noor")))
        second = asyncio.ensure_future(gateway.submit(acd.AgentPaused("noor", "break")))
        async with asyncio.timeout(5):
            results = await asyncio.gather(first, second, return_exceptions=True)
        assert [type(r) for r in results] == [EngineStopped, EngineStopped]
        assert run.task.done()


async def test_snapshots_are_saved_every_n_journal_entries():
    journal = FakeJournal()
    engine = Engine(acd.Acd(SETTINGS), journal=journal, snapshot_every=2, clock=lambda: 1.0)
    task = asyncio.create_task(engine.run())
    try:
        await engine.apply(acd.AgentLoggedIn("noor", "utrecht", PHONE, NL))
        assert journal.snapshots == 0
        await engine.apply(acd.AgentReady("noor"))
        assert journal.snapshots == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_refused_event_is_not_journaled_and_raises_to_the_caller():
    journal = FakeJournal()
    engine = Engine(acd.Acd(SETTINGS), journal=journal, clock=lambda: 1.0)
    task = asyncio.create_task(engine.run())
    try:
        with pytest.raises(acd.UnknownAgent):
            await engine.apply(acd.AgentReady("nobody"))
        assert journal.entries == []
        assert await engine.call(lambda: 42) == 42
        with pytest.raises(ZeroDivisionError):
            await engine.call(lambda: 1 / 0)
        assert not task.done()  # neither stopped the line
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_failing_input_is_logged_and_the_next_one_is_processed(caplog):
    class Boom:
        pass

    class BrokenRouter:
        input_types = (Boom,)

        def route(self, item: object) -> None:
            raise RuntimeError("router bug")

    engine = Engine(acd.Acd(SETTINGS), clock=lambda: 1.0)
    engine.add_router(BrokenRouter())
    task = asyncio.create_task(engine.run())
    try:
        with caplog.at_level(logging.WARNING, "engine.writer"):
            engine.put(Boom())
            engine.put(object())  # no router for it
            assert await engine.call(lambda: "still here") == "still here"
        messages = [r.getMessage() for r in caplog.records]
        assert messages == ["failed to process Boom", "no router for object"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_records_of_contacts_without_a_session_go_to_the_sink():
    records = FakeRecords()
    engine = Engine(
        acd.Acd(SETTINGS), records=records, clock=lambda: 10.0, default_line_id="116111"
    )
    task = asyncio.create_task(engine.run())
    try:
        await engine.apply(acd.ContactArrived("k1", acd.Channel.PHONE, language="en"))
        await engine.apply(acd.ContactEnded("k1"))
        [(done, line_id, language)] = records.written
        assert (done.contact_id, done.outcome, line_id, language) == (
            "k1",
            acd.Outcome.ABANDONED,
            "116111",
            "en",
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# ---------------------------------------------------------------------- deadlines


async def test_the_ring_timeout_fires_by_itself():
    loop = asyncio.get_running_loop()
    start = loop.time()

    def clock() -> float:
        return 1_764_669_600.0 + loop.time() - start

    fast = acd.AcdSettings(ring_timeout_s=0.3, wrap_up_s=1.0, max_no_answer=5)
    async with started_app(core=acd.Acd(fast)) as run:
        run.engine.clock = clock
        await run.login_ready("noor")
        run.feed(caller_enters("c1"))
        await run.fake.wait_for("POST", "/channels")
        contact_id = run.contact_of("c1")
        # No Tick fed by the test: the engine armed its own timer.
        second = await run.fake.wait_for("POST", "/channels", count=2, timeout=3)
        assert second.params["channelId"] == vol_leg(contact_id, 2)
        hangup = run.fake.matching("DELETE", f"/channels/{vol_leg(contact_id)}")[0]
        assert hangup.at - run.fake.matching("POST", "/channels")[0].at >= 0.25


# ---------------------------------------------------------------------- the gateway


async def test_gateway_login_reads_the_registration_from_memory():
    async with started_app() as run:
        gateway = gateway_for(run.app)
        run.app.router.phones["bram"] = True
        await gateway.login("noor", "utrecht", PHONE, NL)  # never heard of: offline
        await gateway.login("bram", "utrecht", PHONE, NL)
        assert run.fake.requests == []  # no request to Asterisk on the way
        assert not run.app.acd.agent("noor").phone_reachable
        assert run.app.acd.agent("bram").phone_reachable
        await gateway.submit(acd.AgentReady("bram"))
        view = gateway.agent_view("bram")
        assert view is not None
        assert view["state"] == "available"
        assert view["phone_registered"] is True
        assert view["location_id"] == "utrecht"
        assert view["contacts"] == []
        assert gateway.agent_view("nobody") is None
        with pytest.raises(acd.UnknownAgent):
            await gateway.submit(acd.AgentReady("nobody"))


async def test_gateway_views_a_call_in_progress_and_the_queue():
    async with started_app() as run:
        gateway = gateway_for(run.app)
        run.app.router.phones["noor"] = True
        await gateway.login("noor", "utrecht", PHONE, NL)
        await gateway.submit(acd.AgentReady("noor"))
        run.feed(caller_enters("c1"), caller_enters("c2"))
        await run.settle()
        contact_id = run.contact_of("c1")
        view = gateway.agent_view("noor")
        assert view is not None
        assert (view["state"], view["offer"]) == ("offered", contact_id)
        queue = gateway.queue_view()
        phone = queue["channels"]["phone"]
        assert phone["waiting"] == 1 and queue["channels"]["chat"]["waiting"] == 0
        assert phone["oldest_arrived_at"] == run.app.acd.contact(run.contact_of("c2")).arrived_at
        assert queue["agents_by_state"]["offered"] == 1
        assert queue["agents_by_location"] == {"utrecht": 1}


# ---------------------------------------------------------------------- lanes


async def test_lanes_keep_order_per_key_run_keys_concurrently_and_survive_errors(caplog):
    done: list[str] = []
    gates = {"a1": asyncio.Event()}

    async def work(item: str) -> None:
        if item in gates:
            await gates[item].wait()
        if item == "b-bad":
            raise RuntimeError("bug")
        done.append(item)

    lanes: Lanes[str] = Lanes(work)
    for key, item in [("a", "a1"), ("a", "a2"), ("b", "b-bad"), ("b", "b1")]:
        lanes.submit(key, item)
    assert len(lanes) == 2
    with caplog.at_level(logging.ERROR, "engine.lanes"):
        for _ in range(5):
            await asyncio.sleep(0)
    assert done == ["b1"]  # lane b ran past its failure; lane a waits on a1
    assert len(lanes) == 1
    assert [r.getMessage() for r in caplog.records] == ["effect failed unexpectedly"]
    gates["a1"].set()
    await lanes.idle()
    assert done == ["b1", "a1", "a2"]
    assert len(lanes) == 0


async def test_lanes_close_cancels_waiting_work():
    started = asyncio.Event()

    async def work(item: str) -> None:
        started.set()
        await asyncio.sleep(60)

    lanes: Lanes[str] = Lanes(work)
    lanes.submit("a", "x")
    lanes.submit("a", "y")
    await started.wait()
    async with asyncio.timeout(1):
        await lanes.close()
    assert len(lanes) == 0


# ---------------------------------------------------------------------- HelplineApp.run


def stasis_start_json(channel_id: str) -> dict:
    return {
        "type": "StasisStart",
        "application": "helpline",
        "args": ["inbound", "116111"],
        "channel": channel_json(channel_id, state="Ring"),
    }


async def test_the_whole_app_follows_the_event_websocket_through_a_reconnection():
    async with fake_ari.serve() as fake:
        async with AriClient(fake.base_url, fake_ari.USER, fake_ari.PASSWORD, "helpline") as ari:
            cfg = config().model_copy(
                update={
                    "asterisk": config().asterisk.model_copy(
                        update={"http_port": int(fake.base_url.split(":")[2].split("/")[0])}
                    )
                }
            )
            journal = FakeJournal()
            app = HelplineApp(cfg, ari, acd.Acd(SETTINGS), store=journal, clock=time.time)
            task = asyncio.create_task(app.run())
            try:
                async with asyncio.timeout(5):
                    await app.reconciled.wait()
                assert app.ari_connected
                await gateway_for(app).login("noor", "utrecht", PHONE, NL)
                await app.engine.apply(acd.AgentReachability("noor", True))
                await app.engine.apply(acd.AgentReady("noor"))
                fake.send_event(stasis_start_json("c1"))
                originate = await fake.wait_for("POST", "/channels")
                assert originate.params["originator"] == "c1"
                contact_id = app.engine.contact_of_caller("c1")
                assert app.engine.sessions[contact_id].state is SessionState.RINGING

                # Asterisk drops the websocket: reconnect (short backoff) and reconcile.
                fake.channels = [channel_json("c1")]
                fake.endpoints = [fake_ari.endpoint_json("noor")]
                fake.bridges = [fake_ari.bridge_json(f"hold-{contact_id}", ["c1"])]
                fake.drop_websocket()
                await fake.wait_for("GET", "/channels", count=2, timeout=5)
                async with asyncio.timeout(5):
                    while not (app.reconciled.is_set() and app.router.connected):
                        await asyncio.sleep(0.01)
                assert fake.ws_connections == 2
                # The ringing leg is not in Asterisk's list: offered again on a new leg.
                third = await fake.wait_for("POST", "/channels", count=2, timeout=5)
                assert third.params["channelId"] == vol_leg(contact_id, 2)
                assert app.acd.contact(contact_id).state is ContactState.OFFERED
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            assert task.cancelled()


async def test_app_run_raises_when_the_engine_stops():
    async with fake_ari.serve() as fake:
        async with AriClient(fake.base_url, fake_ari.USER, fake_ari.PASSWORD, "helpline") as ari:
            journal = FakeJournal()
            journal.fail_from = 0
            app = HelplineApp(config(), ari, acd.Acd(SETTINGS), store=journal)
            task = asyncio.create_task(app.run())
            with pytest.raises(EngineStopped):
                async with asyncio.timeout(5):
                    await gateway_for(app).login("noor", "utrecht", PHONE, NL)
            with pytest.raises(EngineStopped):
                async with asyncio.timeout(5):
                    await task


async def test_a_standby_after_a_journal_failure_admits_the_waiting_child():
    # Had the child been answered and bridged by the stopped engine, the standby would find
    # them in a bridge of a contact it never heard of and hang them up.
    async with started_app() as first:
        await first.login_ready("noor")
        first.journal.fail_from = len(first.journal.entries)
        first.feed(caller_enters("c1"))
        with pytest.raises(EngineStopped):
            async with asyncio.timeout(5):
                await asyncio.shield(first.task)
        await first.app.effector.idle()
        held = [r.path.split("/")[2] for r in first.fake.matching("POST", "/bridges/*/addChannel")]

    def asterisk_now(run) -> None:
        # What Asterisk holds after the first engine stopped: the child, in any bridge
        # the first engine had put them in.
        run.fake.channels = [channel_json("c1")]
        run.fake.bridges = [fake_ari.bridge_json(bridge, ["c1"]) for bridge in held]
        run.fake.endpoints = [fake_ari.endpoint_json("noor")]

    core = acd.Acd(SETTINGS)  # replayed from the journal: noor logged in and ready
    core.handle(acd.AgentLoggedIn("noor", "utrecht", PHONE, NL), 1.0)
    core.handle(acd.AgentReady("noor"), 1.0)
    async with started_app(core=core, before_connect=asterisk_now, clear=False) as standby:
        assert "DELETE /channels/c1" not in standby.fake.lines
        assert standby.engine.contact_of_caller("c1") is not None
