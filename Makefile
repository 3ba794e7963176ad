# The two commands of the README: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-postgres test-sqlite services browser bench translations

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
