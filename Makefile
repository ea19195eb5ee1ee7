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

# The whole suite on the requests transport, then the HTTP and download tests on curl.
CURL_TESTS := tests/integration/http tests/integration/downloads tests/integration/integrations \
	tests/reliability tests/transports

test: $(STAMP)
	$(BIN)/python -m pytest -q
	HTTPOPS_TRANSPORT=curl $(BIN)/python -m pytest -q $(CURL_TESTS)

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
