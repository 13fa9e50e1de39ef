# The two set-up commands on a fresh Debian machine, as root:
#   make up    install what is needed and start the whole system
#   make test  install test dependencies and run lint, types and the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := /var/lib/helpline/.system-packages
DEBIAN_PACKAGES := redis-server mmdebstrap sip-tester espeak-ng sox python3-venv

.PHONY: up down test lint types unit system-deps venv bench build-softphone browser-deps lock docker-images docker-smoke

system-deps: $(SYSTEM_STAMP)
$(SYSTEM_STAMP):
	@if [ "$$(id -u)" != 0 ]; then echo "make up/test installs Debian packages: run as root"; exit 1; fi
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@mkdir -p /var/lib/helpline && touch $@

venv: $(STAMP)
$(STAMP): pyproject.toml constraints.txt | system-deps
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

# Re-pin constraints.txt to the newest releases pyproject.toml allows (in a throw-away venv);
# then run `make test` before committing it.
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q '.[test]'
	{ sed -n '/^#/p' constraints.txt; .lock-venv/bin/python -m pip freeze --exclude helpline; } \
		> constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf .lock-venv build

# The volunteer's workspace (softphone/web -> softphone/static): Node and npm from Debian when
# the machine has none, the locked npm packages (installed again only when the lock changed;
# no install scripts: none is needed), then the esbuild bundle (well under a second).
SOFTPHONE := softphone/web
NODE_STAMP := $(SOFTPHONE)/node_modules/.installed
build-softphone: $(NODE_STAMP)
	cd $(SOFTPHONE) && npm run --silent build
$(NODE_STAMP): $(SOFTPHONE)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		if [ "$$(id -u)" != 0 ]; then echo "build-softphone needs node and npm: run as root"; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd $(SOFTPHONE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser downloads are not used).
browser-deps: system-deps
	@dpkg -s chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Redis and PostgreSQL: start them where this machine has them but they are not running.
services: system-deps
	@bash scripts/ensure-services.sh

up: venv services build-softphone
	$(VENV)/bin/helpline up

down: venv
	$(VENV)/bin/helpline down

lint: venv build-softphone
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	cd $(SOFTPHONE) && npm run --silent check

types: venv
	$(VENV)/bin/mypy

test: venv services browser-deps build-softphone lint types
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

bench: venv
	$(PY) bench/routing.py

# The container deployment (docker/README.md), with a running Docker daemon. Not part of `test`:
# CI may have no daemon, and the smoke run takes minutes. Neither needs a container registry.
docker-images:
	docker/build-images.sh

docker-smoke:
	docker/smoke.sh
