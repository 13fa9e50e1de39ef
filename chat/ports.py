"""What the hub and the web layer need of the engine, as small Protocols.

The composition root passes ``helpline.chat_gateway.EngineChats``, which carries each call
into the engine's single writer. Lifecycle facts only: messages never go through the writer.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from acd.record import record


@record
class ChatStatus:
    """Whether a child can open a chat now."""

    open: bool
    """The chat line's chat hours are open now."""
    opens_at: str | None
    """ISO 8601 time of the next opening when closed (None: open, or unknown)."""
    peer_open: bool
    """A peer chat can be had now (open, and a young volunteer is signed in)."""


@record
class QueueNotice:
    """Where a waiting child stands."""

    position: int
    """1: next."""
    wait_s: float | None
    """The expected wait, when the queue can tell."""


class ChildPresence(Protocol):
    """What the hub tells the engine about the child's sockets. None of these blocks: the
    call is queued for the writer, and a refusal (the chat ended meanwhile) is only logged."""

    def child_away(self, chat_id: str) -> None:
        """The chat's last child socket closed (the grace starts)."""
        ...

    def child_back(self, chat_id: str) -> None:
        """A child socket is open again (also the first one after a restart)."""
        ...

    def child_left(self, chat_id: str) -> None:
        """The child ended the chat (end button, quick exit)."""
        ...


class ChatControl(ChildPresence, Protocol):
    """The engine's chat requests, for the web layer. ``chat.errors`` say why not:
    ``ChatClosed``, ``ChatQueueFull``, ``ChatConflict`` (the engine's refusal),
    ``ChatUnavailable`` (not served here now)."""

    def serving(self) -> bool:
        """Whether this process serves the queue (a standby's chat sockets are refused)."""
        ...

    def status(self, now: float) -> ChatStatus: ...

    async def open_chat(self, chat_id: str, peer: bool, language: str, line_id: str) -> QueueNotice:
        """Queue a new chat; where the child stands."""
        ...

    async def accept(self, agent_id: str, chat_id: str) -> None:
        """The volunteer takes the chat offered to them."""
        ...

    async def decline(self, agent_id: str, chat_id: str) -> None: ...

    async def end(self, agent_id: str, chat_id: str, block: bool) -> None:
        """The volunteer ends the chat they hold (and blocks the child's token if asked)."""
        ...

    async def handoff(self, agent_id: str, chat_id: str, to_agent_id: str, note: str) -> None:
        """Warm hand-over to a colleague who can take the chat now."""
        ...

    def chats_of(self, agent_id: str) -> list[str]:
        """The chats the volunteer holds now (from the live view)."""
        ...


class SurveyCounts(Protocol):
    """Where the survey's answers are counted (``storage.chat_survey.ChatSurveyCounts``).
    Blocking (SQL): called off the event loop."""

    def add(self, day: date, channel: str, answers: dict[str, str]) -> None:
        """Count one answer per question for ``day`` and ``channel`` (chat, peer_chat)."""
        ...
