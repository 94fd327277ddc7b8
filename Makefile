# Clientele. `make run` serves the app; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What running needs (RUN_STAMP), and that plus the test extras: pytest, Playwright, Schemathesis,
# ruff, mypy… (STAMP). Both install the checkout in editable mode.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
PEERS_VENV := var/peers-venv
PEERS_STAMP := $(PEERS_VENV)/.installed

.PHONY: run lint hooks test test-fast bench bench-peers-venv bench-search load crash clean pgbouncer pgbouncer-stop cluster cluster-stop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	@touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/clientele run

# Lint and types: ruff over everything, mypy over app/ (settings in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The same checks before each commit (.pre-commit-config.yaml); pre-commit is not needed otherwise.
hooks: $(STAMP)
	$(BIN)/pip install -q pre-commit
	$(BIN)/pre-commit install

# Debian packages the browser tests need, installed once when missing.
browser-deps:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils; }

test: $(STAMP) browser-deps
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

# Benchmark at 1,000,000 customers on SQLite and PostgreSQL; writes BENCHMARKS.md. Not part of `make test`.
# Extra options: make bench BENCH_ARGS="--customers 20000 --db sqlite --quick"
# With SQLAdmin and starlette-admin as peers on the same data (their own virtual environment,
# var/peers-venv, pinned in bench/peers/requirements.txt); BENCH_ARGS="--no-peers" leaves them out.
bench: $(STAMP) $(PEERS_STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The peers' virtual environment alone.
bench-peers-venv: $(PEERS_STAMP)

$(PEERS_STAMP): bench/peers/requirements.txt
	@test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q --upgrade pip
	$(PEERS_VENV)/bin/pip install -q -r bench/peers/requirements.txt
	@touch $(PEERS_STAMP)

# Search per kind of term (terms drawn from the data, fixed seed) against the list page, in every
# sort order, on the databases `make bench` seeded. Extra options: make bench-search SEARCH_ARGS="--db sqlite --sorts name"
bench-search: $(STAMP)
	$(BIN)/python -m bench.search_kinds $(SEARCH_ARGS)

# 32 clients for 60 s of mixed API and page traffic against a server of its own, on a
# fresh SQLite and a fresh PostgreSQL database (LOAD_PG_URL, default postgres@127.0.0.1);
# then every acknowledged write is checked in the database. Not part of `make test`.
# Extra options: make load LOAD_ARGS="--db sqlite --seconds 20"
load: $(STAMP)
	$(BIN)/python -m tests.platform.load.loadtest $(LOAD_ARGS)

# The same load while the server is SIGKILLed and restarted every 10-15 s; then the
# database's integrity checks and every acknowledged write. Not part of `make test`.
crash: $(STAMP)
	$(BIN)/python -m tests.platform.load.crash $(CRASH_ARGS)

# PgBouncer in transaction pooling mode on a free port of 127.0.0.1 in front of the local PostgreSQL
# (installed with apt when missing); prints its URL. The app behind it needs CLIENTELE_PGBOUNCER=1.
pgbouncer: $(STAMP)
	$(BIN)/python -m ops.pgbouncer start

pgbouncer-stop: $(STAMP)
	$(BIN)/python -m ops.pgbouncer stop

# HAProxy in front of 3 `clientele run` processes over PgBouncer and the local PostgreSQL (ops/cluster.py);
# prints where to open it and the `make load` line for it. Ctrl-C or `make cluster-stop` stops it.
# Extra options: make cluster CLUSTER_ARGS="--processes 2 --workers 2 --port 8080"
cluster: $(STAMP)
	$(BIN)/python -m ops.cluster $(CLUSTER_ARGS)

cluster-stop: $(STAMP)
	$(BIN)/python -m ops.cluster stop

clean:
	rm -rf $(VENV) var
