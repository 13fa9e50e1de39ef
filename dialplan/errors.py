"""The error tree of the ``dialplan`` package."""

from __future__ import annotations


class DialplanError(Exception):
    """Base of every error raised while rendering Asterisk's configuration."""


class RenderError(DialplanError):
    """A value cannot be rendered safely (it would break or inject into an Asterisk config)."""
