# `make test` is the one test command (README and .ci/run call it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test system-packages lint format bench tour demo kiosk clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	touch $(STAMP)

# The programs the tests drive for real (tmux, espeak-ng): installed when run as root,
# else one line names what is missing, before anything else is set up.
system-packages:
	@bash .ci/system-packages

test: system-packages $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

demo: $(STAMP)
	$(BIN)/loket demo

# A throwaway office; its folder (database and printed tickets) goes when the kiosk ends.
kiosk: $(STAMP)
	dir="$$(mktemp -d)" && trap 'rm -rf "$$dir"' EXIT && \
	$(BIN)/loket --db "$$dir/loket.db" init && \
	$(BIN)/loket --db "$$dir/loket.db" kiosk --printer "file:$$dir/tickets"

tour: $(STAMP)
	$(BIN)/python -m loket.tour

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache build *.egg-info
