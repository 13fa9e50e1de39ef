#!/bin/sh
# Build the images compose.yaml runs, on this host, without any container registry:
#   helpline-debian:{bookworm,sid}   the bases (docker/build-bases.sh), when missing
#   helpline-asterisk:latest         Dockerfile.asterisk
#   helpline-app:latest              Dockerfile.app
# With --stand-ins also helpline-smoke-{postgres,redis}:latest (docker/smoke/), which stand in
# for the official postgres:16 and redis:7 images where no registry can be reached.
#
# Works with the legacy builder as well as BuildKit: the app's build context is made here from
# exactly what Dockerfile.app.dockerignore lets in (the legacy builder ignores that file and
# would send the whole checkout). The host's CA certificates in HELPLINE_BUILD_CA_DIR (default
# /usr/local/share/ca-certificates) go in as docker/build-ca/*.crt: trusted by the build stages
# only, for a TLS-intercepting proxy in front of PyPI and npm.
# Needs network access to the Debian mirror, PyPI and the npm registry (builds use --network host).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
: "${HELPLINE_BUILD_CA_DIR:=/usr/local/share/ca-certificates}"
say() { printf 'build-images: %s\n' "$*" >&2; }

stand_ins=0
case "${1:-}" in
    --stand-ins) stand_ins=1 ;;
    "") ;;
    *) echo "usage: $0 [--stand-ins]" >&2; exit 2 ;;
esac

for suite in bookworm sid; do
    docker image inspect "helpline-debian:$suite" >/dev/null 2>&1 || "$here/build-bases.sh" "$suite"
done

say "helpline-asterisk"
docker build --network host -q -f "$here/Dockerfile.asterisk" -t helpline-asterisk:latest "$here"

say "helpline-app"
ctx=$(mktemp)
trap 'rm -f "$ctx"' EXIT
entries=$(sed -n 's/^!//p' "$here/Dockerfile.app.dockerignore")
# shellcheck disable=SC2086  # one word per path
(cd "$root" && tar -cf "$ctx" --exclude=softphone/web/node_modules --exclude=softphone/static \
    --exclude=__pycache__ --exclude='*.pyc' docker/Dockerfile.app $entries)
if [ -d "$HELPLINE_BUILD_CA_DIR" ]; then
    cas=$(cd "$HELPLINE_BUILD_CA_DIR" && find . -maxdepth 1 -name '*.crt' | sed 's,^\./,,')
    if [ -n "$cas" ]; then
        say "its build stages trust $HELPLINE_BUILD_CA_DIR/*.crt"
        # shellcheck disable=SC2086
        tar -rf "$ctx" -C "$HELPLINE_BUILD_CA_DIR" --transform='s,^,docker/build-ca/,' $cas
    fi
fi
docker build --network host -q -f docker/Dockerfile.app -t helpline-app:latest - <"$ctx"

if [ "$stand_ins" = 1 ]; then
    say "helpline-smoke-postgres, helpline-smoke-redis (stand-ins)"
    docker build --network host -q -f "$here/smoke/Dockerfile.postgres" \
        -t helpline-smoke-postgres:latest "$here/smoke"
    docker build --network host -q -f "$here/smoke/Dockerfile.redis" \
        -t helpline-smoke-redis:latest "$here/smoke"
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
    | grep -E '^helpline-(app|asterisk|debian|smoke-[a-z]+):' >&2
