"""Web API: no password, token, hash or SIP digest in any response or log line."""

from __future__ import annotations

import logging

from sqlalchemy import select

from storage.models import SipSecret, Volunteer
from tests.unit.web_support import ADMIN_TOKEN, PASSWORD, web_env

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NEW_PASSWORD = "noor's very own secret"


async def test_no_secret_appears_in_any_response_or_log(tmp_path, caplog):
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        async with web_env(tmp_path) as env:

            async def call(method, path, **kw):
                c = env.admin if path.startswith("/api/v1/admin/") else env.client
                resp = await c.request(method, path, **kw)
                texts.append(await resp.text())
                texts.append(str(dict(resp.headers)))
                return resp

            login = await call(
                "POST", "/api/v1/session", json={"volunteer_id": "anna", "password": PASSWORD}
            )
            token = (await login.json())["token"]
            # The login response itself is where the token must be: body and session cookie.
            del texts[-2:]
            auth = env.bearer(token)
            await call("POST", "/api/v1/session", json={"volunteer_id": "anna", "password": "no"})
            await call("POST", "/api/v1/session", json={"volunteer_id": PASSWORD, "password": "x"})
            await call("POST", "/api/v1/session", data='{"password": "' + PASSWORD + '"')
            await call("GET", "/api/v1/me", headers=auth)
            await call("POST", "/api/v1/me/ready", headers=auth)
            await call("POST", "/api/v1/me/pause", json={"reason": PASSWORD}, headers=auth)
            await call("GET", "/api/v1/admin/volunteers", headers=ADMIN)
            await call("GET", "/api/v1/admin/volunteers/anna", headers=ADMIN)
            await call(
                "POST",
                "/api/v1/admin/volunteers",
                headers=ADMIN,
                json={
                    "id": "noor",
                    "name": "Noor",
                    "location": "almelo",
                    "skills": ["chat"],
                    "languages": ["nl"],
                    "password": NEW_PASSWORD,
                },
            )
            await call(
                "POST",
                "/api/v1/admin/volunteers",
                headers=ADMIN,
                json={
                    "id": "x",
                    "name": "X",
                    "location": "almelo",
                    "skills": ["chat"],
                    "languages": ["nl"],
                    "password": "short",
                },
            )
            await call(
                "POST",
                "/api/v1/admin/volunteers/anna/password",
                headers=ADMIN,
                json={"password": NEW_PASSWORD},
            )
            await call("GET", "/api/v1/admin/queue", headers=ADMIN)
            await call("GET", "/api/v1/admin/queue", headers=auth)  # wrong kind of token
            await call("DELETE", "/api/v1/session", headers=auth)
            await call("GET", "/api/v1/me", headers=auth)

            with env.directory._engine.connect() as conn:
                rows = conn.execute(select(Volunteer.password_hash)).all()
                rows += conn.execute(select(SipSecret.ha1)).all()

    assert len(texts) >= 30
    everything = "\n".join(texts) + "\n" + caplog.text
    secrets = [PASSWORD, NEW_PASSWORD, token, ADMIN_TOKEN, "$argon2"]
    secrets += [h for row in rows for h in row]
    for secret in secrets:
        assert secret not in everything
    # The logs did record what happened, just without the secrets.
    assert "volunteer anna logged in at utrecht" in caplog.text
    assert "login refused" in caplog.text
