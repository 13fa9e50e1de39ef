"""The error tree of the ``dialplan`` package."""

from __future__ import annotations


class DialplanError(Exception):
    """Base of every error the ``dialplan`` package raises."""


class RenderError(DialplanError):
    """A value cannot be rendered safely (it would break or inject into an Asterisk config)."""


class InvalidStasisArgs(DialplanError, ValueError):
    """``Stasis()`` arguments that do not follow the contract (unknown kind, wrong count, bad id).

    Also a ``ValueError``, as it always was: decoding them is parsing a value.
    """
