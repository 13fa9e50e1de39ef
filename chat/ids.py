"""The chat's ids and the child's token: random, and nothing else about the child.

The child holds a token (``new_token``) that nobody else sees; Redis keys carry only
``token_hmac(key, token)``, so a Redis dump holds nothing that opens or resumes a chat.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CHAT_ID = re.compile(r"chat-[0-9a-f]{32}")
"""``chat-`` and 128 random bits in hex: the contact id of a chat."""

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
"""``secrets.token_urlsafe(32)``: 43 URL-safe base64 characters."""


def new_chat_id() -> str:
    return "chat-" + secrets.token_hex(16)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_chat_id(value: object) -> bool:
    return isinstance(value, str) and CHAT_ID.fullmatch(value) is not None


def is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN.fullmatch(value) is not None


def token_hmac(key: str, token: str) -> str:
    """HMAC-SHA256 of the token under the configured key, in hex: what Redis keys carry."""
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()
