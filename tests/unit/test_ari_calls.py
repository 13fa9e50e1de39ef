"""The call registry and the id scheme that recovery relies on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from acd import Channel, ContactFinished, OfferFailure, Outcome
from ari_app.calls import (
    CallRegistry,
    ContactCall,
    Role,
    hold_bridge_id,
    parse_bridge_id,
    parse_leg_id,
    talk_bridge_id,
    volunteer_leg_id,
)
from ari_app.records import record_of

CID = str(uuid.UUID(int=7))


def test_ids_round_trip_and_fit_asterisk_limits():
    assert parse_bridge_id(hold_bridge_id(CID)) == ("hold", CID)
    assert parse_bridge_id(talk_bridge_id(CID)) == ("talk", CID)
    assert parse_leg_id(volunteer_leg_id(CID, 12)) == (CID, 12)
    assert len(volunteer_leg_id(CID, 10**6)) <= 64


@pytest.mark.parametrize(
    "foreign", ["1795398454.0", "PJSIP/carrier-00000001", "vol-notauuid-1", "hold-x", ""]
)
def test_foreign_ids_are_not_ours(foreign):
    assert parse_leg_id(foreign) is None
    assert parse_bridge_id(foreign) is None


def test_registry_finds_both_legs_and_forgets_them():
    calls = CallRegistry()
    calls.add(ContactCall(CID, "116111", "nl", "chan-caller"))
    calls.set_leg(CID, "anna", "vol-leg-1")
    assert calls.by_channel("chan-caller")[0] is Role.CALLER
    role, call = calls.by_channel("vol-leg-1")
    assert role is Role.VOLUNTEER and call.agent_id == "anna"
    # A new offer replaces the old leg, which is no longer ours.
    calls.set_leg(CID, "bram", "vol-leg-2")
    assert calls.by_channel("vol-leg-1") is None
    assert calls.clear_leg(CID) == "vol-leg-2"
    assert calls.by_channel("vol-leg-2") is None
    assert calls.remove(CID) is not None
    assert calls.by_channel("chan-caller") is None and len(calls) == 0


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
