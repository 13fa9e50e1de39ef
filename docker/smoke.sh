#!/bin/sh
# Build the images and start the whole compose stack on this host, check that it works, and
# remove it again (containers and volumes; the images stay). Exit 0 only when every check passed.
#
#   docker/smoke.sh              build (bases too if missing), start, check, tear down
#   SMOKE_BUILD=0 docker/smoke.sh    reuse the images already built
#   SMOKE_KEEP=1 docker/smoke.sh     leave the stack running (project helpline-smoke) to look at
#
# It runs beside a development stack on the same host: every port is moved (below, or from the
# environment) and nothing binds beyond 127.0.0.1. No container registry is needed: the bases
# come from docker/build-bases.sh, the images from docker/build-images.sh, and PostgreSQL and
# Redis from small stand-ins built from the same Debian (docker/smoke/), not the official images
# production uses.
# Needs: a Docker daemon, `docker compose` or docker-compose (v1.29 works), mmdebstrap for the
# bases, python3, and network access to the Debian mirror, PyPI and the npm registry.
# Not part of `make test`: the daemon may be absent and this takes minutes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
project=helpline-smoke

: "${HELPLINE_SIP_PORT:=15060}"
: "${HELPLINE_RTP_START:=21000}"
: "${HELPLINE_RTP_END:=21099}"
: "${HELPLINE_ARI_PORT:=18088}"
: "${HELPLINE_AMI_PORT:=15038}"
: "${HELPLINE_HTTP_PORT:=18080}"
: "${HELPLINE_ADMIN_PORT:=18081}"
: "${HELPLINE_POSTGRES_PORT:=15432}"
: "${HELPLINE_REDIS_PORT:=16379}"
: "${SMOKE_BUILD:=1}"
: "${SMOKE_KEEP:=0}"

say() { printf 'smoke: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

if docker compose version >/dev/null 2>&1; then
    compose() { docker compose -p "$project" -f "$here/compose.yaml" --env-file "$env_file" "$@"; }
elif command -v docker-compose >/dev/null 2>&1; then
    compose() { docker-compose -p "$project" -f "$here/compose.yaml" --env-file "$env_file" "$@"; }
else
    fail "neither 'docker compose' nor docker-compose is installed"
fi
docker info >/dev/null 2>&1 || fail "no Docker daemon answers"

# Not beside `make test`: its call tests failed in a run that shared the machine with this one
# (the image builds load every core, and the tests time calls). Take the lock the test sessions
# take (tests/integration/conftest.py): refuse while they run; a test session started meanwhile
# waits for this run to end.
tests_lock=/var/lib/helpline/asterisk-tests.lock
if [ -d "$(dirname "$tests_lock")" ] && command -v flock >/dev/null 2>&1; then
    exec 9>>"$tests_lock"
    flock -n 9 || fail "the test suite (make test) is running on this machine: run this after it"
fi

# Ports already taken would make a service fail late and obscurely: say which, now.
for port in "$HELPLINE_ARI_PORT" "$HELPLINE_AMI_PORT" "$HELPLINE_HTTP_PORT" \
    "$HELPLINE_ADMIN_PORT" "$HELPLINE_POSTGRES_PORT" "$HELPLINE_REDIS_PORT"; do
    if ss -Hltn "sport = :$port" | grep -q .; then fail "TCP port $port is in use"; fi
done
if ss -Hlun "sport = :$HELPLINE_SIP_PORT" | grep -q .; then
    fail "UDP port $HELPLINE_SIP_PORT is in use"
fi

# --- images ---------------------------------------------------------------------------------
if [ "$SMOKE_BUILD" = 1 ]; then
    "$here/build-images.sh" --stand-ins
fi

# --- start ----------------------------------------------------------------------------------
work=$(mktemp -d)
env_file=$work/env
secret() { od -An -tx1 -N20 /dev/urandom | tr -d ' \n'; }
umask 077
cat >"$env_file" <<EOF
HELPLINE_PUBLIC_IP=127.0.0.1
HELPLINE_CARRIER_IP=127.0.0.2
HELPLINE_ARI_PASSWORD=$(secret)
HELPLINE_AMI_PASSWORD=$(secret)
HELPLINE_ADMIN_TOKEN=$(secret)
HELPLINE_CHAT_SECRET=$(secret)
POSTGRES_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
HELPLINE_SIP_PORT=$HELPLINE_SIP_PORT
HELPLINE_RTP_START=$HELPLINE_RTP_START
HELPLINE_RTP_END=$HELPLINE_RTP_END
HELPLINE_ARI_PORT=$HELPLINE_ARI_PORT
HELPLINE_AMI_PORT=$HELPLINE_AMI_PORT
HELPLINE_HTTP_PORT=$HELPLINE_HTTP_PORT
HELPLINE_ADMIN_PORT=$HELPLINE_ADMIN_PORT
HELPLINE_POSTGRES_PORT=$HELPLINE_POSTGRES_PORT
HELPLINE_REDIS_PORT=$HELPLINE_REDIS_PORT
HELPLINE_POSTGRES_IMAGE=helpline-smoke-postgres:latest
HELPLINE_REDIS_IMAGE=helpline-smoke-redis:latest
EOF
umask 022
ari_password=$(sed -n 's/^HELPLINE_ARI_PASSWORD=//p' "$env_file")

teardown() {
    status=$?
    if [ "$status" != 0 ]; then
        say "last log lines of each service:"
        compose logs --no-color --tail=40 >&2 || true
    fi
    if [ "$SMOKE_KEEP" = 1 ]; then
        say "left running (SMOKE_KEEP=1); remove with:"
        say "  docker compose -p $project -f $here/compose.yaml --env-file $env_file down -v"
    else
        compose down -v --remove-orphans >/dev/null 2>&1 || say "compose down failed"
        rm -rf "$work"
    fi
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

say "starting the stack (project $project)"
# Compose starts in order and waits: postgres/redis healthy, init exited 0, asterisk healthy.
compose up -d --no-build

# --- checks ---------------------------------------------------------------------------------
container() { compose ps -q "$1"; }
state() { docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(container "$1")"; }

[ "$(state init)" = "exited 0" ] || fail "init did not exit 0: $(state init)"
say "ok: init migrated the database and rendered Asterisk's config"

fetch() {  # fetch URL [USER:PASSWORD]: print the body of a 200 answer, else fail
    python3 - "$@" <<'EOF'
import base64, sys, urllib.request
request = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    request.add_header("Authorization", "Basic " + base64.b64encode(sys.argv[2].encode()).decode())
with urllib.request.urlopen(request, timeout=3) as answer:
    print(answer.read().decode())
EOF
}

health=""
deadline=$(($(date +%s) + 120))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if health=$(fetch "http://127.0.0.1:$HELPLINE_HTTP_PORT/healthz" 2>/dev/null); then break; fi
    health=""
    sleep 2
done
[ -n "$health" ] || fail "the app's /healthz did not answer 200 within 120 s"
say "ok: app /healthz: $health"
echo "$health" | grep -q '"ari": *true' || fail "the app is not connected to ARI"

apps=$(fetch "http://127.0.0.1:$HELPLINE_ARI_PORT/ari/applications" "helpline:$ari_password")
echo "$apps" | grep -q '"name": *"helpline"' || fail "ARI has no application 'helpline': $apps"
say "ok: ARI on 127.0.0.1:$HELPLINE_ARI_PORT lists the Stasis application 'helpline'"

version=$(fetch "http://127.0.0.1:$HELPLINE_ARI_PORT/ari/asterisk/info" "helpline:$ari_password" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["system"]["version"])')
say "ok: Asterisk $version"

asterisk_cli() { docker exec "$(container asterisk)" asterisk -rx "$1"; }
asterisk_cli "pjsip show transports" | grep -q "127.0.0.1:$HELPLINE_SIP_PORT" \
    || fail "no PJSIP transport on 127.0.0.1:$HELPLINE_SIP_PORT"
say "ok: SIP listens on 127.0.0.1:$HELPLINE_SIP_PORT"
asterisk_cli "manager show connected" | grep -q helpline \
    || fail "the app is not logged in to AMI"
say "ok: the app is logged in to AMI (security events)"

revision=$(docker exec "$(container postgres)" \
    psql -U helpline -d helpline -Atc 'SELECT version_num FROM alembic_version')
[ -n "$revision" ] || fail "no Alembic revision in PostgreSQL"
say "ok: PostgreSQL migrated to $revision"

if [ "$(docker inspect -f '{{.State.Health.Status}}' "$(container app)")" != healthy ]; then
    # The image's own HEALTHCHECK probes every 10 s: give it one more round.
    sleep 12
fi
for service in postgres redis asterisk app; do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$(container "$service")")
    [ "$status" = healthy ] || fail "$service is $status"
done
say "ok: postgres, redis, asterisk and app report healthy"

# Unprivileged: the app as uid 10001, Asterisk dropped to its own uid 2000; the rendered config
# readable by Asterisk's group only.
[ "$(docker exec "$(container app)" id -u)" = 10001 ] || fail "the app does not run as uid 10001"
# The server (asterisk -f ...), not a health check's `asterisk -rx` that may run as root meanwhile.
users=$(docker top "$(container asterisk)" -eo pid,uid,args \
    | awk '$3 == "asterisk" && $4 == "-f" {print $2}' | sort -u)
[ "$users" = 2000 ] || fail "Asterisk runs as uid ${users:-?}, not 2000"
modes=$(docker exec "$(container asterisk)" stat -c '%u:%g %a' /etc/asterisk/pjsip.conf)
[ "$modes" = "0:2000 640" ] || fail "pjsip.conf is $modes, not 0:2000 640"
say "ok: the app runs as uid 10001, Asterisk as uid 2000, its rendered config is 0:2000 0640"

if command -v sipp >/dev/null 2>&1; then
    # One call from the carrier's address to the helpline's number: Asterisk must hand it to the
    # app's Stasis application, which answers it (200), plays the IVR's greeting and queues it;
    # with no volunteer, the caller hangs up after 8 s: an abandoned contact record.
    "$here/smoke/sipp-call.sh" "$HELPLINE_SIP_PORT" 116111 || fail "the test call failed"
    say "ok: a call from the carrier's address (127.0.0.2) to 116111 was answered"
    records=$(docker exec "$(container postgres)" psql -U helpline -d helpline -Atc \
        "SELECT count(*) FROM contact_records WHERE line_id = '116111' AND outcome = 'abandoned'")
    [ "$records" = 1 ] || fail "expected 1 abandoned contact record, found ${records:-none}"
    say "ok: the app queued it and wrote its anonymous contact record (abandoned)"
    if compose logs --no-color 2>&1 | grep -q 0611223344; then
        fail "the caller's number is in a container's log"
    fi
    say "ok: the caller's number is in no container's log"

    # A volunteer as the README adds one: the account, its SIP secret, the accounts re-rendered
    # by init and reloaded; then their phone registers from 127.0.0.1 (the default location
    # network: loopback only).
    app=$(container app)
    secret | docker exec -i "$app" helpline volunteer add anna --name Anna --location utrecht \
        --skills phone,chat --languages nl,en --password-stdin >/dev/null 2>&1 \
        || fail "helpline volunteer add failed"
    sip_secret=$(docker exec "$app" helpline volunteer sip-secret anna 2>/dev/null \
        | sed -n 's/^SIP secret: *//p')
    [ -n "$sip_secret" ] || fail "helpline volunteer sip-secret printed no secret"
    compose run --rm init >/dev/null 2>&1 || fail "re-running init failed"
    asterisk_cli "module reload res_pjsip.so" >/dev/null
    "$here/smoke/sipp-register.sh" "$HELPLINE_SIP_PORT" anna "$sip_secret" \
        || fail "the volunteer's phone could not register"
    asterisk_cli "pjsip show contacts" | grep -q "anna/sip:anna@127.0.0.1" \
        || fail "Asterisk has no contact for anna"
    say "ok: a volunteer added with the CLI registers a SIP phone (digest) after init + reload"
else
    say "skipped: the test call and registration (no sipp; apt-get install sip-tester)"
fi
say "all checks passed"
