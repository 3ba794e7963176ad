# The two commands of the README: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installs follow uv.lock exactly (versions and hashes), whatever was released since; uv itself
# is pinned here and kept in a venv of its own so that syncing .venv never removes it.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test test-postgres test-sqlite services browser bench translations lock

run: $(VENV)/.installed
	$(BIN)/listserver run

# The two passes run side by side: the tests mostly wait on PostgreSQL, Redis, SMTP and Chromium,
# so two cores finish both in little more than the time of one. Each pass has its own Redis
# database; the SQLite pass's report is printed after the PostgreSQL one's, and either failing
# fails the command.
SQLITE_PASS_REDIS ?= redis://127.0.0.1:6379/13
SQLITE_PASS_LOG := $(VENV)/sqlite-pass.log
test: $(VENV)/.installed services browser
	@LISTSERVER_TEST_DATABASE=sqlite LISTSERVER_TEST_REDIS=$(SQLITE_PASS_REDIS) \
		$(BIN)/pytest -p no:cacheprovider > $(SQLITE_PASS_LOG) 2>&1 & sqlite=$$!; \
	echo "== PostgreSQL pass (the SQLite pass runs beside it)"; \
	$(BIN)/pytest -p no:cacheprovider; postgres=$$?; \
	wait $$sqlite; sqlite_status=$$?; \
	echo "== SQLite pass"; cat $(SQLITE_PASS_LOG); \
	exit $$(( postgres || sqlite_status ))

test-postgres: $(VENV)/.installed services browser
	$(BIN)/pytest -p no:cacheprovider

test-sqlite: $(VENV)/.installed services browser
	LISTSERVER_TEST_DATABASE=sqlite $(BIN)/pytest -p no:cacheprovider

$(VENV)/.installed: pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON) --quiet
	touch $@

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'

# After changing dependencies in pyproject.toml: resolve the newest versions its ranges allow,
# write uv.lock (commit it), and run `make test`.
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

services:
	scripts/services.sh

browser:
	scripts/browser.sh

bench: $(VENV)/.installed services
	$(BIN)/python bench/submit_bench.py

# The catalogs: extract every _() of listserver/ and templates/ into messages.pot, merge it into
# each language's messages.po, compile the .mo files the app reads. The .mo files are committed,
# so `pip install .` and `pip install -e .` need no build step; tests/test_languages.py fails
# while a message is untranslated or fuzzy, or a .mo is older than its .po. New messages arrive
# empty (or fuzzy, guessed from a similar one): translate them and run this again.
# To add a language: `make translations NEW=xx` creates its catalog; add "xx" to LANGUAGES in
# listserver/languages.py, translate every message, run `make translations` again.
TRANSLATIONS := listserver/translations
translations: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --add-location=file --sort-by-file \
		--project=listserver --copyright-holder="listserver contributors" -o $(TRANSLATIONS)/messages.pot .
	$(if $(NEW),$(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $(NEW))
	$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

# Mutation testing (issue 18), never part of `make test` or CI: mutmut changes the modules whose rules
# guard people one small edit at a time ([tool.mutmut] in pyproject.toml) and runs the tests that reach
# each edit; bench/mutation_scores.py prints the score per module (see bench/MUTATION.md). A full run
# takes long on two cores: ONLY='listserver.web.public.cors.*' (mutmut's mutant names, several allowed) runs
# a part.
# `$(BIN)/mutmut results` lists the survivors, `$(BIN)/mutmut show NAME` shows one.
.PHONY: mutation
mutation: $(VENV)/.installed services
	$(UV) sync --locked --extra test --extra mutation --python $(PYTHON) --quiet
	LISTSERVER_TEST_DATABASE=sqlite $(BIN)/mutmut run --max-children 2 $(foreach name,$(ONLY),'$(name)')
	$(BIN)/python bench/mutation_scores.py $(foreach name,$(ONLY),'$(name)')
