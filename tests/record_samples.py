"""A valid answered-contact record to vary in tests (times consistent with wait and talk)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.records import ContactRecordData

T0 = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)


def answered_record(**changes: Any) -> ContactRecordData:
    """Answered after 12 s, talked 288 s, by anna in Utrecht; ``changes`` override fields."""
    record = ContactRecordData(
        id=str(uuid.uuid4()),
        channel="phone",
        line_id="116111",
        language="nl",
        priority=0,
        arrived_at=T0,
        answered_at=T0 + timedelta(seconds=12),
        ended_at=T0 + timedelta(seconds=300),
        wait_s=12.0,
        talk_s=288.0,
        outcome="answered",
        volunteer_id="anna",
        location_id="utrecht",
    )
    return dataclasses.replace(record, **changes)


def ended_before(
    now: datetime,
    answered_s: float,
    ended_s: float,
    *,
    agent: str | None = "anna",
    channel: str = "phone",
    **changes: Any,
) -> ContactRecordData:
    """A record answered and ended ``answered_s`` and ``ended_s`` seconds before ``now`` (after
    10 s of waiting), by ``agent`` in Utrecht."""
    answered = now - timedelta(seconds=answered_s)
    return answered_record(
        arrived_at=answered - timedelta(seconds=10),
        answered_at=answered,
        ended_at=now - timedelta(seconds=ended_s),
        wait_s=10.0,
        talk_s=answered_s - ended_s,
        volunteer_id=agent,
        channel=channel,
        **changes,
    )


def referred(
    partner: str, region: str | None, at: datetime, *, stayed: bool = False
) -> ContactRecordData:
    """An answered contact arriving ``at`` that was referred to ``partner`` with consent."""
    return answered_record(
        arrived_at=at,
        answered_at=at + timedelta(seconds=12),
        ended_at=at + timedelta(seconds=300),
        referral_partner=partner,
        referral_region=region,
        referral_consent=True,
        referral_volunteer_stayed=stayed,
    )


def referral_sample() -> list[ContactRecordData]:
    """Records for the referral report; its counts are worked out by hand in REFERRAL_COUNTS."""
    hour = timedelta(hours=1)
    return [
        referred("veilig-thuis", "utrecht", T0),  # the window's first instant: in
        referred("veilig-thuis", "utrecht", T0 + hour, stayed=True),
        referred("veilig-thuis", None, T0 + 2 * hour),
        referred("veilig-thuis", "gelderland-zuid", T0 + 3 * hour),
        referred("113", None, T0 + 4 * hour),
        referred("kinderrechtenhelpdesk", "utrecht", T0 + timedelta(days=1)),  # == until: out
        referred("veilig-thuis", "utrecht", T0 - timedelta(seconds=1)),  # before: out
        answered_record(arrived_at=T0 + 5 * hour, answered_at=T0 + 5 * hour,
                        ended_at=T0 + 6 * hour),  # answered, no referral: not counted
        answered_record(arrived_at=T0 + 6 * hour, answered_at=None, ended_at=T0 + 7 * hour,
                        outcome="abandoned", talk_s=None, volunteer_id=None, location_id=None),
    ]  # fmt: skip


REFERRAL_WINDOW = (T0, T0 + timedelta(days=1))
"""The sample's day: [T0, T0 + 1 day)."""
REFERRAL_COUNTS = {
    "per_partner": [("113", 1), ("veilig-thuis", 4)],
    "per_region": [
        ("113", None, 1),
        ("veilig-thuis", None, 1),
        ("veilig-thuis", "gelderland-zuid", 1),
        ("veilig-thuis", "utrecht", 2),
    ],
}
"""What the referral report must say for REFERRAL_WINDOW, counted by hand from the sample."""
