# PeerMatch: two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo console test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) ## sample community, one round, then the console (exits when stdin is not a terminal)
	$(BIN)/peermatch demo

console: $(STAMP)
	$(BIN)/peermatch console

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest ## what CI runs

bench: $(STAMP)
	$(BIN)/python bench/matching.py

clean:
	rm -rf $(VENV) var exports .pytest_cache .mypy_cache .ruff_cache
