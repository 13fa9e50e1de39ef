"""Run our Stasis app in-process against the real Asterisk, Redis and SQL, for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import redis.asyncio as aioredis

import acd
from ari_app.app import HelplineApp
from ari_app.client import AriClient
from config.settings import HelplineConfig
from helpline.gateway import AppGateway
from helpline.live_bus import LiveBus, start_live_bus
from helpline.partners import PartnerDirectory
from ivr.hours import HoursStatus
from live.view import DEFAULT_TZ
from storage.db import make_engine, migrate
from storage.hours_store import HoursExceptionStore
from storage.hours_view import HoursAnnouncer, HoursView
from storage.journal import LiveStateStore, recover_acd
from storage.lease import new_holder_id
from storage.live_stream import LiveStream
from storage.record_queue import RecordQueue
from storage.records import RecordWriter

FAST = acd.AcdSettings(ring_timeout_s=4.0, wrap_up_s=2.0, max_no_answer=3, max_wait_s=120.0)


@dataclass
class RunningApp:
    """The app under test and what it writes to."""

    app: HelplineApp
    gateway: AppGateway
    records: RecordQueue
    writer: RecordWriter
    store: LiveStateStore
    hours: HoursExceptionStore
    prefix: str
    """Redis key prefix of this run's live state (journal, lease, live stream)."""
    bus: LiveBus | None = None
    """The live bus (its projection is what the web layer reads)."""

    async def login_ready(self, agent_id: str, location: str = "utrecht") -> None:
        await self.gateway.login(
            agent_id, location, frozenset({"phone", "chat"}), frozenset({"nl"})
        )
        await self.gateway.submit(acd.AgentReady(agent_id))

    def agent(self, agent_id: str) -> dict[str, object] | None:
        """The volunteer as the live view shows them (state, phone_registered...)."""
        return self.gateway.agent_view(agent_id)

    def state(self, agent_id: str) -> str | None:
        view = self.gateway.agent_view(agent_id)
        return None if view is None else str(view["state"])

    async def records_written(self, count: int, timeout_s: float = 10.0) -> None:
        """Wait until ``count`` contact records are in the database (they are written async)."""
        await self.wait_for(lambda: self.records.written >= count, timeout_s)

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_app(
    asterisk: object,
    tmp_path: Path,
    settings: acd.AcdSettings = FAST,
    prefix: str | None = None,
    cfg: HelplineConfig | None = None,
    ari_url: str | None = None,
    redis_url: str = "redis://127.0.0.1:6379/0",
    expect_stop: bool = False,
    live_stream: bool = False,
) -> AsyncIterator[RunningApp]:
    """``ari_url``: talk to Asterisk through another address (a fault-injecting proxy);
    ``redis_url``: keep live state in another Redis (one a test may stop);
    ``expect_stop``: the test makes the engine stop; otherwise an app that ended on its own
    (a crash, a lost lease) fails the test instead of going unnoticed;
    ``live_stream``: the live bus also writes its Redis Stream (``{prefix}:live``)."""
    cfg = cfg or asterisk.cfg  # type: ignore[attr-defined]
    engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    migrate(engine)
    announcer = HoursAnnouncer.from_config(cfg)
    hours_store = HoursExceptionStore.from_config(engine, cfg, on_change=announcer.announce)
    writer = RecordWriter(
        engine,
        line_ids=[line.id for line in cfg.lines],
        partner_ids=[p.id for p in cfg.partners],
        region_ids=[r for p in cfg.partners for r in p.regions],
    )
    records = RecordQueue(writer)
    redis = aioredis.from_url(redis_url)
    prefix = prefix or f"helpline-test-{uuid.uuid4().hex[:8]}"
    store = LiveStateStore(redis, prefix, new_holder_id())
    lease = store.lease(30.0)
    assert await lease.acquire()
    snapshot, journal = await store.load()
    core = recover_acd(snapshot, journal, settings, acd.strategy_by_name("longest_idle"))
    ast = cfg.asterisk
    async with (
        HoursView.running(cfg, hours_store, redis) as hours_view,
        AriClient(ari_url or ast.ari_url, ast.ari_user, ast.ari_password, ast.app) as ari,
    ):

        def hours(line_id: str, now: datetime) -> HoursStatus:
            return hours_view.status(line_id, "phone", now)

        def partner_hours(schedule: str, now: datetime) -> HoursStatus:
            return hours_view.schedule_status(schedule, now, helpline_wide=False)  # as serve

        app = HelplineApp(cfg, ari, core, store=store, records=records, hours=hours)
        stream = LiveStream(redis, prefix) if live_stream else None
        seq = await stream.last_seq() if stream is not None else 0
        bus = start_live_bus(app.engine, DEFAULT_TZ, stream, seq)  # before the writer, as serve
        records.start()
        task = asyncio.create_task(app.run())
        keeper = asyncio.create_task(lease.keep())  # as ``helpline run`` does
        flusher = asyncio.create_task(stream.run()) if stream is not None else None
        try:
            async with asyncio.timeout(10):
                await app.reconciled.wait()
            gateway = AppGateway(app, bus, PartnerDirectory(cfg, partner_hours))
            yield RunningApp(app, gateway, records, writer, store, hours_store, prefix, bus)
        finally:
            stopped_by_itself = task.done() and not task.cancelled()
            task.cancel()
            keeper.cancel()
            outcome, _ = await asyncio.gather(task, keeper, return_exceptions=True)
            if flusher is not None:
                await asyncio.sleep(0.2)  # let the stream catch up before it is read
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
            await records.close()
            await hours_view.close()  # before the Redis client it listens on
            await redis.delete(*store.keys, f"{prefix}:live", f"{prefix}:live:snapshot")
            await redis.aclose()
            announcer.close()
            engine.dispose()
        if stopped_by_itself and not expect_stop:
            raise AssertionError(f"the app stopped during the test: {outcome!r}")
