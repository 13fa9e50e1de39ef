"""The wrap-up forms after a restart or take-over: each volunteer's recent contacts read from
storage (SQL and the records spool), the phone rule derived from the records, and how the seed
merges under what the live engine added meanwhile (``LastContacts.seed``)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import acd
from acd import commands as cmd
from engine.writer import Engine
from helpline.last_contacts import LastContact, LastContacts
from helpline.last_contacts_seed import SEED_ROWS, SPOOL_TAIL, from_records, seed_last_contacts
from session.referral import Referral
from storage.errors import RecordsUnavailable, SpoolUnavailable
from storage.record_queue import contact_id_of, record_id
from storage.records import ContactRecordData, MemoryRecordSpool, record_to_json
from tests.record_samples import ended_before
from tests.unit.test_last_contacts import finished

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
WINDOW_S = 30 * 60.0


rec = functools.partial(ended_before, NOW)
"""A record answered and ended so many seconds before NOW."""


def seeded(contact_id: str, ended_at: float, channel: str = "phone", closed: bool = False):
    return LastContact(contact_id, channel, "116111", "nl", None, ended_at, closed)


# ---------------------------------------------------------------------- from the records


def test_a_call_followed_by_an_answered_contact_is_closed_a_chat_never():
    call_1 = rec(900, 800)
    chat = rec(700, 650, channel="chat")
    call_2 = rec(500, 300, referral_partner="veilig-thuis", referral_region="utrecht",
                 referral_consent=True, referral_volunteer_stayed=False)  # fmt: skip
    found = from_records([call_2, call_1, chat])
    anna = found["anna"]
    assert [c.contact_id for c in anna] == [
        call_1.id, "chat-" + uuid.UUID(chat.id).hex, call_2.id,
    ]  # fmt: skip
    assert [c.next_answered for c in anna] == [True, False, False]
    assert [c.channel for c in anna] == ["phone", "chat", "phone"]
    assert anna[2].referral == Referral("veilig-thuis", "utrecht", True, False)
    assert anna[0].referral is None
    assert anna[2].ended_at == (NOW - timedelta(seconds=300)).timestamp()
    assert (anna[2].line_id, anna[2].language) == ("116111", "nl")


def test_a_chat_answered_before_the_call_ended_leaves_it_open_a_later_answer_closes_it():
    # The ACD never offers a call to a volunteer holding a chat; the rule still reads the times:
    # a contact answered before the call ended and ended before it does not close it.
    call = rec(600, 300)
    before = rec(900, 700, channel="chat")
    assert [c.next_answered for c in from_records([call, before])["anna"]] == [False, False]
    # Answered the instant the call ended: after it (the live rule sees the answer after the
    # record), even if it ended at once too.
    same_instant = rec(300, 300)
    closed = {c.contact_id: c.next_answered for c in from_records([call, same_instant])["anna"]}
    assert closed[call.id] is True


def test_only_answered_contacts_each_volunteers_own_and_the_newest_few():
    abandoned = rec(100, 100, agent=None)
    abandoned = dataclasses.replace(
        abandoned, outcome="abandoned", answered_at=None, talk_s=None, location_id=None
    )
    sams = rec(400, 200, agent="sam", channel="peer_chat")
    annas = [rec(1000 - 100 * i, 950 - 100 * i, channel="chat") for i in range(5)]
    found = from_records([abandoned, sams, *annas], recent=3)
    assert set(found) == {"anna", "sam"}
    assert [c.contact_id for c in found["anna"]] == [contact_id_of(r.id, "chat") for r in annas[2:]]
    assert found["sam"][0].channel == "peer_chat"
    assert found["sam"][0].contact_id.startswith("chat-")


def test_a_chats_record_id_gives_back_its_contact_id():
    chat_id = "chat-" + "ab" * 16
    assert contact_id_of(record_id(chat_id), "chat") == chat_id
    assert contact_id_of(record_id(chat_id), "peer_chat") == chat_id
    call_id = str(uuid.uuid4())
    assert contact_id_of(record_id(call_id), "phone") == call_id
    assert contact_id_of("not-a-uuid", "chat") == "not-a-uuid"


# ---------------------------------------------------------------------- the merge rules


def test_the_seed_fills_an_empty_map_and_the_newest_is_the_last_contact():
    last = LastContacts()
    added = last.seed({"anna": [seeded("k1", 100.0, closed=True), seeded("k2", 200.0)]})
    assert added == 2
    assert last.get("anna").contact_id == "k2"
    assert last.get("anna", "k1").next_answered is True
    assert last.get("sam", "k1") is None


def test_a_live_entry_wins_over_the_seeded_one():
    last = LastContacts()
    last.on_record(finished("k1", at=100.0), "0800-0432", "en", None)
    last.on_step(None, [cmd.ConnectContact("k9", "other")])  # someone else answered
    added = last.seed({"noor": [dataclasses.replace(seeded("k1", 90.0), line_id="stale")]})
    assert added == 0
    got = last.get("noor", "k1")
    assert (got.line_id, got.language, got.ended_at) == ("0800-0432", "en", 100.0)


def test_a_seeded_call_is_closed_when_its_volunteer_holds_a_contact_now():
    last = LastContacts()
    last.seed({"noor": [seeded("k1", 100.0), seeded("c1", 100.0, "chat")]}, holding={"noor"})
    assert last.get("noor", "k1").next_answered is True
    assert last.get("noor", "c1").next_answered is False  # chats overlap: never closed so


def test_a_seeded_call_is_closed_when_its_volunteer_answered_in_this_process():
    last = LastContacts()
    # Answered before the seed was merged: nothing of theirs was remembered to close then.
    last.on_step(acd.OfferAccepted("k2", "noor"), [cmd.ConnectContact("k2", "noor")])
    last.seed({"noor": [seeded("k1", 100.0)], "sam": [seeded("k3", 100.0)]})
    assert last.get("noor", "k1").next_answered is True
    assert last.get("sam", "k3").next_answered is False


def test_a_seeded_call_is_closed_by_a_newer_live_contact_not_by_an_older_one():
    last = LastContacts()
    last.on_record(finished("live", at=150.0), "116111", "nl", None)
    last.seed({"noor": [seeded("old", 100.0), seeded("newer", 200.0)]})
    assert last.get("noor", "old").next_answered is True
    assert last.get("noor", "newer").next_answered is False
    assert last.get("noor").contact_id == "newer"  # ordered by their end
    assert last.get("noor", "live").next_answered is False  # the live one is left alone


def test_the_live_rule_goes_on_after_the_seed():
    last = LastContacts()
    last.seed({"noor": [seeded("k1", 100.0)]})
    assert last.get("noor", "k1").next_answered is False
    last.on_step(None, [cmd.ConnectContact("k2", "noor")])
    assert last.get("noor", "k1").next_answered is True


def test_the_seed_keeps_the_bounds():
    last = LastContacts(max_volunteers=3, recent=2)
    last.on_record(finished("live-1", agent_id="v1", at=500.0), "116111", "nl", None)
    last.on_record(finished("live-2", agent_id="v2", at=50.0), "116111", "nl", None)
    found = {
        "v1": [seeded("a", 100.0), seeded("b", 600.0)],  # with v1's live one: the newest two
        "v3": [seeded("c", 300.0)],
        "v4": [seeded("d", 400.0)],
    }
    last.seed(found)
    assert [c.contact_id for c in (last.get("v1", x) for x in ("a", "live-1", "b")) if c] == [
        "live-1", "b",
    ]  # fmt: skip
    # Those only the seed knows go first when the map is full (v3: the oldest of them).
    assert last.get("v2") is not None and last.get("v4") is not None
    assert last.get("v3") is None


# ---------------------------------------------------------------------- reading storage


class FakeRecords:
    def __init__(self, rows: list[ContactRecordData], fail: bool = False, fails: int = 0) -> None:
        """``fail``: SQL never answers; ``fails``: SQL fails so many times, then answers."""
        self.rows = rows
        self.fail = fail
        self.fails = fails
        self.asked: list[tuple[datetime, int]] = []

    def answered_since(self, since: datetime, limit: int) -> list[ContactRecordData]:
        self.asked.append((since, limit))
        if self.fail or len(self.asked) <= self.fails:
            raise RecordsUnavailable("recent contacts not read: OperationalError")
        rows = [r for r in self.rows if r.ended_at >= since]
        return sorted(rows, key=lambda r: r.ended_at, reverse=True)[:limit]


class FakeTime:
    """The engine's clock and the seed's sleep: a nap moves the clock on, at once."""

    def __init__(self) -> None:
        self.now = NOW.timestamp()
        self.naps: list[float] = []
        self.napping: list[Callable[[], None]] = []
        """Called at each nap (before the clock moves): what happens meanwhile."""

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.naps.append(delay)
        for meanwhile in self.napping:
            meanwhile()
        self.now += delay
        await asyncio.sleep(0)


class DownSpool(MemoryRecordSpool):
    async def tail(self, n: int) -> list[str]:
        raise SpoolUnavailable("cannot read the records spool")


async def seed(last, records, spool, core=None, time=None):
    time = time or FakeTime()
    engine = Engine(core or acd.Acd(), clock=time.clock)
    task = asyncio.create_task(engine.run())
    try:
        return await seed_last_contacts(
            last, engine, records, spool, window_s=WINDOW_S, sleep=time.sleep
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_sql_and_the_spool_together_within_the_window():
    written = rec(900, 800)
    too_old = rec(3000, 1900)  # ended 31 minutes ago: its form is closed anyway
    spool = MemoryRecordSpool()
    not_yet_written = rec(500, 300)  # in the spool: SQL has not got it yet
    await spool.push([record_to_json(not_yet_written), record_to_json(too_old), "not json"])
    records = FakeRecords([written, too_old])
    last = LastContacts()
    assert await seed(last, records, spool) == 2
    assert records.asked == [(NOW - timedelta(seconds=WINDOW_S), SEED_ROWS)]
    assert last.get("anna").contact_id == not_yet_written.id
    assert last.get("anna", written.id).next_answered is True  # the spooled one came after
    assert last.get("anna", too_old.id) is None


async def test_a_record_in_both_the_spool_and_sql_is_seeded_once():
    both = rec(500, 300)
    spool = MemoryRecordSpool()
    await spool.push([record_to_json(both)])
    last = LastContacts()
    assert await seed(last, FakeRecords([both]), spool) == 1


async def test_sql_down_seeds_from_the_spool_at_once_then_retries(caplog):
    spool = MemoryRecordSpool()
    spooled = rec(500, 300)
    await spool.push([record_to_json(spooled)])
    last = LastContacts()
    time = FakeTime()
    seen: list[LastContact | None] = []
    # While the seed waits for SQL the spooled form is there already.
    time.napping.append(lambda: seen.append(last.get("anna")))
    with caplog.at_level(logging.INFO):
        assert await seed(last, FakeRecords([rec(900, 800)], fails=1), spool, time=time) == 2
    assert [c.contact_id for c in seen if c] == [spooled.id]
    assert last.get("anna").contact_id == spooled.id


async def test_sql_failing_twice_then_working_brings_the_forms_back(caplog):
    spool = MemoryRecordSpool()
    spooled = rec(500, 300)  # anna's last call, in the spool
    both = rec(700, 600, agent="sam")  # in the spool and already in SQL
    await spool.push([record_to_json(spooled), record_to_json(both)])
    annas_first = rec(900, 800)  # SQL only: anna answered the spooled one after it
    noors = rec(1000, 900, agent="noor")  # SQL only: noor answers a call in this process
    kims = rec(1000, 950, agent="kim", channel="chat")  # SQL only: a chat, still open
    records = FakeRecords([annas_first, noors, kims, both], fails=2)
    last = LastContacts()
    time = FakeTime()

    def noor_answers() -> None:  # the live engine, between two tries
        if len(time.naps) == 2:
            last.on_step(acd.OfferAccepted("k7", "noor"), [cmd.ConnectContact("k7", "noor")])

    time.napping.append(noor_answers)
    with caplog.at_level(logging.INFO, logger="helpline.last_contacts_seed"):
        assert await seed(last, records, spool, time=time) == 5
    assert time.naps == [1.0, 2.0]  # the backoff doubles from 1 s
    # Each try asks for the window since the take-over, not since the try.
    assert records.asked == [(NOW - timedelta(seconds=WINDOW_S), SEED_ROWS)] * 3
    assert last.get("anna").contact_id == spooled.id
    assert last.get("anna", annas_first.id).next_answered is True
    assert last.get("noor", noors.id).next_answered is True
    assert last.get("kim", contact_id_of(kims.id, "chat")).next_answered is False
    assert last.get("sam").contact_id == both.id  # once: the spool gave it first
    # Once when SQL is away, once when the seed is done; nothing of any record.
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(said) == 2, said
    assert said[0][0] == logging.WARNING and "unreachable" in said[0][1]
    assert said[1][0] == logging.INFO and "restored" in said[1][1]
    for rec_ in (spooled, both, annas_first, noors, kims):
        assert rec_.id not in caplog.text and rec_.line_id not in caplog.text


async def test_sql_never_back_within_the_window_the_seed_ends_by_itself(caplog):
    spool = MemoryRecordSpool()
    spooled = rec(500, 300)
    await spool.push([record_to_json(spooled)])
    records = FakeRecords([rec(900, 800)], fail=True)
    last = LastContacts()
    time = FakeTime()
    with caplog.at_level(logging.WARNING):
        assert await seed(last, records, spool, time=time) == 1
    assert last.get("anna").contact_id == spooled.id
    # Doubling from 1 s to 30 s, and no nap past the window since the take-over.
    assert time.naps[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert max(time.naps) == 30.0
    assert sum(time.naps) == pytest.approx(WINDOW_S)
    assert time.now == pytest.approx(NOW.timestamp() + WINDOW_S)
    assert len(records.asked) == len(time.naps)  # no try once the window has passed
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1
    assert "not restored" in caplog.text
    # After that the live rule alone closes a form (the seed remembers no more answers).
    last.on_step(None, [cmd.ConnectContact("k2", "anna")])
    assert last.get("anna", spooled.id).next_answered is True


async def test_stopping_during_the_retry_leaves_no_task_and_no_warning(caplog):
    last = LastContacts()
    engine = Engine(acd.Acd(), clock=lambda: NOW.timestamp())
    running = asyncio.create_task(engine.run())
    napping = asyncio.Event()

    async def long_nap(delay: float) -> None:
        napping.set()
        await asyncio.Event().wait()  # SQL stays away: only a stop ends this

    records = FakeRecords([rec(900, 800)], fail=True)
    with caplog.at_level(logging.WARNING):
        seeding = asyncio.create_task(
            seed_last_contacts(last, engine, records, None, window_s=WINDOW_S, sleep=long_nap)
        )
        await napping.wait()
        seeding.cancel()
        await asyncio.gather(seeding, return_exceptions=True)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert seeding.cancelled()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "unreachable" in said[0], said
    assert len(records.asked) == 1


async def test_the_spool_down_seeds_from_sql():
    written = rec(900, 800)
    last = LastContacts()
    assert await seed(last, FakeRecords([written]), DownSpool()) == 1
    assert last.get("anna").contact_id == written.id


async def test_the_spool_is_read_from_its_tail_and_bounded():
    spool = MemoryRecordSpool()
    await spool.push([str(i) for i in range(SPOOL_TAIL + 5)])
    got = await spool.tail(SPOOL_TAIL)
    assert len(got) == SPOOL_TAIL and got[-1] == str(SPOOL_TAIL + 4)
    assert await spool.tail(0) == []


async def test_a_volunteer_holding_a_contact_in_the_recovered_core_has_answered_since():
    core = acd.Acd()
    core.handle(acd.AgentLoggedIn("anna", "utrecht", frozenset({"phone"}), frozenset({"nl"})), 0.0)
    core.handle(acd.AgentReady("anna"), 0.0)
    core.handle(acd.ContactArrived("k9", acd.Channel.PHONE), 1.0)
    core.handle(acd.OfferAccepted("k9", "anna"), 2.0)
    call = rec(900, 800)
    last = LastContacts()
    await seed(last, FakeRecords([call]), None, core)
    assert last.get("anna", call.id).next_answered is True


async def test_a_stopped_engine_seeds_nothing():
    engine = Engine(acd.Acd(), clock=lambda: NOW.timestamp())
    engine.stopped = RuntimeError("journal failed")
    last = LastContacts()
    assert await seed_last_contacts(last, engine, FakeRecords([rec(9, 8)]), None, window_s=60) == 0
    assert last.get("anna") is None


async def test_a_bug_while_seeding_is_logged_and_stops_nothing(caplog):
    class Broken(FakeRecords):
        def answered_since(self, since: datetime, limit: int) -> list[ContactRecordData]:
            raise KeyError("bug")

    last = LastContacts()
    with caplog.at_level(logging.ERROR):
        assert await seed(last, Broken([]), None) == 0
    assert "seeding failed" in caplog.text


@pytest.mark.parametrize("outcome", ["abandoned", "overflowed"])
def test_nobodys_contact_is_never_seeded(outcome):
    r = dataclasses.replace(
        rec(100, 50), outcome=outcome, answered_at=None, volunteer_id=None, talk_s=None
    )
    assert from_records([r]) == {}
