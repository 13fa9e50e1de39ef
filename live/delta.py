"""Numbered changes of the live state, and who may see them.

A ``Delta`` says "this thing is now that" (or gone); ``render`` turns it into the message one
client receives. The rule is narrow on purpose: a volunteer sees their own record, the
contacts ringing for or connected with them, and the anonymous queue figures. A contact that
leaves them reaches them only as "gone": never who took it next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["agent", "contact", "queue", "reset", "transfer", "coaching", "surge"]


@dataclass(frozen=True, slots=True)
class Delta:
    """One numbered change."""

    seq: int
    """Position in the stream: each delta is one more than the last."""
    kind: Kind
    """What changed: a volunteer, a contact, the queue figures, a contact's warm transfer,
    a supervisor's coaching of a call (supervisors only), surge mode (everyone), or
    everything (``reset``)."""
    key: str
    """Agent id, contact id (for a contact and for its transfer), ``"queue"``, or ``""`` for a
    reset."""
    data: dict[str, Any] | None
    """The thing's new JSON form; ``None`` when it is gone (and for a reset, which says
    "discard what you hold and take a fresh snapshot")."""
    audience: frozenset[str] = frozenset()
    """Volunteers who may see it: the agent themself, or the volunteers a contact was or is
    with. Supervisors see everything."""
    public: bool = False
    """For everyone (queue figures, resets)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is watching: a supervisor (everything) or one volunteer."""

    agent_id: str | None = None
    """The volunteer, or ``None`` for a supervisor."""

    @classmethod
    def supervisor(cls) -> Scope:
        return cls(None)

    @classmethod
    def volunteer(cls, agent_id: str) -> Scope:
        if not agent_id:
            raise ValueError("a volunteer scope needs an agent id")
        return cls(agent_id)

    @property
    def is_supervisor(self) -> bool:
        return self.agent_id is None

    def shows_agent(self, agent_id: str) -> bool:
        return self.agent_id is None or agent_id == self.agent_id

    def shows_contact(self, data: dict[str, Any]) -> bool:
        """Whether the contact (in its JSON form) is shown in full to this scope."""
        return self.agent_id is None or data.get("agent_id") == self.agent_id


VOLUNTEER_QUEUE_KEYS = frozenset({"date", "channels"})
"""What a volunteer sees of the queue figures: waiting and today's counts per channel, not
how many colleagues are in which state or where (nothing of other volunteers)."""


def queue_for_volunteers(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: v for k, v in data.items() if k in VOLUNTEER_QUEUE_KEYS}


def message(seq: int, kind: Kind, key: str, data: dict[str, Any] | None) -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "id": key, "data": data}


def render(delta: Delta, scope: Scope) -> dict[str, Any] | None:
    """The message a client with ``scope`` receives for ``delta``, or ``None`` if none."""
    if scope.is_supervisor:
        return message(delta.seq, delta.kind, delta.key, delta.data)
    if delta.public:
        data = queue_for_volunteers(delta.data) if delta.kind == "queue" else delta.data
        return message(delta.seq, delta.kind, delta.key, data)
    assert scope.agent_id is not None
    if scope.agent_id not in delta.audience:
        return None
    if delta.kind == "agent":
        if not scope.shows_agent(delta.key):
            return None  # only the volunteer themself is ever in an agent delta's audience
        return message(delta.seq, delta.kind, delta.key, delta.data)
    if delta.kind == "transfer":
        return message(delta.seq, delta.kind, delta.key, delta.data)  # their own transfer
    if delta.kind == "contact":
        if delta.data is not None and scope.shows_contact(delta.data):
            return message(delta.seq, delta.kind, delta.key, delta.data)
        # It was theirs and is now waiting, with someone else, or over: just "gone".
        return message(delta.seq, delta.kind, delta.key, None)
    return None
