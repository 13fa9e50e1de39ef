"""Rates and averages of a group of contacts, each ``None`` when it has nothing to divide by.

Definitions (also printed under every report):

- answered rate: answered / contacts.
- abandon rate: abandons after the short-abandon time / (contacts - short abandons).
- service level, answered only: answered within T / answered.
- service level, with abandons: answered within T / (contacts - short abandons); abandons and
  overflows count as not answered in time.
- ASA (average speed of answer): the answered contacts' mean wait.
- AHT (average handling time): the answered contacts' mean talk time. Wrap-up is not on the
  contact record; the staffing advice adds the mean wrap-up from volunteer presence.
- occupancy: (in contact + wrap-up) / (ready + offered + in contact + wrap-up) volunteer time;
  paused time is left out.
"""

from __future__ import annotations

from collections.abc import Mapping

from storage.report_queries import THRESHOLDS_S, ContactCounts

WORKING_STATES = ("busy", "wrap_up")
"""ACD states in which a volunteer is handling a contact."""
AVAILABLE_STATES = ("available", "offered", "busy", "wrap_up")
"""ACD states in which a volunteer can be, or is, handling contacts (not paused)."""


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def answered_rate(c: ContactCounts) -> float | None:
    return _ratio(c.answered, c.contacts)


def abandon_rate(c: ContactCounts) -> float | None:
    return _ratio(c.abandoned - c.short_abandoned, c.contacts - c.short_abandoned)


def service_level_answered(c: ContactCounts, threshold_s: int) -> float | None:
    return _ratio(c.answered_within[THRESHOLDS_S.index(threshold_s)], c.answered)


def service_level_with_abandons(c: ContactCounts, threshold_s: int) -> float | None:
    within = c.answered_within[THRESHOLDS_S.index(threshold_s)]
    return _ratio(within, c.contacts - c.short_abandoned)


def asa_s(c: ContactCounts) -> float | None:
    return _ratio(c.answer_wait_s, c.answered)


def aht_s(c: ContactCounts) -> float | None:
    return _ratio(c.talk_s, c.answered)


def occupancy(seconds_by_state: Mapping[str, float]) -> float | None:
    """Share of the volunteers' available time spent on contacts; None without presence."""
    working = sum(seconds_by_state.get(s, 0.0) for s in WORKING_STATES)
    available = sum(seconds_by_state.get(s, 0.0) for s in AVAILABLE_STATES)
    return _ratio(working, available)
