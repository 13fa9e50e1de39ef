"""The wallboard's figures against a scripted day of events with known answers.

A real ``acd.Acd`` is driven at a fake ``now`` and the view is fed as the engine's writer
feeds it (due deadlines first, then the event). The expected numbers were worked out by hand
from the script (see the comments beside each contact).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from acd import (
    Acd,
    AcdSettings,
    AgentLoggedIn,
    AgentPaused,
    AgentReady,
    Channel,
    ContactArrived,
    ContactEnded,
    Event,
    OfferAccepted,
    WrapUpEnded,
)
from live import Delta, LiveView, Scope, render
from live.wallboard import PHONE_ALERT_S, Wallboard, kind_of

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=AMS).timestamp()
PEER = frozenset({"peer_chat"})


class Day:
    """One core and one view with a wallboard, fed the way the engine's writer feeds them."""

    def __init__(self, queue_alert: int | dict[str, int] = 0) -> None:
        settings = AcdSettings(ring_timeout_s=120.0, wrap_up_s=30.0, max_wait_s=600.0)
        self.core = Acd(settings)
        self.view = LiveView(tz=AMS, wallboard=Wallboard(queue_alert))
        self.deltas: list[Delta] = [self.view.load(self.core, T0)]
        self.now = T0

    def until(self, at: float) -> None:
        """Fire every deadline due by ``T0 + at``, in order."""
        while (due := self.core.next_deadline()) is not None and due <= T0 + at:
            self.now = due
            self.deltas += self.view.observe(None, self.core.handle_timer(due), self.core, due)
        self.now = T0 + at

    def feed(self, event: Event, at: float) -> None:
        self.until(at)
        commands = self.core.handle(event, self.now)
        self.deltas += self.view.observe(event, commands, self.core, self.now)

    def login(self, agent_id: str, location: str, skills: frozenset[str]) -> None:
        self.feed(AgentLoggedIn(agent_id, location, skills, frozenset({"nl"})), 0)
        self.feed(AgentReady(agent_id), 0)

    def accept(self, contact_id: str, at: float) -> str:
        self.until(at)
        agent_id = self.core.contact(contact_id).agent_id
        assert agent_id is not None, f"{contact_id} rings for nobody"
        self.feed(OfferAccepted(contact_id, agent_id), at)
        return agent_id

    def board(self) -> dict[str, Any]:
        return self.view.wallboard()

    def kind(self, kind: str) -> dict[str, Any]:
        figures: dict[str, Any] = self.board()["kinds"][kind]
        return figures


def scripted_day(queue_alert: int | dict[str, int] = 0) -> Day:
    day = Day(queue_alert)
    day.login("anna", "utrecht", frozenset({"phone"}))
    day.login("bram", "groningen", frozenset({"phone"}))
    day.login("cas", "rotterdam", frozenset({"chat"}))
    day.login("yara", "amsterdam", PEER)
    # Phone: p1 waits 5 s, talks 60, wrap-up by the 30 s timer.
    day.feed(ContactArrived("p1", Channel.PHONE), 10)
    p1_agent = day.accept("p1", 15)
    # p2 rings for the other volunteer from 20 s and is answered after 25 s.
    day.feed(ContactArrived("p2", Channel.PHONE), 20)
    # p3 finds nobody free and hangs up after 10 s: abandoned.
    day.feed(ContactArrived("p3", Channel.PHONE), 30)
    day.until(35)
    day.midday = {  # type: ignore[attr-defined]
        "phone": day.kind("phone"),
        "agents": day.board()["agents"],
        "locations": day.board()["locations"],
    }
    day.feed(ContactEnded("p3"), 40)
    p2_agent = day.accept("p2", 45)
    assert {p1_agent, p2_agent} == {"anna", "bram"}
    # Chat: c1 waits 2 s, talks 300; c2 (cas has room for a second) waits 30 s, talks 400;
    # cas's one wrap-up (30 s, the timer) follows the last.
    day.feed(ContactArrived("c1", Channel.CHAT), 50)
    day.accept("c1", 52)
    day.feed(ContactArrived("c2", Channel.CHAT), 60)
    day.feed(ContactEnded("p1"), 75)
    day.accept("c2", 90)
    # Peer chat: q1 waits 10 s, talks 290, wrap-up ended by the volunteer after 20 s.
    day.feed(ContactArrived("q1", Channel.CHAT, skills=PEER), 100)
    day.accept("q1", 110)
    day.feed(ContactEnded("p2"), 145)
    day.feed(WrapUpEnded(p2_agent), 155)  # p2's wrap-up: 10 s
    # p4 waits 70 s (past both thresholds), talks 30, wrap-up 30 (timer).
    day.feed(ContactArrived("p4", Channel.PHONE), 200)
    day.accept("p4", 270)
    day.feed(ContactEnded("p4"), 300)
    day.feed(ContactEnded("c1"), 352)
    day.feed(ContactEnded("q1"), 400)
    day.feed(WrapUpEnded("yara"), 420)
    day.feed(AgentPaused("yara", "break"), 430)
    day.feed(ContactEnded("c2"), 490)
    # q2 finds the only peer volunteer on a break and overflows after max_wait_s (600 s).
    day.feed(ContactArrived("q2", Channel.CHAT, skills=PEER), 500)
    day.until(550)
    day.waiting_peer = day.kind("peer_chat")  # type: ignore[attr-defined]
    day.alerts_peer = day.board()["alerts"]  # type: ignore[attr-defined]
    day.until(1200)
    return day


def test_phone_figures_of_the_scripted_day():
    phone = scripted_day().kind("phone")
    assert (phone["answered"], phone["abandoned"], phone["overflowed"]) == (3, 1, 0)
    # Waits 5, 25, 70; one abandon.
    assert phone["service_level"] == {
        "20": {"answered_only": 0.3333, "with_abandons": 0.25},
        "60": {"answered_only": 0.6667, "with_abandons": 0.5},
    }
    assert phone["asa_s"] == 33.3  # (5 + 25 + 70) / 3
    assert phone["talk_avg_s"] == 63.3  # (60 + 100 + 30) / 3
    assert phone["wrap_avg_s"] == 23.3  # (30 + 10 + 30) / 3
    assert phone["aht_s"] == 86.7  # (190 + 70) / 3
    assert (phone["waiting"], phone["ringing"], phone["in_contact"]) == (0, 0, 0)
    assert phone["longest_wait_since"] is None


def test_chat_and_peer_chat_are_told_apart():
    day = scripted_day()
    chat, peer = day.kind("chat"), day.kind("peer_chat")
    assert (chat["answered"], chat["abandoned"], chat["overflowed"]) == (2, 0, 0)
    assert chat["service_level"]["20"] == {"answered_only": 0.5, "with_abandons": 0.5}
    assert chat["service_level"]["60"] == {"answered_only": 1.0, "with_abandons": 1.0}
    assert chat["asa_s"] == 16.0  # (2 + 30) / 2
    assert chat["aht_s"] == 365.0  # (300 + 400 + one wrap-up of 30) / 2
    assert (peer["answered"], peer["abandoned"], peer["overflowed"]) == (1, 0, 1)
    assert peer["asa_s"] == 10.0
    assert peer["aht_s"] == 310.0  # 290 + 20
    # The ACD's own channels still count a peer chat as a chat.
    channels = day.view.queue().to_json()["channels"]
    assert channels["chat"]["answered"] == 3
    assert channels["chat"]["overflowed"] == 1


def test_totals_are_computed_from_the_sums_not_averaged():
    total = scripted_day().kind("total")
    assert (total["answered"], total["abandoned"], total["overflowed"]) == (6, 1, 1)
    assert total["service_level"] == {
        "20": {"answered_only": 0.5, "with_abandons": 0.4286},  # 3/6, 3/7
        "60": {"answered_only": 0.8333, "with_abandons": 0.7143},  # 5/6, 5/7
    }
    assert total["asa_s"] == 23.7  # 142 / 6
    assert total["aht_s"] == 216.7  # 1300 / 6


def test_the_floor_in_the_middle_of_the_morning():
    midday = scripted_day().midday  # type: ignore[attr-defined]
    phone = midday["phone"]
    # p1 talking, p2 ringing since 20 s, p3 queued since 30 s: two waiting, oldest since 20.
    assert (phone["waiting"], phone["ringing"], phone["in_contact"]) == (2, 1, 1)
    assert phone["longest_wait_since"] == T0 + 20
    assert midday["agents"] == {
        "paused": 0,
        "available": 2,
        "offered": 1,
        "busy": 1,
        "wrap_up": 0,
    }
    assert midday["locations"]["amsterdam"] == {"available": 1}
    assert sum(sum(states.values()) for states in midday["locations"].values()) == 4


def test_end_of_the_day_pauses_waits_and_alerts():
    day = scripted_day(queue_alert={"peer_chat": 1})
    assert day.waiting_peer["waiting"] == 1  # type: ignore[attr-defined]
    assert day.waiting_peer["longest_wait_since"] == T0 + 500  # type: ignore[attr-defined]
    assert day.alerts_peer == [  # type: ignore[attr-defined]
        {"kind": "queue_over", "channel": "peer_chat", "waiting": 1, "threshold": 1}
    ]
    board = day.board()
    assert board["alerts"] == []  # q2 overflowed: the queue is empty again
    assert board["paused_by_reason"] == {"break": 1}
    assert board["locations"]["amsterdam"] == {"paused": 1}
    assert board["agents"]["available"] == 3


def test_a_new_day_starts_from_zero_but_keeps_the_floor():
    day = scripted_day()
    day.feed(ContactArrived("n1", Channel.PHONE), 24 * 3600)
    phone = day.kind("phone")
    assert phone["answered"] == 0 and phone["asa_s"] is None
    assert phone["service_level"]["20"] == {"answered_only": None, "with_abandons": None}
    assert phone["ringing"] == 1
    assert day.board()["date"] == "2026-12-03"


def test_status_from_outside_the_core_makes_queue_deltas_for_supervisors_only():
    day = scripted_day()
    view = day.view
    lines = [{"line": "116111", "channel": "phone", "open": True}]
    partners = [{"id": "veilig-thuis", "name": "Veilig Thuis", "open": False}]
    (delta,) = view.set_hours(lines, partners, day.now)
    assert delta.kind == "queue" and delta.public
    assert view.set_hours(lines, partners, day.now) == []  # nothing changed: no delta
    (down,) = view.set_asterisk(False, day.now)
    assert view.set_asterisk(False, day.now + 5) == []
    (stolen,) = view.phone_replaced("anna", day.now)
    board = view.wallboard()
    assert board["lines"] == lines and board["partners"] == partners
    assert board["alerts"] == [
        {"kind": "asterisk_down", "since": day.now},
        {"kind": "phone_replaced", "agent_id": "anna", "at": day.now},
    ]
    supervisor = render(stolen, Scope.supervisor())
    volunteer = render(stolen, Scope.volunteer("anna"))
    assert supervisor is not None and volunteer is not None
    assert "board" in supervisor["data"]
    assert set(volunteer["data"]) == {"date", "channels"}  # no colleagues, no alerts
    # Asterisk back, and the phone alert ages out.
    view.set_asterisk(True, day.now + 10)
    (gone,) = view.set_hours(lines, partners, day.now + PHONE_ALERT_S + 1)
    assert gone.data is not None and gone.data["board"]["alerts"] == []


def test_the_snapshot_of_a_supervisor_holds_the_board_and_no_contact_ids():
    day = scripted_day()
    day.feed(ContactArrived("secret-contact-id", Channel.PHONE), 1300)
    board = day.view.snapshot(Scope.supervisor())["queue"]["board"]
    assert board == day.view.queue().board
    assert "secret-contact-id" not in json.dumps(board)
    assert "board" not in day.view.snapshot(Scope.volunteer("anna"))["queue"]


def test_a_reload_keeps_todays_sums_and_rebuilds_the_floor():
    day = scripted_day()
    day.feed(ContactArrived("r1", Channel.CHAT, skills=PEER), 1300)
    before = day.board()
    day.view.load(day.core, day.now)
    after = day.board()
    assert after["kinds"] == before["kinds"]
    assert after["agents"] == before["agents"]
    assert after["locations"] == before["locations"]


@pytest.mark.parametrize(
    ("channel", "skills", "kind"),
    [
        (Channel.PHONE, frozenset(), "phone"),
        (Channel.CHAT, frozenset(), "chat"),
        (Channel.CHAT, PEER, "peer_chat"),
        (Channel.PHONE, PEER, "phone"),
    ],
)
def test_kind_of(channel, skills, kind):
    assert kind_of(channel, skills) == kind
