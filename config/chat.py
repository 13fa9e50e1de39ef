"""The ``[chat]`` section: the children's web chat (issue 12).

A chat is an ACD contact on the line named by ``line`` (whose ``chat_schedule``, else
``schedule``, opens it). Nothing about the child is kept but a random chat id and the
transcript, in Redis under a TTL; the child's token is stored only as an HMAC under
``token_key``, a secret generated like the others (``${HELPLINE_CHAT_SECRET}``).

Canned texts are what a volunteer can send with one click (the forum, 112, Veilig Thuis, how
to close): each has a label and a text per language of the chat.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from config.secrets import PLACEHOLDER

LANGUAGE = re.compile(r"[a-z]{2,3}")
CANNED_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_CANNED_TEXT = 2000
MAX_LABEL = 60
_TOKEN_KEY = re.compile(r"[A-Za-z0-9._~+/-]{16,512}=*")


def _canned_id(value: str) -> str:
    if CANNED_ID.fullmatch(value) is None:
        raise ValueError("use 1-32 of a-z 0-9 _ - (starting with a letter or digit)")
    return value


def _language(value: str) -> str:
    if LANGUAGE.fullmatch(value) is None:
        raise ValueError("a language is 2-3 lowercase letters (nl, en)")
    return value


Language = Annotated[str, AfterValidator(_language)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CannedText(_Model):
    """A text a volunteer sends with one click, per language."""

    id: Annotated[str, AfterValidator(_canned_id)]
    label: dict[Language, Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]]
    """What the button says, per language of the workspace."""
    text: dict[Language, Annotated[str, Field(min_length=1, max_length=MAX_CANNED_TEXT)]]
    """What the child receives, per language of the chat."""

    def label_in(self, language: str) -> str:
        """The label in ``language``, else in the first language it has."""
        return self.label.get(language) or next(iter(self.label.values()))

    def text_in(self, language: str) -> str:
        """The text in ``language``, else in the first language it has."""
        return self.text.get(language) or next(iter(self.text.values()))


class ChatSection(_Model):
    """The children's web chat. Off unless ``enabled`` (and then ``token_key`` is required)."""

    enabled: bool = False
    line: str = "116111"
    """The line whose ``chat_schedule`` (or ``schedule``) opens the chat; the records' line."""
    token_key: str | None = None
    """HMAC key for the children's chat tokens in Redis keys (a generated secret)."""
    languages: list[Language] = Field(default_factory=lambda: ["nl", "en"], min_length=1)
    """The languages a child may chat in; the first is the default."""
    grace_s: float = Field(default=120.0, gt=0, le=3600)
    """The child's last socket closed this long ago: the chat ends."""
    transcript_ttl_s: int = Field(default=7200, ge=60, le=7 * 24 * 3600)
    """Redis TTL of an open chat's keys, refreshed on every message."""
    retention_days: int = Field(default=0, ge=0, le=365)
    """0: the transcript is deleted when the chat ends; else kept this long (Redis EXPIRE)."""
    max_message_chars: int = Field(default=2000, ge=1, le=10000)
    messages_per_10s: int = Field(default=10, ge=1, le=1000)
    """Per connection; more are refused with ``rate_limited``."""
    block_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    queue_notice_s: float = Field(default=5.0, gt=0, le=600)
    """How often the waiting child hears their position and expected wait."""
    quick_exit_url: str = Field(default="https://www.google.nl", max_length=200)
    forum_url: str = Field(default="https://www.kindertelefoon.nl/forum", max_length=200)
    survey: bool = True
    """Offer the two-question survey after the chat (counts only, per day)."""
    canned: list[CannedText] = Field(default_factory=list, max_length=50)

    @field_validator("token_key")
    @classmethod
    def _token_key(cls, value: str | None) -> str | None:
        if value is None or PLACEHOLDER.fullmatch(value):
            return value  # unfilled: config.known_defaults refuses it outside a demo
        if _TOKEN_KEY.fullmatch(value) is None:
            raise ValueError("use 16-512 of A-Z a-z 0-9 . _ ~ + / - (a random string)")
        return value

    @field_validator("quick_exit_url", "forum_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?", value):
            raise ValueError("must be an http(s) URL of printable ASCII")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChatSection:
        if self.enabled and self.token_key is None:
            raise ValueError("token_key is required when the chat is enabled")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages: a language appears twice")
        seen: set[str] = set()
        for i, canned in enumerate(self.canned):
            if canned.id in seen:
                raise ValueError(f"canned[{i}].id {canned.id!r} appears twice")
            seen.add(canned.id)
            for lang in self.languages:
                if lang not in canned.text:
                    raise ValueError(f"canned[{i}].text has no {lang!r} text")
        return self

    @property
    def block_s(self) -> int:
        """How long a block lasts, in whole seconds (for Redis EX)."""
        return max(1, round(self.block_hours * 3600))

    @property
    def retention_s(self) -> int:
        return self.retention_days * 24 * 3600

    def canned_in(self, language: str) -> list[dict[str, str]]:
        """``[{id, label, text}]`` in ``language`` (each falls back to its first language)."""
        return [
            {"id": c.id, "label": c.label_in(language), "text": c.text_in(language)}
            for c in self.canned
        ]
