# The helpline app: ACD, Stasis (ARI) app and HTTP API. Build from the repository root:
#   docker build -f docker/Dockerfile.app -t helpline-app .
# The volunteer's workspace (softphone/web -> softphone/static) is built in a stage of its own,
# from the npm lockfile, so Node and npm never reach the app image.
FROM python:3.11-slim AS softphone
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src/softphone/web
COPY softphone/web/package.json softphone/web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY softphone/web ./
RUN npm run build

FROM python:3.11-slim

# espeak-ng and sox generate the IVR prompts (the init service); Pango and a font let
# WeasyPrint draw the PDF reports.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HELPLINE_CONFIG_TEMPLATE=/etc/helpline/helpline.toml \
    HELPLINE_CONFIG=/run/helpline/helpline.toml

# Dependencies first, so a code change does not reinstall them.
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
RUN pip install -c constraints.txt . && rm -rf /src

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
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["helpline-docker"]
CMD ["run"]
