"""What a chat session asks the chat effector (``chat.effector``) to do.

Besides these it uses ``session.commands.ToAcd``, ``WriteRecord`` and ``SessionClosed``,
which are the engine's. Each names the chat, never anything about the child.
"""

from __future__ import annotations

from acd.record import record


@record
class ChatNotice:
    """Tell the waiting child where they are in the queue."""

    contact_id: str
    """The chat."""
    position: int
    """1-based place among waiting chats."""
    wait_s: float | None
    """Expected wait, if it can be estimated."""


@record
class ChatJoined:
    """This volunteer is now the one in the chat: relay to and from them."""

    contact_id: str
    """The chat."""
    agent_id: str
    """The volunteer."""
    note: str | None = None
    """A hand-over's note, for this volunteer only; ``None`` when not handed over."""


@record
class ChatLeftBy:
    """This volunteer is no longer in the chat (handed it over): stop relaying to them."""

    contact_id: str
    """The chat."""
    agent_id: str
    """The volunteer who left."""


@record
class ChatEnded:
    """The chat is over: tell both sides, close the child's sockets, end the transcript."""

    contact_id: str
    """The chat."""
    by: str
    """``child``, ``volunteer``, ``away`` (grace ran out), ``overflow`` or ``closed`` (ended
    by the helpline itself: out of hours, lost in a restart, ended from outside)."""
    block: bool = False
    """Block the child's token (the volunteer asked)."""


ChatEffect = ChatNotice | ChatJoined | ChatLeftBy | ChatEnded

CHAT_EFFECT_TYPES: tuple[type, ...] = (ChatNotice, ChatJoined, ChatLeftBy, ChatEnded)
"""What ``Engine.add_effector`` routes to the chat effector."""
