# The two set-up commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export STUDIO_HOME ?= $(CURDIR)/.studio

.PHONY: run test lint format clean sandbox

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(VENV)/.installed $@

## make run: install, prepare STUDIO_HOME with the demo workspace, start Studio (UI on :8501)
run: $(VENV)/.installed sandbox
	$(BIN)/studio demo
	$(BIN)/studio up

# Jobs run sandboxed with bubblewrap (Debian's package); without it they run unsandboxed, and say so.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (job sandbox) ..."; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; }; \
	  else \
	    echo "bubblewrap is missing: jobs will run unsandboxed (install it: sudo apt-get install bubblewrap)"; \
	  fi; }

## make test: install the dev extra and system parts the tests use, lint, run the whole suite
test: $(VENV)/.dev-installed
	@bash tests/setup_system.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 3 --dist loadgroup --durations=40

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .tools test-output .pytest_cache
