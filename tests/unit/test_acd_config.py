"""The ``[queue]`` section reaches the core's settings, language wait included."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import parse_config
from helpline.service import acd_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kindertelefoon.toml"


def with_queue(extra: str) -> str:
    text = EXAMPLE.read_text()
    assert "\n[queue]\n" in text
    return text.replace("\n[queue]\n", f"\n[queue]\n{extra}\n", 1).replace(
        "\nlanguage_wait_s = 30 ", "\n# language_wait_s = 30 ", 1
    )


def test_example_config_maps_the_language_wait():
    settings = acd_settings(parse_config(EXAMPLE.read_text()))
    assert settings.language_wait_s == 30.0
    assert settings.max_wait_s == 900.0


def test_language_wait_is_configurable():
    assert acd_settings(parse_config(with_queue("language_wait_s = 12.5"))).language_wait_s == 12.5


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_language_wait_must_be_a_positive_finite_number(value):
    with pytest.raises(ConfigError, match="queue.language_wait_s"):
        parse_config(with_queue(f"language_wait_s = {value}"))
