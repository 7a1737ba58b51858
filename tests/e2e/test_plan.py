"""`stackfox plan` through the real engine against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.test_drift import category, reviewed_stack, service_requests, unique

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "schemas" / "plan.schema.json").read_text())


def test_plan_shows_exactly_the_changed_resources_and_fields_then_fails_on_invalid_input(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    flag, network, database = unique("beta").replace("-", "_"), unique("network"), unique("database")
    spec: dict[str, Any] = {
        "flags": {flag: True},
        "turns": 8,
        "webhooks": {
            "done": {"event": unique("done"), "url": "https://hooks.example.com/done"},
            "postmortem": {"event": unique("pm"), "url": "https://hooks.example.com/pm"},
        },
        "categories": [category(network), category(database)],
    }
    stack = reviewed_stack(engine, tmp_path, sandbox, spec)
    stack.pulumi("up", "--yes")

    spec["flags"][flag] = False
    spec["turns"] = 12
    spec["webhooks"]["done"]["url"] = "https://hooks.example.com/done-v2"
    spec["categories"][0] = category(network, default_priority="P2", label="Network and DNS")
    stack.set_spec(spec)
    sandbox.reset_log()

    done = stack.stackfox("plan", "--format", "json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert report["totals"] == {"create": 0, "update": 3, "replace": 0, "delete": 0, "same": 2}
    changes = {
        (group["service"], resource["kind"], resource["name"], resource["op"]): [
            (field["path"], field["old"], field["new"]) for field in resource["fields"]
        ]
        for group in report["services"]
        for resource in group["resources"]
    }
    assert changes == {
        ("IncidentFox", "TeamConfig", "team", "update"): [
            ("agents.planner.max_turns", 8, 12), (f"feature_flags.{flag}", True, False)
        ],
        ("IncidentFox", "Webhook", "done", "update"): [
            ("url", "https://hooks.example.com/done", "https://hooks.example.com/done-v2")
        ],
        ("StackFlow", "IncidentCategory", network, "update"): [
            ("default_priority", "P3", "P2"), ("label", network.title(), "Network and DNS")
        ],
    }  # fmt: skip
    assert service_requests(sandbox) == [], "a plan without --refresh never calls the services"

    markdown = stack.stackfox("plan", "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    assert "**0 to create, 3 to update, 0 to replace, 0 to delete, 2 unchanged.**" in markdown.stdout
    assert "| ~ update | IncidentCategory `" + network + '` | `default_priority` | `"P3"` | `"P2"` |' in markdown.stdout

    spec["categories"][1] = category(database, default_priority="P9")
    stack.set_spec(spec)

    failed = stack.stackfox("plan")

    assert failed.returncode == 1
    assert failed.stdout == ""
    assert (
        f"IncidentCategory '{database}': default_priority: is not allowed (got 'P9'); one of 'P1', 'P2', 'P3' or 'P4'"
        in failed.stderr
    )
