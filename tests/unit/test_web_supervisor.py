"""Web API: the supervisor's routes (coaching, forced pause and logout, surge mode) on the fake
gateway, the admin API's surge routes, and ``helpline surge``."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

import acd
from helpline import cli, cli_surge
from tests.unit.test_web_transfer import in_a_call
from tests.unit.web_support import ADMIN_TOKEN, WebEnv, web_env

BASE = "/api/v1/supervisor"


@pytest.fixture
async def env(tmp_path):
    async with web_env(tmp_path) as e:
        yield e


@pytest.fixture
async def sam(env: WebEnv) -> str:
    """A supervisor's session."""
    env.directory.set_role("sam", "supervisor")
    return await env.login("sam")


async def post(env: WebEnv, token: str, path: str, body: Any = None):
    return await env.client.post(f"{BASE}{path}", json=body or {}, headers=env.bearer(token))


async def test_a_supervisor_logs_in_as_trained_staff(env: WebEnv, sam: str):
    await env.login("anna")
    skills = {agent: skills for agent, _, skills, _ in env.gateway.logins}
    assert "staff" in skills["sam"] and "staff" not in skills["anna"]


async def test_coach_switch_and_stop_a_volunteers_call(env: WebEnv, sam: str):
    await env.login("anna")
    in_a_call(env)
    resp = await post(env, sam, "/volunteers/anna/coaching", {"mode": "listen"})
    assert resp.status == 200, await resp.text()
    coaching = (await resp.json())["coaching"]
    assert (coaching["supervisor_id"], coaching["agent_id"]) == ("sam", "anna")
    assert (coaching["mode"], coaching["state"]) == ("listen", "ringing")

    listed = await env.client.get(f"{BASE}/coaching", headers=env.bearer(sam))
    assert [c["agent_id"] for c in (await listed.json())["coaching"]] == ["anna"]

    resp = await post(env, sam, "/volunteers/anna/coaching/mode", {"mode": "whisper"})
    assert (await resp.json())["coaching"]["mode"] == "whisper"
    resp = await post(env, sam, "/volunteers/anna/coaching/stop")
    assert (await resp.json())["coaching"]["state"] == "ended"
    assert env.gateway.coaching_calls == [
        ("sam", "anna", "listen"),
        ("sam", "anna", "whisper"),
        ("sam", "anna", "stop"),
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/volunteers/anna/coaching", {"mode": "shout"}, 400, "invalid_field"),
        ("/volunteers/anna/coaching", {"mode": "listen", "x": 1}, 400, "unknown_field"),
        ("/volunteers/anna/coaching", {"mode": "listen"}, 409, "no_call"),
        ("/volunteers/anna/coaching/stop", None, 409, "no_coaching"),
        ("/volunteers/not%20an%20id/coaching", {"mode": "listen"}, 404, "unknown_volunteer"),
        ("/volunteers/anna/pause", {"reason": "nap"}, 400, "invalid_field"),
        ("/surge", {}, 400, "missing_field"),
        ("/surge", {"on": "yes"}, 400, "invalid_field"),
    ],
)
async def test_refusals(env: WebEnv, sam: str, path: str, body: Any, status: int, code: str):
    await env.login("anna")
    resp = await post(env, sam, path, body)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["error"] == code
    assert env.gateway.surge_on is False


async def test_force_pause_and_logout_go_through_the_acd(env: WebEnv, sam: str):
    await env.login("anna")
    env.gateway.handle(acd.AgentReady("anna"))
    resp = await post(env, sam, "/volunteers/anna/pause", {"reason": "meeting"})
    assert resp.status == 200
    agent = (await resp.json())["agent"]
    assert (agent["state"], agent["reason"]) == ("paused", "meeting")
    resp = await post(env, sam, "/volunteers/anna/logout")
    assert resp.status == 200 and (await resp.json())["agent"] is None
    assert env.gateway.events[-2:] == [
        acd.AgentPaused("anna", "meeting"),
        acd.AgentLoggedOut("anna"),
    ]
    # Someone not logged in: the ACD's refusal, as for the volunteer's own buttons.
    resp = await post(env, sam, "/volunteers/anna/logout")
    assert resp.status == 409 and (await resp.json())["error"] == "not_logged_in"


async def test_the_names_of_the_volunteers_logged_in_now(env: WebEnv, sam: str):
    anna = await env.login("anna")
    listed = await env.client.get(f"{BASE}/volunteers", headers=env.bearer(sam))
    assert listed.status == 200
    # Bram is disabled (and not logged in): only who is in the queue now, supervisors too.
    assert await listed.json() == {
        "volunteers": [{"id": "anna", "name": "Anna"}, {"id": "sam", "name": "Sam"}]
    }
    env.gateway.handle(acd.AgentLoggedOut("anna"))
    listed = await env.client.get(f"{BASE}/volunteers", headers=env.bearer(sam))
    assert await listed.json() == {"volunteers": [{"id": "sam", "name": "Sam"}]}

    # A volunteer is refused as on every supervisor route (test_web_routes_auth walks them).
    refused = await env.client.get(f"{BASE}/volunteers", headers=env.bearer(anna))
    assert refused.status == 403 and (await refused.json())["error"] == "not_a_supervisor"


async def test_surge_on_and_off(env: WebEnv, sam: str):
    resp = await env.client.get(f"{BASE}/surge", headers=env.bearer(sam))
    assert (await resp.json()) == {"surge": False}
    resp = await post(env, sam, "/surge", {"on": True})
    assert (await resp.json()) == {"surge": True} and env.gateway.surge_on is True
    resp = await post(env, sam, "/surge", {"on": False})
    assert (await resp.json()) == {"surge": False} and env.gateway.surge_on is False


async def test_admin_surge_routes(env: WebEnv):
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    resp = await env.admin.post("/api/v1/admin/surge", json={"on": True}, headers=auth)
    assert resp.status == 200 and (await resp.json()) == {"surge": True}
    resp = await env.admin.get("/api/v1/admin/surge", headers=auth)
    assert (await resp.json()) == {"surge": True}
    resp = await env.admin.post("/api/v1/admin/surge", json={"on": True})
    assert resp.status == 401


# ---------------------------------------------------------------------- helpline surge


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kindertelefoon.toml"


def example_config(tmp_path: Path, token_line: str, port: int) -> Path:
    """The shipped example with this admin token line and admin port."""
    text = EXAMPLE.read_text()
    text = text.replace('admin_token = "${HELPLINE_ADMIN_TOKEN}"', token_line)
    text = text.replace("admin_port = 8081", f"admin_port = {port}")
    # Every other secret as a test value: the test must not depend on this machine's
    # /etc/helpline/secrets.env (a fresh machine has none; an older one lacks newer names).
    text = re.sub(
        r"\$\{(HELPLINE_[A-Z_]+)\}", lambda m: f"test-{m.group(1).lower()}-0123456789", text
    )
    path = tmp_path / "helpline.toml"
    path.write_text(text)
    return path


class _Admin(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str | None, Any]] = []

    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.seen.append(("GET", self.path, self.headers.get("Authorization"), None))
        self._reply({"surge": False})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(("POST", self.path, self.headers.get("Authorization"), body))
        self._reply({"surge": body["on"]})

    def log_message(self, *args: Any) -> None:
        pass


def test_helpline_surge_calls_the_admin_api(tmp_path, capsys):
    server = HTTPServer(("127.0.0.1", 0), _Admin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    token = "t" * 24
    config = example_config(tmp_path, f'admin_token = "{token}"', port)
    try:
        assert cli.main(["-c", str(config), "surge", "on"]) == 0
        assert cli.main(["-c", str(config), "surge"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert _Admin.seen == [
        ("POST", "/api/v1/admin/surge", f"Bearer {token}", {"on": True}),
        ("GET", "/api/v1/admin/surge", f"Bearer {token}", None),
    ]
    assert capsys.readouterr().out.splitlines() == ["surge mode is on", "surge mode is off"]


def test_helpline_surge_without_an_admin_token(tmp_path, capsys):
    config = example_config(tmp_path, "", 8081)
    assert cli.main(["-c", str(config), "surge", "off"]) == 2
    assert "admin_token" in capsys.readouterr().err
    assert cli_surge.TIMEOUT_S > 0
