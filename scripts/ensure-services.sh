#!/usr/bin/env bash
# Start Redis and PostgreSQL on 127.0.0.1 when they are not answering. Idempotent.
set -euo pipefail

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/helpline.log
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    version=$(ls /etc/postgresql | sort -n | tail -1)
    # Tests and the embedded default connect locally over TCP without a password.
    hba=/etc/postgresql/$version/main/pg_hba.conf
    grep -q "helpline-trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust # helpline-trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 100); do pg_isready -h 127.0.0.1 -q && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q
echo "services: redis and postgresql answer on 127.0.0.1"
