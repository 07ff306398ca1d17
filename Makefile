# Two commands: `make run` (the whole pipeline, locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run run-once test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ops]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/acsync run

run-once: $(STAMP)
	$(BIN)/acsync run --once

# the whole suite, after the lint, format and type checks (what CI runs)
test: lint
	$(BIN)/python -m pytest

# the unit and policy tests only (no processes, no stacks), in about 20 s on two cores: for the edit-test
# loop. One pytest process per core; bytecode (and pytest's rewritten test modules) cached between runs
# even where the environment sets PYTHONDONTWRITEBYTECODE.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n auto -m "not slow and not chaos"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
