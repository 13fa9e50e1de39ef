"""One error tree for the engine."""

from __future__ import annotations


class EngineError(Exception):
    """Root of the engine's own errors."""


class EngineStopped(EngineError):
    """The engine stopped on purpose: its journal failed or its lease was lost.

    Never "logged and carried on": the in-memory core may be ahead of the journal, so this
    process must not act on it any more; a standby takes over from the journal.
    """
