"""Recovery without Redis: snapshot + journal replay through a fake deterministic machine."""

from __future__ import annotations

from typing import Any

import pytest

import acd
from acd.serde import event_to_dict
from storage.errors import RecoveryError
from storage.journal import JournalEntry, LiveStateStore, recover, recover_acd
from storage.lease import LeaderLease


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


# -- replay tolerates the races the live engine tolerates ---------------------------------------


def test_a_tolerated_refusal_is_skipped_counted_and_logged_by_index_and_type_only(caplog) -> None:
    journal = [
        JournalEntry({"kind": "a", "n": 1}, 1.0),
        JournalEntry({"kind": "bad", "n": 116111}, 2.0),
        JournalEntry({"kind": "b", "n": 2}, 3.0),
    ]
    skipped: list[int] = []
    with caplog.at_level("WARNING", logger="storage.journal"):
        machine = recover(None, journal, restore, decode, tolerate=(ValueError,), skipped=skipped)
    assert machine.log == [["a", 1, 1.0], ["b", 2, 3.0]]
    assert skipped == [1]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "journal entry 1 refused on replay (ValueError); skipped",
        "replay skipped 1 refused journal entries",
    ]
    assert not any("116111" in m or "bad" in m for m in messages)  # never the entry's data


def test_an_undecodable_entry_still_raises_even_if_its_error_type_is_tolerated() -> None:
    journal = [JournalEntry({"kind": "a", "n": 1}, 1.0), JournalEntry({"n": 2}, 2.0)]
    with pytest.raises(RecoveryError) as info:
        recover(None, journal, restore, decode, tolerate=(KeyError, ValueError))
    assert info.value.index == 1


def test_a_refusal_that_is_not_tolerated_still_raises() -> None:
    journal = [JournalEntry({"kind": "bad", "n": 0}, 1.0)]
    with pytest.raises(RecoveryError) as info:
        recover(None, journal, restore, decode, tolerate=(KeyError,))
    assert info.value.index == 0 and isinstance(info.value.__cause__, ValueError)


def _acd_journal(events: list[tuple[Any, float]]) -> list[JournalEntry]:
    return [JournalEntry(None if ev is None else event_to_dict(ev), now) for ev, now in events]


def _evening(gap: list[tuple[Any, float]]) -> list[tuple[Any, float]]:
    nl = frozenset({"nl"})
    phone = frozenset({"phone"})
    return [
        (acd.AgentLoggedIn("v1", "loc", phone, nl), 1.0),
        (acd.AgentReady("v1"), 1.0),
        *gap,
        (acd.ContactArrived("c2", acd.Channel.PHONE), 3.0),
        (acd.OfferAccepted("c2", "v1"), 4.0),
    ]


def test_recover_acd_skips_the_cores_race_refusals_after_a_journal_gap() -> None:
    """The issue's finding: a journal gap (an append lost) left entries the core refuses on
    replay; the standby crash-looped on RecoveryError. Now it skips them and comes up in the
    state the live engine had."""
    settings = acd.AcdSettings()
    # ContactArrived("c1") and its offer were never journaled; what followed was.
    gap = [
        (acd.OfferAccepted("c1", "v1"), 2.0),  # UnknownContact
        (acd.AgentReady("ghost"), 2.1),  # UnknownAgent
        (acd.AgentLoggedIn("v1", "loc", frozenset({"phone"}), frozenset({"nl"})), 2.2),
    ]
    skipped: list[int] = []
    rebuilt = recover_acd(None, _acd_journal(_evening(gap)), settings, skipped=skipped)
    straight = recover_acd(None, _acd_journal(_evening([])), settings)
    assert skipped == [2, 3, 4]
    assert rebuilt.snapshot() == straight.snapshot()
    assert rebuilt.contact("c2").agent_id == "v1"


def test_recover_acd_skips_a_stale_offer() -> None:
    events = [
        *_evening([]),
        (acd.OfferFailed("c2", "v1", acd.OfferFailure.NO_ANSWER), 5.0),  # not ringing any more
    ]
    skipped: list[int] = []
    recover_acd(None, _acd_journal(events), acd.AcdSettings(), skipped=skipped)
    assert skipped == [4]


def test_recover_acd_still_raises_on_what_is_not_a_race() -> None:
    twice = [*_evening([]), (acd.ContactArrived("c2", acd.Channel.PHONE), 5.0)]
    with pytest.raises(RecoveryError) as info:
        recover_acd(None, _acd_journal(twice), acd.AcdSettings())
    assert info.value.index == 4 and isinstance(info.value.__cause__, acd.DuplicateContact)

    garbled = _acd_journal(_evening([]))
    garbled[2] = JournalEntry({"type": "NoSuchEvent"}, 3.0)
    with pytest.raises(RecoveryError) as info:
        recover_acd(None, garbled, acd.AcdSettings())
    assert info.value.index == 2


def test_surge_mode_comes_back_from_the_journal_and_the_snapshot() -> None:
    """Surge mode was the engine's memory: a restart or a take-over silently switched it off
    while the supervisors thought new contacts went to staff only. It is the core's now."""
    events = [*_evening([]), (acd.SurgeSwitched(True), 5.0)]
    rebuilt = recover_acd(None, _acd_journal(events), acd.AcdSettings())
    assert rebuilt.surge is True
    again = recover_acd(rebuilt.snapshot(), [], acd.AcdSettings())
    assert again.surge is True
    again.handle(acd.ContactArrived("c9", acd.Channel.PHONE), 6.0)
    assert "staff" in again.contact("c9").skills
