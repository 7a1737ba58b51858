# The two commands of the README: `make up` (apply the root project) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACKFOX := $(BIN)/stackfox
STACK ?= dev

.PHONY: up down test toolchain venv lint typecheck clean

$(BIN)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[dev,sandbox,examples]'
	touch $@

venv: $(BIN)/.installed

toolchain: venv
	$(STACKFOX) toolchain install

SANDBOX_DIR := .stackfox/sandbox

up: toolchain
	$(STACKFOX) sandbox status --state-dir $(SANDBOX_DIR) >/dev/null 2>&1 || \
		$(STACKFOX) sandbox start --state-dir $(SANDBOX_DIR)
	$(STACKFOX) use-sandbox --sandbox-dir $(SANDBOX_DIR) --stack $(STACK)
	$(STACKFOX) pulumi -- up --yes --refresh --stack $(STACK)

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

test: toolchain lint typecheck
	$(BIN)/pytest

down: venv
	$(STACKFOX) sandbox stop --state-dir $(SANDBOX_DIR)

clean:
	rm -rf $(VENV) .stackfox
