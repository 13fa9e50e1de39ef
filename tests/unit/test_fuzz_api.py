"""Fuzz the HTTP API against its OpenAPI document with schemathesis: no 5xx, and every
response (status, content type, body) is one the document allows.

The app (with the fake gateway and a real SQLite directory, as in the other web tests) is
served on a loopback port (``tests.unit.fuzz_support``). Examples per operation are bounded
(valid and invalid data, plus schemathesis's coverage cases) so the run stays well under a
minute; ``tests/integration/test_fuzz_api_real.py`` runs the same on PostgreSQL and Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import acd
from config.settings import LoginsSection
from storage.volunteers import ARGON2_PROFILE_ENV
from tests.unit.fuzz_support import ServedApp, run_case
from tests.unit.web_support import WebEnv, web_env
from web import openapi

MAX_EXAMPLES = 30

schema = schemathesis.openapi.from_path(Path(openapi.__file__).with_name(openapi.DOCUMENT))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    tmp_path = tmp_path_factory.mktemp("fuzz")

    @asynccontextmanager
    async def make_env() -> AsyncIterator[WebEnv]:
        async with web_env(
            tmp_path,
            hours_clock=lambda: datetime(2025, 6, 2, 10, tzinfo=UTC),
            # The fuzzed logins would otherwise use up anna's attempts (429), and every
            # operation fuzzed after them would only ever meet the 401 in front of it.
            logins=LoginsSection(per_address="100000/minute", per_account="100000/minute"),
        ) as env:
            # anna talks to a child, so the transfer routes answer 200 too (not only 409).
            gw = env.gateway
            await gw.login("anna", "utrecht", frozenset({"phone"}), frozenset({"nl"}))
            gw.handle(acd.AgentReady("anna"))
            gw.offer_call("c1")
            gw.handle(acd.OfferAccepted("c1", "anna"))
            yield env

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ARGON2_PROFILE_ENV, "test")  # the directory picks its hasher when made
        with ServedApp(make_env) as app:
            yield app


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case: Any, served: ServedApp) -> None:
    run_case(case, served)
