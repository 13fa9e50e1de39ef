"""The Stasis application: the engine, fed by Asterisk's events and acting through ARI.

``HelplineApp`` only assembles: the ARI event stream feeds the engine's queue; the router
(``ari_app.router``) turns those events into session and ACD events inside the engine's
step; the effector (``ari_app.effector``) carries out the sessions' effects off the writer
and reports back. The engine (``engine.writer``) is the one writer and is channel-neutral:
chat plugs in as a second router/effector pair.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import acd
from ari_app.client import AriClient
from ari_app.effector import AriEffector
from ari_app.router import AriRouter, HoursLookup
from ari_app.websocket import AriEventStream, Backoff, Connected, StreamItem
from config.settings import HelplineConfig
from engine import Engine, Journal
from storage.record_queue import RecordQueue


class HelplineApp:
    """One queue: the engine with the ARI router and effector around it."""

    def __init__(
        self,
        cfg: HelplineConfig,
        ari: AriClient,
        core: acd.Acd,
        *,
        store: Journal | None = None,
        records: RecordQueue | None = None,
        clock: Callable[[], float] = time.time,
        hours: HoursLookup | None = None,
    ) -> None:
        self.cfg = cfg
        self.ari = ari
        self.engine = Engine(
            core,
            journal=store,
            records=records,
            clock=clock,
            default_line_id=cfg.lines[0].id,
        )
        self.effector = AriEffector(ari, self.engine.put)
        self.engine.effector = self.effector
        self.router = AriRouter(cfg, self.engine, self.effector, hours)
        self.engine.add_router(self.router)
        self._on_connected: list[Callable[[], None]] = []
        self.stream = AriEventStream(
            ari.base_url, ari.user, ari.password, ari.app, self._from_asterisk,
            # Asterisk runs beside us: after an outage, be back within a second of it.
            backoff=Backoff(initial_s=0.1, factor=2.0, max_s=cfg.asterisk.reconnect_max_s),
        )  # fmt: skip

    def _from_asterisk(self, item: StreamItem) -> None:
        self.engine.put(item)
        if isinstance(item, Connected):
            for listener in self._on_connected:
                listener()

    def add_connect_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` on every (re)connection of the ARI event stream, after the engine
        got the ``Connected`` (e.g. push browser phones' credentials again after an Asterisk
        restart). It runs on the stream's task: it must only schedule work, never wait."""
        self._on_connected.append(listener)

    def contact_of(self, aor: str) -> list[str]:
        """The contact URI Asterisk last reported registered on ``aor`` (at most one: one phone
        per account), from its ``ContactStatusChange`` events."""
        uri = self.router.registrations.current(aor)
        return [] if uri is None else [uri]

    @property
    def acd(self) -> acd.Acd:
        return self.engine.acd

    @property
    def played(self) -> list[str]:
        """Media of the latest playbacks Asterisk started (prompt names only)."""
        return list(self.router.played)

    @property
    def reconciled(self) -> asyncio.Event:
        """Set after each successful reconciliation (tests and health checks wait on it)."""
        return self.engine.reconciled

    def ari_connected(self) -> bool:
        """Whether Asterisk's event stream is up now (a readiness check)."""
        return self.stream.is_connected()

    async def run(self) -> None:
        """Consume ARI events and requests until cancelled or until the engine stops."""
        stream_task = asyncio.create_task(self.stream.run(), name="ari-events")
        try:
            await self.engine.run()
        finally:
            stream_task.cancel()
            await asyncio.gather(stream_task, return_exceptions=True)
            await self.effector.close()
