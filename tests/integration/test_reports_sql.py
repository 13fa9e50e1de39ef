"""The report on PostgreSQL: the same hand-counted figures as on SQLite, and the PDF of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.integration.databases import migrated_engine, throwaway_postgres
from tests.unit.test_reports_figures import check_report_figures

pytestmark = pytest.mark.integration


@pytest.fixture
def engine() -> Iterator[Engine]:
    with throwaway_postgres("helpline_reports") as url, migrated_engine(url) as eng:
        yield eng


def test_report_figures_equal_the_hand_count_on_postgresql(engine):
    check_report_figures(engine)


def test_migration_0008_on_postgresql():
    from storage import db
    from tests.unit.test_reports_queue_log import check_migration_0008

    with throwaway_postgres("helpline_reports_mig") as url:
        engine = db.make_engine(url)
        try:
            check_migration_0008(engine)
        finally:
            engine.dispose()
