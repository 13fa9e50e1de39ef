"""One error tree for the contact session."""

from __future__ import annotations


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
