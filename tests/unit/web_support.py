"""Shared set-up for the web API tests: config, SQLite directory, a recording gateway, client.

``FakeGateway`` records every call and drives a real ``acd.Acd`` core with a fake clock, so
the errors the API maps (``IllegalTransition``, ``UnknownAgent``) are the core's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

import acd
from config.settings import HelplineConfig, LoginsSection, parse_config
from live import LiveView
from storage import db
from storage.hours_store import HoursExceptionStore
from storage.volunteers import VolunteerDirectory
from web import MemorySessionStore, SessionStore, create_admin_app, create_app, hours_api
from web.live_hub import LiveHub

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
PASSWORD = "correct horse battery"

CONFIG = """
languages = ["nl", "en"]

[[lines]]
id = "116111"
numbers = ["116111"]

[[locations]]
id = "utrecht"
name = "Utrecht"

[[locations]]
id = "almelo"
name = "Almelo"

[asterisk]
ari_password = "ari-secret-123"
ami_password = "ami-secret-123"
trunk_addresses = ["127.0.0.2"]

[http]
session_ttl_s = 3600
{admin}
"""


def make_config(admin_token: str | None = ADMIN_TOKEN) -> HelplineConfig:
    admin = f'admin_token = "{admin_token}"' if admin_token else ""
    return parse_config(CONFIG.format(admin=admin))


@dataclass
class FakeGateway:
    """An ``AcdGateway`` over a real ACD core with a fake clock, its live projection and hub
    (as ``helpline.gateway.AppGateway`` has them); records logins and submitted events."""

    core: acd.Acd = field(default_factory=acd.Acd)
    now: float = 1000.0
    logins: list[tuple[str, str, frozenset[str], frozenset[str]]] = field(default_factory=list)
    events: list[acd.Event] = field(default_factory=list)
    fail_with: Exception | None = None
    """Raised by the next login/submit instead of calling the core."""
    view: LiveView = field(default_factory=LiveView)
    hub: LiveHub = field(init=False)

    def __post_init__(self) -> None:
        self.hub = LiveHub(self.view.snapshot)
        self.hub.start_at(self.view.load(self.core, self.now).seq)

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc

    def handle(self, event: acd.Event) -> list[acd.Command]:
        """One step of the core, observed by the projection and broadcast (as the engine)."""
        commands = self.core.handle(event, self.now)
        self.hub.broadcast(self.view.observe(event, commands, self.core, self.now))
        return commands

    async def login(
        self, agent_id: str, location_id: str, skills: frozenset[str], languages: frozenset[str]
    ) -> None:
        self.logins.append((agent_id, location_id, skills, languages))
        self._maybe_fail()
        self.handle(acd.AgentLoggedIn(agent_id, location_id, skills, languages))

    async def submit(self, event: acd.Event) -> None:
        self.events.append(event)
        self._maybe_fail()
        self.handle(event)

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        view = self.view.agent(agent_id)
        return view.to_json() if view is not None else None

    def queue_view(self) -> dict[str, Any]:
        return self.view.queue().to_json()

    def live_hub(self) -> LiveHub:
        return self.hub

    def offer_call(self, contact_id: str = "c1") -> None:
        """Make a phone contact arrive, so a ready volunteer gets it offered."""
        self.handle(acd.ContactArrived(contact_id, acd.Channel.PHONE))


@dataclass
class WebEnv:
    """Everything a web test touches."""

    client: TestClient[Any, Any]
    """The volunteer API (the public listener)."""
    admin: TestClient[Any, Any]
    """The admin API (its own listener, loopback in production)."""
    gateway: FakeGateway
    directory: VolunteerDirectory
    sessions: Any  # a MemorySessionStore unless the test passed another SessionStore
    cfg: HelplineConfig
    sip_pushes: list[str] = field(default_factory=list)
    """One entry per time the API asked to push the SIP accounts to Asterisk."""

    async def login(
        self, volunteer_id: str = "anna", password: str = PASSWORD, **extra: Any
    ) -> str:
        resp = await self.client.post(
            "/api/v1/session", json={"volunteer_id": volunteer_id, "password": password, **extra}
        )
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["token"])

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def web_env(
    tmp_path: Path,
    admin_token: str | None = ADMIN_TOKEN,
    *,
    hours_clock: Callable[[], datetime] | None = None,
    db_url: str | None = None,
    sessions: SessionStore | None = None,
    logins: LoginsSection | None = None,
) -> AsyncIterator[WebEnv]:
    """A running test server with volunteers anna (utrecht), bram (almelo, disabled), sam.

    With ``hours_clock`` the opening-hours routes are mounted too, on the same database.
    ``db_url`` (an empty database) and ``sessions`` replace the SQLite file and the in-memory
    session store (integration tests pass PostgreSQL and Redis). ``logins`` replaces the
    config's login rate limits.
    """
    cfg = make_config(admin_token)
    if logins is not None:
        cfg = cfg.model_copy(update={"logins": logins})
    engine = db.make_engine(db_url or f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    directory.add("anna", "Anna", "utrecht", ["phone", "chat"], ["nl", "en"], PASSWORD)
    directory.add("bram", "Bram", "almelo", ["phone"], ["nl"], PASSWORD)
    directory.disable("bram")
    directory.add("sam", "Sam", "almelo", ["peer_chat"], ["nl"], PASSWORD, young=True)
    gateway = FakeGateway()
    sessions = sessions or MemorySessionStore()
    pushes: list[str] = []

    async def sip_changed() -> None:
        pushes.append("push")

    app = create_app(cfg, directory, gateway, sessions)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    admin_app = create_admin_app(cfg, directory, gateway, sessions, sip_changed=sip_changed)
    if hours_clock is not None:  # on the admin listener, as the service mounts them
        store = HoursExceptionStore.from_config(engine, cfg)
        hours_api.install(admin_app, store, clock=hours_clock)
    admin: TestClient[Any, Any] = TestClient(TestServer(admin_app))
    await admin.start_server()
    try:
        yield WebEnv(client, admin, gateway, directory, sessions, cfg, pushes)
    finally:
        await admin.close()
        await client.close()
        engine.dispose()
