"""A program using every resource with nested dict literals, which mypy --strict accepts.

Never run, only type-checked (tests/unit/resources/test_typed_inputs.py): the inputs' TypedDicts take what
programs really write, Outputs and secrets included, at every depth.
"""

import pulumi

from stackfox_provider.incidentfox import (
    AdminConnectionArgs,
    AgentArgs,
    ConnectionArgs,
    McpServer,
    Team,
    TeamConfig,
    TeamToken,
    Webhook,
)
from stackfox_provider.stackflow import IncidentCategory, StackFlowConnectionArgs

config = pulumi.Config()
team: ConnectionArgs = {"url": "https://api.incidentfox.ai/api/v1", "token": config.require_secret("teamToken")}
writeup: AgentArgs = {"prompt": {"suffix": "Always list follow-up actions with an owner."}}

github = McpServer(
    "github",
    server_id="github",
    name="GitHub",
    type="stdio",
    command="npx",
    args=["-y", "@modelcontextprotocol/server-github"],
    env={"GITHUB_PERSONAL_ACCESS_TOKEN": config.require_secret("githubToken")},
    enabled_tools=["search_code"],
    enabled=True,
    connection=team,
    on_delete="restore",
)
McpServer("search", server_id="search", type="http", url="https://mcp.example.com/mcp", headers={"X-Key": "k"})

TeamConfig(
    "payments",
    entrance_agent="planner",
    agents={
        "planner": {
            "enabled": True,
            "name": "Planner",
            "description": "plans the investigation",
            "model": {"name": "gpt-4o", "temperature": 0.1, "max_tokens": config.get_int("maxTokens")},
            "prompt": {"system": "You plan.", "prefix": "Plan:", "suffix": github.server_id},
            "max_turns": 12,
            "tools": {"grep": True},
            "sub_agents": {"investigation": True},
            "mcps": {"github": True},
            "extra": {"reasoning": {"effort": "high"}},
        },
        "investigation": {"prompt": "Find the cause.", "model": {"temperature": 0}},
        "writeup": writeup,
    },
    feature_flags={"auto_investigate": True},
    routing={
        "slack_channel_ids": ["C0PAYMENTS", config.require("alertsChannel")],
        "incidentio_team_ids": ["T1"],
        "incidentio_alert_source_ids": ["S1"],
        "pagerduty_service_ids": ["PPAY001"],
        "coralogix_team_names": ["payments"],
        "github_repos": ["acme/payments"],
        "services": pulumi.Output.from_input(["payments-api"]),
    },
    output_config={
        "default_destinations": [{"type": "slack", "channel_id": "C0PAYMENTS"}],
        "trigger_overrides": {"pagerduty": "thread"},
        "formatting": {"style": "brief"},
        "extra": {"sign_off": True},
    },
    tools={"grep": True},
    knowledge_source={"confluence": {"space": "PAY"}},
    alerts={"disabled": ["noisy"]},
    custom={"timezone": "Europe/Berlin"},
    connection=team,
    on_delete="clear",
    take_over_from="acme/ops/prod",
    opts=pulumi.ResourceOptions(depends_on=[github]),
)

Webhook(
    "done",
    event="investigation_complete",
    url=config.require_secret("webhookUrl"),
    allow_loopback_http=False,
    connection=team,
    on_delete="retain",
)

stackflow: StackFlowConnectionArgs = {
    "url": "https://flow.example.com/prod/api",
    "user_pool_id": pulumi.Output.from_input("eu-west-1_Pool12345"),
    "client_id": "client1234567890",
    "region": "eu-west-1",
    "token_url": "https://acme.auth.eu-west-1.amazoncognito.com/oauth2/token",
    "scope": "incidents/write",
    "cognito_endpoint": None,
}
IncidentCategory(
    "network",
    name="network",
    label="Network",
    description="Network incidents",
    subcategories=[{"name": "dns", "label": "DNS"}, {"name": "vpn", "label": config.require("vpnLabel")}],
    default_priority="P2",
    default_assignment_group="network-ops",
    active=True,
    deletion_policy="delete",
    force_delete=False,
    adopt=True,
    connection=stackflow,
)
IncidentCategory(
    "database",
    name="database",
    label="Database",
    subcategories=[{"name": sub, "label": sub.upper()} for sub in ("replication", "latency")],
)

# The organisation as code: a team, its token, and a resource on that token.
org: AdminConnectionArgs = {
    "url": "https://api.incidentfox.ai/api/v1",
    "token": config.require_secret("adminToken"),
    "org": "acme",
}
payments = Team("payments", node_id="payments", name="Payments", parent_id="platform", admin=org)
payments_token = TeamToken("payments-token", team_id=payments.team_id, label="ci", triggers=["2026-11"], admin=org)
Webhook(
    "payments-done",
    event="investigation_complete",
    url="https://hooks.example.com/payments",
    connection={"url": "https://api.incidentfox.ai/api/v1", "token": payments_token.token},
    adopted=True,
)
