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
