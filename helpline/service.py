"""Assemble and run the whole application: storage, live state, the Stasis app and the API.

``serve(cfg)`` is what ``helpline run`` (and the docker app container) executes. A second
process started with the same configuration waits for the Redis lease and takes over, with
the queue exactly as the first left it, when the first dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from aiohttp import web

from acd import AcdSettings, strategy_by_name
from ari_app.app import HelplineApp
from ari_app.client import AriClient
from chat.effector import ChatEffector
from chat.hub import ChatHub
from chat.store import ChatStore, StoreSettings, TranscriptStore
from config.chat import ChatSection
from config.known_defaults import refuse_known_secrets
from config.settings import LOOPBACK, HelplineConfig
from helpline.chat_gateway import ChatHours, EngineChats, StandbyChats
from helpline.day_seed import start_day_seed
from helpline.gateway import AppGateway
from helpline.last_contacts_seed import seed_last_contacts
from helpline.live_bus import LiveBus, start_live_bus
from helpline.partners import PartnerDirectory
from helpline.report_maker import SqlReportMaker
from helpline.sip_edge import AriSipConfig, WebSipAccess, session_check
from helpline.wallboard import WallboardFeed
from ivr.flow import required_prompt_ids
from ivr.hours import HoursStatus
from reports.event_log import start_event_log
from runtime.prompts import check_prompts
from security import log as security_log
from security.ami import AmiSecurityListener
from session.chat import ChatTiming
from session.chat_commands import CHAT_EFFECT_TYPES
from session.chat_events import ChatOpened
from softphone import reports_page
from softphone import serve as softphone
from softphone.sip_credentials import SipCredentials
from storage import pools
from storage.chat_survey import ChatSurveyCounts
from storage.day_seed import read_day_seed
from storage.db import make_engine, migrate
from storage.hours_store import HoursExceptionStore
from storage.hours_view import HoursAnnouncer, HoursView
from storage.journal import LiveStateStore, recover_acd
from storage.lease import new_holder_id
from storage.live_stream import LiveStream
from storage.record_queue import RecordQueue
from storage.records import RecordWriter, RedisRecordSpool
from storage.registrations import RegistrationStore, purge_notes_forever
from storage.sip_credentials import RedisSipCredentialStore
from storage.volunteers import VolunteerDirectory
from web.app import create_admin_app, create_app, start_site
from web.auth import RedisSessionStore
from web.chat_api import ChatWeb
from web.gateway import StandbyGateway
from web.health import ReadinessChecks

log = logging.getLogger(__name__)

REDIS_CONNECTIONS = 64
"""The app's connections to Redis at most (journal, sessions, spool, live stream, hours)."""
REDIS_WAIT_S = 5.0
"""How long a request waits for a free connection before it fails (a 503)."""


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
        language_wait_s=q.language_wait_s,
    )


def prepare_database(cfg: HelplineConfig) -> list[str]:
    """Migrate the database and create the configured demo volunteers; returns those created."""
    engine = make_engine(cfg.database.url)
    try:
        migrate(engine)
        return VolunteerDirectory.from_config(engine, cfg).seed_from_config(cfg)
    finally:
        engine.dispose()


def prompt_languages(cfg: HelplineConfig) -> list[str]:
    """Every language a caller may hear: the lines' own and their menus'."""
    languages = [line.language for line in cfg.lines]
    for line in cfg.lines:
        languages += line.menu.languages() if line.menu else []
    return list(dict.fromkeys(languages))


def required_prompts(cfg: HelplineConfig) -> tuple[str, ...]:
    return required_prompt_ids(cfg.ivr, [line.menu for line in cfg.lines])


def check_prompt_files(cfg: HelplineConfig) -> None:
    """Refuse to start when a prompt is missing: a child must never hear silence."""
    check_prompts(cfg.asterisk.root, prompt_languages(cfg), required_prompts(cfg))


def security_listener(cfg: HelplineConfig, directory: VolunteerDirectory) -> AmiSecurityListener:
    """Failed SIP authentication from AMI into ``<log_dir>/security.log`` (see security/)."""

    async def accounts() -> list[str]:
        return await asyncio.to_thread(lambda: [v.id for v in directory.list()])

    ast = cfg.asterisk
    return AmiSecurityListener(
        LOOPBACK,
        ast.ami_port,
        ast.ami_user,
        ast.ami_password,
        accounts,
        trunks=ast.trunk_addresses,
        reconnect_s=ast.reconnect_max_s,
    )


def sip_pusher(cfg: HelplineConfig) -> Callable[[], Awaitable[None]]:
    """What the admin API awaits after rotating a SIP secret: re-render the accounts and
    reload PJSIP in the Asterisk that runs here (as ``helpline volunteer`` does), one reload
    at a time, off the event loop. Where the app does not own Asterisk's config (compose), the
    accounts change at the next render, and a warning says so."""
    from helpline.cli_asterisk import reload_phones

    lock = asyncio.Lock()

    async def push() -> None:
        async with lock:
            if not await asyncio.to_thread(reload_phones, cfg):
                log.warning("Asterisk's config is not ours to render: SIP accounts not reloaded")

    return push


def chat_web(
    cfg: HelplineConfig, redis: aioredis.Redis, chats: StandbyChats, survey: ChatSurveyCounts
) -> ChatWeb | None:
    """The children's chat (``[chat]``): the Redis transcript store, the hub and the engine
    side (a stand-in until this process serves the queue). None when the chat is off."""
    c = cfg.chat
    if not c.enabled:
        return None
    store = ChatStore(
        redis, cfg.redis.prefix, StoreSettings(c.transcript_ttl_s, c.retention_s, c.block_s)
    )
    hub = ChatHub(store, chats, max_chars=c.max_message_chars, messages_per_10s=c.messages_per_10s)
    return ChatWeb(
        c, store, hub, chats, survey if c.survey else None, timezone=cfg.helpline.timezone
    )


def chat_timing(chat: ChatSection) -> ChatTiming:
    return ChatTiming(grace_s=chat.grace_s, queue_notice_s=chat.queue_notice_s)


async def recovered_chats(ids: list[str], store: TranscriptStore) -> dict[str, ChatOpened]:
    """The metadata of the chats a recovered core holds, from the chat store (a chat whose
    keys expired has none: the engine ends it)."""
    metas: dict[str, ChatOpened] = {}
    for chat_id in ids:
        meta = await store.meta(chat_id)
        if meta is not None:
            metas[chat_id] = ChatOpened(chat_id, meta.peer, meta.language, meta.line_id)
    return metas


async def serve_chats(
    app: HelplineApp, chat: ChatWeb, chats: StandbyChats, bus: LiveBus, hours: ChatHours
) -> tuple[ChatEffector, asyncio.Task[None]]:
    """Once this process serves the queue: the engine's chat effects go to the hub, the web
    routes reach the engine, and the chats of the recovered core are adopted (every child
    away from now, so one who does not come back ends after the grace) by the task returned,
    the writer's first request once it runs."""
    engine = app.engine
    engine.chat_timing = chat_timing(chat.cfg)
    effector = ChatEffector(chat.hub, engine.put)
    engine.add_effector(CHAT_EFFECT_TYPES, effector)
    chats.attach(EngineChats(engine, bus, chat.cfg, hours))
    metas = await recovered_chats(engine.chat_contacts(), chat.store)

    async def adopt() -> None:
        try:
            await engine.call(lambda: engine.adopt_chats(metas))
        except Exception as exc:  # the engine stopped: the service is ending anyway
            log.warning("adopting the recovered chats failed (%s)", type(exc).__name__)

    return effector, asyncio.create_task(adopt(), name="adopt-chats")


async def serve(cfg: HelplineConfig, started: asyncio.Event | None = None) -> None:
    """Run until cancelled or until the lease is lost (then the caller exits non-zero)."""
    refuse_known_secrets(cfg)
    check_prompt_files(cfg)
    engine = make_engine(cfg.database.url)
    await asyncio.to_thread(migrate, engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    await asyncio.to_thread(directory.seed_from_config, cfg)
    # A blocking pool: a burst of requests (a room of browsers reconnecting) waits for a
    # connection instead of failing with "too many connections".
    redis = aioredis.Redis(
        connection_pool=aioredis.BlockingConnectionPool.from_url(
            cfg.redis.url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_S
        )
    )
    # Finished contacts go to a spool in Redis first, so an SQL outage loses none of them.
    record_writer = RecordWriter(
        engine,
        line_ids=[line.id for line in cfg.lines],
        # A referral names a directory partner and one of its regions, nothing else.
        partner_ids=[p.id for p in cfg.partners],
        region_ids=[r for p in cfg.partners for r in p.regions],
    )
    spool = RedisRecordSpool(redis, cfg.redis.prefix)
    records = RecordQueue(record_writer, spool, executor=pools.executor("records"))
    # Changes made through the admin API are announced on Redis, like the CLI's.
    announcer = HoursAnnouncer.from_config(cfg)
    hours_store = HoursExceptionStore.from_config(engine, cfg, on_change=announcer.announce)
    hours_view = HoursView(cfg, hours_store, redis_client=redis)

    def hours_now(line_id: str, now: datetime) -> HoursStatus:
        return hours_view.status(line_id, "phone", now)  # memory only: no I/O on the writer

    def partner_hours(schedule: str, now: datetime) -> HoursStatus:
        # A partner's own exceptions only: closing all our lines does not close Veilig Thuis.
        return hours_view.schedule_status(schedule, now, helpline_wide=False)

    partners = PartnerDirectory(cfg, partner_hours)

    store = LiveStateStore(redis, cfg.redis.prefix.rstrip(":") + ":acd", new_holder_id())
    lease = store.lease(cfg.redis.lease_s)
    serving: list[HelplineApp] = []
    gateway = StandbyGateway()
    readiness = ReadinessChecks(
        ari_connected=lambda: bool(serving) and serving[0].ari_connected(),
        lease_held=lambda: lease.held,
        redis_ping=redis.ping,
    )
    sessions = RedisSessionStore(redis, cfg.redis.prefix)
    # Browser phones' per-session SIP credentials: pushed over ARI once this process serves.
    browser_phones = SipCredentials(
        RedisSipCredentialStore(redis, cfg.redis.prefix),
        cfg.asterisk.sip_realm,
        session_check(cfg, sessions, directory),
    )
    registrations = RegistrationStore.from_config(engine, cfg)
    chats = StandbyChats()
    chat = chat_web(cfg, redis, chats, ChatSurveyCounts(engine))
    web_app = create_app(
        cfg,
        directory,
        gateway,
        sessions,
        readiness=readiness,
        registrations=registrations,
        sip=WebSipAccess(browser_phones),
        chat=chat,
        reports=SqlReportMaker(engine, cfg),
    )
    softphone.install(web_app, cfg)  # the volunteer's page at / on the same origin
    reports_page.install(web_app)  # the supervisors' report page at /reports
    if (missing := softphone.describe_missing()) is not None:
        log.warning("%s; / answers 503 until then", missing)
    push_phones = sip_pusher(cfg)

    async def sip_changed() -> None:
        await push_phones()
        # A reset or disable ends the account's browser phone now, not at the next sweep.
        try:
            await browser_phones.sweep()
        except Exception as exc:
            log.warning("browser phone sweep after an account change failed (%s)", exc)

    admin_app = create_admin_app(
        cfg, directory, gateway, sessions, hours_store, sip_changed=sip_changed
    )
    runners: list[web.AppRunner] = []
    # Before the API starts: a standby's refused logins are recorded too.
    security_file = security_log.attach_file(cfg.log_dir / "security.log")
    try:
        # Before the lease, so a standby takes over with the hours already loaded, and
        # answers health checks (live, not ready) while it waits.
        await hours_view.start()
        runners.append(await start_site(web_app, cfg.http.host, cfg.http.port))
        if cfg.http.admin_token is not None:  # no token, no admin API: not even a listener
            http = cfg.http
            runners.append(await start_site(admin_app, http.admin_host, http.admin_port))
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
        # The live bus numbers on from the last entry any leader published.
        stream = LiveStream(redis, cfg.redis.prefix.rstrip(":"))
        last_seq = await stream.last_seq()
        ast = cfg.asterisk
        async with AriClient(ast.ari_url, ast.ari_user, ast.ari_password, ast.app) as ari:
            app = HelplineApp(cfg, ari, core, store=store, records=records, hours=hours_now)
            browser_phones.attach(AriSipConfig(ari), app.contact_of)
            # Asterisk's memory is empty after its restart: every connect pushes them again.
            app.add_connect_listener(browser_phones.on_connected)
            tz = ZoneInfo(cfg.helpline.timezone)
            bus = start_live_bus(
                app.engine, tz, stream, last_seq, queue_alert=cfg.wallboard.queue_alert
            )
            # The board's lines, partners and alerts: what the ACD's steps do not carry.
            board = WallboardFeed(bus, hours_view, partners, app.engine.clock)
            app.router.watchers.append(board)
            board.asterisk(app.router.connected)  # down until ARI's stream is up
            # queue_log lines and presence per hour, written on a thread of their own.
            event_log = start_event_log(app.engine, cfg.log_dir, engine)
            serving.append(app)
            app_gateway = AppGateway(app, bus, partners)
            gateway.attach(app_gateway)
            chat_effector: ChatEffector | None = None
            if chat is not None:

                def chat_hours(line_id: str, now: datetime) -> HoursStatus:
                    return hours_view.status(line_id, "chat", now)  # memory only

                chat_effector, adopting = await serve_chats(app, chat, chats, bus, chat_hours)
            # Today's figures so far come from the contact records (this process may become
            # the writer mid-day); the board counts from now on meanwhile. Before the writer.
            seeding_day = start_day_seed(
                bus.view,
                bus.publish,
                functools.partial(read_day_seed, engine),
                records,
                tz,
                app.engine.clock,
            )
            records.start()
            tasks = [
                asyncio.create_task(app.run(), name="stasis-app"),
                asyncio.create_task(lease.keep(), name="lease"),
                asyncio.create_task(stream.run(), name="live-stream"),
                # The leader only, so two processes do not write each failure twice.
                asyncio.create_task(security_listener(cfg, directory).run(), name="security"),
                asyncio.create_task(browser_phones.run(), name="sip-credentials"),
                # Notes (where enabled) are deleted when they expire, also with nobody saving.
                asyncio.create_task(purge_notes_forever(registrations), name="purge-notes"),
                asyncio.create_task(board.run(), name="wallboard-hours"),
            ]
            signal = asyncio.create_task(_set_when_ready(app, started))
            # The wrap-up forms of the contacts that ended before this process took over: read
            # off the writer, merged in one step of it (not in ``tasks``: it ends by itself, if
            # SQL is away once it is back or at the latest after [registration] window_min).
            seeding_forms = asyncio.create_task(
                seed_last_contacts(
                    app_gateway.last_contacts,
                    app.engine,
                    record_writer,
                    spool,
                    window_s=cfg.registration.window_min * 60.0,
                    executor=pools.executor("records"),
                ),
                name="seed-last-contacts",
            )
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # re-raise LeaseLost or a crash
            finally:
                signal.cancel()
                seeding_day.cancel()
                seeding_forms.cancel()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(seeding_day, seeding_forms, *tasks, return_exceptions=True)
                if chat_effector is not None:
                    adopting.cancel()
                    await asyncio.gather(adopting, return_exceptions=True)
                    await chat_effector.close()
                await records.close()
                await asyncio.to_thread(event_log.close)
    finally:
        for runner in runners:
            await runner.cleanup()
        await hours_view.close()
        with contextlib.suppress(Exception):
            await lease.release()
        await redis.aclose()
        announcer.close()
        engine.dispose()
        pools.shutdown()  # last: the record writer has drained
        security_log.detach(security_file)


async def _set_when_ready(app: HelplineApp, started: asyncio.Event | None) -> None:
    """``started`` means ready to take calls: connected to Asterisk and reconciled."""
    await app.reconciled.wait()
    if started is not None:
        started.set()
