"""A board that starts mid-day and is seeded from the records shows what one that ran all day
shows (``live.day_seed``, ``LiveView.begin_seed`` / ``seed_today``), sans-IO.

One real ``acd.Acd`` is driven at a fake ``now``; a view that saw the whole day and a view
started at ``RESTART`` (as a new writer's) observe the same steps. The seed is built from the
``ContactFinished`` commands as the records hold them: summed before the cut, one by one after,
and only those "written" when the seed was read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from acd import (
    Acd,
    AcdSettings,
    AgentLoggedIn,
    AgentReady,
    Channel,
    ContactArrived,
    ContactEnded,
    ContactFinished,
    Event,
    OfferAccepted,
    Outcome,
    WrapUpEnded,
)
from live import LiveView
from live.day_seed import DaySeed, DaySums, RecentContact
from live.wallboard import KINDS, SERVICE_LEVEL_S, TOTAL, Wallboard

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=AMS).timestamp()
DATE = "2026-12-02"
PEER = frozenset({"peer_chat"})
RESTART = T0 + 200
CUT = RESTART - 60
"""Contacts that ended from here on come in the seed one by one."""

SAME_ALL_DAY = ("answered", "abandoned", "overflowed", "service_level", "asa_s", "talk_avg_s")
"""What a seeded board shows exactly as a board that ran all day (the records hold all of it)."""
NOW_FIGURES = ("waiting", "ringing", "in_contact", "longest_wait_since")


class Floor:
    """One core, observed by the all-day view and, after ``restart``, a new writer's view.

    Contacts are named ``p1``, ``c1``...; with ``real_ids`` their ids are shaped as the
    engine's (a call's a UUID, a chat's ``chat-`` and hex), as records need them."""

    def __init__(self, *, real_ids: bool = False) -> None:
        self.real_ids = real_ids
        self.ids: dict[str, str] = {}
        settings = AcdSettings(ring_timeout_s=120.0, wrap_up_s=30.0, max_wait_s=600.0)
        self.core = Acd(settings)
        self.all_day = LiveView(tz=AMS, wallboard=Wallboard(0))
        self.all_day.load(self.core, T0)
        self.views = [self.all_day]
        self.done: list[ContactFinished] = []
        self.peer: set[str] = set()
        self.now = T0

    def cid(self, name: str) -> str:
        """The contact id of the contact called ``name`` in the script."""
        if not self.real_ids:
            return name
        fresh = ("chat-" + uuid.uuid4().hex) if name[0] in "cq" else str(uuid.uuid4())
        return self.ids.setdefault(name, fresh)

    def _observe(self, event: Event | None, commands: list[Any]) -> None:
        self.done += [c for c in commands if isinstance(c, ContactFinished)]
        for view in self.views:
            view.observe(event, commands, self.core, self.now)

    def until(self, at: float) -> None:
        while (due := self.core.next_deadline()) is not None and due <= T0 + at:
            self.now = due
            self._observe(None, self.core.handle_timer(due))
        self.now = T0 + at

    def feed(self, event: Event, at: float) -> None:
        self.until(at)
        if isinstance(event, ContactArrived) and "peer_chat" in event.skills:
            self.peer.add(event.contact_id)
        self._observe(event, self.core.handle(event, self.now))

    def login(self, agent_id: str, skills: frozenset[str]) -> None:
        self.feed(AgentLoggedIn(agent_id, "utrecht", skills, frozenset({"nl"})), 0)
        self.feed(AgentReady(agent_id), 0)

    def accept(self, contact_id: str, at: float) -> str:
        self.until(at)
        agent_id = self.core.contact(contact_id).agent_id
        assert agent_id is not None
        self.feed(OfferAccepted(contact_id, agent_id), at)
        return agent_id

    def restart(self) -> LiveView:
        """A new writer's view, loaded from the (recovered) core, counting from now."""
        view = LiveView(tz=AMS, wallboard=Wallboard(0))
        view.load(self.core, self.now)
        self.begun = view.begin_seed(self.now)
        self.views.append(view)
        return view

    def kind_of(self, done: ContactFinished) -> str:
        return "peer_chat" if done.contact_id in self.peer else done.channel.value

    def seed(self, written: Iterable[str], date: str = DATE) -> DaySeed:
        """Today's records among ``written`` as ``storage.day_seed`` reads them."""
        written = {self.cid(name) for name in written}
        earlier: dict[str, DaySums] = {}
        recent: list[RecentContact] = []
        for done in self.done:
            if done.contact_id not in written:
                continue
            kind, sums = self.kind_of(done), sums_of(done)
            if done.ended_at < CUT:
                earlier[kind] = earlier.get(kind, DaySums()) + sums
            else:
                recent.append(RecentContact(done.contact_id, kind, sums))
        return DaySeed(date, earlier, tuple(recent))


def sums_of(done: ContactFinished) -> DaySums:
    if done.outcome is Outcome.ANSWERED and done.answered_at is not None:
        wait = done.answered_at - done.arrived_at
        return DaySums(
            answered=1,
            within={t: int(wait <= t) for t in SERVICE_LEVEL_S},
            wait_s=wait,
            talk_s=done.ended_at - done.answered_at,
        )
    if done.outcome is Outcome.ABANDONED:
        return DaySums(abandoned=1)
    return DaySums(overflowed=1)


def morning(floor: Floor) -> None:
    """Before the restart: p1 answered (wait 5, talk 60, wrap-up 10 s), p3 abandoned, q1 a
    peer chat answered (wait 10, talk 50) ending within the cut; c1 is in a chat throughout."""
    c = floor.cid
    floor.login("anna", frozenset({"phone"}))
    floor.login("bram", frozenset({"phone"}))
    floor.login("cas", frozenset({"chat"}))
    floor.login("yara", PEER)
    floor.feed(ContactArrived(c("p1"), Channel.PHONE), 10)
    p1_agent = floor.accept(c("p1"), 15)
    floor.feed(ContactArrived(c("p3"), Channel.PHONE), 30)  # rings the other one
    floor.feed(ContactEnded(c("p3")), 40)
    floor.feed(ContactArrived(c("c1"), Channel.CHAT), 50)
    floor.accept(c("c1"), 52)
    floor.feed(ContactEnded(c("p1")), 75)
    floor.feed(WrapUpEnded(p1_agent), 85)
    floor.feed(ContactArrived(c("q1"), Channel.CHAT, skills=PEER), 100)
    floor.accept(c("q1"), 110)
    floor.feed(ContactEnded(c("q1")), 160)  # yara's wrap-up ends by the timer at 190
    floor.until(200)


def afternoon(floor: Floor) -> None:
    """After it: p2 (wait 20, talk 30) and p4 (wait 10, talk 20) answered, c1 ends (talk 300),
    q2 abandoned after 20 s; every wrap-up 30 s by the timer."""
    c = floor.cid
    floor.feed(ContactArrived(c("p2"), Channel.PHONE), 210)
    floor.accept(c("p2"), 230)
    floor.feed(ContactEnded(c("p2")), 260)
    floor.feed(ContactArrived(c("p4"), Channel.PHONE), 270)
    floor.accept(c("p4"), 280)
    floor.feed(ContactEnded(c("p4")), 300)
    floor.feed(ContactEnded(c("c1")), 352)
    floor.feed(ContactArrived(c("q2"), Channel.CHAT, skills=PEER), 400)
    floor.feed(ContactEnded(c("q2")), 420)
    floor.until(500)


def kinds(view: LiveView) -> dict[str, Any]:
    figures: dict[str, Any] = view.wallboard()["kinds"]
    return figures


def pick(figures: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {kind: {k: f[k] for k in keys} for kind, f in figures.items()}


def test_a_seeded_board_shows_the_day_as_one_that_ran_all_day():
    floor = Floor()
    morning(floor)
    restarted = floor.restart()
    afternoon(floor)
    # Read when p2's record was in SQL and p4's not yet: p2 comes one by one (after the cut)
    # and was counted here, so it is left out; q1 (ended before the restart, after the cut)
    # was not, so it is added; p4 and the rest were counted here only.
    seed = floor.seed(["p1", "p3", "q1", "p2"])
    assert [r.record_id for r in seed.recent] == ["q1", "p2"]
    assert restarted.wallboard()["kinds"]["phone"]["answered"] == 2  # p2, p4 only so far
    (delta,) = restarted.seed_today(seed, floor.now)
    assert delta.kind == "queue" and delta.public
    expected, seeded = kinds(floor.all_day), kinds(restarted)
    assert pick(seeded, SAME_ALL_DAY) == pick(expected, SAME_ALL_DAY)
    assert pick(seeded, NOW_FIGURES) == pick(expected, NOW_FIGURES)
    assert (seeded[TOTAL]["answered"], seeded[TOTAL]["abandoned"]) == (5, 2)
    # The volunteers' queue figures (per ACD channel) too: a peer chat is a chat.
    assert restarted.queue().to_json()["channels"] == floor.all_day.queue().to_json()["channels"]


def test_after_a_seed_aht_is_talk_all_day_plus_the_wrap_up_known_since():
    floor = Floor()
    morning(floor)
    restarted = floor.restart()
    afternoon(floor)
    restarted.seed_today(floor.seed(["p1", "p3", "q1", "p2"]), floor.now)
    all_day, seeded = kinds(floor.all_day), kinds(restarted)
    # All day: phone talk 60 + 30 + 20, wrap-up 10 + 30 + 30 over 3 answered.
    assert all_day["phone"]["aht_s"] == 60.0
    # Seeded: p1's wrap-up is unknown; talk 110 / 3 + wrap-up 60 / 2 answered since.
    assert seeded["phone"]["aht_s"] == 66.7
    assert seeded["phone"]["talk_avg_s"] == all_day["phone"]["talk_avg_s"] == 36.7
    assert seeded["phone"]["wrap_avg_s"] == 30.0  # the wrap-ups it saw
    # Nothing seeded for chat: the formula is the usual one.
    assert seeded["chat"]["aht_s"] == all_day["chat"]["aht_s"] == 330.0
    # q1 only from its record, no peer chat answered since: the wrap-up part is not known.
    assert seeded["peer_chat"]["aht_s"] is None
    assert seeded["peer_chat"]["talk_avg_s"] == 50.0
    assert all_day["peer_chat"]["aht_s"] == 80.0
    # Total: talk 460 / 5 + wrap-up 90 / 3 (all day: (460 + 130) / 5).
    assert (seeded[TOTAL]["aht_s"], all_day[TOTAL]["aht_s"]) == (122.0, 118.0)


def test_the_board_says_from_when_it_counts_until_the_seed_arrives():
    floor = Floor()
    morning(floor)
    restarted = floor.restart()
    (begun,) = floor.begun
    assert begun.data is not None
    assert (begun.data["board"]["today_from"], begun.data["board"]["wrap_up_from"]) == (
        RESTART,
        RESTART,
    )
    assert floor.all_day.wallboard()["today_from"] is None
    restarted.seed_today(floor.seed(["p1", "p3", "q1"]), floor.now)
    board = restarted.wallboard()
    assert (board["today_from"], board["wrap_up_from"]) == (None, RESTART)
    assert board["kinds"]["phone"]["answered"] == 1
    assert board["kinds"]["phone"]["aht_s"] is None  # p1 from its record only
    assert board["kinds"]["phone"]["talk_avg_s"] == 60.0


def test_without_answered_contacts_in_the_seed_no_wrap_up_is_missing():
    floor = Floor()
    floor.login("anna", frozenset({"phone"}))
    floor.feed(ContactArrived("p1", Channel.PHONE), 10)
    floor.feed(ContactEnded("p1"), 20)  # abandoned while ringing
    floor.until(100)
    restarted = floor.restart()
    assert restarted.wallboard()["wrap_up_from"] == T0 + 100  # not known yet
    restarted.seed_today(floor.seed(["p1"]), floor.now)
    board = restarted.wallboard()
    assert (board["today_from"], board["wrap_up_from"]) == (None, None)
    assert board["kinds"]["phone"]["abandoned"] == 1


def test_a_seed_given_twice_adds_once():
    floor = Floor()
    morning(floor)
    restarted = floor.restart()
    seed = floor.seed(["p1", "p3", "q1"])
    assert restarted.seed_today(seed, floor.now) != []
    before = kinds(restarted)
    assert restarted.seed_today(seed, floor.now) == []
    assert kinds(restarted) == before


def test_a_seed_of_yesterday_is_dropped_and_the_new_day_is_counted_whole():
    floor = Floor()
    morning(floor)
    restarted = floor.restart()
    midnight = datetime(2026, 12, 3, 0, 0, 5, tzinfo=AMS).timestamp()
    assert restarted.seed_today(floor.seed(["p1", "p3", "q1"]), midnight) != []  # the roll
    board = restarted.wallboard()
    assert board["date"] == "2026-12-03"
    assert (board["today_from"], board["wrap_up_from"]) == (None, None)
    assert all(board["kinds"][k]["answered"] == 0 for k in (*KINDS, TOTAL))
    assert restarted.seed_today(floor.seed(["p1"], date="2026-12-03"), midnight) == []


def test_day_seed_leaves_out_what_was_counted():
    one = DaySums(answered=1, within={20: 1}, wait_s=5.0, talk_s=60.0)
    seed = DaySeed(
        DATE,
        {"phone": DaySums(abandoned=2)},
        (RecentContact("a", "phone", one), RecentContact("b", "chat", one)),
    )
    assert seed.contacts == 4
    assert seed.without({"a"}) == {"phone": DaySums(abandoned=2), "chat": one}
    both = seed.without(())["phone"]
    assert (both.answered, both.abandoned, both.within, both.talk_s) == (1, 2, {20: 1}, 60.0)
