"""``helpline hours ...``: are we open, and ad-hoc closures/extra openings that apply at once.

Times are local wall-clock times in ``[helpline] timezone`` ("YYYY-MM-DD HH:MM") or "now".
After a change the command announces it on Redis, and every running app reloads its
opening hours at once; no restart is needed. If Redis cannot be told, the change is still saved
(exit 0), a warning says so, and the apps pick it up within ``[hours] refresh_s``. Exit codes:
0 ok, 2 for a user error (bad config, time or id) with one line on stderr, 1 when the database
fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config.settings import HelplineConfig
from helpline.cli_support import run_with_database
from helpline.errors import CliUserError
from ivr.hours import ALL_SCHEDULES, HoursException, HoursStatus, days_until
from ivr.hours_config import CHANNELS
from storage.errors import InvalidHoursException, UnknownHoursException, UnknownLine
from storage.hours_store import HoursExceptionStore, HoursService
from storage.hours_view import HoursAnnouncer

TIME_FORMAT = "%Y-%m-%d %H:%M"


def _now() -> datetime:
    """The current time (tests replace this)."""
    return datetime.now(UTC)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``hours`` command group to the top-level parser."""
    parser = subparsers.add_parser("hours", help="opening hours, closures and extra openings")
    sub = parser.add_subparsers(dest="hours_command", required=True)

    status = sub.add_parser("status", help="open now? until when, or when we open again")
    status.add_argument("--line", default=None, help="a line id (default: every line)")
    status.add_argument("--channel", choices=CHANNELS, default=None)
    status.set_defaults(func=_wrap(_cmd_status))

    for name, helptext in (
        ("close", "close (e.g. staff shortage) from ... until ..."),
        ("open", "open outside the schedule from ... until ..."),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--from", dest="start", required=True, help='"YYYY-MM-DD HH:MM" or "now"')
        p.add_argument("--until", dest="end", required=True, help='"YYYY-MM-DD HH:MM"')
        p.add_argument("--reason", required=True, help="short staff text, e.g. 'staff shortage'")
        p.add_argument(
            "--schedule", default=ALL_SCHEDULES, help="a schedule name (default: all, '*')"
        )
        p.set_defaults(func=_wrap(_cmd_close if name == "close" else _cmd_open))

    lst = sub.add_parser("list", help="current and future closures and extra openings")
    lst.set_defaults(func=_wrap(_cmd_list))

    rm = sub.add_parser("remove", help="delete a closure or extra opening by id")
    rm.add_argument("id", type=int)
    rm.set_defaults(func=_wrap(_cmd_remove))


@dataclass(frozen=True, slots=True)
class _Env:
    """What every subcommand gets."""

    cfg: HelplineConfig
    tz: ZoneInfo
    store: HoursExceptionStore
    now: datetime


_Command = Callable[[argparse.Namespace, _Env], None]


def _wrap(cmd: _Command) -> Callable[[argparse.Namespace], int]:
    """Load config, migrate, run ``cmd`` and map our errors to exit codes."""

    def run(args: argparse.Namespace) -> int:
        def body(cfg: HelplineConfig, engine: Engine) -> None:
            # Connects only to announce; a failure is printed below, not logged as well.
            announcer = HoursAnnouncer.from_config(cfg, log_failures=False)
            try:
                store = HoursExceptionStore.from_config(engine, cfg, on_change=announcer.announce)
                cmd(args, _Env(cfg, ZoneInfo(cfg.helpline.timezone), store, _now()))
            finally:
                announcer.close()
            if announcer.last_error is not None:
                print(
                    f"helpline hours: warning: saved, but running apps could not be told at "
                    f"once (Redis: {announcer.last_error}); they apply it within "
                    f"{cfg.hours.refresh_s:g} s",
                    file=sys.stderr,
                )

        user_errors = (InvalidHoursException, UnknownHoursException, UnknownLine, CliUserError)
        return run_with_database("helpline hours", args.config, user_errors, body)

    return run


def parse_local(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """``"now"`` or a local ``"YYYY-MM-DD HH:MM"`` as aware UTC; CliUserError otherwise.

    A time in the autumn repeat hour means its first occurrence; one in the spring gap does
    not exist and is refused.
    """
    if text.strip().lower() == "now":
        return now
    try:
        wall = datetime.strptime(text.strip().replace("T", " "), TIME_FORMAT)
    except ValueError:
        raise CliUserError(f'{text!r}: expected "YYYY-MM-DD HH:MM" or "now"') from None
    instant = wall.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        raise CliUserError(f"{text!r} does not exist in {tz.key} (clocks jump forward)")
    return instant


def format_when(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """``"20:00"``, ``"tomorrow 11:00"`` or ``"Mon 2025-06-09 11:00"`` in local time."""
    days = days_until(now, at, tz)
    clock = at.astimezone(tz).strftime("%H:%M")
    if days == 0:
        return clock
    if days == 1:
        return f"tomorrow {clock}"
    return at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def format_status(status: HoursStatus, now: datetime, tz: ZoneInfo) -> str:
    """``OPEN until 20:00 (schedule)`` / ``CLOSED, opens tomorrow 11:00 (holiday:...)``."""
    if status.open:
        until = (
            f" until {format_when(status.closes_at, now, tz)}"
            if status.closes_at
            else " (no closing within 14 days)"
        )
        return f"OPEN{until} ({status.reason})"
    opens = (
        f", opens {format_when(status.opens_at, now, tz)}"
        if status.opens_at
        else ", no opening within 14 days"
    )
    return f"CLOSED{opens} ({status.reason})"


def _cmd_status(args: argparse.Namespace, env: _Env) -> None:
    service = HoursService(env.cfg, env.store)
    lines = [args.line] if args.line else [line.id for line in env.cfg.lines]
    channels = [args.channel] if args.channel else list(CHANNELS)
    print(f"now: {env.now.astimezone(env.tz).strftime(TIME_FORMAT)} {env.tz.key}")
    rows = []
    for line_id in lines:
        for channel in channels:
            schedule = service.schedule_for(line_id, channel)
            status = service.status(line_id, channel, env.now)
            rows.append((line_id, channel, schedule, format_status(status, env.now, env.tz)))
    print(_table(("LINE", "CHANNEL", "SCHEDULE", "STATUS"), rows), end="")


def _add(args: argparse.Namespace, env: _Env, kind: str) -> None:
    start = parse_local(args.start, env.tz, env.now)
    end = parse_local(args.end, env.tz, env.now)
    added = env.store.add(args.schedule, start, end, kind, args.reason, now=env.now)
    what = "closed" if kind == "closed" else "extra opening for"
    target = "all schedules" if added.schedule == ALL_SCHEDULES else f"schedule {added.schedule}"
    print(f"{what} {target}: {_span(added, env.tz)} ({added.reason}) [id {added.id}]")


def _cmd_close(args: argparse.Namespace, env: _Env) -> None:
    _add(args, env, "closed")


def _cmd_open(args: argparse.Namespace, env: _Env) -> None:
    _add(args, env, "open")


def _cmd_list(args: argparse.Namespace, env: _Env) -> None:
    print(format_exceptions(env.store.list(now=env.now), env.tz), end="")


def _cmd_remove(args: argparse.Namespace, env: _Env) -> None:
    removed = env.store.remove(args.id)
    print(f"removed {removed.kind} {_span(removed, env.tz)} ({removed.reason}) [id {removed.id}]")


def _span(e: HoursException, tz: ZoneInfo) -> str:
    start = e.starts_at.astimezone(tz).strftime(TIME_FORMAT)
    end = e.ends_at.astimezone(tz).strftime(TIME_FORMAT)
    return f"{start} - {end}"


def format_exceptions(exceptions: Sequence[HoursException], tz: ZoneInfo) -> str:
    """A plain-text table of exceptions in local time."""
    if not exceptions:
        return "no current or upcoming closures or extra openings\n"
    rows = [
        (
            str(e.id),
            e.kind,
            e.schedule,
            e.starts_at.astimezone(tz).strftime(TIME_FORMAT),
            e.ends_at.astimezone(tz).strftime(TIME_FORMAT),
            e.reason,
        )
        for e in exceptions
    ]
    return _table(("ID", "KIND", "SCHEDULE", "FROM", "UNTIL", "REASON"), rows)


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    all_rows = [headers, *rows]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in all_rows
    ]
    return "\n".join(lines) + "\n"
