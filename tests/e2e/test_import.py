"""`stackfox import` through the real engine: services set up by hand become code that adopts them with no write."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import (
    PulumiCli,
    effective_config,
    raw_overrides,
    run_stackfox,
    sandbox_config,
    write_by_hand,
    write_project,
)
from tests.e2e.test_stackflow import user_password_settings

CATEGORIES = 150
INACTIVE = {f"imported-{index:03d}" for index in range(0, CATEGORIES, 30)}
RAISED = {"read_limit": 100_000, "write_limit": 100_000}


def hand_made(index: int) -> dict[str, Any]:
    """A category as someone made it in the UI: unicode, quotes, subcategories, optional fields."""
    name = f"imported-{index:03d}"
    body: dict[str, Any] = {
        "name": name,
        "label": f"Imported «{index}» Störung ✓",
        "default_priority": f"P{index % 4 + 1}",
    }
    if index % 2:
        body["description"] = f'What "category {index}" is for; it\'s hand-made'
    if index % 3:
        body["subcategories"] = [{"name": f"sub-{n}", "label": f"Sub {n} ✓"} for n in range(index % 5 + 1)]
    if index % 7 == 0:
        body["default_assignment_group"] = f"team-{index}"
    return body


def all_categories(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    """Every category StackFlow holds, as it answers (every field, JSON types included)."""
    found: list[dict[str, Any]] = []
    with sandbox.stackflow() as http:
        for page in range(1, 100):
            answer = http.get("/categories", params={"limit": 100, "page": page}).raise_for_status().json()
            found += answer["data"]
            if not answer["has_more"]:
                break
    return sorted(found, key=lambda item: item["name"])


GITHUB_TOKEN = "ghp_import_never_in_state"
GRAFANA_KEY = "glsa_import_never_in_state"
PAGERDUTY_KEY = "pd_import_never_in_state"
SLACK_URL = "https://hooks.slack.com/services/T0IMPORT/B0IMPORT/never-in-state"
TOKEN_URL = "https://alerts.example.com/in?token=never-in-state-either"
SECRETS = (GITHUB_TOKEN, GRAFANA_KEY, PAGERDUTY_KEY, SLACK_URL, TOKEN_URL)
#: A team configured by hand: nested agents, lists, whole numbers, unicode, keys no typed input has, secrets.
TEAM: dict[str, Any] = {
    "entrance_agent": "planner",
    "agents": {
        "planner": {
            "max_turns": 12,
            "model": {"name": "fox-large", "temperature": 0.2, "max_tokens": 4096},
            "prompt": {"system": "Plan «carefully» ✓"},
            "sub_agents": {"investigation": True},
            "triage_style": {"depth": 3, "labels": ["sev1", "sév2"]},
        },
        "investigation": {"mcps": {"github": True}, "tools": {"kubectl": True}},
    },
    "feature_flags": {"beta": True, "legacy_ui": False},
    "routing": {"services": ["payments-api", "ledger"], "slack_channel_ids": ["C0123"]},
    "output_config": {"default_destinations": [{"type": "slack", "channel": "C0123"}], "brand": {"emoji": "🦊"}},
    "alerts": {"disabled": ["noisy-alert"]},
    "team_motto": "Störungen schnell lösen ✓",
    "retention_days": 30,
    "integrations": {"pagerduty": {"api_key": PAGERDUTY_KEY, "retries": 3}},
    "webhooks": {
        "investigation_complete": SLACK_URL,
        "postmortem_ready": "https://hooks.example.com/postmortem",
        "escalated": TOKEN_URL,
    },
    "mcp_servers": {
        "github": {  # as the UI writes a stdio server: no type
            "name": "GitHub",
            "command": "npx",
            "args": ["-y", "server-github"],
            "env": {"GITHUB_TOKEN": GITHUB_TOKEN, "HOME": "${HOME}"},
            "enabled": True,
        },
        "grafana": {
            "name": "Grafana",
            "type": "stdio",
            "command": "mcp-grafana",
            "env": {"GRAFANA_KEY": GRAFANA_KEY},
            "enabled_tools": ["*"],
            "enabled": False,
        },
    },
}


@pytest.fixture(params=["hosted", "oss"])
def filled(request: pytest.FixtureRequest, sandbox_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    """A fresh sandbox in each IncidentFox dialect: the team configured by hand, and 150 hand-made categories
    (5 of them inactive); limits back to their defaults."""
    sandbox = sandbox_factory(dialect=request.param)
    sandbox.update_settings(**RAISED)
    with sandbox.stackflow() as http:
        for index in range(CATEGORIES):
            created = http.post("/categories", json=hand_made(index)).raise_for_status().json()
            if created["name"] in INACTIVE:
                http.patch(f"/categories/{created['id']}", json={"active": False}).raise_for_status()
    write_by_hand(sandbox, TEAM)
    sandbox.reset()
    return sandbox


def calls(sandbox: SandboxHandle, service: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(reads, writes) the service answered since the log was last reset."""
    log = sandbox.requests_log(service)
    return [r for r in log if r["method"] == "GET"], [r for r in log if r["method"] != "GET"]


def as_json(value: Any) -> str:
    """JSON text that tells 12 from 12.0 and a null from no key."""
    return json.dumps(value, sort_keys=True)


def test_an_imported_setup_is_adopted_with_no_write_and_left_as_it_was(
    engine: LocalEngine, tmp_path: Path, filled: SandboxHandle
) -> None:
    sandbox = filled
    before, team_before = all_categories(sandbox), as_json(raw_overrides(sandbox))
    effective_before = as_json(effective_config(sandbox))
    assert len(before) >= CATEGORIES
    cli = PulumiCli(
        engine, write_project(tmp_path / "project", "adopted", "import stackfox_imported\n"), "adopted", "e2e"
    )
    plain, secret = sandbox_config(sandbox)
    cli.init(plain, secret)
    module = cli.project_dir / "stackfox_imported.py"
    sandbox.reset_log()

    began = time.monotonic()
    imported = run_stackfox(cli, "import")
    took = time.monotonic() - began

    assert imported.returncode == 0, imported.stderr
    flow_reads, flow_writes = calls(sandbox, "stackflow")
    fox_reads, fox_writes = calls(sandbox, "incidentfox")
    print(f"import: {took:.1f}s, {len(fox_reads)} IncidentFox and {len(flow_reads)} StackFlow reads")
    assert flow_writes == [] and fox_writes == []
    assert len(flow_reads) <= -(-len(before) // 100) + 1  # the list pages, and at most one more read
    assert len(fox_reads) <= 2  # the team's own overrides, and who the token is when they do not say
    text = module.read_text()
    assert text.count(": IncidentCategory(\n") == len(before)
    assert text.count("active=False") == len(INACTIVE)
    assert text.count(": Webhook(\n") == 3 and text.count(": McpServer(\n") == 2
    assert text.count("team_config = TeamConfig(\n") == 1
    shown = text + imported.stdout + imported.stderr
    for value in (*SECRETS, secret["stackfox:stackflowPassword"], secret["stackfox:incidentfoxToken"]):
        assert value not in shown
    steps = [line.split()[6] for line in imported.stdout.splitlines() if line.startswith("  pulumi config set")]
    assert sorted(steps) == sorted(
        ["mcpGithubEnvGithubToken", "mcpGrafanaEnvGrafanaKey", "webhookInvestigationCompleteUrl",
         "webhookEscalatedUrl", "integrationsPagerdutyApiKey", "integrationsPagerdutyRetries"]
    )  # fmt: skip
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--line-length", "120", str(module)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr

    stored = run_stackfox(cli, "import", "--set-secrets")  # the same read: the module stays, the secrets are set
    assert stored.returncode == 0, stored.stderr
    assert "6 secrets written" in stored.stdout
    assert "already declares it as it is" in stored.stderr
    assert all(value not in stored.stdout + stored.stderr for value in SECRETS)

    sandbox.reset_log()
    cli("up", "--yes")
    assert calls(sandbox, "stackflow")[1] == [] and calls(sandbox, "incidentfox")[1] == []  # adopted: no write
    assert all_categories(sandbox) == before
    assert as_json(raw_overrides(sandbox)) == team_before
    cli("preview", "--expect-no-changes")
    drift = run_stackfox(cli, "drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    state = cli.state_text() + (cli.project_dir / "Pulumi.e2e.yaml").read_text()
    for value in (*SECRETS, secret["stackfox:stackflowPassword"], secret["stackfox:incidentfoxToken"]):
        assert value not in state

    again = run_stackfox(cli, "import", "--force")
    assert again.returncode == 0, again.stderr
    assert module.read_text() == text  # byte for byte: nothing changed in either service
    assert "pulumi config set" not in again.stdout  # the stack holds every secret now

    sandbox.reset_log()
    cli("destroy", "--yes")
    assert calls(sandbox, "stackflow")[1] == [] and calls(sandbox, "incidentfox")[1] == []
    assert all_categories(sandbox) == before  # deletion_policy="retain": StackFlow is as it was read
    assert as_json(raw_overrides(sandbox)) == team_before  # on_delete="restore" of what was there: nothing to do
    assert as_json(effective_config(sandbox)) == effective_before


def test_import_never_replaces_a_module_that_differs_without_force(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory()
    cli = PulumiCli(
        engine, write_project(tmp_path / "project", "adopted", "import stackfox_imported\n"), "adopted", "e2e"
    )
    plain, secret = user_password_settings(sandbox)
    cli.init(plain, secret)
    module = cli.project_dir / "stackfox_imported.py"
    module.write_text("# mine\n")

    refused = run_stackfox(cli, "import")

    assert refused.returncode == 1
    assert "exists and differs from what was read; pass --force to replace it" in refused.stderr
    assert module.read_text() == "# mine\n"
    unconfigured = run_stackfox(cli, "import", "--service", "incidentfox")
    assert unconfigured.returncode == 1
    assert "needs `stackfox:incidentfoxUrl`" in unconfigured.stderr
