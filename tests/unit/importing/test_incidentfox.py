"""A team's own overrides as TeamConfig, Webhook and McpServer inputs, and the module that declares them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.importing.codegen import Source, body, module_source
from stackfox_provider.importing.incidentfox import ConfigSecret, embeds_credential, team_declarations
from stackfox_provider.resources._common import validate
from stackfox_provider.resources.team_config import TeamConfigInputs

OURS = "organization/adopted/e2e"
OWN: dict[str, Any] = {
    "entrance_agent": "planner",
    "agents": {"planner": {"max_turns": 12, "enabled": True, "temperature_hint": 0.5, "sub_agents": {"coder": False}}},
    "feature_flags": {"beta": True},
    "output_config": {"default_destinations": [{"type": "slack", "channel": "C1"}], "brand": "acme"},
    "team_motto": 'ünïcode ✓ "quoted" it\'s',
    "integrations": {"pagerduty": {"api_key": "pd-s3cret", "retries": 3}},
    "cleared_by_hand": None,
    "team_name": "Payments",
    "webhooks": {
        "slack": "https://hooks.slack.com/services/T/B/x",
        "plain": "https://alerts.example.com/in",
        "local": "http://127.0.0.1:9/in",
        "public_http": "http://alerts.example.com/in",
        "gone": None,
    },
    "mcp_servers": {
        "gh": {"name": "GitHub", "command": "gh", "env": {"TOKEN": "s3cret", "HOME": "${HOME}"}, "enabled": False},
        "api": {"type": "http", "url": "https://mcp.example.com", "headers": {"X-Api-Key": "k1", "x_api_key": "k2"}},
        "odd": {"type": "stdio", "command": "odd", "vendor_field": 1},
    },
    "stackfox": {"managers": {}},
}


def ours(stack: str) -> bool:
    return stack == OURS


def test_the_team_config_gets_every_other_key_through_the_providers_own_mapping() -> None:
    declared = team_declarations(OWN, ours=ours)

    config = declared.team_config
    assert {key: value for key, value in config.items() if key != "custom"} == {
        "entrance_agent": "planner",
        "agents": {
            "planner": {"max_turns": 12, "enabled": True, "sub_agents": {"coder": False},
                        "extra": {"temperature_hint": 0.5}}
        },
        "feature_flags": {"beta": True},
        "output_config": {"default_destinations": [{"type": "slack", "channel": "C1"}], "extra": {"brand": "acme"}},
    }  # fmt: skip
    assert config["custom"]["team_motto"] == OWN["team_motto"]
    assert "cleared_by_hand" not in config["custom"]  # a null declares nothing
    assert "team_name" not in config["custom"]  # IncidentFox's own, immutable
    assert list(config) == ["entrance_agent", "agents", "feature_flags", "output_config", "custom"]
    assert "stackfox" not in str(config)
    plain = {**config, "custom": {"team_motto": "x"}}
    checked = validate(TeamConfigInputs, plain)
    assert checked.failures == []
    assert isinstance(checked.inputs["agents"]["planner"]["max_turns"], int)  # 12 stays 12, never 12.0


def test_secrets_are_read_from_config_with_stable_keys_and_placeholders_stay() -> None:
    declared = team_declarations(OWN, ours=ours)

    found = {secret.where: secret.key for secret in declared.secrets()}
    assert found.pop("mcp_servers.gh.env.TOKEN") == "mcpGhEnvToken"
    assert found.pop("webhooks.slack") == "webhookSlackUrl"
    assert found.pop("integrations.pagerduty.api_key") == "integrationsPagerdutyApiKey"
    assert found.pop("integrations.pagerduty.retries") == "integrationsPagerdutyRetries"
    # Both headers make the key mcpApiHeadersXApiKey: a hash of where each was read tells them apart.
    first, second = found.pop("mcp_servers.api.headers.X-Api-Key"), found.pop("mcp_servers.api.headers.x_api_key")
    assert first.startswith("mcpApiHeadersXApiKey") and second.startswith("mcpApiHeadersXApiKey") and first != second
    assert found == {}
    assert declared.mcp_servers["gh"]["env"]["HOME"] == "${HOME}"  # names a variable, holds no secret
    assert declared.webhooks["plain"]["url"] == "https://alerts.example.com/in"
    assert [s.key for s in team_declarations(OWN, ours=ours).secrets()] == [s.key for s in declared.secrets()]
    assert "s3cret" not in repr(declared.secrets())


def test_what_no_input_can_hold_is_left_out_and_said() -> None:
    declared = team_declarations(OWN, ours=ours)

    assert declared.webhooks["local"] == {"event": "local", "url": "http://127.0.0.1:9/in", "allow_loopback_http": True}
    assert "public_http" not in declared.webhooks and "gone" not in declared.webhooks
    assert declared.mcp_servers["odd"] == {"server_id": "odd", "type": "stdio", "command": "odd"}
    notes = "\n".join(declared.notes)
    assert "webhooks.public_http: not declared, Webhook refuses it" in notes
    assert "mcp_servers.odd: vendor_field left out, McpServer refuses it" in notes
    assert len(declared.notes) == 2
    assert "alerts.example.com" not in notes and "got" not in notes  # a refused value may be a credential


def test_paths_another_stack_manages_stay_that_stacks() -> None:
    from stackfox_provider.clients.incidentfox.managers import Manager, record_path
    from stackfox_provider.keypaths import nest

    records = {
        record_path(("feature_flags", "beta")): Manager("acme/other/prod", "TeamConfig 'theirs'", None).record(),
        record_path(("webhooks", "plain")): Manager(OURS, "Webhook 'mine'", None).record(),
    }
    own = {**OWN, **{"stackfox": nest(records)["stackfox"]}}

    declared = team_declarations(own, ours=ours)

    assert "feature_flags" not in declared.team_config
    assert "plain" in declared.webhooks
    assert "feature_flags.beta: managed by stack acme/other/prod (TeamConfig 'theirs'); left to it" in declared.notes


@pytest.mark.parametrize(
    ("url", "credential"),
    [
        ("https://hooks.slack.com/services/T0/B0/abc", True),
        ("https://acme.webhook.office.com/webhookb2/x", True),
        ("https://discord.com/api/webhooks/1/tok", True),
        ("https://alerts.example.com/in?token=abc", True),
        ("https://alerts.example.com/in?api_key=abc", True),
        ("https://bot:pw@alerts.example.com/in", True),
        ("https://alerts.example.com/in?team=sre", False),
        ("https://alerts.example.com/hooks/incident", False),
    ],
)
def test_which_webhook_urls_count_as_embedding_a_credential(url: str, credential: bool) -> None:
    assert embeds_credential(url) is credential


SOURCE = Source(stack="e2e", read_at="2026-11-28T01:00:00Z", incidentfox_url="http://127.0.0.1:1/api/v1", team_id="t1")


def test_the_module_declares_the_team_formatted_with_no_secret_in_it(tmp_path: Path) -> None:
    declared = team_declarations(OWN, ours=ours)

    text = module_source(SOURCE, team=declared)

    module = tmp_path / "stackfox_imported.py"
    module.write_text(text)
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--line-length", "120", str(module)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr + text
    compile(text, str(module), "exec")
    for secret in declared.secrets():
        assert not isinstance(secret.value, str) or secret.value not in text
    assert 'config.require_secret("mcpGhEnvToken")' in text
    assert 'config.require_secret_object("integrationsPagerdutyRetries")' in text  # 3 stays a number
    assert text.count("adopted=True,\n") == 1 + 3 + 3  # the settings, 3 webhooks, 3 MCP servers
    assert '"max_turns": 12,' in text and '"temperature_hint": 0.5,' in text
    assert "# - webhooks.public_http: not declared" in text
    assert "team t1: its settings, 3 webhooks, 3 MCP servers." in text
    assert body(module_source(SOURCE, team=team_declarations(OWN, ours=ours))) == body(text)


def test_a_team_with_nothing_of_its_own_declares_nothing_and_still_runs() -> None:
    text = module_source(SOURCE, team=team_declarations({}, ours=ours))

    namespace: dict[str, Any] = {}
    exec(compile(text, "stackfox_imported.py", "exec"), namespace)  # creates no resource: none is declared
    assert (namespace["team_config"], namespace["webhooks"], namespace["mcp_servers"]) == (None, {}, {})


def test_a_config_secret_never_shows_its_value() -> None:
    assert "s3cret" not in repr(ConfigSecret("k", "where", "s3cret"))
