"""What a program registers for each resource, under Pulumi's mocks (no engine): only the inputs it set.

The engine carries every registered property through every check and diff of every preview, so unset inputs
are left out; the declared outputs stay attributes. The program runs in a subprocess, because Pulumi's mocks
are process-wide.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PROGRAM = textwrap.dedent(
    """
    import json

    import pulumi

    registered = {}


    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            registered[args.name] = {
                "inputs": sorted(key for key in args.inputs if key != "__provider"),
                "secret": sorted(
                    key for key, value in args.inputs.items() if isinstance(value, dict) and value.get(
                        "4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270"
                ),
            }
            return f"{args.name}-id", {**args.inputs, "created_at": "2026-11-27T00:00:00Z"}

        def call(self, args):
            return {}


    pulumi.runtime.set_mocks(Mocks(), project="p", stack="s", preview=False)

    from stackfox_provider.incidentfox import McpServer, Webhook
    from stackfox_provider.stackflow import IncidentCategory


    @pulumi.runtime.test
    def run():
        category = IncidentCategory("cat", name="network", label="Network")
        hook = Webhook("hook", event="slack", url="https://hooks.example.com/x")
        mcp = McpServer("mcp", server_id="gh", name="GitHub", type="stdio", command="gh", env={"T": "x"})
        attributes = {
            "category": sorted(n for n in ("name", "label", "default_priority", "created_at", "description")
                               if hasattr(category, n)),
            "hook": sorted(n for n in ("event", "url", "team_id") if hasattr(hook, n)),
            "mcp": sorted(n for n in ("server_id", "name", "type", "enabled", "team_id") if hasattr(mcp, n)),
        }
        return pulumi.Output.all(category.created_at, category.default_priority, hook.id, mcp.id).apply(
            lambda values: print(
                json.dumps({"registered": registered, "attributes": attributes, "values": values[:2]})
            )
        )


    run()
    """
)


@pytest.fixture(scope="module")
def program_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    program = tmp_path_factory.mktemp("registration") / "program.py"
    program.write_text(PROGRAM)
    completed = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).parents[3],
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_only_the_inputs_a_program_sets_are_registered(program_run: dict[str, Any]) -> None:
    registered = program_run["registered"]
    assert registered["cat"]["inputs"] == ["label", "name"]
    assert registered["hook"]["inputs"] == ["event", "url"]
    assert registered["mcp"]["inputs"] == ["command", "env", "name", "server_id", "type"]


def test_secret_inputs_stay_secret(program_run: dict[str, Any]) -> None:
    assert program_run["registered"]["mcp"]["secret"] == ["env"]


def test_declared_outputs_are_attributes_and_unset_inputs_are_not(program_run: dict[str, Any]) -> None:
    assert program_run["attributes"] == {
        "category": ["created_at", "default_priority", "label", "name"],
        "hook": ["event", "team_id", "url"],
        "mcp": ["enabled", "name", "server_id", "team_id", "type"],
    }
    # An output the provider computes reaches the program; an unset one it did not return resolves to None.
    assert program_run["values"] == ["2026-11-27T00:00:00Z", None]
