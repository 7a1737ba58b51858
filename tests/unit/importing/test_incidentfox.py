"""WIP: a team's own overrides split into the inputs of TeamConfig, Webhook and McpServer."""

from __future__ import annotations

from stackfox_provider.importing.incidentfox import team_declarations
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
