"""The chats' sessions, inside a step: opened, asked for things, and adopted after a restart.

A ``ChatSession`` per chat in ``chats``, beside the calls' ``sessions`` (reconciliation
with Asterisk reads only those). The web layer opens one with ``open_chat`` and passes the
child's and the volunteer's lifecycle requests with ``chat_request``, both inside a step
(``call``). Accepting and declining an offer are plain ACD events from outside
(``apply(OfferAccepted)``, ``apply(OfferFailed(REJECTED))``): a chat has no leg to answer.
Chat effects go to the effector registered for them (``add_effector``), the others to
``effector``. After a restart ``adopt_chats`` rebuilds the chats the core still holds.

Built on ``engine.dispatch``, which takes what the chat sessions answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import acd
from engine.dispatch import Dispatch
from session import chat_commands as cc
from session import chat_events as ce
from session.chat import ChatSession, ChatState
from session.errors import ChatRefused
from session.machine import QueueNews

log = logging.getLogger(__name__)


class Chats(Dispatch):
    """A ``ChatSession`` per chat, and the web layer's requests on them."""

    def open_chat(self, contact_id: str, peer: bool, language: str, line_id: str) -> cc.ChatNotice:
        """A child opened a chat: queue it and say where the child is (an estimate: the ACD
        takes the chat after this step). Raises ``ChatRefused("queue_full")`` when the chat
        queue is full and no free volunteer could take it, before anything is kept, so the
        API answers 429 and nothing lingers."""
        if contact_id in self.chats or self.acd.holds(contact_id):
            raise ChatRefused("not_allowed", "this chat is already open")
        waiting = self.acd.waiting_count(acd.Channel.CHAT)
        skills = frozenset({"peer_chat"}) if peer else frozenset[str]()
        # The ACD's own rule: a chat no free volunteer can take at once overflows when the
        # queue is full. Said here, before anything is kept, so the API answers 429.
        if waiting >= self.acd.settings.max_queue_length and not self.acd.free_for(
            acd.Channel.CHAT, skills, language
        ):
            raise ChatRefused("queue_full", "too many children are waiting; try again later")
        opened = ce.ChatOpened(contact_id, peer, language, line_id)
        session = ChatSession(opened, self.chat_timing)
        self.chats[contact_id] = session
        position = waiting + 1
        news = QueueNews(position, self.waits.expected_wait_s(position, self._serving()))
        self._chat_commands(session, session.begin(self._now, news))
        return cc.ChatNotice(contact_id, news.position, news.expected_wait_s)

    def chat_request(self, contact_id: str, event: ce.ChatEvent) -> None:
        """Apply a chat event from the web layer (the child away, back or gone; the volunteer
        closing or handing over), inside a step (``call``). Raises ``ChatRefused``; nothing
        has changed then. A hand-over is checked against the ACD first, so a colleague who
        cannot take the chat is refused here (``handoff``), not after the answer."""
        session = self.chats.get(contact_id)
        if session is None:
            raise ChatRefused("unknown_chat", "this chat is over or was never opened")
        if isinstance(event, ce.HandOff) and session.state is ChatState.TALKING:
            handed = acd.ContactHandedOver(contact_id, event.agent_id, event.to_agent_id)
            try:
                self.acd.check_hand_over(handed)
            except acd.NotConnected:
                raise ChatRefused("not_in_chat", "you are not the volunteer in this chat") from None
            except acd.AcdError as exc:
                raise ChatRefused("handoff", str(exc)) from None
        self._chat_commands(session, session.handle(event, self._now))

    def chats_of(self, agent_id: str) -> list[ChatSession]:
        """The chats the volunteer is in (for a reloaded workspace)."""
        return [
            s
            for s in self.chats.values()
            if s.state is ChatState.TALKING and s.agent_id == agent_id
        ]

    def chat_contacts(self) -> list[str]:
        """Chats the core holds that have no session (after a restart): read their metadata
        (``ChatOpened``) for ``adopt_chats``."""
        return [
            c.contact_id
            for c in self.acd.contacts()
            if c.channel is acd.Channel.CHAT and c.contact_id not in self.chats
        ]

    def adopt_chats(self, metas: Mapping[str, ce.ChatOpened]) -> list[str]:
        """After a restart, inside a step: a session for every chat the recovered core holds,
        every child counted as away from now (their sockets went with the old process), and
        the chat effector told who is in each. A chat without metadata (its keys expired)
        is ended; returns those ids."""
        lost: list[str] = []
        for contact_id in self.chat_contacts():
            meta = metas.get(contact_id)
            if meta is None or meta.contact_id != contact_id:
                lost.append(contact_id)
                self.to_acd(acd.ContactEnded(contact_id))  # recorded on the default line
                continue
            contact = self.acd.contact(contact_id)
            session = ChatSession.recover(contact, self._now, meta, self.chat_timing)
            self.chats[contact_id] = session
            self._chat_commands(session, session.announce())
        if lost:
            log.warning("%d chats had no metadata after the restart: ended", len(lost))
        return lost
