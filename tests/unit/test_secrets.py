"""Secrets outside git, and no start with a value anyone can read in this repository.

Finding (issue 9): the example config shipped the admin token, the ARI and AMI secrets and
demo passwords, and only the docker entrypoint refused them.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.known_defaults import default_secrets, refuse_known_secrets
from config.secrets import KNOWN_DEFAULTS, fill, placeholders, read_secrets
from config.settings import DEFAULT_CONFIG, load_config, parse_config
from helpline.secrets import ensure_secrets

EXAMPLE = DEFAULT_CONFIG.read_text(encoding="utf-8")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def secrets_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "etc" / "secrets.env"
    monkeypatch.setenv("HELPLINE_SECRETS", str(path))
    for name in placeholders(EXAMPLE):
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_example_config_holds_no_secret():
    for value in KNOWN_DEFAULTS:
        assert value not in EXAMPLE
    names = placeholders(EXAMPLE)
    assert {
        "HELPLINE_ADMIN_TOKEN",
        "HELPLINE_ARI_PASSWORD",
        "HELPLINE_AMI_PASSWORD",
        "HELPLINE_REDIS_PASSWORD",
        "HELPLINE_DEMO_ANNA_PASSWORD",
    } <= set(names)


def test_no_shipped_file_holds_a_known_default_as_a_setting():
    """Configs and docs in the repository carry placeholders, never a usable secret."""
    for path in [*REPO.glob("examples/*.toml"), REPO / "docker" / "helpline.toml"]:
        text = path.read_text(encoding="utf-8")
        for value in KNOWN_DEFAULTS - {"change-me"}:
            assert value not in text, (path, value)


def test_make_up_generates_every_secret_into_a_private_file(secrets_file):
    added = ensure_secrets(EXAMPLE, secrets_file)
    assert set(added) == set(placeholders(EXAMPLE))
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_file.parent.stat().st_mode) == 0o700
    values = read_secrets(secrets_file)
    assert len(set(values.values())) == len(values)  # each its own
    for value in values.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", value)  # URL-safe, for the Redis URL

    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.http.admin_token == values["HELPLINE_ADMIN_TOKEN"]
    assert cfg.asterisk.ari_password == values["HELPLINE_ARI_PASSWORD"]
    assert cfg.redis.url == f"redis://:{values['HELPLINE_REDIS_PASSWORD']}@127.0.0.1:6380/0"
    assert cfg.volunteers[0].password == values["HELPLINE_DEMO_ANNA_PASSWORD"]
    assert default_secrets(cfg) == []
    refuse_known_secrets(cfg)  # the generated set-up starts without the demo flag


def test_generating_again_keeps_every_value(secrets_file):
    ensure_secrets(EXAMPLE, secrets_file)
    before = secrets_file.read_text()
    assert ensure_secrets(EXAMPLE, secrets_file) == []
    assert secrets_file.read_text() == before


def test_a_secret_given_in_the_environment_is_not_generated(secrets_file, monkeypatch):
    monkeypatch.setenv("HELPLINE_ADMIN_TOKEN", "from-the-environment-0123456789")
    assert "HELPLINE_ADMIN_TOKEN" not in ensure_secrets(EXAMPLE, secrets_file)
    assert load_config(DEFAULT_CONFIG).http.admin_token == "from-the-environment-0123456789"


def test_a_readable_secrets_file_is_made_private(secrets_file):
    ensure_secrets(EXAMPLE, secrets_file)
    secrets_file.chmod(0o644)
    ensure_secrets(EXAMPLE, secrets_file)
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


def test_a_placeholder_without_a_value_is_an_error_naming_it(secrets_file):
    with pytest.raises(ConfigError, match=r"\$\{HELPLINE_ARI_PASSWORD\} has no value"):
        load_config(DEFAULT_CONFIG)


def test_a_value_that_would_break_the_toml_string_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="quote"):
        fill('x = "${A_PASSWORD}"', {"A_PASSWORD": 'a"b'}, "t", tmp_path / "s")


def test_other_dollars_are_left_alone(tmp_path):
    assert fill("a $b ${X_TOKEN} $$", {"X_TOKEN": "v$1"}, "t", tmp_path) == "a $b v$1 $$"


def _old_example() -> str:
    """The example as it was shipped before: every secret a known default, Redis open."""
    text = EXAMPLE.replace("${HELPLINE_ARI_PASSWORD}", "change-me-ari-secret")
    text = text.replace("${HELPLINE_AMI_PASSWORD}", "change-me-ami-secret")
    text = text.replace("${HELPLINE_ADMIN_TOKEN}", "change-me-admin-token-0123456789")
    text = text.replace(":${HELPLINE_REDIS_PASSWORD}@127.0.0.1:6380", "127.0.0.1:6379")
    # The chat came later, with a generated key from the start.
    text = text.replace("${HELPLINE_CHAT_SECRET}", "a-generated-chat-key-0123456789")
    # So did the demo supervisor.
    text = text.replace("${HELPLINE_DEMO_LOTTE_PASSWORD}", "a-generated-demo-password-lotte")
    for name in ("anna", "bram", "sanne"):
        text = text.replace(f"${{HELPLINE_DEMO_{name.upper()}_PASSWORD}}", f"demo-password-{name}")
    return text


def test_the_app_refuses_every_known_default():
    cfg = parse_config(_old_example())
    assert default_secrets(cfg) == [
        "http.admin_token",
        "asterisk.ari_password",
        "asterisk.ami_password",
        "redis.url (no password)",
        "volunteers[0].password",
        "volunteers[1].password",
        "volunteers[2].password",
    ]
    with pytest.raises(ConfigError, match="known default secrets") as caught:
        refuse_known_secrets(cfg)
    assert "change-me" not in str(caught.value)  # names the keys, never the values


def test_a_known_chat_token_key_is_refused():
    text = _old_example().replace("a-generated-chat-key-0123456789", "change-me-chat-key-0123")
    assert "chat.token_key" in default_secrets(parse_config(text))


def test_an_unfilled_placeholder_counts_as_a_default():
    cfg = parse_config(EXAMPLE)  # parsed without filling: the literal text is no secret
    assert "http.admin_token" in default_secrets(cfg)
    assert "redis.url" in default_secrets(cfg)


def test_a_demo_may_run_with_the_defaults():
    text = _old_example().replace("[helpline]\n", "[helpline]\ndemo = true\n", 1)
    refuse_known_secrets(parse_config(text))


def test_helpline_run_refuses_a_known_default(tmp_path, capsys):
    from helpline.cli import main

    path = tmp_path / "old.toml"
    path.write_text(_old_example())
    assert main(["-c", str(path), "run"]) == 2
    err = capsys.readouterr().err
    assert "known default secrets" in err and "asterisk.ari_password" in err


def test_the_docker_entrypoint_refuses_the_same_defaults(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("entrypoint", REPO / "docker" / "entrypoint.py")
    assert spec is not None and spec.loader is not None
    entrypoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entrypoint)
    template = tmp_path / "helpline.toml"
    template.write_text(
        _old_example()
        .replace("change-me-ari-secret", "${HELPLINE_ARI_PASSWORD}")
        .replace("demo-password-anna", "good-long-secret-1")
        .replace("demo-password-bram", "good-long-secret-2")
        .replace("demo-password-sanne", "good-long-secret-3")
    )
    monkeypatch.setenv("HELPLINE_ARI_PASSWORD", "a-real-ari-secret-0123")
    with pytest.raises(entrypoint.DockerSetupError, match="change-me"):
        entrypoint.fill_config(template, tmp_path / "filled.toml")
    # No change-me text left, but a password-less Redis: the app's own check refuses it.
    template.write_text(
        template.read_text()
        .replace("change-me-ami-secret", "a-real-ami-secret-0123")
        .replace("change-me-admin-token-0123456789", "a-real-admin-token-0123456789")
    )
    with pytest.raises(entrypoint.DockerSetupError, match=r"redis.url \(no password\)"):
        entrypoint.fill_config(template, tmp_path / "filled.toml")
    assert os.stat(tmp_path / "filled.toml").st_mode & 0o077 == 0


def test_helpline_up_generates_the_secrets_first_and_says_where(
    secrets_file, tmp_path, capsys, monkeypatch
):
    from helpline import cli_run
    from helpline.cli import main

    config = tmp_path / "helpline.toml"
    config.write_text(EXAMPLE)
    started: list[str] = []

    def own_redis(cfg):  # stands in for starting redis-server: stop `up` right there
        started.append(cfg.redis.url)
        return False

    monkeypatch.setattr(cli_run, "_start_own_redis", own_redis)
    assert main(["-c", str(config), "up"]) == 1
    out = capsys.readouterr().out
    assert f"into {secrets_file} (mode 0600" in out
    password = read_secrets(secrets_file)["HELPLINE_REDIS_PASSWORD"]
    assert started == [f"redis://:{password}@127.0.0.1:6380/0"]
    assert password not in out  # the file is named, its values are not printed
