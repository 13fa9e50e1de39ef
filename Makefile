# The two set-up commands on a fresh Debian machine, as root:
#   make up    install what is needed and start the whole system
#   make test  install test dependencies and run lint, types and the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := /var/lib/helpline/.system-packages
DEBIAN_PACKAGES := redis-server mmdebstrap sip-tester espeak-ng sox python3-venv

.PHONY: up down test lint types unit system-deps venv bench

system-deps: $(SYSTEM_STAMP)
$(SYSTEM_STAMP):
	@if [ "$$(id -u)" != 0 ]; then echo "make up/test installs Debian packages: run as root"; exit 1; fi
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@mkdir -p /var/lib/helpline && touch $@

venv: $(STAMP)
$(STAMP): pyproject.toml | system-deps
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

# Redis and PostgreSQL: start them where this machine has them but they are not running.
services: system-deps
	@bash scripts/ensure-services.sh

up: venv services
	$(VENV)/bin/helpline up

down: venv
	$(VENV)/bin/helpline down

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

types: venv
	$(VENV)/bin/mypy

test: venv services lint types
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

bench: venv
	$(PY) bench/routing.py
