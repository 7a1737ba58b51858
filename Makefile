# The two commands of the README: `make up` (apply the root project) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACKFOX := $(BIN)/stackfox
STACK ?= dev
# The dev venv runs the Python SDK that matches the toolchain's CLI (stackfox_provider.toolchain.PULUMI_VERSION);
# the package itself accepts a range (pyproject.toml), whose two ends `test-sdk-range` runs.
PULUMI_SDK := 3.259.0

.PHONY: up down test test-sdk-range toolchain venv lint typecheck clean

$(BIN)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[dev,sandbox]' 'pulumi==$(PULUMI_SDK)'
	@# pulumi-aws belongs to examples/stackflow-aws's own venv only: Pulumi's language host reports every
	@# installed pulumi-* package as a required plugin. Venvs made before it left the dev extras lose it here.
	$(BIN)/python -m pip uninstall --quiet --yes pulumi-aws 2>/dev/null || true
	touch $@

venv: $(BIN)/.installed

toolchain: venv
	$(STACKFOX) toolchain install

SANDBOX_DIR := .stackfox/sandbox
# The demo stack's state stays in the checkout, whatever backend you chose for your own projects.
STATE_DIR := .stackfox

up: toolchain
	$(STACKFOX) sandbox status --state-dir $(SANDBOX_DIR) >/dev/null 2>&1 || \
		$(STACKFOX) sandbox start --state-dir $(SANDBOX_DIR)
	$(STACKFOX) use-sandbox --state-dir $(STATE_DIR) --sandbox-dir $(SANDBOX_DIR) --stack $(STACK)
	$(STACKFOX) pulumi --state-dir $(STATE_DIR) -- up --yes --refresh --stack $(STACK)

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

test: toolchain lint typecheck
	$(BIN)/pytest
	$(BIN)/python tests/sdk_range.py

# The e2e lifecycle with the lowest and the newest Pulumi SDK, each in a cached venv of its own from the built wheel.
test-sdk-range: toolchain
	$(BIN)/python tests/sdk_range.py

down: venv
	$(STACKFOX) sandbox stop --state-dir $(SANDBOX_DIR)

clean:
	rm -rf $(VENV) .stackfox
