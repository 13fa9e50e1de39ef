from pathlib import Path

from acd.diagram import mermaid
from acd.states import AGENT_TRANSITIONS, CONTACT_TRANSITIONS, AgentState, ContactState


def test_every_state_changing_transition_is_drawn():
    text = mermaid(AGENT_TRANSITIONS, AgentState.LOGGED_OUT)
    for source, row in AGENT_TRANSITIONS.items():
        for trigger, target in row.items():
            line = f"{source.value} --> {target.value}: {trigger.value}"
            assert (line in text) == (source is not target)


def test_contact_diagram_starts_queued_and_reaches_every_outcome():
    text = mermaid(CONTACT_TRANSITIONS, ContactState.QUEUED)
    assert text.splitlines()[1] == "    [*] --> queued"
    for outcome in ("answered", "abandoned", "overflowed"):
        assert f"--> {outcome}:" in text


def test_a_returned_contact_is_drawn_back_to_the_queue():
    text = mermaid(CONTACT_TRANSITIONS, ContactState.QUEUED)
    assert "    connected --> queued: return" in text.splitlines()


def test_the_readme_shows_the_generated_diagrams():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert mermaid(AGENT_TRANSITIONS, AgentState.LOGGED_OUT) in readme
    assert mermaid(CONTACT_TRANSITIONS, ContactState.QUEUED) in readme
