"""Routing strategies: which eligible volunteer gets the next contact.

A strategy only ranks volunteers; the core does the rest (eligibility, fairness between
contacts, load across chats). Register a new one with ``@register_strategy`` and name it in
the configuration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

from acd.errors import UnknownStrategy


class RankedAgent(Protocol):
    """What a strategy may look at."""

    @property
    def agent_id(self) -> str: ...
    @property
    def location_id(self) -> str: ...
    @property
    def idle_since(self) -> float: ...
    @property
    def handled(self) -> int: ...


class RoutingStrategy(ABC):
    """Ranks eligible volunteers; the lowest rank is offered the contact first.

    The rank is taken when a volunteer becomes free and kept while they stay free, so it
    must depend only on what cannot change while they wait (idle time start, contacts handled).
    """

    name: ClassVar[str]

    @abstractmethod
    def rank(self, agent: RankedAgent) -> tuple[float, ...]:
        """Sort key; lower is better."""


_REGISTRY: dict[str, type[RoutingStrategy]] = {}


def register_strategy(cls: type[RoutingStrategy]) -> type[RoutingStrategy]:
    """Class decorator: make a strategy selectable by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def strategy_names() -> list[str]:
    return sorted(_REGISTRY)


def strategy_by_name(name: str) -> RoutingStrategy:
    """Instantiate a registered strategy; ``UnknownStrategy`` names the choices."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise UnknownStrategy(
            f"unknown routing strategy {name!r}; choose one of {strategy_names()}"
        ) from None


@register_strategy
class LongestIdle(RoutingStrategy):
    """The volunteer who has been free the longest goes first (the classic, fair default)."""

    name = "longest_idle"

    def rank(self, agent: RankedAgent) -> tuple[float, ...]:
        return (agent.idle_since,)


@register_strategy
class FewestContactsToday(RoutingStrategy):
    """The volunteer who has handled the fewest contacts this shift (since login) goes first.

    Ties go to the longest idle. Spreads heavy days evenly over a shift's volunteers.
    """

    name = "fewest_contacts_today"

    def rank(self, agent: RankedAgent) -> tuple[float, ...]:
        return (float(agent.handled), agent.idle_since)
