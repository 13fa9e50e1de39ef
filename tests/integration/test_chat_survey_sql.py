"""The chat survey's counts on SQLite and on the real PostgreSQL (a throwaway database):
migration 0009 up and down, counting per day/channel/question/answer, concurrent answers,
refusals, and nothing but counts in the table."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, delete, inspect

from storage import db
from storage.chat_survey import ChatSurveyCounts
from storage.errors import InvalidSurvey
from storage.models import ChatSurveyCount
from tests.integration.databases import BACKENDS, migrated_backend, throwaway_postgres

D1, D2 = date(2026, 12, 3), date(2026, 12, 4)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("helpline_survey") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def migrated(request, tmp_path_factory) -> Iterator[Engine]:
    with migrated_backend(request, tmp_path_factory.mktemp("survey")) as engine:
        yield engine


@pytest.fixture
def engine(migrated: Engine) -> Iterator[Engine]:
    with migrated.begin() as conn:
        conn.execute(delete(ChatSurveyCount))
    yield migrated


def test_answers_are_counted_per_day_channel_question_and_answer(engine):
    survey = ChatSurveyCounts(engine)
    survey.add(D1, "chat", {"helped": "yes", "again": "yes"})
    survey.add(D1, "chat", {"helped": "yes", "again": "no"})
    survey.add(D1, "peer_chat", {"helped": "partly", "again": "yes"})
    survey.add(D2, "chat", {"helped": "no", "again": "no"})
    assert survey.counts(D1, D1) == {
        ("chat", "helped", "yes"): 2,
        ("chat", "again", "yes"): 1,
        ("chat", "again", "no"): 1,
        ("peer_chat", "helped", "partly"): 1,
        ("peer_chat", "again", "yes"): 1,
    }
    assert survey.counts(D1, D2)[("chat", "again", "no")] == 2
    columns = {c["name"] for c in inspect(engine).get_columns("chat_survey_counts")}
    assert columns == {"day", "channel", "question", "answer", "count"}  # counts only


def test_unknown_values_are_refused_and_nothing_is_written(engine):
    survey = ChatSurveyCounts(engine)
    with pytest.raises(InvalidSurvey):
        survey.add(D1, "phone", {"helped": "yes"})
    with pytest.raises(InvalidSurvey):
        survey.add(D1, "chat", {"helped": "yes", "again": "maybe"})
    assert survey.counts(D1, D2) == {}


def test_concurrent_answers_all_count(engine):
    survey = ChatSurveyCounts(engine)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def answer() -> None:
        try:
            barrier.wait(5)
            for _ in range(5):
                survey.add(D1, "chat", {"helped": "yes", "again": "yes"})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if engine.dialect.name == "sqlite" and errors:
        pytest.skip("SQLite serialises writers; a locked database is its own limit")
    assert errors == []
    assert survey.counts(D1, D1)[("chat", "helped", "yes")] == 40


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0009_up_and_down(backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/m.db"
        _up_down(url)
    else:
        with throwaway_postgres("helpline_survey_m") as url:
            _up_down(url)


def _up_down(url: str) -> None:
    engine = db.make_engine(url)
    try:
        db.migrate(engine)
        assert "chat_survey_counts" in inspect(engine).get_table_names()
        db.downgrade(engine, "0008")
        assert "chat_survey_counts" not in inspect(engine).get_table_names()
        db.migrate(engine)
        assert "chat_survey_counts" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
