"""The id scheme that recovery relies on."""

from __future__ import annotations

import uuid

import pytest

from session.ids import (
    LegRole,
    contact_of_playback,
    hold_bridge_id,
    leg_id,
    parse_bridge_id,
    parse_leg_id,
    talk_bridge_id,
)

CID = str(uuid.UUID(int=7))


def test_ids_round_trip_and_fit_asterisk_limits():
    assert parse_bridge_id(hold_bridge_id(CID)) == ("hold", CID)
    assert parse_bridge_id(talk_bridge_id(CID)) == ("talk", CID)
    for role in (LegRole.VOLUNTEER, LegRole.PARTNER, LegRole.SUPERVISOR):
        assert parse_leg_id(leg_id(role, CID, 12)) == (role, CID, 12)
        assert len(leg_id(role, CID, 10**6)) <= 64


def test_the_callers_channel_is_never_named_by_us():
    with pytest.raises(ValueError):
        leg_id(LegRole.CALLER, CID, 1)


@pytest.mark.parametrize(
    "foreign", ["1795398454.0", "PJSIP/carrier-00000001", "vol-notauuid-1", "hold-x", ""]
)
def test_foreign_ids_are_not_ours(foreign):
    assert parse_leg_id(foreign) is None
    assert parse_bridge_id(foreign) is None


def test_playback_ids_name_their_contact():
    assert contact_of_playback(f"{CID}-p3") == CID
    assert contact_of_playback("p3") is None
    assert contact_of_playback("short-p3") is None
