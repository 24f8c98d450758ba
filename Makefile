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

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,peers,site]" "asv==0.6.6" "virtualenv>=20"
	if [ -n "$(SQLALCHEMY)" ]; then $(BIN)/python -m pip install -q "SQLAlchemy==$(SQLALCHEMY)"; fi
	touch $@

venv: $(VENV)/.installed

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/asv machine --yes --machine "$${ASV_MACHINE:-$$(hostname)}" >/dev/null
	$(BIN)/bulkinsert server hold -- $(BIN)/asv run --machine "$${ASV_MACHINE:-$$(hostname)}" $(ASV_ARGS)
	$(MAKE) publish

publish: venv
	$(BIN)/asv publish
	$(BIN)/bulkinsert site
	@echo "site: $(CURDIR)/$(HTML_DIR)/index.html (serve it with: make preview)"

preview: venv
	$(BIN)/asv preview

ladder: venv
	$(BIN)/bulkinsert ladder --rows $${ROWS:-10000}

clean:
	-$(BIN)/bulkinsert server stop
	rm -rf .asv/env
