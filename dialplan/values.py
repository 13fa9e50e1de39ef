"""Guarding values that go into Asterisk config files."""

from __future__ import annotations

from dialplan.errors import RenderError

# A newline would start a new option (or section); ';' starts a comment in every Asterisk
# config file, so a password containing it would be silently truncated.
_FORBIDDEN = frozenset("\r\n;\x00")


def conf_value(value: object) -> str:
    """``value`` as text for the right-hand side of ``key=value``; refuse anything that could
    break out of the line or be cut by a comment."""
    text = str(value)
    if any(ch in _FORBIDDEN for ch in text) or text != text.strip():
        raise RenderError(f"value {text!r} cannot be written into an Asterisk config")
    if not text:
        raise RenderError("empty value")
    return text
