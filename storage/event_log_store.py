"""Inserting the event log (``queue_log``) and volunteer presence (``agent_presence``) rows.

Blocking: called from the event log's own thread (``reports.event_log``), never from the
engine's writer. Each batch is one transaction; failures are raised as
:class:`EventLogUnavailable` so the caller decides what to keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from storage.errors import EventLogUnavailable
from storage.models import QUEUE_LOG_DATA_FIELDS, AgentPresenceRow, QueueLogRow


def queue_log_values(
    time: float, callid: str, queuename: str, agent: str, event: str, data: Sequence[str]
) -> dict[str, Any]:
    """One ``queue_log`` row; more than five data fields are joined into ``data5``."""
    padded = list(data[: QUEUE_LOG_DATA_FIELDS - 1])
    padded.append("|".join(data[QUEUE_LOG_DATA_FIELDS - 1 :]))
    padded += [""] * (QUEUE_LOG_DATA_FIELDS - len(padded))
    row: dict[str, Any] = {
        "time": datetime.fromtimestamp(time, UTC),
        "callid": callid,
        "queuename": queuename,
        "agent": agent,
        "event": event,
    }
    row.update({f"data{i + 1}": value for i, value in enumerate(padded)})
    return row


def presence_values(
    hour_start: float, location_id: str, state: str, seconds: float
) -> dict[str, Any]:
    """One ``agent_presence`` row."""
    return {
        "hour_start": datetime.fromtimestamp(hour_start, UTC),
        "location_id": location_id,
        "state": state,
        "seconds": seconds,
    }


def insert_event_log(
    engine: Engine, log_rows: Sequence[dict[str, Any]], presence_rows: Sequence[dict[str, Any]]
) -> None:
    """Insert both kinds of row in one transaction; EventLogUnavailable if SQL refuses."""
    if not log_rows and not presence_rows:
        return
    try:
        with engine.begin() as conn:
            if log_rows:
                conn.execute(insert(QueueLogRow), list(log_rows))
            if presence_rows:
                conn.execute(insert(AgentPresenceRow), list(presence_rows))
    except SQLAlchemyError as exc:
        raise EventLogUnavailable(f"event log not written: {type(exc).__name__}") from exc
