"""How the HTTP API reaches the queue: changes through the engine, views from the live bus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import acd
from dialplan.partners import partner_caller_id, partner_endpoint
from helpline.last_contacts import LastContacts
from helpline.live_bus import LiveBus
from helpline.partners import PartnerDirectory
from live import Scope
from session import events as se
from session.coaching_states import CoachMode
from session.errors import TransferRefused
from session.transfer import PartnerDial, TransferMode
from web.live_hub import LiveHub

if TYPE_CHECKING:
    from ari_app.app import HelplineApp


class AppGateway:
    """Implements ``web.gateway.AcdGateway``: the engine's single writer makes every change;
    reads come from the bus's projection, never from the core behind the writer's back."""

    def __init__(
        self,
        app: HelplineApp,
        bus: LiveBus,
        partners: PartnerDirectory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._app = app
        self._bus = bus
        self._partners = partners
        self._clock = clock
        # Fed by the engine inside the writer; read here from memory, like the bus's view.
        self._last = LastContacts()
        self._last.attach(app.engine)

    @property
    def last_contacts(self) -> LastContacts:
        """The volunteers' recent contacts, for seeding from storage at take-over."""
        return self._last

    async def login(
        self, agent_id: str, location_id: str, skills: frozenset[str], languages: frozenset[str]
    ) -> None:
        # The phone's registration is known from Asterisk's events: no request on the way.
        reachable = self._app.router.phone_online(agent_id)
        await self._app.engine.apply(
            acd.AgentLoggedIn(agent_id, location_id, skills, languages, None, reachable)
        )

    async def submit(self, event: acd.Event) -> None:
        await self._app.engine.apply(event)

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        view = self._bus.view.agent(agent_id)
        return view.to_json() if view is not None else None

    def queue_view(self) -> dict[str, Any]:
        return self._bus.view.queue().to_json()

    def live_hub(self) -> LiveHub:
        return self._bus.hub

    def wallboard(self) -> dict[str, Any]:
        return self._bus.view.wallboard()

    def partners(self) -> list[dict[str, Any]]:
        # From memory (config and the in-memory hours view): nothing to ask the writer.
        return self._partners.list(self._clock())

    async def start_transfer(
        self, agent_id: str, partner_id: str, mode: str, region: str | None
    ) -> dict[str, Any]:
        # Checked here, from memory, before the writer sees it: only a directory partner that
        # is open now is ever dialled, and only at its directory number.
        partner = self._partners.check_open(partner_id, self._clock())
        cfg = self._app.cfg
        dial = PartnerDial(
            partner.id,
            partner.name,
            partner_endpoint(partner.number),
            partner_caller_id(cfg),  # mandatory: without it the partner sees "Anonymous"
            cfg.transfer.ring_timeout_s,
        )
        event = se.TransferRequested(
            agent_id, dial, TransferMode(mode), region, cfg.transfer.hold_music
        )
        return await self._request(agent_id, event)

    async def transfer_step(self, agent_id: str, step: str) -> dict[str, Any]:
        return await self._request(agent_id, se.TransferStep(agent_id, step))

    async def _request(self, agent_id: str, event: se.Event) -> dict[str, Any]:
        engine = self._app.engine
        view = await engine.call(lambda: engine.volunteer_request(agent_id, event))
        if view is None:  # the session always has a transfer after a request it accepted
            raise TransferRefused("no_transfer", "there is no transfer on this call")
        data: dict[str, Any] = view.to_json()
        return data

    async def coach(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, Any]:
        event = se.CoachingRequested(supervisor_id, agent_id, CoachMode(mode))
        return await self._coaching(agent_id, event)

    async def coaching_step(
        self, supervisor_id: str, agent_id: str, mode: str | None
    ) -> dict[str, Any]:
        event = se.CoachingStep(supervisor_id, CoachMode(mode) if mode is not None else None)
        return await self._coaching(agent_id, event)

    async def _coaching(self, agent_id: str, event: se.Event) -> dict[str, Any]:
        engine = self._app.engine
        view = await engine.call(lambda: engine.coaching_request(agent_id, event))
        data: dict[str, Any] = view.to_json()
        return data

    def coachings(self) -> list[dict[str, Any]]:
        snapshot = self._bus.view.snapshot(Scope.supervisor())
        coachings: list[dict[str, Any]] = snapshot.get("coachings", [])
        return coachings

    async def set_surge(self, on: bool) -> bool:
        engine = self._app.engine
        await engine.call(lambda: engine.set_surge(on))
        return on

    def surge(self) -> bool:
        return self._bus.view.surge

    def transfer_view(self, agent_id: str) -> dict[str, Any] | None:
        # The live bus's projection: the transfer in progress on the volunteer's call.
        for data in self._bus.view.transfers():
            if data["agent_id"] == agent_id:
                return data
        return None

    def last_contact(self, agent_id: str, contact_id: str | None = None) -> dict[str, Any] | None:
        last = self._last.get(agent_id, contact_id)
        if last is None:
            return None
        data = last.to_json()
        agent = self._bus.view.agent(agent_id)
        in_wrap_up = agent is not None and agent.state == acd.AgentState.WRAP_UP.value
        data["wrap_until"] = agent.wrap_until if agent is not None and in_wrap_up else None
        return data
