"""``helpline run`` on the browser tests' Asterisk and configuration, for the benches that
drive the real app (``browser_ring.py``, ``wallboard.py``, ``chat.py``).

Holds the integration tests' Asterisk lock for the whole run (a bench never runs beside a test
session), starts the tests' Asterisk and the app as ``make up`` would, and afterwards stops
both and deletes the run's Redis keys.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("HELPLINE_ARGON2_PROFILE", "test")

import redis

from bench.rig import asterisk_lock
from tests.browser.conftest import PASSWORD, VOLUNTEERS, RunningHelpline, _config, _free_port
from tests.integration.conftest import _asterisk_session


@contextlib.contextmanager
def running_app(
    name: str, config: Callable[[str], str] = lambda text: text
) -> Iterator[RunningHelpline]:
    """The app, ready; ``config`` may change the tests' configuration text first. ``name``
    names the temporary directory and the Redis prefix."""
    with asterisk_lock(), tempfile.TemporaryDirectory(prefix=f"{name}-") as work:
        tmp = Path(work)
        sessions = _asterisk_session()
        asterisk = next(sessions)
        port = _free_port()
        prefix = f"helpline-bench-{name}-{uuid.uuid4().hex[:8]}:"
        path = tmp / "helpline.toml"
        path.write_text(config(_config(asterisk, tmp, port, prefix)))
        app = RunningHelpline(
            f"http://127.0.0.1:{port}",
            path,
            tmp / "app.log",
            None,
            prefix,
            {vid: PASSWORD for vid in VOLUNTEERS},
        )
        try:
            app.start()
            yield app
        finally:
            app.stop()
            sessions.close()  # stops the bench's Asterisk
            client = redis.Redis(host="127.0.0.1", port=6379)
            keys = list(client.scan_iter(match=prefix.rstrip(":") + "*", count=500))
            if keys:
                client.delete(*keys)
            client.close()
