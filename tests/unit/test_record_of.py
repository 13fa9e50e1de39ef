"""The anonymous record of a finished contact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from acd import Channel, ContactFinished, OfferFailure, Outcome
from storage.record_queue import record_of

CID = str(uuid.UUID(int=7))


def test_record_of_an_answered_call_has_wait_and_talk_and_nothing_else():
    done = ContactFinished(
        contact_id=CID,
        channel=Channel.PHONE,
        outcome=Outcome.ANSWERED,
        priority=0,
        language=None,
        arrived_at=1_800_000_000.0,
        answered_at=1_800_000_030.0,
        ended_at=1_800_000_330.0,
        agent_id="anna",
        location_id="utrecht",
        last_failure=OfferFailure.NO_ANSWER,
    )
    record = record_of(done, "116111", "nl")
    assert record.wait_s == 30.0 and record.talk_s == 300.0
    assert record.arrived_at == datetime.fromtimestamp(1_800_000_000, UTC)
    who = (record.volunteer_id, record.location_id, record.line_id)
    assert who == ("anna", "utrecht", "116111")


def test_record_of_an_abandoned_call_waited_until_the_end():
    done = ContactFinished(
        contact_id=CID,
        channel=Channel.PHONE,
        outcome=Outcome.ABANDONED,
        priority=0,
        language="nl",
        arrived_at=100.0,
        answered_at=None,
        ended_at=160.0,
        agent_id=None,
        location_id=None,
    )
    record = record_of(done, "116111", "nl")
    assert record.wait_s == 60.0 and record.talk_s is None and record.answered_at is None
