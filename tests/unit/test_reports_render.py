"""The report as HTML (inline SVG, nothing fetched), CSV and PDF (a page drawn to PNG is not
blank), in Dutch and English, and ``helpline report --format`` on a SQLite file."""

from __future__ import annotations

import csv
import io
import re

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine

from reports.figures import build_report
from reports.labels import LABELS
from reports.render import render_csv, render_html, render_pdf
from storage import db
from tests.report_samples import SINCE, TZ, UNTIL, write_sample


@pytest.fixture
def report(tmp_path):
    engine: Engine = db.make_engine(f"sqlite:///{tmp_path}/r.db")
    db.migrate(engine)
    write_sample(engine)
    yield build_report(engine, SINCE, UNTIL, TZ)
    engine.dispose()


def test_every_label_has_both_languages():
    assert all(set(texts) == {"nl", "en"} and all(texts.values()) for texts in LABELS.values())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_html_is_self_contained_with_charts_and_the_figures(report, lang):
    page = render_html(report, lang)
    assert page.count("<svg") == 2  # contacts per hour, registrations per category
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched
    assert "<script" not in page
    assert LABELS["title"][lang] in page
    # The summary row: 7 contacts, 4 answered, 57.1 % answered, SL20 50.0 / 33.3.
    summary = page.split('id="summary"')[1].split("</table>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", summary)
    assert cells[:9] == ["7", "4", "2", "1", "1", "57.1", "16.7", "50.0", "33.3"]


def test_csv_has_a_section_per_table_and_the_numbers(report):
    rows = list(csv.reader(io.StringIO(render_csv(report, "en"))))
    sections = {row[0] for row in rows if row[0] != "section"}
    assert {"summary", "line", "channel", "location", "hour", "topic", "age_band"} <= sections
    assert {"gender", "referrals", "staffing"} <= sections
    assert ["channel", "chat", "1", "1", "0", "0", "0"] == [
        r for r in rows if r[:2] == ["channel", "chat"]
    ][0][:7]
    assert ["age_band", "12-14", "2"] in rows


def test_the_pdf_renders_a_page_that_is_not_blank(report, tmp_path):
    pdf = render_pdf(report, "nl")
    assert pdf.startswith(b"%PDF")
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=1).to_pil().convert("L")
    finally:
        doc.close()
    image.save(tmp_path / "report-page-1.png")
    histogram = image.histogram()
    dark = sum(histogram[:128])  # text, table lines and bars
    assert dark > 0.002 * image.width * image.height
    assert histogram[255] > 0.5 * image.width * image.height  # and mostly white paper


def test_cli_writes_each_format_and_referrals_still_work(tmp_path, capsys):
    from helpline import cli as cli_main
    from tests.unit.web_support import CONFIG

    path = tmp_path / "helpline.toml"
    db_url = f"sqlite:///{tmp_path}/cli.db"
    path.write_text(CONFIG.format(admin="") + f'\n[database]\nurl = "{db_url}"\n')
    engine = db.make_engine(db_url)
    db.migrate(engine)
    write_sample(engine)
    engine.dispose()
    base = ["-c", str(path), "report", "--from", "2024-03-01", "--to", "2024-03-01"]
    for fmt in ("html", "csv", "pdf"):
        out = tmp_path / f"r.{fmt}"
        assert cli_main.main([*base, "--format", fmt, "--out", str(out), "--lang", "en"]) == 0
        assert out.stat().st_size > 500
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert "summary,7,4,2,1,1" in (tmp_path / "r.csv").read_text()
    capsys.readouterr()
    assert (
        cli_main.main([*base[:3], "referrals", "--from", "2024-03-01", "--to", "2024-03-01"]) == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        "partner,region,referrals",
        "veilig-thuis,utrecht,1",
    ]
    assert cli_main.main([*base[:3], "--format", "csv"]) == 2  # no period
