"""Warm hand-over of a chat in the ACD core (``ContactHandedOver``): who may take it, what
the old and the new volunteer go through, and that it survives the journal and snapshots."""

from __future__ import annotations

import pytest

from acd import (
    Acd,
    AcdSettings,
    AgentPaused,
    ConnectContact,
    ContactEnded,
    ContactHandedOver,
    InvalidEvent,
    NotConnected,
    OfferAccepted,
    Outcome,
    UnknownContact,
    WrapUpEnded,
)
from acd.serde import event_from_dict, event_to_dict
from tests.unit.acd_helpers import (
    CHAT,
    NL,
    PHONE,
    A,
    Script,
    assert_rejected,
    changed,
    finished,
    offer,
    via_json,
)

SETTINGS = AcdSettings(max_chats=2, wrap_up_s=30)
PEER = frozenset({"peer_chat"})


def talking(s: Script, contact_id: str, agent_id: str, t: float, **kw: object) -> None:
    """``contact_id`` arrives and ``agent_id`` (the only free volunteer for it) answers."""
    out = s.arrive(contact_id, t, CHAT, **kw)  # type: ignore[arg-type]
    assert out[0] == offer(contact_id, agent_id, CHAT)
    s.feed(OfferAccepted(contact_id, agent_id), t)


def two_volunteers(s: Script) -> None:
    """a1 holds ch1; a2 logs in afterwards, ready and free."""
    s.login("a1", 0)
    talking(s, "ch1", "a1", 1)
    s.login("a2", 2)
    s.forget()


def test_the_colleague_takes_it_and_the_old_volunteer_wraps_up():
    s = Script(SETTINGS)
    two_volunteers(s)
    assert s.feed(ContactHandedOver("ch1", "a1", "a2"), 5) == [
        ConnectContact("ch1", "a2"),
        changed("a2", A.BUSY, 5),
        changed("a1", A.WRAP_UP, 5),
    ]
    assert s.acd.contact("ch1").agent_id == "a2"
    assert list(s.acd.agent("a2").contacts) == ["ch1"]
    assert s.acd.agent("a1").contacts == {}
    # The record names the last holder; answered_at stays the first answer.
    assert s.feed(ContactEnded("ch1"), 9) == [
        finished(
            "ch1", Outcome.ANSWERED, 1, 9, channel=CHAT, answered=1, agent="a2", location="loc1"
        ),
        changed("a2", A.WRAP_UP, 9),
    ]


def test_a_volunteer_holding_other_chats_stays_busy_and_the_colleague_may_hold_several():
    s = Script(SETTINGS)
    s.login("a1", 0)
    talking(s, "ch1", "a1", 1)
    talking(s, "ch2", "a1", 2)
    s.login("a2", 3)
    talking(s, "ch3", "a2", 4)
    s.forget()
    assert s.feed(ContactHandedOver("ch1", "a1", "a2"), 5) == [ConnectContact("ch1", "a2")]
    assert s.states("a1") == s.states("a2") == []  # both busy before and after
    assert list(s.acd.agent("a2").contacts) == ["ch3", "ch1"]
    # a1 has room again: the next chat goes to them, not to a2 (full at max_chats).
    assert s.arrive("ch4", 6, CHAT) == [offer("ch4", "a1", CHAT)]


def test_refused_unless_connected_to_the_giver():
    s = Script(SETTINGS)
    two_volunteers(s)
    assert_rejected(s.acd, NotConnected, ContactHandedOver("ch1", "a2", "a1"), 5)
    assert_rejected(s.acd, UnknownContact, ContactHandedOver("nope", "a1", "a2"), 5)
    s.arrive("ch2", 6, CHAT)  # offered to a2, not connected
    assert_rejected(s.acd, NotConnected, ContactHandedOver("ch2", "a2", "a1"), 7)


def test_refused_for_a_phone_contact():
    s = Script(SETTINGS)
    s.login("a1", 0)
    s.arrive("p1", 1, PHONE)
    s.feed(OfferAccepted("p1", "a1"), 2)
    s.login("a2", 3)
    assert_rejected(s.acd, InvalidEvent, ContactHandedOver("p1", "a1", "a2"), 4, "only a chat")


@pytest.mark.parametrize(
    "why",
    ["unknown", "self", "paused", "not_ready", "offered", "in_call", "full", "skill", "wrap_up"],
)
def test_refused_when_the_colleague_cannot_take_it_now(why: str):
    s = Script(SETTINGS)
    s.login("a1", 0, skills=frozenset({"chat", "peer_chat"}))
    talking(s, "ch1", "a1", 1, skills=PEER) if why == "skill" else talking(s, "ch1", "a1", 1)
    to = "a2"
    if why == "self":
        to = "a1"
    elif why == "paused":
        s.login("a2", 2)
        s.feed(AgentPaused("a2"), 2)
    elif why == "not_ready":
        s.login("a2", 2, ready=False)
    elif why == "offered":
        s.login("a2", 2)
        assert s.arrive("ch2", 3, CHAT)[0] == offer("ch2", "a2", CHAT)
    elif why == "in_call":
        s.login("a2", 2)
        s.arrive("p1", 3, PHONE)
        s.feed(OfferAccepted("p1", "a2"), 3)
    elif why == "full":
        s.login("a2", 2, max_chats=1)
        talking(s, "ch2", "a2", 3)
    elif why == "skill":
        s.login("a2", 2)  # phone and chat, no peer_chat
    elif why == "wrap_up":
        s.login("a2", 2)
        talking(s, "ch2", "a2", 3)
        s.feed(ContactEnded("ch2"), 4)
        assert s.state("a2") is A.WRAP_UP
    assert_rejected(s.acd, InvalidEvent, ContactHandedOver("ch1", "a1", to), 5)
    # check_hand_over says the same without changing anything.
    with pytest.raises(InvalidEvent):
        s.acd.check_hand_over(ContactHandedOver("ch1", "a1", to))


def test_a_peer_chat_goes_to_a_young_colleague():
    s = Script(SETTINGS)
    s.login("y1", 0, skills=frozenset({"chat", "peer_chat"}))
    talking(s, "ch1", "y1", 1, skills=PEER)
    s.login("y2", 2, skills=frozenset({"peer_chat"}), languages=NL)
    s.acd.check_hand_over(ContactHandedOver("ch1", "y1", "y2"))  # no error
    assert s.feed(ContactHandedOver("ch1", "y1", "y2"), 3)[0] == ConnectContact("ch1", "y2")


def test_a_pending_pause_of_the_giver_applies_after_their_wrap_up():
    s = Script(SETTINGS)
    two_volunteers(s)
    s.feed(AgentPaused("a1", "break"), 3)  # busy: remembered
    s.feed(ContactHandedOver("ch1", "a1", "a2"), 5)
    assert s.state("a1") is A.WRAP_UP
    s.feed(WrapUpEnded("a1"), 6)
    assert s.states("a1") == [A.WRAP_UP, A.PAUSED]


def test_journal_and_snapshot_round_trip():
    event = ContactHandedOver("ch1", "a1", "a2")
    data = event_to_dict(event)
    assert data == {
        "type": "ContactHandedOver",
        "contact_id": "ch1",
        "from_agent_id": "a1",
        "to_agent_id": "a2",
    }
    assert event_from_dict(via_json(data)) == event
    with pytest.raises(InvalidEvent, match="missing field 'to_agent_id'"):
        event_from_dict({"type": "ContactHandedOver", "contact_id": "c", "from_agent_id": "a"})
    live = Script(SETTINGS)
    two_volunteers(live)
    live.feed(event, 5)
    restored = Acd.from_snapshot(via_json(live.acd.snapshot()), SETTINGS)
    assert via_json(restored.snapshot()) == via_json(live.acd.snapshot())
    assert restored.next_deadline() == live.acd.next_deadline() == 35.0
    assert restored.handle(ContactEnded("ch1"), 9) == live.feed(ContactEnded("ch1"), 9)
