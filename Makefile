# Every target works on a fresh machine: the virtualenv is created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint format bench demo docs docs-serve soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs,demo,fast]'
	touch $(STAMP)

# The whole suite on each transport; tests marked requests_transport (the worker
# model itself, or `responses` mocks) are deselected on curl (docs/transports.md).
test: $(STAMP)
	$(BIN)/python -m pytest -q
	HTTPOPS_TRANSPORT=curl $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy --strict httpops

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

SOAK_SECONDS ?= 180

soak: $(STAMP)
	$(BIN)/python -m soak --seconds $(SOAK_SECONDS)

demo: $(STAMP)
	$(BIN)/python -m httpops.demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
