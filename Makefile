# Every target works on a fresh machine: the virtualenv is created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test test-slow lint format bench bench-server demo docs docs-serve soak clean dist test-floors

venv: $(STAMP)

# pip 25.1 is the first to install a [dependency-groups] group (--group dev).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[docs,demo,fast]' --group dev
	touch $(STAMP)

# The suite on each transport (tests/run_both.sh), except the tests marked slow
# (each waits a second or more for a misbehaving server on purpose):
# `make test-slow` runs those, and CI runs both.
test: $(STAMP)
	bash tests/run_both.sh $(BIN)/python -m "not slow"

test-slow: $(STAMP)
	bash tests/run_both.sh $(BIN)/python -m slow

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy --strict httpops tests/typing

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

# The benchmark's server of choice (bench/server.py falls back to its own
# Python server without it): Debian's nginx-light, installed once, as root.
bench-server:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || apt-get install -y nginx-light

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

SOAK_SECONDS ?= 180

soak: $(STAMP)
	$(BIN)/python -m soak --seconds $(SOAK_SECONDS)

demo: $(STAMP)
	$(BIN)/python -m httpops.demo

# The sdist and wheel as they would be published, checked by twine (metadata, README).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# The whole suite against the lowest allowed runtime dependencies
# (constraints/floors.txt), in a virtualenv of its own.
FLOORS_VENV := .venv-floors
FLOORS_STAMP := $(FLOORS_VENV)/.installed

$(FLOORS_STAMP): pyproject.toml constraints/floors.txt
	rm -rf $(FLOORS_VENV)
	$(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(FLOORS_VENV)/bin/python -m pip install --quiet -c constraints/floors.txt -e '.[demo,fast]' --group dev
	$(FLOORS_VENV)/bin/python -m pip check
	touch $(FLOORS_STAMP)

test-floors: $(FLOORS_STAMP)
	$(FLOORS_VENV)/bin/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(FLOORS_VENV) build dist site *.egg-info .pytest_cache .mypy_cache .ruff_cache
