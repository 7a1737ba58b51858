"""IncidentFox resources through the real engine against the sandbox, in both dialects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, effective_config, raw_overrides, write_by_hand, write_project, writes

PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook

    config = pulumi.Config()
    mcp = McpServer(
        "github",
        server_id="github",
        command="npx",
        args=["-y", "server-github"],
        env={"GITHUB_TOKEN": config.require_secret("mcpToken")},
    )
    TeamConfig(
        "team",
        entrance_agent="planner",
        feature_flags={"beta": config.require_bool("beta")},
        agents={"planner": {"max_turns": config.require_int("turns")}, "investigation": {"mcps": {"github": True}}},
        routing={"services": ["payments-api"]},
        opts=pulumi.ResourceOptions(depends_on=[mcp]),
    )
    Webhook("done", event="investigation_complete", url=config.require_secret("hookUrl"))
"""

HOOK_URL = "https://hooks.example.com/ifx/s3cret-path"
MCP_TOKEN = "ghp_e2e_not_for_state"


@pytest.fixture(params=["hosted", "oss"])
def team_sandbox(request: pytest.FixtureRequest, sandbox_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    return sandbox_factory(dialect=request.param)


def assert_writes_use_the_dialects_method(sandbox: SandboxHandle) -> None:
    """Every write so far used its dialect's method: none was spent on a 405 (of the hosted API's 20 a minute)."""
    method = "PUT" if sandbox.info.dialect == "hosted" else "PATCH"
    refused = [(w["method"], w["status"]) for w in writes(sandbox) if w["method"] != method or w["status"] == 405]
    assert writes(sandbox) and refused == []


def project(engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, **config: str) -> PulumiCli:
    cli = PulumiCli(engine, write_project(tmp_path / "project", "ifx", PROGRAM), "ifx", "e2e")
    cli.init(
        {"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url, "beta": "true", "turns": "8", **config},
        secrets={
            "stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token,
            "hookUrl": HOOK_URL,
            "mcpToken": MCP_TOKEN,
        },
    )
    return cli


def test_lifecycle_keeps_foreign_keys_and_restores_on_destroy(
    engine: LocalEngine, tmp_path: Path, team_sandbox: SandboxHandle
) -> None:
    sandbox = team_sandbox
    write_by_hand(sandbox, {"webhooks": {"investigation_complete": "https://old.example.com/hook"}, "ui_key": "kept"})
    cli = project(engine, tmp_path, sandbox)

    cli("up", "--yes")
    live = raw_overrides(sandbox)
    assert live["feature_flags"]["beta"] is True
    assert live["agents"]["planner"]["max_turns"] == 8
    assert live["webhooks"]["investigation_complete"] == HOOK_URL
    assert live["mcp_servers"]["github"]["env"] == {"GITHUB_TOKEN": MCP_TOKEN}
    assert live["ui_key"] == "kept"
    assert_writes_use_the_dialects_method(sandbox)

    sandbox.reset_log()
    assert "4 unchanged" in cli("preview", "--expect-no-changes").stdout
    assert writes(sandbox) == []

    cli.configure({"beta": "false", "turns": "15"})
    preview = cli("preview", "--diff", "--expect-no-changes", check=False)
    assert preview.returncode == 7
    assert "~ beta     : true => false" in preview.stdout or "~ beta: true => false" in preview.stdout
    assert "~ max_turns: 8 => 15" in preview.stdout
    assert writes(sandbox) == []

    cli("up", "--yes")
    live = raw_overrides(sandbox)
    assert (live["feature_flags"]["beta"], live["agents"]["planner"]["max_turns"]) == (False, 15)

    write_by_hand(sandbox, {"feature_flags": {"beta": True, "ui_flag": True}})
    assert_writes_use_the_dialects_method(sandbox)
    sandbox.reset_log()
    refreshed = cli("refresh", "--yes", "--skip-preview")  # one engine pass, one provider process
    assert "~ 1 updated" in refreshed.stdout
    reads = [r for r in sandbox.requests_log("incidentfox") if r["path"].endswith("/config/me/raw")]
    assert len(reads) == 1, "one read serves the refresh of every resource of the team"
    assert writes(sandbox) == []
    sandbox.reset_log()
    cli("refresh", "--yes")  # a preview pass and the refresh, each in its own provider process (README)
    reads = [r for r in sandbox.requests_log("incidentfox") if r["path"].endswith("/config/me/raw")]
    assert len(reads) == 2, "each pass reads once: nothing is carried from one process to the other"
    assert cli("preview", "--expect-no-changes", check=False).returncode == 7

    cli("up", "--yes")
    assert raw_overrides(sandbox)["feature_flags"] == {"beta": False, "ui_flag": True}

    state = cli.state_text()
    for secret in (sandbox.info.incidentfox_team_token, HOOK_URL, MCP_TOKEN):
        assert secret not in state

    cli("destroy", "--yes")
    live = raw_overrides(sandbox)
    assert live["webhooks"]["investigation_complete"] == "https://old.example.com/hook"
    assert live["mcp_servers"]["github"]["enabled"] is False
    assert live["feature_flags"] == {"ui_flag": True}, "beta is inherited again: no null masks it"
    assert MCP_TOKEN not in str(live)
    assert live["ui_key"] == "kept"
    assert_writes_use_the_dialects_method(sandbox)  # of the last up and the destroy


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ('Webhook("w", event="e", url="http://hooks.example.com/x")', "url: must use https"),
        ('McpServer("m", server_id="m", type="grpc", command="x")', "'stdio', 'http' or 'sse'"),
        ('TeamConfig("t", custom={"webhooks": {"e": "https://x.test"}})', "use stackfox_provider.incidentfox.Webhook"),
        ('TeamConfig("t", agents={"planner": {"max_turns": "many"}})', "agents.planner.max_turns"),
    ],
    ids=["http-webhook", "mcp-type", "webhooks-in-team-config", "wrong-type"],
)
def test_bad_inputs_fail_at_preview_without_calling_the_api(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, program: str, message: str
) -> None:
    source = f"from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook\n{program}\n"
    cli = PulumiCli(engine, write_project(tmp_path / "bad", "bad", source), "bad", "e2e")
    cli.init({"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url},
             {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})  # fmt: skip

    preview = cli("preview", check=False)

    assert preview.returncode != 0
    assert message in preview.stdout + preview.stderr
    assert sandbox.requests_log("incidentfox") == []


def test_up_converges_under_server_errors_lost_responses_and_429_storms(
    engine: LocalEngine, tmp_path: Path, team_sandbox: SandboxHandle
) -> None:
    sandbox = team_sandbox
    cli = project(engine, tmp_path, sandbox)
    before = effective_config(sandbox)
    sandbox.set_faults(
        {"kind": "error", "service": "incidentfox", "methods": ["write"], "status": 500, "when": "after", "count": 2},
        {"kind": "error", "service": "incidentfox", "methods": ["write"], "status": 502, "count": 1},
        {"kind": "drop", "service": "incidentfox", "methods": ["write"], "count": 2},
        {"kind": "error", "service": "incidentfox", "methods": ["read"], "status": 503, "count": 2},
        {"kind": "rate_limit", "service": "incidentfox", "retry_after": 1, "count": 6},
    )

    cli("up", "--yes")

    live = raw_overrides(sandbox)
    assert live["feature_flags"]["beta"] is True
    assert live["agents"]["planner"]["max_turns"] == 8
    assert live["routing"]["services"] == ["payments-api"]
    assert live["webhooks"]["investigation_complete"] == HOOK_URL
    assert live["mcp_servers"]["github"] == {
        "command": "npx", "args": ["-y", "server-github"], "env": {"GITHUB_TOKEN": MCP_TOKEN},
        "type": "stdio", "enabled": True,
    }  # fmt: skip
    assert cli("preview", "--expect-no-changes", check=False).returncode == 0

    # Coalesced, the up's writes are too few to meet every fault: the destroy meets the rest.
    cli("destroy", "--yes")

    assert all(fault["fired"] >= 1 for fault in sandbox.faults()), sandbox.faults()
    after = effective_config(sandbox)
    for key in ("entrance_agent", "feature_flags", "agents", "routing"):
        assert after.get(key) == before.get(key), key
    assert after.get("webhooks", {}).get("investigation_complete") == before.get("webhooks", {}).get(
        "investigation_complete"
    )
    assert MCP_TOKEN not in str(raw_overrides(sandbox))


THIRTY_WEBHOOKS = """\
    from stackfox_provider.incidentfox import Webhook

    for i in range(30):
        Webhook(f"hook-{i}", event=f"event_{i}", url=f"https://hooks.example.com/{i}")
"""


def test_thirty_webhooks_under_a_20_per_minute_limit_cost_at_most_nine_writes(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory(dialect="hosted", write_limit=20)
    cli = PulumiCli(engine, write_project(tmp_path / "many", "many", THIRTY_WEBHOOKS), "many", "e2e")
    cli.init({"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url},
             {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})  # fmt: skip

    up = cli("up", "--yes", "--skip-preview")

    assert "+ 31 created" in up.stdout
    statuses = [r["status"] for r in sandbox.requests_log("incidentfox")]
    assert 429 not in statuses, "the client-side budget keeps the stack under the service's write limit"
    assert 405 not in statuses, "the reads showed the dialect: no write was spent on a PATCH"
    # The provider process serves four engine calls at once; their writes to the team leave as one merge.
    assert len(writes(sandbox)) <= 9, f"{len(writes(sandbox))} writes: at most ceil(30/4) + 1"
    declared = {f"event_{i}": f"https://hooks.example.com/{i}" for i in range(30)}
    assert raw_overrides(sandbox)["webhooks"] == declared
    assert declared.items() <= effective_config(sandbox)["webhooks"].items(), "the agents see every one"
