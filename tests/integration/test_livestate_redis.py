"""Live state against the real Redis at 127.0.0.1:6379: lease, fencing, journal, snapshots."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from storage.errors import (
    CorruptJournal,
    CorruptSnapshot,
    JournalConflict,
    LeaseLost,
    NotLoaded,
    UnsupportedFormat,
)
from storage.journal import JournalEntry, LiveStateStore
from storage.lease import LeaderLease
from tests.integration.redis_support import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def prefix(redis: aioredis.Redis) -> AsyncIterator[str]:
    """A random key prefix per test; every key under it is deleted afterwards."""
    value = f"test:livestate:{uuid.uuid4().hex}"
    yield value
    keys = [k async for k in redis.scan_iter(match=f"{value}:*")]
    if keys:
        await redis.delete(*keys)


async def lease_gone(redis: aioredis.Redis, key: str) -> bool:
    return not await redis.exists(key)


# --- lease -------------------------------------------------------------------------------------


async def test_lease_is_exclusive_until_released(redis: aioredis.Redis, prefix: str) -> None:
    a = LeaderLease(redis, f"{prefix}:lease", "a", ttl_s=10)
    b = LeaderLease(redis, f"{prefix}:lease", "b", ttl_s=10)
    assert await a.acquire()
    assert a.held
    assert not await b.acquire()
    assert not b.held
    # B cannot renew or release what A holds.
    assert not await b.renew()
    assert not await b.release()
    assert await redis.get(f"{prefix}:lease") == b"a"
    # Acquiring again while holding it counts as a renewal.
    assert await a.acquire()
    assert await a.release()
    assert not a.held
    assert await b.acquire()
    assert b.held


async def test_renew_extends_the_ttl(redis: aioredis.Redis, prefix: str) -> None:
    a = LeaderLease(redis, f"{prefix}:lease", "a", ttl_s=0.5)
    assert await a.acquire()
    await redis.pexpire(f"{prefix}:lease", 50)  # pretend most of the TTL has passed
    assert await a.renew()
    assert await redis.pttl(f"{prefix}:lease") > 100


async def test_standby_takes_over_after_expiry(redis: aioredis.Redis, prefix: str) -> None:
    old = LeaderLease(redis, f"{prefix}:lease", "old", ttl_s=0.2)
    new = LeaderLease(redis, f"{prefix}:lease", "new", ttl_s=5)
    assert await old.acquire()
    assert not await new.acquire()
    await new.acquire_wait(poll_s=0.02, timeout_s=3)
    assert new.held
    assert await redis.get(f"{prefix}:lease") == b"new"
    # The old holder finds out on its next renewal and cannot disturb the new one.
    assert not await old.renew()
    assert not old.held
    assert not await old.release()
    assert await redis.get(f"{prefix}:lease") == b"new"


async def test_acquire_wait_times_out_while_held(redis: aioredis.Redis, prefix: str) -> None:
    a = LeaderLease(redis, f"{prefix}:lease", "a", ttl_s=10)
    b = LeaderLease(redis, f"{prefix}:lease", "b", ttl_s=10)
    assert await a.acquire()
    with pytest.raises(LeaseLost):
        await b.acquire_wait(poll_s=0.01, timeout_s=0.1)


async def test_keep_raises_when_the_lease_is_taken(redis: aioredis.Redis, prefix: str) -> None:
    a = LeaderLease(redis, f"{prefix}:lease", "a", ttl_s=5)
    assert await a.acquire()
    task = asyncio.create_task(a.keep(interval_s=0.02))
    await redis.set(f"{prefix}:lease", "intruder")
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(task, timeout=3)
    assert not a.held


# --- store -------------------------------------------------------------------------------------


async def leader(redis: aioredis.Redis, prefix: str, holder: str, ttl_s: float = 10):
    """A store whose holder has taken the lease and loaded the state, as a real leader does."""
    store = LiveStateStore(redis, prefix, holder)
    lease = store.lease(ttl_s)
    assert await lease.acquire()
    await store.load()
    return store, lease


async def test_empty_store_loads_nothing(redis: aioredis.Redis, prefix: str) -> None:
    store = LiveStateStore(redis, prefix, "a")
    assert await store.load() == (None, [])
    assert store.seq == 0


async def test_append_then_load_keeps_order(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    inputs = [({"type": "x", "i": i}, 1000.0 + i * 0.125) for i in range(20)]
    inputs.insert(7, (None, 1000.9))  # a handle_timer tick
    seqs = [await store.append(ev, now) for ev, now in inputs]
    assert seqs == list(range(1, 22))

    second = LiveStateStore(redis, prefix, "b")
    snapshot, journal = await second.load()
    assert snapshot is None
    assert journal == [JournalEntry(ev, now) for ev, now in inputs]
    assert second.seq == 21


async def test_append_before_load_is_refused(redis: aioredis.Redis, prefix: str) -> None:
    store = LiveStateStore(redis, prefix, "a")
    assert await store.lease(10).acquire()
    with pytest.raises(NotLoaded):
        await store.append({"type": "x"}, 1.0)
    with pytest.raises(NotLoaded):
        await store.save_snapshot({}, 0)
    assert not await redis.exists(f"{prefix}:journal")


async def test_expired_holder_cannot_append(redis: aioredis.Redis, prefix: str) -> None:
    old, old_lease = await leader(redis, prefix, "old", ttl_s=0.2)
    assert await old.append({"type": "x", "i": 1}, 1.0) == 1

    # Old leader "pauses"; its lease expires and a standby takes over.
    new = LiveStateStore(redis, prefix, "new")
    await new.lease(10).acquire_wait(poll_s=0.02, timeout_s=3)
    _, journal = await new.load()
    assert len(journal) == 1

    with pytest.raises(LeaseLost):
        await old.append({"type": "x", "i": 2}, 2.0)
    with pytest.raises(LeaseLost):
        await old.save_snapshot({"stale": True}, 1)
    assert old.seq == 1
    assert await redis.llen(f"{prefix}:journal") == 1
    assert not await redis.exists(f"{prefix}:snapshot")

    assert await new.append({"type": "x", "i": 2}, 2.0) == 2
    _, journal = await LiveStateStore(redis, prefix, "reader").load()
    assert [e.event["i"] for e in journal] == [1, 2]


async def test_expired_lease_without_successor_still_fences(
    redis: aioredis.Redis, prefix: str
) -> None:
    store, lease = await leader(redis, prefix, "a", ttl_s=0.1)
    await wait_for(lambda: lease_gone(redis, f"{prefix}:lease"))
    assert not lease.held
    with pytest.raises(LeaseLost):
        await store.append({"type": "x"}, 1.0)
    assert not await redis.exists(f"{prefix}:journal")


async def test_second_writer_is_detected_by_seq(redis: aioredis.Redis, prefix: str) -> None:
    # Same holder id in two stores (e.g. a bug, or a re-acquired lease after someone wrote).
    a, _ = await leader(redis, prefix, "same")
    b = LiveStateStore(redis, prefix, "same")
    await b.load()
    assert await b.append({"who": "b"}, 1.0) == 1
    with pytest.raises(JournalConflict):
        await a.append({"who": "a"}, 1.0)
    _, journal = await LiveStateStore(redis, prefix, "reader").load()
    assert [e.event for e in journal] == [{"who": "b"}]


async def test_snapshot_trims_the_journal_it_covers(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    for i in range(1, 6):
        await store.append({"i": i}, float(i))
    await store.save_snapshot({"state": "after 3"}, 3)
    assert await redis.llen(f"{prefix}:journal") == 2
    assert store.pending == 2

    snapshot, journal = await LiveStateStore(redis, prefix, "b").load()
    assert snapshot == {"state": "after 3"}
    assert journal == [JournalEntry({"i": 4}, 4.0), JournalEntry({"i": 5}, 5.0)]

    # A snapshot older than the current one, or beyond the journal, is refused untouched.
    with pytest.raises(JournalConflict):
        await store.save_snapshot({"state": "after 2"}, 2)
    with pytest.raises(JournalConflict):
        await store.save_snapshot({"state": "future"}, 6)
    assert (await LiveStateStore(redis, prefix, "b").load())[0] == {"state": "after 3"}

    # Appending continues the absolute sequence; a snapshot of everything empties the journal.
    assert await store.append({"i": 6}, 6.0) == 6
    await store.save_snapshot({"state": "after 6"}, store.seq)
    assert await redis.llen(f"{prefix}:journal") == 0
    restarted = LiveStateStore(redis, prefix, "c")
    assert await restarted.load() == ({"state": "after 6"}, [])
    assert restarted.seq == 6


async def test_unknown_journal_version_is_refused(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    await store.append({"i": 1}, 1.0)
    await redis.lset(
        f"{prefix}:journal", 0, json.dumps({"v": 2, "seq": 1, "now": 1.0, "event": {}})
    )
    with pytest.raises(UnsupportedFormat, match="version 2"):
        await LiveStateStore(redis, prefix, "b").load()


async def test_unknown_snapshot_version_is_refused(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    await store.append({"i": 1}, 1.0)
    await store.save_snapshot({"s": 1}, 1)
    await redis.set(f"{prefix}:snapshot", json.dumps({"v": 99, "seq": 1, "acd": {}}))
    with pytest.raises(UnsupportedFormat, match="99"):
        await LiveStateStore(redis, prefix, "b").load()


async def test_corrupt_entry_names_its_index(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    for i in range(3):
        await store.append({"i": i}, float(i))
    await redis.lset(f"{prefix}:journal", 1, b"\xff{not json")
    with pytest.raises(CorruptJournal) as info:
        await LiveStateStore(redis, prefix, "b").load()
    assert info.value.index == 1
    assert "not json" not in str(info.value)  # never echoes stored content


async def test_missing_entry_is_detected(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    for i in range(3):
        await store.append({"i": i}, float(i))
    await redis.lrem(f"{prefix}:journal", 1, await redis.lindex(f"{prefix}:journal", 1))
    with pytest.raises(CorruptJournal) as info:
        await LiveStateStore(redis, prefix, "b").load()
    assert info.value.index == 1


async def test_corrupt_snapshot_is_refused(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    await store.append({"i": 1}, 1.0)
    await store.save_snapshot({"s": 1}, 1)
    await redis.set(f"{prefix}:snapshot", "{truncated")
    with pytest.raises(CorruptSnapshot):
        await LiveStateStore(redis, prefix, "b").load()


async def test_clear_removes_every_key(redis: aioredis.Redis, prefix: str) -> None:
    store, _ = await leader(redis, prefix, "a")
    await store.append({"i": 1}, 1.0)
    await store.save_snapshot({"s": 1}, 1)
    await store.clear()
    assert [k async for k in redis.scan_iter(match=f"{prefix}:*")] == []


# --- end to end with the real ACD core ------------------------------------------------------


class Leader:
    """What the adapter does per input: handle, journal before executing, snapshot now and then.

    Journaling after ``handle`` returns (but before any command is executed) keeps inputs the
    core refused out of the journal, so replay never meets them.
    """

    def __init__(self, acd: Any, store: LiveStateStore, serde: Any) -> None:
        self.acd, self.store, self.serde = acd, store, serde
        self.commands: list[Any] = []

    async def event(self, event: Any, now: float) -> list[Any]:
        commands = self.acd.handle(event, now)
        await self.store.append(self.serde.event_to_dict(event), now)
        self.commands.extend(commands)
        return commands

    async def timers_until(self, now: float) -> list[Any]:
        out: list[Any] = []
        while (deadline := self.acd.next_deadline()) is not None and deadline <= now:
            commands = self.acd.handle_timer(deadline)
            await self.store.append(None, deadline)
            out.extend(commands)
        self.commands.extend(out)
        return out


async def drive_scenario(leader_: Leader, ev: Any, cmd: Any, snapshot_at: set[int]) -> float:
    """Volunteers log in, contacts arrive, offers are answered, missed, ended, wrapped up."""
    now = 1000.0
    script: list[tuple[float, Any]] = []
    for i, (agent, skills) in enumerate(
        [("a1", {"phone"}), ("a2", {"phone", "chat"}), ("a3", {"phone", "chat"})]
    ):
        script.append(
            (
                now + i,
                ev.AgentLoggedIn(agent, "utrecht", frozenset(skills), frozenset({"nl"})),
            )
        )
        script.append((now + i + 0.5, ev.AgentReady(agent)))
    for j in range(8):
        channel = ev.Channel.CHAT if j % 3 == 2 else ev.Channel.PHONE
        script.append((now + 10 + j * 7.25, ev.ContactArrived(f"c{j}", channel, language="nl")))
    script.sort(key=lambda item: item[0])

    pending = list(script)
    step = 0
    while pending:
        pending.sort(key=lambda item: item[0])
        at, event = pending.pop(0)
        await leader_.timers_until(at)
        commands = await leader_.event(event, at)
        step += 1
        if step in snapshot_at:
            await leader_.store.save_snapshot(leader_.acd.snapshot(), leader_.store.seq)
        for c in commands:
            if isinstance(c, cmd.OfferContact):
                # a3 never answers (ring timeouts, auto-pause); the others answer in 2 s.
                if c.agent_id != "a3":
                    pending.append((at + 2, ev.OfferAccepted(c.contact_id, c.agent_id)))
            elif isinstance(c, cmd.ConnectContact):
                pending.append((at + 30, ev.ContactEnded(c.contact_id)))
        now = at
    # Let some timers (ring timeouts, wrap-ups) fire as well.
    await leader_.timers_until(now + 15)
    return now + 15


async def test_second_process_rebuilds_the_same_acd(redis: aioredis.Redis, prefix: str) -> None:
    core = pytest.importorskip("acd.core")
    serde = pytest.importorskip("acd.serde")
    ev = pytest.importorskip("acd.events")
    cmd = pytest.importorskip("acd.commands")
    settings_mod = pytest.importorskip("acd.settings")
    from storage.journal import recover_acd

    settings = settings_mod.AcdSettings(ring_timeout_s=10, wrap_up_s=5, max_no_answer=2)

    first_store = LiveStateStore(redis, prefix, "first")
    first_lease = first_store.lease(ttl_s=10)
    assert await first_lease.acquire()
    assert await first_store.load() == (None, [])
    first = Leader(core.Acd(settings), first_store, serde)
    end = await drive_scenario(first, ev, cmd, snapshot_at={9, 17})
    kinds = {type(c).__name__ for c in first.commands}
    assert {"OfferContact", "ConnectContact", "WithdrawOffer"} <= kinds  # scenario did work
    assert first_store.pending > 0  # part of the state lives only in the journal

    # "Crash": the first process stops; a second one takes over the lease and rebuilds.
    await first_lease.release()
    second_store = LiveStateStore(redis, prefix, "second")
    await second_store.lease(ttl_s=10).acquire_wait(poll_s=0.02, timeout_s=3)
    snapshot, journal = await second_store.load()
    assert snapshot is not None and journal
    rebuilt = recover_acd(snapshot, journal, settings)

    assert rebuilt.snapshot() == first.acd.snapshot()
    assert rebuilt.next_deadline() == first.acd.next_deadline()
    # Both continue identically, and only the new leader may write.
    later = ev.ContactArrived("c-after", ev.Channel.PHONE, language="nl")
    assert rebuilt.handle(later, end + 1) == first.acd.handle(later, end + 1)
    with pytest.raises(LeaseLost):
        await first_store.append(serde.event_to_dict(later), end + 1)
    assert await second_store.append(serde.event_to_dict(later), end + 1) == first_store.seq + 1
