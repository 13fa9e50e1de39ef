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

    def wallboard(self) -> dict[str, Any]:
        """The supervisors' wallboard figures (``live.LiveView.wallboard``); raises
        ``AcdUnavailable`` while standing by."""
        ...

    def partners(self) -> list[dict[str, Any]]:
        """The partner directory with "open now" (``helpline.partners.PartnerDirectory.list``)."""
        ...

    async def start_transfer(
        self, agent_id: str, partner_id: str, mode: str, region: str | None
    ) -> dict[str, Any]:
        """Add a partner to the volunteer's call: ``mode`` is ``consult`` (the child is held
        while the volunteer talks to the partner) or ``direct`` (all three at once). The
        caller has checked the child's consent and the region. Returns the transfer view;
        raises ``session.errors.TransferRefused`` (unknown or closed partner, no call, one
        already running...)."""
        ...

    async def transfer_step(self, agent_id: str, step: str) -> dict[str, Any]:
        """``conference``, ``leave``, ``stay`` or ``cancel`` on the volunteer's transfer;
        returns the transfer view, raises ``session.errors.TransferRefused``."""
        ...

    def transfer_view(self, agent_id: str) -> dict[str, Any] | None:
        """The volunteer's current transfer (JSON-able), or None."""
        ...

    def last_contact(self, agent_id: str, contact_id: str | None = None) -> dict[str, Any] | None:
        """The volunteer's most recently finished contact, or their finished contact
        ``contact_id`` (a volunteer ends several chats), from memory (None if none since
        this process took over, or not theirs): ``{contact_id, channel, line_id, language, referral,
        ended_at, next_answered, wrap_until}``. ``referral`` is ``{partner, region, consent,
        volunteer_stayed}`` or None; ``ended_at`` and ``wrap_until`` are Unix seconds,
        ``wrap_until`` None unless the volunteer is in wrap-up now; ``next_answered`` is true
        once they have answered another contact since."""
        ...

    async def coach(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, Any]:
        """Ring the supervisor's phone to listen to, whisper to or barge into (``mode``) the
        volunteer's call; returns the coaching view, raises ``CoachingRefused``."""
        ...

    async def coaching_step(
        self, supervisor_id: str, agent_id: str, mode: str | None
    ) -> dict[str, Any]:
        """Switch the mode of the coaching of the volunteer's call, or stop it (``None``)."""
        ...

    def coachings(self) -> list[dict[str, Any]]:
        """Coachings in progress (JSON-able), from the live bus."""
        ...

    async def set_surge(self, on: bool) -> bool:
        """Switch surge mode; returns it as it is now."""
        ...

    def surge(self) -> bool:
        """Whether surge mode is on."""
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

    def wallboard(self) -> dict[str, Any]:
        return self._serving().wallboard()

    def partners(self) -> list[dict[str, Any]]:
        return self._serving().partners()

    async def start_transfer(
        self, agent_id: str, partner_id: str, mode: str, region: str | None
    ) -> dict[str, Any]:
        return await self._serving().start_transfer(agent_id, partner_id, mode, region)

    async def transfer_step(self, agent_id: str, step: str) -> dict[str, Any]:
        return await self._serving().transfer_step(agent_id, step)

    def transfer_view(self, agent_id: str) -> dict[str, Any] | None:
        return self._real.transfer_view(agent_id) if self._real is not None else None

    def last_contact(self, agent_id: str, contact_id: str | None = None) -> dict[str, Any] | None:
        return self._serving().last_contact(agent_id, contact_id)

    async def coach(self, supervisor_id: str, agent_id: str, mode: str) -> dict[str, Any]:
        return await self._serving().coach(supervisor_id, agent_id, mode)

    async def coaching_step(
        self, supervisor_id: str, agent_id: str, mode: str | None
    ) -> dict[str, Any]:
        return await self._serving().coaching_step(supervisor_id, agent_id, mode)

    def coachings(self) -> list[dict[str, Any]]:
        return self._serving().coachings()

    async def set_surge(self, on: bool) -> bool:
        return await self._serving().set_surge(on)

    def surge(self) -> bool:
        return self._serving().surge()
