#!/bin/sh
# Build the base images the Dockerfiles start FROM, locally, without any container registry:
# a minimal Debian root made by mmdebstrap from the Debian mirror, imported with `docker import`.
#
#   helpline-debian:bookworm   for Dockerfile.app (and the smoke run's PostgreSQL/Redis stand-ins)
#   helpline-debian:sid        for Dockerfile.asterisk (Asterisk 22 is in sid, not in bookworm)
#
# Like Docker's debian:*-slim: the "minbase" variant (dpkg, apt, nothing else), no manual pages
# or documentation, no apt lists. Needs root (or mmdebstrap's unshare mode) and a Docker daemon.
# Usage: docker/build-bases.sh [bookworm] [sid]     (default: both; an existing tag is rebuilt)
# Environment: HELPLINE_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -eu
mirror=${HELPLINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suites=${*:-bookworm sid}
for suite in $suites; do
    case $suite in
        bookworm|sid) ;;
        *) echo "unknown suite: $suite (bookworm or sid)" >&2; exit 2 ;;
    esac
    echo "building helpline-debian:$suite from $mirror" >&2
    # The same dpkg exclusions as the official slim images keep documentation out of every
    # package installed later too (they are written into /etc/dpkg/dpkg.cfg.d).
    mmdebstrap --variant=minbase --format=tar \
        --aptopt='APT::Install-Recommends "false"' \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        "$suite" - "$mirror" \
    | docker import \
        --change 'CMD ["bash"]' \
        --change 'ENV LANG=C.UTF-8' \
        --message "mmdebstrap --variant=minbase $suite $mirror" \
        - "helpline-debian:$suite"
done
docker image ls helpline-debian
