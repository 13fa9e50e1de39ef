"""A report as HTML (with inline SVG charts), CSV, or PDF (WeasyPrint, from the same HTML)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html import escape

from reports.errors import ReportRenderError
from reports.figures import Report
from reports.labels import Language, label
from reports.svg_chart import bar_chart
from reports.tables import Table, report_tables
from storage.report_queries import NO_CONTACTS

STYLESHEET = """
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; margin: 0; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .4em 0; font-size: 7pt; max-width: 100%; }
th, td { border: 1px solid #bbb; padding: 1px 3px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #e8eef5; }
@page { size: A4 landscape; margin: 1cm; }
@media screen {
  body { margin: 1rem 1.5rem; max-width: 80rem; }
  table { font-size: 9pt; }
  figure { margin: 0; } svg { max-width: 100%; height: auto; }
}
"""
"""The report's style: inline in the PDF's HTML, a file of its own where a page is served under
a Content-Security-Policy without inline styles (``render_html(..., stylesheet=URL)``)."""


def _table_html(table: Table, lang: Language) -> str:
    if not table.rows:  # a header over nothing reads as a broken page: say "none"
        return (
            f'<h2 id="{table.key}">{escape(table.title)}</h2><p>{escape(label("none", lang))}</p>'
        )
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    return f'<h2 id="{table.key}">{escape(table.title)}</h2><table><tr>{head}</tr>{body}</table>'


def render_html(report: Report, lang: Language = "nl", *, stylesheet: str | None = None) -> str:
    """A self-contained page: inline CSS and SVG, no script, nothing fetched from elsewhere.

    With ``stylesheet`` (a same-origin URL serving ``STYLESHEET``) the page links the style
    instead of inlining it, for an app whose CSP allows no inline style."""
    last_day = report.until - timedelta(microseconds=1)  # the period ends before `until`
    period = f"{report.since:%Y-%m-%d} – {last_day:%Y-%m-%d} ({report.since.tzinfo})"
    per_hour = [report.by_hour_of_day.get(h, NO_CONTACTS).contacts for h in range(24)]
    charts = bar_chart([f"{h:02d}" for h in range(24)], per_hour, label("hour", lang))
    categories = report.registrations.get("category", {})
    if categories:
        charts += bar_chart(
            list(categories), [float(n) for n in categories.values()], label("category", lang)
        )
    s = report.settings
    definitions = label("def_text", lang).format(short=s.short_abandon_s)
    note = label("staffing_note", lang).format(level=s.target_service_level, t=s.target_answer_s)
    if not report.occupancy_seconds:
        note += " " + label("no_presence", lang)
    sections = "".join(_table_html(t, lang) for t in report_tables(report, lang))
    if stylesheet is None:
        style = f"<style>{STYLESHEET}</style>"
    else:
        style = f'<link rel="stylesheet" href="{escape(stylesheet)}">'
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(label('title', lang))}</title>{style}</head><body>"
        f"<h1>{escape(label('title', lang))}</h1>"
        f"<p>{escape(label('period', lang))}: {escape(period)}</p>"
        f"<figure>{charts}</figure>{sections}"
        f"<p>{escape(note)}</p><h2>{escape(label('definitions', lang))}</h2>"
        f"<p>{escape(definitions)}</p></body></html>"
    )


def render_csv(report: Report, lang: Language = "nl") -> str:
    """Every table, one after the other: ``section,<columns...>`` lines, a header per section."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in report_tables(report, lang):
        writer.writerow(["section", *(h or table.key for h in table.header)])
        for row in table.rows:
            writer.writerow([table.key, *row])
    return out.getvalue()


def render_pdf(report: Report, lang: Language = "nl") -> bytes:
    """The HTML page printed to PDF by WeasyPrint (A4 landscape)."""
    try:
        from weasyprint import HTML  # imported here: it loads Pango, which a CSV does not need
    except (ImportError, OSError) as exc:
        raise ReportRenderError(f"PDF output needs WeasyPrint and Pango ({exc})") from exc
    pdf = HTML(string=render_html(report, lang)).write_pdf()
    if pdf is None:
        raise ReportRenderError("WeasyPrint returned no PDF")
    return bytes(pdf)
