# The two commands the README promises: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-fast lint typecheck bench clean sample

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/connector db upgrade
	$(BIN)/connector demo

test: $(TEST_STAMP)
	$(BIN)/ruff check connector tests bench fuzz
	$(BIN)/mypy connector
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# Unit and property tests and doctests only: seconds, for the edit-test loop.
test-fast: $(TEST_STAMP)
	$(BIN)/ruff check connector tests bench fuzz
	$(BIN)/python -m pytest tests/unit tests/property connector --no-cov -q

bench: $(TEST_STAMP)
	$(BIN)/python bench/run_all.py

sample: $(STAMP)
	$(BIN)/connector sample generate --students 150 --seed 2026 --out examples/sample-district

clean:
	rm -rf out var .pytest_cache .mypy_cache .ruff_cache
