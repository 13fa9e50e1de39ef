"""The chat's adapter on the real engine: ``helpline.chat_gateway.EngineChats`` carries the
web layer's requests into the writer, ``chat.effector.ChatEffector`` carries the sessions'
commands to the hub; the in-memory transcript store and fake sockets stand in for Redis and
the browsers, a fake clock for time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import acd
from chat.effector import ChatEffector
from chat.errors import ChatClosed, ChatConflict, ChatQueueFull
from chat.hub import ChatHub
from chat.ids import new_chat_id
from chat.store import ChatMeta
from config.chat import ChatSection
from engine import EffectOutcome, Tick
from engine.writer import Engine
from helpline.chat_gateway import EngineChats, StandbyChats
from helpline.live_bus import start_live_bus
from helpline.service import recovered_chats
from ivr.hours import HoursStatus
from session.chat import ChatTiming
from session.chat_commands import CHAT_EFFECT_TYPES, ChatEnded
from tests.unit.ari_support import FakeClock, FakeJournal, FakeRecords
from tests.unit.chat_support import FakeSocket, MemoryStore

SETTINGS = acd.AcdSettings(
    ring_timeout_s=20.0, wrap_up_s=30.0, max_wait_s=600.0, max_queue_length=1, max_chats=2
)
CFG = ChatSection(enabled=True, token_key="k" * 20, grace_s=60.0, messages_per_10s=5)


class Null:
    def submit(self, effect: object) -> None:
        pass


@dataclass
class Rig:
    engine: Engine
    clock: FakeClock
    store: MemoryStore
    hub: ChatHub
    chats: EngineChats
    effector: ChatEffector
    outcomes: list[EffectOutcome]
    hours: list[HoursStatus]

    async def open(self, peer: bool = False) -> str:
        """As ``POST /api/v1/chat`` does."""
        chat_id = new_chat_id()
        await self.store.create(ChatMeta(chat_id, peer, "nl", "116111", 1.0), "tok-" + chat_id)
        notice = await self.chats.open_chat(chat_id, peer, "nl", "116111")
        self.hub.opened(chat_id, notice.position, notice.wait_s)
        await self.settle()
        return chat_id

    async def volunteer(self, agent: str = "anna") -> None:
        skills = frozenset({"chat"})
        await self.engine.apply(acd.AgentLoggedIn(agent, "utrecht", skills, frozenset({"nl"})))
        await self.engine.apply(acd.AgentReady(agent))

    async def settle(self) -> None:
        """Everything queued so far is done: the writer's queue, then the effects."""
        await self.engine.call(lambda: None)
        await self.effector.idle()

    async def at(self, dt: float) -> None:
        self.clock.now += dt
        self.engine.put(Tick())
        await self.settle()


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock()
    engine = Engine(
        acd.Acd(SETTINGS),
        journal=FakeJournal(),
        effector=Null(),  # type: ignore[arg-type]
        records=FakeRecords(),
        clock=lambda: clock.now,
        default_line_id="116111",
        chat_timing=ChatTiming(grace_s=CFG.grace_s, queue_notice_s=CFG.queue_notice_s),
    )
    bus = start_live_bus(engine, ZoneInfo("Europe/Amsterdam"))
    hours = [HoursStatus(True, "schedule", None, None)]
    store = MemoryStore()
    chats = EngineChats(engine, bus, CFG, lambda line, now: hours[0])
    standby = StandbyChats()
    standby.attach(chats)
    hub = ChatHub(store, standby, max_chars=100, messages_per_10s=5, clock=clock)
    outcomes: list[EffectOutcome] = []
    effector = ChatEffector(hub, outcomes.append)
    engine.add_effector(CHAT_EFFECT_TYPES, effector)
    engine.reconciled.set()
    task = asyncio.create_task(engine.run())
    try:
        yield Rig(engine, clock, store, hub, chats, effector, outcomes, hours)
    finally:
        await effector.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_chat_from_opening_through_accept_and_messages_to_the_grace_end():
    async with rig() as r:
        chat_id = await r.open()
        child = FakeSocket()
        cconn = await r.hub.attach_child(chat_id, child)
        pump = asyncio.create_task(cconn.pump())
        hello = await child.wait_for("hello")
        assert (hello["state"], hello["position"]) == ("queued", 1)
        await r.volunteer("anna")
        await r.settle()
        assert r.hub.member(chat_id) is None  # offered, not yet accepted
        with pytest.raises(ChatConflict, match="not offered"):
            await r.chats.accept("bram", chat_id)
        vol = FakeSocket()
        vconn = r.hub.attach_volunteer("anna", vol)
        vpump = asyncio.create_task(vconn.pump())
        await r.chats.accept("anna", chat_id)
        await r.settle()
        assert r.hub.member(chat_id) == "anna"
        assert await child.wait_for("joined") == {"type": "joined"}
        assert r.chats.chats_of("anna") == [chat_id]
        await r.hub.child_frame(cconn, json.dumps({"type": "msg", "text": "hoi"}))
        assert (await vol.wait_for("msg"))["text"] == "hoi"
        await r.hub.volunteer_frame(
            vconn, json.dumps({"type": "msg", "chat": chat_id, "text": "hallo"})
        )
        assert (await child.wait_for("msg"))["text"] == "hallo"
        # The child's page goes: away; back within the grace; away again past it: ended.
        r.hub.detach(cconn)
        await r.settle()
        await r.at(30)
        child2 = FakeSocket()
        cconn2 = await r.hub.attach_child(chat_id, child2)
        pump2 = asyncio.create_task(cconn2.pump())
        assert [m["text"] for m in (await child2.wait_for("hello"))["messages"]] == [
            "hoi",
            "hallo",
        ]
        await r.settle()
        await r.at(45)  # 75 s after the first away: the return reset the grace
        assert chat_id in r.store.metas
        r.hub.detach(cconn2)
        await r.settle()
        await r.at(61)
        assert await vol.wait_for("ended") == {"type": "ended", "chat": chat_id, "by": "away"}
        assert chat_id not in r.store.metas and chat_id not in r.store.logs
        assert r.chats.chats_of("anna") == []
        assert r.outcomes == []
        for task in (pump, vpump, pump2):
            task.cancel()
        await asyncio.gather(pump, vpump, pump2, return_exceptions=True)


async def test_the_volunteer_ends_and_blocks_and_the_child_hears_it():
    async with rig() as r:
        await r.volunteer("anna")
        chat_id = await r.open()
        child = FakeSocket()
        pump = asyncio.create_task((await r.hub.attach_child(chat_id, child)).pump())
        await r.chats.accept("anna", chat_id)
        await r.settle()
        with pytest.raises(ChatConflict) as refused:
            await r.chats.end("bram", chat_id, True)
        assert refused.value.code == "not_in_chat"
        await r.chats.end("anna", chat_id, True)
        await r.settle()
        assert await child.wait_for("ended") == {"type": "ended", "by": "volunteer"}
        assert await child.wait_closed() == 1000
        assert r.store.blocks == {"tok-" + chat_id}
        with pytest.raises(ChatConflict) as refused:
            await r.chats.end("anna", chat_id, False)
        assert refused.value.code == "unknown_chat"
        await pump


async def test_the_child_ends_from_the_socket():
    async with rig() as r:
        chat_id = await r.open()
        child = FakeSocket()
        conn = await r.hub.attach_child(chat_id, child)
        pump = asyncio.create_task(conn.pump())
        await r.settle()
        await r.hub.child_frame(conn, json.dumps({"type": "end"}))
        await r.settle()
        await r.settle()  # the ACD's account of the end, then the chat's
        assert await child.wait_for("ended") == {"type": "ended", "by": "child"}
        await pump


async def test_a_page_that_never_connects_ends_after_the_grace():
    async with rig() as r:
        chat_id = await r.open()
        await r.at(CFG.grace_s - 1)
        assert chat_id in r.store.metas
        await r.at(2)
        await r.settle()  # the ACD's account of the end, then the chat's
        assert chat_id not in r.store.metas
        assert r.store.ends["tok-" + chat_id].by == "away"


async def test_closed_hours_and_a_full_queue_are_refused():
    async with rig() as r:
        r.hours[0] = HoursStatus(
            False, "schedule", None, datetime.fromisoformat("2026-12-03T10:00:00+00:00")
        )
        assert r.chats.status(r.clock.now).opens_at == "2026-12-03T10:00:00+00:00"
        with pytest.raises(ChatClosed):
            await r.chats.open_chat(new_chat_id(), False, "nl", "116111")
        r.hours[0] = HoursStatus(True, "schedule", None, None)
        await r.open()  # the queue holds one
        with pytest.raises(ChatQueueFull):
            await r.chats.open_chat(new_chat_id(), False, "nl", "116111")


async def test_a_hand_over_moves_the_chat_to_the_colleague():
    async with rig() as r:
        await r.volunteer("anna")
        chat_id = await r.open()
        await r.chats.accept("anna", chat_id)
        await r.volunteer("bram")
        await r.settle()
        bram = FakeSocket()
        bpump = asyncio.create_task(r.hub.attach_volunteer("bram", bram).pump())
        await r.chats.handoff("anna", chat_id, "bram", "pesten")
        await r.settle()
        assert r.hub.member(chat_id) == "bram"
        joined = await bram.wait_for("joined")
        assert (joined["chat"], joined["note"]) == (chat_id, "pesten")
        bpump.cancel()
        await asyncio.gather(bpump, return_exceptions=True)


async def test_a_failed_end_is_reported_to_the_engine():
    async with rig() as r:
        chat_id = await r.open()
        r.store.fail = True
        r.effector.submit(ChatEnded(chat_id, "closed"))
        await r.effector.idle()
        assert [(o.contact_id, o.kind) for o in r.outcomes] == [(chat_id, "unavailable")]


async def test_after_a_restart_the_hub_learns_who_is_in_each_recovered_chat():
    async with rig() as r:
        await r.volunteer("anna")
        chat_id = await r.open()
        await r.chats.accept("anna", chat_id)
        lost = await r.open()
        await r.store.discard(lost, "tok-" + lost)  # its keys expired: nothing to adopt it by
        await r.settle()
        core = r.engine.acd
    # A new process: the same core (as recovered from the journal), a fresh hub.
    async with rig() as fresh:
        engine = Engine(
            core,
            journal=FakeJournal(),
            effector=Null(),  # type: ignore[arg-type]
            records=FakeRecords(),
            clock=lambda: fresh.clock.now,
            default_line_id="116111",
            chat_timing=ChatTiming(grace_s=CFG.grace_s),
        )
        hub = ChatHub(r.store, StandbyChats(), max_chars=100, messages_per_10s=5)
        effector = ChatEffector(hub, fresh.outcomes.append)
        engine.add_effector(CHAT_EFFECT_TYPES, effector)
        engine.reconciled.set()
        task = asyncio.create_task(engine.run())
        try:
            assert sorted(engine.chat_contacts()) == sorted([chat_id, lost])
            metas = await recovered_chats(engine.chat_contacts(), r.store)
            assert list(metas) == [chat_id]
            assert metas[chat_id].language == "nl"
            await engine.call(lambda: engine.adopt_chats(metas))
            await effector.idle()
            assert hub.member(chat_id) == "anna"
            assert lost not in engine.chats  # ended by the engine
        finally:
            await effector.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
