"""The wrap-up form after a real call through the real Asterisk: the volunteer's last contact as
the engine saw it (line, language), registered over the HTTP API, wrap-up ended by the save, and
the form closed once the volunteer answers their next call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

import acd
from storage import db
from storage.registrations import RegistrationStore
from storage.volunteers import ARGON2_PROFILE_ENV, VolunteerDirectory
from tests.integration.app_harness import running_app
from tests.integration.phones import AutoAnswer, CallerPhone, VolunteerPhone
from web import MemorySessionStore, create_app

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

PASSWORD = "registration test password"
# A wrap-up long enough that the save, not the timer, ends it.
SLOW_WRAP_UP = acd.AcdSettings(ring_timeout_s=6.0, wrap_up_s=120.0, max_no_answer=3)


async def test_a_real_call_is_registered_and_the_save_ends_wrap_up(asterisk, tmp_path, monkeypatch):
    monkeypatch.setenv(ARGON2_PROFILE_ENV, "test")
    cfg = asterisk.cfg
    engine = db.make_engine(f"sqlite:///{tmp_path}/web.db")
    db.migrate(engine)
    directory = VolunteerDirectory.from_config(engine, cfg)
    directory.add("test-udp-1", "Noor", "utrecht", ["phone"], ["nl"], PASSWORD)
    store = RegistrationStore.from_config(engine, cfg)
    async with running_app(asterisk, tmp_path, settings=SLOW_WRAP_UP) as run:
        app = create_app(cfg, directory, run.gateway, MemorySessionStore(), registrations=store)
        async with (
            TestClient(TestServer(app)) as api,
            VolunteerPhone.of(asterisk, "test-udp-1", mode=AutoAnswer(0.3)) as phone,
        ):
            await phone.registered()
            resp = await api.post(
                "/api/v1/session", json={"volunteer_id": "test-udp-1", "password": PASSWORD}
            )
            assert resp.status == 201, await resp.text()
            auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
            assert (await api.post("/api/v1/me/ready", headers=auth)).status == 200
            assert await (await api.get("/api/v1/me/registration", headers=auth)).json() is None

            async with CallerPhone("08000432") as caller:  # the 0800-0432 line
                await caller.dial()
                await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                await caller.hangup()
            await run.wait_for(lambda: run.state("test-udp-1") == "wrap_up")
            await run.records_written(1)
            now = datetime.now(UTC)
            (record,) = run.writer.between(now - timedelta(hours=1), now + timedelta(minutes=1))

            form = await (await api.get("/api/v1/me/registration", headers=auth)).json()
            assert form["contact_id"] == record.id
            assert (form["channel"], form["line_id"], form["language"]) == (
                "phone",
                "0800-0432",
                "nl",
            )
            assert form["referral"] is None and form["saved"] is False
            assert form["wrap_until"] > form["ended_at"]

            body = {
                "contact_id": record.id,
                "contact_type": "conversation",
                "topics": ["mental_health.anxiety", "school_and_education.performance"],
                "age_band": "15_17",
                "gender": "unknown",
            }
            resp = await api.post("/api/v1/me/registration", json=body, headers=auth)
            assert resp.status == 201, await resp.text()
            assert (await resp.json())["agent"]["state"] == "available"
            saved = store.get(record.id)
            assert saved is not None and saved.volunteer_id == "test-udp-1"
            form = await (await api.get("/api/v1/me/registration", headers=auth)).json()
            assert form["saved"] is True and form["wrap_until"] is None

            # The next call answered: the previous form is closed.
            async with CallerPhone("116111") as caller:
                await caller.dial()
                await run.wait_for(lambda: run.state("test-udp-1") == "busy")
                assert await (await api.get("/api/v1/me/registration", headers=auth)).json() is None
                resp = await api.post("/api/v1/me/registration", json=body, headers=auth)
                assert resp.status == 409
                assert (await resp.json())["error"] == "registration_closed"
                await caller.hangup()
    engine.dispose()
