"""``helpline report ...``: figures from the anonymous contact records.

``helpline report --from 2026-01-01 --to 2026-12-31 --format html|csv|pdf [--out FILE]
[--lang nl|en]`` writes the whole report (``reports.figures``) for those local days, with a
progress bar on stderr (months queried) when stderr is a terminal.

``helpline report referrals --from 2026-01-01 --to 2026-01-31`` counts the referrals to
partners of the contacts that arrived on those days (both included, local days in
``[helpline] timezone``), per partner and region; ``--by partner`` adds the regions up. Exit
codes: 0 ok, 2 for a user error (bad config or date), 1 when the database fails.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from tqdm import tqdm

from config.settings import HelplineConfig
from helpline.cli_support import run_with_database
from helpline.errors import CliUserError
from reports.errors import ReportError
from reports.figures import ReportSettings, build_report, progress_total
from reports.referrals import referrals_per_partner, referrals_per_region
from reports.render import render_csv, render_html, render_pdf


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` command group to the top-level parser."""
    parser = subparsers.add_parser("report", help="counts from the anonymous contact records")
    parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (included)")
    parser.add_argument("--format", choices=FORMATS, default="html", help="output format")
    parser.add_argument("--out", help="file to write (default: standard output; needed for pdf)")
    parser.add_argument("--lang", choices=("nl", "en"), default="nl", help="labels' language")
    parser.set_defaults(func=_cmd_report)
    sub = parser.add_subparsers(dest="report_command")
    referrals = sub.add_parser(
        "referrals", help="referrals to partners per partner and region, as CSV"
    )
    referrals.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    referrals.add_argument(
        "--to", dest="last", required=True, help="last day, YYYY-MM-DD (included)"
    )
    referrals.add_argument(
        "--by",
        choices=("region", "partner"),
        default="region",
        help="one row per partner and region (default), or per partner",
    )
    referrals.set_defaults(func=_cmd_referrals)


FORMATS = ("html", "csv", "pdf")


def _cmd_report(args: argparse.Namespace) -> int:
    if args.first is None or args.last is None:
        print("helpline report: --from and --to are required", file=sys.stderr)
        return 2
    if args.format == "pdf" and args.out is None and sys.stdout.isatty():
        print("helpline report: a PDF needs --out FILE (or a pipe)", file=sys.stderr)
        return 2

    def body(cfg: HelplineConfig, engine: Engine) -> None:
        tz = ZoneInfo(cfg.helpline.timezone)
        since, until = local_days(args.first, args.last, tz)
        r = cfg.reports
        settings = ReportSettings(r.short_abandon_s, r.target_answer_s, r.target_service_level)
        total = progress_total(since, until, tz)
        # disable=None: a bar only on a terminal, so a cron job's log stays clean.
        with tqdm(total=total, desc="report", unit="query", disable=None, file=sys.stderr) as bar:
            report = build_report(engine, since, until, tz, settings, progress=bar.update)
        try:
            if args.format == "pdf":
                _write(args.out, render_pdf(report, args.lang))
            elif args.format == "csv":
                _write(args.out, render_csv(report, args.lang).encode())
            else:
                _write(args.out, render_html(report, args.lang).encode())
        except ReportError as exc:
            raise CliUserError(str(exc)) from exc

    return run_with_database("helpline report", args.config, (CliUserError,), body)


def _write(out: str | None, data: bytes) -> None:
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise CliUserError(f"cannot write {out}: {exc.strerror}") from exc


def _cmd_referrals(args: argparse.Namespace) -> int:
    def body(cfg: HelplineConfig, engine: Engine) -> None:
        since, until = local_days(args.first, args.last, ZoneInfo(cfg.helpline.timezone))
        out = csv.writer(sys.stdout, lineterminator="\n")
        if args.by == "partner":
            out.writerow(["partner", "referrals"])
            for p in referrals_per_partner(engine, since, until):
                out.writerow([p.partner_id, p.referrals])
        else:
            out.writerow(["partner", "region", "referrals"])
            for r in referrals_per_region(engine, since, until):
                out.writerow([r.partner_id, r.region or "", r.referrals])

    return run_with_database("helpline report", args.config, (CliUserError,), body)


def local_days(first: str, last: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start of first, start of the day after last)`` in ``tz``; CliUserError if not dates."""
    days = []
    for text in (first, last):
        try:
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise CliUserError(f"{text!r}: expected a date, YYYY-MM-DD") from None
    if days[1] < days[0]:
        raise CliUserError(f"--to {last} is before --from {first}")
    since = datetime.combine(days[0], time(), tz)
    until = datetime.combine(days[1] + timedelta(days=1), time(), tz)
    return since, until
