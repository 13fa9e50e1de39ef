"""Shared set-up for the web API tests: config, SQLite directory, a recording gateway, client.

``FakeGateway`` records every call and drives a real ``acd.Acd`` core with a fake clock, so
the errors the API maps (``IllegalTransition``, ``UnknownAgent``) are the core's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine

import acd
from chat.hub import ChatHub
from config.settings import HelplineConfig, HttpSection, LoginsSection, parse_config
from helpline.last_contacts import LastContacts
from helpline.partners import PartnerDirectory
from helpline.report_maker import SqlReportMaker
from ivr.hours import HoursStatus
from live import LiveView
from session.errors import CoachingRefused, TransferRefused
from session.referral import Referral
from storage import db
from storage.hours_store import HoursExceptionStore, LineHours
from storage.registrations import RegistrationStore
from storage.volunteers import VolunteerDirectory
from tests.unit.chat_support import FakeControl, FakeSurvey, MemoryStore
from web import MemorySessionStore, SessionStore, create_admin_app, create_app, hours_api
from web.chat_api import ChatWeb
from web.live_hub import LiveHub
from web.ports import SipAccess
from web.reports_api import ReportMaker

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

# Partners for the transfer routes: one 24/7, one on the lines' hours (11:00-20:00), so a
# test can find it closed by moving the gateway's clock.
[[partners]]
id = "veilig-thuis"
name = "Veilig Thuis"
number = "08002000"
regions = ["utrecht", "haaglanden"]

[[partners]]
id = "kinderrechtenhelpdesk"
name = "Kinderrechtenhelpdesk"
number = "0715160980"
schedule = "default"

# The children's chat (issue 12): a fixed token key is fine in a test.
[chat]
enabled = true
line = "116111"
token_key = "chat-token-key-for-tests-0123456789"
grace_s = 60
messages_per_10s = 5
max_message_chars = 200

[[chat.canned]]
id = "forum"
label = {{ nl = "Forum", en = "Forum" }}
text = {{ nl = "Kijk op ons forum.", en = "Have a look at our forum." }}

[[chat.canned]]
id = "emergency"
label = {{ nl = "112", en = "112" }}
text = {{ nl = "Ben je in gevaar? Bel 112.", en = "In danger? Call 112." }}

[http]
session_ttl_s = 3600
{admin}
"""


def make_config(admin_token: str | None = ADMIN_TOKEN) -> HelplineConfig:
    admin = f'admin_token = "{admin_token}"' if admin_token else ""
    return parse_config(CONFIG.format(admin=admin))


MONDAY_NOON = datetime(2025, 6, 2, 10, tzinfo=UTC)
"""Monday 12:00 in Amsterdam: both test partners are open."""


@dataclass
class FakeGateway:
    """An ``AcdGateway`` over a real ACD core with a fake clock, its live projection and hub
    (as ``helpline.gateway.AppGateway`` has them); records logins and submitted events.

    Transfers are a small in-memory stand-in for the engine's: a real ``PartnerDirectory`` on
    the configured weekly hours at ``clock`` refuses unknown and closed partners, and a
    volunteer needs a phone contact to add a partner to; ``transfer_calls`` records each call.
    """

    core: acd.Acd = field(default_factory=acd.Acd)
    now: float = 1000.0
    logins: list[tuple[str, str, frozenset[str], frozenset[str]]] = field(default_factory=list)
    events: list[acd.Event] = field(default_factory=list)
    fail_with: Exception | None = None
    """Raised by the next login/submit/transfer call instead of doing it."""
    view: LiveView = field(default_factory=LiveView)
    hub: LiveHub = field(init=False)
    cfg: HelplineConfig | None = None
    """Whose partners and hours (default: ``make_config()``)."""
    clock: datetime = MONDAY_NOON
    """The wall clock the partners' opening hours are read at."""
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Volunteer id -> their running transfer's view."""
    transfer_calls: list[tuple[str, ...]] = field(default_factory=list)
    """(volunteer id, what, arguments...) per start_transfer / transfer_step call."""
    directory: PartnerDirectory = field(init=False)
    last: LastContacts = field(default_factory=LastContacts)
    """Each volunteer's last finished contact, fed as the engine feeds AppGateway's."""
    referrals: dict[str, Referral] = field(default_factory=dict)
    """Contact id -> the referral its record will carry (set by a test before it ends)."""
    coachings_by_agent: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Volunteer id -> the coaching of their call (a stand-in for the engine's)."""
    coaching_calls: list[tuple[str, ...]] = field(default_factory=list)
    """(supervisor id, volunteer id, mode or "stop") per coach / coaching_step call."""
    surge_on: bool = False

    def __post_init__(self) -> None:
        self.hub = LiveHub(self.view.snapshot)
        self.hub.start_at(self.view.load(self.core, self.now).seq)
        hours = LineHours(self.cfg or make_config())

        def status(schedule: str, now: datetime) -> HoursStatus:
            return hours.hours(schedule).evaluate(now)

        self.directory = PartnerDirectory(hours.cfg, status)

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc

    def handle(self, event: acd.Event) -> list[acd.Command]:
        """One step of the core, observed by the projection and broadcast (as the engine)."""
        commands = self.core.handle(event, self.now)
        self.hub.broadcast(self.view.observe(event, commands, self.core, self.now))
        self.last.on_step(event, commands)  # the engine's order: observers, then records
        for done in commands:
            if isinstance(done, acd.ContactFinished):
                referral = self.referrals.pop(done.contact_id, None)
                self.last.on_record(done, "116111", done.language or "nl", referral)
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

    def wallboard(self) -> dict[str, Any]:
        return self.view.wallboard()

    def offer_call(self, contact_id: str = "c1") -> None:
        """Make a phone contact arrive, so a ready volunteer gets it offered."""
        self.handle(acd.ContactArrived(contact_id, acd.Channel.PHONE))

    def partners(self) -> list[dict[str, Any]]:
        return self.directory.list(self.clock)

    async def start_transfer(
        self, agent_id: str, partner_id: str, mode: str, region: str | None
    ) -> dict[str, Any]:
        self.transfer_calls.append((agent_id, "start", partner_id, mode, str(region)))
        self._maybe_fail()
        partner = self.directory.check_open(partner_id, self.clock)
        agent = self.agent_view(agent_id)
        calls = [c for c, channel in (agent or {}).get("contacts", []) if channel == "phone"]
        if not calls:
            raise TransferRefused("no_call", "you have no call to add a partner to")
        if agent_id in self.transfers:
            state = self.transfers[agent_id]["state"]
            raise TransferRefused(
                "transfer_in_progress", "a transfer is already running", {"state": state}
            )
        # The shape of session.transfer.TransferView.to_json; the partner answers at once here.
        self.transfers[agent_id] = {
            "contact_id": calls[0],
            "agent_id": agent_id,
            "partner_id": partner.id,
            "partner_name": partner.name,
            "mode": mode,
            "region": region,
            "state": "consult" if mode == "consult" else "conference",
            "reason": "",
            "stayed": False,
            "started_at": self.now,
            "updated_at": self.now,
        }
        return dict(self.transfers[agent_id])

    async def transfer_step(self, agent_id: str, step: str) -> dict[str, Any]:
        self.transfer_calls.append((agent_id, step))
        self._maybe_fail()
        transfer = self.transfers.get(agent_id)
        if transfer is None:
            raise TransferRefused("no_transfer", "no transfer is running")
        allowed = {"conference": "consult", "leave": "conference", "stay": "conference"}
        if step in allowed and transfer["state"] != allowed[step]:
            raise TransferRefused("not_allowed", f"cannot {step} now", {"state": transfer["state"]})
        if step == "conference":
            transfer["state"] = "conference"
        elif step == "stay":
            transfer["stayed"] = True
        else:  # leave, cancel: the volunteer's part is over
            transfer["state"] = "handed_over" if step == "leave" else "cancelled"
            transfer["reason"] = "volunteer_left" if step == "leave" else "cancelled"
            del self.transfers[agent_id]
        transfer["updated_at"] = self.now
        return dict(transfer)

    def transfer_view(self, agent_id: str) -> dict[str, Any] | None:
        transfer = self.transfers.get(agent_id)
        return dict(transfer) if transfer is not None else None

    def last_contact(self, agent_id: str, contact_id: str | None = None) -> dict[str, Any] | None:
        last = self.last.get(agent_id, contact_id)
        if last is None:
            return None
        agent = self.view.agent(agent_id)
        wrapping = agent is not None and agent.state == "wrap_up"
        return {**last.to_json(), "wrap_until": agent.wrap_until if wrapping else None}

    async def coach(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, Any]:
        self.coaching_calls.append((supervisor_id, agent_id, mode))
        self._maybe_fail()
        agent = self.agent_view(agent_id)
        calls = [c for c, channel in (agent or {}).get("contacts", []) if channel == "phone"]
        if not calls:
            raise CoachingRefused("no_call", "the volunteer is not in a call with a child")
        if agent_id in self.coachings_by_agent:
            raise CoachingRefused("coaching_in_progress", "this call is being coached already")
        # The shape of session.coaching_states.CoachingView.to_json.
        self.coachings_by_agent[agent_id] = {
            "contact_id": calls[0],
            "supervisor_id": supervisor_id,
            "agent_id": agent_id,
            "mode": mode,
            "state": "ringing",
            "reason": "",
            "started_at": self.now,
            "updated_at": self.now,
        }
        return dict(self.coachings_by_agent[agent_id])

    async def coaching_step(
        self, supervisor_id: str, agent_id: str, mode: str | None
    ) -> dict[str, Any]:
        self.coaching_calls.append((supervisor_id, agent_id, mode or "stop"))
        self._maybe_fail()
        coaching = self.coachings_by_agent.get(agent_id)
        if coaching is None:
            raise CoachingRefused("no_coaching", "there is no coaching on this call")
        if mode is None:
            del self.coachings_by_agent[agent_id]
            coaching.update(state="ended", reason="stopped")
        else:
            coaching["mode"] = mode
        return dict(coaching)

    def coachings(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.coachings_by_agent.values()]

    async def set_surge(self, on: bool) -> bool:
        self._maybe_fail()
        self.surge_on = on
        return on

    def surge(self) -> bool:
        return self.surge_on

    def finish_call(self, agent_id: str, contact_id: str = "c1") -> None:
        """The volunteer answers ``contact_id`` (after going ready) and the child hangs up:
        the volunteer is in wrap-up with it as their last contact."""
        if self.agent_view(agent_id)["state"] != "available":
            self.handle(acd.AgentReady(agent_id))
        self.offer_call(contact_id)
        self.handle(acd.OfferAccepted(contact_id, agent_id))
        self.handle(acd.ContactEnded(contact_id))


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
    registrations: RegistrationStore
    sip_pushes: list[str] = field(default_factory=list)
    """One entry per time the API asked to push the SIP accounts to Asterisk."""
    chat: ChatWeb | None = None
    """The children's chat: an in-memory store, a real hub, a fake engine (chat_support)."""

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
    http: dict[str, Any] | None = None,
    cfg: HelplineConfig | None = None,
    sip: Callable[[HelplineConfig, SessionStore, VolunteerDirectory], SipAccess] | None = None,
    configure: Callable[[HelplineConfig], HelplineConfig] | None = None,
    reports: Callable[[Engine, HelplineConfig], ReportMaker | None] = SqlReportMaker,
) -> AsyncIterator[WebEnv]:
    """A running test server with volunteers anna (utrecht), bram (almelo, disabled), sam.

    With ``hours_clock`` the opening-hours routes are mounted too, on the same database.
    ``db_url`` (an empty database) and ``sessions`` replace the SQLite file and the in-memory
    session store (integration tests pass PostgreSQL and Redis). ``logins`` replaces the
    config's login rate limits; ``http`` overrides ``[http]`` keys (validated); ``cfg`` the
    whole config. The API's clock is the gateway's. ``sip`` makes what serves the browser
    phone's routes (from the config, sessions and directory built here); ``configure`` changes
    the config first. ``reports`` makes the supervisors' report maker from the database and
    config (None: reports answer 503).
    """
    cfg = cfg or make_config(admin_token)
    if configure is not None:
        cfg = configure(cfg)
    if logins is not None:
        cfg = cfg.model_copy(update={"logins": logins})
    if http is not None:
        section = HttpSection.model_validate({**cfg.http.model_dump(), **http})
        cfg = cfg.model_copy(update={"http": section})
    engine = db.make_engine(db_url or f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    directory.add("anna", "Anna", "utrecht", ["phone", "chat"], ["nl", "en"], PASSWORD)
    directory.add("bram", "Bram", "almelo", ["phone"], ["nl"], PASSWORD)
    directory.disable("bram")
    directory.add("sam", "Sam", "almelo", ["peer_chat"], ["nl"], PASSWORD, young=True)
    gateway = FakeGateway(cfg=cfg)
    sessions = sessions or MemorySessionStore()
    pushes: list[str] = []

    async def sip_changed() -> None:
        pushes.append("push")

    registrations = RegistrationStore.from_config(engine, cfg)
    access = sip(cfg, sessions, directory) if sip is not None else None
    chat_store = MemoryStore()
    control = FakeControl()
    chat = ChatWeb(
        cfg.chat,
        chat_store,
        ChatHub(
            chat_store,
            control,
            max_chars=cfg.chat.max_message_chars,
            messages_per_10s=cfg.chat.messages_per_10s,
        ),
        control,
        FakeSurvey(),
        clock=lambda: gateway.now,
    )
    app = create_app(
        cfg,
        directory,
        gateway,
        sessions,
        registrations=registrations,
        clock=lambda: gateway.now,
        sip=access,
        chat=chat,
        reports=reports(engine, cfg),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    admin_app = create_admin_app(cfg, directory, gateway, sessions, sip_changed=sip_changed)
    if hours_clock is not None:  # on the admin listener, as the service mounts them
        store = HoursExceptionStore.from_config(engine, cfg)
        hours_api.install(admin_app, store, clock=hours_clock)
    admin: TestClient[Any, Any] = TestClient(TestServer(admin_app))
    await admin.start_server()
    try:
        yield WebEnv(client, admin, gateway, directory, sessions, cfg, registrations, pushes, chat)
    finally:
        await admin.close()
        await client.close()
        engine.dispose()
