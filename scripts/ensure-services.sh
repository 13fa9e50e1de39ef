#!/usr/bin/env bash
# Start Redis and PostgreSQL on 127.0.0.1 when they are not answering. Idempotent.
# This Redis on 6379 has no password: it is the tests' (and other tools'); the helpline's own
# password-protected Redis is started by `helpline up` (runtime/redis_server.py).
set -euo pipefail

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/helpline.log
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null

PG_PORT="${HELPLINE_PG_PORT:-5432}"
PG_SOCKET="${HELPLINE_PG_SOCKET:-/var/run/postgresql}"
PGPASS="${PGPASSFILE:-$HOME/.pgpass}"

if ! pg_isready -h 127.0.0.1 -p "$PG_PORT" -q 2>/dev/null; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    version=$(ls /etc/postgresql | sort -n | tail -1)
    # No `trust` line: TCP logins keep Debian's password (scram-sha-256) rule. Drop the one an
    # older version of this script added, while the server is down anyway.
    hba=/etc/postgresql/$version/main/pg_hba.conf
    sed -i '/# helpline-trust$/d' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p "$PG_PORT" -q && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p "$PG_PORT" -q

# Tests (and a PostgreSQL-backed helpline) log in as `postgres` over TCP with a password that
# libpq reads from ~/.pgpass (mode 0600). Set one when none works yet: through the local
# socket as the postgres user (peer authentication), the SQL on stdin so `ps` never shows it.
if command -v psql >/dev/null 2>&1 \
    && ! PGPASSFILE="$PGPASS" psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -w -Atqc \
        'select 1' >/dev/null 2>&1; then
    password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    printf "ALTER ROLE postgres PASSWORD '%s';\n" "$password" \
        | runuser -u postgres -- psql -h "$PG_SOCKET" -p "$PG_PORT" -d postgres -qX >/dev/null
    touch "$PGPASS" && chmod 600 "$PGPASS"
    sed -i "/^127\.0\.0\.1:$PG_PORT:\*:postgres:/d" "$PGPASS"
    echo "127.0.0.1:$PG_PORT:*:postgres:$password" >>"$PGPASS"
    echo "services: a password for postgres@127.0.0.1:$PG_PORT is in $PGPASS"
fi
echo "services: redis and postgresql answer on 127.0.0.1"
