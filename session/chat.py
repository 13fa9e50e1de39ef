"""One chat's lifecycle: queued, offered, talking, child away (grace), handed over, ended.

Sans-IO like ``session.machine``: events in, commands out, ``now`` passed in. The session
owns only the lifecycle; the chat hub relays the messages and learns who is in the chat from
this session's ``ChatJoined`` / ``ChatLeftBy`` / ``ChatEnded`` (``session.chat_commands``).

``TRANSITIONS[state][event type] -> state``: a pair missing from the table is refused with
``ChatRefused("not_allowed")`` and changes nothing. Beside the state, ``child_away_since``
says the child's sockets are all closed: ``grace_s`` later the chat ends (``GraceOver``).

Ending: the child, the volunteer or the grace timer ask the ACD to end the contact
(``ContactEnded``); the chat is ``ENDING`` until the ACD's ``ContactFinished`` arrives, and
then says ``ChatEnded``, ``WriteRecord`` and ``SessionClosed``, each exactly once. An
overflow says ``ChatEnded`` at once (the child reads the forum / 112 message) and the rest
with the ACD's account that follows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import acd
from acd.model import Contact
from session import chat_commands as cc
from session import chat_events as ce
from session import commands as c
from session import events as e
from session.errors import ChatRefused
from session.machine import QueueNews

Commands = list[Any]
"""``session.commands`` (``ToAcd``, ``WriteRecord``, ``SessionClosed``) and
``session.chat_commands``."""


class ChatState(str, Enum):
    """Where a chat is."""

    QUEUED = "queued"
    """Waiting for a volunteer; the child hears their place every ``queue_notice_s``."""
    OFFERED = "offered"
    """Offered to a volunteer's workspace (or back in the queue after a declined offer: the
    ACD says nothing then, and the queue notices tell the difference)."""
    TALKING = "talking"
    """A volunteer is in the chat."""
    ENDING = "ending"
    """Asked the ACD to end it; waiting for its account (``AcdFinished``)."""
    ENDED = "ended"
    """Over: ``ChatEnded``, ``WriteRecord`` and ``SessionClosed`` said."""


S = ChatState

TRANSITIONS: dict[ChatState, dict[type, ChatState]] = {
    S.QUEUED: {
        e.AcdOffer: S.OFFERED,
        e.AcdWithdraw: S.QUEUED,
        e.AcdOverflow: S.ENDING,
        e.AcdFinished: S.ENDED,
        e.AcdRefused: S.ENDED,  # only ContactArrived can be refused here: nothing to wait for
        ce.ChildAway: S.QUEUED,
        ce.ChildBack: S.QUEUED,
        ce.ChildLeft: S.ENDING,
        ce.GraceOver: S.ENDING,
    },
    S.OFFERED: {
        e.AcdOffer: S.OFFERED,  # declined (no withdraw), then offered to the next volunteer
        e.AcdWithdraw: S.QUEUED,
        e.AcdConnect: S.TALKING,
        e.AcdOverflow: S.ENDING,
        e.AcdFinished: S.ENDED,
        ce.ChildAway: S.OFFERED,
        ce.ChildBack: S.OFFERED,
        ce.ChildLeft: S.ENDING,
        ce.GraceOver: S.ENDING,
    },
    S.TALKING: {
        e.AcdConnect: S.TALKING,  # the colleague of a hand-over
        e.AcdFinished: S.ENDED,
        e.AcdRefused: S.TALKING,  # a hand-over the ACD refused after all
        ce.ChildAway: S.TALKING,
        ce.ChildBack: S.TALKING,
        ce.ChildLeft: S.ENDING,
        ce.VolunteerClosed: S.ENDING,
        ce.HandOff: S.TALKING,
        ce.GraceOver: S.ENDING,
    },
    # News that crossed our ContactEnded changes nothing; the ACD's account ends the chat.
    S.ENDING: {
        e.AcdOffer: S.ENDING,
        e.AcdWithdraw: S.ENDING,
        e.AcdConnect: S.ENDING,
        e.AcdOverflow: S.ENDING,
        e.AcdFinished: S.ENDED,
        e.AcdRefused: S.ENDED,  # the ACD no longer holds it: nothing more will come
        ce.ChildAway: S.ENDING,
        ce.ChildBack: S.ENDING,
        ce.ChildLeft: S.ENDING,
        ce.VolunteerClosed: S.ENDING,
    },
    S.ENDED: {},
}


def next_chat_state(state: ChatState, event: object) -> ChatState:
    """The state after ``event``; ``ChatRefused("not_allowed")`` if the table has none."""
    try:
        return TRANSITIONS[state][type(event)]
    except KeyError:
        raise ChatRefused(
            "not_allowed", f"{type(event).__name__} is not possible while the chat is {state.value}"
        ) from None


@dataclass(frozen=True, slots=True)
class ChatTiming:
    """The chat's timers (``[chat]`` in the configuration)."""

    grace_s: float = 120.0
    """The child away (every socket closed) this long ends the chat."""
    queue_notice_s: float = 5.0
    """How often the waiting child hears their place and expected wait."""


class ChatSession:
    """The lifecycle of one chat, from opening to its record."""

    def __init__(
        self,
        opened: ce.ChatOpened,
        timing: ChatTiming | None = None,
        *,
        state: ChatState = ChatState.QUEUED,
    ) -> None:
        self.opened = opened
        self.contact_id = opened.contact_id
        self.line_id = opened.line_id
        self.language = opened.language
        self.timing = timing or ChatTiming()
        self.state = state
        self.history: list[ChatState] = [state]
        """Every state the chat was in, in order (for tests and diagnostics)."""
        self.agent_id: str | None = None
        """The volunteer in the chat (TALKING), or the last one (ENDING, ENDED)."""
        self.offered_to: str | None = None
        """The volunteer it is offered to (OFFERED)."""
        self.child_away_since: float | None = None
        """When the child's last socket closed, while none is open; grace ends at
        ``child_away_since + grace_s``."""
        self.ending_by: str | None = None
        """Who or what ends it: the ``by`` of ``ChatEnded``."""
        self.block = False
        self.handing_to: tuple[str, str] | None = None
        """(colleague, note) of a hand-over the ACD has not answered yet."""
        self.next_notice_at: float | None = None
        self.ended_said = False

    # ------------------------------------------------------------------ public API

    @property
    def channel_label(self) -> str:
        """The record's channel: ``peer_chat`` or ``chat``."""
        return "peer_chat" if self.opened.peer else "chat"

    @property
    def closed(self) -> bool:
        return self.state is ChatState.ENDED

    def begin(self, now: float, news: QueueNews | None = None) -> Commands:
        """The child opened the chat: queue it at the ACD, tell the child where they are
        (``news`` is the engine's estimate: the ACD has not seen the chat yet)."""
        skills = frozenset({"peer_chat"}) if self.opened.peer else frozenset[str]()
        arrived = acd.ContactArrived(
            self.contact_id, acd.Channel.CHAT, skills=skills, language=self.opened.language
        )
        self.next_notice_at = now + self.timing.queue_notice_s
        out: Commands = [c.ToAcd(arrived)]
        if news is not None:
            out.append(cc.ChatNotice(self.contact_id, news.position, news.expected_wait_s))
        return out

    @classmethod
    def recover(
        cls, contact: Contact, now: float, meta: ce.ChatOpened, timing: ChatTiming | None = None
    ) -> ChatSession:
        """The session of a chat the ACD held when the engine restarted. Every child counts
        as away from ``now`` (their sockets went with the old process): one who does not
        come back within the grace time ends as ``away``."""
        state = {
            acd.ContactState.QUEUED: ChatState.QUEUED,
            acd.ContactState.OFFERED: ChatState.OFFERED,
            acd.ContactState.CONNECTED: ChatState.TALKING,
        }[contact.state]
        session = cls(meta, timing, state=state)
        if state is ChatState.TALKING:
            session.agent_id = contact.agent_id
        elif state is ChatState.OFFERED:
            session.offered_to = contact.agent_id
        session.child_away_since = now
        session.next_notice_at = now + session.timing.queue_notice_s
        return session

    def announce(self) -> Commands:
        """What the chat effector must know of a recovered chat: who is in it."""
        if self.state is ChatState.TALKING and self.agent_id is not None:
            return [cc.ChatJoined(self.contact_id, self.agent_id, None)]
        return []

    def handle(self, event: ce.Event, now: float) -> Commands:
        """Apply one event; return its commands. ``ChatRefused`` changes nothing."""
        out: Commands = []
        if self.state is ChatState.ENDED and not isinstance(event, ce.ChatEvent):
            return out  # late news from the ACD about a finished chat
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise ChatRefused("not_allowed", f"not a chat event: {type(event).__name__}")
        new = next_chat_state(self.state, event)
        handler(self, event, now, out)
        self._move(new)
        return out

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called: grace, or the next queue notice."""
        if self.state in (ChatState.ENDING, ChatState.ENDED):
            return None
        due: list[float] = []
        if self.child_away_since is not None:
            due.append(self.child_away_since + self.timing.grace_s)
        if self.state is not ChatState.TALKING and self.next_notice_at is not None:
            due.append(self.next_notice_at)
        return min(due, default=None)

    def handle_timer(self, now: float, news: QueueNews | None = None) -> Commands:
        """Fire what is due at ``now``; ``news`` is the chat's place in the queue if waiting."""
        if self.state in (ChatState.ENDING, ChatState.ENDED):
            return []
        away = self.child_away_since
        if away is not None and now >= away + self.timing.grace_s:
            return self.handle(ce.GraceOver(), now)
        out: Commands = []
        if (
            self.state is not ChatState.TALKING
            and self.next_notice_at is not None
            and now >= self.next_notice_at
        ):
            self.next_notice_at = now + self.timing.queue_notice_s
            if news is not None:  # None: offered right now, no place in the queue
                out.append(cc.ChatNotice(self.contact_id, news.position, news.expected_wait_s))
        return out

    # ------------------------------------------------------------------ handlers

    def _on_offer(self, ev: e.AcdOffer, now: float, out: Commands) -> None:
        if self.state is not ChatState.ENDING:
            self.offered_to = ev.agent_id  # the workspace sees the offer on the live bus

    def _on_withdraw(self, ev: e.AcdWithdraw, now: float, out: Commands) -> None:
        self.offered_to = None

    def _on_connect(self, ev: e.AcdConnect, now: float, out: Commands) -> None:
        if self.state is ChatState.ENDING:
            return  # connected as the child left: the ACD's account follows our ContactEnded
        old = self.agent_id if self.state is ChatState.TALKING else None
        if old == ev.agent_id:
            return
        note: str | None = None
        if self.handing_to is not None and self.handing_to[0] == ev.agent_id:
            note = self.handing_to[1]
        self.handing_to = None
        self.offered_to = None
        if old is not None:
            out.append(cc.ChatLeftBy(self.contact_id, old))  # never two volunteers at once
        self.agent_id = ev.agent_id
        out.append(cc.ChatJoined(self.contact_id, ev.agent_id, note))

    def _on_overflow(self, ev: e.AcdOverflow, now: float, out: Commands) -> None:
        if self.state is ChatState.ENDING:
            return  # the maximum wait fired just before our ContactEnded: the ACD finishes it
        self.ending_by = "overflow"
        self._say_ended(out)

    def _on_finished(self, ev: e.AcdFinished, now: float, out: Commands) -> None:
        self._say_ended(out)
        language = ev.done.language or self.language
        out.append(c.WriteRecord(ev.done, self.line_id, language, channel=self.channel_label))
        out.append(c.SessionClosed(self.contact_id))

    def _on_refused(self, ev: e.AcdRefused, now: float, out: Commands) -> None:
        if isinstance(ev.event, acd.ContactHandedOver):
            self.handing_to = None  # the colleague could not take it after all
            return
        # Our ContactArrived or ContactEnded: the ACD does not hold this chat, so no account
        # will come and no record is ours to write.
        self._say_ended(out)
        out.append(c.SessionClosed(self.contact_id))

    def _on_child_away(self, ev: ce.ChildAway, now: float, out: Commands) -> None:
        if self.state is not ChatState.ENDING and self.child_away_since is None:
            self.child_away_since = now

    def _on_child_back(self, ev: ce.ChildBack, now: float, out: Commands) -> None:
        self.child_away_since = None

    def _on_child_left(self, ev: ce.ChildLeft, now: float, out: Commands) -> None:
        if self.state is not ChatState.ENDING:
            self._end("child", out)

    def _on_grace_over(self, ev: ce.GraceOver, now: float, out: Commands) -> None:
        self._end("away", out)

    def _on_volunteer_closed(self, ev: ce.VolunteerClosed, now: float, out: Commands) -> None:
        if self.state is ChatState.ENDING:
            return  # the child left first, or a double click
        self._check_volunteer(ev.agent_id)
        self.block = ev.block
        self._end("volunteer", out)

    def _on_hand_off(self, ev: ce.HandOff, now: float, out: Commands) -> None:
        self._check_volunteer(ev.agent_id)
        if ev.to_agent_id == ev.agent_id:
            raise ChatRefused("handoff", "hand the chat to a colleague, not to yourself")
        if self.handing_to is not None:
            raise ChatRefused("handoff", "a hand-over of this chat is already under way")
        self.handing_to = (ev.to_agent_id, ev.note)
        handed = acd.ContactHandedOver(self.contact_id, ev.agent_id, ev.to_agent_id)
        out.append(c.ToAcd(handed))

    # ------------------------------------------------------------------ helpers

    def _check_volunteer(self, agent_id: str) -> None:
        if agent_id != self.agent_id:
            raise ChatRefused("not_in_chat", "you are not the volunteer in this chat")

    def _end(self, by: str, out: Commands) -> None:
        self.ending_by = by
        self.child_away_since = None
        self.handing_to = None
        out.append(c.ToAcd(acd.ContactEnded(self.contact_id)))

    def _say_ended(self, out: Commands) -> None:
        if not self.ended_said:
            self.ended_said = True
            by = self.ending_by or "closed"  # ended from outside (not by us): the helpline's
            out.append(cc.ChatEnded(self.contact_id, by, self.block))

    def _move(self, new: ChatState) -> None:
        if new is not self.state:
            self.state = new
            self.history.append(new)


_HANDLERS: dict[type, Callable[[ChatSession, Any, float, Commands], None]] = {
    e.AcdOffer: ChatSession._on_offer,
    e.AcdWithdraw: ChatSession._on_withdraw,
    e.AcdConnect: ChatSession._on_connect,
    e.AcdOverflow: ChatSession._on_overflow,
    e.AcdFinished: ChatSession._on_finished,
    e.AcdRefused: ChatSession._on_refused,
    ce.ChildAway: ChatSession._on_child_away,
    ce.ChildBack: ChatSession._on_child_back,
    ce.ChildLeft: ChatSession._on_child_left,
    ce.GraceOver: ChatSession._on_grace_over,
    ce.VolunteerClosed: ChatSession._on_volunteer_closed,
    ce.HandOff: ChatSession._on_hand_off,
}
