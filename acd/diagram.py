"""Draw the transition tables as Mermaid state diagrams: ``python -m acd.diagram``.

The diagrams in the README are generated from ``acd.states``, so they cannot drift from the
code.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from acd.states import AGENT_TRANSITIONS, CONTACT_TRANSITIONS, AgentState, ContactState

S = TypeVar("S", bound=Enum)
T = TypeVar("T", bound=Enum)


def mermaid(table: Mapping[S, Mapping[T, S]], start: S) -> str:
    """One ``stateDiagram-v2`` block; self-loops are left out to keep it readable."""
    lines = ["stateDiagram-v2", f"    [*] --> {start.value}"]
    for source, row in table.items():
        for trigger, target in row.items():
            if target is not source:
                lines.append(f"    {source.value} --> {target.value}: {trigger.value}")
    return "\n".join(lines)


def main() -> None:
    print("Volunteer (agent) states:\n")
    print("```mermaid")
    print(mermaid(AGENT_TRANSITIONS, AgentState.LOGGED_OUT))
    print("```\n\nContact states:\n")
    print("```mermaid")
    print(mermaid(CONTACT_TRANSITIONS, ContactState.QUEUED))
    print("```")


if __name__ == "__main__":
    main()
