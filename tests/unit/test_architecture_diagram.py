"""The README's architecture picture is the one the code draws."""

from __future__ import annotations

from pathlib import Path

from ari_app.diagram import flowchart
from ari_app.router import AriRouter
from session.commands import EFFECT_TYPES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_shows_the_generated_flowchart():
    assert flowchart() in README.read_text()


def test_every_routed_event_and_every_effect_is_drawn():
    text = flowchart()
    for kind in (*AriRouter.input_types, *EFFECT_TYPES):
        assert kind.__name__ in text
