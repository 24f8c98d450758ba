# Two commands do everything on a fresh machine with python3:
#   make test   - virtualenv in the checkout, install, run the tests on the embedded PostgreSQL
#   make bench  - the asv suite over the SQLAlchemy x psycopg2 matrix, then the published site
#   (make bench-large, make bench-scale, make bench-workloads: the 100,000-row figures, the
#   1,000,000-row scale suite and the typed and populated workloads, kept out of make bench's budget)
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
# The documentation site goes beside the benchmark pages: `make preview` serves it at /docs/.
DOCS_DIR ?= $(HTML_DIR)/docs

.PHONY: venv valgrind test lint bench bench-large bench-scale bench-workloads bench-smoke publish site preview ladder clean placement-check docs

# Everything comes from pyproject.toml: the package with its analysis, site and peers extras, and the
# test, lint and bench tools of its dependency groups (`--group` needs pip >= 25.1).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e ".[analysis,site,peers]" --group dev
	if [ -n "$(SQLALCHEMY)" ]; then $(BIN)/python -m pip install -q "SQLAlchemy==$(SQLALCHEMY)"; fi
	touch $@

# The virtualenv with everything installed (rebuilt when pyproject.toml changes).
venv: $(VENV)/.installed

# valgrind, for the client-instruction counts: installed where this user can (.ci/install-valgrind:
# apt, root or sudo); elsewhere the counts are n/a and one line says what to install.
valgrind:
	@bash .ci/install-valgrind || echo "valgrind not installed: instruction counts will be n/a"

# The test suite on the embedded PostgreSQL (PYTEST_ARGS passes arguments to pytest).
test: venv valgrind
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
# are built two at a time (asv's --parallel builds in parallel, never benchmarks); rounds are
# interleaved (--interleave-rounds: every environment's round 1, then every environment's
# round 2, so a drift of the machine lands in both); every sample is recorded (--record-samples:
# compare's rank tests and the site's spread need them); the site is published even when a
# benchmark failed, then the exit status of asv run is passed on (kept in a file so `make -n
# bench` does not run asv).
# `--quick` in ASV_ARGS is not passed to asv (asv's --quick forces one sample per figure): it
# sets BULKINSERT_QUICK=1 instead — every figure at 1,000 rows, 6 to 10 samples per timing
# (benchmarks/sizes.py).
# ASV_RANGE: the commits to benchmark, by default the checkout's HEAD (asv alone would take the
# head of "main", asv.conf.json). BENCH_SELECT: the default run leaves out the 100,000-row
# figures (time and peak memory: make bench-large), the 1,000,000-row scale suite (make
# bench-scale) and, in full runs, the workloads (make bench-workloads); a -b/--bench of your
# own in ASV_ARGS replaces it.
# Extra asv run arguments: make bench ASV_ARGS="--quick -E ...".
ASV_RANGE ?= HEAD^!
BENCH_QUICK := $(if $(filter --quick -q,$(ASV_ARGS)),1,0)
# The quick run keeps its small `wide` workload; a full run leaves the workloads (wide at 10,000
# rows in every environment, populated) to make bench-workloads.
BENCH_SELECT ?= $(if $(filter 1,$(BENCH_QUICK)),-b '^(?!(scale|insert_large|insert_memory)\.)',-b '^(?!(scale|workload_time|insert_large|insert_memory)\.)')
BENCH_ARGS := $(filter-out --quick -q,$(ASV_ARGS)) $(if $(findstring -b,$(ASV_ARGS)),,$(BENCH_SELECT))
# asv refuses --interleave-rounds with an existing environment or --dry-run: left out then.
INTERLEAVE := $(if $(or $(findstring existing,$(ASV_ARGS)),$(findstring --dry-run,$(ASV_ARGS))),,--interleave-rounds)
bench: venv valgrind
	$(BIN)/asv machine --yes --machine "$${ASV_MACHINE:-$$(hostname)}" >/dev/null
	@mkdir -p .asv
	BULKINSERT_QUICK=$(BENCH_QUICK) $(BIN)/bulkinsert server hold --own-database -- $(BIN)/asv run --parallel 2 $(INTERLEAVE) --record-samples --machine "$${ASV_MACHINE:-$$(hostname)}" $(BENCH_ARGS) $(ASV_RANGE); echo $$? > .asv/bench-status
	$(MAKE) publish
	@exit $$(cat .asv/bench-status 2>/dev/null || echo 0)

# The 100,000-row figures of every environment (benchmarks/insert_large.py: wall time;
# insert_memory.py: peak memory), on their own: results join the same commit's of make bench.
bench-large:
	$(MAKE) bench BENCH_SELECT="-b '^(insert_large|insert_memory)\.'"

# The scale suite (benchmarks/scale.py: up to 1,000,000 rows per insert, newest environment
# only), on its own: its results join the same commit's results of make bench.
bench-scale:
	$(MAKE) bench BENCH_SELECT="-b '^scale\.'"

# The workloads beyond the talk's table (benchmarks/workload_time.py: wide in every environment,
# populated in the newest), full size, on their own; results join make bench's like bench-scale's.
bench-workloads:
	$(MAKE) bench BENCH_SELECT="-b '^workload_time\.'"

# Every asv benchmark once, at its smallest size (BULKINSERT_QUICK=1, asv's --quick), in $(VENV)
# (-E existing:same), the embedded server held; fails on any failed or broken benchmark, read
# back from the results (.ci/bench-smoke), which are then removed. CI runs it (.ci/run).
bench-smoke: venv
	$(BIN)/python .ci/bench-smoke

# Ten back-to-back `bulkinsert run`s of the per-row paths and COPY under each CPU placement:
# the spread (max/min) of wall and client CPU time (docs/explanation/methodology.md, "CPU placement").
placement-check: venv
	$(BIN)/python -m bulkinsert.measure.placement_check --runs 10 --rows 10000

# asv publish writes asv's pages and, through the plugin in asv.conf.json, the project's own.
publish: venv
	$(BIN)/asv publish
	@echo "site: $(CURDIR)/$(HTML_DIR)/index.html (serve it with: make preview)"

# The documentation site (MkDocs: docs/ and mkdocs.yml) built with --strict, so a broken link or
# any warning fails it; the reference pages are generated from the code at build time.
docs: venv
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet --site-dir $(DOCS_DIR)
	@echo "docs: $(CURDIR)/$(DOCS_DIR)/index.html"

# Serve the published site, benchmark pages and docs (/docs/), on port ASV_PORT (default 8080).
preview: venv
	$(BIN)/asv preview --port $${ASV_PORT:-8080}

# Every strategy side by side in interleaved rounds (ROWS, default 10,000): the talk's scoresheets.
ladder: venv
	$(BIN)/bulkinsert ladder --rows $${ROWS:-10000}

# Stop the embedded server and remove asv's environments (results and the site stay).
clean:
	-$(BIN)/bulkinsert server stop
	rm -rf .asv/env
