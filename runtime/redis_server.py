"""The helpline's own Redis: a password-protected redis-server that ``helpline up`` starts.

The config's ``[redis] url`` carries the password (``redis://:PASSWORD@127.0.0.1:6380/0``,
filled from the secrets file). When that address is on this machine and nothing answers
there, ``ensure_redis`` starts a redis-server from a config file of mode 0600 (never
``--requirepass`` on the command line, which any local user can read in ``ps``), with an
append-only file so the live state outlives a restart. A Redis already answering is never
reconfigured: it must accept the password, or the set-up stops with an error. The machine's
shared, password-less Redis on 6379 (the tests') is not ours and is never touched.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from runtime.errors import RedisSetupError

DATA_DIR = Path("/var/lib/helpline/redis")


@dataclass(frozen=True, slots=True)
class OwnRedis:
    """Where the helpline's Redis listens and the password it requires."""

    host: str
    """A loopback address: we only ever start a server on this machine."""
    port: int
    password: str
    data_dir: Path
    """Its config file (mode 0600), append-only file, pid file and log."""

    @property
    def conf(self) -> Path:
        return self.data_dir / "redis.conf"


def own_redis_for(url: str, data_dir: Path = DATA_DIR) -> OwnRedis | None:
    """The server ``url`` asks for, when it is ours to start: loopback, with a password."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.password or not parts.hostname:
        return None
    try:
        if not ipaddress.ip_address(parts.hostname).is_loopback:
            return None
        port = parts.port or 6379
    except ValueError:  # a name, or a bad port: not ours
        return None
    return OwnRedis(parts.hostname, port, unquote(parts.password), data_dir)


def _client(own: OwnRedis, password: str | None) -> redis.Redis:
    # One attempt: redis-py's default retries with back-off would turn "nothing there yet"
    # and "NOAUTH" into seconds of waiting each.
    return redis.Redis(
        host=own.host,
        port=own.port,
        password=password,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )


def _answers(own: OwnRedis) -> bool:
    """True when our password works and is required; False when nothing answers there.

    RedisSetupError when a server refuses the password, or needs none (redis-py then
    quietly drops the password, so that is asked without one).
    """
    try:
        with _client(own, own.password) as client:
            client.ping()
    except redis.AuthenticationError as exc:
        raise RedisSetupError(
            f"the Redis on {own.host}:{own.port} refuses the password from the secrets file"
        ) from exc
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    try:
        with _client(own, None) as anyone:
            anyone.ping()
    except redis.AuthenticationError:
        return True  # NOAUTH: a password is required
    raise RedisSetupError(
        f"the Redis on {own.host}:{own.port} has no password, so it is not the helpline's "
        "own: choose another port in [redis] url"
    )


def render_conf(own: OwnRedis) -> str:
    """The server's config file (it holds the password: written with mode 0600)."""
    d = own.data_dir
    return "\n".join(
        [
            f"bind {own.host}",
            f"port {own.port}",
            "protected-mode yes",
            f"requirepass {own.password}",
            "daemonize yes",
            f"pidfile {d / 'redis.pid'}",
            f"logfile {d / 'redis.log'}",
            f"dir {d}",
            'save ""',
            "appendonly yes",
            "",
        ]
    )


def ensure_redis(own: OwnRedis, wait_s: float = 10.0) -> bool:
    """Start the helpline's Redis unless it answers already; True when it was started."""
    if _answers(own):
        return False
    if shutil.which("redis-server") is None:
        raise RedisSetupError("redis-server is not installed (Debian package redis-server)")
    own.data_dir.mkdir(parents=True, exist_ok=True)
    own.data_dir.chmod(0o700)
    tmp = own.conf.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render_conf(own))
    tmp.replace(own.conf)
    done = subprocess.run(["redis-server", str(own.conf)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RedisSetupError(f"redis-server did not start: {done.stderr or done.stdout}")
    deadline = time.monotonic() + wait_s
    while not _answers(own):
        if time.monotonic() > deadline:
            raise RedisSetupError(f"redis-server did not answer; see {own.data_dir / 'redis.log'}")
        time.sleep(0.1)
    return True


def stop_redis(own: OwnRedis) -> None:
    """Stop the server ``ensure_redis`` started (by the pid in its pid file), if it runs."""
    pid_file = own.data_dir / "redis.pid"
    try:
        pid = int(pid_file.read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"redis-server" not in command:
        return  # a stale pid file, its number now another process's
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
