"""Preferences that relax: who could soon take a contact, and which contacts wait for one.

A contact may *prefer* something (a language, a skill): it is then offered only to volunteers
who meet it, but only while one is available or about to be (ringing, or in a wrap-up that
ends by itself) and for at most a wait chosen at arrival. ``Prospects`` answers the first
part cheaply: it counts volunteers by the capability set they offer now or soon, and keeps the
contacts that still hold a preference grouped by their requirement set. There are few distinct
sets however many volunteers and contacts there are, as in ``acd.index``.

The core tells it every change of a volunteer's prospects (``update``); when the last volunteer
offering some set drops out, it names the waiting contacts that nobody left could meet, and the
core drops their preferences. Relaxing never tightens again, so gaining a volunteer needs no
work at all. The time limit is an ordinary deadline (``TimerKind.RELAX``) in ``acd.timers``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from acd.errors import InvalidEvent
from acd.events import ContactArrived
from acd.model import LANGUAGE

Caps = frozenset[str]
_NOTHING: frozenset[str] = frozenset()
_LANGUAGE_ONLY = frozenset({LANGUAGE})
_NONE: tuple[str, ...] = ()


class Prospects:
    """Volunteers counted by the capabilities they offer now or soon; contacts that need one."""

    __slots__ = ("_count", "_of", "_meets", "_preferring")

    def __init__(self) -> None:
        self._count: dict[Caps, int] = {}
        """How many volunteers offer each capability set now or soon (kept at zero, not deleted)."""
        self._of: dict[str, Caps] = {}
        """Per volunteer who counts, the set they are counted under."""
        self._meets: dict[Caps, list[Caps]] = {}
        """Per requirement set, the capability sets that meet it (cleared when a set is new)."""
        self._preferring: dict[Caps, dict[str, None]] = {}
        """Contacts holding a preference, by their current requirement set, in arrival order."""

    def met(self, requires: Caps) -> bool:
        """Whether some volunteer who meets ``requires`` is available or about to be."""
        keys = self._meets.get(requires)
        if keys is None:
            keys = self._meets[requires] = [caps for caps in self._count if requires <= caps]
        count = self._count
        for caps in keys:
            if count[caps]:
                return True
        return False

    def update(self, agent_id: str, caps: Caps | None) -> tuple[str, ...]:
        """Count the volunteer under ``caps`` (``None``: not at all) from now on.

        Returns the contacts whose preference nobody can meet any more, for the core to relax.
        """
        old = self._of.get(agent_id)
        if old is caps:
            return _NONE
        if caps is not None:
            self._of[agent_id] = caps
            if caps not in self._count:
                self._count[caps] = 0
                self._meets.clear()  # a new set may meet requirements cached without it
            self._count[caps] += 1
        else:
            del self._of[agent_id]
        if old is None:
            return _NONE
        self._count[old] -= 1
        if self._count[old] or not self._preferring:
            return _NONE  # someone offering exactly that set is still there
        return tuple(
            contact_id
            for requires in list(self._preferring)
            if requires <= old and not self.met(requires)
            for contact_id in self._preferring[requires]
        )

    def hold(self, contact_id: str, requires: Caps) -> None:
        """The contact prefers something and now requires ``requires``."""
        self._preferring.setdefault(requires, {})[contact_id] = None

    def release(self, contact_id: str, requires: Caps) -> None:
        """The contact no longer waits on a preference under ``requires``."""
        group = self._preferring.get(requires)
        if group is not None:
            group.pop(contact_id, None)
            if not group:
                del self._preferring[requires]

    def preferring(self) -> Iterator[tuple[str, Caps]]:
        """Every contact held, with its requirement set (for checks and tests)."""
        for requires, group in self._preferring.items():
            for contact_id in group:
                yield contact_id, requires


def relaxations(
    e: ContactArrived, language_wait_s: float, now: float
) -> tuple[dict[str, float], frozenset[str]]:
    """When each relaxing requirement of an arriving contact is dropped, and which are
    preferences; ``InvalidEvent`` names a table that does not fit the contact."""
    if e.prefer is None and e.escalate is None:  # what the adapter sends: the common case
        if e.language is None:
            return {}, _NOTHING
        return {LANGUAGE: now + language_wait_s}, _LANGUAGE_ONLY
    escalate = {} if e.escalate is None else e.escalate
    prefer = e.prefer
    if prefer is None:
        default = e.language is not None and LANGUAGE not in escalate
        prefer = {LANGUAGE: language_wait_s} if default else {}
    names = set(e.skills) if isinstance(e.skills, (set, frozenset)) else set()
    if e.language is not None:
        names.add(LANGUAGE)
    for field, table in (("prefer", prefer), ("escalate", escalate)):
        if not isinstance(table, dict):
            raise InvalidEvent(f"{field} must map requirement names to seconds")
        for name, wait in table.items():
            if name not in names:
                raise InvalidEvent(f"{field}: the contact does not require {name!r}")
            if isinstance(wait, bool) or not isinstance(wait, (int, float)):
                raise InvalidEvent(f"{field}[{name!r}] must be a number of seconds")
            if not 0 < wait < math.inf:  # refuses NaN too
                raise InvalidEvent(f"{field}[{name!r}] must be finite and above 0")
    both = prefer.keys() & escalate.keys()
    if both:
        raise InvalidEvent(f"{sorted(both)} both preferred and escalated")
    relax_at = {name: now + float(wait) for name, wait in (*escalate.items(), *prefer.items())}
    return relax_at, frozenset(prefer)
