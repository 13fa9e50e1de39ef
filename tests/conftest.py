"""Shared test set-up."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Production argon2 costs ~0.5 s a hash; tests use the cheapest profile.
    monkeypatch.setenv("HELPLINE_ARGON2_PROFILE", "test")
