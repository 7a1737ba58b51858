"""Bad inputs of every resource fail ``pulumi preview`` through the real engine, before any API call."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, write_project

IMPORTS = (
    "from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook\n"
    "from stackfox_provider.stackflow import IncidentCategory\n"
)


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ('TeamConfig("t", feature_flags={"beta": "yes"})', "feature_flags.beta: is not a boolean (got 'yes')"),
        ('TeamConfig("t", agents={"planner": {"maxturns": 5}})', "agents.planner.maxturns: is not a known property"),
        (
            'Webhook("w", event="e", url="https://hooks.example.com/x\\r\\nX-Injected: 1")',
            "url: contains whitespace or a control character",
        ),
        (
            'McpServer("m", server_id="m", type="http", url="https://bot:hunter2@mcp.example.com/mcp")',
            "url: embeds credentials (user:password@) (got 'https://***@mcp.example.com/mcp')",
        ),
        ('IncidentCategory("c", name="a" * 64, label="A")', "name: is not a valid category name"),
        ('IncidentCategory("c", name="network", label="x" * 201)', "label: is too long (201 characters)"),
        (
            'IncidentCategory("c", name="network", label="Network", '
            'connection={"url": "http://stackflow.example.com/prod/api"})',
            "connection.url: must use https",
        ),
        ('TeamConfig("t", custom={"": 1})', "custom: has an empty key"),
    ],
    ids=[
        "coerced-bool",
        "agent-typo",
        "crlf-url",
        "userinfo-url",
        "long-name",
        "long-label",
        "http-connection",
        "empty-key",
    ],
)
def test_bad_inputs_fail_at_preview_without_calling_the_apis(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, program: str, message: str
) -> None:
    cli = PulumiCli(engine, write_project(tmp_path / "bad", "bad", f"{IMPORTS}{program}\n"), "bad", "e2e")
    urls = {
        "stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url,
        "stackfox:stackflowUrl": sandbox.info.stackflow_base_url,
    }
    cli.init(urls, {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})

    preview = cli("preview", check=False)

    output = preview.stdout + preview.stderr
    assert preview.returncode != 0
    assert message in output, output
    assert "(inputs)" not in output
    # The engine itself echoes a plain (non-secret) top-level input before "has a problem"; stackfox's message masks it.
    assert all("hunter2" not in line.partition("has a problem:")[2] for line in output.splitlines())
    assert sandbox.requests_log("incidentfox") == []
    assert sandbox.requests_log("stackflow") == []
