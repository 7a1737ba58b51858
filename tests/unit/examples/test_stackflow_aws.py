"""The pulumi-aws example's wiring, under Pulumi's mocks (no engine, no AWS, no provider plugin).

pulumi-aws lives only in the example's own virtualenv, made from its requirements.txt
(``environments.py``), so the program runs there, in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.examples.environments import CHECKOUT, example_python

EXAMPLE = CHECKOUT / "examples" / "stackflow-aws"
MOCKS = Path(__file__).with_name("stackflow_aws_mocks.py")
CATEGORY_TYPE = "pulumi-python:dynamic/stackflow:IncidentCategory"


@pytest.fixture(scope="module")
def registered() -> dict[str, dict[str, Any]]:
    """Every resource the example registers under mocks: name → type and inputs."""
    python = example_python(EXAMPLE)
    completed = subprocess.run(
        [str(python), str(MOCKS), str(EXAMPLE / "__main__.py")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    resources: dict[str, dict[str, Any]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return resources


def test_pool_client_and_domain_outputs_reach_every_category(registered: dict[str, dict[str, Any]]) -> None:
    categories = {name: r["inputs"] for name, r in registered.items() if r["type"] == CATEGORY_TYPE}

    assert set(categories) == {"category-network", "category-database"}
    for inputs in categories.values():
        assert inputs["connection"] == {
            "url": "https://flow.example.com/prod/api",
            "user_pool_id": "eu-west-1_Pool12345",
            "client_id": "client1234567890abcdefghij",
            "region": "eu-west-1",
            "token_url": "https://acme-flow.auth.eu-west-1.amazoncognito.com/oauth2/token",
        }
        assert "password" not in str(inputs).lower()


def test_pulumi_aws_is_only_in_the_examples_environment() -> None:
    """The root environment must not hold it: Pulumi's language host would make every project ask for its plugin."""
    assert importlib.util.find_spec("pulumi_aws") is None
