# The helpline app: ACD, Stasis (ARI) app and HTTP API. Build from the repository root:
#   docker build --network host -f docker/Dockerfile.app -t helpline-app .        (BuildKit)
# Without BuildKit (no buildx), Dockerfile.app.dockerignore is not read: send only what it lets
# in, as docker/smoke.sh does (tar of those paths | docker build -f docker/Dockerfile.app -).
# The base is a local Debian bookworm made by docker/build-bases.sh (no registry needed); any
# Debian bookworm image will do: --build-arg BASE=debian:bookworm-slim.
# The volunteer's workspace (softphone/web -> softphone/static) is built in a stage of its own,
# from the npm lockfile, so Node and npm never reach the app image.
ARG BASE=helpline-debian:bookworm

# What the two build stages share: a CA store that also trusts docker/build-ca/*.crt (empty in
# the repository; a TLS-intercepting proxy's CA goes there, see build-ca/README.md). Only the
# build stages trust it: the app image starts again from ${BASE} and copies results alone.
FROM ${BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY docker/build-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

FROM build AS softphone
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src/softphone/web
COPY softphone/web/package.json softphone/web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY softphone/web ./
RUN npm run build

# The project and its pinned dependencies in a virtualenv (Debian's own Python is "externally
# managed"), built here so pip's work and the sources stay out of the app image.
FROM build AS python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/helpline
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY acd ./acd
COPY ivr ./ivr
COPY session ./session
COPY live ./live
COPY config ./config
COPY storage ./storage
COPY engine ./engine
COPY chat ./chat
COPY dialplan ./dialplan
COPY ari_app ./ari_app
COPY web ./web
COPY runtime ./runtime
COPY softphone ./softphone
COPY --from=softphone /src/softphone/static ./softphone/static
COPY reports ./reports
COPY security ./security
COPY helpline ./helpline
COPY constraints.txt ./
RUN /opt/helpline/bin/pip install -c constraints.txt .

FROM ${BASE}

# Debian's Python 3.11 (the virtualenv's interpreter); espeak-ng and sox generate the IVR prompts
# (the init service); Pango and a font let WeasyPrint draw the PDF reports.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
      espeak-ng sox libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY --from=python /opt/helpline /opt/helpline

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/helpline/bin:$PATH \
    HELPLINE_CONFIG_TEMPLATE=/etc/helpline/helpline.toml \
    HELPLINE_CONFIG=/run/helpline/helpline.toml

# A fixed, unprivileged user; /run/helpline gets the filled-in config (mode 0600).
RUN groupadd --system --gid 10001 helpline \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin helpline \
 && install -d -o helpline -g helpline -m 0700 /run/helpline \
 && install -d -o helpline -g helpline -m 0750 /var/log/helpline
COPY docker/entrypoint.py /usr/local/bin/helpline-docker
COPY docker/helpline.toml /etc/helpline/helpline.toml
RUN chmod 0755 /usr/local/bin/helpline-docker

USER helpline
WORKDIR /
EXPOSE 8080
# HELPLINE_HTTP_PORT: the port helpline.toml's [http] port is filled with (compose passes it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HELPLINE_HTTP_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["helpline-docker"]
CMD ["run"]
