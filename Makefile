# The quick start: `make run` (the service on SQLite) and `make test` (every test).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
READY = $(VENV)/.ready

.PHONY: run test lint bench clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(READY)

run: $(READY)
	$(BIN)/ticketsync serve --dev

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

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
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
