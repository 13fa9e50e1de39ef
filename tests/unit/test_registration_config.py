"""``[registration]`` and ``[workspace]``: built-in lists, overrides, labels per language, notes."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.registration import (
    BUILTIN_TOPICS,
    CHOICE_ID,
    DEFAULT_PAUSE_REASONS,
    RegistrationSection,
)
from config.settings import HelplineConfig, parse_config
from tests.unit.web_support import CONFIG


def config(extra: str = "") -> HelplineConfig:
    return parse_config(CONFIG.format(admin="") + "\n" + extra)


def test_the_built_in_lists():
    cfg = config()
    reg = cfg.registration
    assert [c.id for c in reg.contact_types] == [
        "conversation", "silent", "test_or_prank", "abusive", "hung_up", "information_request",
    ]  # fmt: skip
    assert [c.id for c in reg.age_bands] == [
        "under_8", "8_11", "12_14", "15_17", "18_plus", "unknown",
    ]  # fmt: skip
    assert [c.id for c in reg.genders] == ["girl", "boy", "non_binary", "unknown"]
    top = [t.id for t in reg.topics]
    assert top[:2] == ["violence", "mental_health"] and top[-1] == "other"
    for category in (
        "family", "peers_and_relationships", "school_and_education",
        "sexuality_and_sexual_health", "physical_health", "substance_use", "discrimination",
        "legal_and_rights", "basic_needs",
    ):  # fmt: skip
        assert category in top
    violence = {c.id for c in reg.topics[0].children}
    assert {"physical", "emotional", "sexual", "neglect", "bullying"} <= violence
    assert {"domestic_violence_witnessed", "online"} <= violence
    mental = {c.id for c in reg.topics[1].children}
    assert {"anxiety", "depression", "self_harm", "suicidal_thoughts", "eating"} <= mental
    assert reg.notes_enabled is False and reg.retention_days is None
    assert reg.window_min == 30
    assert cfg.workspace.languages == ["nl", "en"]
    assert cfg.workspace.pause_reason_ids() == DEFAULT_PAUSE_REASONS
    assert DEFAULT_PAUSE_REASONS == ("break", "training", "meeting", "admin", "other")


def test_every_built_in_choice_has_a_dutch_and_an_english_label_and_a_plain_id():
    for _, choice in RegistrationSection().choices():
        assert set(choice.labels) == {"nl", "en"}, choice.id
        assert CHOICE_ID.fullmatch(choice.id)


def test_topic_ids_qualify_sub_categories_and_map_them_to_their_category():
    ids = RegistrationSection().topic_ids()
    assert ids["violence"] == "violence"
    assert ids["violence.physical"] == "violence"
    assert ids["mental_health.suicidal_thoughts"] == "mental_health"
    assert ids["violence.other"] == "violence" and ids["other"] == "other"
    assert "physical" not in ids  # a sub-category only with its category
    assert len(ids) == len(BUILTIN_TOPICS) + sum(len(t.children) for t in BUILTIN_TOPICS)


def test_a_list_may_name_built_in_entries_by_id_and_add_its_own():
    cfg = config(
        """
[registration]
contact_types = ["conversation", "silent", { id = "chat_bot", labels = { nl = "Chatbot", en = "Chat bot" } }]
topics = ["violence", { id = "gaming", labels = { nl = "Gamen", en = "Gaming" }, children = [
    { id = "addiction", labels = { nl = "Verslaving", en = "Addiction" } } ] }]

[workspace]
pause_reasons = ["break", { id = "debrief", labels = { nl = "Nabespreking", en = "Debrief" } }]
"""  # noqa: E501
    )
    reg = cfg.registration
    assert [c.id for c in reg.contact_types] == ["conversation", "silent", "chat_bot"]
    assert reg.contact_types[0].label("nl") == "Gesprek"
    assert reg.topic_ids()["gaming.addiction"] == "gaming"
    assert "violence.physical" in reg.topic_ids()  # a built-in keeps its sub-categories
    assert cfg.workspace.pause_reason_ids() == ("break", "debrief")
    assert reg.age_bands[0].id == "under_8"  # lists not named keep their defaults


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[registration]\ncontact_types = ["chat_bot"]', "'chat_bot' is not built in"),
        ('[registration]\ngenders = ["girl", "girl"]', "'girl' appears twice"),
        ("[registration]\ngenders = []", "registration.genders: List should have at least 1"),
        (
            '[registration]\nage_bands = [{ id = "Under 8", labels = { nl = "x", en = "x" } }]',
            "registration.age_bands[0].id: Value error, use 1-32 of a-z 0-9 _",
        ),
        (
            '[registration]\nage_bands = [{ id = "a.b", labels = { nl = "x", en = "x" } }]',
            "use 1-32 of a-z 0-9 _",
        ),
        ("[registration]\nnotes_enabled = true", "notes_retention_days: required (1-365)"),
        ("[registration]\nnotes_enabled = true\nnotes_retention_days = 0", "greater than or"),
        ("[registration]\nnotes_enabled = true\nnotes_retention_days = 366", "less than or"),
        ("[registration]\nwindow_min = 0", "registration.window_min"),
        ("[registration]\nfree_text = true", "registration.free_text: Extra inputs"),
        (
            '[registration]\ncontact_types = [{ id = "x", labels = { nl = "Iets" } }]',
            "registration.contact_types[0] (x): no label in en",
        ),
        (
            '[registration]\ncontact_types = [{ id = "x", labels = { nl = "", en = "y" } }]',
            "nl: a label is 1-100 characters",
        ),
        (
            '[workspace]\nlanguages = ["nl", "en", "de"]',
            "registration.contact_types[0] (conversation): no label in de",
        ),
        ('[workspace]\nlanguages = ["NL"]', "'NL' is not a language code"),
        ('[workspace]\npause_reasons = ["lunch"]', "'lunch' is not built in"),
        (
            '[workspace]\npause_reasons = [{ id = "x", labels = { nl = "x" } }]',
            "workspace.pause_reasons[0] (x): no label in en",
        ),
    ],
)
def test_a_bad_section_is_refused_naming_the_key(toml, message):
    with pytest.raises(ConfigError) as err:
        config(toml)
    assert message in str(err.value)


def test_notes_enabled_with_a_retention():
    reg = config("[registration]\nnotes_enabled = true\nnotes_retention_days = 14").registration
    assert reg.notes_enabled and reg.retention_days == 14
    # A retention without notes is kept but means nothing: no note is ever stored.
    off = config("[registration]\nnotes_retention_days = 14").registration
    assert off.retention_days is None


def test_the_readme_lists_the_built_in_topics():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    listed: dict[str, list[str]] = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`") or "category" in cells[0]:
            continue
        children = [c.strip(" `") for c in cells[1].split(",")] if "`" in cells[1] else []
        for category in cells[0].split(","):
            listed[category.strip(" `")] = children
    built_in = {t.id: [c.id for c in t.children] for t in BUILTIN_TOPICS}
    assert {k: v for k, v in listed.items() if k in built_in} == built_in
