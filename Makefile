# The quick start: `make run` (the service on SQLite) and `make test` (every test).
# `make run PORT=8123 HOST=0.0.0.0` serves elsewhere than 127.0.0.1:8000.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# Lint looks at the project's own folders only, not at files a user saves beside them.
SOURCES = events projections adapters service tests bench pyproject.toml
VENV ?= .venv
BIN = $(VENV)/bin
READY = $(VENV)/.ready

.PHONY: run test test-fast lint bench screenshots clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(READY)

run: $(READY)
	$(BIN)/ticketsync serve --dev --host $(HOST) --port $(PORT)

lint: $(READY)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

test: lint
	$(BIN)/pytest -q

# The unit tests and the integration tests on SQLite alone: a minute or two. CI runs `test`.
test-fast: lint
	$(BIN)/pytest -q tests/unit tests/integration -m "not postgres"

# The README's pictures of the console, taken by the browser tests (Debian's chromium).
screenshots: $(READY)
	TICKETSYNC_SCREENSHOTS=docs/images $(BIN)/pytest -q tests/browser

# The ingest benchmark's load is wrk (Debian package `wrk`): installed here when apt-get can.
bench: $(READY)
	@command -v wrk >/dev/null || { \
	  echo "bench: wrk is missing; installing the Debian package wrk"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y wrk; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y wrk; \
	  else false; fi; } || { \
	  echo "bench: install wrk first: apt-get install wrk (Debian, Ubuntu), brew install wrk (macOS)"; \
	  exit 1; }
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info build
