"""The partner directory: who may be dialled, and when; with the running app's hours view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.settings import parse_config
from helpline.partners import PartnerDirectory
from ivr.hours import HoursException
from session.errors import SessionError, TransferRefused
from storage.hours_view import HoursView

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kindertelefoon.toml"
AMS = ZoneInfo("Europe/Amsterdam")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS).astimezone(UTC)


class Store:
    def __init__(self, *exceptions: HoursException) -> None:
        self.exceptions = list(exceptions)

    def upcoming(self, now: datetime) -> list[HoursException]:
        return list(self.exceptions)  # the tests' times need not be after the real clock


async def directory(*exceptions: HoursException) -> PartnerDirectory:
    cfg = parse_config(EXAMPLE.read_text())
    view = HoursView(cfg, Store(*exceptions))
    assert await view.refresh()
    return PartnerDirectory(
        cfg, lambda schedule, now: view.schedule_status(schedule, now, helpline_wide=False)
    )


async def test_lists_every_partner_with_open_now():
    partners = await directory()
    monday_noon = local("2026-06-01 12:00")  # a Monday, no holiday
    listed = partners.list(monday_noon)
    assert [p["id"] for p in listed] == ["veilig-thuis", "kinderrechtenhelpdesk", "113"]
    vt, krh, _ = listed
    assert vt["open_now"] and vt["closes_at"] is None and vt["opens_at"] is None  # 24/7
    assert len(vt["regions"]) == 25 and vt["description"]
    assert krh == {
        "id": "kinderrechtenhelpdesk",
        "name": "Kinderrechtenhelpdesk (Defence for Children)",
        "description": "Juridisch advies over kinderrechten; werkdagen 9-17 uur",
        "regions": [],
        "open_now": True,
        "opens_at": None,
        "closes_at": local("2026-06-01 17:00").isoformat(),
    }
    assert "number" not in vt  # nobody needs it to refer; the app dials it


async def test_check_open_returns_the_partner_or_says_when_it_opens():
    partners = await directory()
    saturday = local("2026-06-06 10:00")
    assert partners.check_open("veilig-thuis", saturday).number == "08002000"
    with pytest.raises(TransferRefused) as refused:
        partners.check_open("kinderrechtenhelpdesk", saturday)
    exc = refused.value
    assert isinstance(exc, SessionError)
    assert exc.code == "partner_closed"
    assert exc.details == {
        "partner": "kinderrechtenhelpdesk",
        "opens_at": local("2026-06-08 09:00").isoformat(),
    }
    assert exc.message == (
        "Kinderrechtenhelpdesk (Defence for Children) is closed now; "
        "it opens on Monday 8 June at 09:00"
    )


async def test_closed_on_dutch_public_holidays_and_early_in_the_morning():
    partners = await directory()
    kings_day = local("2026-04-27 10:00")  # a Monday
    with pytest.raises(TransferRefused, match="opens on Tuesday 28 April at 09:00"):
        partners.check_open("kinderrechtenhelpdesk", kings_day)
    assert partners.check_open("113", kings_day).id == "113"
    with pytest.raises(TransferRefused, match="it opens today at 09:00"):
        partners.check_open("kinderrechtenhelpdesk", local("2026-04-28 07:30"))


async def test_unknown_partner_is_refused_without_echoing_it():
    partners = await directory()
    assert partners.get("nope") is None
    assert partners.get("113") is not None
    with pytest.raises(TransferRefused) as refused:
        partners.check_open("0612345678", local("2026-06-01 12:00"))
    assert refused.value.code == "unknown_partner"
    assert refused.value.details == {}
    assert "0612345678" not in refused.value.message


async def test_exceptions_naming_the_partners_schedule_apply_helpline_wide_ones_do_not():
    now = local("2026-06-01 12:00")
    own = HoursException(
        1,
        "kinderrechtenhelpdesk",
        now - timedelta(hours=1),
        now + timedelta(hours=2),
        "closed",
        "x",
    )
    everything = HoursException(
        2, "*", now - timedelta(hours=1), now + timedelta(days=1), "closed", "y"
    )
    partners = await directory(own, everything)
    listed = {p["id"]: p for p in partners.list(now)}
    assert not listed["kinderrechtenhelpdesk"]["open_now"]
    assert listed["kinderrechtenhelpdesk"]["opens_at"] == (now + timedelta(hours=2)).isoformat()
    assert listed["veilig-thuis"]["open_now"]  # "close all our lines" does not close them
    with pytest.raises(TransferRefused, match="opens today at 14:00"):
        partners.check_open("kinderrechtenhelpdesk", now)


async def test_a_partner_closed_for_longer_than_the_look_ahead():
    now = local("2026-06-01 12:00")
    long = HoursException(1, "always", now, now + timedelta(days=30), "closed", "moved")
    partners = await directory(long)
    with pytest.raises(TransferRefused, match="does not open within the next 14 days") as refused:
        partners.check_open("113", now)
    assert refused.value.details["opens_at"] is None
