"""The core's settings: plain values, validated once; the TOML loader builds them."""

from __future__ import annotations

from dataclasses import dataclass

from acd.errors import InvalidEvent


@dataclass(frozen=True, slots=True)
class AcdSettings:
    """How the queue behaves. Times are seconds."""

    ring_timeout_s: float = 20.0
    """How long a volunteer's phone rings before the offer moves on."""
    wrap_up_s: float = 60.0
    """Time after each contact to fill in the registration form; 0 for none."""
    max_no_answer: int = 2
    """Unanswered offers in a row after which a volunteer is paused."""
    max_wait_s: float = 900.0
    """A contact queued this long overflows."""
    max_queue_length: int = 200
    """Contacts of one channel that may wait at once; more overflow on arrival."""
    max_chats: int = 2
    """Chats a volunteer may hold at once, unless their login says otherwise."""
    language_wait_s: float = 30.0
    """A contact's language is a preference: it waits for a speaker at most this long (and not
    at all while no speaker is available or about to be), then goes to anyone who can take it."""

    def __post_init__(self) -> None:
        for name in ("ring_timeout_s", "wrap_up_s", "max_wait_s", "language_wait_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidEvent(f"{name} must be a number of seconds")
            # Written as "not >" so that NaN is refused too.
            lowest_ok = 0.0 if name == "wrap_up_s" else 1e-9
            if not value >= lowest_ok or value == float("inf"):
                raise InvalidEvent(f"{name} must be a finite number above {lowest_ok:g}")
        for name in ("max_no_answer", "max_queue_length", "max_chats"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidEvent(f"{name} must be a whole number")
            if value < 1:
                raise InvalidEvent(f"{name} must be at least 1")
