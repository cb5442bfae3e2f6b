# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
API_PORT ?= 8000

.PHONY: run api worker test seed data bench bench-scale bench-million load load-arrivals cluster lint setup clean mutate mutate-sample named-mutants

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

setup: $(STAMP)

# `make run` is the local demo: demo accounts and simulated payments (DEMO_MODE=true). A deployment
# sets its own environment (README, Configuration) and gets no demo accounts unless it asks.
DEMO ?= true

seed: $(STAMP)
	DEMO_MODE=$(DEMO) $(BIN)/python -m core seed

# The app on $(PORT), the HTTP API (docs at /docs) on $(API_PORT) and the background-job worker (deep
# reports, agent reruns); stopping the app stops all three.
run: seed
	DEMO_MODE=$(DEMO) API_PORT=$(API_PORT) $(BIN)/python -m api & api=$$!; \
	DEMO_MODE=$(DEMO) $(BIN)/python -m agents.worker & worker=$$!; \
	trap 'kill $$api $$worker 2>/dev/null' EXIT INT TERM; \
	DEMO_MODE=$(DEMO) $(BIN)/streamlit run app.py --server.headless true --server.port $(PORT)

# The background-job worker alone (a deployment runs one per JOBS_WORKER_ID; `make run` starts one).
worker: seed
	DEMO_MODE=$(DEMO) $(BIN)/python -m agents.worker

api: seed
	DEMO_MODE=$(DEMO) API_PORT=$(API_PORT) $(BIN)/python -m api

# The whole suite on TEST_WORKERS processes (pytest-xdist; a test file stays on one process, so its
# module fixtures are made once). TEST_WORKERS=0 runs it in this process. The real-browser tests (marked
# browser: Chromium against a running app or cluster) and those that make their own CPU load (alone) run
# afterwards, one at a time, with the machine to themselves: beside the other test process their logins
# timed out in 4 of 8 full parallel runs.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not alone and not browser"
	$(BIN)/python -m pytest -m "alone or browser"

data: $(STAMP)
	$(BIN)/python -m core data build

bench: seed
	DEMO_MODE=$(DEMO) $(BIN)/python bench/run.py

# Ranking time and memory against the number of cities (34k real, 100k and 1M synthetic).
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

# The app end to end on a synthetic 1,000,000-city table in its own SQLite (var/million/), one browser.
bench-million: $(STAMP)
	$(BIN)/python bench/million.py

# N analysts at once in headless Chromium against one app process on PostgreSQL (docs/performance.md).
LEVELS ?= 1,5,10,20,40
load: $(STAMP)
	$(BIN)/python bench/load.py --levels $(LEVELS)

# Analysts arriving over time with think time (Locust drives the protocol client): USERS over MINUTES.
USERS ?= 100
MINUTES ?= 10
load-arrivals: $(STAMP)
	$(BIN)/python bench/load.py --shape arrivals --users $(USERS) --minutes $(MINUTES)

# Two app and two API replicas on one PostgreSQL behind nginx (apt-get install nginx-light); Ctrl-C stops.
cluster: $(STAMP)
	DEMO_MODE=$(DEMO) $(BIN)/python deploy/cluster.py

# Mutation testing of the agents and their cores ([tool.mutmut] in pyproject.toml); prints the kill rate.
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet "mutmut==3.8.1"
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python bench/mutation_score.py

# A seeded random sample of the mutants of the engine, accounts and billing rooms (about 5,000 in all), run on a
# copy of the committed tree: the kill rate with its 95 % interval. SAMPLE=200 by default. Tests that start a job
# worker or export a PDF are left out: mutmut forks each mutant's run, and a fork cannot use the chart exporter's
# browser thread or a worker started for the parent.
SAMPLE ?= 200
MUTATE_ROOMS ?= core/forecast core/accounts core/billing
MUTATE_TESTS ?= tests/test_forecast.py tests/test_season.py tests/test_understanding.py tests/test_custom_cities.py \
	tests/test_whatif.py tests/test_accounts.py tests/test_quota.py tests/test_oidc.py tests/test_billing.py tests/test_api.py \
	tests/test_account_rules.py tests/test_forecast_rules.py tests/test_connectors.py
SEED ?= 0
mutate-sample: $(STAMP)
	$(BIN)/python -m pip install --quiet "mutmut==3.8.1"
	$(BIN)/python bench/mutation_sample.py --rooms $(MUTATE_ROOMS) --tests $(MUTATE_TESTS) --sample $(SAMPLE) --seed $(SEED) --list \
		--deselect "not postgres and not cli and not python_m and not schema and not two_ and not pdf \
		and not agents_and and not worker and not job and not calibrates_in_the_app"

# The mutants issue 22 names, each applied by hand to a scratch copy: every one must be killed.
named-mutants: $(STAMP)
	$(BIN)/python bench/named_mutants.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var .pytest_cache test-artifacts mutants
