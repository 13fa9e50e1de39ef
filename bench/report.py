"""The yearly report over a year of synthetic contacts in PostgreSQL.

Creates a fresh database on the machine's PostgreSQL (127.0.0.1:5432, user postgres), migrates
it, loads a year (2025) of ~200,000 contacts with registrations and topics and an hour-by-hour
volunteer presence (COPY, seeded: the same data every run), times ``build_report`` plus the
HTML page for the whole year, and drops the database. Not part of ``make test``.

    python bench/report.py [--contacts N] [--seed S] [--keep]

Prints ``report_year_s=<seconds>`` (the figures and the HTML page; target < 5) last, after
``report_year_pdf_s=`` (the same year drawn to PDF as well) and the load time.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.figures import build_report  # noqa: E402
from reports.render import render_html, render_pdf  # noqa: E402
from storage import db  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TZ = ZoneInfo("Europe/Amsterdam")
YEAR_START = datetime(2025, 1, 1, tzinfo=TZ)
YEAR_END = datetime(2026, 1, 1, tzinfo=TZ)
LOCATIONS = ["groningen", "almelo", "rotterdam", "nijmegen", "utrecht", "amsterdam", "tilburg"]
# Children call after school and in the evening: relative arrivals per local hour.
HOURLY = [1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 12, 11, 11, 12, 12, 10, 6, 3]
AGE_BANDS = ["8-11", "12-14", "15-17", "18+", "unknown"]
GENDERS = ["girl", "boy", "other", "unknown"]
TOPICS = [
    ("violence", "violence.physical"), ("violence", "violence.sexual"), ("bullying", None),
    ("relationships", "relationships.love"), ("family", "family.divorce"),
    ("mental_health", "mental_health.suicide"), ("sexuality", None), ("school", None),
]  # fmt: skip
PARTNERS = [("veilig-thuis", "utrecht"), ("veilig-thuis", "gelderland-zuid"), ("113", None)]


@contextlib.contextmanager
def fresh_database(keep: bool) -> Iterator[str]:
    name = f"helpline_bench_report_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def _arrivals(n: int, rng: random.Random) -> list[datetime]:
    hours = int((YEAR_END - YEAR_START).total_seconds() // 3600)
    weights = [HOURLY[(YEAR_START + timedelta(hours=h)).astimezone(TZ).hour] for h in range(hours)]
    picked = rng.choices(range(hours), weights=weights, k=n)
    start = YEAR_START.astimezone(UTC)
    return sorted(start + timedelta(hours=h, seconds=rng.random() * 3600) for h in picked)


def load(url: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cols = (
            "id, channel, line_id, language, priority, arrived_at, answered_at, ended_at, wait_s,"
            " talk_s, outcome, overflow_reason, volunteer_id, location_id, referral_partner,"
            " referral_region, referral_consent, referral_volunteer_stayed"
        )
        regs: list[tuple[object, ...]] = []
        topics: list[tuple[str, str, str]] = []
        with cur.copy(f"COPY contact_records ({cols}) FROM STDIN") as copy:
            for at in _arrivals(n, rng):
                cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                channel = "chat" if rng.random() < 0.4 else "phone"
                line = "116111" if rng.random() < 0.9 else "0800"
                wait = rng.expovariate(1 / 35)
                roll = rng.random()
                if roll < 0.78:
                    talk = rng.lognormvariate(math.log(420 if channel == "phone" else 900), 0.6)
                    loc = rng.choice(LOCATIONS)
                    partner, region = rng.choice(PARTNERS) if rng.random() < 0.02 else (None, None)
                    copy.write_row((
                        cid, channel, line, "nl", 0, at, at + timedelta(seconds=wait),
                        at + timedelta(seconds=wait + talk), wait, talk, "answered", None,
                        f"v{rng.randrange(600)}", loc, partner, region,
                        True if partner else None, False if partner else None,
                    ))  # fmt: skip
                    if rng.random() < 0.85:
                        regs.append((cid, rng.choice(AGE_BANDS), rng.choice(GENDERS), at))
                        for cat, sub in rng.sample(TOPICS, rng.randint(1, 2)):
                            topics.append((cid, sub or cat, cat))
                else:
                    outcome = "abandoned" if roll < 0.97 else "overflowed"
                    reason = "max_wait" if outcome == "overflowed" else None
                    copy.write_row((
                        cid, channel, line, "nl", 0, at, None, at + timedelta(seconds=wait),
                        wait, None, outcome, reason, None, None, None, None, None, None,
                    ))  # fmt: skip
        with cur.copy(
            "COPY registrations (contact_id, volunteer_id, contact_type, age_band, gender,"
            " saved_at) FROM STDIN"
        ) as copy:
            for cid, age, gender, at in regs:
                copy.write_row((cid, "v1", "counselling", age, gender, at))
        with cur.copy("COPY registration_topics (contact_id, topic, category) FROM STDIN") as copy:
            for row in topics:
                copy.write_row(row)
        with cur.copy(
            "COPY agent_presence (hour_start, location_id, state, seconds) FROM STDIN"
        ) as copy:
            hour = YEAR_START.astimezone(UTC)
            while hour < YEAR_END:
                scale = HOURLY[hour.astimezone(TZ).hour]
                for loc in LOCATIONS:
                    on = 3600.0 * scale * rng.uniform(0.4, 0.8)
                    for state, share in (("available", 0.3), ("busy", 0.5), ("wrap_up", 0.1),
                                         ("paused", 0.1)):  # fmt: skip
                        copy.write_row((hour, loc, state, on * share))
                hour += timedelta(hours=1)
        conn.commit()
        cur.execute("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=116111)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    with fresh_database(args.keep) as url:
        engine = db.make_engine(url)
        try:
            db.migrate(engine)
            started = time.perf_counter()
            load(url, args.contacts, args.seed)
            print(f"load_s={time.perf_counter() - started:.1f} contacts={args.contacts}")
            started = time.perf_counter()
            report = build_report(engine, YEAR_START, YEAR_END, TZ)
            page = render_html(report, "nl")
            year_s = time.perf_counter() - started
            started = time.perf_counter()
            pdf = render_pdf(report, "nl")
            pdf_s = time.perf_counter() - started + year_s
            print(f"contacts_counted={report.total.contacts} html_bytes={len(page)}")
            print(f"pdf_bytes={len(pdf)}")
            print(f"report_year_pdf_s={pdf_s:.2f}")
            print(f"report_year_s={year_s:.2f}")
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
