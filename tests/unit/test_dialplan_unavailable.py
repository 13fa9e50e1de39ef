"""While our app is not connected, the dialplan answers the child with a spoken message."""

from __future__ import annotations

import pytest

from config.settings import HelplineConfig, parse_config
from dialplan import render_asterisk_config
from dialplan.extensions import UNAVAILABLE_CONTEXT
from ivr.flow import required_prompt_ids
from ivr.ivr_config import IvrSection
from ivr.prompt_texts import LANGUAGES, UNAVAILABLE, prompt_text
from tests.unit.test_dialplan_render import CONFIG


@pytest.fixture
def extensions() -> str:
    cfg: HelplineConfig = parse_config(CONFIG)
    return render_asterisk_config(cfg, [])["extensions.conf"]


def _extension(conf: str, context: str, exten: str) -> list[str]:
    """The applications of one extension, in priority order (``Gosub(...)``, ...)."""
    body = conf[conf.index(f"[{context}]\n") :].split("\n\n")[0]
    steps: list[str] = []
    for line in body.splitlines():
        if line.startswith(f"exten => {exten},1,"):
            steps = [line.split(",1,", 1)[1]]
        elif steps and line.startswith(" same => n,"):
            steps.append(line.removeprefix(" same => n,"))
        elif steps:
            break
    assert steps, f"no extension {exten} in [{context}]"
    return steps


def test_a_failed_stasis_goes_to_the_unavailable_message(extensions):
    for number, line_id, language in (
        ("116111", "116111", "nl"),
        ("08000432", "0800-0432", "en"),
        ("08001234", "0800-0432", "en"),
    ):
        assert _extension(extensions, "carrier", number) == [
            "Gosub(helpline-anonymise,s,1)",  # the identity is wiped first, as before
            f"Set(CHANNEL(language)={language})",  # so the message is in the line's language
            f"Stasis(helpline,inbound,{line_id})",
            f'GotoIf($["${{STASISSTATUS}}" = "FAILED"]?{UNAVAILABLE_CONTEXT},s,1)',
            "Hangup()",  # the app let go of the call: it is over
        ]


def test_the_unavailable_message_answers_plays_and_hangs_up_cleanly(extensions):
    steps = _extension(extensions, UNAVAILABLE_CONTEXT, "s")
    assert steps[0] == "Answer()"  # a 200 OK, never a bare 603
    assert f"Playback(helpline/{UNAVAILABLE})" in steps
    assert steps.index("Answer()") < steps.index(f"Playback(helpline/{UNAVAILABLE})")
    assert steps[-1] == "Hangup()"  # normal clearing, no error cause
    assert not any(s.startswith(("Dial(", "Stasis(", "Set(CALLERID")) for s in steps)


def test_the_message_is_a_required_prompt_in_every_language():
    for settings in (IvrSection(), IvrSection(welcome=False, announce_position=False)):
        assert UNAVAILABLE in required_prompt_ids(settings, [None])
    for language in LANGUAGES:
        text = prompt_text(UNAVAILABLE, language).text
        assert "1 1 2" in text  # the emergency number, digit by digit
        assert ("minuut" if language == "nl" else "minute") in text
