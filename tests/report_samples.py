"""A day of contacts, registrations and volunteer presence whose report is worked out by hand.

The day is Friday 1 March 2024 in Europe/Amsterdam (UTC+1): [2024-02-29 23:00, 2024-03-01
23:00) UTC. Every number the report must show is in ``tests.unit.test_reports_figures``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from storage.models import AgentPresenceRow, RegistrationRow, RegistrationTopic
from storage.records import RecordWriter
from tests.record_samples import answered_record

TZ = ZoneInfo("Europe/Amsterdam")
SINCE = datetime(2024, 3, 1, tzinfo=TZ)
UNTIL = datetime(2024, 3, 2, tzinfo=TZ)


def _utc(hour: int, minute: int = 0, day: int = 1, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def _answered(cid: str, at: datetime, wait: float, talk: float, **kw: object):
    return answered_record(
        id=cid,
        arrived_at=at,
        answered_at=at + timedelta(seconds=wait),
        ended_at=at + timedelta(seconds=wait + talk),
        wait_s=wait,
        talk_s=talk,
        **kw,
    )


def _unanswered(cid: str, at: datetime, wait: float, outcome: str, **kw: object):
    return answered_record(
        id=cid,
        arrived_at=at,
        answered_at=None,
        ended_at=at + timedelta(seconds=wait),
        wait_s=wait,
        talk_s=None,
        outcome=outcome,
        volunteer_id=None,
        location_id=None,
        **kw,
    )


IDS = {k: f"00000000-0000-4000-8000-00000000000{i}" for i, k in enumerate("ABCDEFGHI")}


def write_sample(engine: Engine) -> None:
    """Records A..I, registrations of A, B, D and H, and three hours of presence."""
    writer = RecordWriter(engine)
    records = [
        _answered(IDS["A"], _utc(10), 10, 300, location_id="utrecht",
                  referral_partner="veilig-thuis", referral_region="utrecht",
                  referral_consent=True, referral_volunteer_stayed=False),
        _answered(IDS["B"], _utc(10, 10), 30, 600, location_id="utrecht"),
        _answered(IDS["C"], _utc(10, 20), 70, 120, line_id="0800", location_id="groningen"),
        _answered(IDS["D"], _utc(13), 5, 900, channel="chat", location_id="groningen"),
        _unanswered(IDS["E"], _utc(13, 30), 3, "abandoned"),  # a short abandon
        _unanswered(IDS["F"], _utc(13, 40), 40, "abandoned"),
        _unanswered(IDS["G"], _utc(22, 30), 120, "overflowed", line_id="0800",
                    overflow_reason="max_wait"),  # 23:30 local: still the day
        _answered(IDS["H"], _utc(23, 10), 1, 60),  # 00:10 local on the 2nd: out
        _answered(IDS["I"], _utc(22, 50, day=29, month=2), 1, 60),  # 23:50 local the 29th: out
    ]  # fmt: skip
    for rec in records:
        writer.write(rec)
    saved = _utc(12)
    regs = [
        ("A", "12-14", "girl"),
        ("B", "12-14", "boy"),
        ("D", "15-17", "girl"),
        ("H", "8-11", "boy"),
    ]
    topics = [
        ("A", "violence.physical", "violence"),
        ("B", "bullying", "bullying"),
        ("D", "bullying", "bullying"),
        ("D", "violence.physical", "violence"),
        ("H", "bullying", "bullying"),
    ]
    hour = _utc(10)
    presence = [
        (hour, "utrecht", "available", 1800.0),
        (hour, "utrecht", "busy", 1000.0),
        (hour, "utrecht", "busy", 200.0),  # a second flush of the same hour: summed
        (hour, "utrecht", "wrap_up", 600.0),
        (hour, "utrecht", "paused", 600.0),
        (_utc(13), "groningen", "busy", 900.0),
        (_utc(13), "groningen", "available", 2700.0),
        (_utc(23), "groningen", "available", 3600.0),  # the 2nd, local: out
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(RegistrationRow),
            [
                {"contact_id": IDS[c], "volunteer_id": "anna", "contact_type": "counselling",
                 "age_band": age, "gender": gender, "saved_at": saved}
                for c, age, gender in regs
            ],
        )  # fmt: skip
        conn.execute(
            insert(RegistrationTopic),
            [{"contact_id": IDS[c], "topic": t, "category": cat} for c, t, cat in topics],
        )
        conn.execute(
            insert(AgentPresenceRow),
            [
                {"hour_start": h, "location_id": loc, "state": s, "seconds": n}
                for h, loc, s, n in presence
            ],
        )
