"""The live bus's coaching and surge deltas: who sees them, and the snapshot."""

from __future__ import annotations

import acd
from live import Delta, LiveView, Scope
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


# ---------------------------------------------------------------------- on the volunteer's record

T0 = 1_800_000_000.0
BOTH = frozenset({"phone", "chat", "peer_chat"})


def step(view: LiveView, core: acd.Acd, event: acd.Event, now: float) -> list[Delta]:
    """What the engine's writer does: the core's step, then the view observes it."""
    return view.observe(event, core.handle(event, now), core, now)


def test_a_supervisor_who_coaches_shows_so_on_her_record_and_the_wallboard():
    core, view = acd.Acd(), LiveView()
    view.load(core, T0)
    step(view, core, acd.AgentLoggedIn("sam", "utrecht", BOTH, frozenset({"nl"})), T0)
    step(view, core, acd.AgentReady("sam"), T0)
    out = step(view, core, acd.CoachingStarted("sam"), T0 + 1)
    agent = [d for d in out if d.kind == "agent"]
    assert [(d.key, d.data["state"], d.data["coaching"]) for d in agent if d.data] == [
        ("sam", "available", True)  # ready, and offered nothing: both are said
    ]
    board = view.queue().to_json()["board"]
    assert (board["agents"]["available"], board["coaching"]) == (1, 1)
    assert view.snapshot(Scope.volunteer("sam"))["agents"][0]["coaching"] is True
    # A restart's reload shows it from the core, as it was.
    fresh = LiveView()
    fresh.load(acd.Acd.from_snapshot(core.snapshot()), T0 + 2)
    assert fresh.agent("sam").coaching is True  # type: ignore[union-attr]
    assert fresh.queue().to_json()["board"]["coaching"] == 1
    out = step(view, core, acd.CoachingEnded("sam"), T0 + 3)
    assert [d.data["coaching"] for d in out if d.kind == "agent" and d.data] == [False]
    assert view.queue().to_json()["board"]["coaching"] == 0


def test_a_coaching_supervisor_not_logged_in_makes_no_delta():
    core, view = acd.Acd(), LiveView()
    view.load(core, T0)
    out = step(view, core, acd.CoachingStarted("sam"), T0)
    assert [d for d in out if d.kind == "agent"] == []


def test_the_record_names_each_contacts_kind_beside_its_channel():
    """``contacts`` keeps (id, channel) for every consumer; ``kinds`` tells a peer chat apart
    (``live.wallboard.kind_of``), for the supervisors' coaching panel."""
    core, view = acd.Acd(acd.AcdSettings(max_chats=3)), LiveView()
    view.load(core, T0)
    step(view, core, acd.AgentLoggedIn("noa", "utrecht", BOTH, frozenset({"nl"})), T0)
    step(view, core, acd.AgentReady("noa"), T0)
    peer = frozenset({"peer_chat"})
    for contact_id, skills in (("ch1", peer), ("ch2", frozenset())):
        step(view, core, acd.ContactArrived(contact_id, acd.Channel.CHAT, skills), T0 + 1)
        step(view, core, acd.OfferAccepted(contact_id, "noa"), T0 + 2)
    data = view.agent("noa").to_json()  # type: ignore[union-attr]
    assert data["contacts"] == [["ch1", "chat"], ["ch2", "chat"]]
    assert data["kinds"] == ["peer_chat", "chat"]
    step(view, core, acd.ContactEnded("ch1"), T0 + 3)
    data = view.agent("noa").to_json()  # type: ignore[union-attr]
    assert (data["contacts"], data["kinds"]) == ([["ch2", "chat"]], ["chat"])
