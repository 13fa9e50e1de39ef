"""Scripting helpers for the ACD core tests (h11/aioquic style).

A ``Script`` feeds events to one ``Acd`` at a fake ``now``, keeps every command it returned
and records each volunteer's sequence of states from the ``AgentStateChanged`` commands, so a
test can assert the whole list of commands and the whole state history.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from acd import (
    Acd,
    AcdError,
    AcdSettings,
    AgentLoggedIn,
    AgentReady,
    AgentState,
    AgentStateChanged,
    Channel,
    Command,
    ContactArrived,
    ContactFinished,
    Event,
    OfferContact,
    OfferFailure,
    Outcome,
    RoutingStrategy,
)

PHONE = Channel.PHONE
CHAT = Channel.CHAT
BOTH = frozenset({"phone", "chat"})
NL = frozenset({"nl"})
RING = AcdSettings().ring_timeout_s

A = AgentState


class Script:
    """Drives one ``Acd``: feed events and timers at a fake time, record commands and states."""

    def __init__(
        self,
        settings: AcdSettings | None = None,
        strategy: RoutingStrategy | None = None,
        *,
        acd: Acd | None = None,
    ) -> None:
        self.acd = acd if acd is not None else Acd(settings, strategy)
        self.log: list[Command] = []
        self.history: dict[str, list[tuple[AgentState, str]]] = defaultdict(list)

    def _record(self, out: list[Command]) -> list[Command]:
        for command in out:
            if isinstance(command, AgentStateChanged):
                self.history[command.agent_id].append((command.state, command.reason))
        self.log.extend(out)
        return out

    def feed(self, event: Event, now: float) -> list[Command]:
        """``acd.handle(event, now)``, recorded."""
        return self._record(self.acd.handle(event, now))

    def timer(self, now: float | None = None) -> list[Command]:
        """``acd.handle_timer(now)``; without ``now``, exactly at the next deadline."""
        if now is None:
            now = self.acd.next_deadline()
            assert now is not None, "no deadline pending"
        return self._record(self.acd.handle_timer(now))

    def login(
        self,
        agent_id: str,
        now: float,
        *,
        skills: frozenset[str] = BOTH,
        languages: frozenset[str] = NL,
        location: str = "loc1",
        max_chats: int | None = None,
        phone_reachable: bool = True,
        ready: bool = True,
    ) -> list[Command]:
        """Log a volunteer in (and make them ready unless ``ready=False``)."""
        out = self.feed(
            AgentLoggedIn(agent_id, location, skills, languages, max_chats, phone_reachable), now
        )
        if ready:
            out = out + self.feed(AgentReady(agent_id), now)
        return out

    def arrive(
        self,
        contact_id: str,
        now: float,
        channel: Channel = PHONE,
        *,
        skills: frozenset[str] = frozenset(),
        language: str | None = None,
        priority: int = 0,
        prefer: dict[str, float] | None = None,
        escalate: dict[str, float] | None = None,
    ) -> list[Command]:
        return self.feed(
            ContactArrived(contact_id, channel, skills, language, priority, prefer, escalate), now
        )

    def states(self, agent_id: str) -> list[AgentState]:
        """The volunteer's states in the order they were announced."""
        return [state for state, _reason in self.history[agent_id]]

    def forget(self) -> None:
        """Start a fresh history (after the set-up part of a test)."""
        self.log.clear()
        self.history.clear()

    def state(self, agent_id: str) -> AgentState:
        return self.acd.agent(agent_id).state


def offer(contact_id: str, agent_id: str, channel: Channel = PHONE, ring: float = RING) -> Command:
    return OfferContact(contact_id, agent_id, channel, ring)


def changed(agent_id: str, state: AgentState, at: float, reason: str = "") -> Command:
    return AgentStateChanged(agent_id, state, reason, float(at))


def finished(
    contact_id: str,
    outcome: Outcome,
    arrived: float,
    ended: float,
    *,
    channel: Channel = PHONE,
    answered: float | None = None,
    agent: str | None = None,
    location: str | None = None,
    priority: int = 0,
    language: str | None = None,
    reason: str | None = None,
    last_failure: OfferFailure | None = None,
) -> Command:
    return ContactFinished(
        contact_id=contact_id,
        channel=channel,
        outcome=outcome,
        priority=priority,
        language=language,
        arrived_at=float(arrived),
        answered_at=None if answered is None else float(answered),
        ended_at=float(ended),
        agent_id=agent,
        location_id=location,
        reason=reason,
        last_failure=last_failure,
    )


def assert_rejected(
    acd: Acd, error: type[AcdError], event: Event, now: float, match: str | None = None
) -> AcdError:
    """The event raises ``error`` and leaves the whole state and the deadlines as they were."""
    before = acd.snapshot()
    deadline = acd.next_deadline()
    with pytest.raises(error, match=match) as info:
        acd.handle(event, now)
    assert acd.snapshot() == before
    assert acd.next_deadline() == deadline
    return info.value


def via_json(data: dict[str, Any]) -> dict[str, Any]:
    """What a snapshot looks like after a trip through the journal."""
    result: dict[str, Any] = json.loads(json.dumps(data))
    return result


def assert_restores_at_every_cut(
    make: Callable[[], Acd],
    restore: Callable[[dict[str, Any]], Acd],
    run: Callable[[Acd, Any], list[Any]],
    steps: Sequence[Any],
    full: list[Any],
) -> None:
    """Cut the script at every step: a core restored from the snapshot there has the same
    deadline and snapshot, and ``run`` of the rest gives what the uninterrupted run (``full``)
    gave."""
    for cut in range(len(steps) + 1):
        live = make()
        run(live, steps[:cut])
        data = via_json(live.snapshot())
        restored = restore(data)
        assert restored.next_deadline() == live.next_deadline(), f"cut {cut}"
        assert via_json(restored.snapshot()) == data, f"cut {cut}"
        assert run(restored, steps[cut:]) == full[cut:], f"cut {cut}"
