"""The core's steps, journaled: the only thing a step awaits.

Each ACD event is applied to the core, and only if the core accepts it, appended to the
write-ahead journal before any of its commands leaves the engine; the same for the core's
deadlines. Every ``snapshot_every`` entries the core's snapshot is saved, which bounds replay
after a restart. A refusal goes back to whoever sent the event (an API request, or the
session that asked); a journal that fails stops the engine (``EngineStopped``): the core
may then be ahead of what was written, and a standby takes over from the journal.
Built on ``engine.dispatch``, which takes the commands from here.
"""

from __future__ import annotations

import logging
from typing import Any

import acd
from acd import commands as cmd
from acd.serde import event_to_dict
from engine.base import AcdWork
from engine.dispatch import Dispatch
from engine.errors import EngineStopped
from engine.inputs import settle
from session import events as se

log = logging.getLogger(__name__)

_RACES = (acd.StaleOffer, acd.UnknownContact, acd.UnknownAgent)
"""Refusals of the core that are normal on a phone line (an event lost a race)."""


class Journaling(Dispatch):
    """Applies events and deadlines to the core, journals them, and passes the commands on."""

    async def _apply_acd(self, work: AcdWork) -> None:
        now = self._now
        await self._fire_core_timers(now)
        try:
            commands = self.acd.handle(work.event, now)
        except acd.AcdError as exc:
            if work.request is not None:
                settle(work.request, exc=exc)
            elif work.origin is not None and self.session_of(work.origin) is not None:
                self.to_session(work.origin, se.AcdRefused(work.event))
            elif isinstance(exc, _RACES):
                log.debug("stale %s: %s", type(work.event).__name__, exc)
            else:
                log.warning("core refused %s: %s", type(work.event).__name__, exc)
            return
        try:
            await self._journal(event_to_dict(work.event), now)
        except EngineStopped as exc:
            if work.request is not None:  # its caller must not wait forever
                settle(work.request, exc=exc)
            raise
        if work.request is not None:
            settle(work.request, result=None)
        self._observe(work.event, commands)
        self._acd_commands(commands)

    async def _journal(self, event: dict[str, Any] | None, now: float) -> None:
        if self.journal is None:
            return
        try:
            await self.journal.append(event, now)
            if self.journal.pending >= self.snapshot_every:
                await self.journal.save_snapshot(self.acd.snapshot(), self.journal.seq)
        except Exception as exc:
            raise EngineStopped(f"journal failed ({type(exc).__name__}); stopping") from exc

    def _observe(self, event: acd.Event | None, commands: list[cmd.Command]) -> None:
        for observer in self.acd_observers:
            try:
                observer(event, commands)
            except Exception:  # an observer's bug must not stop the line
                log.exception("ACD observer failed")

    async def _fire_core_timers(self, now: float) -> None:
        if not self.reconciled.is_set():
            return  # deadlines wait until we know what Asterisk really has
        deadline = self.acd.next_deadline()
        if deadline is not None and deadline <= now:
            commands = self.acd.handle_timer(now)
            await self._journal(None, now)
            self._observe(None, commands)
            self._acd_commands(commands)
