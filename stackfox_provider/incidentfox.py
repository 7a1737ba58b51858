"""IncidentFox as code: a team's settings, webhooks and MCP servers; the organisation's teams and their tokens.

Connection: stack config ``stackfox:incidentfoxUrl`` and secret ``stackfox:incidentfoxToken`` (or
``INCIDENTFOX_URL`` / ``INCIDENTFOX_TOKEN``), or a ``connection={"url": ..., "token": ...}`` input
per resource to manage several teams from one stack. ``Team`` and ``TeamToken`` use the admin API: secret
``stackfox:incidentfoxAdminToken`` (an org-admin token) and ``stackfox:incidentfoxOrg``, or an
``admin={"url": ..., "token": ..., "org": ...}`` input.

Nested inputs have ``TypedDict`` types (``AgentArgs``, ``RoutingArgs``, ``ConnectionArgs``, ...), so editors
complete their keys and type checkers refuse a misspelt one; dict literals need no import.
"""

from stackfox_provider.resources._admin import AdminConnectionArgs
from stackfox_provider.resources._incidentfox import ConnectionArgs, OnDelete
from stackfox_provider.resources.mcp_server import McpServer, McpTransport
from stackfox_provider.resources.team import Team
from stackfox_provider.resources.team_config import (
    AgentArgs,
    AgentModelArgs,
    AgentPromptArgs,
    OutputConfigArgs,
    RoutingArgs,
    TeamConfig,
)
from stackfox_provider.resources.team_token import TeamToken
from stackfox_provider.resources.webhook import Webhook

__all__ = [
    "AdminConnectionArgs",
    "AgentArgs",
    "AgentModelArgs",
    "AgentPromptArgs",
    "ConnectionArgs",
    "McpServer",
    "McpTransport",
    "OnDelete",
    "OutputConfigArgs",
    "RoutingArgs",
    "Team",
    "TeamConfig",
    "TeamToken",
    "Webhook",
]
