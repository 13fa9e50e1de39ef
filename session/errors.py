"""One error tree for the contact session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal


class SessionError(Exception):
    """Root of every error the contact session raises."""


class IllegalSessionTransition(SessionError):
    """An event that the session's current state does not accept (see ``session.states``)."""

    def __init__(self, contact_id: str, state: str, trigger: str) -> None:
        super().__init__(f"contact {contact_id}: {trigger!r} is not allowed in state {state!r}")
        self.state = state
        self.trigger = trigger


class UnknownLeg(SessionError):
    """An event names a leg this session does not have."""


TransferRefusal = Literal[
    "unknown_partner",
    "partner_closed",
    "transfer_in_progress",
    "no_call",
    "not_allowed",
    "no_transfer",
]
"""Why a transfer request was refused; the web layer maps each to a status (``web.errors``)."""


class TransferRefused(SessionError):
    """A transfer request (start, conference, leave, stay, cancel) that cannot be carried out
    now: an unknown or closed partner, a transfer already running, no call to transfer...

    ``message`` is for the volunteer and ``details`` are extra JSON-able fields for the API
    (e.g. ``opens_at``); neither ever holds anything about the caller.
    """

    def __init__(
        self,
        code: TransferRefusal,
        message: str,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code: TransferRefusal = code
        self.message = message
        self.details: dict[str, object] = dict(details or {})


ChatRefusal = Literal["not_allowed", "not_in_chat", "unknown_chat", "queue_full", "handoff"]
"""Why a chat request was refused: the chat's state does not allow it, the volunteer is not
the one in the chat, no such chat (over, or never opened), the queue is full, or the ACD
refused the hand-over (the colleague cannot take this chat now)."""


class ChatRefused(SessionError):
    """A chat request (``session.chat_events``) that the chat cannot carry out now.

    ``message`` is for the volunteer or the child; it never holds anything about the child.
    """

    def __init__(self, code: ChatRefusal, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ChatRefusal = code
        self.message = message


CoachingRefusal = Literal["no_call", "coaching_in_progress", "no_coaching", "not_allowed"]
"""Why a supervisor's coaching request was refused: the volunteer is not in a call, another
supervisor (or this one, on another call) is coaching already, there is no coaching to change
or stop, or the step is not possible now."""


class CoachingRefused(SessionError):
    """A supervisor's listen, whisper, barge, mode switch or stop that cannot be done now."""

    def __init__(self, code: CoachingRefusal, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: CoachingRefusal = code
        self.message = message
