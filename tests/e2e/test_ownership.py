"""One owner per thing in a stack, through the real engine: a second resource declaring the same thing fails
at preview naming both, and a rename without `aliases` changes nothing on the services."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, raw_overrides, sandbox_config, write_by_hand, write_project

#: Resources described by the `spec` config value: {kind: [{"resource": name, **inputs}]}.
PROGRAM = """\
    import json

    import pulumi
    from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook
    from stackfox_provider.stackflow import IncidentCategory

    kinds = {"TeamConfig": TeamConfig, "Webhook": Webhook, "McpServer": McpServer, "IncidentCategory": IncidentCategory}
    for kind, resources in json.loads(pulumi.Config().require("spec")).items():
        for spec in resources:
            kinds[kind](spec.pop("resource"), **spec)
"""


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def stack(engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, spec: dict[str, Any]) -> PulumiCli:
    cli = PulumiCli(engine, write_project(tmp_path / "owners", "owners", PROGRAM), "owners", "e2e")
    plain, secret = sandbox_config(sandbox)
    cli.init({**plain, "spec": json.dumps(spec)}, secret)
    return cli


def service_writes(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    services = ("incidentfox", "stackflow")
    return [r for r in sandbox.requests_log() if r["method"] not in ("GET", "HEAD") and r.get("service") in services]


def categories_named(sandbox: SandboxHandle, name: str) -> list[dict[str, Any]]:
    with sandbox.stackflow() as http:
        found = http.get("/categories", params={"name": name, "limit": 100}).raise_for_status().json()["data"]
    return [item for item in found if item["name"] == name]


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"Webhook": [{"resource": "a", "event": "THING", "url": "https://h.example.com/a"},
                      {"resource": "b", "event": "THING", "url": "https://h.example.com/b"}]},
         "webhooks.THING is also declared by Webhook '"),
        ({"TeamConfig": [{"resource": "a", "feature_flags": {"THING": True}},
                         {"resource": "b", "feature_flags": {"THING": False}, "routing": {"services": ["x"]}}]},
         "feature_flags.THING is also declared by TeamConfig '"),
        ({"McpServer": [{"resource": "a", "server_id": "THING", "command": "x"},
                        {"resource": "b", "server_id": "THING", "command": "y"}]},
         "mcp_servers.THING.command is also declared by McpServer '"),
        ({"IncidentCategory": [{"resource": "a", "name": "THING", "label": "A"},
                               {"resource": "b", "name": "THING", "label": "B"}]},
         "category 'THING' is also declared by IncidentCategory '"),
    ],
    ids=["webhook-event", "flag", "mcp-server", "category"],
)  # fmt: skip
def test_two_resources_declaring_one_thing_fail_at_preview_naming_both(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, resources: dict[str, Any], message: str
) -> None:
    thing = unique("owned")
    cli = stack(engine, tmp_path, sandbox, json.loads(json.dumps(resources).replace("THING", thing)))
    sandbox.reset_log()

    up = cli("up", "--yes", check=False)

    assert up.returncode != 0
    told = up.stdout + up.stderr
    assert message.replace("THING", thing) in told, told  # checks run concurrently: either may be named first
    assert "resource 'a'" in told or "resource 'b'" in told
    assert "declared by " in told and ("'a';" in told or "'b';" in told)
    assert service_writes(sandbox) == [], "nothing is written"


def test_a_rename_without_aliases_changes_nothing_on_the_services(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    event, flag, server, name = unique("renamed_event"), unique("renamed_flag"), unique("mcp"), unique("renamed")
    write_by_hand(sandbox, {"webhooks": {event: "https://hooks.example.com/before"}})

    def spec(suffix: str) -> dict[str, Any]:
        return {
            "Webhook": [{"resource": f"hook{suffix}", "event": event, "url": "https://hooks.example.com/declared"}],
            "TeamConfig": [{"resource": f"team{suffix}", "feature_flags": {flag: True}}],
            "McpServer": [{"resource": f"mcp{suffix}", "server_id": server, "command": "npx"}],
            "IncidentCategory": [{"resource": f"cat{suffix}", "name": name, "label": "Renamed"}],
        }

    cli = stack(engine, tmp_path, sandbox, spec(""))
    cli("up", "--yes")
    before = raw_overrides(sandbox)
    cli.configure({"spec": json.dumps(spec("-renamed"))})  # every resource renamed, no aliases

    renamed = cli("up", "--yes")

    assert "+ 4 created" in renamed.stdout and "- 4 deleted" in renamed.stdout, renamed.stdout
    assert "`aliases`" in renamed.stdout + renamed.stderr
    after = raw_overrides(sandbox)
    assert after["webhooks"][event] == before["webhooks"][event] == "https://hooks.example.com/declared"
    assert after["feature_flags"][flag] is True
    assert after["mcp_servers"][server] == before["mcp_servers"][server]
    assert after["mcp_servers"][server]["enabled"] is True
    [live] = categories_named(sandbox, name)
    assert live["active"] is True, "the category the new resource declares is not deactivated"
