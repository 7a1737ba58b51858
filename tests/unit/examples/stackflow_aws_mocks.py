"""Run examples/stackflow-aws under Pulumi's mocks and print, as JSON, every resource it registered.

It runs in the example's own virtualenv (``environments.example_python``), the only place pulumi-aws is
installed; ``test_stackflow_aws.py`` starts it and checks what it prints. Usage: ``python THIS PROGRAM``.
"""

from __future__ import annotations

import json
import runpy
import sys
from typing import Any

import pulumi

CONFIG = {"stackflow-aws:stackflowUrl": "https://flow.example.com/prod/api", "stackflow-aws:cognitoDomain": "acme-flow"}


class AwsMocks(pulumi.runtime.Mocks):
    """Ids for the Cognito resources and the region lookup, as AWS would give them."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources[args.name] = {"type": args.typ, "inputs": dict(args.inputs)}
        ids = {"aws:cognito/userPool:UserPool": "eu-west-1_Pool12345",
               "aws:cognito/userPoolClient:UserPoolClient": "client1234567890abcdefghij"}  # fmt: skip
        return ids.get(args.typ, f"{args.name}-id"), dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": "eu-west-1", "name": "eu-west-1", "id": "eu-west-1"}
        return {}


def main(program: str) -> None:
    mocks = AwsMocks()
    pulumi.runtime.set_mocks(mocks, project="stackflow-aws", stack="test", preview=False)
    pulumi.runtime.set_all_config(CONFIG)

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        categories = runpy.run_path(program)["categories"]
        return pulumi.Output.all(*[category.id for category in categories]).apply(
            lambda _: print(json.dumps(mocks.resources, default=str))
        )

    run()


if __name__ == "__main__":
    main(sys.argv[1])
