#!/bin/sh
# docker/smoke.sh: register USER with SECRET from 127.0.0.1 at 127.0.0.1:SIP_PORT
# (sipp-register.xml). Exit 0 when Asterisk answered 200.
# Usage: sipp-register.sh SIP_PORT USER SECRET
set -eu
here=$(cd "$(dirname "$0")" && pwd)
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # sipp writes its error log into the working directory
if sipp "127.0.0.1:$1" -sf "$here/sipp-register.xml" -s "$2" -au "$2" -ap "$3" \
    -i 127.0.0.1 -p "$port" -m 1 -timeout 15s -timeout_error -recv_timeout 10000 -nostdin \
    >sipp.out 2>&1; then
    exit 0
fi
tail -n 30 sipp.out ./*errors.log 2>/dev/null >&2 || true
exit 1
