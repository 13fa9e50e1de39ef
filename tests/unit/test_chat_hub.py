"""The chat hub with fake sockets, an in-memory transcript and a fake engine: relay both ways,
receipts, typing, limits, presence (away/back), hand-over and the end."""

from __future__ import annotations

import asyncio
import json

import pytest

from chat import hub as hub_module
from chat.hub import ChatHub, Conn, clean_text
from chat.ids import new_chat_id
from chat.store import ChatMeta
from tests.unit.chat_support import FakeControl, FakeSocket, MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.control = FakeControl()
        self.clock = Clock()
        self.hub = ChatHub(
            self.store,
            self.control,
            max_chars=20,
            messages_per_10s=3,
            clock=self.clock,
            monotonic=self.clock,
        )
        self.pumps: list[asyncio.Task[None]] = []

    async def chat(self) -> str:
        chat_id = new_chat_id()
        await self.store.create(ChatMeta(chat_id, False, "nl", "116111", 1.0), "tok-" + chat_id)
        return chat_id

    def run(self, conn: Conn) -> Conn:
        self.pumps.append(asyncio.create_task(conn.pump()))
        return conn

    async def child(self, chat_id: str) -> tuple[Conn, FakeSocket]:
        sock = FakeSocket()
        conn = self.run(await self.hub.attach_child(chat_id, sock))
        await sock.wait_for("hello")
        return conn, sock

    async def volunteer(self, agent_id: str = "anna") -> tuple[Conn, FakeSocket]:
        sock = FakeSocket()
        return self.run(self.hub.attach_volunteer(agent_id, sock)), sock

    async def close(self) -> None:
        for task in self.pumps:
            task.cancel()
        await asyncio.gather(*self.pumps, return_exceptions=True)


@pytest.fixture
async def rig():
    r = Rig()
    yield r
    await r.close()


async def _talking(rig: Rig) -> tuple[str, Conn, FakeSocket, Conn, FakeSocket]:
    chat_id = await rig.chat()
    child, csock = await rig.child(chat_id)
    vol, vsock = await rig.volunteer()
    await rig.hub.joined(chat_id, "anna", None)
    await csock.wait_for("joined")
    await vsock.wait_for("joined")
    return chat_id, child, csock, vol, vsock


def send(frame: dict) -> str:
    return json.dumps(frame)


async def test_a_waiting_child_hears_hello_and_queue_notices_then_joined(rig):
    chat_id = await rig.chat()
    rig.hub.notice(chat_id, 3, 90.0)
    child, sock = await rig.child(chat_id)
    assert sock.frames[0] == {
        "type": "hello",
        "state": "queued",
        "position": 3,
        "wait_s": 90.0,
        "messages": [],
        "read": 0,
    }
    assert rig.control.calls == [("back", chat_id)]  # the first socket: present
    rig.hub.notice(chat_id, 2, None)
    assert await sock.wait_for("queue") == {"type": "queue", "position": 2, "wait_s": None}
    # A message while waiting is kept: the volunteer sees it when they join.
    await rig.hub.child_frame(child, send({"type": "msg", "client_id": "c1", "text": "hoi"}))
    sent = await sock.wait_for("sent")
    assert sent == {"type": "sent", "client_id": "c1", "seq": 1, "at": 1000.0, "delivered": False}
    vol, vsock = await rig.volunteer()
    await rig.hub.joined(chat_id, "anna", "ze wil over school praten")
    assert await sock.wait_for("joined") == {"type": "joined"}  # no name, no note
    joined = await vsock.wait_for("joined")
    assert joined == {
        "type": "joined",
        "chat": chat_id,
        "note": "ze wil over school praten",
        "messages": [{"seq": 1, "from": "child", "text": "hoi", "at": 1000.0}],
    }
    assert rig.hub.member(chat_id) == "anna"


async def test_messages_flow_both_ways_with_receipts(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    await rig.hub.child_frame(child, send({"type": "msg", "client_id": "a", "text": "hoi"}))
    assert (await csock.wait_for("sent"))["delivered"] is True
    got = await vsock.wait_for("msg")
    assert got == {
        "type": "msg",
        "seq": 1,
        "from": "child",
        "text": "hoi",
        "at": 1000.0,
        "chat": chat_id,
    }
    rig.clock.now += 1
    await rig.hub.volunteer_frame(
        vol, send({"type": "msg", "chat": chat_id, "client_id": "v1", "text": "Hoi! Zeg het maar."})
    )
    assert await vsock.wait_for("sent") == {
        "type": "sent",
        "client_id": "v1",
        "seq": 2,
        "at": 1001.0,
        "delivered": True,
        "chat": chat_id,
    }
    assert (await csock.wait_for("msg"))["text"] == "Hoi! Zeg het maar."
    # Read receipts: the mark each way, never beyond the last message.
    await rig.hub.volunteer_frame(vol, send({"type": "read", "chat": chat_id, "seq": 1}))
    assert await csock.wait_for("read") == {"type": "read", "seq": 1}
    await rig.hub.child_frame(child, send({"type": "read", "seq": 99}))
    assert await vsock.wait_for("read") == {"type": "read", "chat": chat_id, "seq": 2}
    assert [m.text for m in await rig.store.messages(chat_id)] == ["hoi", "Hoi! Zeg het maar."]


async def test_typing_is_relayed_at_most_every_two_seconds(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    for _ in range(3):
        await rig.hub.child_frame(child, send({"type": "typing"}))
    rig.clock.now += hub_module.TYPING_EVERY_S
    await rig.hub.child_frame(child, send({"type": "typing"}))
    await vsock.wait_for("typing", 2)
    await asyncio.sleep(0)
    assert vsock.types().count("typing") == 2
    await rig.hub.volunteer_frame(vol, send({"type": "typing", "chat": chat_id}))
    assert await csock.wait_for("typing") == {"type": "typing"}


async def test_text_only_limited_and_rate_limited(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    raw = "a\x00b\x1bc\u202ed\r\ne\ud800\u0085 "
    await rig.hub.child_frame(child, send({"type": "msg", "client_id": "1", "text": raw}))
    assert (await vsock.wait_for("msg"))["text"] == "abcd\ne" == clean_text(raw)
    await rig.hub.child_frame(child, send({"type": "msg", "client_id": "2", "text": "x" * 21}))
    err = await csock.wait_for("error")
    assert (err["code"], err["client_id"]) == ("too_long", "2")
    await rig.hub.child_frame(child, send({"type": "msg", "client_id": "3", "text": " \x07 "}))
    assert (await csock.wait_for("error", 2))["code"] == "bad_request"
    await rig.hub.child_frame(child, send({"type": "msg", "text": "<b>2</b>"}))
    await rig.hub.child_frame(child, send({"type": "msg", "text": "3"}))
    await rig.hub.child_frame(child, send({"type": "msg", "text": "4"}))  # the 4th in 10 s
    assert (await csock.wait_for("error", 3))["code"] == "rate_limited"
    assert [m.text for m in await rig.store.messages(chat_id)] == ["abcd\ne", "<b>2</b>", "3"]
    rig.clock.now += 10
    await rig.hub.child_frame(child, send({"type": "msg", "text": "5"}))
    assert (await vsock.wait_for("msg", 4))["text"] == "5"
    for bad in ("{", "[]", send({"type": "shout"}), send({"type": "read", "seq": True})):
        await rig.hub.child_frame(child, bad)
    await csock.wait_for("error", 7)
    assert [f["code"] for f in csock.frames if f["type"] == "error"][3:] == ["bad_request"] * 4


async def test_a_volunteer_speaks_only_in_their_own_chats(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    other, osock = await rig.volunteer("bram")
    await rig.hub.volunteer_frame(
        other, send({"type": "msg", "chat": chat_id, "client_id": "x", "text": "hallo"})
    )
    err = await osock.wait_for("error")
    assert (err["code"], err["chat"], err["client_id"]) == ("not_in_chat", chat_id, "x")
    await rig.hub.volunteer_frame(other, send({"type": "msg", "chat": "nope", "text": "x"}))
    assert (await osock.wait_for("error", 2))["code"] == "bad_request"
    assert await rig.store.messages(chat_id) == []


async def test_the_child_away_and_back_resumes_with_the_transcript(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    await rig.hub.child_frame(child, send({"type": "msg", "text": "hoi"}))
    await rig.hub.volunteer_frame(vol, send({"type": "read", "chat": chat_id, "seq": 1}))
    rig.hub.detach(child)
    assert await csock.wait_closed() == 1000
    assert rig.control.calls[-1] == ("away", chat_id)
    again, sock2 = await rig.child(chat_id)
    assert rig.control.calls[-1] == ("back", chat_id)
    hello = sock2.frames[0]
    assert (hello["state"], hello["read"]) == ("talking", 1)
    assert [m["text"] for m in hello["messages"]] == ["hoi"]
    # Two sockets of one child (a second tab): one closing is not "away".
    third, sock3 = await rig.child(chat_id)
    rig.hub.detach(again)
    assert rig.control.calls[-1] == ("back", chat_id)
    await rig.hub.volunteer_frame(vol, send({"type": "msg", "chat": chat_id, "text": "ben je er?"}))
    assert (await sock3.wait_for("msg"))["text"] == "ben je er?"


async def test_the_end_tells_both_sides_closes_the_child_and_ends_the_transcript(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    reader_sock = FakeSocket()
    rig.run(await rig.hub.attach_reader(chat_id, reader_sock))
    await rig.hub.child_frame(child, send({"type": "msg", "text": "doei"}))
    assert (await reader_sock.wait_for("msg"))["text"] == "doei"
    await rig.hub.child_frame(child, send({"type": "end"}))
    assert rig.control.calls[-1] == ("left", chat_id)  # the engine decides; then:
    await rig.hub.ended(chat_id, "child", block=True)
    assert await csock.wait_for("ended") == {"type": "ended", "by": "child"}
    assert await csock.wait_closed() == 1000
    assert await vsock.wait_for("ended") == {"type": "ended", "chat": chat_id, "by": "child"}
    assert vsock.closed is None  # the workspace socket serves the volunteer's other chats
    assert await reader_sock.wait_closed() == 1000
    assert chat_id not in rig.store.metas and chat_id not in rig.store.logs
    assert rig.store.blocks == {"tok-" + chat_id}
    rig.hub.detach(child)
    assert ("away", chat_id) not in rig.control.calls  # ended: no presence news
    assert rig.hub.member(chat_id) is None


async def test_a_hand_over_moves_the_relay_to_the_colleague(rig):
    chat_id, child, csock, vol, vsock = await _talking(rig)
    bram, bsock = await rig.volunteer("bram")
    rig.hub.left(chat_id, "anna")
    await rig.hub.joined(chat_id, "bram", "pest op school")
    assert await vsock.wait_for("left") == {"type": "left", "chat": chat_id}
    assert (await bsock.wait_for("joined"))["note"] == "pest op school"
    await rig.hub.child_frame(child, send({"type": "msg", "text": "hoi bram"}))
    assert (await bsock.wait_for("msg"))["text"] == "hoi bram"
    assert "msg" not in vsock.types()


async def test_a_slow_socket_is_cut_not_waited_for(rig, monkeypatch):
    monkeypatch.setattr(hub_module, "OUTBOX", 5)
    chat_id, child, csock, vol, vsock = await _talking(rig)
    slow = FakeSocket(delay_s=10)
    rig.run(rig.hub.attach_volunteer("anna", slow))
    for i in range(8):
        rig.hub.notice(chat_id, i, None)  # fan-out never waits on a socket
        await rig.hub.child_frame(child, send({"type": "typing"}))
        rig.clock.now += 3
        await asyncio.sleep(0)  # a turn of the loop: a healthy socket keeps up
    assert await slow.wait_closed(timeout_s=1) == hub_module.CLOSE_SLOW
    assert vsock.closed is None


async def test_a_frame_flood_closes_the_socket(rig, monkeypatch):
    monkeypatch.setattr(hub_module, "FRAMES_PER_10S", 5)
    chat_id, child, csock, vol, vsock = await _talking(rig)
    for _ in range(6):
        await rig.hub.child_frame(child, send({"type": "typing"}))
    assert await csock.wait_closed() == hub_module.CLOSE_POLICY
    assert csock.frames[-1]["code"] == "rate_limited"
