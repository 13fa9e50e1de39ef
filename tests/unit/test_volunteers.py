"""VolunteerDirectory validation, hashing and the `helpline volunteer` CLI, on SQLite."""

from __future__ import annotations

import hashlib
import io
import logging

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from config.errors import ConfigError
from config.settings import parse_config
from helpline import cli
from storage import db
from storage.errors import (
    InvalidVolunteer,
    StorageError,
    UnknownVolunteer,
    VolunteerError,
    VolunteerExists,
)
from storage.models import SipSecret, Volunteer
from storage.volunteers import ARGON2_PROFILE_ENV, ROLES, VolunteerDirectory, make_hasher, sip_ha1

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")


@pytest.fixture
def engine(tmp_path) -> Engine:
    eng = db.make_engine(f"sqlite:///{tmp_path}/h.db")
    db.migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def vols(engine) -> VolunteerDirectory:
    return VolunteerDirectory(
        engine, "helpline", locations={"utrecht", "almelo"}, languages={"nl", "en"}
    )


def _row(engine: Engine, vid: str):
    with engine.connect() as conn:
        return conn.execute(select(Volunteer).where(Volunteer.id == vid)).one()


def _device(engine: Engine, vid: str):
    with engine.connect() as conn:
        return conn.execute(
            select(SipSecret).where(SipSecret.volunteer_id == vid, SipSecret.expires_at.is_(None))
        ).one()


def test_hasher_is_production_strength_without_the_test_override(monkeypatch):
    monkeypatch.delenv(ARGON2_PROFILE_ENV)
    default = profiles.RFC_9106_LOW_MEMORY
    assert make_hasher().memory_cost == default.memory_cost
    assert make_hasher().time_cost == default.time_cost


def test_add_stores_only_hashes(engine, vols):
    info = vols.add("anna", "Anna", "utrecht", ["phone", "chat"], ["nl", "en"], PASSWORD)
    assert info.skills == ("chat", "phone")
    assert info.languages == ("nl", "en")
    assert info.enabled and not info.young
    row = _row(engine, "anna")
    assert PASSWORD not in " ".join(str(v) for v in row)
    assert row.password_hash.startswith("$argon2id$")
    assert "sip_ha1" not in row._fields and row.credential_version == 0
    # The phone's secret is random: its digest is not the password's.
    device = _device(engine, "anna")
    from_password = hashlib.md5(f"anna:helpline:{PASSWORD}".encode()).hexdigest()
    assert device.auth_id == "anna-auth" and device.realm == "helpline"
    assert len(device.ha1) == 32 and device.ha1 != from_password


def test_comma_strings_are_accepted(vols):
    info = vols.add("bas", "Bas", "almelo", "phone, chat,phone", "en,nl", PASSWORD)
    assert info.skills == ("chat", "phone")
    assert info.languages == ("en", "nl")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"volunteer_id": "Anna B"}, "id"),
        ({"volunteer_id": ""}, "id"),
        ({"name": "  "}, "name"),
        ({"location": "paris"}, "location"),
        ({"skills": []}, "skills"),
        ({"skills": ["phone", "sms"]}, "unknown skills"),
        ({"skills": ["peer_chat"]}, "peer_chat"),
        ({"skills": ["phone", "chat"], "young": True}, "phone"),
        ({"languages": []}, "languages"),
        ({"languages": ["de"]}, "language 'de'"),
        ({"password": "short"}, "password"),
        ({"role": "root"}, "role: must be one of volunteer, supervisor, admin"),
        ({"role": "Supervisor"}, "role"),
        ({"role": ""}, "role"),
    ],
)
def test_invalid_volunteers(vols, kwargs, match):
    args = {
        "volunteer_id": "anna",
        "name": "Anna",
        "location": "utrecht",
        "skills": ["chat"],
        "languages": ["nl"],
        "password": PASSWORD,
        "young": False,
        "role": "volunteer",
    }
    args.update(kwargs)
    with pytest.raises(InvalidVolunteer, match=match):
        vols.add(**args)
    assert vols.get("anna") is None


def test_role_defaults_to_volunteer_and_supervisor_is_kept(engine, vols):
    assert ROLES == ("volunteer", "supervisor", "admin")
    assert vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD).role == "volunteer"
    boss = vols.add("bas", "Bas", "utrecht", ["chat"], ["nl"], PASSWORD, role="supervisor")
    assert boss.role == "supervisor"
    assert _row(engine, "bas").role == "supervisor"
    assert [(v.id, v.role) for v in vols.list()] == [("anna", "volunteer"), ("bas", "supervisor")]
    vols.set_role("bas", "admin")
    assert _row(engine, "bas").role == "admin" == vols.require("bas").role


def test_invalid_role_message_does_not_echo_the_value(vols):
    with pytest.raises(InvalidVolunteer) as info:
        vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD, role="hunter2-secret")
    assert "hunter2" not in str(info.value)


def test_set_role(vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    vols.set_role("anna", "supervisor")
    assert vols.require("anna").role == "supervisor"
    vols.set_role("anna", "volunteer")
    assert vols.require("anna").role == "volunteer"
    with pytest.raises(InvalidVolunteer, match="role"):
        vols.set_role("anna", "root")
    assert vols.require("anna").role == "volunteer"
    with pytest.raises(UnknownVolunteer):
        vols.set_role("nobody", "supervisor")
    assert vols.verify_password("anna", PASSWORD)  # nothing else changed


def test_the_database_refuses_an_unknown_role(engine, vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(Volunteer).values(role="root"))
    assert vols.require("anna").role == "volunteer"


def _insert_0002_volunteer(engine: Engine, vid: str) -> None:
    # The volunteers table as revision 0002 had it: no role column yet.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO volunteers (id, name, location_id, skills, languages, young,"
                " password_hash, sip_ha1, sip_realm, enabled, created_at) VALUES"
                " (:id, 'Old', 'utrecht', 'chat', 'nl', 0, 'x', 'y', 'helpline', 1,"
                " '2025-01-01 00:00:00.000000')"
            ),
            {"id": vid},
        )


def test_migration_0003_makes_existing_accounts_volunteers(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    try:
        db.migrate(eng, "0002")
        assert "role" not in {c["name"] for c in inspect(eng).get_columns("volunteers")}
        _insert_0002_volunteer(eng, "old1")
        _insert_0002_volunteer(eng, "old2")
        db.migrate(eng, "0003")
        assert db.current_revision(eng) == "0003"
        columns = {c["name"]: c for c in inspect(eng).get_columns("volunteers")}
        assert columns["role"]["nullable"] is False
        assert [i["name"] for i in inspect(eng).get_indexes("volunteers")] == [
            "ix_volunteers_location_id"
        ]  # the copied SQLite table kept its index
        # Plain SQL: the directory speaks the newest schema.
        with eng.begin() as conn:
            roles = conn.execute(text("SELECT id, role FROM volunteers ORDER BY id")).all()
            assert [tuple(r) for r in roles] == [("old1", "volunteer"), ("old2", "volunteer")]
            conn.execute(text("UPDATE volunteers SET role = 'supervisor' WHERE id = 'old2'"))
        with pytest.raises(IntegrityError), eng.begin() as conn:
            conn.execute(text("UPDATE volunteers SET role = 'root'"))
        db.downgrade(eng, "0002")
        assert "role" not in {c["name"] for c in inspect(eng).get_columns("volunteers")}
        with eng.connect() as conn:
            ids = conn.execute(text("SELECT id FROM volunteers ORDER BY id")).scalars().all()
        assert ids == ["old1", "old2"]  # downgrading keeps the accounts
    finally:
        eng.dispose()


def test_password_never_in_error_message(vols):
    with pytest.raises(InvalidVolunteer) as info:
        vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], "pw12345")
    assert "pw12345" not in str(info.value)


def test_young_volunteer_may_peer_chat(vols):
    info = vols.add("yara", "Yara", "utrecht", ["peer_chat", "chat"], ["nl"], PASSWORD, young=True)
    assert info.young and info.skills == ("chat", "peer_chat")


def test_error_tree(vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    with pytest.raises(VolunteerExists):
        vols.add("anna", "Other", "almelo", ["chat"], ["nl"], PASSWORD)
    for exc in (VolunteerExists, UnknownVolunteer, InvalidVolunteer):
        assert issubclass(exc, VolunteerError)
    assert issubclass(VolunteerError, StorageError)


def test_without_restrictions_any_well_formed_location_is_accepted(engine):
    vols = VolunteerDirectory(engine, "r")
    assert vols.add("anna", "Anna", "anywhere", ["chat"], ["de"], PASSWORD).location_id == (
        "anywhere"
    )


def test_verify_password(vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    assert vols.verify_password("anna", PASSWORD)
    assert not vols.verify_password("anna", PASSWORD + "x")
    assert not vols.verify_password("nobody", PASSWORD)
    vols.disable("anna")
    assert not vols.verify_password("anna", PASSWORD)


def test_corrupt_hash_verifies_false(engine, vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    with engine.begin() as conn:
        conn.execute(Volunteer.__table__.update().values(password_hash="not-a-hash"))
    assert not vols.verify_password("anna", PASSWORD)


def test_weak_hash_is_upgraded_on_login(engine):
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    VolunteerDirectory(engine, "r", hasher=cheap).add(
        "anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD
    )
    stronger = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    vols = VolunteerDirectory(engine, "r", hasher=stronger)
    old = _row(engine, "anna").password_hash
    assert vols.verify_password("anna", PASSWORD)
    new = _row(engine, "anna").password_hash
    assert new != old and not stronger.check_needs_rehash(new)
    assert vols.verify_password("anna", PASSWORD)


def test_set_password_changes_login_rotates_sip_and_ends_sessions(engine, vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    before = vols.sip_credentials()
    vols.set_password("anna", "another secret")
    assert vols.verify_password("anna", "another secret")
    assert not vols.verify_password("anna", PASSWORD)
    after = dict(vols.sip_credentials())
    assert before != [("anna", after["anna"])]
    assert after["anna"] != sip_ha1("anna", "helpline", "another secret")
    assert vols.require("anna").credential_version == 1
    with pytest.raises(UnknownVolunteer):
        vols.set_password("nobody", "another secret")
    with pytest.raises(InvalidVolunteer):
        vols.set_password("anna", "short")


def test_sip_credentials_skip_disabled_and_other_realm(engine, vols):
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    vols.add("bas", "Bas", "utrecht", ["phone"], ["nl"], PASSWORD)
    vols.add("cor", "Cor", "utrecht", ["phone"], ["nl"], PASSWORD)
    vols.disable("bas")
    assert [u for u, _ in vols.sip_credentials()] == ["anna", "cor"]
    moved = VolunteerDirectory(engine, "new-realm")
    assert moved.sip_credentials() == []
    secret = moved.new_sip_secret("cor")
    assert moved.sip_credentials() == [("cor", sip_ha1("cor", "new-realm", secret))]


def test_passwords_are_never_logged(engine, vols, caplog):
    caplog.set_level(logging.DEBUG)
    vols.add("anna", "Anna", "utrecht", ["chat"], ["nl"], PASSWORD)
    vols.set_password("anna", "another secret")
    vols.verify_password("anna", "another secret")
    secret = vols.new_sip_secret("anna")
    assert "anna" in caplog.text  # the log does record what happened
    assert PASSWORD not in caplog.text and "another secret" not in caplog.text
    assert secret not in caplog.text and _device(engine, "anna").ha1 not in caplog.text


def test_the_sip_secret_is_random_and_never_the_login_password(engine, vols):
    """Finding: the SIP secret was the login password (its HA1 stored and rendered)."""
    vols.add("anna", "Anna", "utrecht", ["phone"], ["nl"], PASSWORD)
    vols.add("bas", "Bas", "utrecht", ["phone"], ["nl"], PASSWORD)
    creds = dict(vols.sip_credentials())
    assert creds["anna"] != sip_ha1("anna", "helpline", PASSWORD)
    assert creds["bas"] != sip_ha1("bas", "helpline", PASSWORD)
    secret = vols.new_sip_secret("anna")
    assert len(secret) >= 43 and secret != PASSWORD  # 256 bits, urlsafe
    assert dict(vols.sip_credentials())["anna"] == sip_ha1("anna", "helpline", secret)
    assert vols.new_sip_secret("anna") != secret
    assert vols.require("anna").credential_version == 0  # a new phone secret ends no session
    with pytest.raises(UnknownVolunteer):
        vols.new_sip_secret("nobody")


@pytest.mark.parametrize("action", ["disable", "enable", "set_password"])
def test_reset_disable_and_enable_rotate_the_sip_secret_and_raise_the_version(engine, vols, action):
    vols.add("anna", "Anna", "utrecht", ["phone"], ["nl"], PASSWORD)
    old = _device(engine, "anna").ha1
    version = vols.require("anna").credential_version
    if action == "set_password":
        vols.set_password("anna", "another secret")
    else:
        getattr(vols, action)("anna")
    assert _device(engine, "anna").ha1 != old
    assert vols.require("anna").credential_version == version + 1
    with pytest.raises(UnknownVolunteer):
        if action == "set_password":
            vols.set_password("nobody", "another secret")
        else:
            getattr(vols, action)("nobody")


def _insert_0003_volunteer(engine: Engine, vid: str, role: str) -> None:
    # The volunteers table as revision 0003 had it: the digest of the login password.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO volunteers (id, name, location_id, skills, languages, young,"
                " password_hash, sip_ha1, sip_realm, enabled, created_at, role) VALUES"
                " (:id, 'Old', 'utrecht', 'chat', 'nl', false, 'x', :ha1, 'helpline', true,"
                " '2025-01-01 00:00:00.000000', :role)"
            ),
            {"id": vid, "ha1": sip_ha1(vid, "helpline", PASSWORD), "role": role},
        )


def check_migration_0004(eng: Engine) -> None:
    """0003 -> 0004 -> 0003 on ``eng`` (SQLite here, PostgreSQL in the integration suite)."""
    db.migrate(eng, "0003")
    _insert_0003_volunteer(eng, "old1", "volunteer")
    _insert_0003_volunteer(eng, "old2", "supervisor")
    db.migrate(eng, "0004")  # exactly 0004: later revisions have checks of their own
    assert db.current_revision(eng) == "0004"
    columns = {c["name"] for c in inspect(eng).get_columns("volunteers")}
    assert "sip_ha1" not in columns and "sip_realm" not in columns
    vols = VolunteerDirectory(eng, "helpline")
    assert [(v.id, v.role, v.credential_version) for v in vols.list()] == [
        ("old1", "volunteer", 0),
        ("old2", "supervisor", 0),
    ]
    # The password-derived digest is gone: each account has a random secret nobody knows.
    creds = dict(vols.sip_credentials())
    assert sorted(creds) == ["old1", "old2"]
    for vid, ha1 in creds.items():
        assert ha1 != sip_ha1(vid, "helpline", PASSWORD)
    assert creds["old1"] != creds["old2"]
    vols.set_role("old2", "admin")
    with pytest.raises(IntegrityError), eng.begin() as conn:
        conn.execute(update(Volunteer).values(role="root"))
    secret = vols.new_sip_secret("old1")
    db.downgrade(eng, "0003")
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT id, role, sip_ha1 FROM volunteers ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("old1", "volunteer", sip_ha1("old1", "helpline", secret)),
        ("old2", "supervisor", creds["old2"]),
    ]
    assert "sip_secrets" not in inspect(eng).get_table_names()


def test_migration_0004_replaces_password_digests_with_random_secrets(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    try:
        check_migration_0004(eng)
    finally:
        eng.dispose()


# -- CLI ---------------------------------------------------------------------------------------

CONFIG = """
languages = ["nl", "en"]
[[lines]]
id = "116111"
numbers = ["116111"]
[[locations]]
id = "utrecht"
name = "Utrecht"
[[locations]]
id = "almelo"
name = "Almelo"
[asterisk]
ari_password = "ari-secret-1"
ami_password = "ami-secret-1"
sip_realm = "kt"
trunk_addresses = ["127.0.0.2"]
[database]
url = "sqlite:///{db}"
[[volunteers]]
id = "seed1"
name = "Seed One"
location = "almelo"
password = "seed-password"
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "helpline.toml"
    path.write_text(CONFIG.format(db=tmp_path / "var" / "helpline.db"))
    return path


def run(config_file, *args: str, stdin: str | None = None, monkeypatch=None) -> int:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["-c", str(config_file), "volunteer", *args])


def _cli_vols(config_file) -> tuple[VolunteerDirectory, Engine]:
    cfg = parse_config(config_file.read_text())
    engine = db.make_engine(cfg.database.url)
    return VolunteerDirectory.from_config(engine, cfg), engine


ADD = ["add", "anna", "--name", "Anna Bakker", "--location", "utrecht", "--skills", "phone,chat"]


def test_cli_add_with_password_stdin(config_file, monkeypatch, capsys):
    rc = run(config_file, *ADD, "--languages", "nl,en", "--password-stdin",
             stdin=PASSWORD + "\n", monkeypatch=monkeypatch)  # fmt: skip
    assert rc == 0
    assert "anna" in capsys.readouterr().out
    vols, engine = _cli_vols(config_file)
    try:
        info = vols.require("anna")
        assert info.languages == ("nl", "en") and info.location_id == "utrecht"
        assert vols.verify_password("anna", PASSWORD)
        assert dict(vols.sip_credentials())["anna"] != sip_ha1("anna", "kt", PASSWORD)
    finally:
        engine.dispose()


def test_cli_without_a_local_asterisk_says_how_to_apply_the_sip_account(
    config_file, monkeypatch, capsys
):
    """No Asterisk of `helpline asterisk up` runs in a unit test, as in the app's container:
    the volunteer is told how the change reaches Asterisk either way, not that it is lost."""
    rc = run(config_file, *ADD, "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    assert rc == 0
    out = capsys.readouterr().out
    assert "SIP account changed in the database" in out
    assert "`helpline asterisk up`" in out and "docker compose run --rm init" in out


def test_cli_add_prompts_twice(config_file, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(config_file, *ADD) == 0
    vols, engine = _cli_vols(config_file)
    try:
        assert vols.verify_password("anna", PASSWORD)
        assert vols.require("anna").languages == ("nl",)  # default: first configured language
    finally:
        engine.dispose()


def test_cli_add_prompt_mismatch_is_user_error(config_file, monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(config_file, *ADD) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "do not match" in err
    assert PASSWORD not in err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--location", "paris"], "location"),
        (["--skills", "peer_chat"], "peer_chat"),
        (["--young"], "phone"),
        (["--languages", "de"], "language"),
    ],
)
def test_cli_add_invalid_is_exit_2_one_line(config_file, monkeypatch, capsys, extra, match):
    rc = run(config_file, *ADD, *extra, "--password-stdin", stdin=PASSWORD + "\n",
             monkeypatch=monkeypatch)  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err


def test_cli_add_existing_fails_before_asking_password(config_file, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(config_file, *ADD, "--password-stdin") == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("prompted"))
    assert run(config_file, *ADD) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_short_password_on_stdin(config_file, monkeypatch, capsys):
    rc = run(config_file, *ADD, "--password-stdin", stdin="short\n", monkeypatch=monkeypatch)
    assert rc == 2
    err = capsys.readouterr().err
    assert "password" in err and "short" not in err


def test_cli_list_disable_enable(config_file, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(config_file, *ADD, "--password-stdin") == 0
    assert run(config_file, "disable", "anna") == 0
    capsys.readouterr()
    assert run(config_file, "list") == 0
    out = capsys.readouterr().out
    header, line = out.splitlines()
    assert header.split() == [
        "ID", "NAME", "LOCATION", "SKILLS", "LANGUAGES", "ROLE", "YOUNG", "ENABLED"
    ]  # fmt: skip
    assert line.split() == [
        "anna", "Anna", "Bakker", "utrecht", "chat,phone", "nl", "volunteer", "no", "no"
    ]  # fmt: skip
    assert "$argon2" not in out and sip_ha1("anna", "kt", PASSWORD) not in out
    assert run(config_file, "list", "--enabled-only") == 0
    assert "anna" not in capsys.readouterr().out
    assert run(config_file, "enable", "anna") == 0
    capsys.readouterr()
    assert run(config_file, "list", "--enabled-only") == 0
    assert "anna" in capsys.readouterr().out


def test_cli_add_supervisor_then_change_role(config_file, monkeypatch, capsys):
    rc = run(config_file, *ADD, "--role", "supervisor", "--password-stdin",
             stdin=PASSWORD + "\n", monkeypatch=monkeypatch)  # fmt: skip
    assert rc == 0
    assert "supervisor" in capsys.readouterr().out
    assert run(config_file, "list") == 0
    assert capsys.readouterr().out.splitlines()[1].split()[6] == "supervisor"
    assert run(config_file, "role", "anna", "volunteer") == 0
    assert "anna is now a volunteer" in capsys.readouterr().out
    vols, engine = _cli_vols(config_file)
    try:
        assert vols.require("anna").role == "volunteer"
        assert vols.verify_password("anna", PASSWORD)
    finally:
        engine.dispose()


def test_cli_add_bad_role_fails_before_asking_password(config_file, monkeypatch, capsys):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("prompted"))
    assert run(config_file, *ADD, "--role", "boss") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "role: must be one of volunteer, supervisor" in err
    vols, engine = _cli_vols(config_file)
    try:
        assert vols.get("anna") is None
    finally:
        engine.dispose()


def test_cli_role_errors_are_exit_2_one_line(config_file, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(config_file, *ADD, "--password-stdin") == 0
    capsys.readouterr()
    assert run(config_file, "role", "anna", "boss") == 2
    assert run(config_file, "role", "nobody", "supervisor") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "role: must be one of" in err[0] and "nobody" in err[1]


def test_cli_unknown_volunteer_is_exit_2(config_file, capsys):
    assert run(config_file, "disable", "nobody") == 2
    assert run(config_file, "enable", "nobody") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("nobody" in line for line in err)


def test_cli_passwd(config_file, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(config_file, *ADD, "--password-stdin") == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a new password\n"))
    assert run(config_file, "passwd", "anna", "--password-stdin") == 0
    vols, engine = _cli_vols(config_file)
    try:
        assert vols.verify_password("anna", "a new password")
    finally:
        engine.dispose()
    assert run(config_file, "passwd", "nobody", "--password-stdin") == 2


def test_cli_sip_secret_is_shown_once_and_rotates(config_file, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(config_file, *ADD, "--password-stdin") == 0
    assert "sip-secret anna" in capsys.readouterr().out
    assert run(config_file, "sip-secret", "anna") == 0
    out = capsys.readouterr().out
    secret = out.split("SIP secret: ", 1)[1].split()[0]
    assert "SIP user:   anna" in out and "SIP realm:  kt" in out
    vols, engine = _cli_vols(config_file)
    try:
        assert dict(vols.sip_credentials())["anna"] == sip_ha1("anna", "kt", secret)
        assert vols.verify_password("anna", PASSWORD)  # the login is untouched
    finally:
        engine.dispose()
    assert run(config_file, "list") == 0
    assert secret not in capsys.readouterr().out
    assert run(config_file, "sip-secret", "anna") == 0
    assert secret not in capsys.readouterr().out  # a new one each time: never shown twice
    assert run(config_file, "sip-secret", "nobody") == 2


def test_cli_bad_config_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("lines = []\n")
    assert cli.main(["-c", str(bad), "volunteer", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml" in err


def test_cli_unreachable_database_is_exit_1(tmp_path, capsys):
    cfg = tmp_path / "pg.toml"
    cfg.write_text(
        CONFIG.replace('"sqlite:///{db}"', '"postgresql+psycopg://postgres@127.0.0.1:1/none"')
    )
    assert cli.main(["-c", str(cfg), "volunteer", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "database error" in err


def test_seed_from_config_via_directory(config_file):
    cfg = parse_config(config_file.read_text())
    engine = db.make_engine(cfg.database.url)
    try:
        db.migrate(engine)
        vols = VolunteerDirectory.from_config(engine, cfg)
        assert vols.seed_from_config(cfg) == ["seed1"]
        vols.set_password("seed1", "changed password")
        assert vols.seed_from_config(cfg) == []
        assert vols.verify_password("seed1", "changed password")  # seed did not overwrite
        assert vols.require("seed1").role == "volunteer"  # the default for a seed
    finally:
        engine.dispose()


def test_seed_role_is_applied_once(tmp_path):
    toml = CONFIG.format(db=tmp_path / "h.db") + 'role = "supervisor"\n'
    cfg = parse_config(toml)
    assert cfg.volunteers[0].role == "supervisor"
    engine = db.make_engine(cfg.database.url)
    try:
        db.migrate(engine)
        vols = VolunteerDirectory.from_config(engine, cfg)
        assert vols.seed_from_config(cfg) == ["seed1"]
        assert vols.require("seed1").role == "supervisor"
        vols.set_role("seed1", "volunteer")
        assert vols.seed_from_config(cfg) == []
        assert vols.require("seed1").role == "volunteer"  # the seed did not overwrite
    finally:
        engine.dispose()


def test_seed_with_an_unknown_role_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="role"):
        parse_config(CONFIG.format(db=tmp_path / "h.db") + 'role = "boss"\n')
