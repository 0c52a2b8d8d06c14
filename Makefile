# Qiqiao's developer entry points. `make test` is what CI runs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest bench demo clean assets screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The front-end libraries (package.json, pinned by package-lock.json) copied
# where the pages load them from (runtime/static/vendor, ignored by git).
ASSETS := runtime/static/vendor/.copied
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
$(ASSETS): node_modules/.package-lock.json runtime/vendor.py $(STAMP)
	$(BIN)/python -m runtime.vendor
	@touch $(ASSETS)
assets: $(ASSETS)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Twice as many workers as a two-core machine has cores: the browser tests wait
# on Chromium and the server, the command-line tests on the processes they start,
# and another worker's CPU work fills those waits. Another count: make pytest WORKERS=2.
WORKERS ?= 4
pytest: $(STAMP) $(ASSETS)
	$(BIN)/pytest -q -n $(WORKERS) --dist loadscope

bench: $(STAMP)
	$(BIN)/python bench/formula.py
	$(BIN)/python bench/records.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/forms.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/flows.py
	$(BIN)/python -m bench.reports

# A CRM with demo data and an admin, served on $(HOST):$(PORT) (the login and
# an example API call are printed). Data goes to $(INSTANCE)/; run again to keep it.
# Another port or folder: make demo PORT=5101 INSTANCE=/tmp/demo.
# Runs the checked-out code (python -m), not whatever the qiqiao script points at.
HOST ?= 127.0.0.1
PORT ?= 5000
INSTANCE ?= instance
DEMO_ARGS ?=
demo: $(STAMP) $(ASSETS)
	$(BIN)/python -m runtime.cli demo --instance '$(INSTANCE)' --host '$(HOST)' --port '$(PORT)' $(DEMO_ARGS)

# docs/ui.md's pictures: the browser tests take them (test-artifacts/screenshots/),
# this copies the ones the docs show.
UI_SHOTS := sign-in-sqlite-desktop-zh app-home-sqlite-phone-en-menu list-sqlite-desktop-zh-filtered \
	record-customer-sqlite-desktop-zh form-quote-sqlite-phone-en import-dry-run-sqlite-desktop-zh \
	admin-role-sqlite-desktop-zh
screenshots: $(STAMP) $(ASSETS)
	$(BIN)/pytest -q tests/web -k sqlite
	mkdir -p docs/images/ui
	for shot in $(UI_SHOTS); do cp test-artifacts/screenshots/$$shot.png docs/images/ui/; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis node_modules runtime/static/vendor
