"""Ad-hoc closures and extra openings in SQL, and the opening-hours answer per line and channel.

Staff add exceptions with ``helpline hours close/open`` or the admin API while the app runs. A
store made with ``on_change`` calls it after every successful write; the service passes
``storage.hours_view.HoursAnnouncer.announce``, so every running app reloads its in-memory
``HoursView`` at once and no call ever waits for SQL. ``HoursService`` reads the store on each
question, for the CLI and the admin API. The evaluation itself is the pure
``ivr.hours.OpeningHours``, per line and channel in ``LineHours``.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from config.settings import HelplineConfig
from ivr.hours import ALL_SCHEDULES, ExceptionKind, HoursException, HoursStatus, OpeningHours
from ivr.hours_config import CHANNELS, ScheduleConfig, configured_schedules, line_schedule
from storage.errors import (
    HoursStoreError,
    InvalidHoursException,
    UnknownHoursException,
    UnknownLine,
)
from storage.models import MAX_HOURS_REASON_LEN, HoursExceptionRow

log = logging.getLogger(__name__)

KINDS: tuple[ExceptionKind, ...] = ("closed", "open")
MAX_REASON_LEN = MAX_HOURS_REASON_LEN
MAX_DURATION = timedelta(days=366)
# A reason is staff text ("staff shortage"); a long digit run could be a caller's number.
_DIGIT_RUN = re.compile(r"\d{6,}")
_SCHEDULE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidHoursException(f"{name}: a timezone-aware time is required")
    return value.astimezone(UTC)


def check_reason(reason: str) -> str:
    """The stripped reason, or InvalidHoursException (never echoing the text back)."""
    if not isinstance(reason, str):
        raise InvalidHoursException("reason: must be text")
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON_LEN:
        raise InvalidHoursException(f"reason: must be 1..{MAX_REASON_LEN} characters")
    if not reason.isprintable():
        raise InvalidHoursException("reason: must be a single line of printable text")
    if _DIGIT_RUN.search(reason):
        raise InvalidHoursException("reason: must not contain long numbers (phone numbers)")
    return reason


def _value(row: Any) -> HoursException:  # a Core Row of hours_exceptions
    return HoursException(
        id=int(row.id),
        schedule=row.schedule,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        kind=cast(ExceptionKind, row.kind),
        reason=row.reason,
    )


class HoursExceptionStore:
    """Adds, lists and removes closures/extra openings; validates against known schedules.

    ``on_change`` is called (blocking, in the writing thread) after every committed add or
    remove. It must not raise; if it does anyway the write still stands and the error is
    logged, because the running apps' periodic refresh picks the change up regardless.
    """

    def __init__(
        self,
        engine: Engine,
        schedules: Collection[str] | None = None,
        *,
        on_change: Callable[[], object] | None = None,
    ) -> None:
        self._engine = engine
        self._schedules = frozenset(schedules) if schedules is not None else None
        self._on_change = on_change

    @classmethod
    def from_config(
        cls,
        engine: Engine,
        cfg: HelplineConfig,
        *,
        on_change: Callable[[], object] | None = None,
    ) -> HoursExceptionStore:
        """A store accepting the config's schedule names (and "*")."""
        return cls(engine, configured_schedules(cfg), on_change=on_change)

    def _changed(self) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change()
        except Exception:
            log.exception("announcing an opening-hours change failed; apps reload on their own")

    def add(
        self,
        schedule: str,
        starts_at: datetime,
        ends_at: datetime,
        kind: str,
        reason: str,
        *,
        now: datetime | None = None,
    ) -> HoursException:
        """Store a closure (``kind="closed"``) or extra opening (``"open"``); returns it."""
        starts = _aware("starts_at", starts_at)
        ends = _aware("ends_at", ends_at)
        current = _aware("now", now) if now is not None else datetime.now(UTC)
        if ends <= starts:
            raise InvalidHoursException("ends_at: must be after starts_at")
        if ends <= current:
            raise InvalidHoursException("ends_at: is in the past")
        if ends - starts > MAX_DURATION:
            raise InvalidHoursException("ends_at: an exception lasts at most 366 days")
        if kind not in KINDS:
            raise InvalidHoursException(f"kind: must be one of {', '.join(KINDS)}")
        if schedule != ALL_SCHEDULES and not self._known_schedule(schedule):
            known = ", ".join(sorted(self._schedules or ())) or "none"
            raise InvalidHoursException(
                f"schedule: {schedule!r} is not a configured schedule or '*' (configured: {known})"
            )
        text = check_reason(reason)
        values = {
            "schedule": schedule,
            "starts_at": starts,
            "ends_at": ends,
            "kind": kind,
            "reason": text,
            "created_at": current,
        }
        try:
            with self._engine.begin() as conn:
                result = conn.execute(
                    insert(HoursExceptionRow).returning(HoursExceptionRow.id), [values]
                )
                new_id = int(result.scalar_one())
        except SQLAlchemyError as exc:
            raise HoursStoreError(f"could not store the exception: {type(exc).__name__}") from exc
        log.info("hours exception %d added: %s %s %s..%s", new_id, kind, schedule, starts, ends)
        added = self.require(new_id)
        self._changed()
        return added

    def _known_schedule(self, schedule: str) -> bool:
        if self._schedules is not None:
            return schedule in self._schedules
        return isinstance(schedule, str) and _SCHEDULE_NAME.fullmatch(schedule) is not None

    def get(self, exception_id: int) -> HoursException | None:
        """The exception with this id, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(HoursExceptionRow).where(HoursExceptionRow.id == exception_id)
            ).first()
        return None if row is None else _value(row)

    def require(self, exception_id: int) -> HoursException:
        """Like get(), but UnknownHoursException when missing."""
        found = self.get(exception_id)
        if found is None:
            raise UnknownHoursException(f"no hours exception {exception_id}")
        return found

    def list(
        self, active_at: datetime | None = None, *, now: datetime | None = None
    ) -> builtins.list[HoursException]:
        """Exceptions in force at ``active_at``; without it, all not yet over at ``now``."""
        if active_at is not None:
            return self.active(active_at)
        return self.upcoming(now if now is not None else datetime.now(UTC))

    def upcoming(self, now: datetime) -> builtins.list[HoursException]:
        """Exceptions that have not ended at ``now`` (current and future), by start time."""
        at = _aware("now", now)
        stmt = (
            select(HoursExceptionRow)
            .where(HoursExceptionRow.ends_at > at)
            .order_by(HoursExceptionRow.starts_at, HoursExceptionRow.id)
        )
        with self._engine.connect() as conn:
            return [_value(row) for row in conn.execute(stmt)]

    def active(self, now: datetime) -> builtins.list[HoursException]:
        """Exceptions in force at ``now``."""
        at = _aware("now", now)
        return [e for e in self.upcoming(at) if e.starts_at <= at]

    def remove(self, exception_id: int) -> HoursException:
        """Delete an exception (past, current or future); returns what was removed."""
        found = self.require(exception_id)
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(HoursExceptionRow).where(HoursExceptionRow.id == exception_id)
            )
        if result.rowcount == 0:
            raise UnknownHoursException(f"no hours exception {exception_id}")
        log.info("hours exception %d removed", exception_id)
        self._changed()
        return found


class LineHours:
    """The configured schedules per line and channel; pure, the exceptions are passed in."""

    def __init__(self, cfg: HelplineConfig) -> None:
        self.cfg = cfg
        schedules: Mapping[str, ScheduleConfig] = configured_schedules(cfg)
        tz = cfg.helpline.timezone
        self._hours = {name: OpeningHours(s, tz, name) for name, s in schedules.items()}
        self._by_line = {
            (line.id, channel): line_schedule(line, channel)
            for line in cfg.lines
            for channel in CHANNELS
        }

    def schedule_for(self, line_id: str, channel: str) -> str:
        """The schedule name the line uses on ``channel``; UnknownLine otherwise."""
        found = self._by_line.get((line_id, channel))
        if found is not None:
            return found
        if channel not in CHANNELS:
            raise UnknownLine(f"channel: must be one of {', '.join(CHANNELS)}")
        raise UnknownLine(f"no line {line_id!r}")

    def hours(self, schedule: str) -> OpeningHours:
        """The evaluator for a configured schedule."""
        return self._hours[schedule]

    def schedules(self) -> builtins.list[str]:
        """Every configured schedule name."""
        return builtins.list(self._hours)

    def pairs(self) -> builtins.list[tuple[str, str]]:
        """(line id, channel) for every line and channel, in configuration order."""
        return builtins.list(self._by_line)

    def evaluate(
        self, line_id: str, channel: str, now: datetime, exceptions: Sequence[HoursException]
    ) -> HoursStatus:
        """Open at ``now`` given ``exceptions``?"""
        return self._hours[self.schedule_for(line_id, channel)].evaluate(now, exceptions)


class HoursService:
    """Config schedules plus stored exceptions, read from SQL on every question (blocking).

    For the CLI and the admin API, which want the store's current truth. The running app asks
    ``storage.hours_view.HoursView`` instead, which holds the exceptions in memory.
    """

    def __init__(self, cfg: HelplineConfig, store: HoursExceptionStore) -> None:
        self.cfg = cfg
        self.store = store
        self.lines = LineHours(cfg)

    def schedule_for(self, line_id: str, channel: str) -> str:
        """The schedule name the line uses on ``channel``."""
        return self.lines.schedule_for(line_id, channel)

    def hours(self, schedule: str) -> OpeningHours:
        """The evaluator for a configured schedule."""
        return self.lines.hours(schedule)

    def status(self, line_id: str, channel: str, now: datetime) -> HoursStatus:
        """Open now? Reads the exceptions from the store (blocking: use a thread in async code)."""
        self.schedule_for(line_id, channel)  # UnknownLine before any I/O
        return self.lines.evaluate(line_id, channel, now, self.store.upcoming(now))

    def all_statuses(self, now: datetime) -> builtins.list[tuple[str, str, HoursStatus]]:
        """(line id, channel, status) for every line and channel, with one store read."""
        exceptions = self.store.upcoming(now)
        return [
            (line_id, channel, self.lines.evaluate(line_id, channel, now, exceptions))
            for line_id, channel in self.lines.pairs()
        ]
