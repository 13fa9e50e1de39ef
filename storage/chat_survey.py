"""The chat survey's answers, counted per day, channel, question and answer.

A child answers two questions after a chat (``web.chat_api``); only the count of each answer
per day is kept, with no chat id or time, so an answer cannot be traced to a conversation.
Every value is checked against the known questions before it is written.

Synchronous and blocking: the web layer calls it in a worker thread.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from storage.errors import InvalidSurvey, SurveyUnavailable
from storage.models import SURVEY_CHANNELS, ChatSurveyCount

QUESTIONS: dict[str, tuple[str, ...]] = {
    "helped": ("yes", "no", "partly"),
    "again": ("yes", "no"),
}
"""The survey's questions and their answers (the API's ``POST /api/v1/chat/survey``)."""


class ChatSurveyCounts:
    """Implements ``chat.ports.SurveyCounts`` on SQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, day: date, channel: str, answers: dict[str, str]) -> None:
        """Count one answer per question; ``InvalidSurvey`` for an unknown value (nothing is
        written then), ``SurveyUnavailable`` when the database fails."""
        if channel not in SURVEY_CHANNELS:
            raise InvalidSurvey(f"channel: one of {', '.join(SURVEY_CHANNELS)}")
        for question, answer in answers.items():
            if answer not in QUESTIONS.get(question, ()):
                raise InvalidSurvey(f"{question}: not a known question and answer")
        try:
            with self._engine.begin() as conn:
                insert = _insert_for(conn.dialect.name)
                for question, answer in sorted(answers.items()):  # one lock order for all
                    row = {"day": day, "channel": channel, "question": question, "answer": answer}
                    stmt = insert(ChatSurveyCount).values(count=1, **row)
                    conn.execute(
                        stmt.on_conflict_do_update(
                            index_elements=list(row),
                            set_={"count": ChatSurveyCount.count + 1},
                        )
                    )
        except SQLAlchemyError as exc:
            raise SurveyUnavailable("chat survey: the count could not be written") from exc

    def counts(self, start: date, end: date) -> dict[tuple[str, str, str], int]:
        """``(channel, question, answer) -> count`` over the days ``start`` to ``end``."""
        t = ChatSurveyCount
        stmt = select(t.channel, t.question, t.answer, t.count).where(t.day >= start, t.day <= end)
        out: dict[tuple[str, str, str], int] = {}
        with self._engine.connect() as conn:
            for channel, question, answer, count in conn.execute(stmt):
                key = (str(channel), str(question), str(answer))
                out[key] = out.get(key, 0) + int(count)
        return out


def _insert_for(dialect: str) -> Any:
    """INSERT with ON CONFLICT for the two databases we run on (both spell it the same)."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise SurveyUnavailable(f"the chat survey needs SQLite or PostgreSQL, not {dialect}")
