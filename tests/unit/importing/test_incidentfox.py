"""WIP: a team's own overrides split into the inputs of TeamConfig, Webhook and McpServer."""

from __future__ import annotations

import pytest

from stackfox_provider.importing.incidentfox import embeds_credential, secrets_of, team_declarations
from stackfox_provider.resources._common import validate
from stackfox_provider.resources.team_config import TeamConfigInputs

OWN = {
    "entrance_agent": "planner",
    "agents": {"planner": {"max_turns": 12, "enabled": True, "temperature_hint": 0.5}},
    "feature_flags": {"beta": True},
    "output_config": {"default_destinations": [{"type": "slack", "channel": "C1"}], "brand": "acme"},
    "team_motto": "ünïcode ✓",
    "webhooks": {"slack": "https://hooks.slack.com/services/T/B/x"},
    "mcp_servers": {"gh": {"name": "GitHub", "type": "stdio", "command": "gh", "env": {"TOKEN": "s3cret"}}},
    "stackfox": {"records": {}},
}


def test_the_team_config_gets_every_other_key_through_the_providers_own_mapping() -> None:
    declared = team_declarations(OWN)

    assert declared.team_config == {
        "entrance_agent": "planner",
        "agents": {"planner": {"max_turns": 12, "enabled": True, "extra": {"temperature_hint": 0.5}}},
        "feature_flags": {"beta": True},
        "output_config": {"default_destinations": [{"type": "slack", "channel": "C1"}], "extra": {"brand": "acme"}},
        "custom": {"team_motto": "ünïcode ✓"},
    }
    checked = validate(TeamConfigInputs, declared.team_config)
    assert checked.failures == []
    assert isinstance(checked.inputs["agents"]["planner"]["max_turns"], int)  # 12 stays 12, never 12.0


def test_webhooks_and_mcp_servers_become_their_own_resources_and_the_record_is_left_out() -> None:
    declared = team_declarations(OWN)

    assert declared.webhooks == {"slack": "https://hooks.slack.com/services/T/B/x"}
    assert declared.mcp_servers == {
        "gh": {"server_id": "gh", "name": "GitHub", "type": "stdio", "command": "gh", "env": {"TOKEN": "s3cret"}}
    }
    assert "stackfox" not in str(declared.team_config)


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


def test_secrets_are_every_mcp_env_and_header_value_and_credential_urls_with_stable_keys() -> None:
    declared = team_declarations(
        {
            **OWN,
            "webhooks": {"slack": "https://hooks.slack.com/services/T/B/x", "plain": "https://a.example.com/in"},
            "mcp_servers": {
                "gh": {"type": "stdio", "command": "gh", "env": {"GITHUB_TOKEN": "s3cret"}},
                "api": {
                    "type": "http",
                    "url": "https://mcp.example.com",
                    "headers": {"X-Api-Key": "k1", "x_api_key": "k2"},
                },
            },
        }
    )

    found = secrets_of(declared)

    assert [secret.where for secret in found] == [
        "webhooks.slack",
        "mcp_servers.api.headers.X-Api-Key",
        "mcp_servers.api.headers.x_api_key",
        "mcp_servers.gh.env.GITHUB_TOKEN",
    ]
    assert found[0].key == "webhookSlackUrl"
    assert found[3].key == "mcpGhEnvGithubToken"
    # Both headers make the key mcpApiHeadersXApiKey: a hash of where each was read tells them apart.
    assert found[1].key.startswith("mcpApiHeadersXApiKey") and found[2].key.startswith("mcpApiHeadersXApiKey")
    assert found[1].key != found[2].key
    assert secrets_of(declared) == found  # stable
    assert "s3cret" not in repr(found)
