"""WIP (issue 14, IncidentFox half): a team's own overrides as the inputs of the resources that declare them.

Not wired into ``stackfox import`` yet: adopting them with no write needs ``create()`` to skip the write of the
team's ownership record when nothing else changes (see the issue's closing notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackfox_provider.keypaths import leaves, nest

#: Top-level keys that other resources own (one resource per entry), and the reserved record key.
WEBHOOKS, MCP_SERVERS, RESERVED = "webhooks", "mcp_servers", "stackfox"


@dataclass
class TeamDeclarations:
    """What a team's own overrides become: the TeamConfig inputs, one Webhook per event, one McpServer per id."""

    team_config: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, str] = field(default_factory=dict)  # event -> url
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)  # server id -> McpServer inputs


def team_declarations(own: Mapping[str, Any]) -> TeamDeclarations:
    """Split the team's own overrides (never the inherited values) into resource inputs, with the providers'
    own mapping of config paths to input paths (``custom``, ``agents.<id>.extra``, ``output_config.extra``)."""
    from stackfox_provider.resources.team_config import TeamConfigInputs, TeamConfigProvider

    declared = TeamDeclarations()
    rest = {key: value for key, value in own.items() if key not in (WEBHOOKS, MCP_SERVERS, RESERVED)}
    provider = TeamConfigProvider()
    model = TeamConfigInputs.model_construct()
    declared.team_config = nest({provider.input_path(model, path): value for path, value in leaves(rest).items()})
    for event, url in (own.get(WEBHOOKS) or {}).items():
        if isinstance(url, str):
            declared.webhooks[event] = url
    for server_id, server in (own.get(MCP_SERVERS) or {}).items():
        if isinstance(server, Mapping):
            declared.mcp_servers[server_id] = {"server_id": server_id, **server}
    return declared
