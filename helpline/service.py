"""Assemble and run the whole application: storage, live state, the Stasis app and the API.

``serve(cfg)`` is what ``helpline run`` (and the docker app container) executes. A second
process started with the same configuration waits for the Redis lease and takes over, with
the queue exactly as the first left it, when the first dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from acd import AcdSettings, strategy_by_name
from ari_app.app import HelplineApp
from ari_app.client import AriClient
from ari_app.gateway import AppGateway
from ari_app.records import RecordQueue
from helpline.config import HelplineConfig
from helpline.db import make_engine, migrate
from helpline.lease import new_holder_id
from helpline.livestate import LiveStateStore, recover_acd
from helpline.records import RecordWriter
from helpline.volunteers import VolunteerDirectory
from helpline.web.app import create_app, start_site
from helpline.web.auth import RedisSessionStore

log = logging.getLogger(__name__)


def acd_settings(cfg: HelplineConfig) -> AcdSettings:
    """The core's settings from the ``[queue]`` section."""
    q = cfg.queue
    return AcdSettings(
        ring_timeout_s=q.ring_timeout_s,
        wrap_up_s=q.wrap_up_s,
        max_no_answer=q.max_no_answer,
        max_wait_s=q.max_wait_s,
        max_queue_length=q.max_queue_length,
        max_chats=q.max_chats,
    )


def prepare_database(cfg: HelplineConfig) -> list[str]:
    """Migrate the database and create the configured demo volunteers; returns those created."""
    engine = make_engine(cfg.database.url)
    try:
        migrate(engine)
        return VolunteerDirectory.from_config(engine, cfg).seed_from_config(cfg)
    finally:
        engine.dispose()


async def serve(cfg: HelplineConfig, started: asyncio.Event | None = None) -> None:
    """Run until cancelled or until the lease is lost (then the caller exits non-zero)."""
    engine = make_engine(cfg.database.url)
    await asyncio.to_thread(migrate, engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    await asyncio.to_thread(directory.seed_from_config, cfg)
    records = RecordQueue(RecordWriter(engine, line_ids=[line.id for line in cfg.lines]))
    redis = aioredis.from_url(cfg.redis.url)
    store = LiveStateStore(redis, cfg.redis.prefix.rstrip(":") + ":acd", new_holder_id())
    lease = store.lease(cfg.redis.lease_s)
    try:
        if not await lease.acquire():
            log.info("another process serves the queue; standing by for its lease")
            await lease.acquire_wait()
        snapshot, journal = await store.load()
        core = recover_acd(
            snapshot, journal, acd_settings(cfg), strategy_by_name(cfg.queue.strategy)
        )
        log.info(
            "serving the queue: %d volunteers and %d contacts restored",
            sum(1 for _ in core.agents()),
            sum(1 for _ in core.contacts()),
        )
        ast = cfg.asterisk
        async with AriClient(ast.ari_url, ast.ari_user, ast.ari_password, ast.app) as ari:
            app = HelplineApp(cfg, ari, core, store=store, records=records)
            records.start()
            sessions = RedisSessionStore(redis, cfg.redis.prefix)
            runner = await start_site(
                create_app(cfg, directory, AppGateway(app), sessions), cfg.http
            )
            if started is not None:
                started.set()
            try:
                tasks = [
                    asyncio.create_task(app.run(), name="stasis-app"),
                    asyncio.create_task(lease.keep(), name="lease"),
                ]
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # re-raise LeaseLost or a crash
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await runner.cleanup()
                await records.close()
    finally:
        with contextlib.suppress(Exception):
            await lease.release()
        await redis.aclose()
        engine.dispose()
