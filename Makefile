# Stint — the two commands a newcomer needs are `make up` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REQUIREMENTS := requirements-dev.txt shared/requirements.txt $(wildcard services/*/requirements.txt)

.PHONY: help up down status user demo test drill-broker test-unit lint format bench tools token screenshots dlq

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: $(REQUIREMENTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -r requirements-dev.txt $(foreach r,$(wildcard services/*/requirements.txt),-r $(r))
	@touch $@

# Debian packages some tests use: docker-compose validates the compose file without an engine,
# chromium renders the verification page and, driven by chromium-driver, runs the web's browser
# journeys; poppler-utils reads the certificate PDF; redis-server counts the rate limits. Tests that need a missing
# one skip and say why (the rate-limit tests fail: Redis is where production counts).
TEST_PACKAGES := docker-compose chromium chromium-driver poppler-utils redis-server
TEST_COMMANDS := docker-compose chromium chromedriver pdftotext redis-server

tools:  ## install the system tools the tests need (Debian packages, when run as root)
	@command -v java >/dev/null && command -v mvn >/dev/null && command -v go >/dev/null || \
		{ echo "need java (17+), mvn and go on PATH to provision Kafka, FerretDB and Keycloak"; exit 1; }
	@missing=$$(for c in $(TEST_COMMANDS); do command -v $$c >/dev/null || echo $$c; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $(TEST_PACKAGES) (Debian) for the tests that need: $$missing"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_PACKAGES)) >/dev/null 2>&1 || \
		echo "warning: could not install them; the tests that need them will skip and say why"; \
	fi

up: $(VENV)/.installed  ## start Kafka, FerretDB, Keycloak, the services and the web; prints the URLs
	@$(PY) -m devservers up --quiet

demo: $(VENV)/.installed  ## tell the whole story against the running platform (after `make up`)
	@$(PY) -m demo

down:  ## stop everything `make up` started
	@$(PY) -m devservers down

status:  ## show what is running
	@$(PY) -m devservers status

user: $(VENV)/.installed  ## a verified account (after make up): make user ROLE=student EMAIL=a@b.c [PASSWORD=..] [ORG=..] [NAME=..]
	@$(PY) -m devservers user --email "$(EMAIL)" $(if $(ROLE),--role "$(ROLE)") $(if $(PASSWORD),--password "$(PASSWORD)") \
		$(if $(ORG),--org "$(ORG)") $(if $(NAME),--name "$(NAME)")

test: $(VENV)/.installed tools  ## every test, against real Kafka, FerretDB and Keycloak the run provisions itself
	@$(PY) -m devservers build
	@$(PY) -m pytest -q

drill-broker: $(VENV)/.installed  ## losing a broker: 3-broker KRaft cluster, one killed mid-burst of 100 approvals (~4 min)
	@$(PY) -m devservers build
	@STINT_BROKER_DRILL=1 $(PY) -m pytest -q -s tests/e2e/test_losing_a_broker.py

test-unit: $(VENV)/.installed  ## the quick unit tests alone (no servers)
	@$(PY) -m pytest -q tests/unit

# The throughput benchmark's load comes from wrk, a compiled load generator (Debian package).
bench: $(VENV)/.installed  ## latency, throughput and growth on real servers and processes; writes docs/benchmarks.md
	@command -v wrk >/dev/null || { echo "installing wrk (Debian) for the throughput benchmark"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null 2>&1 || \
		echo "warning: could not install wrk; the throughput part will fail and say why"; }
	@$(PY) -m devservers build
	@$(PY) -m bench $(BENCH_ARGS)

screenshots: $(VENV)/.installed tools  ## the browser journeys, saving each role's main page (phone, desktop) in docs/screenshots
	@$(PY) -m devservers build
	@STINT_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/e2e/browser

lint: $(VENV)/.installed  ## ruff lint and format check
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed  ## apply ruff formatting and fixes
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

token: $(VENV)/.installed  ## mint a local token: make token ROLE=employer SUB=u1 ORG=acme
	@$(PY) -m shared.auth mint --role $(ROLE) --sub $(SUB) $(if $(ORG),--org $(ORG))

dlq: $(VENV)/.installed  ## dead letters: make dlq ARGS="list application" | "show application 0:12" | "replay application --all"
	@$(PY) -m shared.dlq $(ARGS)
