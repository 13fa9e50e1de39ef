"""The expected-wait estimator and how its result is announced."""

from __future__ import annotations

import math

import pytest

from ivr.announce import WaitEstimator, announced_minutes


@pytest.mark.parametrize(
    ("wait_s", "minutes"),
    [
        (None, None),
        (-1.0, None),
        (math.nan, None),
        (math.inf, None),
        (0.0, 1),  # never "0 minutes"
        (89.0, 1),
        (91.0, 2),
        (29 * 60 + 10, 29),
        (31 * 60.0, 30),
        (5 * 3600.0, 30),  # capped: "half an hour, or a bit longer"
    ],
)
def test_announced_minutes(wait_s, minutes):
    assert announced_minutes(wait_s) == minutes


def test_unknown_without_history_or_volunteers():
    est = WaitEstimator()
    assert est.expected_wait_s(1, 3) is None
    est.record_handled(600)
    assert est.expected_wait_s(1, 0) is None  # nobody serving: we promise nothing
    assert est.expected_wait_s(0, 3) is None  # not waiting (ringing)


def test_position_times_mean_handling_time_over_volunteers_serving():
    est = WaitEstimator()
    for handle_s in (300, 600, 900):  # mean 600 s
        est.record_handled(handle_s)
    assert est.expected_wait_s(1, 4) == pytest.approx(150)
    assert est.expected_wait_s(6, 4) == pytest.approx(900)
    assert est.expected_minutes(6, 4) == 15


def test_recent_answered_waits_before_any_contact_finished():
    est = WaitEstimator()
    est.record_answered(60)
    est.record_answered(180)
    assert est.expected_wait_s(3, 2) == pytest.approx(120)
    est.record_handled(240)  # handling history wins once there is some
    assert est.expected_wait_s(3, 2) == pytest.approx(360)


def test_window_forgets_old_samples_and_ignores_nonsense():
    est = WaitEstimator(window=2)
    for handle_s in (6000, 120, 240):
        est.record_handled(handle_s)
    est.record_handled(-5)
    est.record_handled(math.nan)
    assert est.expected_wait_s(1, 1) == pytest.approx(180)
    with pytest.raises(ValueError):
        WaitEstimator(window=0)
