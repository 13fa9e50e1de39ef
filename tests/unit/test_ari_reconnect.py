"""The events stream comes back promptly after Asterisk was away: backoff and timing.

The stream's waiting, clock and jitter are injected, so a minute-long outage runs in a fraction
of a second against the fake ARI server of ``test_ari_client``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from ari_app.websocket import AriEventStream, Backoff, Connected, Disconnected
from tests.unit.test_ari_client import APP, PASSWORD, USER, FakeAri, WsScript, wait_for


@pytest.fixture
async def fake_ari():
    fake = FakeAri()
    server = TestServer(fake.app())
    await server.start_server()
    fake.base_url = str(server.make_url("/ari"))
    yield fake
    await server.close()


def test_default_backoff_starts_at_a_tenth_and_is_capped_at_one_second():
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 8)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_jitter_only_shortens_the_delay():
    backoff = Backoff(initial_s=0.1, max_s=1.0, jitter=0.2)
    assert backoff.delay(10, 0.0) == 1.0
    assert backoff.delay(10, 0.5) == pytest.approx(0.9)
    assert backoff.delay(10, 0.999999) == pytest.approx(0.8, abs=1e-5)
    assert backoff.delay(1, 0.5) == pytest.approx(0.09)


def test_hours_of_failures_do_not_overflow():
    assert Backoff(max_s=2.0).delay(100_000) == 2.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_s": 0},
        {"initial_s": 2.0, "max_s": 1.0},
        {"factor": 0.5},
        {"jitter": 1.0},
        {"jitter": -0.1},
    ],
)
def test_nonsense_backoff_is_refused(kwargs):
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


class FakeTime:
    """A monotonic clock that moves only when the stream sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []
        self.alarms: list[tuple[float, Any]] = []

    def clock(self) -> float:
        return self.now

    def at(self, when: float, action: Any) -> None:
        self.alarms.append((when, action))

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay
        for alarm in [a for a in self.alarms if a[0] <= self.now]:
            self.alarms.remove(alarm)
            alarm[1]()
        await asyncio.sleep(0)  # let the fake server run; no real waiting


async def run_stream(stream: AriEventStream, until: Any) -> None:
    task = asyncio.create_task(stream.run())
    try:
        await wait_for(until)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_after_a_minute_without_asterisk_the_stream_is_back_within_the_cap(fake_ari, caplog):
    caplog.set_level(logging.DEBUG, logger="ari_app.websocket")
    fake_ari.ws_scripts = [WsScript(close=True)]  # Asterisk stops right after we connect
    fake = FakeTime()
    items: list[Any] = []
    back_at: list[float] = []

    def sink(item: Any) -> None:
        items.append(item)
        if item == Connected(reconnect=False):
            fake_ari.ws_reject = 1_000_000  # down: every handshake fails ...

            def asterisk_back() -> None:
                fake_ari.ws_reject = 0

            fake.at(fake.now + 60.0, asterisk_back)  # ... for 60 s
        elif item == Connected(reconnect=True):
            back_at.append(fake.now)

    stream = AriEventStream(
        fake_ari.base_url,
        USER,
        PASSWORD,
        APP,
        sink,
        sleep=fake.sleep,
        clock=fake.clock,
        draw=lambda: 0.5,
    )
    await run_stream(stream, lambda: bool(back_at))

    assert [type(i) for i in items] == [Connected, Disconnected, Connected]
    assert 60.0 <= back_at[0] <= 61.0  # reconnected within the 1 s cap of Asterisk's return
    assert fake.delays[:5] == pytest.approx([0.09, 0.18, 0.36, 0.72, 0.9])
    assert max(fake.delays) == pytest.approx(0.9)
    assert len(fake_ari.ws_handshakes) == len(fake.delays) + 1
    # The operator hears about it without a line per attempt: down, still down, back.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "down" in warnings[0] and "still down after 30s" in warnings[1]
    assert any("back after 60" in r.getMessage() for r in caplog.records)


async def test_a_connection_that_drops_at_once_backs_off_like_a_failure(fake_ari):
    # Asterisk accepts the websocket and closes it straight away, again and again.
    fake_ari.ws_scripts = [WsScript(close=True) for _ in range(6)]
    fake = FakeTime()
    items: list[Any] = []
    stream = AriEventStream(
        fake_ari.base_url,
        USER,
        PASSWORD,
        APP,
        items.append,
        sleep=fake.sleep,
        clock=fake.clock,
        draw=lambda: 0.0,
    )
    await run_stream(stream, lambda: len(fake.delays) >= 6)
    assert fake.delays[:6] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


async def test_a_stable_connection_lost_retries_after_the_initial_delay(fake_ari):
    fake_ari.ws_scripts = [WsScript(close=True), WsScript(close=True)]
    fake = FakeTime()
    items: list[Any] = []

    def sink(item: Any) -> None:
        items.append(item)
        if isinstance(item, Connected):
            fake.now += 5.0  # the connection was up for a while before Asterisk went

    stream = AriEventStream(
        fake_ari.base_url,
        USER,
        PASSWORD,
        APP,
        sink,
        backoff=Backoff(initial_s=0.1, max_s=1.0, jitter=0.0),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    await run_stream(stream, lambda: len(fake.delays) >= 2)
    assert fake.delays[:2] == [0.1, 0.1]


async def test_is_connected_follows_the_socket(fake_ari):
    fake_ari.ws_scripts = [WsScript()]  # stays open
    stream = AriEventStream(fake_ari.base_url, USER, PASSWORD, APP, lambda item: None)
    assert not stream.is_connected()
    task = asyncio.create_task(stream.run())
    try:
        await wait_for(stream.is_connected)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not stream.is_connected()
