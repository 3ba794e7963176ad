# The two commands of the README: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-postgres test-sqlite services browser bench

run: $(VENV)/.installed
	$(BIN)/listserver run

test: $(VENV)/.installed services browser
	$(BIN)/pytest -p no:cacheprovider
	LISTSERVER_TEST_DATABASE=sqlite $(BIN)/pytest -p no:cacheprovider

test-postgres: $(VENV)/.installed services browser
	$(BIN)/pytest -p no:cacheprovider

test-sqlite: $(VENV)/.installed services browser
	LISTSERVER_TEST_DATABASE=sqlite $(BIN)/pytest -p no:cacheprovider

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

services:
	scripts/services.sh

browser:
	scripts/browser.sh

bench: $(VENV)/.installed services
	$(BIN)/python bench/submit_bench.py
