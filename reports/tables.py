"""A report as titled tables of text cells: what the HTML, the PDF and the CSV all show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reports import metrics
from reports.figures import Report
from reports.labels import Language, label
from storage.report_queries import THRESHOLDS_S, ContactCounts


@dataclass(frozen=True, slots=True)
class Table:
    """One section of the report."""

    key: str
    """Stable id of the section (CSV's first column)."""
    title: str
    """Heading in the report's language."""
    header: list[str]
    """Column names."""
    rows: list[list[str]]
    """Cells, as text."""


def pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def contact_header(lang: Language) -> list[str]:
    header = [label(k, lang) for k in ("contacts", "answered", "abandoned", "short_abandoned")]
    header += [label(k, lang) for k in ("overflowed", "answered_rate", "abandon_rate")]
    for t in THRESHOLDS_S:
        header.append(label("sl_answered", lang).format(t=t))
        header.append(label("sl_with_abandons", lang).format(t=t))
    return header + [label("asa", lang), label("aht", lang)]


def contact_cells(c: ContactCounts) -> list[str]:
    cells = [str(c.contacts), str(c.answered), str(c.abandoned), str(c.short_abandoned)]
    cells += [str(c.overflowed), pct(metrics.answered_rate(c)), pct(metrics.abandon_rate(c))]
    for t in THRESHOLDS_S:
        cells.append(pct(metrics.service_level_answered(c, t)))
        cells.append(pct(metrics.service_level_with_abandons(c, t)))
    return cells + [num(metrics.asa_s(c)), num(metrics.aht_s(c))]


def report_tables(report: Report, lang: Language) -> list[Table]:
    """Every section, in reading order."""
    head = contact_header(lang)
    occ = label("occupancy", lang)
    total = contact_cells(report.total) + [pct(metrics.occupancy(report.occupancy_seconds))]
    tables = [Table("summary", label("summary", lang), head + [occ], [total])]
    for dim in ("line", "channel"):
        rows = [[k, *contact_cells(c)] for k, c in report.by[dim].items()]
        tables.append(Table(dim, label(dim, lang), ["", *head], rows))
    locations = sorted(set(report.by["location"]) | set(report.occupancy_by_location))
    rows = []
    for loc in locations:
        counts = report.by["location"].get(loc)
        cells = contact_cells(counts) if counts is not None else [""] * len(head)
        seconds = report.occupancy_by_location.get(loc, {})
        rows.append([loc, *cells, pct(metrics.occupancy(seconds))])
    tables.append(Table("location", label("location", lang), ["", *head, occ], rows))
    rows = [[f"{h:02d}", *contact_cells(c)] for h, c in report.by_hour_of_day.items()]
    tables.append(Table("hour", label("hour", lang), ["", *head], rows))
    for dim, registered in report.registrations.items():
        rows = [[k, str(n)] for k, n in registered.items()]
        tables.append(Table(dim, label(dim, lang), ["", label("count", lang)], rows))
    rows = [[p.partner_id, str(p.referrals)] for p in report.referrals]
    tables.append(
        Table(
            "referrals",
            label("referrals", lang),
            [label("partner", lang), label("count", lang)],
            rows,
        )
    )
    rows = [[r.partner_id, r.region or "-", str(r.referrals)] for r in report.referral_regions]
    header = [label("partner", lang), label("region", lang), label("count", lang)]
    tables.append(Table("referral_regions", label("referral_regions", lang), header, rows))
    tables.append(staffing_table(report, lang))
    return tables


def staffing_table(report: Report, lang: Language) -> Table:
    """Hours of the week as rows (Mon 00 .. Sun 23); needed / logged in / arrivals per hour."""
    days = label("weekdays", lang).split()
    header = ["", "arrivals/h", "AHT (s)", "Erlang", "needed", "logged in"]
    if lang == "nl":
        header = ["", "contacten/uur", "AHT (s)", "Erlang", "nodig", "ingelogd"]
    cell: Callable[[float | None], str] = num
    rows = [
        [
            f"{days[s.weekday]} {s.hour:02d}",
            f"{s.arrivals_per_hour:.2f}",
            cell(s.aht_s),
            f"{s.traffic_erlang:.2f}",
            "" if s.needed is None else str(s.needed),
            cell(s.logged_in),
        ]
        for s in report.staffing
        if s.arrivals_per_hour > 0 or (s.logged_in or 0) > 0
    ]
    return Table("staffing", label("staffing", lang), header, rows)
