# Two commands do all the set-up on a fresh machine:
#   make run    – create the environment if needed, then start the kiosk (ARGS="--mode self-service" …)
#   make test   – create the environment if needed, then lint, type-check, look for import cycles, run the tests
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTHON ?= python3
ARGS ?=

.PHONY: run test lint bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,central]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/kiosk run $(ARGS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy  # the packages in [tool.mypy] files of pyproject.toml, ui/ among them
	$(PY) -m tools.import_cycles
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,central,bench]'
	QT_QPA_PLATFORM=offscreen $(PY) -m bench.run_all
