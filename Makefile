# Summarizer — developer and operator entry points. `make help` lists them.
#
# Only Python 3.11 (or any python3 >= 3.11) and the package registries are
# needed: the virtualenv, the SQLite database and the embedded Redis are all
# created on first use. Requirements are (re)installed only when the content
# of requirements*.txt changes (a stamp file inside .venv keyed on a hash).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
VAR_DIR := $(or $(SUMMARIZER_VAR_DIR),var)

PORT ?= 8000
TENSORBOARD_PORT ?= 6006
export PORT TENSORBOARD_PORT
export PYTHONUNBUFFERED := 1

RUNTIME_HASH := $(shell cat requirements.txt | sha256sum | cut -c1-16)
DEV_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(RUNTIME_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(DEV_HASH)

.PHONY: help demo up down test lint format bench clean venv deps dev-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

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

test: $(DEV_STAMP)  ## ruff check, mypy and the whole pytest suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

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
	@if [ -x $(PY) ] && [ -f $(VAR_DIR)/runstack.json ]; then $(PY) manage.py runstack --stop; fi
	@if [ -x $(PY) ] && [ -S $(VAR_DIR)/redis/redis.sock ]; then \
		$(PY) -c 'import sys; from pathlib import Path; from summarizer_project.embedded_redis import stop; stop(Path(sys.argv[1]))' $(VAR_DIR); fi
	rm -rf $(VAR_DIR)
