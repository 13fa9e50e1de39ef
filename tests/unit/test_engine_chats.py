"""Chats in the engine: their sessions next to the calls', chat effects to the chat effector,
records with their channel, and chats rebuilt after a restart.

Messages are not the engine's business (the hub relays them): these tests see only the
lifecycle the engine tells the chat effector about.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

import acd
from engine import EffectOutcome, Tick
from engine.writer import Engine
from session import chat_commands as cc
from session import chat_events as ce
from session.chat import ChatState, ChatTiming
from session.errors import ChatRefused
from tests.unit.ari_support import T0, FakeClock, FakeJournal, FakeRecords

SETTINGS = acd.AcdSettings(
    ring_timeout_s=20.0, wrap_up_s=30.0, max_wait_s=600.0, max_queue_length=2, max_chats=2
)
TIMING = ChatTiming(grace_s=60.0, queue_notice_s=5.0)
C1 = "chat-" + "1" * 32
C2 = "chat-" + "2" * 32
C3 = "chat-" + "3" * 32
NL = frozenset({"nl"})
CHAT = frozenset({"chat"})


class FakeEffector:
    def __init__(self) -> None:
        self.effects: list[object] = []

    def submit(self, effect: object) -> None:
        self.effects.append(effect)


@dataclass
class Rig:
    engine: Engine
    clock: FakeClock
    chat: FakeEffector
    ari: FakeEffector
    records: FakeRecords
    journal: FakeJournal

    async def at(self, dt: float) -> None:
        """Move the clock on and let the deadlines due by then fire."""
        self.clock.now += dt
        self.engine.put(Tick())
        await self.engine.call(lambda: None)  # the queue is FIFO: the tick is done

    async def open(self, contact_id: str, peer: bool = False) -> cc.ChatNotice:
        notice: cc.ChatNotice = await self.engine.call(
            lambda: self.engine.open_chat(contact_id, peer, "nl", "116111")
        )
        return notice

    async def request(self, contact_id: str, event: ce.ChatEvent) -> None:
        await self.engine.call(lambda: self.engine.chat_request(contact_id, event))

    async def volunteer(self, agent: str, skills: frozenset[str] = CHAT, **kw: object) -> None:
        await self.engine.apply(acd.AgentLoggedIn(agent, "utrecht", skills, NL, **kw))  # type: ignore[arg-type]
        await self.engine.apply(acd.AgentReady(agent))

    def said(self, contact_id: str) -> list[object]:
        return [x for x in self.chat.effects if getattr(x, "contact_id", None) == contact_id]


@asynccontextmanager
async def rig(
    core: acd.Acd | None = None, journal: FakeJournal | None = None
) -> AsyncIterator[Rig]:
    clock = FakeClock()
    records = FakeRecords()
    journal = journal or FakeJournal()
    ari = FakeEffector()
    engine = Engine(
        core or acd.Acd(SETTINGS),
        journal=journal,
        effector=ari,  # type: ignore[arg-type]
        records=records,
        clock=lambda: clock.now,
        default_line_id="116111",
        chat_timing=TIMING,
    )
    chat = FakeEffector()
    engine.add_effector(cc.CHAT_EFFECT_TYPES, chat)  # type: ignore[arg-type]
    engine.reconciled.set()  # no Asterisk to agree with
    task = asyncio.create_task(engine.run())
    try:
        yield Rig(engine, clock, chat, ari, records, journal)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_open_offer_accept_and_the_child_leaves():
    async with rig() as r:
        assert await r.open(C1) == cc.ChatNotice(C1, 1, None)
        assert r.said(C1) == [cc.ChatNotice(C1, 1, None)]
        assert r.engine.acd.contact(C1).channel is acd.Channel.CHAT
        await r.volunteer("noor")
        # The offer reaches the session (and the workspace through the live bus).
        assert r.engine.chats[C1].state is ChatState.OFFERED
        assert r.engine.chats[C1].offered_to == "noor"
        await r.engine.apply(acd.OfferAccepted(C1, "noor"))
        assert r.said(C1)[-1] == cc.ChatJoined(C1, "noor", None)
        await r.request(C1, ce.ChildLeft())
        assert r.said(C1)[-1] == cc.ChatEnded(C1, "child", False)
        assert C1 not in r.engine.chats
        [(done, line, language)] = r.records.written
        assert (done.contact_id, done.outcome, line, language) == (
            C1,
            acd.Outcome.ANSWERED,
            "116111",
            "nl",
        )
        assert r.records.channels[C1] == "chat"
        assert r.ari.effects == []  # nothing of a chat goes to Asterisk
        assert r.engine.acd.agent("noor").state is acd.AgentState.WRAP_UP
        assert r.journal.types[-2:] == ["OfferAccepted", "ContactEnded"]


async def test_a_declined_offer_goes_to_the_next_volunteer():
    async with rig() as r:
        await r.volunteer("noor")
        await r.open(C1)
        await r.volunteer("sam")
        await r.engine.apply(acd.OfferFailed(C1, "noor", acd.OfferFailure.REJECTED))
        assert r.engine.acd.contact(C1).agent_id == "sam"
        assert r.engine.chats[C1].offered_to == "sam"


async def test_the_volunteer_ends_and_blocks_a_peer_chat():
    async with rig() as r:
        await r.volunteer("yara", frozenset({"chat", "peer_chat"}))
        await r.open(C1, peer=True)
        await r.engine.apply(acd.OfferAccepted(C1, "yara"))
        with pytest.raises(ChatRefused) as info:
            await r.request(C1, ce.VolunteerClosed("sam", True))
        assert info.value.code == "not_in_chat"
        await r.request(C1, ce.VolunteerClosed("yara", True))
        assert r.said(C1)[-1] == cc.ChatEnded(C1, "volunteer", True)
        assert r.records.channels[C1] == "peer_chat"
        with pytest.raises(ChatRefused) as info:
            await r.request(C1, ce.ChildAway())
        assert info.value.code == "unknown_chat"


async def test_a_child_away_past_the_grace_ends_the_chat():
    async with rig() as r:
        await r.volunteer("noor")
        await r.open(C1)
        await r.engine.apply(acd.OfferAccepted(C1, "noor"))
        await r.request(C1, ce.ChildAway())
        assert r.engine.next_deadline() == T0 + 60.0
        await r.at(30.0)
        await r.request(C1, ce.ChildBack())
        await r.request(C1, ce.ChildAway())
        await r.at(59.0)
        assert C1 in r.engine.chats
        await r.at(1.0)
        assert r.said(C1)[-1] == cc.ChatEnded(C1, "away", False)
        assert C1 not in r.engine.chats and r.records.channels[C1] == "chat"


async def test_queue_notices_while_waiting():
    async with rig() as r:
        await r.open(C1)
        assert await r.open(C2) == cc.ChatNotice(C2, 2, None)
        await r.at(5.0)
        assert r.said(C2)[-1] == cc.ChatNotice(C2, 2, None)
        await r.request(C1, ce.ChildLeft())
        await r.at(5.0)
        assert r.said(C2)[-1] == cc.ChatNotice(C2, 1, None)  # moved up


async def test_a_full_queue_refuses_a_new_chat_and_the_maximum_wait_overflows():
    async with rig() as r:
        await r.open(C1)
        await r.open(C2)
        with pytest.raises(ChatRefused) as info:
            await r.open(C3)
        assert info.value.code == "queue_full"
        assert C3 not in r.engine.chats and not r.engine.acd.holds(C3)
        # A peer chat a free young volunteer can take is not refused however full the queue.
        await r.volunteer("yara", frozenset({"peer_chat"}))
        await r.open(C3, peer=True)
        assert r.engine.acd.contact(C3).agent_id == "yara"
        await r.engine.apply(acd.OfferAccepted(C3, "yara"))
        await r.request(C3, ce.ChildLeft())
        await r.at(600.0)
        assert r.said(C1)[-1] == cc.ChatEnded(C1, "overflow", False)
        assert {d.contact_id: d.outcome for d, _, _ in r.records.written} == {
            C1: acd.Outcome.OVERFLOWED,
            C2: acd.Outcome.OVERFLOWED,
            C3: acd.Outcome.ANSWERED,
        }
        assert r.engine.chats == {}


async def test_hand_over_to_a_colleague():
    async with rig() as r:
        await r.volunteer("noor")
        await r.open(C1)
        await r.engine.apply(acd.OfferAccepted(C1, "noor"))
        await r.engine.apply(acd.AgentLoggedIn("sam", "utrecht", CHAT, NL))
        with pytest.raises(ChatRefused) as info:  # sam is not ready yet
            await r.request(C1, ce.HandOff("noor", "sam", "note"))
        assert info.value.code == "handoff"
        with pytest.raises(ChatRefused) as info:
            await r.request(C1, ce.HandOff("sam", "noor", "note"))
        assert info.value.code == "not_in_chat"
        await r.engine.apply(acd.AgentReady("sam"))
        await r.request(C1, ce.HandOff("noor", "sam", "bullied at school"))
        assert r.said(C1)[-2:] == [
            cc.ChatLeftBy(C1, "noor"),
            cc.ChatJoined(C1, "sam", "bullied at school"),
        ]
        assert r.engine.chats_of("sam") == [r.engine.chats[C1]]
        assert r.engine.chats_of("noor") == []
        assert r.engine.acd.agent("noor").state is acd.AgentState.WRAP_UP
        assert r.journal.types[-1] == "ContactHandedOver"
        await r.request(C1, ce.VolunteerClosed("sam", False))
        [(done, _, _)] = r.records.written
        assert done.agent_id == "sam"


async def test_a_restart_rebuilds_the_chats_and_counts_every_child_away():
    journal = FakeJournal()
    async with rig(journal=journal) as before:
        await before.volunteer("noor")
        await before.open(C1)
        await before.engine.apply(acd.OfferAccepted(C1, "noor"))
        await before.open(C2)
        await before.open(C3)
        snapshot = before.engine.acd.snapshot()
        clock = before.clock.now
    core = acd.Acd.from_snapshot(snapshot, SETTINGS)
    async with rig(core) as after:
        after.clock.now = clock + 10.0
        assert sorted(await after.engine.call(after.engine.chat_contacts)) == [C1, C2, C3]
        metas = {
            C1: ce.ChatOpened(C1, False, "nl", "116111"),
            C2: ce.ChatOpened(C2, True, "en", "116111"),
        }  # C3's keys are gone
        lost = await after.engine.call(lambda: after.engine.adopt_chats(metas))
        assert lost == [C3]
        assert after.said(C1) == [cc.ChatJoined(C1, "noor", None)]  # the hub learns who is in it
        assert after.engine.chats[C1].state is ChatState.TALKING
        assert after.engine.chats[C2].state is ChatState.OFFERED  # noor has room for two
        assert C3 not in after.engine.chats and not after.engine.acd.holds(C3)
        await after.request(C2, ce.ChildBack())  # C2's child comes back
        await after.at(60.0)
        assert after.said(C1)[-1] == cc.ChatEnded(C1, "away", False)
        assert C2 in after.engine.chats
        channels = {
            d.contact_id: after.records.channels[d.contact_id] for d, _, _ in after.records.written
        }
        assert channels == {C3: None, C1: "chat"}  # C3 ended on the default line, as a chat


async def test_a_failed_chat_effect_is_the_hubs_business_and_changes_nothing():
    async with rig() as r:
        await r.open(C1)
        r.engine.put(EffectOutcome(C1, cc.ChatNotice(C1, 1, None), "error"))
        assert await r.engine.call(lambda: r.engine.chats[C1].state) is ChatState.QUEUED
        assert r.ari.effects == []
