"""Fuzz the HTTP API against its OpenAPI document with schemathesis: no 5xx, and every
response (status, content type, body) is one the document allows.

The app (with the fake gateway and a real SQLite directory, as in the other web tests) is
served on a loopback port by a thread with its own event loop; schemathesis's requests are
synchronous. Each case gets a fresh token of the kind its operation needs, so the fuzzer
reaches the handlers behind authentication too. Examples per operation are bounded (both
valid and invalid data are generated) so the run stays well under a minute.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from storage.volunteers import ARGON2_PROFILE_ENV
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv, web_env
from web import openapi

MAX_EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(Path(openapi.__file__).with_name(openapi.DOCUMENT))


class ServedApp:
    """The test app on a loopback port, run by a thread with its own event loop."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-app", daemon=True)
        self.base_url = ""
        self.http = requests.Session()

    def __enter__(self) -> ServedApp:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError("the fuzz app did not start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.http.close()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)  # noqa: E731
        env: WebEnv
        async with web_env(self._tmp_path, hours_clock=clock) as env:
            self.base_url = str(env.client.make_url("")).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def session_token(self) -> str:
        """A fresh session of anna's (or a dud, if the fuzzer disabled her meanwhile)."""
        resp = self.http.post(
            self.base_url + "/api/v1/session",
            json={"volunteer_id": "anna", "password": PASSWORD},
            timeout=10,
        )
        return str(resp.json()["token"]) if resp.status_code == 201 else "logged-out"

    def auth_for(self, case: Any) -> dict[str, str]:
        path = case.operation.path
        if path.startswith("/api/v1/admin/"):
            return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        if case.operation.definition.raw.get("security"):
            return {"Authorization": f"Bearer {self.session_token()}"}
        return {}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ARGON2_PROFILE_ENV, "test")  # the directory picks its hasher when made
        with ServedApp(tmp_path_factory.mktemp("fuzz")) as app:
            yield app


# Generated bodies rarely name what only the configuration knows (a location, a schedule),
# nor anna's password: half of the object bodies get such values, so success answers are
# checked against the document too (a deterministic half: the run is derandomized).
NUDGES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/session"): {"volunteer_id": "anna", "password": PASSWORD},
    ("POST", "/api/v1/admin/volunteers"): {"location": "utrecht", "languages": ["nl"]},
    ("POST", "/api/v1/admin/hours/exceptions"): {
        "schedule": None,
        "starts_at": "now",
        "ends_at": "2025-06-03T00:00:00Z",
    },
}


def nudge(case: Any) -> None:
    values = NUDGES.get((case.method, case.operation.path))
    if values and isinstance(case.body, dict) and zlib.crc32(repr(case.body).encode()) % 2:
        case.body.update(values)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case: Any, served: ServedApp) -> None:
    nudge(case)
    case.call_and_validate(
        base_url=served.base_url,
        session=served.http,
        headers=served.auth_for(case),
        checks=CHECKS,
        timeout=10,
    )
