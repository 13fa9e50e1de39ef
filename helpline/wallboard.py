"""What the wallboard learns from outside the ACD's steps, onto the live bus.

The contacts and volunteers reach the wallboard through the engine's steps (``LiveBus``);
three things do not: whether each line and partner is open now (the in-memory opening hours),
whether Asterisk's event stream is up, and a volunteer's phone taken by a second registration
(both from the ARI router, inside the writer's step). ``WallboardFeed`` turns them into queue
deltas on the same bus, so the supervisors' page hears them within a second like the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from helpline.live_bus import LiveBus
from ivr.hours import HoursStatus

log = logging.getLogger(__name__)

HOURS_CHECK_S = 5.0
"""How often the open/closed state of the lines and partners is evaluated (from memory, a
cached answer costs well under a microsecond; only a change makes a delta). An ad-hoc closure
reaches the board within this plus the hours view's own reload delay."""


class Hours(Protocol):
    """What the feed reads of ``storage.hours_view.HoursView``."""

    def all_statuses(self, now: datetime) -> list[tuple[str, str, HoursStatus]]: ...


class Partners(Protocol):
    """What the feed reads of ``helpline.partners.PartnerDirectory``."""

    def list(self, now: datetime) -> list[dict[str, Any]]: ...


class WallboardFeed:
    """Implements ``ari_app.router.RouterWatcher``; ``run`` keeps the opening hours current."""

    def __init__(
        self,
        bus: LiveBus,
        hours: Hours,
        partners: Partners,
        clock: Callable[[], float],
    ) -> None:
        self._bus = bus
        self._hours = hours
        self._partners = partners
        self._clock = clock

    def asterisk(self, connected: bool) -> None:
        self._bus.publish(self._bus.view.set_asterisk(connected, self._clock()))

    def phone_replaced(self, agent_id: str) -> None:
        self._bus.publish(self._bus.view.phone_replaced(agent_id, self._clock()))

    def check_hours(self) -> None:
        """Evaluate every line and partner now; a delta only if one changed."""
        now = self._clock()
        at = datetime.fromtimestamp(now, UTC)
        lines = [
            {"line": line, "channel": channel, "open": status.open}
            for line, channel, status in self._hours.all_statuses(at)
        ]
        partners = [
            {"id": p["id"], "name": p["name"], "open": p["open_now"]}
            for p in self._partners.list(at)
        ]
        self._bus.publish(self._bus.view.set_hours(lines, partners, now))

    async def run(self, every_s: float = HOURS_CHECK_S) -> None:
        """Check the hours now and every ``every_s`` until cancelled."""
        while True:
            try:
                self.check_hours()
            except Exception:  # a bug here must not end the service: the board lags instead
                log.exception("wallboard: evaluating the opening hours failed")
            await asyncio.sleep(every_s)
