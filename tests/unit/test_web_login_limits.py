"""Logins under attack: a bounded hashing pool (429 when full), rate limits per address and
per account (429 with Retry-After), and no hashing for a client that already left."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import threading
import time

import aiohttp
import pytest
from yarl import URL

from config.errors import ConfigError
from config.settings import LoginsSection, parse_config
from storage import pools
from storage.errors import PoolFull
from storage.pools import Pools
from storage.volunteers import VolunteerDirectory
from tests.unit.web_support import PASSWORD, WebEnv, web_env
from web.app import start_site
from web.login_guard import LoginGuard, address_key


class Hashing:
    """A stand-in for argon2 that blocks until released; counts the checks that started."""

    def __init__(self, result: bool = False) -> None:
        self.release = threading.Event()
        self.started = 0
        self.result = result
        self._lock = threading.Lock()

    def __call__(self, *args: object) -> bool:
        with self._lock:
            self.started += 1
        assert self.release.wait(10), "never released"
        return self.result


def login(env: WebEnv, volunteer_id: str = "anna", password: str = "wrong password"):
    return env.client.post(
        "/api/v1/session", json={"volunteer_id": volunteer_id, "password": password}
    )


async def until(predicate, timeout_s: float = 2.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


# -- the bounded pool ---------------------------------------------------------------------------


async def test_a_full_pool_refuses_at_once_and_frees_its_slots_when_jobs_end():
    own = Pools({"login": 1, "records": 1, "hours": 1}, waiting={"login": 1})
    gate = threading.Event()
    try:
        running = own.submit("login", gate.wait, 5)
        waiting = own.submit("login", gate.wait, 5)
        with pytest.raises(PoolFull) as refused:
            own.submit("login", gate.wait, 5)
        assert refused.value.pool == "login"
        assert own.pending("login") == 2
        assert waiting.cancel()  # a waiting job can be dropped: its slot is free at once
        assert own.pending("login") == 1
        again = own.submit("login", gate.wait, 5)
        gate.set()
        assert running.result(2) and again.result(2)
        await until(lambda: own.pending("login") == 0)
        # Pools without a bound (the record writer's) never refuse.
        assert [f.result(2) for f in [own.submit("records", int, "7") for _ in range(20)]] == [
            7
        ] * 20
    finally:
        gate.set()
        own.shutdown()


async def test_cancelling_the_awaiting_task_means_a_waiting_job_never_starts():
    own = Pools({"login": 1, "records": 1, "hours": 1}, waiting={"login": 4})
    gate = threading.Event()
    ran: list[str] = []
    try:
        first = asyncio.ensure_future(own.run("login", gate.wait, 5))
        second = asyncio.ensure_future(own.run("login", ran.append, "second"))
        await until(lambda: own.pending("login") == 2)
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        await until(lambda: own.pending("login") == 1)
        gate.set()
        assert await first
        await asyncio.sleep(0.05)
        assert ran == []
    finally:
        gate.set()
        own.shutdown()


async def test_a_full_login_pool_answers_429_with_retry_after_without_hashing(
    tmp_path, monkeypatch
):
    slow = Hashing()
    monkeypatch.setattr(VolunteerDirectory, "verify_password", lambda self, *a: slow(*a))
    size = pools.SIZES["login"] + pools.WAITING["login"]
    async with web_env(tmp_path) as env:
        queued = [asyncio.ensure_future(login(env, f"v{i}")) for i in range(size)]
        try:
            # Queued is not yet running: wait until the pool's threads are inside the hash too
            # (on a busy machine a thread may start a moment after its job is counted).
            await until(
                lambda: (
                    pools.POOLS.pending("login") == size and slow.started == pools.SIZES["login"]
                )
            )
            started = time.monotonic()
            resp = await login(env)
            assert time.monotonic() - started < 0.5  # at once, not after the queue
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
            assert await resp.json() == {
                "error": "busy",
                "message": "too many logins at once; try again in a moment",
            }
            assert slow.started == pools.SIZES["login"]
        finally:
            slow.release.set()
            answers = await asyncio.gather(*queued)
        assert {r.status for r in answers} == {401}
        assert slow.started == size  # the refused one was never hashed
        await until(lambda: pools.POOLS.pending("login") == 0)


# -- rate limits --------------------------------------------------------------------------------


def counting(monkeypatch) -> list[str]:
    """Record which ids the real password check ran for."""
    seen: list[str] = []
    real = VolunteerDirectory.verify_password

    def check(self, volunteer_id: str, password: str) -> bool:
        seen.append(volunteer_id)
        return real(self, volunteer_id, password)

    monkeypatch.setattr(VolunteerDirectory, "verify_password", check)
    return seen


async def test_one_address_is_limited_across_accounts(tmp_path, monkeypatch):
    seen = counting(monkeypatch)
    limits = LoginsSection(per_address="6/minute", per_account="100/minute", failure_cost=1)
    async with web_env(tmp_path, logins=limits) as env:
        statuses = [(await login(env, f"guess{i}")).status for i in range(6)]
        assert statuses == [401] * 6
        resp = await login(env, "anna", PASSWORD)  # even the right password now
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert await resp.json() == {
            "error": "rate_limited",
            "message": "too many login attempts; try again later",
        }
        assert len(seen) == 6  # the refused attempt cost no hashing


async def post_from(env: WebEnv, source: str, volunteer_id: str, password: str) -> int:
    """A login from another loopback address (any 127.x.y.z is ours on Linux)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        url = env.client.make_url("/api/v1/session")
        body = {"volunteer_id": volunteer_id, "password": password}
        async with session.post(url, json=body) as resp:
            return resp.status


async def test_one_account_is_limited_across_addresses_and_failures_cost_more(
    tmp_path, monkeypatch
):
    seen = counting(monkeypatch)
    limits = LoginsSection(per_address="100/minute", per_account="12/minute", failure_cost=5)
    async with web_env(tmp_path, logins=limits) as env:
        # Successes cost 1: a volunteer logging in on two devices is nowhere near the limit.
        for n in range(2):
            assert await post_from(env, f"127.0.3.{n + 1}", "anna", PASSWORD) == 201
        # Failures cost 5 each: two wrong guesses from two addresses spend the rest (2 + 10).
        assert await post_from(env, "127.0.4.1", "anna", "wrong guess 1") == 401
        assert await post_from(env, "127.0.4.2", "anna", "wrong guess 2") == 401
        # From a third address, with the right password, the account now waits.
        assert await post_from(env, "127.0.4.3", "anna", PASSWORD) == 429
        assert len(seen) == 4
        # Other accounts are not affected.
        assert await post_from(env, "127.0.4.3", "sam", PASSWORD) == 201


def test_guard_charges_failures_only_as_far_as_the_window_goes():
    guard = LoginGuard(LoginsSection(per_address="3/hour", per_account="3/hour", failure_cost=5))
    guard.admit("10.0.0.1", "anna")
    guard.failed("10.0.0.1", "anna")  # 1 + at most 2 more: spent, and no error
    with pytest.raises(Exception) as refused:
        guard.admit("10.0.0.1", "bram")
    assert getattr(refused.value, "status", None) == 429
    assert 3500 <= refused.value.retry_after_s <= 3600  # type: ignore[attr-defined]


def test_ipv6_clients_are_counted_by_their_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key(None) == address_key("not an address") == "unknown"


@pytest.mark.parametrize("value", ["often", "0/minute", ""])
def test_config_refuses_a_rate_that_is_not_one(value):
    from tests.unit.web_support import CONFIG

    text = CONFIG.format(admin="") + f'\n[logins]\nper_account = "{value}"\n'
    with pytest.raises(ConfigError, match="logins.per_account"):
        parse_config(text)


# -- a client that leaves -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("server", ["production runner", "handler cancellation"])
async def test_a_client_that_leaves_before_its_turn_is_never_hashed(tmp_path, monkeypatch, server):
    """``start_site`` serves as production does: aiohttp does not cancel a handler whose
    client left, so the handler watches the connection; aiohttp's test server does cancel
    it, and the waiting job is cancelled with it. Either way it never starts."""
    slow = Hashing()
    monkeypatch.setattr(VolunteerDirectory, "verify_password", lambda self, *a: slow(*a))
    workers = pools.SIZES["login"]
    async with contextlib.AsyncExitStack() as stack:
        env = await stack.enter_async_context(web_env(tmp_path))
        url = env.client.make_url("/api/v1/session")
        if server == "production runner":
            port = free_port()
            runner = await start_site(env.client.app, "127.0.0.1", port)
            stack.push_async_callback(runner.cleanup)
            url = URL(f"http://127.0.0.1:{port}/api/v1/session")
        session = await stack.enter_async_context(aiohttp.ClientSession())

        def attempt(volunteer_id: str):
            body = {"volunteer_id": volunteer_id, "password": "wrong password"}
            return session.post(url, json=body)

        busy = [asyncio.ensure_future(attempt(f"busy{i}")) for i in range(workers)]
        try:
            await until(lambda: slow.started == workers)
            # Clients that give up after 0.2 s, as in the flood: their checks wait, then go.
            gone = [
                asyncio.ensure_future(asyncio.wait_for(attempt(f"gone{i}"), 0.2)) for i in range(5)
            ]
            results = await asyncio.gather(*gone, return_exceptions=True)
            assert all(isinstance(r, TimeoutError) for r in results)
            await until(lambda: pools.POOLS.pending("login") == workers)  # dropped from the line
        finally:
            slow.release.set()
            answers = await asyncio.gather(*busy)
        assert [r.status for r in answers] == [401] * workers
        for r in answers:
            r.release()
        await asyncio.sleep(0.1)
        assert slow.started == workers  # none of the five departed clients' checks ever ran
        assert pools.POOLS.pending("login") == 0


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_login_threads_run_at_a_lower_cpu_priority_than_the_event_loop():
    own = Pools()
    try:
        nice = own.executor("login").submit(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        )
        assert nice.result(5) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + pools.NICE["login"])
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != nice.result()
    finally:
        own.shutdown()
