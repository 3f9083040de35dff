# One entry point for every task. `make serve` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve build test lint format bench accuracy screenshots api-docs browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Build kb.db from data/ (if data/ changed) and serve it with Datasette on http://127.0.0.1:8001
serve: $(STAMP)
	$(BIN)/kb serve

build: $(STAMP)
	$(BIN)/kb build

## Debian's Chromium for the browser tests (Playwright cannot download its own here)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "warning: could not install chromium; browser tests will fail"; }

test: $(STAMP) browser
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check kb ingest tests benchmarks
	$(BIN)/ruff format --check kb ingest tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format kb ingest tests benchmarks

## Benchmarks at 10k / 100k / 1M synthetic claims (about 20 min; QUICK=1 for a few minutes); see docs/performance.md
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick)

## kb check on the shared fact-check corpus and the tuned one: score per draft, precision/recall per verdict
accuracy: $(STAMP)
	$(BIN)/python -m benchmarks.accuracy --misses

## Retake the README's screenshots (docs/screenshots/*.png) with the browser tests
screenshots: $(STAMP) browser
	KB_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -m browser

## Regenerate docs/api.md (the website API with real example responses) after a data or contract change
api-docs: $(STAMP)
	$(BIN)/python scripts/gen_api_docs.py

clean:
	rm -rf $(VENV) kb.db kb.inspect.json .pytest_cache
