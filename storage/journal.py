"""The ACD's live state in Redis: a write-ahead journal plus periodic snapshots.

Every event the ACD handles (and every timer tick, since ``handle_timer`` changes state too) is
appended to a journal *before* its commands are executed; now and then a snapshot of the core
replaces the journal entries it covers. A restarted or standby process rebuilds the core with
:func:`recover` (snapshot, then replay) and reconciles with Asterisk.

Keys under ``prefix``::

    {prefix}:lease     holder id of the leader (see storage.lease)
    {prefix}:journal   list of JSON entries  {"v":1,"seq":n,"now":t,"event":{...}|null}
    {prefix}:seq       seq of the last journaled entry (absolute, never reset)
    {prefix}:snapshot  JSON  {"v":1,"seq":n,"acd":{...}}: state after entries 1..n
    {prefix}:base      n of the current snapshot (0 if none): the journal holds n+1..seq

Writes are fenced inside Redis: each script first checks that the lease value is still our holder
id and that ``seq`` is what we expect, so a paused former leader can never write after a takeover.

Recommended order for a leader: ``lease.acquire_wait()`` -> ``store.load()`` -> ``recover()`` ->
reconcile -> then ``append`` before executing the commands of each ``handle``/``handle_timer``.
Nothing here logs or echoes journal contents (privacy): errors name positions, never data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from storage.errors import (
    CorruptJournal,
    CorruptSnapshot,
    JournalConflict,
    LeaseLost,
    LiveStateUnavailable,
    NotLoaded,
    RecoveryError,
    UnsupportedFormat,
)
from storage.lease import LeaderLease, new_holder_id

__all__ = [
    "FORMAT_VERSION",
    "JournalEntry",
    "LeaderLease",
    "LiveStateStore",
    "new_holder_id",
    "recover",
    "recover_acd",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the journal entry and snapshot envelopes; bump on any incompatible change."""


class JournalEntry(NamedTuple):
    """One journaled input of the core, in order."""

    event: dict[str, Any] | None
    """``serde.event_to_dict(event)`` for ``handle(event, now)``; None for ``handle_timer(now)``."""
    now: float
    """The ``now`` passed to the core; replaying with the same value gives the same state."""


# Return codes of the scripts (kept numeric: no string parsing of Redis errors).
_OK_LEASE_LOST = -1
_OK_SEQ_CONFLICT = -2

# KEYS: lease, journal, seq.  ARGV: holder, expected previous seq, entry json.
_APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
if seq ~= tonumber(ARGV[2]) then return -2 end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], seq + 1)
return seq + 1
"""

# KEYS: lease, journal, seq, snapshot, base.  ARGV: holder, covered seq, snapshot json.
_SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local base = tonumber(redis.call('GET', KEYS[5]) or '0')
local upto = tonumber(ARGV[2])
if upto < base or upto > seq then return -2 end
redis.call('SET', KEYS[4], ARGV[3])
redis.call('SET', KEYS[5], upto)
redis.call('LTRIM', KEYS[2], upto - base, -1)
return upto
"""


def _dumps(obj: object) -> str:
    # Compact and strict: NaN/Infinity are not JSON and would not round-trip everywhere.
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def _check_version(obj: Mapping[str, Any], what: str) -> None:
    version = obj.get("v")
    if version != FORMAT_VERSION:
        raise UnsupportedFormat(
            f"{what} has format version {version!r}; this code reads only {FORMAT_VERSION}"
        )


class LiveStateStore:
    """Journal and snapshot of one ACD under ``prefix``, written only by the lease holder.

    ``holder_id`` must be the id the process uses for its :class:`LeaderLease`
    (``store.lease(ttl_s)`` builds one on the right key).
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, holder_id: str) -> None:
        self._redis = redis
        self.prefix = prefix
        self.holder_id = holder_id
        self.lease_key = f"{prefix}:lease"
        self._journal_key = f"{prefix}:journal"
        self._seq_key = f"{prefix}:seq"
        self._snapshot_key = f"{prefix}:snapshot"
        self._base_key = f"{prefix}:base"
        self._append = redis.register_script(_APPEND)
        self._snapshot = redis.register_script(_SNAPSHOT)
        self._seq: int | None = None
        self._base = 0

    def lease(self, ttl_s: float) -> LeaderLease:
        """The leader lease guarding this store, for this store's holder id."""
        return LeaderLease(self._redis, self.lease_key, self.holder_id, ttl_s)

    @property
    def seq(self) -> int:
        """Seq of the last entry journaled (0 if none); pass it to ``save_snapshot``."""
        return self._require_loaded()

    def _require_loaded(self) -> int:
        if self._seq is None:
            raise NotLoaded("call load() first: a writer must know where the journal ends")
        return self._seq

    @property
    def pending(self) -> int:
        """Entries journaled since the last snapshot: snapshot when this grows large."""
        return self.seq - self._base

    @property
    def keys(self) -> tuple[str, ...]:
        """Every Redis key this store (and its lease) uses, e.g. for cleanup."""
        return (
            self.lease_key,
            self._journal_key,
            self._seq_key,
            self._snapshot_key,
            self._base_key,
        )

    async def load(self) -> tuple[dict[str, Any] | None, list[JournalEntry]]:
        """Read the snapshot (None if never saved) and the entries journaled after it.

        Also positions this store to append after the last entry. Raises
        :class:`UnsupportedFormat`, :class:`CorruptSnapshot` or :class:`CorruptJournal`.
        """
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(self._snapshot_key)
                pipe.get(self._base_key)
                pipe.get(self._seq_key)
                pipe.lrange(self._journal_key, 0, -1)
                raw_snap, raw_base, raw_seq, raw_entries = await pipe.execute()
        except RedisError as exc:
            raise LiveStateUnavailable("cannot read live state") from exc

        base = int(raw_base or 0)
        seq = int(raw_seq or 0)
        snapshot = self._decode_snapshot(raw_snap, base)
        entries = [
            self._decode_entry(i, raw, base + 1 + i) for i, raw in enumerate(raw_entries or [])
        ]
        if base + len(entries) != seq:
            raise CorruptJournal(
                len(entries), f"journal ends at seq {base + len(entries)}, counter says {seq}"
            )
        self._seq = seq
        self._base = base
        return snapshot, entries

    async def append(self, event: dict[str, Any] | None, now: float) -> int:
        """Journal one input of the core (None = a ``handle_timer(now)`` tick); returns its seq.

        Raises :class:`LeaseLost` (nothing written) if the lease is no longer ours, and
        :class:`JournalConflict` if someone else appended since our ``load``.
        """
        expected = self.seq
        entry = _dumps({"v": FORMAT_VERSION, "seq": expected + 1, "now": now, "event": event})
        try:
            result = int(
                await self._append(
                    keys=[self.lease_key, self._journal_key, self._seq_key],
                    args=[self.holder_id, expected, entry],
                )
            )
        except RedisError as exc:
            raise LiveStateUnavailable("cannot append to the journal") from exc
        if result == _OK_LEASE_LOST:
            raise LeaseLost(f"not the holder of {self.lease_key!r}; journal left untouched")
        if result == _OK_SEQ_CONFLICT:
            raise JournalConflict(f"journal moved past seq {expected}: another writer appended")
        self._seq = result
        return result

    async def save_snapshot(self, snapshot: dict[str, Any], journal_len: int) -> None:
        """Store ``snapshot`` as the state after entries 1..``journal_len`` and trim those.

        ``journal_len`` is a seq (absolute count of entries ever journaled, e.g. ``store.seq``
        right after the last ``append`` the snapshot reflects). Fenced like ``append``.
        """
        self._require_loaded()
        body = _dumps({"v": FORMAT_VERSION, "seq": journal_len, "acd": snapshot})
        try:
            result = int(
                await self._snapshot(
                    keys=[
                        self.lease_key,
                        self._journal_key,
                        self._seq_key,
                        self._snapshot_key,
                        self._base_key,
                    ],
                    args=[self.holder_id, journal_len, body],
                )
            )
        except RedisError as exc:
            raise LiveStateUnavailable("cannot save the snapshot") from exc
        if result == _OK_LEASE_LOST:
            raise LeaseLost(f"not the holder of {self.lease_key!r}; snapshot not saved")
        if result == _OK_SEQ_CONFLICT:
            raise JournalConflict(
                f"snapshot at seq {journal_len} is outside the journal ({self._base}..{self._seq})"
            )
        self._base = journal_len

    async def clear(self) -> None:
        """Delete every key of this store (tests, or a deliberate reset of the live state)."""
        try:
            await self._redis.delete(*self.keys)
        except RedisError as exc:
            raise LiveStateUnavailable("cannot clear live state") from exc
        self._seq = None
        self._base = 0

    @staticmethod
    def _decode_snapshot(raw: bytes | str | None, base: int) -> dict[str, Any] | None:
        if raw is None:
            if base:
                raise CorruptSnapshot(f"snapshot missing but base says seq {base}")
            return None
        try:
            obj = json.loads(_text(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptSnapshot("snapshot is not valid JSON") from exc
        if not isinstance(obj, dict):
            raise CorruptSnapshot("snapshot is not a JSON object")
        _check_version(obj, "snapshot")
        acd = obj.get("acd")
        if obj.get("seq") != base or not isinstance(acd, dict):
            raise CorruptSnapshot(f"snapshot seq {obj.get('seq')!r} does not match base {base}")
        return acd

    @staticmethod
    def _decode_entry(index: int, raw: bytes | str, expected_seq: int) -> JournalEntry:
        try:
            obj = json.loads(_text(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptJournal(index, "not valid JSON") from exc
        if not isinstance(obj, dict) or "v" not in obj:
            raise CorruptJournal(index, "not a versioned journal entry")
        _check_version(obj, f"journal entry {index}")
        event, now, seq = obj.get("event"), obj.get("now"), obj.get("seq")
        if seq != expected_seq:
            raise CorruptJournal(index, f"seq {seq!r}, expected {expected_seq}")
        if isinstance(now, bool) or not isinstance(now, int | float):
            raise CorruptJournal(index, "missing or non-numeric 'now'")
        if event is not None and not isinstance(event, dict):
            raise CorruptJournal(index, "'event' is neither an object nor null")
        return JournalEntry(event, float(now))


class Machine(Protocol):
    """What recovery needs of the core: ``Acd`` satisfies it."""

    def handle(self, event: Any, now: float) -> Any: ...

    def handle_timer(self, now: float) -> Any: ...


M = TypeVar("M", bound=Machine)


def recover(
    snapshot: dict[str, Any] | None,
    journal: Iterable[JournalEntry | tuple[dict[str, Any] | None, float]],
    restore: Callable[[dict[str, Any] | None], M],
    decode: Callable[[dict[str, Any]], Any],
    *,
    tolerate: tuple[type[Exception], ...] = (),
    skipped: list[int] | None = None,
) -> M:
    """Rebuild the core: ``restore(snapshot)`` (None = fresh), then replay the journal in order.

    The commands returned during replay are discarded: the previous process already executed
    them, and the adapter reconciles with Asterisk afterwards. Pure: no I/O, no clock.

    An entry the machine refuses with one of ``tolerate`` is skipped with a warning that names
    only its index and the error type, and its index is appended to ``skipped`` when given.
    Any other refusal, and any entry that cannot be decoded, raises ``RecoveryError``.
    """
    machine = restore(snapshot)
    count = 0
    for index, (event_dict, now) in enumerate(journal):
        try:
            event = None if event_dict is None else decode(event_dict)
        except Exception as exc:  # a damaged entry: we cannot know what it did
            raise RecoveryError(index, type(exc).__name__) from exc
        try:
            if event is None:
                machine.handle_timer(now)
            else:
                machine.handle(event, now)
        except tolerate as exc:
            count += 1
            log.warning(
                "journal entry %d refused on replay (%s); skipped", index, type(exc).__name__
            )
            if skipped is not None:
                skipped.append(index)
        except Exception as exc:  # wrapped with the entry's index, never swallowed
            raise RecoveryError(index, type(exc).__name__) from exc
    if count:
        log.warning("replay skipped %d refused journal entries", count)
    return machine


def recover_acd(
    snapshot: dict[str, Any] | None,
    journal: Iterable[JournalEntry | tuple[dict[str, Any] | None, float]],
    settings: Any,
    strategy: Any = None,
    *,
    skipped: list[int] | None = None,
) -> Any:
    """:func:`recover` wired to the real core (``acd.Acd`` and ``acd.serde``), tolerating
    the core's race refusals (see below); ``skipped`` as in :func:`recover`."""
    # Imported here so the store stays usable (and testable) on its own.
    from acd import core, errors, serde

    def restore(data: dict[str, Any] | None) -> Any:
        if data is None:
            return core.Acd(settings, strategy)
        return core.Acd.from_snapshot(data, settings, strategy)

    # The engine journals only events the core accepted, so a refusal here means the journal
    # and the state it was written from diverged (a gap, e.g. an append lost as Redis
    # failed). Raising would make every standby crash-loop on the same entry and silence
    # the line for good. These refusals are the races the live engine shrugs off
    # (``engine.journaling._RACES``, plus an event that no longer fits a state), and the core
    # changes nothing when it refuses, so skipping one leaves the state the live engine
    # would have had; reconciliation with Asterisk then corrects the rest. Malformed
    # events (``InvalidEvent``), a contact arriving twice and undecodable entries still
    # raise: they are not races, and guessing past them could hide a real fault.
    tolerate = (
        errors.StaleOffer,
        errors.UnknownContact,
        errors.UnknownAgent,
        errors.IllegalTransition,
    )
    return recover(
        snapshot, journal, restore, serde.event_from_dict, tolerate=tolerate, skipped=skipped
    )
