"""Draw the contact session's transition table as a Mermaid diagram: ``python -m session.diagram``.

It reuses ``acd.diagram.mermaid``, so the README's session diagram comes from
``session.states`` the same way the ACD's come from ``acd.states`` (``acd`` stays below
``session`` and never imports it, hence a module of its own).
"""

from __future__ import annotations

from acd.diagram import mermaid
from session.coaching_states import COACHING_TRANSITIONS, CoachingState
from session.states import SESSION_TRANSITIONS, SessionState
from session.transfer import TRANSFER_TRANSITIONS, TransferState


def session_diagram() -> str:
    """The contact session's ``stateDiagram-v2`` block (self-loops left out)."""
    return mermaid(SESSION_TRANSITIONS, SessionState.IVR)


def transfer_diagram() -> str:
    """The warm transfer's ``stateDiagram-v2`` block (self-loops left out)."""
    return mermaid(TRANSFER_TRANSITIONS, TransferState.DIALING)


def coaching_diagram() -> str:
    """A supervisor's coaching's ``stateDiagram-v2`` block (self-loops left out)."""
    return mermaid(COACHING_TRANSITIONS, CoachingState.RINGING)


def main() -> None:
    print("Contact session states:\n")
    print("```mermaid")
    print(session_diagram())
    print("```")
    print("\nWarm transfer states:\n")
    print("```mermaid")
    print(transfer_diagram())
    print("```")
    print("\nCoaching states:\n")
    print("```mermaid")
    print(coaching_diagram())
    print("```")


if __name__ == "__main__":
    main()
