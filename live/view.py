"""The projection behind the live state bus: the core's state as numbered deltas.

The engine's writer calls ``observe`` after every journaled step (an ``acd_observers``
callback), inside the writer, so reading the core's public query API here is safe. Only the
volunteers and contacts the step names (in its event or commands) are read again, so a step
costs O(touched), not O(everyone logged in). ``load`` rebuilds from the whole core after
recovery and tells clients to start over.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import acd
from live.delta import Delta, Kind, Scope, queue_for_volunteers
from live.records import SHOWN_STATES, AgentView, ChannelFigures, ContactView, QueueFigures

DEFAULT_TZ = ZoneInfo("Europe/Amsterdam")
_QUEUED = acd.ContactState.QUEUED.value


class LiveView:
    """Volunteers, contacts and queue figures as last seen, and the sequence number."""

    def __init__(self, tz: ZoneInfo = DEFAULT_TZ, seq: int = 0) -> None:
        self._tz = tz
        self._seq = seq
        self._agents: dict[str, AgentView] = {}
        self._contacts: dict[str, ContactView] = {}
        self._by_state: Counter[str] = Counter()
        self._by_location: Counter[str] = Counter()
        # Arrival times of waiting contacts per channel; stale entries are skipped lazily.
        self._oldest: dict[str, list[tuple[float, str]]] = {c.value: [] for c in acd.Channel}
        self._waiting: dict[str, int] = {c.value: 0 for c in acd.Channel}
        self._date = ""
        self._finished: dict[str, Counter[str]] = {c.value: Counter() for c in acd.Channel}
        self._queue = self._figures()

    # ------------------------------------------------------------------ reads

    @property
    def seq(self) -> int:
        """The number of the last delta made (a snapshot is as of this)."""
        return self._seq

    def agent(self, agent_id: str) -> AgentView | None:
        return self._agents.get(agent_id)

    def contact(self, contact_id: str) -> ContactView | None:
        return self._contacts.get(contact_id)

    def queue(self) -> QueueFigures:
        return self._queue

    def snapshot(self, scope: Scope) -> dict[str, Any]:
        """Everything ``scope`` may see, as of ``seq``; filtered exactly as ``render`` is."""
        agents = [v.to_json() for k, v in sorted(self._agents.items()) if scope.shows_agent(k)]
        contacts = [
            data
            for _, view in sorted(self._contacts.items())
            if scope.shows_contact(data := view.to_json())
        ]
        queue = self._queue.to_json()
        return {
            "seq": self._seq,
            "agents": agents,
            "contacts": contacts,
            "queue": queue if scope.is_supervisor else queue_for_volunteers(queue),
        }

    # ------------------------------------------------------------------ updates

    def load(self, core: acd.Acd, now: float) -> Delta:
        """Rebuild from the whole core (after recovery) and return a ``reset`` delta.

        Today's finished counts are kept if the date has not changed: the core has no
        history to rebuild them from. A volunteer still in the same state keeps ``since``.
        """
        self._roll_date(now)
        old_agents = self._agents
        self._agents, self._contacts = {}, {}
        self._by_state.clear()
        self._by_location.clear()
        for agent in core.agents():
            old = old_agents.get(agent.agent_id)
            keep = old is not None and (old.state, old.reason) == (agent.state.value, agent.reason)
            view = AgentView.of(agent, old.since if keep and old is not None else now)
            self._put_agent(view.agent_id, view)
        for heap in self._oldest.values():
            heap.clear()
        for contact in core.contacts():
            self._put_contact(contact.contact_id, ContactView.of(contact))
        self._read_waiting(core)
        self._queue = self._figures()
        return self._next("reset", "", None, public=True)

    def observe(
        self,
        event: acd.Event | None,
        commands: Iterable[acd.Command],
        core: acd.Acd,
        now: float,
    ) -> list[Delta]:
        """The deltas one step of the core caused (``event`` is ``None`` for a deadline)."""
        commands = list(commands)
        agent_ids: dict[str, None] = {}  # ordered sets: deltas come in a stable order
        contact_ids: dict[str, None] = {}
        since: dict[str, float] = {}
        for item in (event, *commands):
            agent_id = getattr(item, "agent_id", None)
            if isinstance(agent_id, str):
                agent_ids[agent_id] = None
            contact_id = getattr(item, "contact_id", None)
            if isinstance(contact_id, str):
                contact_ids[contact_id] = None
            if isinstance(item, acd.AgentStateChanged):
                since[item.agent_id] = item.at
        self._roll_date(now)
        for command in commands:
            if isinstance(command, acd.ContactFinished):
                self._finished[command.channel.value][command.outcome.value] += 1

        deltas: list[Delta] = []
        new_contacts: dict[str, ContactView | None] = {}
        for contact_id in contact_ids:
            view = ContactView.of(core.contact(contact_id)) if core.holds(contact_id) else None
            new_contacts[contact_id] = view
            # Whoever a touched contact was or is with is touched too.
            for seen in (self._contacts.get(contact_id), view):
                if seen is not None and seen.agent_id is not None:
                    agent_ids[seen.agent_id] = None
        for agent_id in agent_ids:
            self._diff_agent(agent_id, core, since.get(agent_id), now, deltas)
        for contact_id, view in new_contacts.items():
            old = self._contacts.get(contact_id)
            if view == old:
                continue
            self._put_contact(contact_id, view)
            audience = frozenset(
                seen.agent_id for seen in (old, view) if seen is not None and seen.agent_id
            )
            data = None if view is None else view.to_json()
            deltas.append(self._next("contact", contact_id, data, audience=audience))
        self._read_waiting(core)
        figures = self._figures()
        if figures != self._queue:
            self._queue = figures
            deltas.append(self._next("queue", "queue", figures.to_json(), public=True))
        return deltas

    # ------------------------------------------------------------------ internals

    def _next(
        self,
        kind: Kind,
        key: str,
        data: dict[str, Any] | None,
        *,
        audience: frozenset[str] = frozenset(),
        public: bool = False,
    ) -> Delta:
        self._seq += 1
        return Delta(self._seq, kind, key, data, audience, public)

    def _diff_agent(
        self, agent_id: str, core: acd.Acd, at: float | None, now: float, deltas: list[Delta]
    ) -> None:
        old = self._agents.get(agent_id)
        try:
            agent = core.agent(agent_id)
        except acd.UnknownAgent:
            view = None
        else:
            if at is None:
                at = old.since if old is not None else now
            view = AgentView.of(agent, at)
        if view == old:
            return
        self._put_agent(agent_id, view)
        data = None if view is None else view.to_json()
        deltas.append(self._next("agent", agent_id, data, audience=frozenset({agent_id})))

    def _put_agent(self, agent_id: str, view: AgentView | None) -> None:
        old = self._agents.pop(agent_id, None)
        if old is not None:
            self._by_state[old.state] -= 1
            self._by_location[old.location_id] -= 1
            if not self._by_location[old.location_id]:
                del self._by_location[old.location_id]
        if view is not None:
            self._agents[agent_id] = view
            self._by_state[view.state] += 1
            self._by_location[view.location_id] += 1

    def _put_contact(self, contact_id: str, view: ContactView | None) -> None:
        if view is None:
            self._contacts.pop(contact_id, None)
            return
        old = self._contacts.get(contact_id)
        self._contacts[contact_id] = view
        if view.state == _QUEUED and (old is None or old.state != _QUEUED):
            heapq.heappush(self._oldest[view.channel], (view.arrived_at, contact_id))

    def _oldest_waiting(self, channel: str) -> float | None:
        heap = self._oldest[channel]
        while heap and not self._still_waiting(heap[0]):
            heapq.heappop(heap)
        if len(heap) > 2 * self._waiting[channel] + 32:
            # Entries of contacts that left from deep in the heap pile up; drop them now and
            # then (amortised O(1) per push).
            heap[:] = {entry for entry in heap if self._still_waiting(entry)}
            heapq.heapify(heap)
        return heap[0][0] if heap else None

    def _still_waiting(self, entry: tuple[float, str]) -> bool:
        view = self._contacts.get(entry[1])
        return view is not None and view.state == _QUEUED and view.arrived_at == entry[0]

    def _read_waiting(self, core: acd.Acd) -> None:
        for channel in acd.Channel:
            self._waiting[channel.value] = core.waiting_count(channel)

    def _roll_date(self, now: float) -> None:
        date = datetime.fromtimestamp(now, self._tz).date().isoformat()
        if date != self._date:
            self._date = date
            for counts in self._finished.values():
                counts.clear()

    def _figures(self) -> QueueFigures:
        channels = tuple(
            ChannelFigures(
                channel=channel.value,
                waiting=self._waiting[channel.value],
                oldest_arrived_at=self._oldest_waiting(channel.value),
                answered=self._finished[channel.value][acd.Outcome.ANSWERED.value],
                abandoned=self._finished[channel.value][acd.Outcome.ABANDONED.value],
                overflowed=self._finished[channel.value][acd.Outcome.OVERFLOWED.value],
            )
            for channel in acd.Channel
        )
        return QueueFigures(
            date=self._date,
            channels=channels,
            agents_by_state=tuple((state, self._by_state[state]) for state in SHOWN_STATES),
            agents_by_location=tuple(sorted(self._by_location.items())),
        )
