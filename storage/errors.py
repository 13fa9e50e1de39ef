"""The one error tree of the ``storage`` package: everything it raises is a ``StorageError``.

One branch per store: SQL records, volunteers and opening-hours exceptions, and the live state
in Redis (journal, snapshot, lease). Where the database or Redis itself failed (the remote side,
not our bug), the error says so (``RecordsUnavailable``, ``SpoolUnavailable``,
``LiveStateUnavailable``) and keeps the driver's exception as its ``__cause__``.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by helpline's storage (SQL and Redis)."""


class MigrationError(StorageError):
    """The schema could not be brought to the expected revision."""


# -- contact records (storage.records, storage.record_queue) ----------------------------------


class RecordError(StorageError):
    """Base of errors about contact records."""


class InvalidRecord(RecordError):
    """The record is malformed (bad outcome, naive time, suspicious text...); nothing written."""


class DuplicateRecord(RecordError):
    """A record with this contact id already exists; the existing row is left untouched."""


class RecordsUnavailable(RecordError):
    """The database could not be reached or failed mid-write; the record is intact, retry it.

    Whether the INSERT committed is unknown (the answer may be what got lost); writing it again
    is safe: the contact id is the primary key, so a second write is a :class:`DuplicateRecord`.
    """


class SpoolUnavailable(RecordError):
    """The record spool (Redis) could not be reached; what it holds is intact."""


# -- registrations (storage.registrations) -------------------------------------------------------


class RegistrationError(StorageError):
    """Base of errors about wrap-up registrations."""


class InvalidRegistration(RegistrationError):
    """A value is not one of the configured ids (or notes are off); ``field`` names it.

    The message names the field and never echoes its value (a note may say anything)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RegistrationConflict(RegistrationError):
    """The contact is already registered by another volunteer; nothing changed."""


class RegistrationsUnavailable(RegistrationError):
    """The database could not be reached or failed mid-write; nothing is half-saved."""


# -- opening-hours exceptions (storage.hours_store) --------------------------------------------


class SurveyError(StorageError):
    """The chat survey's counts."""


class InvalidSurvey(SurveyError):
    """An answer that is not one of the survey's (a bug in the caller: the API checks)."""


class SurveyUnavailable(SurveyError):
    """The database could not be reached or refused the write."""


class HoursStoreError(StorageError):
    """Base of errors about opening-hours exceptions."""


class InvalidHoursException(HoursStoreError):
    """The exception is invalid (times, kind, schedule, reason); the message names the field."""


class UnknownHoursException(HoursStoreError):
    """No exception has this id."""


class UnknownLine(HoursStoreError):
    """No configured line has this id, or the channel is not phone/chat."""


class UnknownSchedule(HoursStoreError):
    """No configured schedule has this name."""


# -- volunteer accounts (storage.volunteers) ---------------------------------------------------


class VolunteerError(StorageError):
    """Base of errors about volunteer accounts."""


class VolunteerExists(VolunteerError):
    """A volunteer with this id already exists."""


class UnknownVolunteer(VolunteerError):
    """No volunteer has this id."""


class InvalidVolunteer(VolunteerError):
    """The account data is invalid (unknown location/skill/language, peer_chat without young...)."""


# -- live state in Redis (storage.lease, storage.journal, storage.live_stream) ----------------


class LiveStateError(StorageError):
    """Base of every error raised by the live-state store and the leader lease."""


class LiveStateUnavailable(LiveStateError):
    """Redis could not be reached or answered with an error (the remote side, not our bug)."""


class LeaseLost(LiveStateError):
    """This process does not (or no longer) hold the leader lease; it must stop writing."""


class UnsupportedFormat(LiveStateError):
    """Stored data carries a format version this code does not know; refuse, never guess."""


class CorruptJournal(LiveStateError):
    """A journal entry cannot be decoded or breaks the sequence; ``index`` is its list position."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"journal entry {index}: {reason}")
        self.index = index


class CorruptSnapshot(LiveStateError):
    """The stored snapshot cannot be decoded or disagrees with the journal bookkeeping."""


class JournalConflict(LiveStateError):
    """Redis holds a different sequence than we expect: another writer or a stale snapshot."""


class NotLoaded(LiveStateError):
    """``append``/``save_snapshot`` called before ``load``: a writer must know where it resumes."""


class RecoveryError(LiveStateError):
    """Replaying journal entry ``index`` failed (undecodable event or the core refused it)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"replay of journal entry {index} failed: {reason}")
        self.index = index


class InvalidDelta(LiveStateError, ValueError):
    """``publish`` was given something that is not a delta (our bug, raised to the caller)."""


class LiveStreamCorrupt(LiveStateError):
    """A stream entry or the snapshot in Redis cannot be decoded or disagrees with its id."""


class LiveStreamGap(LiveStateError):
    """The entries after ``after`` do not continue at ``after + 1``: read the snapshot again.

    ``found`` is the seq of the entry that came instead, or None when the stream now ends below
    ``after`` (it was deleted and numbering started over).
    """

    def __init__(self, after: int, found: int | None) -> None:
        where = "the stream ends below it" if found is None else f"next entry is {found}"
        super().__init__(f"hole in the live stream after seq {after}: {where}")
        self.after = after
        self.found = found


# -- bounded thread pools (storage.pools) -------------------------------------------------------


class PoolFull(StorageError):
    """A bounded pool's threads are busy and its waiting line is full: refused at once.

    Raised instead of queueing without end (300 queued argon2 logins at ~0.26 s each keep two
    threads busy for ~40 s, mostly for clients long gone); the caller should retry shortly.
    ``pool`` names the pool.
    """

    def __init__(self, pool: str) -> None:
        super().__init__(f"the {pool} pool is full")
        self.pool = pool


# -- browser phones' SIP credentials (storage.sip_credentials) -----------------------------------


class SipCredentialStoreError(StorageError):
    """The store of browser phones' session credentials could not be read or written."""


class EventLogUnavailable(StorageError):
    """The event log's rows could not be written to SQL (the file copy is unaffected)."""


class InvalidReportPeriod(StorageError, ValueError):
    """A report's period has naive bounds or ends before it starts."""
