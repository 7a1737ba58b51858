"""The pulumi-aws example's wiring, under Pulumi's mocks (no engine, no AWS, no provider plugin)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "stackflow-aws" / "__main__.py"
CATEGORY_TYPE = "pulumi-python:dynamic/stackflow:IncidentCategory"


class AwsMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources[args.name] = (args.typ, dict(args.inputs))
        outputs = dict(args.inputs)
        if args.typ == "aws:cognito/userPool:UserPool":
            return "eu-west-1_Pool12345", outputs
        if args.typ == "aws:cognito/userPoolClient:UserPoolClient":
            return "client1234567890abcdefghij", outputs
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": "eu-west-1", "name": "eu-west-1", "id": "eu-west-1"}
        return {}


@pytest.fixture
def mocks() -> AwsMocks:
    mocks = AwsMocks()
    pulumi.runtime.set_mocks(mocks, project="stackflow-aws", stack="test", preview=False)
    config = {"stackflow-aws:stackflowUrl": "https://flow.example.com/prod/api",
              "stackflow-aws:cognitoDomain": "acme-flow"}  # fmt: skip
    pulumi.runtime.set_all_config(config)
    return mocks


@pulumi.runtime.test
def test_pool_client_and_domain_outputs_reach_every_category(mocks: AwsMocks) -> None:
    program = runpy.run_path(str(EXAMPLE))

    def check(_: Any) -> None:
        categories = {name: inputs for name, (typ, inputs) in mocks.resources.items() if typ == CATEGORY_TYPE}
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

    return pulumi.Output.all(*[category.id for category in program["categories"]]).apply(check)
