# PeerMatch: two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What the bot needs (demo, console, run) and, on top, what developers and CI need (tests,
# linters, ortools for the group-solver checks): `make demo` installs only the first.
RUNTIME := $(VENV)/.runtime-stamp
DEV := $(VENV)/.dev-stamp

# Installs with uv when it is on PATH or can be pip-installed into the venv (parallel
# downloads and a resolver that is not Python: about 4x faster on a fresh clone), with plain
# pip as the fallback (no uv, or uv failed). USE_UV=0 forces pip. uv does not compile
# bytecode at install (compiling all of scipy and matplotlib costs more than the
# install); the first start compiles what it imports, and the demo and console keep it even
# where the environment sets PYTHONDONTWRITEBYTECODE (else every start recompiles ~600
# modules: seconds each time).
RUN := env -u PYTHONDONTWRITEBYTECODE
USE_UV ?= 1
define install
	@set -e; uv=""; \
	if [ "$(USE_UV)" = 1 ]; then \
	  if command -v uv >/dev/null 2>&1; then uv=uv; \
	  elif [ -x $(BIN)/uv ] || $(BIN)/pip install --quiet uv >/dev/null 2>&1; then uv=$(BIN)/uv; fi; \
	fi; \
	if [ -n "$$uv" ] && $$uv pip install --quiet --python $(BIN)/python $(1); then \
	  echo "installed with uv: $(1)"; \
	else \
	  echo "installing with pip: $(1)"; $(BIN)/pip install --quiet $(1); \
	fi
endef

.PHONY: install demo console test lint typecheck pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(call install,-e .)
	touch $@

$(DEV): $(RUNTIME)
	$(call install,-e ".[dev]")
	touch $@

install: $(DEV)

demo: $(RUNTIME) ## sample community, one round, then the console (exits when stdin is not a terminal)
	$(RUN) $(BIN)/peermatch demo

console: $(RUNTIME)
	$(RUN) $(BIN)/peermatch console

lint: $(DEV)
	$(BIN)/ruff check .

typecheck: $(DEV)
	$(BIN)/mypy

pytest: $(DEV)
	$(BIN)/pytest -q

test: lint typecheck pytest ## what CI runs

bench: $(DEV)
	$(BIN)/python bench/matching.py

clean:
	rm -rf $(VENV) var exports .pytest_cache .mypy_cache .ruff_cache
