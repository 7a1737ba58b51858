"""The payments team's incident response as code, reviewed on every pull request and checked nightly for drift.

The two workflows beside this file run on this very project: `stackfox-plan.yml` posts what a pull request
would change, `stackfox-drift.yml` opens an issue when someone changed IncidentFox or StackFlow by hand.

Stack config (besides the `stackfox:*` connection settings, see the README):

* `webhookUrl` (secret): where IncidentFox posts finished investigations; its path carries a token.
* `githubToken` (secret): the personal access token of the GitHub MCP server the investigation agent uses.
"""

import pulumi

from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook
from stackfox_provider.stackflow import IncidentCategory

config = pulumi.Config()

github = McpServer(
    "github-mcp",
    server_id="github",
    name="GitHub",
    type="stdio",
    command="npx",
    args=["-y", "@modelcontextprotocol/server-github"],
    env={"GITHUB_PERSONAL_ACCESS_TOKEN": config.require_secret("githubToken")},
    enabled_tools=["search_code", "get_file_contents"],
)

team = TeamConfig(
    "payments",
    entrance_agent="planner",
    agents={
        "planner": {"model": {"temperature": 0.1}, "max_turns": 12},
        "investigation": {"mcps": {"github": True}},
    },
    feature_flags={"auto_investigate": True},
    routing={"slack_channel_ids": ["C0PAYMENTS"], "services": ["payments-api", "ledger"]},
    # The investigation agent uses the GitHub MCP server, so the server has to exist first.
    opts=pulumi.ResourceOptions(depends_on=[github]),
)

Webhook("investigation-complete", event="investigation_complete", url=config.require_secret("webhookUrl"))

network = IncidentCategory(
    "category-network",
    name="network",
    label="Network",
    description="Network incidents of the payments platform",
    default_priority="P2",
    default_assignment_group="network-ops",
    subcategories=[{"name": "dns", "label": "DNS"}, {"name": "load-balancer", "label": "Load balancer"}],
)
database = IncidentCategory(
    "category-database",
    name="database",
    label="Database",
    description="Database incidents of the payments platform",
    default_priority="P1",
    default_assignment_group="dba",
    subcategories=[{"name": "replication", "label": "Replication"}, {"name": "latency", "label": "Latency"}],
)

pulumi.export("incidentfox_team", team.team_id)
pulumi.export("stackflow_categories", {"network": network.id, "database": database.id})
