"""The helpline's own Redis asks for a password: a local user cannot write a session.

Finding (issue 9): Redis had no password, so any local user could write
``helpline:session:<sha256>`` and be any volunteer. ``helpline up`` now starts a redis-server
of the helpline's own (its port and password from the secrets file); these tests start one on a
free port. The machine's shared test Redis on 6379 is never touched.
"""

from __future__ import annotations

import secrets
import stat
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from runtime.errors import RedisSetupError
from runtime.redis_server import ensure_redis, own_redis_for, stop_redis
from tests.integration.redis_support import PrivateRedis, _free_port
from web.auth import token_hash

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]


@pytest.fixture
def own(tmp_path: Path):
    password = secrets.token_urlsafe(24)
    url = f"redis://:{password}@127.0.0.1:{_free_port()}/0"
    server = own_redis_for(url, tmp_path / "redis")
    assert server is not None
    try:
        yield server, url
    finally:
        stop_redis(server)


def test_a_local_user_without_the_password_cannot_write_a_session(own):
    server, url = own
    assert ensure_redis(server) is True
    key = f"helpline:session:{token_hash('forged-token')}"
    intruder = redis.Redis(host=server.host, port=server.port, retry=Retry(NoBackoff(), 0))
    try:
        with pytest.raises(redis.AuthenticationError):
            intruder.set(key, '{"volunteer_id": "anna"}')
    finally:
        intruder.close()
    app = redis.Redis.from_url(url)  # the app's client, password from the URL
    try:
        assert app.get(key) is None
        assert app.set("helpline:probe", "1") and app.delete("helpline:probe") == 1
    finally:
        app.close()


def test_the_password_is_in_a_private_file_not_on_the_command_line(own):
    server, _ = own
    ensure_redis(server)
    assert stat.S_IMODE(server.conf.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    pid = int((server.data_dir / "redis.pid").read_text())
    command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert server.password.encode() not in command_line  # ps shows it to every local user


def test_a_running_own_redis_is_kept_and_stopped_only_by_its_pid(own):
    server, _ = own
    assert ensure_redis(server) is True
    pid = int((server.data_dir / "redis.pid").read_text())
    assert ensure_redis(server) is False  # answers with our password: left as it is
    assert int((server.data_dir / "redis.pid").read_text()) == pid
    stop_redis(server)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()


def test_a_server_with_another_password_is_refused(own):
    server, url = own
    ensure_redis(server)
    wrong = own_redis_for(url.replace(server.password, "not-the-password"), server.data_dir)
    assert wrong is not None
    with pytest.raises(RedisSetupError, match="refuses the password"):
        ensure_redis(wrong)


async def test_a_password_less_redis_on_that_port_is_not_taken_for_ours(tmp_path):
    shared_like = PrivateRedis(tmp_path / "open")
    await shared_like.start()
    try:
        url = f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:{shared_like.port}/0"
        server = own_redis_for(url, tmp_path / "redis")
        assert server is not None
        with pytest.raises(RedisSetupError, match="has no password"):
            ensure_redis(server)
    finally:
        shared_like.stop()


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",  # the shared test Redis: no password, never ours
        "redis://:secret@10.0.0.5:6380/0",  # another machine's
        "redis://:secret@redis:6379/0",  # the compose service
        "unix:///run/redis.sock",
    ],
)
def test_only_a_local_url_with_a_password_is_ours_to_start(url):
    assert own_redis_for(url) is None
