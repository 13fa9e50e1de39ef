"""The ``[chat]`` section: off by default, a token key when on, canned texts in every chat
language, the chat's line and languages among the configured ones, URLs of printable ASCII."""

from __future__ import annotations

import pytest

from config.chat import ChatSection
from config.errors import ConfigError
from config.known_defaults import default_secrets
from config.settings import parse_config
from tests.unit.web_support import CONFIG, make_config

KEY = "a-chat-token-key-0123456789"


def _with_chat(section: str) -> str:
    base = CONFIG.format(admin="")
    start = base.index("[chat]")
    end = base.index("[http]")
    return base[:start] + section + "\n" + base[end:]


def test_the_chat_is_off_unless_enabled_and_needs_a_key_then():
    assert ChatSection().enabled is False
    with pytest.raises(ValueError, match="token_key is required"):
        ChatSection(enabled=True)
    assert ChatSection(enabled=True, token_key=KEY).block_s == 24 * 3600


def test_the_test_config_has_a_chat_with_canned_texts():
    chat = make_config().chat
    assert chat.enabled and chat.line == "116111"
    assert [c["id"] for c in chat.canned_in("nl")] == ["forum", "emergency"]
    assert chat.canned_in("de")[0]["text"] == "Kijk op ons forum."  # the first language's


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (f'[chat]\nenabled = true\nline = "nope"\ntoken_key = "{KEY}"', "chat.line"),
        (
            f'[chat]\nenabled = true\nlanguages = ["nl", "fr"]\ntoken_key = "{KEY}"',
            "chat.languages",
        ),
        ('[chat]\nenabled = true\ntoken_key = "short"', "token_key"),
        (
            f'[chat]\nenabled = true\ntoken_key = "{KEY}"\nforum_url = "javascript:alert(1)"',
            "forum_url",
        ),
        (f'[chat]\nenabled = true\ntoken_key = "{KEY}"\ngrace_s = 0', "grace_s"),
        (
            f'[chat]\nenabled = true\ntoken_key = "{KEY}"\n[[chat.canned]]\nid = "x"\n'
            'label = { nl = "X" }\ntext = { nl = "alleen Nederlands" }',
            "no 'en' text",
        ),
        (f'[chat]\nenabled = true\ntoken_key = "{KEY}"\nretention_days = -1', "retention_days"),
    ],
)
def test_a_bad_chat_section_is_refused_naming_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(_with_chat(section))


def test_a_known_or_unfilled_token_key_counts_as_a_default_secret():
    cfg = parse_config(_with_chat('[chat]\nenabled = true\ntoken_key = "${HELPLINE_CHAT_SECRET}"'))
    assert "chat.token_key" in default_secrets(cfg)
    cfg = parse_config(_with_chat(f'[chat]\nenabled = true\ntoken_key = "{KEY}"'))
    assert "chat.token_key" not in default_secrets(cfg)
