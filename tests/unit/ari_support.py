"""Running the whole ``HelplineApp`` in a unit test: the fake ARI, a fake clock and journal.

``started_app`` builds the app on a real ``AriClient`` pointed at ``tests.unit.fake_ari``,
runs the engine's writer (not the events websocket: tests feed ARI events straight into the
engine's queue, as the stream would), reconciles once with the fake's empty Asterisk and
clears the recorded requests. ``AppRun.settle()`` waits until the writer and every effect
lane are idle, so a test can then assert the exact requests that went out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import acd
from acd.commands import ContactFinished
from ari_app.app import HelplineApp
from ari_app.ari_events import parse_event
from ari_app.client import AriClient
from ari_app.router import HoursLookup
from ari_app.websocket import Connected
from config.settings import HelplineConfig, parse_config
from session.ids import LegRole, leg_id
from session.referral import Referral
from tests.unit import fake_ari
from tests.unit.fake_ari import FakeAri, channel_json

CONFIG = """
[helpline]
name = "Kindertelefoon"

[[lines]]
id = "116111"
numbers = ["116111"]
language = "nl"

[[locations]]
id = "utrecht"
name = "Utrecht"

[ivr]
welcome = false

[asterisk]
ari_password = "fake-secret"
ami_password = "fake-secret"
trunk_addresses = ["127.0.0.2"]
"""

SETTINGS = acd.AcdSettings(ring_timeout_s=20.0, wrap_up_s=30.0, max_no_answer=3)
T0 = 1_764_669_600.0
"""2026-12-02 10:00 UTC: the fake clock's start."""


def config(text: str = CONFIG) -> HelplineConfig:
    return parse_config(text)


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeJournal:
    """The write-ahead journal in memory; ``fail_from`` makes appends raise from that seq."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any] | None] = []
        self.fail_from: int | None = None
        self.snapshots = 0

    @property
    def seq(self) -> int:
        return len(self.entries)

    @property
    def pending(self) -> int:
        return len(self.entries)

    async def append(self, event: dict[str, Any] | None, now: float) -> int:
        if self.fail_from is not None and len(self.entries) >= self.fail_from:
            raise ConnectionError("redis went away")
        self.entries.append(event)
        return len(self.entries)

    async def save_snapshot(self, snapshot: dict[str, Any], journal_len: int) -> None:
        self.snapshots += 1

    @property
    def types(self) -> list[str | None]:
        return [None if e is None else e["type"] for e in self.entries]


@dataclass
class FakeRecords:
    written: list[tuple[ContactFinished, str, str]] = field(default_factory=list)
    referrals: dict[str, Referral | None] = field(default_factory=dict)
    """By contact id."""
    channels: dict[str, str | None] = field(default_factory=dict)
    """The record channel the engine gave (``peer_chat``; ``None``: the ACD's), by contact id."""

    def submit(
        self,
        done: ContactFinished,
        line_id: str,
        language: str,
        *,
        referral: Referral | None = None,
        channel: str | None = None,
    ) -> None:
        self.written.append((done, line_id, language))
        self.channels[done.contact_id] = channel
        self.referrals[done.contact_id] = referral


# ---------------------------------------------------------------------- ARI events


def caller_enters(channel_id: str, line_id: str = "116111", **kw: Any) -> Any:
    """A caller's channel entering Stasis from the carrier dialplan."""
    return parse_event(
        {
            "type": "StasisStart",
            "application": "helpline",
            "timestamp": "2026-12-02T10:00:00.000+0000",
            "args": kw.pop("args", ["inbound", line_id]),
            "channel": channel_json(channel_id, state="Ring", **kw),
        }
    )


def leg_enters(channel_id: str, contact_id: str) -> Any:
    """A volunteer leg we originated answered and entered Stasis."""
    return parse_event(
        {
            "type": "StasisStart",
            "application": "helpline",
            "args": ["volunteer", contact_id],
            "channel": channel_json(channel_id, name="PJSIP/noor-00000002", context="default"),
        }
    )


def destroyed(channel_id: str, cause: int = 16) -> Any:
    return parse_event(
        {
            "type": "ChannelDestroyed",
            "application": "helpline",
            "cause": cause,
            "cause_txt": "Normal Clearing",
            "channel": channel_json(channel_id),
        }
    )


def stasis_end(channel_id: str) -> Any:
    return parse_event(
        {"type": "StasisEnd", "application": "helpline", "channel": channel_json(channel_id)}
    )


def endpoint_change(resource: str, state: str) -> Any:
    return parse_event(
        {
            "type": "EndpointStateChange",
            "application": "helpline",
            "endpoint": fake_ari.endpoint_json(resource, state),
        }
    )


def vol_leg(contact_id: str, token: int = 1) -> str:
    return leg_id(LegRole.VOLUNTEER, contact_id, token)


# ---------------------------------------------------------------------- the app


@dataclass
class AppRun:
    fake: FakeAri
    app: HelplineApp
    clock: FakeClock
    journal: FakeJournal
    records: FakeRecords
    task: asyncio.Task[None]

    @property
    def engine(self) -> Any:
        return self.app.engine

    def feed(self, *items: object) -> None:
        for item in items:
            self.engine.put(item)

    async def settle(self) -> None:
        """Wait until no input is queued, no step runs and no effect lane is busy."""
        effector = self.app.effector
        for _ in range(200):
            await self.engine.call(lambda: None)
            if not len(effector._lanes) and not effector._tasks and not self.engine.backlog:
                return
            await effector.idle()
            if effector._tasks:
                await asyncio.gather(*effector._tasks, return_exceptions=True)
        raise AssertionError("the app did not settle")

    async def login_ready(self, agent_id: str, online: bool = True) -> None:
        self.app.router.phones[agent_id] = online
        await self.engine.apply(
            acd.AgentLoggedIn(agent_id, "utrecht", frozenset({"phone"}), frozenset({"nl"}))
        )
        await self.engine.apply(acd.AgentReady(agent_id))

    def contact_of(self, caller: str) -> str:
        contact_id = self.engine.contact_of_caller(caller)
        assert contact_id is not None, f"no session for {caller}"
        return str(contact_id)

    async def reconnect(self) -> None:
        self.feed(Connected(reconnect=True))
        await self.settle()
        async with asyncio.timeout(5):
            await self.engine.reconciled.wait()
        await self.settle()


@contextlib.asynccontextmanager
async def started_app(
    *,
    core: acd.Acd | None = None,
    cfg: HelplineConfig | None = None,
    hours: HoursLookup | None = None,
    timeout_s: float = 10.0,
    before_connect: Any = None,
    clear: bool = True,
) -> AsyncIterator[AppRun]:
    """The app on the fake ARI, connected and reconciled once; ``clear`` forgets the
    requests of that first reconciliation."""
    async with fake_ari.serve() as fake:
        async with AriClient(
            fake.base_url, fake_ari.USER, fake_ari.PASSWORD, fake_ari.APP, timeout_s=timeout_s
        ) as ari:
            clock, journal, records = FakeClock(), FakeJournal(), FakeRecords()
            app = HelplineApp(
                cfg or config(),
                ari,
                core or acd.Acd(SETTINGS),
                store=journal,
                records=records,  # type: ignore[arg-type]
                clock=clock,
                hours=hours,
            )
            task = asyncio.create_task(app.engine.run())
            run = AppRun(fake, app, clock, journal, records, task)
            try:
                if before_connect is not None:
                    before_connect(run)
                run.feed(Connected(reconnect=False))
                async with asyncio.timeout(5):
                    await app.engine.reconciled.wait()
                await run.settle()
                if clear:
                    fake.requests.clear()
                yield run
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await app.effector.close()
