"""The docker config's ports come from the environment, with the usual ones as defaults, so a
second stack (docker/smoke.sh) can run beside a development Asterisk, Redis and PostgreSQL."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from config.settings import load_config

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "HELPLINE_PUBLIC_IP": "127.0.0.1",
    "HELPLINE_CARRIER_IP": "127.0.0.2",
    "HELPLINE_ARI_PASSWORD": "ari-secret-0123456789abcdef",
    "HELPLINE_AMI_PASSWORD": "ami-secret-0123456789abcdef",
    "HELPLINE_ADMIN_TOKEN": "admin-token-0123456789abcdef",
    "HELPLINE_CHAT_SECRET": "chat-secret-0123456789abcdef",
    "POSTGRES_PASSWORD": "0123456789abcdef0123",
    "REDIS_PASSWORD": "fedcba98765432100123",
}


def _entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("entrypoint", ROOT / "docker" / "entrypoint.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(monkeypatch):
    for name in _entrypoint().SETTING_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_usual_ports_without_any_port_variable(env, tmp_path):
    entrypoint = _entrypoint()
    cfg = load_config(entrypoint.fill_config(ROOT / "docker" / "helpline.toml", tmp_path / "c"))
    a = cfg.asterisk
    assert (a.sip_port, a.http_port, a.ami_port, a.rtp_start, a.rtp_end) == (
        5060,
        8088,
        5038,
        10000,
        10999,
    )
    assert (cfg.http.port, cfg.http.admin_port) == (8080, 8081)
    assert "@127.0.0.1:5432/" in cfg.database.url and "@127.0.0.1:6379/" in cfg.redis.url


def test_every_port_can_be_moved(env, tmp_path):
    moved = {
        "HELPLINE_SIP_PORT": "15060",
        "HELPLINE_ARI_PORT": "18088",
        "HELPLINE_AMI_PORT": "15038",
        "HELPLINE_RTP_START": "21000",
        "HELPLINE_RTP_END": "21099",
        "HELPLINE_HTTP_PORT": "18080",
        "HELPLINE_ADMIN_PORT": "18081",
        "HELPLINE_POSTGRES_PORT": "15432",
        "HELPLINE_REDIS_PORT": "16379",
    }
    assert set(moved) == set(_entrypoint().SETTING_DEFAULTS)
    for name, value in moved.items():
        env.setenv(name, value)
    cfg = load_config(_entrypoint().fill_config(ROOT / "docker" / "helpline.toml", tmp_path / "c"))
    a = cfg.asterisk
    assert (a.sip_port, a.http_port, a.ami_port, a.rtp_start, a.rtp_end) == (
        15060,
        18088,
        15038,
        21000,
        21099,
    )
    assert (cfg.http.port, cfg.http.admin_port) == (18080, 18081)
    assert "@127.0.0.1:15432/" in cfg.database.url and "@127.0.0.1:16379/" in cfg.redis.url


def test_a_port_that_is_no_number_stops_the_container(env, tmp_path):
    entrypoint = _entrypoint()
    env.setenv("HELPLINE_SIP_PORT", "5060\nbind = '0.0.0.0'")
    with pytest.raises(entrypoint.DockerSetupError, match="HELPLINE_SIP_PORT"):
        entrypoint.fill_config(ROOT / "docker" / "helpline.toml", tmp_path / "c")
    assert not (tmp_path / "c").exists()
