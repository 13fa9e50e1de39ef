"""Seed the volunteers' recent contacts (the wrap-up forms) from storage when this process
becomes the writer: at start and when it takes over from a primary that died.

Read off the writer: the records spool's tail (Redis; records not in SQL yet) first, then the
answered contacts that ended within the window from SQL, on a worker thread, newest first and
at most ``SEED_ROWS`` (``ix_contact_records_ended_at``). A record leaves the spool only once SQL
committed it, so reading the spool first misses none that moves between the two meanwhile. A
record the previous process still held in memory (Redis was down as it ended) is in neither:
that contact cannot be registered, as before. Then one step of the writer merges them
(:meth:`LastContacts.seed`: what the live engine added meanwhile wins).

If SQL is unreachable at the take-over, the spooled ones are merged at once and SQL is asked
again, from ``RETRY_MIN_S`` doubling to ``RETRY_MAX_S``, until it answers (then its records are
merged as above, the phone rule read over both stores, none of the spooled ones twice) or the
window has passed since the take-over: then no contact that ended before it is registrable, and
the task ends by itself. Until that last merge ``LastContacts`` remembers who answers a contact
meanwhile, so a call they finished before stays closed. Logged once when SQL is unreachable and
once when the seed is done, without anything of a record.

The window is ``[registration] window_min``: the API refuses a form older than that anyway.
A record names only ids (line, language, partner, region) and times: nothing about the child.

The phone rule, derived from the records as the live engine applies it (answering a next
contact closes a call's form): a call is only offered to a volunteer holding nothing, so any
other contact of theirs that ended after the call, or was answered after it ended, was answered
after the call: its form is closed. The records hold no other volunteer's contact: a record
names the volunteer who answered it last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Protocol

import acd
from engine import Engine
from engine.errors import EngineStopped
from helpline.last_contacts import RECENT, LastContact, LastContacts
from session.referral import Referral
from storage.errors import InvalidRecord, RecordsUnavailable, SpoolUnavailable
from storage.record_queue import contact_id_of
from storage.records import ContactRecordData, SpoolTail, record_from_json

log = logging.getLogger(__name__)

SEED_ROWS = 10_000
"""Records read from SQL at most (newest first): more than a busy helpline ends in the window."""
SPOOL_TAIL = 2_000
"""Records read from the spool's tail at most (the newest waiting for SQL)."""
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0
"""While SQL is unreachable it is asked again after 1 s, doubling to every 30 s."""


class RecentRecords(Protocol):
    """Where the answered contacts are stored: ``storage.records.RecordWriter`` (blocking)."""

    def answered_since(self, since: datetime, limit: int) -> list[ContactRecordData]:
        """Answered contacts that ended at or after ``since``, newest first, at most ``limit``;
        RecordsUnavailable if the database fails."""


def _referral(rec: ContactRecordData) -> Referral | None:
    if rec.referral_partner is None:
        return None
    return Referral(
        rec.referral_partner,
        rec.referral_region,
        bool(rec.referral_consent),
        bool(rec.referral_volunteer_stayed),
    )


def _answered_after(other: ContactRecordData, call: ContactRecordData) -> bool:
    """The volunteer answered ``other`` after ``call`` ended (see the module's phone rule)."""
    if other.id == call.id:
        return False
    answered_later = other.answered_at is not None and other.answered_at >= call.ended_at
    return answered_later or other.ended_at > call.ended_at


def from_records(
    records: Iterable[ContactRecordData], recent: int = RECENT
) -> dict[str, list[LastContact]]:
    """Volunteer id -> their newest ``recent`` answered contacts among ``records``, oldest
    first, as the live engine would have remembered them (a call's form closed when its
    volunteer answered another contact after it)."""
    mine: defaultdict[str, dict[str, ContactRecordData]] = defaultdict(dict)
    for rec in records:
        if rec.volunteer_id is not None and rec.outcome == "answered":
            mine[rec.volunteer_id][rec.id] = rec
    found: dict[str, list[LastContact]] = {}
    for agent_id, by_id in mine.items():
        theirs = sorted(by_id.values(), key=lambda r: (r.ended_at, r.id))
        found[agent_id] = [
            LastContact(
                contact_id_of(rec.id, rec.channel),
                rec.channel,
                rec.line_id,
                rec.language,
                _referral(rec),
                rec.ended_at.timestamp(),
                next_answered=rec.channel == acd.Channel.PHONE.value
                and any(_answered_after(other, rec) for other in theirs),
            )
            for rec in theirs[-recent:]
        ]
    return found


async def _spooled(spool: SpoolTail, since: datetime) -> list[ContactRecordData]:
    try:
        raws = await spool.tail(SPOOL_TAIL)
    except SpoolUnavailable as exc:
        log.warning("recent contacts: %s; seeding from SQL only", exc)
        return []
    found = []
    for raw in raws:
        try:
            rec = record_from_json(raw)
        except InvalidRecord:
            continue  # the record queue sets it aside; it never reached a form either
        if rec.ended_at >= since:
            found.append(rec)
    return found


async def seed_last_contacts(
    last: LastContacts,
    engine: Engine,
    records: RecentRecords,
    spool: SpoolTail | None,
    *,
    window_s: float,
    executor: Executor | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    retry_min_s: float = RETRY_MIN_S,
    retry_max_s: float = RETRY_MAX_S,
) -> int:
    """Seed ``last`` from storage for the contacts that ended within ``window_s`` seconds
    (see the module); returns how many were added. While SQL is unreachable this retries it
    (``sleep``, from ``retry_min_s`` doubling to ``retry_max_s``) until the window has passed
    since the take-over, by ``engine.clock``; cancel it to stop sooner. A storage failure is
    logged and seeds what could be read; nothing here stops the service."""
    try:
        return await _seed(
            last, engine, records, spool, window_s, executor, sleep, (retry_min_s, retry_max_s)
        )
    except Exception:  # our bug: the forms are not restored, the line goes on
        log.exception("recent contacts: seeding failed; their wrap-up forms are not restored")
        return 0


async def _seed(
    last: LastContacts,
    engine: Engine,
    records: RecentRecords,
    spool: SpoolTail | None,
    window_s: float,
    executor: Executor | None,
    sleep: Callable[[float], Awaitable[None]],
    retry_s: tuple[float, float],
) -> int:
    started = engine.clock()
    since = datetime.fromtimestamp(started - window_s, UTC)
    read = await _spooled(spool, since) if spool is not None else []
    spooled = 0
    given: set[str] = set()  # the contact ids merged already, from the spool
    try:
        rows = await _from_sql(records, since, executor)
    except RecordsUnavailable as exc:
        # The spooled forms come back now, those only SQL holds when it answers. The writer
        # goes on meanwhile: who answers a contact is remembered until the last merge.
        merged = await _merge(last, engine, from_records(read, last.recent), more=True)
        if merged is None:
            return 0
        spooled = merged
        given = {contact_id_of(rec.id, rec.channel) for rec in read}
        log.warning(
            "recent contacts: SQL unreachable (%s); %d wrap-up forms restored from the records "
            "spool, retrying SQL for up to %.0f min",
            exc,
            spooled,
            window_s / 60.0,
        )
        # A contact that ended before the take-over is registrable until then at the latest.
        late = await _retry_sql(
            records, since, executor, engine, started + window_s, sleep, retry_s
        )
        if late is None:
            await _merge(last, engine, {}, more=False)  # the live rule alone from now on
            log.warning(
                "recent contacts: SQL retried for %.0f min since the take-over, in vain; the "
                "wrap-up forms of the contacts only SQL held are not restored",
                window_s / 60.0,
            )
            return spooled
        rows = late
    if len(rows) >= SEED_ROWS:
        log.warning(
            "recent contacts: more than %d in the window; the oldest not restored", SEED_ROWS
        )
    # The phone rule over both stores at once, as when SQL answered at the first try.
    found = from_records([*read, *rows], last.recent)
    volunteers = len(found)
    if given:
        # Merged already: not again (the volunteer's bound may have dropped one since).
        found = {
            agent_id: kept
            for agent_id, theirs in found.items()
            if (kept := [c for c in theirs if c.contact_id not in given])
        }
    added = await _merge(last, engine, found, more=False)
    if added is None:
        return spooled
    log.info(
        "wrap-up forms restored: %d recent contacts of %d volunteers", spooled + added, volunteers
    )
    return spooled + added


async def _from_sql(
    records: RecentRecords, since: datetime, executor: Executor | None
) -> list[ContactRecordData]:
    """The blocking read on a worker thread: the writer awaits nothing but its journal."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, records.answered_since, since, SEED_ROWS)


async def _retry_sql(
    records: RecentRecords,
    since: datetime,
    executor: Executor | None,
    engine: Engine,
    deadline: float,
    sleep: Callable[[float], Awaitable[None]],
    retry_s: tuple[float, float],
) -> list[ContactRecordData] | None:
    """SQL's answer once it is back, or None when ``deadline`` (the engine's clock) passed
    first: nothing it could give is registrable then. Cancelling it is the service stopping."""
    delay, high = retry_s
    while (now := engine.clock()) < deadline:
        await sleep(min(delay, deadline - now))
        delay = min(high, delay * 2)
        if engine.clock() >= deadline:
            break
        with contextlib.suppress(RecordsUnavailable):  # logged once, when it began
            return await _from_sql(records, since, executor)
    return None


async def _merge(
    last: LastContacts, engine: Engine, found: dict[str, list[LastContact]], *, more: bool
) -> int | None:
    """Merge ``found`` in one step of the writer: how many were added, None if it stopped."""

    def step() -> int:
        # Inside the writer: the core's view of who holds a contact now is consistent.
        holding = {agent.agent_id for agent in engine.acd.agents() if agent.contacts}
        return last.seed(found, holding, more=more)

    try:
        added: int = await engine.call(step)
    except EngineStopped:
        return None  # the service is ending anyway
    return added
