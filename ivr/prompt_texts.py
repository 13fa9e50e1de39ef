"""The prompt catalogue: every prompt id and what it says, in Dutch and English.

Written for children: short, kind, calm. Numbers that must be heard digit by digit (112,
0800-2000) are spelled with spaces so the synthesiser says them that way. Longer messages are
composed by the flow from pieces (``closed`` + ``opens_tomorrow`` + ``at_hour_14`` + ...), so a
helpline that records its own voice records each piece once.

Ids are plain ``[a-z0-9_]`` names (they become file names). ``position_<n>`` is the caller's
1-based place in the queue as the ACD reports it: ``position_1`` means "you are next" and
``position_3`` "there are 2 children before you". ``menu_<language>_<key>`` is spoken in *that*
language's voice whatever the channel's language, because the menu comes before the choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ivr.errors import UnknownPrompt
from ivr.ivr_config import MAX_POSITION_PROMPT, MENU_DIGITS

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""Index = ``datetime.weekday()``."""
MAX_WAIT_MINUTES = 30
"""Highest ``wait_<m>_minutes`` prompt; longer waits are announced as this one."""
KEY_NAMES = {"*": "star", "#": "hash"}
"""How the non-digit keys appear in prompt ids."""
UNAVAILABLE = "unavailable"
"""Played by the dialplan itself, not the IVR, when our app is not connected to Asterisk
(``Stasis()`` failed): we cannot take the call now, call again in a minute, 112 in danger."""


@dataclass(frozen=True, slots=True)
class PromptText:
    """What one prompt says in one language's sound directory."""

    prompt_id: str
    """Catalogue id, e.g. ``welcome``."""
    language: str
    """The sound directory (channel language) it is installed for."""
    voice: str
    """The language whose voice speaks it (differs only for menu options)."""
    text: str
    """The words."""


# -- id helpers (the flow composes messages with these) -------------------------------------


def position_prompt(position: int) -> str:
    """``position_<n>`` for the caller's 1-based place in the queue."""
    if not 1 <= position <= MAX_POSITION_PROMPT:
        raise UnknownPrompt(f"no position prompt for {position}")
    return f"position_{position}"


def wait_prompt(minutes: int) -> str:
    """``wait_<m>_minutes``."""
    if not 1 <= minutes <= MAX_WAIT_MINUTES:
        raise UnknownPrompt(f"no wait prompt for {minutes} minutes")
    return f"wait_{minutes}_minutes"


def opens_on_prompt(weekday: int) -> str:
    """``opens_on_<weekday>`` for ``datetime.weekday()``."""
    return f"opens_on_{WEEKDAYS[weekday]}"


def at_time_prompt(hour: int, minute: int) -> str:
    """``at_hour_<h>`` on the hour, ``at_<HH>_30`` on the half hour."""
    if not 0 <= hour <= 23 or minute not in (0, 30):
        raise UnknownPrompt(f"no time prompt for {hour:02d}:{minute:02d}")
    return f"at_hour_{hour}" if minute == 0 else f"at_{hour:02d}_30"


def menu_prompt(language: str, key: str) -> str:
    """``menu_<language>_<key>``: "For English, press 2." in the English voice."""
    if key not in MENU_DIGITS:
        raise UnknownPrompt(f"no menu key {key!r}")
    return f"menu_{language}_{KEY_NAMES.get(key, key)}"


# -- the texts ------------------------------------------------------------------------------

_NL_FIXED = {
    "welcome": (
        "Hoi, je belt met De Kindertelefoon. Fijn dat je belt. "
        "We verbinden je zo met iemand die naar je luistert."
    ),
    "comfort": "Je bent nog steeds in de wacht. Blijf aan de lijn, we zijn zo bij je.",
    "closed": "De Kindertelefoon is nu gesloten.",
    "opens_today": "Vandaag zijn we weer open,",
    "opens_tomorrow": "Morgen zijn we weer open,",
    "forum": "Op het forum van kindertelefoon.nl kun je altijd terecht, dag en nacht.",
    "danger_112": "Ben je in gevaar? Bel dan 1 1 2.",
    "veilig_thuis": "Veilig Thuis is dag en nacht bereikbaar op 0 8 0 0, 2 0 0 0.",
    "overflow": (
        "Het is nu erg druk, en het lukt ons nu niet om je te helpen. "
        "Wat fijn dat je het probeert. Bel ons straks gerust nog een keer."
    ),
    "goodbye": "Dag! Je mag altijd terugbellen.",
    UNAVAILABLE: (
        "Hoi, je belt met De Kindertelefoon. Het lukt ons nu even niet om je gesprek aan te "
        "nemen. Bel over een minuutje nog een keer. Ben je in gevaar? Bel dan 1 1 2."
    ),
}

_EN_FIXED = {
    "welcome": (
        "Hi, you are calling De Kindertelefoon. We are glad you called. "
        "We will soon put you through to someone who will listen to you."
    ),
    "comfort": "You are still on hold. Please stay on the line, we will be with you soon.",
    "closed": "De Kindertelefoon is closed right now.",
    "opens_today": "We open again today,",
    "opens_tomorrow": "We open again tomorrow,",
    "forum": "You can always go to the forum on kindertelefoon.nl, day and night.",
    "danger_112": "Are you in danger? Then call 1 1 2.",
    "veilig_thuis": "You can reach Veilig Thuis day and night on 0 8 0 0, 2 0 0 0.",
    "overflow": (
        "It is very busy right now, and we cannot help you at the moment. "
        "It is good that you tried. Please call us again a bit later."
    ),
    "goodbye": "Bye for now! You can always call again.",
    UNAVAILABLE: (
        "Hi, you are calling De Kindertelefoon. We cannot take your call right now. "
        "Please call again in a minute. Are you in danger? Then call 1 1 2."
    ),
}

_NL_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _nl_daypart(hour: int) -> str:
    return ("'s nachts", "'s ochtends", "'s middags", "'s avonds")[hour // 6]


def _en_daypart(hour: int) -> str:
    return ("at night", "in the morning", "in the afternoon", "in the evening")[hour // 6]


def _twelve(hour: int) -> int:
    return hour % 12 or 12


def _nl_at(hour: int, minute: int) -> str:
    if minute == 0:
        return f"vanaf {_twelve(hour)} uur {_nl_daypart(hour)}."
    return f"vanaf half {_twelve(hour + 1)} {_nl_daypart(hour)}."  # half drie = 2:30


def _en_at(hour: int, minute: int) -> str:
    if minute == 0 and hour == 0:
        return "from midnight."
    if minute == 0 and hour == 12:
        return "from twelve noon."
    if minute == 0:
        return f"from {_twelve(hour)} o'clock {_en_daypart(hour)}."
    return f"from half past {_twelve(hour)} {_en_daypart(hour)}."


def _nl_position(n: int) -> str:
    if n == 1:
        return "Jij bent nu als volgende aan de beurt."
    if n == 2:
        return "Er is nog maar 1 kind voor je."
    return f"Er zijn nog {n - 1} kinderen voor je."


def _en_position(n: int) -> str:
    if n == 1:
        return "You are next in line now."
    if n == 2:
        return "There is just 1 child before you."
    return f"There are {n - 1} children before you."


def _nl_wait(m: int) -> str:
    if m == MAX_WAIT_MINUTES:
        return "Het duurt nog ongeveer een half uur, of wat langer."
    return "Het duurt nog ongeveer 1 minuut." if m == 1 else f"Het duurt nog ongeveer {m} minuten."


def _en_wait(m: int) -> str:
    if m == MAX_WAIT_MINUTES:
        return "It will take about half an hour, or a bit longer."
    return "It will take about 1 minute." if m == 1 else f"It will take about {m} minutes."


@dataclass(frozen=True, slots=True)
class _Language:
    fixed: dict[str, str]
    days: tuple[str, ...]
    opens_on: str
    at: Callable[[int, int], str]
    position: Callable[[int], str]
    wait: Callable[[int], str]
    menu: str
    key_names: dict[str, str]


_LANGUAGES = {
    "nl": _Language(
        fixed=_NL_FIXED,
        days=_NL_DAYS,
        opens_on="Op {day} zijn we weer open,",
        at=_nl_at,
        position=_nl_position,
        wait=_nl_wait,
        menu="Voor Nederlands, druk {key}.",
        key_names={"*": "sterretje", "#": "hekje"},
    ),
    "en": _Language(
        fixed=_EN_FIXED,
        days=_EN_DAYS,
        opens_on="We open again on {day},",
        at=_en_at,
        position=_en_position,
        wait=_en_wait,
        menu="For English, press {key}.",
        key_names={"*": "star", "#": "hash"},
    ),
}

LANGUAGES: tuple[str, ...] = tuple(_LANGUAGES)
"""Languages the catalogue has texts for."""


def _texts(lang: _Language) -> dict[str, str]:
    texts = dict(lang.fixed)
    for weekday, name in enumerate(WEEKDAYS):
        texts[f"opens_on_{name}"] = lang.opens_on.format(day=lang.days[weekday])
    for hour in range(24):
        for minute in (0, 30):
            texts[at_time_prompt(hour, minute)] = lang.at(hour, minute)
    for n in range(1, MAX_POSITION_PROMPT + 1):
        texts[position_prompt(n)] = lang.position(n)
    for m in range(1, MAX_WAIT_MINUTES + 1):
        texts[wait_prompt(m)] = lang.wait(m)
    return texts


_CATALOGUE = {code: _texts(lang) for code, lang in _LANGUAGES.items()}
_MENU = {
    menu_prompt(code, key): (code, lang.menu.format(key=lang.key_names.get(key, key)))
    for code, lang in _LANGUAGES.items()
    for key in sorted(MENU_DIGITS)
}

PROMPT_IDS: tuple[str, ...] = tuple(sorted({*_CATALOGUE["nl"], *_MENU}))
"""Every prompt id of the catalogue."""


def prompt_text(prompt_id: str, language: str) -> PromptText:
    """What ``prompt_id`` says in ``language``'s sound directory; ``UnknownPrompt`` if nothing."""
    if prompt_id in _MENU:
        voice, text = _MENU[prompt_id]
        return PromptText(prompt_id, language, voice, text)
    try:
        return PromptText(prompt_id, language, language, _CATALOGUE[language][prompt_id])
    except KeyError:
        raise UnknownPrompt(f"no text for prompt {prompt_id!r} in language {language!r}") from None
