"""Erlang C against the published worked example, and stability for large agent counts.

The example (10 Erlang offered to 14 agents, 20 s target) is the classic one of 100 calls in
30 minutes with an average handling time of 180 s: 100 * 180 / 1800 = 10 Erlang. Published:
P(wait) 17.4 %, 88.8 % answered within 20 s.
"""

from __future__ import annotations

import math

import pytest

from reports.erlang import (
    ErlangError,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    staffing,
    traffic_erlang,
)

AHT_S = 180.0


def test_the_published_worked_example():
    traffic = traffic_erlang(100, 1800, AHT_S)
    assert traffic == pytest.approx(10.0)
    assert erlang_c(traffic, 14) == pytest.approx(0.174, abs=0.0005)
    assert service_level(traffic, 14, 20, AHT_S) == pytest.approx(0.888, abs=0.0005)
    # ASA = P(wait) * AHT / (N - A) = 0.1741 * 180 / 4
    assert average_speed_of_answer(traffic, 14, AHT_S) == pytest.approx(7.83, abs=0.01)


def test_agents_needed_is_the_first_count_meeting_the_target():
    # 13 agents give 79.6 % in 20 s, 14 give 88.8 %: 80 % needs 14, 75 % needs 13.
    assert service_level(10.0, 13, 20, AHT_S) < 0.8 <= service_level(10.0, 14, 20, AHT_S)
    assert agents_needed(10.0, 20, AHT_S, 0.8) == 14
    assert agents_needed(10.0, 20, AHT_S, 0.75) == 13
    assert agents_needed(0.0, 20, AHT_S, 0.8) == 0


def test_erlang_b_matches_the_closed_form_for_small_counts():
    a, n = 5.0, 7
    closed = (a**n / math.factorial(n)) / sum(a**k / math.factorial(k) for k in range(n + 1))
    assert erlang_b(a, n) == pytest.approx(closed, rel=1e-12)


def test_large_agent_counts_neither_overflow_nor_lose_the_answer():
    # 171! overflows a float; the recurrence does not care.
    p = erlang_c(900.0, 1000)
    assert 0.0 < p < 0.001
    assert service_level(900.0, 1000, 20, AHT_S) == pytest.approx(1.0)
    needed = agents_needed(900.0, 20, AHT_S, 0.8)
    assert 900 < needed < 1000
    assert (
        service_level(900.0, needed - 1, 20, AHT_S) < 0.8 <= service_level(900.0, needed, 20, AHT_S)
    )


def test_an_unstable_queue_waits_for_ever():
    assert erlang_c(10.0, 10) == 1.0
    assert service_level(10.0, 9, 20, AHT_S) == 0.0
    assert average_speed_of_answer(10.0, 10, AHT_S) == math.inf
    assert staffing(10.0, 14, 20, AHT_S).occupancy == pytest.approx(10 / 14)


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_c(-1.0, 3),
        lambda: erlang_c(math.nan, 3),
        lambda: service_level(1.0, 3, 20, 0.0),
        lambda: agents_needed(1.0, 20, AHT_S, 1.0),
        lambda: traffic_erlang(10, 0, AHT_S),
    ],
)
def test_impossible_figures_are_refused(call):
    with pytest.raises(ErlangError):
        call()
