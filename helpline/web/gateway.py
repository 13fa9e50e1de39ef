"""How the HTTP API reaches the ACD, which runs in the Stasis app process.

The API never touches the ``acd.Acd`` object: it only enqueues events and reads JSON-able
views through this Protocol (one writer, no locks). ``ari_app`` implements it.
"""

from __future__ import annotations

from typing import Any, Protocol

import acd


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
