# Qiqiao's developer entry points. `make test` is what CI runs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest bench demo clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/formula.py
	$(BIN)/python bench/records.py
	$(BIN)/python bench/api.py

# A CRM with demo data and an admin, served on $(HOST):$(PORT) (the login and
# an example API call are printed). Data goes to $(INSTANCE)/; run again to keep it.
# Another port or folder: make demo PORT=5101 INSTANCE=/tmp/demo.
# Runs the checked-out code (python -m), not whatever the qiqiao script points at.
HOST ?= 127.0.0.1
PORT ?= 5000
INSTANCE ?= instance
DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/python -m runtime.cli demo --instance '$(INSTANCE)' --host '$(HOST)' --port '$(PORT)' $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
