"""The session diagram is drawn from the transition table, so it cannot drift from it."""

from __future__ import annotations

import subprocess
import sys

from session.diagram import session_diagram
from session.states import SESSION_TRANSITIONS, SessionState


def test_every_state_changing_transition_is_drawn_and_no_other():
    text = session_diagram()
    drawn = 0
    for source, row in SESSION_TRANSITIONS.items():
        for trigger, target in row.items():
            line = f"    {source.value} --> {target.value}: {trigger.value}"
            assert (line in text.splitlines()) == (source is not target)
            drawn += source is not target
    assert len(text.splitlines()) == 2 + drawn


def test_session_diagram_starts_in_the_ivr_and_every_state_is_reachable_and_can_end():
    lines = session_diagram().splitlines()
    assert lines[:2] == ["stateDiagram-v2", "    [*] --> ivr"]
    targets = {line.split("--> ")[1].split(":")[0] for line in lines[2:]}
    assert targets | {"ivr"} == {s.value for s in SessionState}
    for state in SessionState:
        if state is not SessionState.ENDED:
            assert f"    {state.value} --> " in "\n".join(lines), f"{state.value} is a dead end"


def test_python_dash_m_prints_a_mermaid_block():
    out = subprocess.run(
        [sys.executable, "-m", "session.diagram"], capture_output=True, text=True, check=True
    ).stdout
    assert "```mermaid\nstateDiagram-v2\n    [*] --> ivr\n" in out
    assert out.rstrip().endswith("```")


def test_the_readme_shows_the_generated_session_diagram():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert session_diagram() in readme


def test_the_readme_shows_the_generated_transfer_diagram():
    from pathlib import Path

    from session.diagram import transfer_diagram

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert transfer_diagram() in readme
