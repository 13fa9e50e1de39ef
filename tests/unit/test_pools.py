"""Named thread pools: a flood of slow logins never delays loading the opening hours."""

from __future__ import annotations

import asyncio
import threading
import time

from storage import pools
from storage.hours_view import HoursView
from storage.pools import Pools
from storage.volunteers import VolunteerDirectory
from tests.unit.test_hours_view import NOW, FakeStore, closure
from tests.unit.web_support import PASSWORD, make_config, web_env


class SlowHashing:
    """A stand-in for argon2 that blocks until released; counts how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, *args: object) -> bool:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.add(threading.current_thread().name)
        try:
            assert self.release.wait(10), "never released"
            return False
        finally:
            with self._lock:
                self.running -= 1


async def test_hours_refresh_is_prompt_while_logins_saturate_their_pool_and_the_default_one():
    own = Pools(waiting={})  # no waiting bound here: 28 logins queue behind the two threads
    slow = SlowHashing()
    logins = [asyncio.ensure_future(own.run("login", slow, "anna", "pw")) for _ in range(30)]
    # What used to share the default pool with the hours lookup, filled too for good measure.
    default = [asyncio.ensure_future(asyncio.to_thread(slow)) for _ in range(40)]
    store = FakeStore(closure())
    view = HoursView(make_config(), store, executor=own.executor("hours"), clock=lambda: NOW)
    try:
        await asyncio.sleep(0.05)  # let the pools fill
        started = time.monotonic()
        assert await asyncio.wait_for(view.refresh(), 2.0)
        elapsed = time.monotonic() - started
        assert not view.status("116111", "phone", NOW).open
        assert elapsed < 0.5, f"refresh took {elapsed:.3f} s behind the logins"
        assert not any(f.done() for f in logins)
        login_threads = {n for n in slow.threads if n.startswith("helpline-login")}
        assert len(login_threads) == 2  # bounded: the other 28 logins wait their turn
    finally:
        slow.release.set()
        await asyncio.gather(*logins, *default)
        own.shutdown()


async def test_web_logins_check_passwords_on_the_login_pool(tmp_path, monkeypatch):
    seen: list[str] = []
    real = VolunteerDirectory.verify_password

    def recording(self, volunteer_id: str, password: str) -> bool:
        seen.append(threading.current_thread().name)
        return real(self, volunteer_id, password)

    monkeypatch.setattr(VolunteerDirectory, "verify_password", recording)
    async with web_env(tmp_path) as env:
        token = await env.login("anna")
        assert token
        bad = await env.client.post(
            "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD + "x"}
        )
        assert bad.status == 401
    assert len(seen) == 2 and all(name.startswith("helpline-login_") for name in seen)


async def test_a_login_flood_through_the_api_leaves_the_hours_refresh_prompt(tmp_path, monkeypatch):
    slow = SlowHashing()
    monkeypatch.setattr(VolunteerDirectory, "verify_password", lambda self, *a: slow(*a))
    store = FakeStore(closure())
    async with web_env(tmp_path) as env:
        attempts = [
            asyncio.ensure_future(
                env.client.post("/api/v1/session", json={"volunteer_id": "x", "password": "y" * 8})
            )
            for _ in range(20)
        ]
        try:
            async with asyncio.timeout(2):
                while slow.running < 2:
                    await asyncio.sleep(0.01)
            view = HoursView(make_config(), store, clock=lambda: NOW)
            started = time.monotonic()
            assert await asyncio.wait_for(view.refresh(), 2.0)
            assert time.monotonic() - started < 0.5
            assert slow.most == 2  # the process's login pool: two argon2 checks at a time
        finally:
            slow.release.set()
            responses = await asyncio.gather(*attempts)
        statuses = sorted(r.status for r in responses)
        # Two checks run, eight wait, the other ten are refused at once (the pool is full).
        assert statuses == [401] * 10 + [429] * 10


async def test_shutdown_ends_the_pools_and_a_later_use_gets_fresh_ones():
    own = Pools({"login": 1, "records": 1, "hours": 1})
    first = own.executor("records")
    assert own.executor("records") is first  # created once
    assert await own.run("records", lambda a, b=0: a + b, 1, b=2) == 3
    own.shutdown()
    second = own.executor("records")
    assert second is not first
    assert await own.run("records", threading.current_thread) is not threading.current_thread()
    own.shutdown()


def test_the_process_pools_have_the_documented_sizes():
    assert dict(pools.SIZES) == {"login": 2, "records": 1, "hours": 1, "reports": 2}
    assert dict(pools.WAITING) == {"login": 8, "reports": 2}
    assert pools.executor("records") is pools.executor("records")
