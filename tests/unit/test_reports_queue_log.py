"""The event log: a scripted ACD day as Asterisk queue_log lines, presence per hour, and the
writer thread (file and SQL) that never holds up the engine's writer."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from acd import (
    Acd,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    Channel,
    ContactArrived,
    ContactEnded,
    OfferAccepted,
    OfferFailed,
    OfferFailure,
)
from reports import event_log as event_log_module
from reports.event_log import EventLog
from reports.queue_log import PresenceSeconds, QueueLogTranslator
from storage import db
from storage.models import AgentPresenceRow, QueueLogRow

T = 1709287200.0  # 2024-03-01 10:00:00 UTC, an hour's start
LINES = {"c1": "116111", "c2": "116111"}


def _day(observe):
    """Feed a scripted hour to a fresh core; ``observe(event, commands, now)`` sees each step."""
    core = Acd()
    steps = [
        (AgentLoggedIn("anna", "utrecht", frozenset({"phone"}), frozenset({"nl"})), T),
        (AgentReady("anna"), T),
        (ContactArrived("c1", Channel.PHONE), T + 10),
        (OfferFailed("c1", "anna", OfferFailure.NO_ANSWER), T + 25),  # rang 15 s; offered again
        (OfferAccepted("c1", "anna"), T + 34),
        (ContactEnded("c1"), T + 334),
        (ContactArrived("c2", Channel.PHONE), T + 400),  # anna in wrap-up: c2 waits
        (ContactEnded("c2"), T + 410),
        (AgentPaused("anna", "Lunch|x"), T + 500),
        (AgentLoggedOut("anna"), T + 4000),
    ]
    for event, now in steps:
        observe(event, core.handle(event, now), now)
    return core


EXPECTED = [
    "1709287200|NONE|NONE|anna|AGENTLOGIN|Agent/anna",
    "1709287200|NONE|NONE|anna|PAUSE|not_ready",  # a volunteer starts paused, as the ACD says
    "1709287200|NONE|NONE|anna|UNPAUSE|",
    "1709287210|c1|116111|NONE|ENTERQUEUE|||1",  # url and caller id always empty
    "1709287225|c1|116111|anna|RINGNOANSWER|15000",
    "1709287234|c1|116111|anna|CONNECT|24|c1|9",  # held 24 s, the second ring 9 s
    "1709287534|c1|116111|anna|COMPLETECALLER|24|300|1",
    "1709287600|c2|116111|NONE|ENTERQUEUE|||1",
    "1709287610|c2|116111|NONE|ABANDON|1|1|10",
    "1709287700|NONE|NONE|anna|PAUSE|lunch_x",  # a code word: no "|" can split the line
    "1709291200|NONE|NONE|anna|AGENTLOGOFF|Agent/anna|4000",
]


def test_a_scripted_hour_becomes_asterisk_queue_log_lines():
    translator = QueueLogTranslator(LINES.get)
    translator.load(Acd(), T)
    lines: list[str] = []
    _day(lambda e, c, now: lines.extend(x.line() for x in translator.observe(e, c, now)))
    assert lines == EXPECTED
    # Volunteer-seconds per state, split at the hour: 4,000 s logged in in all.
    assert translator.presence.flush(T + 5000) == [
        PresenceSeconds(T, "utrecht", "available", 10.0),
        PresenceSeconds(T, "utrecht", "busy", 300.0),
        PresenceSeconds(T, "utrecht", "offered", 24.0),
        PresenceSeconds(T, "utrecht", "paused", 3100.0),
        PresenceSeconds(T, "utrecht", "wrap_up", 166.0),
        PresenceSeconds(T + 3600, "utrecht", "paused", 400.0),
    ]
    assert translator.presence.flush(T + 6000) == []  # taken out: nothing counted twice


def test_overflows_and_chats_name_their_reason_and_channel():
    from acd import AcdSettings

    core = Acd(AcdSettings(max_wait_s=30))
    translator = QueueLogTranslator(lambda cid: None)  # chats have no line
    translator.load(core, T)
    lines: list[str] = []
    event = ContactArrived("k1", Channel.CHAT)
    lines += [x.line() for x in translator.observe(event, core.handle(event, T), T)]
    deadline = core.next_deadline()
    assert deadline is not None
    lines += [x.line() for x in translator.observe(None, core.handle_timer(deadline), deadline)]
    assert lines == [
        "1709287200|k1|chat|NONE|ENTERQUEUE|||1",
        f"{int(deadline)}|k1|chat|NONE|EXITWITHTIMEOUT|1|1|30",
    ]


def test_the_writer_thread_writes_the_file_and_sql_and_never_blocks_the_step(tmp_path, monkeypatch):
    engine = db.make_engine(f"sqlite:///{tmp_path}/q.db")
    db.migrate(engine)
    gate = threading.Event()
    real_insert = event_log_module.insert_event_log

    def slow_insert(*args):
        gate.wait(10)  # SQL hangs until the test lets it go
        real_insert(*args)

    monkeypatch.setattr(event_log_module, "insert_event_log", slow_insert)
    clock = [T]
    log = EventLog(
        LINES.get, path=tmp_path / "log" / "queue_log", engine=engine, clock=lambda: clock[0]
    )
    observers: list = []
    log.attach(Acd(), observers)
    assert observers == [log.on_step]

    def step(event, commands, now):
        clock[0] = now
        log.on_step(event, commands)

    _day(step)  # returns although the SQL insert is stuck: the step only enqueued
    assert log.written < len(EXPECTED)
    gate.set()
    clock[0] = T + 5000
    log.close()
    assert (tmp_path / "log" / "queue_log").read_text().splitlines() == EXPECTED
    with engine.connect() as conn:
        events = conn.execute(select(QueueLogRow.event).order_by(QueueLogRow.id)).scalars().all()
        login = conn.execute(
            select(QueueLogRow.data1, QueueLogRow.data2).where(QueueLogRow.event == "AGENTLOGOFF")
        ).one()
        seconds = conn.execute(select(func.sum(AgentPresenceRow.seconds))).scalar_one()
    assert events == [line.split("|")[4] for line in EXPECTED]
    assert tuple(login) == ("Agent/anna", "4000")
    assert seconds == pytest.approx(4000.0)
    engine.dispose()


def test_a_rotated_file_is_opened_again_at_its_path(tmp_path):
    path = tmp_path / "queue_log"
    log = EventLog(LINES.get, path=path, engine=None, clock=lambda: T)
    core = Acd()
    log.attach(core, [])
    event = AgentLoggedIn("anna", "utrecht", frozenset({"phone"}), frozenset({"nl"}))
    log.on_step(event, core.handle(event, T))
    log.close()
    path.rename(tmp_path / "queue_log.1")  # logrotate, while a second process writes on
    log2 = EventLog(LINES.get, path=path, engine=None, clock=lambda: T)
    log2.attach(core, [])
    path.rename(tmp_path / "queue_log.2")
    event = AgentReady("anna")
    log2.on_step(event, core.handle(event, T))
    log2.close()
    assert path.read_text().splitlines() == ["1709287200|NONE|NONE|anna|UNPAUSE|"]
    assert len((tmp_path / "queue_log.1").read_text().splitlines()) == 2


def test_sql_failing_keeps_the_file_and_does_not_raise(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/nothing-here/q.db")  # cannot be opened
    log = EventLog(LINES.get, path=tmp_path / "queue_log", engine=engine, clock=lambda: T)
    log.attach(Acd(), [])
    _day(lambda e, c, now: log.on_step(e, c))
    log.close()
    assert len((tmp_path / "queue_log").read_text().splitlines()) == len(EXPECTED)
    engine.dispose()


def check_migration_0008(engine) -> None:
    """From 0007 up and down again: queue_log and agent_presence, nothing else touched."""
    from sqlalchemy import inspect

    db.migrate(engine, "0007")
    before = set(inspect(engine).get_table_names())
    db.migrate(engine, "0008")
    after = inspect(engine)
    assert set(after.get_table_names()) == before | {"queue_log", "agent_presence"}
    assert [c["name"] for c in after.get_columns("queue_log")] == [
        "id", "time", "callid", "queuename", "agent", "event",
        "data1", "data2", "data3", "data4", "data5",
    ]  # fmt: skip
    # No column could hold a caller's number beyond these; agent_presence names nobody.
    assert {c["name"] for c in after.get_columns("agent_presence")} == {
        "id", "hour_start", "location_id", "state", "seconds",
    }  # fmt: skip
    db.downgrade(engine, "0007")
    assert set(inspect(engine).get_table_names()) == before
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_migration_0008(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/m.db")
    try:
        check_migration_0008(engine)
    finally:
        engine.dispose()


def test_start_event_log_listens_to_the_engine(tmp_path):
    from engine import Engine
    from reports.event_log import start_event_log

    writer = Engine(Acd(), clock=lambda: T)
    log = start_event_log(writer, tmp_path, None)
    try:
        assert writer.acd_observers == [log.on_step]
        assert log.path == tmp_path / "queue_log"
    finally:
        log.close()
