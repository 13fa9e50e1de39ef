"""``helpline simulate`` against the real test Asterisk with the whole app (``serve``) in-process.

Sipp volunteer phones register with digest auth and auto-answer; sipp callers come from the
carrier address. The summary must be exactly what our contact records in SQL say, and 99
volunteers (a few sipp processes serving many accounts each) must all register and answer.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from config.settings import HelplineConfig, parse_config
from dialplan import render_asterisk_config
from helpline.cli_asterisk import volunteer_accounts
from helpline.cli_simulate import SimulationPlan, run_simulation
from helpline.errors import SystemNotUp
from runtime import simulate
from runtime.errors import SippFailed
from runtime.phone_pool import PhoneGroup
from runtime.simulate import (
    MEDIA_OFFSET,
    PORT_BLOCK,
    SIPP_PORTS,
    PhoneAccount,
    PortBlocks,
    free_udp_port,
    sipp_errors,
)
from storage.db import make_engine
from storage.records import RecordWriter
from storage.volunteers import VolunteerDirectory
from tests.integration.conftest import TEST_CONFIG, TEST_VOLUNTEERS, fixture_phones

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) not installed"),
]


def _config(asterisk, tmp_path, prefix: str) -> HelplineConfig:
    root = asterisk.cfg.asterisk.root
    text = TEST_CONFIG.format(root=root) + (
        f'\n[database]\nurl = "sqlite:///{tmp_path / "sim.db"}"\n'
        f'[redis]\nurl = "redis://127.0.0.1:6379/0"\nprefix = "{prefix}:"\n'
        f'[http]\nhost = "127.0.0.1"\nport = {free_udp_port("127.0.0.1")}\n'
        f"admin_port = {free_udp_port('127.0.0.1')}\n"
        'admin_token = "test-admin-token-0123456789"\n'
        "[queue]\nring_timeout_s = 5\nwrap_up_s = 30\nmax_wait_s = 60\n"
    )
    return parse_config(text, "test_simulate")


def _installer(asterisk):
    """Render the fixture's test phones plus the SQL volunteers: other tests keep their phones."""

    def install(cfg: HelplineConfig) -> None:
        accounts = fixture_phones(asterisk.cfg) + [
            a for a in volunteer_accounts(cfg) if a.sip_user.startswith("sim-")
        ]
        asterisk.runtime.install_config(render_asterisk_config(cfg, accounts))
        asterisk.runtime.cli("module reload res_pjsip.so")

    return install


async def _simulate_with_app(cfg, plan, asterisk, lines, on_ready=None):
    """``run_simulation`` with the whole app serving ``cfg`` in this process."""
    from helpline.service import serve

    started = asyncio.Event()
    app = asyncio.create_task(serve(cfg, started))
    try:
        async with asyncio.timeout(20):
            await started.wait()
        return await run_simulation(
            cfg, plan, out=lines.append, install=_installer(asterisk), on_ready=on_ready
        )
    finally:
        app.cancel()
        await asyncio.gather(app, return_exceptions=True)
        client = aioredis.from_url("redis://127.0.0.1:6379/0")
        keys = [k async for k in client.scan_iter(match=cfg.redis.prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_simulation_summary_matches_our_contact_records(asterisk, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_ARGON2_PROFILE", "test")
    prefix = f"helpline-test-sim-{uuid.uuid4().hex[:8]}"
    cfg = _config(asterisk, tmp_path, prefix)
    lines: list[str] = []
    since = datetime.now(UTC) - timedelta(seconds=2)
    plan = SimulationPlan(
        volunteers=2,
        calls_per_minute=120,
        minutes=2 / 60,  # 4 calls in 2 s
        hold_s=(1.5, 3.0),
        answer_s=0.2,
        wrap_up_s=0.3,
    )
    summary = await _simulate_with_app(cfg, plan, asterisk, lines)

    engine = make_engine(cfg.database.url)
    try:
        until = datetime.now(UTC) + timedelta(seconds=1)
        writer = RecordWriter(engine)
        counts = writer.counts_by_outcome(since, until)
        records = writer.between(since, until)
        directory = VolunteerDirectory.from_config(engine, cfg)
        sims = [directory.get(f"sim-0{i}") for i in (1, 2)]
    finally:
        engine.dispose()

    assert summary.placed == 4
    assert summary.records == len(records) == 4
    assert (summary.answered, summary.abandoned, summary.overflowed) == (
        counts["answered"],
        counts["abandoned"],
        counts["overflowed"],
    )
    assert summary.answered >= 1
    assert {r.volunteer_id for r in records if r.outcome == "answered"} <= {"sim-01", "sim-02"}
    waits = [r.wait_s for r in records]
    assert summary.max_wait_s == pytest.approx(max(waits))
    assert summary.mean_wait_s == pytest.approx(sum(waits) / len(waits))
    assert any(line.startswith("[") and "placed" in line for line in lines)  # progress shown
    assert all(v is not None and not v.enabled for v in sims)  # left disabled
    endpoints = asterisk.runtime.cli("pjsip show endpoints")
    assert "sim-01" not in endpoints and "test-udp-1" in endpoints


async def test_simulation_refuses_cleanly_when_the_app_is_not_up(asterisk, tmp_path):
    cfg = _config(asterisk, tmp_path, "helpline-test-sim-down")  # nothing serves its HTTP port
    plan = SimulationPlan(volunteers=1, calls_per_minute=1, minutes=1)
    with pytest.raises(SystemNotUp, match="make up"):
        await run_simulation(cfg, plan, out=lambda line: None)


def _sim_contacts(asterisk) -> set[str]:
    """SIP users of the ``sim-`` contacts Asterisk has registered."""
    out = asterisk.runtime.cli("pjsip show contacts")
    return {
        line.split()[1].split("/")[0]
        for line in out.splitlines()
        if line.strip().startswith("Contact:") and "sim-" in line.split()[1]
    }


@pytest.mark.timeout(150)
async def test_ninety_nine_volunteers_all_register_and_answer(asterisk, tmp_path, monkeypatch):
    """The scale that failed before (ports raced, a phone died with no reason given)."""
    monkeypatch.setenv("HELPLINE_ARGON2_PROFILE", "test")
    cfg = _config(asterisk, tmp_path, f"helpline-test-sim-{uuid.uuid4().hex[:8]}")
    contacts_when_ready: set[str] = set()

    async def on_ready() -> None:
        contacts_when_ready.update(await asyncio.to_thread(_sim_contacts, asterisk))

    plan = SimulationPlan(
        volunteers=99,
        calls_per_minute=1200,
        minutes=3 / 60,  # 60 calls in 3 s, up to ~40 at once: never short of a volunteer
        hold_s=(1.0, 2.0),
        answer_s=0.1,
        wrap_up_s=0.3,
    )
    lines: list[str] = []
    summary = await _simulate_with_app(cfg, plan, asterisk, lines, on_ready)

    expected = {f"sim-{i:02d}" for i in range(1, 100)}
    assert contacts_when_ready == expected, sorted(expected - contacts_when_ready)
    assert summary.phones_registered == 99
    assert summary.placed == 60
    assert (summary.records, summary.answered) == (60, 60), lines[-8:]
    assert summary.phones_answered == 60
    assert not _sim_contacts(asterisk)  # unregistered (and their accounts gone) at the end


def _fixture_udp_phones() -> list[PhoneAccount]:
    return [PhoneAccount(user, pw) for user, (pw, webrtc) in TEST_VOLUNTEERS.items() if not webrtc]


async def test_a_phone_group_moves_on_when_a_port_of_its_block_is_taken(
    asterisk, tmp_path, monkeypatch
):
    """The SIP port of one block and a video-RTP neighbour of the next are in use."""
    first = PortBlocks(SIPP_PORTS, PORT_BLOCK, seed=4321).take()
    monkeypatch.setattr(simulate, "PORTS", PortBlocks(SIPP_PORTS, PORT_BLOCK, seed=4321))
    taken = []
    try:
        for port in (first, first + PORT_BLOCK + MEDIA_OFFSET + 2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            taken.append(sock)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                pytest.skip(f"port {port} is used by something else right now")
        group = PhoneGroup(_fixture_udp_phones(), asterisk.sip_address, tmp_path, "phones-t")
        await group.start()
        try:
            assert group.port == first + 2 * PORT_BLOCK
            assert group.registered() == {"test-udp-1", "test-udp-2"}
            contacts = asterisk.runtime.cli("pjsip show contacts")
            assert f"test-udp-1@127.0.0.1:{group.port}" in contacts
        finally:
            await group.stop()
    finally:
        for sock in taken:
            sock.close()
    assert f"127.0.0.1:{group.port}" not in asterisk.runtime.cli("pjsip show contacts")


async def test_a_refused_phone_is_reported_with_sipps_own_errors(asterisk, tmp_path):
    account = PhoneAccount("test-udp-1", "not-the-password")
    group = PhoneGroup([account], asterisk.sip_address, tmp_path, "phones-bad")
    with pytest.raises(SippFailed) as failure:
        await group.start(timeout_s=4.0)
    await group.stop()
    message = str(failure.value)
    assert message.startswith("phones-bad: 1 of 1 REGISTERs not accepted (sipp exit"), message
    own_words = sipp_errors(tmp_path / "phones-bad-errors.log")
    assert own_words and own_words in message, message  # sipp's reason, quoted
