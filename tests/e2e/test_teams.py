"""The whole organisation as code: Team and TeamToken through the real engine, each team's resources on its token."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.clients.incidentfox import unwrap
from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, run_stackfox, sandbox_config, write_project

TEAMS = ("payments", "search")
PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import McpServer, Team, TeamConfig, TeamToken, Webhook

    config = pulumi.Config()
    url = pulumi.Config("stackfox").require("incidentfoxUrl")
    for team_id in ("payments", "search"):
        team = Team(
            team_id,
            node_id=team_id,
            name=config.get(f"{team_id}Name") or f"{team_id.title()} team",
            parent_id=config.get(f"{team_id}Parent"),
        )
        rotation = config.get(f"{team_id}Rotation") or "1"
        token = TeamToken(f"{team_id}-token", team_id=team.team_id, triggers=[rotation])
        connection = {"url": url, "token": token.token}
        TeamConfig(
            f"{team_id}-config",
            feature_flags={"beta": team_id == "payments"},
            custom={"owner": team_id, "pager_minutes": 15 if team_id == "payments" else 30},
            connection=connection,
        )
        Webhook(f"{team_id}-hook", event="investigation_complete", url=f"https://hooks.example.com/{team_id}",
                connection=connection)
        McpServer(f"{team_id}-mcp", server_id="github", command="npx", env={"TEAM": team_id}, connection=connection)
"""


@pytest.fixture
def organisation(sandbox_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    return sandbox_factory(dialect="oss")


def admin(sandbox: SandboxHandle) -> Any:
    return sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token)


def node(sandbox: SandboxHandle, node_id: str) -> dict[str, Any] | None:
    with admin(sandbox) as http:
        answer = http.get(f"/admin/orgs/{sandbox.info.incidentfox_org_id}/nodes/{node_id}")
    return None if answer.status_code == 404 else dict(unwrap(answer.raise_for_status().json()))


def raw(sandbox: SandboxHandle, node_id: str) -> dict[str, Any]:
    """A team's own overrides, as the admin API reads them."""
    with admin(sandbox) as http:
        answer = http.get(f"/config/orgs/{sandbox.info.incidentfox_org_id}/nodes/{node_id}/raw")
    return dict(unwrap(answer.raise_for_status().json())["config"])


def tokens(sandbox: SandboxHandle, team_id: str) -> list[dict[str, Any]]:
    with admin(sandbox) as http:
        answer = http.get(f"/admin/orgs/{sandbox.info.incidentfox_org_id}/teams/{team_id}/tokens")
    return list(unwrap(answer.raise_for_status().json()))


def live(sandbox: SandboxHandle, team_id: str) -> list[str]:
    return [token["token_id"] for token in tokens(sandbox, team_id) if token["revoked_at"] is None]


def status_with(sandbox: SandboxHandle, token: str) -> int:
    with sandbox.incidentfox(token) as http:
        return http.get("/config/me/raw").status_code


def minted(cli: PulumiCli) -> dict[str, str]:
    """Each TeamToken's token, from the state decrypted by `pulumi stack export --show-secrets`."""
    exported = json.loads(cli("stack", "export", "--show-secrets").stdout)
    found = {}
    for resource in exported["deployment"]["resources"]:
        if resource["type"].endswith(":TeamToken"):
            token = resource["outputs"]["token"]
            assert isinstance(token, dict), "a secret in state: {signature, plaintext}"
            found[resource["outputs"]["team_id"]] = json.loads(token["plaintext"])
    return found


def test_one_program_creates_two_teams_with_tokens_and_configures_each_with_its_own(
    engine: LocalEngine, tmp_path: Path, organisation: SandboxHandle
) -> None:
    sandbox = organisation
    cli = PulumiCli(engine, write_project(tmp_path / "project", "org", PROGRAM), "org", "e2e")
    plain, secret = sandbox_config(sandbox)
    cli.init(plain, secret)

    up = cli("up", "--yes")

    for team_id in TEAMS:
        found = node(sandbox, team_id)
        assert found is not None and found["name"] == f"{team_id.title()} team"
        assert found["parent_id"] == sandbox.info.incidentfox_org_id
        config = raw(sandbox, team_id)
        assert sorted(config) == ["feature_flags", "mcp_servers", "owner", "pager_minutes", "stackfox", "webhooks"]
        assert config["feature_flags"] == {"beta": team_id == "payments"}
        assert config["owner"] == team_id
        assert json.dumps(config["pager_minutes"]) == ("15" if team_id == "payments" else "30")  # ints stay ints
        assert config["webhooks"] == {"investigation_complete": f"https://hooks.example.com/{team_id}"}
        assert config["mcp_servers"]["github"]["env"] == {"TEAM": team_id}
        assert len(live(sandbox, team_id)) == 1
    values = minted(cli)
    assert sorted(values) == sorted(TEAMS)
    for team_id, token in values.items():
        assert status_with(sandbox, token) == 200
        assert token.split(".")[0] == live(sandbox, team_id)[0]
    cli("preview", "--expect-no-changes")
    shown = cli.state_text() + up.stdout + up.stderr + (cli.project_dir / "Pulumi.e2e.yaml").read_text()
    for value in (*values.values(), secret["stackfox:incidentfoxAdminToken"]):
        assert value not in shown
        assert value.split(".", 1)[1] not in shown

    # Rotating payments' token: the new one first, the team's resources move to it, the old one is revoked.
    old = values["payments"]
    cli.configure({"paymentsRotation": "2"})
    plan = run_stackfox(cli, "plan", "--format", "json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert old not in plan.stdout + plan.stderr and old.split(".", 1)[1] not in plan.stdout
    services = json.loads(plan.stdout)["services"]
    planned = {change["name"]: change["op"] for service in services for change in service["resources"]}
    assert planned["payments-token"] == "replace", plan.stdout
    rotated = cli("up", "--yes")
    new = minted(cli)
    assert new["payments"] != old and new["search"] == values["search"]
    assert status_with(sandbox, old) == 401
    assert status_with(sandbox, new["payments"]) == 200
    assert live(sandbox, "payments") == [new["payments"].split(".")[0]]
    assert raw(sandbox, "payments")["owner"] == "payments"
    assert "payments-token" in rotated.stdout and "replaced" in rotated.stdout
    cli("preview", "--expect-no-changes")

    # A rename and a move under another team (a group) change the node in place.
    cli.configure({"searchName": "Search & Discovery", "searchParent": "payments"})
    moved = cli("up", "--yes")
    assert "replace" not in moved.stdout.split("Resources:")[-1]
    found = node(sandbox, "search")
    assert found is not None and (found["name"], found["parent_id"]) == ("Search & Discovery", "payments")
    cli("preview", "--expect-no-changes")

    # A token revoked by hand is drift.
    with admin(sandbox) as http:
        org, token_id = sandbox.info.incidentfox_org_id, values["search"].split(".")[0]
        http.post(f"/admin/orgs/{org}/teams/search/tokens/{token_id}/revoke").raise_for_status()
    drift = run_stackfox(cli, "drift", "--format", "json")
    # The token is gone; the team's resources, which use it, cannot be read (exit 1: it cannot tell for them).
    assert drift.returncode == 1, drift.stdout + drift.stderr
    report = json.loads(drift.stdout)
    deleted = [r for r in report["resources"] if r["status"] == "deleted"]
    assert [r["name"] for r in deleted] == ["search-token"], drift.stdout
    assert sorted(error["resource"] for error in report["errors"]) == [
        "McpServer 'search-mcp'", "TeamConfig 'search-config'", "Webhook 'search-hook'"
    ]  # fmt: skip
    assert all("HTTP 401: Token revoked" in error["message"] for error in report["errors"])
    assert values["search"] not in drift.stdout + drift.stderr
    repaired = cli("up", "--yes")  # a new token, and search's resources move to it
    assert "was revoked (or expired) outside the stack; a new token replaces it" in repaired.stdout + repaired.stderr
    assert status_with(sandbox, minted(cli)["search"]) == 200
    cli("preview", "--expect-no-changes")

    # Destroy revokes the tokens, restores the teams' configs and leaves the team nodes, saying so.
    destroyed = cli("destroy", "--yes")
    for team_id in TEAMS:
        assert node(sandbox, team_id) is not None
        assert live(sandbox, team_id) == []
        config = raw(sandbox, team_id)
        assert config.get("owner") is None and config.get("pager_minutes") is None
        assert (config.get("webhooks") or {}).get("investigation_complete") is None
        assert config["mcp_servers"]["github"]["enabled"] is False
    assert "IncidentFox cannot delete a team node" in destroyed.stdout + destroyed.stderr
