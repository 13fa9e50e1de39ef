"""The chat session (``session.chat``), scripted: whole command lists for each event."""

from __future__ import annotations

import pytest

import acd
from acd import ContactFinished, Outcome
from acd.model import Contact, contact_requirements
from session import chat_commands as cc
from session import chat_events as ce
from session import commands as c
from session import events as e
from session.chat import TRANSITIONS, ChatSession, ChatState, ChatTiming
from session.errors import ChatRefused, SessionError
from session.machine import QueueNews

CID = "chat-" + "ab" * 16
LINE = "116111"
TIMING = ChatTiming(grace_s=120.0, queue_notice_s=5.0)
S = ChatState


def opened(peer: bool = False) -> ce.ChatOpened:
    return ce.ChatOpened(CID, peer, "nl", LINE)


def done(outcome: Outcome = Outcome.ANSWERED, agent: str | None = "v1") -> ContactFinished:
    answered = 2.0 if outcome is Outcome.ANSWERED else None
    return ContactFinished(
        CID, acd.Channel.CHAT, outcome, 0, "nl", 1.0, answered, 9.0, agent, None, None, None
    )


def ended(
    by: str, *, finished: ContactFinished | None = None, channel: str = "chat", block: bool = False
) -> list[object]:
    out: list[object] = [cc.ChatEnded(CID, by, block)]
    if finished is not None:
        out += [c.WriteRecord(finished, LINE, "nl", channel=channel), c.SessionClosed(CID)]
    return out


def talking(agent: str = "v1", *, peer: bool = False) -> ChatSession:
    s = ChatSession(opened(peer), TIMING)
    s.begin(0.0)
    s.handle(e.AcdOffer(agent, 1, 30.0), 1.0)
    assert s.handle(e.AcdConnect(agent), 2.0) == [cc.ChatJoined(CID, agent, None)]
    return s


def test_begin_queues_a_chat_at_the_acd_and_tells_the_child_where_they_are():
    s = ChatSession(opened(), TIMING)
    assert s.begin(0.0, QueueNews(3, 40.0)) == [
        c.ToAcd(acd.ContactArrived(CID, acd.Channel.CHAT, skills=frozenset(), language="nl")),
        cc.ChatNotice(CID, 3, 40.0),
    ]
    assert s.state is S.QUEUED and s.next_deadline() == 5.0


def test_a_peer_chat_asks_for_the_peer_chat_skill_and_is_recorded_as_peer_chat():
    s = ChatSession(opened(peer=True), TIMING)
    arrived = s.begin(0.0)[0]
    assert isinstance(arrived, c.ToAcd) and isinstance(arrived.event, acd.ContactArrived)
    assert arrived.event.skills == frozenset({"peer_chat"})
    s.handle(ce.ChildLeft(), 3.0)
    fin = done(Outcome.ABANDONED, None)
    assert s.handle(e.AcdFinished(fin), 3.0) == ended("child", finished=fin, channel="peer_chat")


def test_queue_notices_every_interval_while_waiting_and_none_when_not_in_the_queue():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    assert s.handle_timer(4.9, QueueNews(2, 30.0)) == []  # not due yet
    assert s.handle_timer(5.0, QueueNews(2, 30.0)) == [cc.ChatNotice(CID, 2, 30.0)]
    assert s.next_deadline() == 10.0
    s.handle(e.AcdOffer("v1", 1, 30.0), 6.0)
    assert s.handle_timer(10.0, None) == []  # offered: no place in the queue
    assert s.next_deadline() == 15.0
    s.handle(e.AcdConnect("v1"), 11.0)
    assert s.next_deadline() is None  # talking, child here: nothing pending


def test_offer_accept_join_then_the_child_leaves():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    assert s.handle(e.AcdOffer("v1", 1, 30.0), 1.0) == []  # the workspace sees it on the bus
    assert s.offered_to == "v1"
    assert s.handle(e.AcdConnect("v1"), 2.0) == [cc.ChatJoined(CID, "v1", None)]
    assert s.handle(ce.ChildLeft(), 5.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.next_deadline() is None
    assert s.handle(e.AcdFinished(done()), 9.0) == ended("child", finished=done())
    assert s.history == [S.QUEUED, S.OFFERED, S.TALKING, S.ENDING, S.ENDED]
    assert s.closed


def test_a_withdrawn_offer_goes_back_to_queued():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    s.handle(e.AcdOffer("v1", 1, 30.0), 1.0)
    assert s.handle(e.AcdWithdraw("v1"), 31.0) == []
    assert (s.state, s.offered_to) == (S.QUEUED, None)


def test_the_volunteer_closes_and_blocks():
    s = talking()
    with pytest.raises(ChatRefused) as info:
        s.handle(ce.VolunteerClosed("v2", False), 3.0)
    assert info.value.code == "not_in_chat" and s.state is S.TALKING
    assert s.handle(ce.VolunteerClosed("v1", True), 3.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.handle(ce.VolunteerClosed("v1", True), 3.5) == []  # a double click
    assert s.handle(e.AcdFinished(done()), 9.0) == ended("volunteer", finished=done(), block=True)


def test_child_away_and_back_then_away_past_the_grace():
    s = talking()
    assert s.handle(ce.ChildAway(), 10.0) == []
    assert s.next_deadline() == 130.0
    assert s.handle(ce.ChildBack(), 20.0) == []
    assert s.next_deadline() is None
    s.handle(ce.ChildAway(), 30.0)
    s.handle(ce.ChildAway(), 40.0)  # a second socket closing does not move the deadline
    assert s.next_deadline() == 150.0
    assert s.handle_timer(149.0) == []
    assert s.handle_timer(150.0) == [c.ToAcd(acd.ContactEnded(CID))]
    assert s.state is S.ENDING and s.next_deadline() is None
    assert s.handle(ce.ChildBack(), 151.0) == []  # too late: it ends
    assert s.handle(e.AcdFinished(done()), 152.0) == ended("away", finished=done())


def test_a_waiting_child_away_past_the_grace_abandons():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    s.handle(ce.ChildAway(), 1.0)
    assert s.handle_timer(121.0, QueueNews(1, None)) == [c.ToAcd(acd.ContactEnded(CID))]
    fin = done(Outcome.ABANDONED, None)
    assert s.handle(e.AcdFinished(fin), 121.0) == ended("away", finished=fin)


def test_overflow_tells_the_child_at_once_and_records_with_the_acds_account():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    assert s.handle(e.AcdOverflow("max_wait"), 600.0) == ended("overflow")
    fin = done(Outcome.OVERFLOWED, None)
    assert s.handle(e.AcdFinished(fin), 600.0) == [
        c.WriteRecord(fin, LINE, "nl", channel="chat"),
        c.SessionClosed(CID),
    ]


def test_overflow_crossing_the_childs_leaving_ends_as_the_child_did():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    s.handle(ce.ChildLeft(), 599.0)
    assert s.handle(e.AcdOverflow("max_wait"), 600.0) == []
    fin = done(Outcome.OVERFLOWED, None)
    assert s.handle(e.AcdFinished(fin), 600.0) == ended("child", finished=fin)


def test_hand_off_leaves_then_joins_with_the_note():
    s = talking()
    assert s.handle(ce.HandOff("v1", "v2", "suicidal thoughts, talked 20 min"), 5.0) == [
        c.ToAcd(acd.ContactHandedOver(CID, "v1", "v2"))
    ]
    with pytest.raises(ChatRefused, match="under way"):
        s.handle(ce.HandOff("v1", "v3", ""), 5.5)
    assert s.handle(e.AcdConnect("v2"), 6.0) == [
        cc.ChatLeftBy(CID, "v1"),
        cc.ChatJoined(CID, "v2", "suicidal thoughts, talked 20 min"),
    ]
    assert s.agent_id == "v2" and s.handing_to is None
    with pytest.raises(ChatRefused):
        s.handle(ce.VolunteerClosed("v1", False), 7.0)  # v1 is no longer in it


def test_hand_off_refused_by_the_acd_keeps_the_volunteer():
    s = talking()
    handed = acd.ContactHandedOver(CID, "v1", "v2")
    s.handle(ce.HandOff("v1", "v2", "n"), 5.0)
    assert s.handle(e.AcdRefused(handed), 5.0) == []
    assert (s.state, s.agent_id, s.handing_to) == (S.TALKING, "v1", None)


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (ce.HandOff("v2", "v3", ""), "not_in_chat"),
        (ce.HandOff("v1", "v1", ""), "handoff"),
    ],
)
def test_hand_off_refusals(event, code):
    s = talking()
    with pytest.raises(ChatRefused) as info:
        s.handle(event, 5.0)
    assert info.value.code == code and s.handing_to is None


def test_requests_the_state_does_not_allow_are_refused_and_change_nothing():
    s = ChatSession(opened(), TIMING)
    s.begin(0.0)
    for event in (ce.VolunteerClosed("v1", False), ce.HandOff("v1", "v2", "")):
        with pytest.raises(ChatRefused) as info:
            s.handle(event, 1.0)
        assert info.value.code == "not_allowed"
    assert s.history == [S.QUEUED]
    assert isinstance(info.value, SessionError)


def test_an_ended_chat_ignores_late_acd_news_and_refuses_requests():
    s = talking()
    s.handle(ce.ChildLeft(), 3.0)
    s.handle(e.AcdFinished(done()), 4.0)
    assert s.handle(e.AcdWithdraw("v1"), 5.0) == []
    assert s.handle(e.AcdFinished(done()), 5.0) == []
    with pytest.raises(ChatRefused):
        s.handle(ce.ChildAway(), 5.0)
    assert s.handle_timer(500.0) == [] and s.next_deadline() is None


def test_a_refused_arrival_ends_the_chat_without_a_record():
    s = ChatSession(opened(), TIMING)
    arrived = s.begin(0.0)[0]
    assert isinstance(arrived, c.ToAcd)
    assert s.handle(e.AcdRefused(arrived.event), 0.0) == [
        cc.ChatEnded(CID, "closed", False),
        c.SessionClosed(CID),
    ]


def test_a_finish_the_chat_did_not_ask_for_ends_it_as_closed():
    s = talking()
    assert s.handle(e.AcdFinished(done()), 4.0) == ended("closed", finished=done())


def contact(state: acd.ContactState, agent: str | None) -> Contact:
    requires = contact_requirements(acd.Channel.CHAT, frozenset(), "nl")
    return Contact(CID, acd.Channel.CHAT, frozenset(), "nl", 0, requires, 1.0, 1, state, agent)


@pytest.mark.parametrize(
    ("acd_state", "agent", "state", "announced"),
    [
        (acd.ContactState.QUEUED, None, S.QUEUED, []),
        (acd.ContactState.OFFERED, "v1", S.OFFERED, []),
        (acd.ContactState.CONNECTED, "v1", S.TALKING, [cc.ChatJoined(CID, "v1", None)]),
    ],
)
def test_recover_counts_the_child_away_from_the_restart(acd_state, agent, state, announced):
    s = ChatSession.recover(contact(acd_state, agent), 1000.0, opened(), TIMING)
    assert s.state is state and s.child_away_since == 1000.0
    assert s.announce() == announced
    assert s.handle_timer(1120.0) == [c.ToAcd(acd.ContactEnded(CID))]


def test_recover_then_the_child_comes_back():
    s = ChatSession.recover(contact(acd.ContactState.CONNECTED, "v1"), 1000.0, opened(), TIMING)
    s.handle(ce.ChildBack(), 1001.0)
    assert s.next_deadline() is None
    assert s.handle(ce.VolunteerClosed("v1", False), 1002.0) == [c.ToAcd(acd.ContactEnded(CID))]


def test_every_state_but_ended_accepts_the_acds_account():
    for state, row in TRANSITIONS.items():
        if state is not S.ENDED:
            assert row[e.AcdFinished] is S.ENDED
    assert TRANSITIONS[S.ENDED] == {}
