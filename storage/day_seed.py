"""Today's contacts so far, from the contact records, for a wallboard that starts mid-day.

One grouped query (``GROUP BY``), so a busy day is never loaded into Python: contacts that
ended before ``cut`` come back summed, one row per channel; those that ended at or after it
come back one row each, so the board can leave out by id the ones it counted itself (see
``live.day_seed``). Blocking: run it off the event loop (``helpline.day_seed`` does).

A contact counts on the day it *ended* (local date), as on the wallboard: the window is
``[since, until)`` on ``ended_at``. Records have an index on ``arrived_at``, not ``ended_at``,
so the query also bounds the arrival to ``LONGEST_CONTACT`` before ``since``: it reads a day
or two of records, not the table's whole history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from live.day_seed import DaySeed, DaySums, RecentContact
from storage.errors import RecordsUnavailable
from storage.models import ContactRecord
from storage.report_queries import check_period

LONGEST_CONTACT = timedelta(days=1)
"""No contact lasts longer (a call or a chat of a day is not one a helpline has): a contact
that ended in the window arrived at most this long before it starts."""


def read_day_seed(
    engine: Engine,
    date: str,
    since: datetime,
    until: datetime,
    cut: datetime,
    thresholds: Sequence[int],
) -> DaySeed:
    """The contacts that ended in ``[since, until)`` (the local day ``date``): summed per
    channel before ``cut``, one by one from it. ``thresholds``: the service-level targets in
    seconds. RecordsUnavailable when the database cannot answer."""
    check_period(since, until)
    c = ContactRecord
    recent_id = case((c.ended_at >= cut, c.id), else_=None).label("recent_id")
    rows = (
        select(c.channel, recent_id, c.outcome, c.wait_s, c.talk_s)
        .where(
            c.ended_at >= since,
            c.ended_at < until,
            c.arrived_at >= since - LONGEST_CONTACT,  # the index's range; see the docstring
        )
        .subquery()
    )
    # Grouped on the subquery's plain columns: PostgreSQL would not match a CASE with a bound
    # parameter in the select list to the same CASE in the GROUP BY.
    answered = rows.c.outcome == "answered"

    def count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    stmt = select(
        rows.c.channel,
        rows.c.recent_id,
        count_if(answered),
        count_if(rows.c.outcome == "abandoned"),
        count_if(rows.c.outcome == "overflowed"),
        func.coalesce(func.sum(case((answered, rows.c.wait_s), else_=0.0)), 0.0),
        func.coalesce(
            func.sum(case((answered, func.coalesce(rows.c.talk_s, 0.0)), else_=0.0)), 0.0
        ),
        *(count_if(answered & (rows.c.wait_s <= t)) for t in thresholds),
    ).group_by(rows.c.channel, rows.c.recent_id)
    try:
        with engine.connect() as conn:
            result = conn.execute(stmt).all()
    except SQLAlchemyError as exc:
        raise RecordsUnavailable(f"today's contacts not read: {type(exc).__name__}") from exc
    earlier: dict[str, DaySums] = {}
    recent: list[RecentContact] = []
    for channel, record_id, n_answered, n_abandoned, n_overflowed, wait, talk, *within in result:
        sums = DaySums(
            answered=int(n_answered),
            abandoned=int(n_abandoned),
            overflowed=int(n_overflowed),
            within={t: int(n) for t, n in zip(thresholds, within, strict=True)},
            wait_s=float(wait),
            talk_s=float(talk),
        )
        if record_id is None:
            earlier[str(channel)] = earlier.get(str(channel), DaySums()) + sums
        else:
            recent.append(RecentContact(str(record_id), str(channel), sums))
    recent.sort(key=lambda r: r.record_id)  # a stable order whatever the database's
    return DaySeed(date, earlier, tuple(recent))
