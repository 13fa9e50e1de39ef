"""Serving the test app on a loopback port for schemathesis, and one fuzz case's run.

schemathesis's requests are synchronous, so the app (built by ``web_env`` or anything like
it) runs in a thread with its own event loop. Each case gets a fresh token of the kind its
operation needs, so the fuzzer reaches the handlers behind authentication too.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import requests
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, WebEnv

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class ServedApp:
    """The test app on a loopback port, run by a thread with its own event loop."""

    def __init__(self, make_env: Callable[[], AbstractAsyncContextManager[WebEnv]]) -> None:
        self._make_env = make_env
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-app", daemon=True)
        self.base_url = ""
        self.admin_url = ""
        """The admin listener: the admin routes live there, not on the public one."""
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
        async with self._make_env() as env:
            self.base_url = str(env.client.make_url("")).rstrip("/")
            self.admin_url = str(env.admin.make_url("")).rstrip("/")
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


# Generated bodies rarely name what only the configuration knows (a location, a schedule),
# nor anna's password: half of the object bodies get such values, so success answers are
# checked against the document too (a deterministic half: the run is derandomized).
NUDGES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/session"): {"volunteer_id": "anna", "password": PASSWORD},
    ("POST", "/api/v1/admin/volunteers"): {"location": "utrecht", "languages": ["nl"]},
    ("POST", "/api/v1/me/transfer"): {"partner": "veilig-thuis", "region": "utrecht"},
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


def run_case(case: Any, served: ServedApp) -> None:
    """Call the app with ``case`` (nudged, authenticated) and check the response."""
    nudge(case)
    admin = case.operation.path.startswith("/api/v1/admin/")
    case.call_and_validate(
        base_url=served.admin_url if admin else served.base_url,
        session=served.http,
        headers=served.auth_for(case),
        checks=CHECKS,
        timeout=10,
    )
