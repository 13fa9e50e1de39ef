"""Erlang C: how many volunteers a queue needs for a service level, from arrivals and handling.

The model is the M/M/N queue: contacts arrive at random (Poisson), handling times are
exponential, nobody abandons and one volunteer holds one contact. It therefore fits the phone;
a chat volunteer holding several chats at once breaks the one-at-a-time assumption. Abandons
make it pessimistic (it overstates the volunteers needed), which is the safe side for a line
that children call.

Erlang B is computed by its recurrence ``B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1))`` instead of
``A^N / N!``: every step stays between 0 and 1, so 1,000 volunteers neither overflow a float
nor lose precision, and Erlang C follows from B in one more step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reports.errors import ReportError

MAX_AGENTS = 100_000
"""Upper bound of the search for a staffing level; far beyond any helpline."""


class ErlangError(ReportError):
    """The queue's figures are impossible (negative traffic, no handling time, ...)."""


@dataclass(frozen=True, slots=True)
class Staffing:
    """What Erlang C says of one number of volunteers for one traffic."""

    agents: int
    """Volunteers answering."""
    traffic_erlang: float
    """Offered traffic: arrivals per second times the average handling time in seconds."""
    p_wait: float
    """Probability that a contact has to wait at all (0..1)."""
    service_level: float
    """Share of contacts answered within the target time (0..1)."""
    asa_s: float
    """Average speed of answer over all contacts, in seconds."""
    occupancy: float
    """Share of the volunteers' time spent handling contacts (traffic / agents)."""


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of ``agents`` servers offered ``traffic`` Erlang (no queue)."""
    _check(traffic, agents)
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(traffic: float, agents: int) -> float:
    """Probability of waiting (0..1); 1.0 when ``agents`` cannot carry the traffic at all."""
    _check(traffic, agents)
    if agents <= traffic:
        return 1.0  # an unstable queue: everyone waits, and waits longer and longer
    b = erlang_b(traffic, agents)
    return agents * b / (agents - traffic * (1.0 - b))


def service_level(traffic: float, agents: int, target_s: float, aht_s: float) -> float:
    """Share of contacts answered within ``target_s`` seconds (0..1)."""
    _check_aht(aht_s)
    if agents <= traffic:
        return 0.0
    p_wait = erlang_c(traffic, agents)
    return max(0.0, 1.0 - p_wait * math.exp(-(agents - traffic) * target_s / aht_s))


def average_speed_of_answer(traffic: float, agents: int, aht_s: float) -> float:
    """Average wait over all contacts, in seconds (``inf`` if the queue is unstable)."""
    _check_aht(aht_s)
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht_s / (agents - traffic)


def staffing(traffic: float, agents: int, target_s: float, aht_s: float) -> Staffing:
    """All the figures of ``agents`` volunteers for ``traffic`` Erlang."""
    return Staffing(
        agents=agents,
        traffic_erlang=traffic,
        p_wait=erlang_c(traffic, agents),
        service_level=service_level(traffic, agents, target_s, aht_s),
        asa_s=average_speed_of_answer(traffic, agents, aht_s),
        occupancy=min(1.0, traffic / agents) if agents else 0.0,
    )


def agents_needed(traffic: float, target_s: float, aht_s: float, target_level: float) -> int:
    """The fewest volunteers that answer ``target_level`` (0..1) within ``target_s`` seconds.

    0 when there is no traffic. The service level rises with every volunteer added, so the
    search starts at the first stable count and walks up.
    """
    _check(traffic, 0)
    _check_aht(aht_s)
    if not 0.0 < target_level < 1.0:
        raise ErlangError(f"target service level must be between 0 and 1, not {target_level}")
    if traffic == 0.0:
        return 0
    agents = max(1, math.floor(traffic) + 1)
    while service_level(traffic, agents, target_s, aht_s) < target_level:
        agents += 1
        if agents > MAX_AGENTS:
            raise ErlangError(f"more than {MAX_AGENTS} volunteers needed: check the figures")
    return agents


def traffic_erlang(arrivals: float, period_s: float, aht_s: float) -> float:
    """Offered traffic of ``arrivals`` contacts in ``period_s`` seconds handled in ``aht_s``."""
    if period_s <= 0:
        raise ErlangError("the period must be longer than 0 s")
    _check_aht(aht_s)
    if arrivals < 0:
        raise ErlangError("arrivals cannot be negative")
    return arrivals * aht_s / period_s


def _check(traffic: float, agents: int) -> None:
    if not math.isfinite(traffic) or traffic < 0:
        raise ErlangError(f"traffic must be a finite number >= 0, not {traffic}")
    if agents < 0:
        raise ErlangError(f"agents must be >= 0, not {agents}")


def _check_aht(aht_s: float) -> None:
    if not math.isfinite(aht_s) or aht_s <= 0:
        raise ErlangError(f"the average handling time must be > 0 s, not {aht_s}")
