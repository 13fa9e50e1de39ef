"""How the HTTP API reaches the queue: changes through the engine, views from the live bus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import acd
from helpline.live_bus import LiveBus
from web.live_hub import LiveHub

if TYPE_CHECKING:
    from ari_app.app import HelplineApp


class AppGateway:
    """Implements ``web.gateway.AcdGateway``: the engine's single writer makes every change;
    reads come from the bus's projection, never from the core behind the writer's back."""

    def __init__(self, app: HelplineApp, bus: LiveBus) -> None:
        self._app = app
        self._bus = bus

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
