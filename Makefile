# The two commands the README promises: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-fast coverage lint typecheck bench clean sample

# Test processes: one per core by default; `make test WORKERS=0` runs in pytest's own process.
WORKERS ?= auto
PYTEST_PARALLEL = -n $(WORKERS) --dist loadfile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

# Front-end files from the npm registry, pinned in connector/web/assets.json (never a CDN).
ASSETS := connector/web/static/vendor/htmx.min.js var/assets/axe.min.js

$(ASSETS) &: connector/web/assets.json
	$(PYTHON) connector/web/assets.py

demo: $(STAMP) $(ASSETS)
	$(BIN)/connector db upgrade
	$(BIN)/connector demo --overrides examples/sample-district/overrides.csv

test: $(TEST_STAMP) $(ASSETS)
	$(BIN)/ruff check connector tests bench fuzz
	$(BIN)/mypy connector
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

# Unit and property tests and doctests only: seconds, for the edit-test loop.
test-fast: $(TEST_STAMP) $(ASSETS)
	$(BIN)/ruff check connector tests bench fuzz
	$(BIN)/python -m pytest tests/unit tests/property connector -q -n $(WORKERS)

# The whole suite with branch coverage (slower: coverage traces every line on Python 3.11).
coverage: $(TEST_STAMP) $(ASSETS)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) --cov=connector --cov-report=term:skip-covered \
		--cov-report=xml:var/coverage.xml

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml $(TEST_STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py

sample: $(STAMP)
	$(BIN)/connector sample generate --students 150 --seed 2026 --out examples/sample-district

clean:
	rm -rf out var .pytest_cache .mypy_cache .ruff_cache
