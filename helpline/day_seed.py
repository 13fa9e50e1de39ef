"""Seed the wallboard's "today" from the contact records when this process becomes the writer.

Without it a restart or a standby's takeover shows a supervisor a day that starts at zero.
``start_day_seed`` runs on the event loop before the writer's first step: the board begins
counting at once (``LiveView.begin_seed``: every contact the writer finishes from then on is
counted live, as always, and remembered by id). A task then, off the writer:

1. waits until the record queue has written what the spool held when it started
   (``RecordQueue.backlog_written``). Records reach SQL asynchronously (memory, Redis spool,
   SQL): the contacts an earlier process finished but had not written yet are in that spool
   (a process that stops flushes its buffer to it before it lets go of the lease), so they
   are read with the rest instead of being lost. While SQL or Redis is away this waits, and the
   board says so (``today_from``): nothing is lost silently, the earlier figures come later;
2. reads today's contacts in one grouped query on the reports pool (``storage.day_seed``):
   summed up to ``CLOCK_MARGIN_S`` before this process began counting, one by one after;
3. hands them to the view on the event loop, between two of the writer's steps (the board is
   only ever changed on the loop). Those one-by-one contacts the board counted itself (their
   records already written) are left out by id, so none is counted twice; one that ends after
   the query is not in it and is counted live, once.

A contact counts on the local date it ended, as everywhere on the board. If the date changes
before the seed arrives, the new day is counted whole from midnight and the seed is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from live import Delta, LiveView
from live.day_seed import DaySeed
from live.wallboard import SERVICE_LEVEL_S
from storage import pools
from storage.errors import PoolFull, RecordsUnavailable
from storage.record_queue import record_id

log = logging.getLogger(__name__)

CLOCK_MARGIN_S = 300.0
"""Contacts that ended less than this before the board began counting are read one by one:
the previous writer may have run on another machine whose clock was ahead of ours."""

RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0


class Backlog(Protocol):
    """What the seed waits for (``storage.record_queue.RecordQueue``)."""

    async def backlog_written(self) -> None: ...


class ReadSeed(Protocol):
    """The blocking read (``storage.day_seed.read_day_seed`` with its engine)."""

    def __call__(
        self,
        date: str,
        since: datetime,
        until: datetime,
        cut: datetime,
        thresholds: Sequence[int],
    ) -> DaySeed: ...


def local_day(now: float, tz: ZoneInfo) -> tuple[str, datetime, datetime]:
    """The local date of ``now`` and its bounds, its midnight and the next, in UTC (23 or 25
    hours apart on the days the clocks change)."""
    day = datetime.fromtimestamp(now, tz).date()
    since = datetime.combine(day, time(), tz).astimezone(UTC)
    until = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    return day.isoformat(), since, until


def start_day_seed(
    view: LiveView,
    publish: Callable[[list[Delta]], None],
    read: ReadSeed,
    backlog: Backlog,
    tz: ZoneInfo,
    clock: Callable[[], float],
) -> asyncio.Task[None]:
    """Begin counting now and seed today's earlier contacts in a task (returned: the caller
    cancels it when the service stops). Call before the writer's first step."""
    started = clock()
    publish(view.begin_seed(started))

    async def read_and_seed() -> None:
        date, since, until = local_day(started, tz)
        cut = datetime.fromtimestamp(started - CLOCK_MARGIN_S, UTC)
        await backlog.backlog_written()
        delay, warned = RETRY_MIN_S, False
        while True:
            if local_day(clock(), tz)[0] != date:
                log.info("wallboard: a new day began before today's records were read")
                return
            try:
                seed = await pools.run_in("reports", read, date, since, until, cut, SERVICE_LEVEL_S)
            except (RecordsUnavailable, PoolFull) as exc:
                if not warned:  # once per outage, not at every retry
                    log.warning("wallboard: today's records not read yet (%s); retrying", exc)
                    warned = True
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            except Exception:  # our bug: the board keeps saying from when it counts
                log.exception("wallboard: reading today's records failed")
                return
            break
        publish(view.seed_today(seed, clock(), record_id))
        log.info("wallboard: today's figures seeded (%d contact records read)", seed.contacts)

    return asyncio.create_task(read_and_seed(), name="wallboard-seed")
