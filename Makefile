# Two commands do everything on a fresh machine with python3:
#   make test   - virtualenv in the checkout, install, run the tests on the embedded PostgreSQL
#   make bench  - the asv suite over the SQLAlchemy x psycopg2 matrix, then the published site
PYTHON ?= python3
SQLALCHEMY ?=
ASV_ARGS ?=
PYTEST_ARGS ?=
ifeq ($(SQLALCHEMY),)
VENV ?= .venv
else
VENV ?= .venv-sqlalchemy-$(SQLALCHEMY)
endif
BIN := $(VENV)/bin
HTML_DIR := .asv/html

.PHONY: venv test lint bench publish site preview ladder clean

# Everything comes from pyproject.toml: the package with its analysis, site and peers extras, and the
# test, lint and bench tools of its dependency groups (`--group` needs pip >= 25.1).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e ".[analysis,site,peers]" --group dev
	if [ -n "$(SQLALCHEMY)" ]; then $(BIN)/python -m pip install -q "SQLAlchemy==$(SQLALCHEMY)"; fi
	touch $@

venv: $(VENV)/.installed

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style and pyupgrade rules, dead code (settings of both in pyproject.toml), the GitHub
# workflows (actionlint; it runs shellcheck on their scripts when shellcheck is on PATH), and
# every benchmark module in exactly one CI shard (.ci/bench-shards.json).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/vulture
	$(BIN)/actionlint
	$(BIN)/python .ci/bench-shards >/dev/null

# One embedded server for the whole run (held by `server hold`, reaped after it); environments
# are built two at a time; every sample is recorded (--record-samples: compare's rank tests and
# the site's spread need them); the site is published even when a benchmark failed, then the
# exit status of asv run is passed on (kept in a file so `make -n bench` does not run asv).
# `--quick` in ASV_ARGS also sets BULKINSERT_QUICK=1: timings at 10,000 rows, track metrics at
# 1,000 rows, no peak memory or scale suite (benchmarks/common.py): the 15-minute budget.
# Extra asv run arguments: make bench ASV_ARGS="--quick -E ...".
BENCH_QUICK := $(if $(findstring --quick,$(ASV_ARGS)),1,0)
bench: venv
	$(BIN)/asv machine --yes --machine "$${ASV_MACHINE:-$$(hostname)}" >/dev/null
	@mkdir -p .asv
	BULKINSERT_QUICK=$(BENCH_QUICK) $(BIN)/bulkinsert server hold --own-database -- $(BIN)/asv run --parallel 2 --record-samples --machine "$${ASV_MACHINE:-$$(hostname)}" $(ASV_ARGS); echo $$? > .asv/bench-status
	$(MAKE) publish
	@exit $$(cat .asv/bench-status 2>/dev/null || echo 0)

# asv publish writes asv's pages and, through the plugin in asv.conf.json, the project's own.
publish: venv
	$(BIN)/asv publish
	@echo "site: $(CURDIR)/$(HTML_DIR)/index.html (serve it with: make preview)"

preview: venv
	$(BIN)/asv preview --port $${ASV_PORT:-8080}

ladder: venv
	$(BIN)/bulkinsert ladder --rows $${ROWS:-10000}

clean:
	-$(BIN)/bulkinsert server stop
	rm -rf .asv/env
