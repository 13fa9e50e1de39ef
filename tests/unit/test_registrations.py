"""Telling a second registration of a volunteer's account from the phone's own (sans-IO), and
ARI's ContactStatusChange as the router reads it."""

from __future__ import annotations

import json

from ari_app.ari_events import ContactStatusChange, parse_event
from ari_app.registrations import REPLACED_WITHIN_S, Registrations

A = "sip:vol-1@127.0.0.1:5062;transport=udp"
B = "sip:vol-1@127.0.0.9:5064;transport=udp"


def test_a_phones_own_registration_and_refreshes_are_not_a_take_over():
    r = Registrations()
    assert not r.seen("vol-1", A, "Created", 0.0)
    assert not r.seen("vol-1", A, "Reachable", 1.0)
    assert not r.seen("vol-1", A, "Created", 2.0)  # the same contact again


def test_what_asterisk_22_sends_for_a_take_over_is_one():
    r = Registrations()
    assert not r.seen("vol-1", A, "NonQualified", 0.0)  # the phone registers (no qualify)
    assert not r.seen("vol-1", A, "NonQualified", 30.0)  # and refreshes
    assert r.seen("vol-1", B, "NonQualified", 60.0)  # another phone: new contact first,
    assert not r.seen("vol-1", A, "Removed", 60.0)  # then the old one removed
    assert not r.seen("vol-1", B, "NonQualified", 90.0)  # the new phone's own refresh


def test_a_new_contact_while_another_lives_is_a_take_over():
    r = Registrations()
    r.seen("vol-1", A, "Created", 0.0)
    assert r.seen("vol-1", B, "Created", 5.0)
    assert not r.seen("vol-2", A, "Created", 5.0)  # another account is another matter


def test_a_removal_reported_first_still_counts_when_the_new_one_follows_at_once():
    r = Registrations()
    r.seen("vol-1", A, "Created", 0.0)
    assert not r.seen("vol-1", A, "Removed", 10.0)
    assert r.seen("vol-1", B, "Created", 10.0 + REPLACED_WITHIN_S / 2)


def test_registering_again_after_logging_off_is_not_a_take_over():
    r = Registrations()
    r.seen("vol-1", A, "Created", 0.0)
    r.seen("vol-1", A, "Removed", 10.0)  # the phone unregistered (or expired)
    assert not r.seen("vol-1", B, "Created", 10.0 + REPLACED_WITHIN_S + 60)


def test_ari_contact_status_change_is_parsed():
    raw = {
        "type": "ContactStatusChange",
        "application": "helpline",
        "endpoint": {"technology": "PJSIP", "resource": "vol-1", "state": "online",
                     "channel_ids": []},
        "contact_info": {"uri": A, "contact_status": "Created", "aor": "vol-1",
                         "roundtrip_usec": "0"},
    }  # fmt: skip
    event = parse_event(json.dumps(raw))
    assert event == ContactStatusChange(
        application="helpline",
        endpoint=event.endpoint,  # type: ignore[union-attr]
        aor="vol-1",
        uri=A,
        status="Created",
    )
    assert event.endpoint.resource == "vol-1"  # type: ignore[union-attr]
