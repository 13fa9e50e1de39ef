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
