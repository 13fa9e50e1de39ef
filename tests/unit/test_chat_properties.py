"""Invariants of chats over random event orders (Hypothesis state machine).

Chat sessions (``session.chat``) run against the real ACD core, wired as the engine wires
them (a FIFO work list, the ACD's commands turned into ``Acd*`` events, refusals sent back as
``AcdRefused``). Children come and go, volunteers accept, decline, close and hand over, time
jumps. Whatever comes:
- a request raises nothing but ``ChatRefused``, and a refused one changes nothing;
- never two volunteers in one chat at once, and the one the hub was told of is the one the
  ACD connected;
- ``ChatEnded``, ``WriteRecord`` and ``SessionClosed`` each come at most once, in that order;
- in the end (every child away, time run out) every chat has said all three exactly once.
"""

from __future__ import annotations

import collections
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import acd
from acd import commands as cmd
from session import chat_commands as cc
from session import chat_events as ce
from session import commands as c
from session import events as e
from session.chat import ChatSession, ChatState, ChatTiming
from session.errors import ChatRefused

AGENTS = ["v1", "v2", "v3"]
TIMING = ChatTiming(grace_s=60.0, queue_notice_s=5.0)
SETTINGS = acd.AcdSettings(
    ring_timeout_s=20.0, wrap_up_s=10.0, max_wait_s=300.0, max_chats=2, max_queue_length=4
)


class Chats:
    """A synchronous stand-in for the engine's chat paths."""

    def __init__(self) -> None:
        self.acd = acd.Acd(SETTINGS)
        self.now = 0.0
        self.chats: dict[str, ChatSession] = {}
        self.said: dict[str, list[Any]] = collections.defaultdict(list)
        self.work: collections.deque[tuple[str, Any, str | None]] = collections.deque()
        self.opened: list[str] = []

    def run(self) -> None:
        while self.work:
            kind, item, origin = self.work.popleft()
            if kind == "session":
                chat = self.chats.get(origin or "")
                if chat is not None:
                    self.commands(chat, chat.handle(item, self.now))
                continue
            try:
                out = self.acd.handle(item, self.now)
            except acd.AcdError:
                if origin in self.chats:
                    self.work.append(("session", e.AcdRefused(item), origin))
                continue
            self.acd_commands(out)

    def acd_commands(self, out: list[cmd.Command]) -> None:
        for command in out:
            event: Any = None
            if isinstance(command, cmd.OfferContact):
                token = self.acd.contact(command.contact_id).offer_token
                event = e.AcdOffer(command.agent_id, token, command.ring_timeout_s)
            elif isinstance(command, cmd.WithdrawOffer):
                event = e.AcdWithdraw(command.agent_id)
            elif isinstance(command, cmd.ConnectContact):
                event = e.AcdConnect(command.agent_id)
            elif isinstance(command, cmd.OverflowContact):
                event = e.AcdOverflow(command.reason)
            elif isinstance(command, cmd.ContactFinished):
                event = e.AcdFinished(command)
            if event is not None:
                self.work.append(("session", event, command.contact_id))

    def commands(self, chat: ChatSession, out: list[Any]) -> None:
        for command in out:
            if isinstance(command, c.ToAcd):
                self.work.append(("acd", command.event, chat.contact_id))
            else:
                self.said[chat.contact_id].append(command)
                if isinstance(command, c.SessionClosed):
                    del self.chats[chat.contact_id]

    def tick(self, now: float) -> None:
        self.now = now
        self.acd_commands(self.acd.handle_timer(now))
        self.run()
        for chat in list(self.chats.values()):
            due = chat.next_deadline()
            if due is not None and due <= now:
                self.commands(chat, chat.handle_timer(now, None))
        self.run()


def snapshot(chat: ChatSession) -> tuple[Any, ...]:
    return (
        chat.state,
        list(chat.history),
        chat.agent_id,
        chat.child_away_since,
        chat.handing_to,
        chat.ending_by,
    )


class ChatMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = Chats()
        for agent in AGENTS:
            skills = frozenset({"chat", "peer_chat"}) if agent == "v3" else frozenset({"chat"})
            self.w.acd.handle(acd.AgentLoggedIn(agent, "loc", skills, frozenset({"nl"})), 0.0)
            self.w.acd.handle(acd.AgentReady(agent), 0.0)
        self.n = 0

    def chat(self, i: int) -> ChatSession | None:
        live = sorted(self.w.chats)
        return self.w.chats[live[i % len(live)]] if live else None

    def request(self, chat: ChatSession | None, event: ce.ChatEvent) -> None:
        if chat is None:
            return
        before = snapshot(chat)
        try:
            out = chat.handle(event, self.w.now)
        except ChatRefused:
            assert snapshot(chat) == before
            return
        self.w.commands(chat, out)
        self.w.run()

    @precondition(lambda self: self.n < 6)
    @rule(peer=st.booleans())
    def open_chat(self, peer: bool) -> None:
        self.n += 1
        cid = f"chat-{self.n:032x}"
        chat = ChatSession(ce.ChatOpened(cid, peer, "nl", "116111"), TIMING)
        self.w.chats[cid] = chat
        self.w.opened.append(cid)
        self.w.commands(chat, chat.begin(self.w.now))
        self.w.run()

    @rule(i=st.integers(0, 5))
    def child_away(self, i: int) -> None:
        self.request(self.chat(i), ce.ChildAway())

    @rule(i=st.integers(0, 5))
    def child_back(self, i: int) -> None:
        self.request(self.chat(i), ce.ChildBack())

    @rule(i=st.integers(0, 5))
    def child_left(self, i: int) -> None:
        self.request(self.chat(i), ce.ChildLeft())

    @rule(i=st.integers(0, 5), block=st.booleans(), agent=st.sampled_from(AGENTS))
    def volunteer_closes(self, i: int, block: bool, agent: str) -> None:
        self.request(self.chat(i), ce.VolunteerClosed(agent, block))

    @rule(i=st.integers(0, 5), to=st.sampled_from(AGENTS), agent=st.sampled_from(AGENTS))
    def hand_off(self, i: int, to: str, agent: str) -> None:
        self.request(self.chat(i), ce.HandOff(agent, to, "note"))

    @rule(i=st.integers(0, 5), accept=st.booleans())
    def answer_offer(self, i: int, accept: bool) -> None:
        chat = self.chat(i)
        if chat is None or not self.w.acd.holds(chat.contact_id):
            return
        contact = self.w.acd.contact(chat.contact_id)
        if contact.state is not acd.ContactState.OFFERED or contact.agent_id is None:
            return
        event: acd.Event = (
            acd.OfferAccepted(chat.contact_id, contact.agent_id)
            if accept
            else acd.OfferFailed(chat.contact_id, contact.agent_id, acd.OfferFailure.REJECTED)
        )
        self.w.work.append(("acd", event, None))
        self.w.run()

    @rule(agent=st.sampled_from(AGENTS))
    def ready(self, agent: str) -> None:
        if self.w.acd.agent(agent).state in (acd.AgentState.PAUSED, acd.AgentState.WRAP_UP):
            self.w.work.append(("acd", acd.AgentReady(agent), None))
            self.w.run()

    @rule(dt=st.sampled_from([0.5, 4.0, 15.0, 61.0, 301.0]))
    def time_passes(self, dt: float) -> None:
        self.w.tick(self.w.now + dt)

    @invariant()
    def one_volunteer_at_a_time_and_the_acds(self) -> None:
        for cid in self.w.opened:
            inside: set[str] = set()
            for command in self.w.said[cid]:
                if isinstance(command, cc.ChatJoined):
                    inside.add(command.agent_id)
                elif isinstance(command, cc.ChatLeftBy):
                    inside.discard(command.agent_id)
                assert len(inside) <= 1
            chat = self.w.chats.get(cid)
            if chat is not None and chat.state is ChatState.TALKING:
                assert inside == {chat.agent_id}
                assert self.w.acd.contact(cid).agent_id == chat.agent_id

    @invariant()
    def endings_at_most_once_in_order(self) -> None:
        for cid in self.w.opened:
            kinds = [
                type(x)
                for x in self.w.said[cid]
                if isinstance(x, (cc.ChatEnded, c.WriteRecord, c.SessionClosed))
            ]
            assert kinds in ([], [cc.ChatEnded], [cc.ChatEnded, c.WriteRecord, c.SessionClosed])
            assert (cid in self.w.chats) == (c.SessionClosed not in kinds)

    def teardown(self) -> None:
        for chat in list(self.w.chats.values()):
            if chat.state is not ChatState.ENDING:
                self.w.commands(chat, chat.handle(ce.ChildAway(), self.w.now))
        self.w.run()
        for _ in range(5):
            self.w.tick(self.w.now + 400.0)
        assert self.w.chats == {}
        for cid in self.w.opened:
            said = self.w.said[cid]
            assert [
                type(x)
                for x in said
                if isinstance(x, (cc.ChatEnded, c.WriteRecord, c.SessionClosed))
            ] == [
                cc.ChatEnded,
                c.WriteRecord,
                c.SessionClosed,
            ]
            record = next(x for x in said if isinstance(x, c.WriteRecord))
            assert record.channel in ("chat", "peer_chat")
            assert not self.w.acd.holds(cid)


ChatMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestChatProperties = ChatMachine.TestCase
