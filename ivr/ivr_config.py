"""Configuration of what a caller hears: the ``[ivr]`` section and a line's optional menu.

The lead wires these into ``config.settings``: ``HelplineConfig.ivr: IvrSection`` and
``Line.menu: LineMenu | None``. Like the rest of the configuration the models are frozen and
refuse unknown keys, so a typo in the TOML file is an error that names the key.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

MENU_DIGITS = frozenset("0123456789*#")
"""Keys a child can press for a menu choice."""
MAX_POSITION_PROMPT = 20
"""Highest ``position_<n>`` prompt in the catalogue."""

_LANGUAGE = re.compile(r"[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError(f"{value!r} is not a language code (like 'nl' or 'en')")
    return value


class IvrSection(_Model):
    """The ``[ivr]`` section: what every caller hears while the call is ours, not a volunteer's."""

    welcome: bool = True
    """Play the welcome before the menu and the queue."""
    comfort_every_s: float = Field(default=45.0, ge=10, le=600)
    """While waiting: stop the hold music this often to say we are still there."""
    announce_position: bool = True
    """Add the place in the queue to the comfort message, only when it improved."""
    announce_expected_wait: bool = False
    """Add the estimated wait in minutes (see ``ivr.announce``) to the comfort message."""
    max_announced_position: int = Field(default=MAX_POSITION_PROMPT, ge=1, le=MAX_POSITION_PROMPT)
    """Further back than this we say nothing about the place (a long line discourages)."""
    veilig_thuis_out_of_hours: bool = False
    """Tell callers out of hours that Veilig Thuis is reachable day and night on 0800-2000."""


class LineMenu(_Model):
    """A line's language menu ("Voor Nederlands, druk 1. For English, press 2.")."""

    options: dict[str, str] = Field(min_length=1)
    """Digit -> language, e.g. ``{"1": "nl", "2": "en"}``."""
    timeout_s: float = Field(default=5.0, gt=0, le=30)
    """How long to wait for a key after the menu; then it is repeated once."""
    default_language: str | None = None
    """Language after no or a wrong key twice; ``None`` means the line's own language."""

    @field_validator("options")
    @classmethod
    def _digits_and_languages(cls, value: dict[str, str]) -> dict[str, str]:
        for digit, language in value.items():
            if len(digit) != 1 or digit not in MENU_DIGITS:
                raise ValueError(f"menu key {digit!r} is not one of 0-9, * or #")
            _check_language(language)
        return value

    @field_validator("default_language")
    @classmethod
    def _default_is_a_language(cls, value: str | None) -> str | None:
        return None if value is None else _check_language(value)

    def language_for(self, digit: str) -> str | None:
        """The language chosen by ``digit``, or ``None`` for a key that is not an option."""
        return self.options.get(digit)

    def languages(self) -> list[str]:
        """Every language the menu offers, in key order of the file."""
        return list(dict.fromkeys(self.options.values()))
