# The two commands of the README: `make up` (apply the root project) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACKFOX := $(BIN)/stackfox
STACK ?= dev

.PHONY: up test toolchain venv lint typecheck clean

$(BIN)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[dev,sandbox]'
	touch $@

venv: $(BIN)/.installed

toolchain: venv
	$(STACKFOX) toolchain install

up: toolchain
	$(STACKFOX) pulumi -- stack select --create $(STACK)
	$(STACKFOX) pulumi -- up --yes --stack $(STACK)

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

test: toolchain lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .stackfox
