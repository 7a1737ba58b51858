"""IncidentFox as code: a team's settings, webhooks and MCP servers.

Connection: stack config ``stackfox:incidentfoxUrl`` and secret ``stackfox:incidentfoxToken`` (or
``INCIDENTFOX_URL`` / ``INCIDENTFOX_TOKEN``), or a ``connection={"url": ..., "token": ...}`` input
per resource to manage several teams from one stack.
"""

from stackfox_provider.resources.mcp_server import McpServer
from stackfox_provider.resources.team_config import TeamConfig
from stackfox_provider.resources.webhook import Webhook

__all__ = ["McpServer", "TeamConfig", "Webhook"]
