"""The chat adapter's errors: one root, mapped to HTTP by ``web.errors``."""

from __future__ import annotations


class ChatError(Exception):
    """Base of every error the chat package raises."""


class ChatUnavailable(ChatError):
    """The chat's store (Redis) or engine cannot be reached now: not the child's fault (503)."""


class ChatClosed(ChatError):
    """The chat is closed now (out of hours, or switched off): 409 ``closed``."""

    def __init__(self, opens_at: str | None = None) -> None:
        super().__init__("the chat is closed now")
        self.opens_at = opens_at


class ChatQueueFull(ChatError):
    """Too many children wait already: 429, try again later."""


class ChatConflict(ChatError):
    """The engine refused a chat request (no such chat, not yours, wrong state): 409 or 404.

    ``code`` is the engine's (``session.errors.ChatRefused``); ``message`` is safe to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
