# Two entry points (see README): `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO ?= .demo

.PHONY: run test lint bench screenshots clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[ml,dev]'
	@touch $(STAMP)

run: $(STAMP)
	@test -f $(DEMO)/project.db || $(BIN)/lightable demo $(DEMO) --no-gui
	$(BIN)/lightable $(DEMO)

test: $(STAMP)
	$(BIN)/ruff check app tests
	$(BIN)/ruff format --check app tests
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m bench tests/bench -s -p no:randomly

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
