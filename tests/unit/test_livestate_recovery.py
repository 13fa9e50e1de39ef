"""Recovery without Redis: snapshot + journal replay through a fake deterministic machine."""

from __future__ import annotations

from typing import Any

import pytest

from helpline.lease import LeaderLease
from helpline.livestate import JournalEntry, LiveStateStore, RecoveryError, recover


class Counter:
    """A tiny deterministic 'core': remembers every input, refuses event kind 'bad'."""

    def __init__(self, log: list[Any] | None = None) -> None:
        self.log: list[Any] = list(log or [])

    def handle(self, event: tuple[str, int], now: float) -> list[str]:
        if event[0] == "bad":
            raise ValueError("refused")
        self.log.append([event[0], event[1], now])
        return ["command that must be discarded"]

    def handle_timer(self, now: float) -> list[str]:
        self.log.append(["timer", now])
        return []

    def snapshot(self) -> dict[str, Any]:
        return {"log": list(self.log)}


def restore(data: dict[str, Any] | None) -> Counter:
    return Counter(None if data is None else data["log"])


def decode(d: dict[str, Any]) -> tuple[str, int]:
    if "kind" not in d:
        raise KeyError("kind")
    return (d["kind"], d["n"])


def test_fresh_start_replays_events_and_timer_ticks_in_order() -> None:
    journal = [
        JournalEntry({"kind": "a", "n": 1}, 1.0),
        JournalEntry(None, 2.5),
        ({"kind": "b", "n": 2}, 3.0),
    ]
    machine = recover(None, journal, restore, decode)
    assert machine.log == [["a", 1, 1.0], ["timer", 2.5], ["b", 2, 3.0]]


def test_snapshot_then_journal_equals_uninterrupted_run() -> None:
    inputs: list[tuple[dict[str, Any] | None, float]] = [
        ({"kind": "a", "n": i}, float(i)) if i % 3 else (None, float(i)) for i in range(1, 10)
    ]
    straight = recover(None, inputs, restore, decode)
    first = recover(None, inputs[:4], restore, decode)
    resumed = recover(first.snapshot(), inputs[4:], restore, decode)
    assert resumed.snapshot() == straight.snapshot()


def test_undecodable_entry_names_its_index() -> None:
    journal = [JournalEntry({"kind": "a", "n": 1}, 1.0), JournalEntry({"n": 2}, 2.0)]
    with pytest.raises(RecoveryError) as info:
        recover(None, journal, restore, decode)
    assert info.value.index == 1
    assert isinstance(info.value.__cause__, KeyError)


def test_core_refusing_an_entry_names_its_index() -> None:
    journal = [
        JournalEntry(None, 1.0),
        JournalEntry(None, 2.0),
        JournalEntry({"kind": "bad", "n": 0}, 3.0),
    ]
    with pytest.raises(RecoveryError) as info:
        recover(None, journal, restore, decode)
    assert info.value.index == 2


def test_lease_held_follows_the_local_clock() -> None:
    class FakeRedis:
        def register_script(self, script: str) -> object:
            return object()

    clock = [100.0]
    lease = LeaderLease(FakeRedis(), "k", "me", 5.0, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert not lease.held
    lease._valid_until = 105.0  # as after an acquire started at t=100
    clock[0] = 104.9
    assert lease.held
    clock[0] = 105.0
    assert not lease.held


def test_store_keys_live_under_the_prefix() -> None:
    class FakeRedis:
        def register_script(self, script: str) -> object:
            return object()

    store = LiveStateStore(FakeRedis(), "helpline:test", "me")  # type: ignore[arg-type]
    assert store.keys and all(k.startswith("helpline:test:") for k in store.keys)
    assert store.lease(1.0).key == store.lease_key
