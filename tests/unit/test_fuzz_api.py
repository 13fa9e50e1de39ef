"""Fuzz the HTTP API against its OpenAPI document with schemathesis: no 5xx, and every
response (status, content type, body) is one the document allows.

The app (with the fake gateway and a real SQLite directory, as in the other web tests) is
served on a loopback port (``tests.unit.fuzz_support``). Examples per operation are bounded
(valid and invalid data, plus schemathesis's coverage cases) so the run stays well under a
minute; ``tests/integration/test_fuzz_api_real.py`` runs the same on PostgreSQL and Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from storage.volunteers import ARGON2_PROFILE_ENV
from tests.unit.fuzz_support import ServedApp, run_case
from tests.unit.web_support import web_env
from web import openapi

MAX_EXAMPLES = 30

schema = schemathesis.openapi.from_path(Path(openapi.__file__).with_name(openapi.DOCUMENT))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    tmp_path = tmp_path_factory.mktemp("fuzz")

    def make_env():
        return web_env(tmp_path, hours_clock=lambda: datetime(2025, 6, 2, 10, tzinfo=UTC))

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
