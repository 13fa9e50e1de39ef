"""The report's words in Dutch and English; one table, so a missing translation fails a test."""

from __future__ import annotations

from typing import Literal

Language = Literal["nl", "en"]

LABELS: dict[str, dict[Language, str]] = {
    "title": {"nl": "Rapportage contacten", "en": "Contact report"},
    "period": {"nl": "Periode", "en": "Period"},
    "summary": {"nl": "Samenvatting", "en": "Summary"},
    "contacts": {"nl": "Contacten", "en": "Contacts"},
    "answered": {"nl": "Beantwoord", "en": "Answered"},
    "abandoned": {"nl": "Opgehangen voor antwoord", "en": "Abandoned"},
    "short_abandoned": {"nl": "Kort opgehangen", "en": "Short abandons"},
    "overflowed": {"nl": "Overloop", "en": "Overflowed"},
    "answered_rate": {"nl": "Beantwoord %", "en": "Answered %"},
    "abandon_rate": {"nl": "Opgehangen %", "en": "Abandon %"},
    "sl_answered": {"nl": "SL {t}s (beantwoord)", "en": "SL {t}s (answered)"},
    "sl_with_abandons": {"nl": "SL {t}s (incl. opgehangen)", "en": "SL {t}s (with abandons)"},
    "asa": {"nl": "Gem. wachttijd (s)", "en": "ASA (s)"},
    "aht": {"nl": "Gem. gespreksduur (s)", "en": "AHT (s)"},
    "occupancy": {"nl": "Bezettingsgraad", "en": "Occupancy"},
    "line": {"nl": "Per lijn", "en": "By line"},
    "channel": {"nl": "Per kanaal", "en": "By channel"},
    "location": {"nl": "Per locatie", "en": "By location"},
    "hour": {"nl": "Per uur van de dag", "en": "By hour of the day"},
    "category": {"nl": "Onderwerpen (hoofdcategorie)", "en": "Topics (category)"},
    "topic": {"nl": "Onderwerpen", "en": "Topics"},
    "age_band": {"nl": "Leeftijd", "en": "Age band"},
    "gender": {"nl": "Gender", "en": "Gender"},
    "contact_type": {"nl": "Soort contact", "en": "Contact type"},
    "referrals": {"nl": "Doorverbindingen per partner", "en": "Referrals per partner"},
    "referral_regions": {"nl": "Doorverbindingen per regio", "en": "Referrals per region"},
    "partner": {"nl": "Partner", "en": "Partner"},
    "region": {"nl": "Regio", "en": "Region"},
    "count": {"nl": "Aantal", "en": "Count"},
    "staffing": {
        "nl": "Bezettingsadvies (telefoon, Erlang C)",
        "en": "Staffing advice (phone, Erlang C)",
    },
    "staffing_note": {
        "nl": "Nodig voor {level:.0%} binnen {t:.0f} s / gemiddeld ingelogd.",
        "en": "Needed for {level:.0%} within {t:.0f} s / mean logged in.",
    },
    "no_presence": {
        "nl": "Ingelogd: niet geregistreerd in deze periode.",
        "en": "Logged in: not recorded in this period.",
    },
    "definitions": {"nl": "Definities", "en": "Definitions"},
    "def_text": {
        "nl": (
            "Kort opgehangen: binnen {short:.0f} s, niet meegeteld in opgehangen % en SL met "
            "opgehangen. SL beantwoord: binnen T beantwoord / beantwoord. SL incl. opgehangen: "
            "binnen T beantwoord / (contacten - kort opgehangen). Gem. gespreksduur zonder "
            "nawerk. Bezettingsgraad: in gesprek + nawerk / beschikbare tijd (pauze niet)."
        ),
        "en": (
            "Short abandon: within {short:.0f} s, left out of the abandon rate and the SL with "
            "abandons. SL answered: answered within T / answered. SL with abandons: answered "
            "within T / (contacts - short abandons). AHT is talk time without wrap-up. "
            "Occupancy: in contact + wrap-up / available time (pauses left out)."
        ),
    },
    "weekdays": {"nl": "ma di wo do vr za zo", "en": "Mon Tue Wed Thu Fri Sat Sun"},
    "none": {"nl": "geen", "en": "none"},
}


def label(key: str, lang: Language) -> str:
    """The label ``key`` in ``lang``."""
    return LABELS[key][lang]
