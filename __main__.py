"""The root stackfox project: a payments team's incident-response setup, applied by `make up`.

`make up` starts the local sandbox and points this stack at it (`stackfox use-sandbox`), so the
program runs offline. Against the real services, set the `stackfox:*` config keys instead (see README).
"""

import pulumi

from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook
from stackfox_provider.stackflow import IncidentCategory, Priority

config = pulumi.Config()

github_mcp = McpServer(
    "github-mcp",
    server_id="github",
    name="GitHub",
    type="stdio",
    command="npx",
    args=["-y", "@modelcontextprotocol/server-github"],
    env={"GITHUB_PERSONAL_ACCESS_TOKEN": config.get_secret("githubToken") or pulumi.Output.secret("ghp_sandbox")},
    enabled_tools=["search_code", "get_file_contents"],
)

team = TeamConfig(
    "payments-team",
    entrance_agent="planner",
    agents={
        "planner": {"model": {"temperature": 0.1}, "max_turns": 12},
        "investigation": {"model": {"name": "gpt-4o", "max_tokens": 8192}, "mcps": {"github": True}},
        "writeup": {"prompt": {"suffix": "Always list follow-up actions with an owner."}},
    },
    feature_flags={"auto_investigate": True, "postmortem_drafts": True},
    routing={
        "slack_channel_ids": ["C0PAYMENTS", "C0PAYMENTS-ALERTS"],
        "pagerduty_service_ids": ["PPAY001"],
        "services": ["payments-api", "ledger"],
    },
    # The investigation agent uses the GitHub MCP server, so the server has to exist first.
    opts=pulumi.ResourceOptions(depends_on=[github_mcp]),
)

Webhook(
    "investigation-complete",
    event="investigation_complete",
    url=config.get_secret("investigationWebhookUrl") or pulumi.Output.secret("https://hooks.example.com/ifx/payments"),
)
Webhook("postmortem-ready", event="postmortem_ready", url="https://hooks.example.com/ifx/postmortems")

# name: (label, default priority, default assignment group, subcategories)
STANDING_CATEGORIES: dict[str, tuple[str, Priority, str, dict[str, str]]] = {
    "network": ("Network", "P2", "network-ops", {"dns": "DNS", "load-balancer": "Load balancer", "vpn": "VPN"}),
    "database": ("Database", "P1", "dba", {"replication": "Replication", "latency": "Latency", "storage": "Storage"}),
    "server": ("Server", "P3", "platform", {"cpu": "CPU", "memory": "Memory", "disk": "Disk"}),
    "security": ("Security", "P1", "secops", {"access": "Unauthorized access", "malware": "Malware", "leak": "Leak"}),
}
categories = {
    name: IncidentCategory(
        f"category-{name}",
        name=name,
        label=label,
        description=f"{label} incidents for the payments platform",
        subcategories=[{"name": sub, "label": sub_label} for sub, sub_label in subcategories.items()],
        default_priority=priority,
        default_assignment_group=group,
    )
    for name, (label, priority, group, subcategories) in STANDING_CATEGORIES.items()
}

pulumi.export("incidentfox_team", team.team_id)
pulumi.export("stackflow_categories", {name: category.id for name, category in categories.items()})
