"""The ACD core's one error tree.

Everything the core raises is an ``AcdError``. Each subclass says whose fault it is: an event
that does not fit the current state (``IllegalTransition``, ``StaleOffer``), an event naming
something the core never heard of (``UnknownAgent``, ``UnknownContact``), or input that is
malformed (``InvalidEvent``). The core validates before it changes anything, so a raised
error always leaves the state exactly as it was.
"""

from __future__ import annotations


class AcdError(Exception):
    """Base class of every error the ACD core raises."""


class InvalidEvent(AcdError):
    """An event, setting or serialised record is malformed (bad field, wrong type)."""


class UnknownAgent(AcdError):
    """An event names a volunteer that is not logged in."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"unknown agent {agent_id!r}")
        self.agent_id = agent_id


class UnknownContact(AcdError):
    """An event names a contact the core does not hold (never arrived, or already finished)."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"unknown contact {contact_id!r}")
        self.contact_id = contact_id


class DuplicateContact(AcdError):
    """A contact id arrived twice."""

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"contact {contact_id!r} already exists")
        self.contact_id = contact_id


class IllegalTransition(AcdError):
    """The event is not allowed in the entity's current state (see ``acd.states``)."""

    def __init__(self, entity: str, state: str, trigger: str) -> None:
        super().__init__(f"{entity}: {trigger} is not allowed in state {state}")
        self.entity = entity
        self.state = state
        self.trigger = trigger


class StaleOffer(AcdError):
    """An answer or failure arrived for an offer that was already withdrawn or replaced.

    This is a normal race with the outside world (the child hung up as the phone was
    answered); the adapter releases the volunteer's leg and carries on.
    """

    def __init__(self, contact_id: str, agent_id: str) -> None:
        super().__init__(f"offer of {contact_id!r} to {agent_id!r} is no longer current")
        self.contact_id = contact_id
        self.agent_id = agent_id


class NotConnected(AcdError):
    """A ``ContactReturned`` names a contact that is not (or no longer) connected to that volunteer.

    A normal race like ``StaleOffer`` (the child hung up as the volunteer's phone dropped, or
    the return was reported twice); the adapter carries on.
    """

    def __init__(self, contact_id: str, agent_id: str) -> None:
        super().__init__(f"contact {contact_id!r} is not connected to {agent_id!r}")
        self.contact_id = contact_id
        self.agent_id = agent_id


class UnknownStrategy(AcdError):
    """The configured routing strategy name is not registered."""
