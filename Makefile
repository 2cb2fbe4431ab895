# Two commands matter: `make run` and `make test`. Both work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sangathan demo

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/sangathan bench seed --json
	$(BIN)/sangathan bench subtree --json

messages: $(STAMP)
	cd sangathan && ../$(BIN)/sangathan makemessages -l hi -l en --no-obsolete && ../$(BIN)/sangathan compilemessages

clean:
	rm -rf $(VENV) var/*.sqlite3*
