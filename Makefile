# Developer entry points. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHELLS := bash zsh fish powershell

.PHONY: demo test lint completions bench clean

$(BIN)/wfm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,keyring]'
	touch $@

# The main job on the embedded simulated org: one day of files for every vendor, into wfm-demo/.
demo: $(BIN)/wfm
	$(BIN)/wfm demo --out wfm-demo

test: $(BIN)/wfm
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2

lint: $(BIN)/wfm
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true
	$(BIN)/mypy

# Regenerate completions/ from the app; tests/test_completions.py fails when these are stale.
completions: $(BIN)/wfm
	for shell in $(SHELLS); do \
		_WFM_COMPLETE=source_$$shell $(BIN)/python -m wfmcli > completions/wfm.$$shell; \
	done

bench: $(BIN)/wfm
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist *.egg-info
