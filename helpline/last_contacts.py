"""Each volunteer's recent contacts, remembered for the wrap-up form (the anonymous registration).

The engine tells it, inside the writer, of every record it writes (``Engine.record_observers``:
the line, language and referral as they go to SQL) and of every step of the core
(``Engine.acd_observers``: a ``ConnectContact`` means the volunteer answered a next contact,
which closes the form of the previous one). Kept in memory and bounded.

After a restart or a take-over the map is seeded from storage (``helpline.last_contacts_seed``
reads, off the writer, the contacts that ended within ``[registration] window_min`` from SQL
and the records spool, and :meth:`LastContacts.seed` merges them inside one step of the
writer; if SQL is unreachable then, the spooled ones first and SQL's once it answers), so a
volunteer in wrap-up can still register the contact that ended before it. What
the live engine added meanwhile wins: a contact already here is kept as it is, and a seeded
call is closed if its volunteer has answered since (they hold a contact in the core now,
answered one in this process, or have a newer finished one here).

A volunteer holding several chats ends them one by one, so a few recent contacts are kept per
volunteer (``RECENT``), each with its own form. Answering a next contact closes the form of a
finished *call* (the phone rule: the form belongs to the pause between two calls), never of a
chat: chats overlap, and their forms close when the window does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import acd
from acd import commands as cmd
from engine import Engine
from session.referral import Referral

MAX_VOLUNTEERS = 5000
"""Volunteers remembered at most (the least recently finished are forgotten first)."""
RECENT = 8
"""Finished contacts remembered per volunteer (more than ``max_chats`` can ever hold)."""


@dataclass(frozen=True, slots=True)
class LastContact:
    """A volunteer's finished contact, as its record was written."""

    contact_id: str
    channel: str
    """``phone``, ``chat`` or ``peer_chat``."""
    line_id: str
    language: str
    referral: Referral | None
    ended_at: float
    """When it ended (the engine's clock, Unix seconds)."""
    next_answered: bool = False
    """The volunteer has answered another contact since: this one's form is closed."""

    def to_json(self) -> dict[str, Any]:
        referral = self.referral
        return {
            "contact_id": self.contact_id,
            "channel": self.channel,
            "line_id": self.line_id,
            "language": self.language,
            "referral": None
            if referral is None
            else {
                "partner": referral.partner_id,
                "region": referral.region,
                "consent": referral.consent,
                "volunteer_stayed": referral.volunteer_stayed,
            },
            "ended_at": self.ended_at,
            "next_answered": self.next_answered,
        }


class LastContacts:
    """Volunteer id -> their recent :class:`LastContact` s, newest last; fed by the engine's
    observers, read by the API."""

    def __init__(self, max_volunteers: int = MAX_VOLUNTEERS, recent: int = RECENT) -> None:
        self._max = max_volunteers
        self._recent = recent
        self._last: OrderedDict[str, OrderedDict[str, LastContact]] = OrderedDict()
        self._answered: set[str] | None = set()
        """Volunteers who answered a contact in this process, until the seed is merged (then
        None): a seeded call of theirs ended before, so its form is closed. At most one entry
        per volunteer, and only until then."""

    @property
    def recent(self) -> int:
        """Finished contacts kept per volunteer."""
        return self._recent

    def attach(self, engine: Engine) -> None:
        engine.record_observers.append(self.on_record)
        engine.acd_observers.append(self.on_step)

    def on_record(
        self,
        done: cmd.ContactFinished,
        line_id: str,
        language: str,
        referral: Referral | None,
        channel: str | None = None,
    ) -> None:
        agent_id = done.agent_id
        if agent_id is None:  # nobody answered it: nobody registers it
            return
        recent = self._last.setdefault(agent_id, OrderedDict())
        recent[done.contact_id] = LastContact(
            done.contact_id,
            channel or done.channel.value,
            line_id,
            language,
            referral,
            done.ended_at,
        )
        recent.move_to_end(done.contact_id)
        while len(recent) > self._recent:
            recent.popitem(last=False)
        self._last.move_to_end(agent_id)
        while len(self._last) > self._max:
            self._last.popitem(last=False)

    def on_step(self, event: acd.Event | None, commands: list[cmd.Command]) -> None:
        for command in commands:
            if isinstance(command, cmd.ConnectContact):
                if self._answered is not None:
                    self._answered.add(command.agent_id)
                recent = self._last.get(command.agent_id)
                if recent is None:
                    continue
                for contact_id, last in recent.items():
                    if last.channel == acd.Channel.PHONE.value and contact_id != command.contact_id:
                        recent[contact_id] = replace(last, next_answered=True)

    def seed(
        self,
        found: Mapping[str, Sequence[LastContact]],
        holding: Collection[str] = (),
        *,
        more: bool = False,
    ) -> int:
        """Merge the contacts read from storage at start or take-over (volunteer id -> their
        finished contacts); call it inside the writer. Returns how many were added. ``more``:
        another merge follows (SQL was unreachable: the spooled ones now, SQL's later), so who
        answers a contact in this process is remembered until the last one.

        The live entries win: a contact already here stays as it is. A seeded call is closed
        when its volunteer is in ``holding`` (they hold a contact in the core now, so they
        answered it after the call ended: a call is only offered to a volunteer holding
        nothing), answered a contact in this process, or has a live contact that ended after
        it. Each volunteer keeps their newest ``recent``; volunteers only the seed knows go
        behind the others, the first to be forgotten when the map is full.
        """
        answered = self._answered or set()
        if not more:
            self._answered = None  # from now on the live rule (``on_step``) is the whole story
        added = 0
        # Newest first, each one new here moved to the front: the oldest end up first.
        order = sorted(found, key=lambda a: max((c.ended_at for c in found[a]), default=0.0))
        for agent_id in reversed(order):
            live = self._last.get(agent_id)
            merged = list(live.values()) if live is not None else []
            newest_live = max((c.ended_at for c in merged), default=None)
            closing = agent_id in holding or agent_id in answered
            seeded: list[LastContact] = []
            for contact in found[agent_id]:
                if live is not None and contact.contact_id in live:
                    continue
                later = newest_live is not None and newest_live > contact.ended_at
                if contact.channel == acd.Channel.PHONE.value and (closing or later):
                    contact = replace(contact, next_answered=True)
                seeded.append(contact)
            if not seeded:
                continue
            merged += seeded
            merged.sort(key=lambda c: c.ended_at)  # stable: live order kept among equals
            kept = merged[-self._recent :]
            added += sum(1 for c in seeded if c in kept)
            self._last[agent_id] = OrderedDict((c.contact_id, c) for c in kept)
            if live is None:
                self._last.move_to_end(agent_id, last=False)
        while len(self._last) > self._max:
            self._last.popitem(last=False)
        return added

    def get(self, agent_id: str, contact_id: str | None = None) -> LastContact | None:
        """The volunteer's most recent finished contact, or the one named ``contact_id``
        (None if it is not theirs or no longer remembered)."""
        recent = self._last.get(agent_id)
        if not recent:
            return None
        if contact_id is None:
            return next(reversed(recent.values()))
        return recent.get(contact_id)
