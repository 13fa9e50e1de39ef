"""Staffing advice per local hour of the week: Erlang C from the helpline's own phone arrivals
and handling times, beside how many volunteers were logged in on average.

For each hour of the week (Monday 00:00 is 0) the period's phone arrivals in that hour are
averaged over the times the hour occurred in the period; the handling time is the hour's mean
talk time (the period's when the hour had no answered call) plus the mean wrap-up per answered
contact from volunteer presence. Erlang C then gives the volunteers needed to answer the target
share within the target time. "Logged in" is the volunteer-hours recorded in presence
(``agent_presence``, written by the event log) for that hour divided by its occurrences, all
channels; ``None`` when no presence was recorded in the period (before the event log ran).

Chats are left out of the advice: a volunteer holds several at once, which Erlang C's one
contact per volunteer does not model.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from reports.erlang import agents_needed, service_level, traffic_erlang
from storage.report_queries import NO_CONTACTS, ContactCounts

HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class StaffingHour:
    """The advice for one hour of the week."""

    weekday: int
    """0 Monday .. 6 Sunday (local)."""
    hour: int
    """0..23 (local)."""
    occurrences: int
    """How often this hour occurred in the period."""
    arrivals_per_hour: float
    """Mean phone contacts arriving in this hour."""
    aht_s: float | None
    """Handling time used (talk plus wrap-up), None when no call was ever answered."""
    traffic_erlang: float
    """Offered traffic."""
    needed: int | None
    """Volunteers needed on the phone for the target; None without a handling time."""
    logged_in: float | None
    """Mean volunteers logged in (all channels); None when presence was not recorded."""
    service_level_logged_in: float | None
    """Erlang C's service level had all logged-in volunteers been on the phone."""


def hour_of_week(epoch_hour: int, tz: ZoneInfo) -> tuple[int, int]:
    """(weekday, hour) in ``tz`` of the UTC hour starting at ``epoch_hour * 3600``."""
    local = datetime.fromtimestamp(epoch_hour * HOUR_S, tz)
    return local.weekday(), local.hour


def staffing_advice(
    hours: Mapping[tuple[int, str], ContactCounts],
    presence: Mapping[tuple[int, str], float],
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    target: tuple[float, float],
) -> list[StaffingHour]:
    """One ``StaffingHour`` per hour of the week that occurs in ``[since, until)``, in order."""
    target_s, target_level = target
    occurrences: Counter[tuple[int, int]] = Counter(
        hour_of_week(h, tz)
        for h in range(
            math.floor(since.timestamp() / HOUR_S), math.ceil(until.timestamp() / HOUR_S)
        )
    )
    phone: defaultdict[tuple[int, int], ContactCounts] = defaultdict(lambda: NO_CONTACTS)
    answered_all = 0
    for (epoch_hour, channel), counts in hours.items():
        answered_all += counts.answered
        if channel == "phone":
            phone[hour_of_week(epoch_hour, tz)] += counts
    logged: defaultdict[tuple[int, int], float] = defaultdict(float)
    wrap_s = 0.0
    for (epoch_hour, state), seconds in presence.items():
        logged[hour_of_week(epoch_hour, tz)] += seconds
        if state == "wrap_up":
            wrap_s += seconds
    wrap_per_contact = wrap_s / answered_all if answered_all else 0.0
    all_phone = sum(phone.values(), NO_CONTACTS)
    period_talk = all_phone.talk_s / all_phone.answered if all_phone.answered else None
    rows = []
    for (weekday, hour), n in sorted(occurrences.items()):
        counts = phone[(weekday, hour)]
        talk = counts.talk_s / counts.answered if counts.answered else period_talk
        aht = talk + wrap_per_contact if talk is not None else None
        arrivals = counts.contacts / n
        traffic = traffic_erlang(arrivals, HOUR_S, aht) if aht else 0.0
        needed = agents_needed(traffic, target_s, aht, target_level) if aht else None
        on = logged[(weekday, hour)] / HOUR_S / n if presence else None
        level = None
        if on is not None and aht and traffic > 0:
            level = service_level(traffic, math.floor(on), target_s, aht)
        rows.append(StaffingHour(weekday, hour, n, arrivals, aht, traffic, needed, on, level))
    return rows
