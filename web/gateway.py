"""How the HTTP API reaches the ACD, which runs in the Stasis app process.

The API never touches the ``acd.Acd`` object: changes go through the engine's single writer
and views come from the live bus's projection (``helpline.gateway.AppGateway``).
"""

from __future__ import annotations

from typing import Any, Protocol

import acd
from web.errors import AcdUnavailable
from web.live_hub import LiveHub


class AcdGateway(Protocol):
    """The ACD as the web layer sees it."""

    async def login(
        self, agent_id: str, location_id: str, skills: frozenset[str], languages: frozenset[str]
    ) -> None:
        """Log the volunteer in (they start paused); raises ``acd.AcdError`` subclasses."""
        ...

    async def submit(self, event: acd.Event) -> None:
        """AgentReady/AgentPaused/AgentLoggedOut/WrapUpEnded; raises ``acd.AcdError`` subclasses."""
        ...

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        """JSON-able: state, reason, contacts held, offer, wrap_until...; None if logged out."""
        ...

    def queue_view(self) -> dict[str, Any]:
        """JSON-able overview (waiting per channel, agents per state)."""
        ...

    def live_hub(self) -> LiveHub:
        """The live state bus's clients; raises ``AcdUnavailable`` while standing by."""
        ...


class StandbyGateway:
    """The gateway of a process that does not serve the queue yet (waiting for the lease).

    Its HTTP API is up so that health checks can tell "live, not ready"; volunteer actions get
    a 503 until ``attach`` hands over the real gateway.
    """

    def __init__(self) -> None:
        self._real: AcdGateway | None = None

    def attach(self, real: AcdGateway) -> None:
        self._real = real

    def _serving(self) -> AcdGateway:
        if self._real is None:
            raise AcdUnavailable("standing by for the lease")
        return self._real

    async def login(
        self, agent_id: str, location_id: str, skills: frozenset[str], languages: frozenset[str]
    ) -> None:
        await self._serving().login(agent_id, location_id, skills, languages)

    async def submit(self, event: acd.Event) -> None:
        await self._serving().submit(event)

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        return self._real.agent_view(agent_id) if self._real is not None else None

    def queue_view(self) -> dict[str, Any]:
        return self._serving().queue_view()

    def live_hub(self) -> LiveHub:
        return self._serving().live_hub()
