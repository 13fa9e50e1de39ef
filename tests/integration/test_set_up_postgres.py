"""The set-up adds no PostgreSQL ``trust`` line: tests log in with a password from ~/.pgpass.

Finding (issue 9): ``scripts/ensure-services.sh`` put ``host all all 127.0.0.1/32 trust`` at
the top of ``pg_hba.conf``, so every local user was the PostgreSQL superuser. It now sets a
random password for ``postgres`` (through the local socket, peer authentication) and keeps it in
``~/.pgpass`` (mode 0600), which libpq reads. The test runs the script against a private cluster
that asks for passwords on TCP, as Debian's does; the machine's server on 5432 is not touched.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.integration.private_postgres import PrivatePostgres

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-services.sh"
TRUST = re.compile(r"\ball\s+all\s+\S+\s+trust\b")


def test_the_set_up_script_writes_no_trust_line():
    assert not TRUST.search(SCRIPT.read_text())


@pytest.fixture
def password_cluster():
    """A private cluster with Debian's rules: peer on the socket, scram-sha-256 on TCP."""
    root = Path(tempfile.mkdtemp(prefix="helpline-pg-"))
    pg = pwd.getpwnam("postgres")
    os.chown(root, pg.pw_uid, pg.pw_gid)
    cluster = PrivatePostgres(root)
    try:
        initdb = next(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(initdb), "-D", str(cluster.data),
             "--auth-local=peer", "--auth-host=scram-sha-256", "-U", "postgres", "--no-sync"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        if cluster.running:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _run_script(cluster: PrivatePostgres, pgpass: Path) -> str:
    env = {
        **os.environ,
        "HELPLINE_PG_PORT": str(cluster.port),
        "HELPLINE_PG_SOCKET": str(cluster.root),
        "PGPASSFILE": str(pgpass),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _connect(cluster: PrivatePostgres, passfile: Path) -> None:
    with psycopg.connect(
        host="127.0.0.1",
        port=cluster.port,
        user="postgres",
        dbname="postgres",
        passfile=str(passfile),
        connect_timeout=5,
    ) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("psql") is None, reason="root and psql")
def test_postgres_gets_a_password_kept_in_a_private_pgpass(password_cluster, tmp_path):
    pgpass = tmp_path / "pgpass"
    with pytest.raises(psycopg.OperationalError):
        _connect(password_cluster, pgpass)  # no password yet: TCP logins are refused

    out = _run_script(password_cluster, pgpass)
    assert "a password for postgres" in out
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    _connect(password_cluster, pgpass)
    hba = (password_cluster.data / "pg_hba.conf").read_text()
    assert not TRUST.search(hba)

    before = pgpass.read_text()
    assert "a password for postgres" not in _run_script(password_cluster, pgpass)
    assert pgpass.read_text() == before  # idempotent: a working password is kept
    (tmp_path / "empty").write_text("")
    with pytest.raises(psycopg.OperationalError):
        _connect(password_cluster, tmp_path / "empty")  # still a password, no trust
