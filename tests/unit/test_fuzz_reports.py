"""Fuzz the report routes as a supervisor (``test_fuzz_api`` signs in a volunteer, who only
ever meets their 403): no 5xx, and every answer (HTML, CSV, PDF, CSS, errors) is one the
OpenAPI document allows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.settings import LoginsSection
from storage.volunteers import ARGON2_PROFILE_ENV
from tests.unit.fuzz_support import ServedApp, run_case
from tests.unit.web_support import PASSWORD, WebEnv, web_env
from web import openapi

MAX_EXAMPLES = 30

schema = schemathesis.openapi.from_path(Path(openapi.__file__).with_name(openapi.DOCUMENT)).include(
    path_regex="^/api/v1/reports"
)


class SupervisorApp(ServedApp):
    """The served app, every case signed in as the supervisor ``sofie``."""

    def session_token(self) -> str:
        resp = self.http.post(
            self.base_url + "/api/v1/session",
            json={"volunteer_id": "sofie", "password": PASSWORD},
            timeout=10,
        )
        return str(resp.json()["token"]) if resp.status_code == 201 else "logged-out"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    tmp_path = tmp_path_factory.mktemp("fuzz-reports")

    @asynccontextmanager
    async def make_env() -> AsyncIterator[WebEnv]:
        # Every case signs in: the login rate limits would soon turn them all into 401s.
        limits = LoginsSection(per_address="100000/minute", per_account="100000/minute")
        async with web_env(tmp_path, logins=limits) as env:
            env.directory.add(
                "sofie", "Sofie", "utrecht", ["phone"], ["nl"], PASSWORD, role="supervisor"
            )
            yield env

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ARGON2_PROFILE_ENV, "test")
        with SupervisorApp(make_env) as app:
            yield app


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_report_routes_conform_to_the_openapi_document(case: Any, served: ServedApp) -> None:
    run_case(case, served)
