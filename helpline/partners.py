"""The partner directory: who a volunteer may add to a child's call, and whether they are open.

Partners come from ``[[partners]]`` in the configuration; whether one is open comes from the
running app's in-memory opening hours (``storage.hours_view.HoursView.schedule_status``, the
partner's own exceptions only), so asking never waits for SQL and is safe on the engine's
writer. Only partners listed here can be dialled: there is no way to dial a typed number.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from config.settings import HelplineConfig, Partner
from ivr.hours import LOOKAHEAD_DAYS, HoursStatus
from session.errors import TransferRefused

ScheduleStatus = Callable[[str, datetime], HoursStatus]
"""``(schedule name, aware UTC now) -> HoursStatus``: the running app's hours, e.g.
``lambda s, now: hours_view.schedule_status(s, now, helpline_wide=False)``."""


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


class PartnerDirectory:
    """The configured partners and their opening hours, answering from memory."""

    def __init__(self, cfg: HelplineConfig, status: ScheduleStatus) -> None:
        self._partners = {p.id: p for p in cfg.partners}
        self._status = status
        self._tz = ZoneInfo(cfg.helpline.timezone)

    def list(self, now: datetime) -> builtins.list[dict[str, Any]]:
        """Every partner for the API, in configuration order: id, name, description, regions,
        ``open_now`` and ``opens_at`` (when closed) / ``closes_at`` (when open) as ISO UTC or
        null (null also when it does not change within the look-ahead, e.g. 24/7)."""
        out = []
        for partner in self._partners.values():
            status = self._status(partner.schedule, now)
            out.append(
                {
                    "id": partner.id,
                    "name": partner.name,
                    "description": partner.description,
                    "regions": builtins.list(partner.regions),
                    "open_now": status.open,
                    "opens_at": _iso(status.opens_at),
                    "closes_at": _iso(status.closes_at),
                }
            )
        return out

    def get(self, partner_id: str) -> Partner | None:
        """The partner with this id, or None."""
        return self._partners.get(partner_id)

    def check_open(self, partner_id: str, now: datetime) -> Partner:
        """The partner, if it may be dialled now; TransferRefused (``unknown_partner``,
        ``partner_closed`` with ``opens_at``) otherwise."""
        partner = self._partners.get(partner_id)
        if partner is None:
            # No details: the API never echoes what the client sent.
            raise TransferRefused("unknown_partner", "no such partner in the directory")
        status = self._status(partner.schedule, now)
        if not status.open:
            raise TransferRefused(
                "partner_closed",
                f"{partner.name} is closed now; {self._when(status.opens_at, now)}",
                {"partner": partner.id, "opens_at": _iso(status.opens_at)},
            )
        return partner

    def _when(self, opens_at: datetime | None, now: datetime) -> str:
        if opens_at is None:
            return f"it does not open within the next {LOOKAHEAD_DAYS} days"
        local = opens_at.astimezone(self._tz)
        today = now.astimezone(self._tz).date()
        if local.date() == today:
            return f"it opens today at {local:%H:%M}"
        # Spelled out here, not with %A/%B: those follow the process locale.
        day = f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"
        return f"it opens on {day} at {local:%H:%M}"


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
