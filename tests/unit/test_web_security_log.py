"""A refused API login is one line in the security log (the file fail2ban watches)."""

from __future__ import annotations

from security import log as security_log
from tests.unit.web_support import web_env


async def test_a_refused_login_is_written_to_the_security_log(tmp_path):
    path = tmp_path / "security.log"
    handler = security_log.attach_file(path)
    try:
        async with web_env(tmp_path) as env:
            for volunteer_id in ("anna", "nobody", "0612345678\nx"):
                resp = await env.client.post(
                    "/api/v1/session", json={"volunteer_id": volunteer_id, "password": "wrong!!!!"}
                )
                assert resp.status == 401
            await env.login()  # a good login writes nothing
    finally:
        security_log.detach(handler)
    lines = [line.split(": ", 1)[1] for line in path.read_text().splitlines()]
    assert lines == [
        "failed API login account=anna from=127.0.0.1",
        "failed API login account=nobody from=127.0.0.1",
        "failed API login account=invalid from=127.0.0.1",
    ]
