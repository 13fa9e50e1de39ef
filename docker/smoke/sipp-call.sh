#!/bin/sh
# docker/smoke.sh: place one call with sipp-call.xml from the carrier's address (127.0.0.2) to
# NUMBER at 127.0.0.1:SIP_PORT. Exit 0 when it went exactly as scripted.
# Usage: sipp-call.sh SIP_PORT [NUMBER]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
free_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])'
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # sipp writes its error log into the working directory
if sipp "127.0.0.1:$1" -sf "$here/sipp-call.xml" -s "${2:-116111}" \
    -i 127.0.0.2 -p "$(free_port)" -mi 127.0.0.2 -mp "$(free_port)" \
    -m 1 -timeout 20s -timeout_error -recv_timeout 15000 -nostdin >sipp.out 2>&1; then
    exit 0
fi
tail -n 30 sipp.out ./*errors.log 2>/dev/null >&2 || true
exit 1
