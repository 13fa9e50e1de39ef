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
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import acd
from live.day_seed import DaySeed
from live.delta import Delta, Kind, Scope, queue_for_volunteers
from live.records import (
    SHOWN_STATES,
    AgentView,
    ChannelFigures,
    ContactView,
    CoreAgent,
    QueueFigures,
)
from live.wallboard import Wallboard, channel_of, kind_of

DEFAULT_TZ = ZoneInfo("Europe/Amsterdam")
_QUEUED = acd.ContactState.QUEUED.value


class LiveView:
    """Volunteers, contacts and queue figures as last seen, and the sequence number."""

    def __init__(
        self,
        tz: ZoneInfo = DEFAULT_TZ,
        seq: int = 0,
        line_of: Callable[[str], str | None] | None = None,
        wallboard: Wallboard | None = None,
    ) -> None:
        """``line_of(contact_id)``: the line a contact came in on, if known (the engine's
        sessions know it; the core does not). ``wallboard``: the supervisors' figures (the
        queue figures' ``board``), fed from the same steps."""
        self._tz = tz
        self._board = wallboard or Wallboard()
        self._line_of = line_of or _no_line
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
        self._transfers: dict[str, dict[str, Any]] = {}
        """Transfers in progress by contact id, in their JSON form (ended ones are dropped
        once their last delta is made)."""
        self._coachings: dict[str, dict[str, Any]] = {}
        """Coachings in progress by contact id (supervisors only), as transfers."""
        self._surge = False
        """Surge mode: new contacts go to supervisors and trained staff only."""
        self._queue = self._figures()

    # ------------------------------------------------------------------ reads

    @property
    def seq(self) -> int:
        """The number of the last delta made (a snapshot is as of this)."""
        return self._seq

    def agent(self, agent_id: str) -> AgentView | None:
        return self._agents.get(agent_id)

    def agents(self) -> list[AgentView]:
        """Every logged-in volunteer (e.g. whether a peer chat can be had now)."""
        return list(self._agents.values())

    def contact(self, contact_id: str) -> ContactView | None:
        return self._contacts.get(contact_id)

    def queue(self) -> QueueFigures:
        return self._queue

    def wallboard(self) -> dict[str, Any]:
        """The supervisors' wallboard figures as of ``seq`` (``GET /api/v1/wallboard``)."""
        return {"seq": self._seq, "date": self._queue.date, **self._queue.board}

    def snapshot(self, scope: Scope) -> dict[str, Any]:
        """Everything ``scope`` may see, as of ``seq``; filtered exactly as ``render`` is."""
        agents = [v.to_json() for k, v in sorted(self._agents.items()) if scope.shows_agent(k)]
        contacts = [
            data
            for _, view in sorted(self._contacts.items())
            if scope.shows_contact(data := view.to_json())
        ]
        queue = self._queue.to_json()
        transfers = [
            data
            for _, data in sorted(self._transfers.items())
            if scope.is_supervisor or data["agent_id"] == scope.agent_id
        ]
        return {
            "seq": self._seq,
            "agents": agents,
            "contacts": contacts,
            "transfers": transfers,
            "queue": queue if scope.is_supervisor else queue_for_volunteers(queue),
            **({"coachings": list(self._coachings.values())} if scope.is_supervisor else {}),
            "surge": self._surge,
        }

    def transfers(self) -> list[dict[str, Any]]:
        """Transfers in progress, in their JSON form."""
        return list(self._transfers.values())

    # ------------------------------------------------------------------ updates

    def load(self, core: acd.Acd, now: float) -> Delta:
        """Rebuild from the whole core (after recovery) and return a ``reset`` delta.

        Today's finished counts are kept if the date has not changed: the core has no
        history to rebuild them from. A volunteer still in the same state keeps ``since``.
        """
        self._roll_date(now)
        self._surge = core.surge  # the core keeps it across a restart or a take-over
        old_agents = self._agents
        self._agents, self._contacts = {}, {}
        self._by_state.clear()
        self._by_location.clear()
        self._board.clear_floor()
        for agent in core.agents():
            old = old_agents.get(agent.agent_id)
            keep = old is not None and (old.state, old.reason) == (agent.state.value, agent.reason)
            since = old.since if keep and old is not None else now
            view = AgentView.of(agent, since, _kinds(agent, core))
            self._put_agent(view.agent_id, view, now)
        for heap in self._oldest.values():
            heap.clear()
        for contact in core.contacts():
            line = self._line_of(contact.contact_id)
            self._board.arrived(contact.contact_id, contact.channel, contact.skills)
            self._put_contact(contact.contact_id, ContactView.of(contact, line))
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
        self._board.expire(now)
        if isinstance(event, acd.ContactArrived):
            self._board.arrived(event.contact_id, event.channel, event.skills)
        for command in commands:
            if isinstance(command, acd.ContactFinished):
                self._finished[command.channel.value][command.outcome.value] += 1
                self._board.finished(command)

        deltas: list[Delta] = []
        new_contacts: dict[str, ContactView | None] = {}
        for contact_id in contact_ids:
            view = (
                ContactView.of(core.contact(contact_id), self._line_of(contact_id))
                if core.holds(contact_id)
                else None
            )
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
                if view is None:
                    self._board.contact_changed(contact_id, None)  # came and went in one step
                continue
            self._put_contact(contact_id, view)
            audience = frozenset(
                seen.agent_id for seen in (old, view) if seen is not None and seen.agent_id
            )
            data = None if view is None else view.to_json()
            deltas.append(self._next("contact", contact_id, data, audience=audience))
        self._read_waiting(core)
        deltas.extend(self.refresh())
        return deltas

    def refresh(self) -> list[Delta]:
        """The queue delta, if the figures changed since the last one (after a change from
        outside the core's steps: a transfer, the opening hours, Asterisk, an alert)."""
        figures = self._figures()
        if figures == self._queue:
            return []
        self._queue = figures
        return [self._next("queue", "queue", figures.to_json(), public=True)]

    def begin_seed(self, now: float) -> list[Delta]:
        """This view starts in the middle of the day (the process just became the writer):
        today's counts run from ``now`` until ``seed_today`` brings the earlier contacts.
        Call it before the writer's first step."""
        self._roll_date(now)
        self._board.begin_seed(now)
        return self.refresh()

    def seed_today(
        self, seed: DaySeed, now: float, record_id: Callable[[str], str] = str
    ) -> list[Delta]:
        """Add today's earlier contacts, read from their records (see ``live.day_seed``), to
        the wallboard and the queue figures. Contacts counted here since ``begin_seed`` are
        left out by their record id (``record_id`` of the contact id). A seed of another day,
        or one not awaited (given twice), changes nothing."""
        self._roll_date(now)
        if seed.date != self._date or not self._board.seed_pending:
            return self.refresh()  # the date may have rolled: that is a change to show
        sums = seed.without({record_id(c) for c in self._board.counted()})
        self._board.seed(sums)
        for kind, more in sums.items():
            counts = self._finished[channel_of(kind)]
            counts[acd.Outcome.ANSWERED.value] += more.answered
            counts[acd.Outcome.ABANDONED.value] += more.abandoned
            counts[acd.Outcome.OVERFLOWED.value] += more.overflowed
        return self.refresh()

    def set_hours(
        self, lines: Iterable[dict[str, Any]], partners: Iterable[dict[str, Any]], now: float
    ) -> list[Delta]:
        """Which lines and partners are open now (see ``Wallboard.set_hours``)."""
        self._board.set_hours(lines, partners)
        self._board.expire(now)
        return self.refresh()

    def set_asterisk(self, connected: bool, now: float) -> list[Delta]:
        """Asterisk's event stream connected or lost (the "Asterisk down" alert)."""
        self._board.set_asterisk(connected, now)
        return self.refresh()

    def phone_replaced(self, agent_id: str, now: float) -> list[Delta]:
        """A second registration took ``agent_id``'s phone (an alert for an hour)."""
        self._board.phone_replaced(agent_id, now)
        return self.refresh()

    def observe_transfer(self, data: dict[str, Any], *, ended: bool) -> Delta:
        """A contact's warm transfer moved on (``data``: its JSON form, with ``contact_id``
        and ``agent_id``): its volunteer and the supervisors see each step."""
        contact_id, agent_id = data["contact_id"], data["agent_id"]
        if ended:
            self._transfers.pop(contact_id, None)
        else:
            self._transfers[contact_id] = data
        audience = frozenset({agent_id}) if agent_id else frozenset()
        return self._next("transfer", contact_id, data, audience=audience)

    def observe_coaching(self, data: dict[str, Any], *, ended: bool) -> Delta:
        """A supervisor's coaching of a call moved on: for the supervisors only."""
        contact_id = data["contact_id"]
        if ended:
            self._coachings.pop(contact_id, None)
        else:
            self._coachings[contact_id] = data
        return self._next("coaching", contact_id, data)

    def observe_surge(self, on: bool) -> Delta:
        """Surge mode switched: for everyone (a volunteer may see why the queue is quiet)."""
        self._surge = on
        return self._next("surge", "surge", {"on": on}, public=True)

    @property
    def surge(self) -> bool:
        return self._surge

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
            view = AgentView.of(agent, at, _kinds(agent, core))
        if view == old:
            return
        self._put_agent(agent_id, view, now)
        data = None if view is None else view.to_json()
        deltas.append(self._next("agent", agent_id, data, audience=frozenset({agent_id})))

    def _put_agent(self, agent_id: str, view: AgentView | None, now: float) -> None:
        old = self._agents.pop(agent_id, None)
        self._board.agent_changed(old, view, now)
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
        self._board.contact_changed(contact_id, view)
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
            self._board.new_day()

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
            board=self._board.to_json(self._by_state, len(self._transfers)),
        )


def _no_line(contact_id: str) -> str | None:
    return None


def _kinds(agent: CoreAgent, core: acd.Acd) -> tuple[str, ...]:
    """The kind of each contact the volunteer holds (the core holds every one of them): a
    peer chat is a chat that asked for the ``peer_chat`` skill."""
    return tuple(
        kind_of(channel, core.contact(cid).skills) for cid, channel in agent.contacts.items()
    )
