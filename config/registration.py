"""What the wrap-up form offers: the anonymous registration's categories, and pause reasons.

After each contact the volunteer registers it anonymously: the kind of contact, the topics
(in the style of Child Helpline International's data framework: main categories with
sub-categories), the child's age band and gender as the volunteer judged them. Every choice
is an id from these lists; only the ids are stored, so reports count them in SQL. Labels are
per language of the volunteer's workspace (``[workspace] languages``, Dutch first).

Each list has built-in defaults. A configuration may replace a list, naming built-in entries
by id (``contact_types = ["conversation", "silent"]``) or giving its own
(``{ id = "...", labels = { nl = "...", en = "..." } }``). Free text (``notes``) is off unless
``notes_enabled``, and then kept ``notes_retention_days`` at most.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

CHOICE_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")
"""A choice's id: ASCII lowercase, digits and ``_`` (no ``.``: it joins a topic's id to its
sub-category's in ``violence.physical``), at most 32 characters."""

TOPIC_SEPARATOR = "."
MAX_TOPIC_ID_LEN = 65
"""``<topic>.<sub-category>``: two choice ids and the separator."""

LANGUAGE = re.compile(r"[a-z]{2,3}")
MAX_LABEL_LEN = 100
NOTES_MAX_LEN = 2000
"""The longest note a volunteer may write (when notes are enabled at all)."""


def _choice_id(value: str) -> str:
    if CHOICE_ID.fullmatch(value) is None:
        raise ValueError("use 1-32 of a-z 0-9 _ (starting with a letter or digit)")
    return value


ChoiceId = Annotated[str, AfterValidator(_choice_id)]


def _unique(key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"{key}: {value!r} appears twice")
        seen.add(value)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Choice(_Model):
    """One entry of a list on the form: an id (stored) and its label per language (shown)."""

    id: ChoiceId
    labels: dict[str, str] = Field(min_length=1)
    """Language code -> label, e.g. ``{ nl = "Gesprek", en = "Conversation" }``."""

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, label in value.items():
            if LANGUAGE.fullmatch(lang) is None:
                raise ValueError(f"{lang!r} is not a language code (e.g. nl, en)")
            if not label.strip() or len(label) > MAX_LABEL_LEN:
                raise ValueError(f"{lang}: a label is 1-{MAX_LABEL_LEN} characters")
        return value

    def label(self, language: str) -> str:
        """The label in ``language`` (every workspace language has one: checked at load)."""
        return self.labels[language]


class Topic(Choice):
    """A main category, optionally with sub-categories (``violence`` -> ``physical``...)."""

    children: list[Choice] = Field(default_factory=list, max_length=50)

    @field_validator("children")
    @classmethod
    def _unique_children(cls, value: list[Choice]) -> list[Choice]:
        _unique("children", [c.id for c in value])
        return value

    def qualified(self, child: Choice) -> str:
        """The id a registration stores for one of this topic's sub-categories."""
        return f"{self.id}{TOPIC_SEPARATOR}{child.id}"


def _c(id_: str, nl: str, en: str) -> Choice:
    return Choice(id=id_, labels={"nl": nl, "en": en})


def _t(id_: str, nl: str, en: str, *children: Choice) -> Topic:
    return Topic(id=id_, labels={"nl": nl, "en": en}, children=list(children))


BUILTIN_CONTACT_TYPES: tuple[Choice, ...] = (
    _c("conversation", "Gesprek", "Conversation"),
    _c("silent", "Stil contact", "Silent contact"),
    _c("test_or_prank", "Test- of grapcontact", "Test or prank"),
    _c("abusive", "Grensoverschrijdend contact", "Abusive contact"),
    _c("hung_up", "Opgehangen", "Hung up"),
    _c("information_request", "Informatievraag", "Information request"),
)

BUILTIN_TOPICS: tuple[Topic, ...] = (
    _t(
        "violence", "Geweld en misbruik", "Violence and abuse",
        _c("physical", "Lichamelijk geweld", "Physical violence"),
        _c("emotional", "Emotioneel geweld", "Emotional violence"),
        _c("sexual", "Seksueel geweld", "Sexual violence"),
        _c("neglect", "Verwaarlozing", "Neglect"),
        _c("bullying", "Pesten", "Bullying"),
        _c("domestic_violence_witnessed", "Getuige van huiselijk geweld",
           "Witnessing domestic violence"),
        _c("online", "Online geweld (zoals sextortion)", "Online violence (e.g. sextortion)"),
        _c("exploitation", "Uitbuiting", "Exploitation"),
        _c("other", "Ander geweld", "Other violence"),
    ),
    _t(
        "mental_health", "Mentale gezondheid", "Mental health",
        _c("anxiety", "Angst", "Anxiety"),
        _c("depression", "Somberheid en depressie", "Depression"),
        _c("self_harm", "Zelfbeschadiging", "Self-harm"),
        _c("suicidal_thoughts", "Suïcidale gedachten", "Suicidal thoughts"),
        _c("eating", "Eetproblemen", "Eating problems"),
        _c("loneliness", "Eenzaamheid", "Loneliness"),
        _c("self_image", "Zelfbeeld", "Self-image"),
        _c("grief", "Rouw en verlies", "Grief and loss"),
        _c("other", "Andere mentale klachten", "Other mental health"),
    ),
    _t(
        "family", "Gezin en familie", "Family",
        _c("conflict", "Ruzie thuis", "Conflict at home"),
        _c("divorce", "Scheiding", "Divorce or separation"),
        _c("parents_problems", "Ziekte of verslaving van ouders",
           "Illness or addiction of a parent"),
        _c("care", "Jeugdzorg of pleegzorg", "Youth care or foster care"),
        _c("other", "Overig gezin", "Other family"),
    ),
    _t(
        "peers_and_relationships", "Vrienden en relaties", "Peers and relationships",
        _c("friendship", "Vriendschap", "Friendship"),
        _c("love", "Verliefdheid en relaties", "Love and relationships"),
        _c("other", "Overig vrienden en relaties", "Other peers and relationships"),
    ),
    _t(
        "school_and_education", "School en opleiding", "School and education",
        _c("performance", "Schoolprestaties", "School performance"),
        _c("teachers", "Leraren", "Teachers"),
        _c("absence", "Schoolverzuim", "School absence"),
        _c("other", "Overig school", "Other school"),
    ),
    _t(
        "sexuality_and_sexual_health", "Seksualiteit en seksuele gezondheid",
        "Sexuality and sexual health",
        _c("sexual_orientation", "Seksuele oriëntatie", "Sexual orientation"),
        _c("gender_identity", "Genderidentiteit", "Gender identity"),
        _c("puberty", "Puberteit en lichaam", "Puberty and the body"),
        _c("pregnancy_contraception", "Zwangerschap en anticonceptie",
           "Pregnancy and contraception"),
        _c("sexting", "Sexting en naaktfoto's", "Sexting and nudes"),
        _c("other", "Overig seksualiteit", "Other sexuality"),
    ),
    _t("physical_health", "Lichamelijke gezondheid", "Physical health"),
    _t(
        "substance_use", "Middelengebruik", "Substance use",
        _c("alcohol", "Alcohol", "Alcohol"),
        _c("drugs", "Drugs", "Drugs"),
        _c("smoking_vaping", "Roken en vapen", "Smoking and vaping"),
        _c("other", "Overig middelengebruik", "Other substance use"),
    ),
    _t("discrimination", "Discriminatie", "Discrimination"),
    _t("legal_and_rights", "Recht en rechten", "Legal matters and rights"),
    _t(
        "basic_needs", "Basisbehoeften", "Basic needs",
        _c("housing", "Wonen en dakloosheid", "Housing and homelessness"),
        _c("money", "Geld", "Money"),
        _c("food", "Eten", "Food"),
    ),
    _t("other", "Overig", "Other"),
)  # fmt: skip

BUILTIN_AGE_BANDS: tuple[Choice, ...] = (
    _c("under_8", "Jonger dan 8", "Under 8"),
    _c("8_11", "8-11 jaar", "8-11 years"),
    _c("12_14", "12-14 jaar", "12-14 years"),
    _c("15_17", "15-17 jaar", "15-17 years"),
    _c("18_plus", "18 jaar of ouder", "18 or older"),
    _c("unknown", "Onbekend", "Unknown"),
)

BUILTIN_GENDERS: tuple[Choice, ...] = (
    _c("girl", "Meisje", "Girl"),
    _c("boy", "Jongen", "Boy"),
    _c("non_binary", "Non-binair", "Non-binary"),
    _c("unknown", "Onbekend", "Unknown"),
)

BUILTIN_PAUSE_REASONS: tuple[Choice, ...] = (
    _c("break", "Pauze", "Break"),
    _c("training", "Training", "Training"),
    _c("meeting", "Overleg", "Meeting"),
    _c("admin", "Administratie", "Admin"),
    _c("other", "Anders", "Other"),
)

DEFAULT_PAUSE_REASONS = tuple(c.id for c in BUILTIN_PAUSE_REASONS)
"""The pause reasons when ``[workspace] pause_reasons`` is not set."""


def _by_id(value: Any, builtins: Iterable[Choice]) -> Any:
    """A bare id (``"silent"``) names a built-in entry; anything else is validated as given."""
    if not isinstance(value, list):
        return value
    known = {c.id: c for c in builtins}
    out: list[Any] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            if item not in known:
                raise ValueError(
                    f"[{i}]: {item!r} is not built in (built in: {', '.join(known)}); "
                    'give it as { id = "...", labels = { nl = "...", en = "..." } }'
                )
            out.append(known[item])
        else:
            out.append(item)
    return out


class RegistrationSection(_Model):
    """``[registration]``: the anonymous registration a volunteer makes in wrap-up."""

    contact_types: list[Choice] = Field(
        default_factory=lambda: list(BUILTIN_CONTACT_TYPES), min_length=1, max_length=50
    )
    topics: list[Topic] = Field(
        default_factory=lambda: list(BUILTIN_TOPICS), min_length=1, max_length=100
    )
    age_bands: list[Choice] = Field(
        default_factory=lambda: list(BUILTIN_AGE_BANDS), min_length=1, max_length=50
    )
    genders: list[Choice] = Field(
        default_factory=lambda: list(BUILTIN_GENDERS), min_length=1, max_length=50
    )
    notes_enabled: bool = False
    """Whether the form has a free-text note. Off by default: a note is the one place a
    volunteer could write something that identifies a child."""
    notes_retention_days: int | None = Field(default=None, ge=1, le=365)
    """How long a note is kept (required when notes are enabled); then it is deleted, the rest
    of the registration stays."""
    window_min: int = Field(default=30, ge=1, le=24 * 60)
    """How long after a contact ended its volunteer may still register (or correct) it, as
    long as they have not answered their next contact."""

    @field_validator("contact_types", "age_bands", "genders", mode="before")
    @classmethod
    def _builtin_ids(cls, value: Any, info: ValidationInfo) -> Any:
        builtins = {
            "contact_types": BUILTIN_CONTACT_TYPES,
            "age_bands": BUILTIN_AGE_BANDS,
            "genders": BUILTIN_GENDERS,
        }
        return _by_id(value, builtins[str(info.field_name)])

    @field_validator("topics", mode="before")
    @classmethod
    def _builtin_topics(cls, value: Any) -> Any:
        return _by_id(value, BUILTIN_TOPICS)

    @model_validator(mode="after")
    def _consistent(self) -> RegistrationSection:
        for key in ("contact_types", "topics", "age_bands", "genders"):
            _unique(key, [c.id for c in getattr(self, key)])
        if self.notes_enabled and self.notes_retention_days is None:
            raise ValueError("notes_retention_days: required (1-365) when notes_enabled = true")
        return self

    def topic_ids(self) -> dict[str, str]:
        """Every id a registration may name as a topic -> its main category: ``violence`` and
        ``violence.physical`` both -> ``violence``."""
        out: dict[str, str] = {}
        for topic in self.topics:
            out[topic.id] = topic.id
            for child in topic.children:
                out[topic.qualified(child)] = topic.id
        return out

    def choices(self) -> Iterator[tuple[str, Choice]]:
        """Every choice with where it is configured (for checking labels)."""
        for key in ("contact_types", "age_bands", "genders"):
            for i, choice in enumerate(getattr(self, key)):
                yield f"registration.{key}[{i}]", choice
        for i, topic in enumerate(self.topics):
            yield f"registration.topics[{i}]", topic
            for j, child in enumerate(topic.children):
                yield f"registration.topics[{i}].children[{j}]", child

    @property
    def retention_days(self) -> int | None:
        """Days a note is kept, or None when notes are off."""
        return self.notes_retention_days if self.notes_enabled else None


class WorkspaceSection(_Model):
    """``[workspace]``: the volunteer's screen (languages, pause reasons)."""

    languages: list[str] = Field(default_factory=lambda: ["nl", "en"], min_length=1, max_length=10)
    """The languages the workspace is shown in; the first is the default. Every label of the
    form and of the pause reasons must exist in each."""
    pause_reasons: list[Choice] = Field(
        default_factory=lambda: list(BUILTIN_PAUSE_REASONS), min_length=1, max_length=20
    )
    """Why a volunteer may pause; shown on the wallboard and in reports."""

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for lang in value:
            if LANGUAGE.fullmatch(lang) is None:
                raise ValueError(f"{lang!r} is not a language code (e.g. nl, en)")
        _unique("languages", value)
        return value

    @field_validator("pause_reasons", mode="before")
    @classmethod
    def _builtin_reasons(cls, value: Any) -> Any:
        return _by_id(value, BUILTIN_PAUSE_REASONS)

    @field_validator("pause_reasons")
    @classmethod
    def _unique_reasons(cls, value: list[Choice]) -> list[Choice]:
        _unique("pause_reasons", [c.id for c in value])
        return value

    def pause_reason_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.pause_reasons)


def check_labels(registration: RegistrationSection, workspace: WorkspaceSection) -> None:
    """ValueError naming the first choice without a label in one of the workspace languages."""
    where = list(registration.choices())
    where += [(f"workspace.pause_reasons[{i}]", c) for i, c in enumerate(workspace.pause_reasons)]
    for key, choice in where:
        missing = [lang for lang in workspace.languages if lang not in choice.labels]
        if missing:
            raise ValueError(
                f"{key} ({choice.id}): no label in {', '.join(missing)} "
                f"(workspace.languages: {', '.join(workspace.languages)})"
            )
