"""Today's earlier contacts, read from the contact records, for a board that starts mid-day.

A process that becomes the writer (a restart, or a standby taking over) has a wallboard that
has counted nothing yet, while the day's contacts so far are in SQL. ``helpline.day_seed``
reads them off the writer (``storage.day_seed``) and hands a ``DaySeed`` to the view
(``LiveView.seed_today``). This module is the sans-IO half: what the reading returns and which
of it the board adds.

Exactly once, whatever finishes while SQL is read: the board remembers the contacts it
counted itself from ``Wallboard.begin_seed`` on (before the writer's first step), and the
seed brings the contacts that ended near or after that moment one by one (``recent``), so
those the board counted are left out by id. Only the earlier contacts come summed per kind
(``earlier``): none of them can be one the board counted, since each of those ended after
``begin_seed`` (the margin between the two, ``helpline.day_seed.CLOCK_MARGIN_S``, covers the
clocks of two machines disagreeing).

The records hold no wrap-up time (it is counted here as the volunteers' wrap-up ends), so the
sums carry talk time only; see ``Wallboard`` for what AHT is after a seed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DaySums:
    """Sums over some finished contacts of one kind, as their records hold them."""

    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    within: Mapping[int, int] = field(default_factory=dict)
    """Answered contacts that waited at most T seconds, by threshold T (missing: none)."""
    wait_s: float = 0.0
    """Summed waits (answer - arrival) of the answered contacts."""
    talk_s: float = 0.0
    """Summed talk times (end - answer) of the answered contacts; no wrap-up."""

    @property
    def contacts(self) -> int:
        return self.answered + self.abandoned + self.overflowed

    def __add__(self, other: DaySums) -> DaySums:
        within = dict(self.within)
        for t, n in other.within.items():
            within[t] = within.get(t, 0) + n
        return DaySums(
            self.answered + other.answered,
            self.abandoned + other.abandoned,
            self.overflowed + other.overflowed,
            within,
            self.wait_s + other.wait_s,
            self.talk_s + other.talk_s,
        )


@dataclass(frozen=True, slots=True)
class RecentContact:
    """One contact that ended at or after the seed's cut, by its record's id."""

    record_id: str
    """The record's id (``storage.record_queue.record_id`` of the contact id)."""
    kind: str
    """``phone``, ``chat`` or ``peer_chat``: the record's channel."""
    sums: DaySums
    """That one contact's figures."""


@dataclass(frozen=True, slots=True)
class DaySeed:
    """Today's contacts in SQL when it was read: summed before the cut, one by one after."""

    date: str
    """The local date (ISO) whose contacts these are (ended that day)."""
    earlier: Mapping[str, DaySums]
    """Per kind, the contacts that ended before the cut."""
    recent: tuple[RecentContact, ...] = ()
    """The contacts that ended at or after the cut."""

    @property
    def contacts(self) -> int:
        """How many contacts the seed holds in all."""
        return sum(s.contacts for s in self.earlier.values()) + len(self.recent)

    def without(self, counted: Collection[str]) -> dict[str, DaySums]:
        """Per kind, what the seed adds to a board that counted the records ``counted``."""
        out = dict(self.earlier)
        for contact in self.recent:
            if contact.record_id not in counted:
                out[contact.kind] = out.get(contact.kind, DaySums()) + contact.sums
        return out
