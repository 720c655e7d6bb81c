# Summarizer — developer and operator entry points. `make help` lists them.
#
# Only Python 3.11 (or any python3 >= 3.11) and the package registries are
# needed: the virtualenv, the SQLite database and the embedded Redis are all
# created on first use. Requirements are (re)installed only when the content
# of requirements*.txt changes (a stamp file inside .venv keyed on a hash).
# `make test` also installs the Debian packages the suite runs (chromium,
# PostgreSQL, redis-server, iproute2: TEST_SYSTEM_DEPS) when they are missing and
# it runs as root.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
VAR_DIR := $(or $(SUMMARIZER_VAR_DIR),var)

# PORT and TENSORBOARD_PORT (`make demo PORT=8080`) reach runstack through the
# environment; their defaults live in summarizer_project/settings/base.py.
export PYTHONUNBUFFERED := 1

# Debian packages the test suite runs, as what=package, where `what` is a command on
# PATH or an absolute path (a glob: any match will do) that the package installs:
# - the browser tests (tests/browser) drive Debian's Chromium, never a browser
#   Playwright downloads;
# - the several-hosts test (tests/integration/test_several_hosts.py) and the outage
#   tests run PostgreSQL's server binaries and redis-server, the several-hosts test
#   in network namespaces (`ip netns`, `unshare`); under CI=true it fails without them.
TEST_SYSTEM_DEPS := $(or $(CHROMIUM_PATH),/usr/bin/chromium)=chromium \
	/usr/lib/postgresql/*/bin/initdb=postgresql \
	redis-server=redis-server \
	ip=iproute2 \
	unshare=util-linux

RUNTIME_HASH := $(shell cat requirements.txt | sha256sum | cut -c1-16)
DEV_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(RUNTIME_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(DEV_HASH)

.PHONY: help demo up down test test-deps smoke smoke-if-cached lint format bench clean venv deps dev-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(PY):
	@test -n "$(PYTHON)" || { echo "error: python3.11 (or python3) not found on PATH" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python >= 3.11 is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

venv: $(PY)

$(RUNTIME_STAMP): | $(PY)
	$(PY) -m pip install -r requirements.txt
	@rm -f $(VENV)/.installed-runtime-* && touch $@

$(DEV_STAMP): | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	@rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-runtime-* && touch $@ $(RUNTIME_STAMP)

deps: $(RUNTIME_STAMP)
dev-deps: $(DEV_STAMP)

demo: $(RUNTIME_STAMP)  ## run the whole service here, summarize the sample corpus, serve until Ctrl-C
	$(PY) manage.py runstack --demo

up: $(RUNTIME_STAMP)  ## start the same stack in the background; returns when healthy
	$(PY) manage.py runstack --detach

down: $(RUNTIME_STAMP)  ## stop the background stack and the embedded Redis
	$(PY) manage.py runstack --stop

test: $(DEV_STAMP) test-deps  ## ruff check, mypy and the whole pytest suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

# docker/compose.yaml end to end (docker/smoke.sh; docs/deploy.md, "Trying it with
# Podman"): without a working `docker compose` it installs Podman, runc and debootstrap
# (apt-get, root only) and a pinned podman-compose in ~/.cache/summarizer/smoke-venv when missing.
smoke:  ## build and run the compose stack, kill a worker, restart PostgreSQL and Redis, tear down
	docker/smoke.sh

# .ci/run's last step: `make smoke` when its images are built for this requirements.txt
# (about 6.5 min), else a line saying it did not run and why (docs/deploy.md).
smoke-if-cached:  ## make smoke when the image cache is warm; otherwise say so and exit 0
	docker/smoke.sh --if-cached

# Quick when everything is there; otherwise apt-get (root only), once.
test-deps:  ## install the Debian packages the tests run (TEST_SYSTEM_DEPS) when missing; root only
	@missing=""; for dep in $(TEST_SYSTEM_DEPS); do \
		what="$${dep%%=*}"; \
		case "$$what" in \
			/*) compgen -G "$$what" >/dev/null ;; \
			*) command -v "$$what" >/dev/null ;; \
		esac || missing="$$missing $${dep#*=}"; \
	done; \
	[ -n "$$missing" ] || exit 0; \
	install="apt-get update && apt-get install -y --no-install-recommends$$missing"; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "error: the test suite needs the Debian package(s)$$missing; run as root: $$install" >&2; \
		echo "       (or set CHROMIUM_PATH to a Chromium binary)" >&2; exit 1; \
	fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "error: the test suite needs$$missing and there is no apt-get here; install it" \
			"with your package manager (or set CHROMIUM_PATH to a Chromium binary)" >&2; exit 1; \
	fi; \
	echo "installing$$missing for the test suite: $$install"; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

lint: $(DEV_STAMP)  ## ruff check (lint + import order) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(DEV_STAMP)  ## ruff format and the safe ruff fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(RUNTIME_STAMP)  ## run bench/*.py (BENCH=bench/x.py runs one); results go in BENCHMARKS.md
	@scripts="$(or $(BENCH),$(filter-out bench/__init__.py,$(wildcard bench/*.py)))"; \
	if [ -z "$$scripts" ]; then echo "no benchmark scripts in bench/ yet"; exit 0; fi; \
	for s in $$scripts; do echo "== $$s"; $(PY) -m $$(echo "$${s%.py}" | tr / .) || exit $$?; done

clean:  ## stop the stack and delete var/ (database, logs, Redis data, checkpoints, TensorBoard runs); keeps .venv
	@if [ -x $(PY) ] && { [ -f $(VAR_DIR)/runstack.json ] || [ -S $(VAR_DIR)/redis/redis.sock ]; }; then \
		$(PY) manage.py runstack --stop; fi
	rm -rf $(VAR_DIR)
