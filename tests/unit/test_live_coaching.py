"""The live bus's coaching and surge deltas: who sees them, and the snapshot."""

from __future__ import annotations

from live import LiveView, Scope
from live.delta import render

COACHING = {
    "contact_id": "c1",
    "supervisor_id": "sam",
    "agent_id": "anna",
    "mode": "listen",
    "state": "active",
    "reason": "",
    "started_at": 1.0,
    "updated_at": 2.0,
}


def test_a_coaching_is_for_supervisors_only():
    view = LiveView()
    delta = view.observe_coaching(COACHING, ended=False)
    assert render(delta, Scope.supervisor())["data"] == COACHING
    # Not even the coached volunteer hears of it on the bus.
    assert render(delta, Scope.volunteer("anna")) is None
    assert view.snapshot(Scope.supervisor())["coachings"] == [COACHING]
    assert "coachings" not in view.snapshot(Scope.volunteer("anna"))
    ended = view.observe_coaching({**COACHING, "state": "ended"}, ended=True)
    assert ended.seq == delta.seq + 1
    assert view.snapshot(Scope.supervisor())["coachings"] == []


def test_surge_mode_is_for_everyone():
    view = LiveView()
    assert view.snapshot(Scope.volunteer("anna"))["surge"] is False
    delta = view.observe_surge(True)
    assert render(delta, Scope.volunteer("anna"))["data"] == {"on": True}
    assert render(delta, Scope.supervisor())["kind"] == "surge"
    assert view.snapshot(Scope.volunteer("anna"))["surge"] is True and view.surge
