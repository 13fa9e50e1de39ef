"""Web auth helpers: tokens, token hashes, stored sessions, the in-memory store."""

from __future__ import annotations

import hashlib

import pytest

from web import MemorySessionStore, Session, new_token, token_hash


def test_tokens_are_long_random_and_stored_as_sha256():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) == 43  # 32 bytes, urlsafe base64 without padding
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_hash(token)


def test_session_round_trips_through_json():
    session = Session("anna", "utrecht", 1700000000.25)
    assert Session.from_json(session.to_json()) == session
    assert Session.from_json(session.to_json().encode()) == session


@pytest.mark.parametrize(
    "raw",
    [
        "[]",
        "{}",
        '{"volunteer_id": "anna", "location_id": 3, "created_at": 1}',
        '{"volunteer_id": "anna", "location_id": "u", "created_at": true}',
        '{"volunteer_id": "anna", "location_id": "u"}',
        "not json",
    ],
)
def test_malformed_stored_sessions_are_refused(raw):
    with pytest.raises(ValueError):
        Session.from_json(raw)


async def test_memory_store_expires_and_deletes():
    now = [100.0]
    store = MemorySessionStore(clock=lambda: now[0])
    session = Session("anna", "utrecht", 0.0)
    await store.put("k", session, 10)
    assert await store.get("k") == session
    now[0] = 110.0
    assert await store.get("k") is None
    assert store.keys() == []
    await store.put("k", session, 10)
    await store.delete("k")
    await store.delete("k")
    assert await store.get("k") is None


def test_a_session_carries_its_credential_version():
    session = Session("anna", "utrecht", 1.0, credential_version=7)
    assert Session.from_json(session.to_json()).credential_version == 7
    # Stored before versions existed, or tampered with: not honoured.
    for version in ("", '"credential_version": "7", ', '"credential_version": true, '):
        with pytest.raises(ValueError):
            Session.from_json(
                "{" + version + '"volunteer_id": "anna", "location_id": "u", "created_at": 1}'
            )
