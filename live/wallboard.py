"""The wallboard's figures: today's service per kind of contact, the floor now, and alerts.

Sans-IO and fed by ``live.LiveView`` from the same observer, step by step: it is told each
finished contact (``finished``), each contact and volunteer whose view changed
(``contact_changed``, ``agent_changed``) and, from outside the core, the state of the lines,
the partners and Asterisk (``set_hours``, ``set_asterisk``, ``phone_replaced``). Every call
costs O(what it touched); ``to_json`` costs O(kinds + locations + pause reasons + alerts).

Definitions (named on the screen too):

- kinds: ``phone``, ``chat`` and ``peer_chat`` (a chat that asked for the ``peer_chat``
  skill), and ``total`` over all three;
- today's counts (answered, abandoned, overflowed) are of contacts that *ended* today (local
  date), as their records are: the same numbers a report for today shows;
- ``waiting``: not answered yet, queued or ringing; ``longest_wait_since`` the arrival of the
  oldest of them;
- service level within T seconds (T = 20 and 60): ``answered_only`` = answered within T /
  answered; ``with_abandons`` = answered within T / (answered + abandoned). Overflowed
  contacts count in neither (they were never offered a volunteer: shown apart);
- ASA: mean of (first answer - arrival) over answered contacts;
- AHT: (talk + wrap-up) / answered: talk = end - first answer, wrap-up = the volunteers'
  time in wrap-up after a contact of that kind, counted when the wrap-up ends;
- ``coaching``: logged-in supervisors coaching a call now. They count in their state too
  (often ready), but are offered nothing until the coaching ends.

A board that starts in the middle of the day (a restart, a standby taking over) begins
counting at once and is handed today's earlier contacts from their records once SQL has been
read (``begin_seed``, then ``seed``; see ``live.day_seed``). Until then ``today_from`` says
from when its counts are. The records hold no wrap-up time, so after a seed that brought
answered contacts ``wrap_up_from`` says from when wrap-up is known, and AHT is today's talk
time per answered contact plus the wrap-up per contact answered since then (the same as the
formula above when nothing was seeded); ``talk_avg_s`` stays exact for the whole day.

Nothing here names a child: contact ids are only keys of internal tables, never output.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import acd
from live.day_seed import DaySums
from live.records import SHOWN_STATES, AgentView, ContactView

KINDS: tuple[str, ...] = ("phone", "chat", "peer_chat")
"""The kinds of contact the wallboard tells apart (the records' ``channel`` values)."""

TOTAL = "total"
SERVICE_LEVEL_S: tuple[int, ...] = (20, 60)
"""The service-level thresholds, in seconds."""

PHONE_ALERT_S = 3600.0
"""How long a "phone replaced" alert stays on the board."""
MAX_PHONE_ALERTS = 20
"""At most this many of them are kept (the newest)."""

DEFAULT_QUEUE_ALERT = 5
"""Waiting contacts of one kind at which the "queue over threshold" alert shows."""

_UNANSWERED = frozenset({acd.ContactState.QUEUED.value, acd.ContactState.OFFERED.value})
_CONNECTED = acd.ContactState.CONNECTED.value
_PAUSED = acd.AgentState.PAUSED.value
_WRAP_UP = acd.AgentState.WRAP_UP.value


def kind_of(channel: acd.Channel | str, skills: Iterable[str]) -> str:
    """``peer_chat`` for a chat that needs the skill, else the channel's value."""
    value = channel.value if isinstance(channel, acd.Channel) else channel
    if value == acd.Channel.CHAT.value and "peer_chat" in skills:
        return "peer_chat"
    return value


def channel_of(kind: str) -> str:
    """The ACD's channel of a kind of contact (a peer chat is a chat)."""
    return acd.Channel.CHAT.value if kind == "peer_chat" else kind


@dataclass(slots=True)
class _Day:
    """Today's sums for one kind (mutable: only this module changes it)."""

    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    within: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SERVICE_LEVEL_S, 0))
    wait_s: float = 0.0
    """Sum of (first answer - arrival) over answered contacts."""
    talk_s: float = 0.0
    wrap_s: float = 0.0
    wraps: int = 0
    seeded: int = 0
    """Of ``answered``, those read from the records (their wrap-up is not known)."""

    def add(self, other: _Day) -> None:
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.overflowed += other.overflowed
        for t in SERVICE_LEVEL_S:
            self.within[t] += other.within[t]
        self.wait_s += other.wait_s
        self.talk_s += other.talk_s
        self.wrap_s += other.wrap_s
        self.wraps += other.wraps
        self.seeded += other.seeded

    def add_records(self, sums: DaySums) -> None:
        """Contacts read from their records: everything but wrap-up."""
        self.answered += sums.answered
        self.abandoned += sums.abandoned
        self.overflowed += sums.overflowed
        for t in SERVICE_LEVEL_S:
            self.within[t] += sums.within.get(t, 0)
        self.wait_s += sums.wait_s
        self.talk_s += sums.talk_s
        self.seeded += sums.answered


@dataclass(slots=True)
class _Now:
    """Contacts of one kind held by the core now, by state."""

    waiting: int = 0
    """Queued or ringing."""
    ringing: int = 0
    in_contact: int = 0
    oldest: list[tuple[float, str]] = field(default_factory=list)
    """Heap of (arrival, contact id) of unanswered contacts; stale entries skipped lazily."""


def _ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else round(part / whole, 4)


def _mean(total: float, count: int) -> float | None:
    return None if count <= 0 else round(total / count, 1)


def _aht(day: _Day) -> float | None:
    """(talk + wrap-up) / answered. After a seed the wrap-up of the contacts read from the
    records is unknown: talk per answered contact over the whole day, plus the wrap-up per
    contact answered since the board began counting (None until one was)."""
    if day.seeded == 0:
        return _mean(day.talk_s + day.wrap_s, day.answered)
    counted_here = day.answered - day.seeded
    if counted_here <= 0:
        return None
    return round(day.talk_s / day.answered + day.wrap_s / counted_here, 1)


class Wallboard:
    """The figures behind ``GET /api/v1/wallboard``, ``/metrics`` and the wallboard page."""

    def __init__(self, queue_alert: int | Mapping[str, int] = DEFAULT_QUEUE_ALERT) -> None:
        """``queue_alert``: waiting contacts at which a kind's queue alert shows (one number
        for every kind, or one per kind; 0 switches it off)."""
        if isinstance(queue_alert, int):
            self._queue_alert = dict.fromkeys(KINDS, queue_alert)
        else:
            self._queue_alert = {k: int(queue_alert.get(k, 0)) for k in KINDS}
        self._day = {k: _Day() for k in KINDS}
        self._now = {k: _Now() for k in KINDS}
        self._contacts: dict[str, tuple[str, str, float]] = {}
        """Contacts held now: id -> (kind, state, arrival)."""
        self._kinds: dict[str, str] = {}
        """Kind of each contact the core holds, learnt at arrival (or from the core at load)."""
        self._last_kind: dict[str, str] = {}
        """Kind of the contact each volunteer held last: what their wrap-up is counted to."""
        self._by_location: dict[str, Counter[str]] = {}
        self._paused: Counter[str] = Counter()
        self._coaching = 0
        """Logged-in volunteers (supervisors) coaching a call now: offered nothing, whatever
        their state (they count in ``agents`` by state as well)."""
        self._lines: tuple[dict[str, Any], ...] = ()
        self._partners: tuple[dict[str, Any], ...] = ()
        self._asterisk_down_since: float | None = None
        self._phone_alerts: list[tuple[float, str]] = []
        """(when, volunteer id) of phones replaced by a second registration, oldest first."""
        self._kinds_json: dict[str, Any] = {}
        """The last ``kinds`` figures made; rebuilt only for the kinds in ``_dirty`` (most
        steps change volunteers only: their board costs a few dicts, not every ratio)."""
        self._dirty: set[str] = set(KINDS)
        self._today_from: float | None = None
        """While a seed is awaited: when this board began counting (else None)."""
        self._wrap_up_from: float | None = None
        """When this board began counting wrap-up, while that leaves answered contacts out
        (a seed awaited, or one that brought answered contacts), else None."""
        self._counted: set[str] | None = None
        """While a seed is awaited: the contacts this board counted itself, by id."""

    # ------------------------------------------------------------------ from the view

    def new_day(self) -> None:
        """The local date changed: today's sums start again, counted whole from here (a seed
        still awaited would be yesterday's: ``LiveView.seed_today`` drops it)."""
        self._day = {k: _Day() for k in KINDS}
        self._dirty.update(KINDS)
        self._today_from = self._wrap_up_from = None
        self._counted = None

    def begin_seed(self, now: float) -> None:
        """This board starts in the middle of the day: count from ``now`` and await today's
        earlier contacts (``seed``). Call it before the writer's first step."""
        self._today_from = self._wrap_up_from = now
        self._counted = set()

    @property
    def seed_pending(self) -> bool:
        """``begin_seed`` was called today and ``seed`` not yet."""
        return self._counted is not None

    def counted(self) -> frozenset[str]:
        """The contacts (ids) this board counted since ``begin_seed`` (empty if none pending)."""
        return frozenset(self._counted or ())

    def seed(self, sums: Mapping[str, DaySums]) -> None:
        """Add today's earlier contacts, per kind, net of those counted here already
        (``DaySeed.without(counted())``); the counts cover the whole day again."""
        for kind, more in sums.items():
            self._day[kind].add_records(more)  # a record's channel is one of KINDS (its CHECK)
        self._dirty.update(KINDS)
        self._today_from = None
        self._counted = None
        if not any(day.seeded for day in self._day.values()):
            self._wrap_up_from = None  # no answered contact's wrap-up is missing

    def clear_floor(self) -> None:
        """Before a reload from the whole core: forget who and what is held now."""
        self._now = {k: _Now() for k in KINDS}
        self._dirty.update(KINDS)
        self._contacts.clear()
        self._by_location.clear()
        self._paused.clear()
        self._coaching = 0

    def arrived(self, contact_id: str, channel: acd.Channel, skills: Iterable[str]) -> None:
        """A contact reached the core (``ContactArrived``, or seen at a reload)."""
        self._kinds[contact_id] = kind_of(channel, skills)

    def finished(self, done: acd.ContactFinished) -> None:
        """A contact ended (today: the caller rolled the date first)."""
        kind = self._kinds.get(done.contact_id, kind_of(done.channel, ()))
        self._dirty.add(kind)
        if self._counted is not None:
            self._counted.add(done.contact_id)
        day = self._day[kind]
        if done.outcome is acd.Outcome.ANSWERED and done.answered_at is not None:
            day.answered += 1
            wait = done.answered_at - done.arrived_at
            day.wait_s += wait
            for t in SERVICE_LEVEL_S:
                if wait <= t:
                    day.within[t] += 1
            day.talk_s += max(0.0, done.ended_at - done.answered_at)
        elif done.outcome is acd.Outcome.ABANDONED:
            day.abandoned += 1
        else:
            day.overflowed += 1

    def contact_changed(self, contact_id: str, view: ContactView | None) -> None:
        """A contact's view is now ``view`` (``None``: the core no longer holds it)."""
        old = self._contacts.pop(contact_id, None)
        if old is not None:
            self._dirty.add(old[0])
            now = self._now[old[0]]
            if old[1] in _UNANSWERED:
                now.waiting -= 1
            if old[1] == acd.ContactState.OFFERED.value:
                now.ringing -= 1
            elif old[1] == _CONNECTED:
                now.in_contact -= 1
        if view is None:
            self._kinds.pop(contact_id, None)
            return
        kind = self._kinds.setdefault(contact_id, kind_of(view.channel, ()))
        self._contacts[contact_id] = (kind, view.state, view.arrived_at)
        self._dirty.add(kind)
        now = self._now[kind]
        if view.state in _UNANSWERED:
            now.waiting += 1
            if old is None or old[1] not in _UNANSWERED:
                heapq.heappush(now.oldest, (view.arrived_at, contact_id))
        if view.state == acd.ContactState.OFFERED.value:
            now.ringing += 1
        elif view.state == _CONNECTED:
            now.in_contact += 1

    def agent_changed(self, old: AgentView | None, new: AgentView | None, now: float) -> None:
        """A volunteer's view changed from ``old`` to ``new`` (``None``: logged out)."""
        if old is not None and old.coaching:
            self._coaching -= 1
        if new is not None and new.coaching:
            self._coaching += 1
        if old is not None:
            counts = self._by_location[old.location_id]
            counts[old.state] -= 1
            if not +counts:
                del self._by_location[old.location_id]
            if old.state == _PAUSED:
                self._paused[old.reason] -= 1
                if not self._paused[old.reason]:
                    del self._paused[old.reason]
            if old.state == _WRAP_UP and (new is None or new.state != _WRAP_UP):
                kind = self._last_kind.get(old.agent_id, KINDS[0])
                self._dirty.add(kind)
                day = self._day[kind]
                day.wrap_s += max(0.0, (new.since if new is not None else now) - old.since)
                day.wraps += 1
        if new is None:
            if old is not None:
                self._last_kind.pop(old.agent_id, None)
            return
        self._by_location.setdefault(new.location_id, Counter())[new.state] += 1
        if new.state == _PAUSED:
            self._paused[new.reason] += 1
        if new.contacts:
            last = new.contacts[-1]
            self._last_kind[new.agent_id] = self._kinds.get(last[0], kind_of(last[1], ()))

    # ------------------------------------------------------------------ from outside the core

    def set_hours(
        self, lines: Iterable[dict[str, Any]], partners: Iterable[dict[str, Any]]
    ) -> bool:
        """Open or closed now, per line (``{"line", "channel", "open"}``) and per partner
        (``{"id", "name", "open"}``). True when anything changed."""
        new_lines, new_partners = tuple(lines), tuple(partners)
        if (new_lines, new_partners) == (self._lines, self._partners):
            return False
        self._lines, self._partners = new_lines, new_partners
        return True

    def set_asterisk(self, connected: bool, now: float) -> bool:
        """ARI's event stream connected or lost. True when that changed the board."""
        if connected == (self._asterisk_down_since is None):
            return False
        self._asterisk_down_since = None if connected else now
        return True

    def phone_replaced(self, agent_id: str, now: float) -> None:
        """A second registration took a volunteer's phone (see ``ari_app.registrations``)."""
        self._phone_alerts.append((now, agent_id))
        del self._phone_alerts[:-MAX_PHONE_ALERTS]

    def expire(self, now: float) -> bool:
        """Drop phone alerts older than ``PHONE_ALERT_S``; True when one went."""
        keep = [a for a in self._phone_alerts if now - a[0] < PHONE_ALERT_S]
        if len(keep) == len(self._phone_alerts):
            return False
        self._phone_alerts = keep
        return True

    # ------------------------------------------------------------------ reads

    def longest_wait_since(self, kind: str) -> float | None:
        """Arrival of the oldest unanswered contact of ``kind`` (amortised O(1))."""
        now = self._now[kind]
        heap = now.oldest
        while heap and not self._still_waiting(heap[0]):
            heapq.heappop(heap)
        if len(heap) > 2 * now.waiting + 32:
            heap[:] = [entry for entry in heap if self._still_waiting(entry)]
            heapq.heapify(heap)
        return heap[0][0] if heap else None

    def _still_waiting(self, entry: tuple[float, str]) -> bool:
        held = self._contacts.get(entry[1])
        return held is not None and held[1] in _UNANSWERED and held[2] == entry[0]

    def to_json(self, agents_by_state: Mapping[str, int], transfers: int) -> dict[str, Any]:
        """The board (the ``board`` key of the queue figures). Deterministic: equal state,
        equal JSON, so the view can tell whether anything changed."""
        if self._dirty:
            self._kinds_json = self._make_kinds()
            self._dirty.clear()
        kinds = self._kinds_json
        return {
            "service_level_s": list(SERVICE_LEVEL_S),
            "kinds": kinds,
            "agents": {state: agents_by_state.get(state, 0) for state in SHOWN_STATES},
            "paused_by_reason": dict(sorted(self._paused.items())),
            "locations": {
                loc: {state: counts[state] for state in SHOWN_STATES if counts[state]}
                for loc, counts in sorted(self._by_location.items())
            },
            "transfers": transfers,
            "coaching": self._coaching,
            "lines": list(self._lines),
            "partners": list(self._partners),
            "alerts": self._alerts(kinds),
            "today_from": self._today_from,
            "wrap_up_from": self._wrap_up_from,
        }

    def _make_kinds(self) -> dict[str, Any]:
        kinds = dict(self._kinds_json)
        total_day, oldest = _Day(), []
        total_now = _Now()
        for kind in KINDS:
            since = self.longest_wait_since(kind)
            if since is not None:
                oldest.append(since)
            now = self._now[kind]
            total_now.waiting += now.waiting
            total_now.ringing += now.ringing
            total_now.in_contact += now.in_contact
            total_day.add(self._day[kind])
            if kind in self._dirty:
                kinds[kind] = _kind_json(self._day[kind], now, since)
        kinds[TOTAL] = _kind_json(total_day, total_now, min(oldest) if oldest else None)
        return kinds

    def _alerts(self, kinds: Mapping[str, Any]) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        if self._asterisk_down_since is not None:
            alerts.append({"kind": "asterisk_down", "since": self._asterisk_down_since})
        for kind in KINDS:
            limit = self._queue_alert[kind]
            waiting = kinds[kind]["waiting"]
            if limit > 0 and waiting >= limit:
                alerts.append(
                    {"kind": "queue_over", "channel": kind, "waiting": waiting, "threshold": limit}
                )
        for at, agent_id in reversed(self._phone_alerts):
            alerts.append({"kind": "phone_replaced", "agent_id": agent_id, "at": at})
        return alerts


def _kind_json(day: _Day, now: _Now, since: float | None) -> dict[str, Any]:
    offered = day.answered + day.abandoned
    return {
        "waiting": now.waiting,
        "ringing": now.ringing,
        "in_contact": now.in_contact,
        "longest_wait_since": since,
        "answered": day.answered,
        "abandoned": day.abandoned,
        "overflowed": day.overflowed,
        "service_level": {
            str(t): {
                "answered_only": _ratio(day.within[t], day.answered),
                "with_abandons": _ratio(day.within[t], offered),
            }
            for t in SERVICE_LEVEL_S
        },
        "asa_s": _mean(day.wait_s, day.answered),
        "aht_s": _aht(day),
        "talk_avg_s": _mean(day.talk_s, day.answered),
        "wrap_avg_s": _mean(day.wrap_s, day.wraps),
    }
