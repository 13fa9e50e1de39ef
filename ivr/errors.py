"""The one error tree of the ``ivr`` package: everything it raises is an ``IvrError``."""

from __future__ import annotations

from enum import Enum


class IvrError(Exception):
    """Base of every error the ``ivr`` package raises."""


class UnknownPrompt(IvrError):
    """A prompt id that is not in the catalogue, or a language with no texts for it."""


class InvalidEvent(IvrError):
    """An event is malformed (empty language, a key that is no DTMF key, ...)."""


class IllegalTransition(IvrError):
    """The event is not allowed in the call's state (see ``flow.TRANSITIONS``): an adapter bug."""

    def __init__(self, call_id: str, state: Enum, trigger: Enum) -> None:
        # Typed as Enum, not IvrState/IvrTrigger: those live in ``flow``, which imports this
        # module, and the package's modules must not import each other in a circle.
        super().__init__(f"call {call_id}: {trigger.value} is not allowed in state {state.value}")
        self.call_id = call_id
        self.state = state
        """An ``ivr.flow.IvrState``."""
        self.trigger = trigger
        """An ``ivr.flow.IvrTrigger``."""


class HoursError(IvrError):
    """Base of the opening-hours errors."""


class InvalidTime(HoursError, ValueError):
    """A naive datetime, or an interval whose end is not after its start."""
