"""Opening-hours exceptions in SQLite, and the per-line status that reads them on every call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect

from ivr.hours_config import ScheduleConfig
from storage import db
from storage.errors import InvalidHoursException, UnknownHoursException, UnknownLine
from storage.hours_store import HoursExceptionStore, HoursService
from tests.unit.web_support import make_config

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # Monday 12:00 in Amsterdam


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS).astimezone(UTC)


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/hours.db")
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine):
    return HoursExceptionStore(engine, {"default", "chat"})


def test_migration_creates_the_table_and_downgrades(engine):
    assert db.current_revision(engine) == db.head_revision()
    columns = {c["name"] for c in inspect(engine).get_columns("hours_exceptions")}
    assert columns == {"id", "schedule", "starts_at", "ends_at", "kind", "reason", "created_at"}
    db.downgrade(engine, "0001")
    assert "hours_exceptions" not in inspect(engine).get_table_names()
    db.migrate(engine)
    assert "hours_exceptions" in inspect(engine).get_table_names()


def test_add_list_active_remove(store):
    a = store.add("*", NOW + timedelta(hours=1), NOW + timedelta(hours=3), "closed", " staff ",
                  now=NOW)  # fmt: skip
    b = store.add("chat", NOW - timedelta(hours=1), NOW + timedelta(hours=1), "open", "campaign",
                  now=NOW)  # fmt: skip
    assert a.reason == "staff" and a.starts_at == NOW + timedelta(hours=1)
    assert a.starts_at.tzinfo is UTC and a.id != b.id
    assert [e.id for e in store.list(now=NOW)] == [b.id, a.id]  # by start time
    assert [e.id for e in store.active(NOW)] == [b.id]
    assert [e.id for e in store.list(active_at=NOW + timedelta(hours=2))] == [a.id]
    assert store.list(now=NOW + timedelta(hours=4)) == []  # all over
    assert store.remove(a.id) == a
    with pytest.raises(UnknownHoursException):
        store.remove(a.id)
    assert [e.id for e in store.list(now=NOW)] == [b.id]


def test_times_in_other_zones_are_stored_as_utc(store):
    e = store.add("default", local("2025-06-02 15:00"), local("2025-06-02 17:00"), "closed",
                  "training", now=NOW)  # fmt: skip
    assert store.require(e.id).starts_at == datetime(2025, 6, 2, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ends_at": NOW + timedelta(hours=1)}, "ends_at: must be after starts_at"),
        ({"ends_at": NOW - timedelta(minutes=1), "starts_at": NOW - timedelta(hours=1)},
         "in the past"),
        ({"ends_at": NOW + timedelta(days=400)}, "at most 366 days"),
        ({"starts_at": datetime(2025, 6, 3, 12)}, "starts_at: a timezone-aware time"),
        ({"kind": "maybe"}, "kind: must be one of closed, open"),
        ({"schedule": "night"}, "'night' is not a configured schedule"),
        ({"reason": "   "}, "reason: must be 1..200"),
        ({"reason": "x" * 201}, "reason: must be 1..200"),
        ({"reason": "two\nlines"}, "printable"),
        ({"reason": "call back 0612345678"}, "long numbers"),
    ],
)  # fmt: skip
def test_invalid_exceptions_are_refused(store, changes, words):
    values = dict(
        schedule="default",
        starts_at=NOW + timedelta(hours=1),
        ends_at=NOW + timedelta(hours=2),
        kind="closed",
        reason="staff shortage",
    )
    values.update(changes)
    with pytest.raises(InvalidHoursException, match=words):
        store.add(**values, now=NOW)
    assert store.list(now=NOW - timedelta(days=1)) == []


def test_store_from_config_knows_the_default_schedule(engine):
    store = HoursExceptionStore.from_config(engine, make_config())
    store.add("default", NOW, NOW + timedelta(hours=1), "closed", "x", now=NOW)
    # "always" is built in (for 24/7 partners): a closure may name it too.
    with pytest.raises(InvalidHoursException, match="configured: always, default"):
        store.add("chat", NOW, NOW + timedelta(hours=1), "closed", "x", now=NOW)


# -- HoursService -------------------------------------------------------------------------------


def test_service_reads_the_store_on_every_call(engine):
    cfg = make_config()
    store = HoursExceptionStore.from_config(engine, cfg)
    service = HoursService(cfg, store)
    assert service.status("116111", "phone", NOW).open
    store.add("*", NOW - timedelta(minutes=5), NOW + timedelta(hours=2), "closed",
              "staff shortage", now=NOW)  # fmt: skip
    status = service.status("116111", "phone", NOW)
    assert (status.open, status.reason) == (False, "closed:staff shortage")
    assert status.opens_at == NOW + timedelta(hours=2)
    assert [(line, ch, s.open) for line, ch, s in service.all_statuses(NOW)] == [
        ("116111", "phone", False),
        ("116111", "chat", False),
    ]


@dataclass(frozen=True)
class _Helpline:
    timezone: str = "Europe/Amsterdam"


@dataclass(frozen=True)
class _Line:
    id: str
    schedule: str = "default"
    chat_schedule: str | None = None


@dataclass(frozen=True)
class _Cfg:
    """The shape HoursService needs once the lead adds ``schedules`` to HelplineConfig."""

    lines: list[_Line]
    schedules: dict[str, ScheduleConfig] = field(
        default_factory=lambda: {
            "default": ScheduleConfig(daily=["11:00-20:00"]),
            "chat": ScheduleConfig(daily=["14:00-21:00"]),
        }
    )
    helpline: _Helpline = _Helpline()


def test_chat_can_have_its_own_schedule_and_exceptions(engine):
    cfg = _Cfg([_Line("116111", chat_schedule="chat"), _Line("0800")])
    store = HoursExceptionStore.from_config(engine, cfg)
    service = HoursService(cfg, store)
    assert service.schedule_for("116111", "chat") == "chat"
    assert service.schedule_for("0800", "chat") == "default"
    chat = service.status("116111", "chat", NOW)
    assert not chat.open and chat.opens_at == local("2025-06-02 14:00")
    assert service.status("0800", "chat", NOW).open
    store.add("chat", NOW, NOW + timedelta(days=1), "open", "exam week", now=NOW)
    assert service.status("116111", "chat", NOW).reason == "extra_opening:exam week"
    assert service.status("116111", "phone", NOW).reason == "schedule"
    with pytest.raises(UnknownLine):
        service.status("999", "phone", NOW)
    with pytest.raises(UnknownLine):
        service.status("116111", "fax", NOW)


# -- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run ``helpline -c <file> hours ...`` at a fixed clock; returns (exit code, out, err)."""
    from helpline import cli as cli_main
    from helpline import cli_hours
    from tests.unit.web_support import CONFIG

    path = tmp_path / "helpline.toml"
    # Nothing listens on port 1: announcements fail at once, and unit tests touch no Redis.
    path.write_text(
        CONFIG.format(admin="")
        + f'\n[database]\nurl = "sqlite:///{tmp_path}/cli.db"\n'
        + '\n[redis]\nurl = "redis://127.0.0.1:1/0"\n'
    )
    assert cli_hours in cli_main._SUBCOMMAND_MODULES
    clock = {"now": NOW}
    monkeypatch.setattr(cli_hours, "_now", lambda: clock["now"])

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(["-c", str(path), "hours", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run.clock = clock  # type: ignore[attr-defined]
    return run


def test_cli_status_close_list_remove(cli):
    code, out, _ = cli("status")
    assert code == 0
    assert "now: 2025-06-02 12:00 Europe/Amsterdam" in out
    assert "116111  phone    default   OPEN until 20:00 (schedule)" in out

    code, out, _ = cli("close", "--from", "now", "--until", "2025-06-02 15:00",
                       "--reason", "staff shortage")  # fmt: skip
    assert code == 0
    assert out.startswith("closed all schedules: 2025-06-02 12:00 - 2025-06-02 15:00")
    closure_id = out.strip().rsplit("[id ", 1)[1].rstrip("]")

    code, out, _ = cli("status", "--line", "116111", "--channel", "phone")
    assert "CLOSED, opens 15:00 (closed:staff shortage)" in out and "chat" not in out

    code, out, _ = cli("open", "--from", "2025-06-02 20:00", "--until", "2025-06-02 22:00",
                       "--reason", "campaign", "--schedule", "default")  # fmt: skip
    assert code == 0 and "extra opening for schedule default" in out

    code, out, _ = cli("list")
    rows = out.splitlines()
    assert rows[0].split() == ["ID", "KIND", "SCHEDULE", "FROM", "UNTIL", "REASON"]
    assert rows[1].split()[:3] == [closure_id, "closed", "*"]
    assert rows[2].split()[1:3] == ["open", "default"]

    code, out, _ = cli("remove", closure_id)
    assert code == 0 and out.startswith("removed closed")
    code, out, _ = cli("status", "--channel", "chat")
    assert "OPEN until 22:00 (schedule)" in out  # the extra opening extends the day


def test_cli_change_is_saved_and_reported_when_redis_cannot_be_told(cli):
    code, out, err = cli("close", "--from", "now", "--until", "2025-06-02 15:00",
                         "--reason", "power cut")  # fmt: skip
    assert code == 0 and out.startswith("closed all schedules")
    assert err.strip() == (
        "helpline hours: warning: saved, but running apps could not be told at once "
        "(Redis: ConnectionError); they apply it within 30 s"
    )
    assert "CLOSED" in cli("status", "--channel", "phone")[1]
    code, out, err = cli("list")
    assert code == 0 and err == ""  # reading announces nothing


def test_cli_status_when_closed_says_when_we_reopen(cli):
    cli.clock["now"] = local("2025-04-25 21:00")  # Friday evening; Saturday is Koningsdag
    code, out, _ = cli("status", "--channel", "phone")
    assert code == 0
    assert "CLOSED, opens Sun 2025-04-27 11:00 (schedule)" in out
    cli.clock["now"] = local("2025-06-02 21:00")
    assert "CLOSED, opens tomorrow 11:00 (schedule)" in cli("status")[1]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("close", "--from", "tomorrow", "--until", "now", "--reason", "x"), "YYYY-MM-DD HH:MM"),
        (("close", "--from", "2026-03-29 02:30", "--until", "2026-03-29 05:00", "--reason", "x"),
         "does not exist"),
        (("close", "--from", "now", "--until", "2025-06-02 11:00", "--reason", "x"),
         "ends_at: must be after starts_at"),
        (("close", "--from", "now", "--until", "2025-06-02 15:00", "--reason", "x",
          "--schedule", "night"), "'night' is not a configured schedule"),
        (("remove", "42"), "no hours exception 42"),
        (("status", "--line", "999"), "no line '999'"),
    ],
)  # fmt: skip
def test_cli_user_errors_exit_2_with_one_line(cli, argv, words):
    code, _, err = cli(*argv)
    assert code == 2
    assert err.startswith("helpline hours: ") and words in err
    assert len(err.strip().splitlines()) == 1


def test_cli_bad_config_exits_2(cli, tmp_path):
    (tmp_path / "helpline.toml").write_text("lines = 1\n")
    code, _, err = cli("list")
    assert code == 2 and "helpline hours: " in err and "lines" in err


# -- announcing changes ---------------------------------------------------------------------


def test_store_announces_each_committed_change_and_nothing_else(engine):
    announced = []
    store = HoursExceptionStore(engine, {"default"}, on_change=lambda: announced.append(1))
    added = store.add("*", NOW, NOW + timedelta(hours=1), "closed", "x", now=NOW)
    assert len(announced) == 1
    with pytest.raises(InvalidHoursException):
        store.add("*", NOW, NOW - timedelta(hours=1), "closed", "x", now=NOW)
    store.list(now=NOW)
    assert len(announced) == 1  # refused writes and reads announce nothing
    store.remove(added.id)
    assert len(announced) == 2
    with pytest.raises(UnknownHoursException):
        store.remove(added.id)
    assert len(announced) == 2


def test_a_failing_announcement_never_undoes_or_fails_the_write(engine, caplog):
    def broken() -> None:
        raise RuntimeError("announcer bug")

    store = HoursExceptionStore(engine, {"default"}, on_change=broken)
    added = store.add("*", NOW, NOW + timedelta(hours=1), "closed", "x", now=NOW)
    assert store.list(now=NOW) == [added]
    assert "announcing an opening-hours change failed" in caplog.text


def test_announcer_reports_an_unreachable_redis_without_raising(caplog):
    from storage.hours_view import HoursAnnouncer

    announcer = HoursAnnouncer("redis://127.0.0.1:1/0", "t:hours-changed", timeout_s=0.5)
    try:
        assert announcer.announce() is False
        assert announcer.last_error == "ConnectionError"
    finally:
        announcer.close()
    assert "could not announce an opening-hours change" in caplog.text
