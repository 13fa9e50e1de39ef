"""The ACD as the HTTP API sees it: changes go through the engine's single writer."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import acd

if TYPE_CHECKING:
    from ari_app.app import HelplineApp


class AppGateway:
    """Implements ``web.gateway.AcdGateway`` on top of a running ``HelplineApp``."""

    def __init__(self, app: HelplineApp) -> None:
        self._app = app

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
        try:
            agent = self._app.acd.agent(agent_id)
        except acd.UnknownAgent:
            return None
        return {
            "state": agent.state.value,
            "reason": agent.reason,
            "location": agent.location_id,
            "offer": agent.offer,
            "contacts": [
                {"id": contact_id, "channel": channel.value}
                for contact_id, channel in agent.contacts.items()
            ],
            "wrap_until": agent.wrap_until,
            "phone_registered": agent.phone_reachable,
            "pending_pause": agent.pending_pause,
            "pending_logout": agent.pending_logout,
            "handled": agent.handled,
        }

    def queue_view(self) -> dict[str, Any]:
        core = self._app.acd
        waiting = [c for c in core.contacts() if c.state is acd.ContactState.QUEUED]
        oldest = min((c.arrived_at for c in waiting), default=None)
        return {
            "waiting": {channel.value: core.waiting_count(channel) for channel in acd.Channel},
            "oldest_waiting_since": oldest,
            "agents": dict(Counter(a.state.value for a in core.agents())),
            "agents_by_location": dict(Counter(a.location_id for a in core.agents())),
        }
