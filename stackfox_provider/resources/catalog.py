"""Every stackfox resource type, and what the review code (drift, plan) needs to know of it.

Each resource defines these facts once, on its provider class (``service``, ``computed_outputs``)
and its resource class (the type token); ``stackfox_provider.review`` reads them from here, so a
new computed output never shows up as drift and a new resource is attributed to its service.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackfox_provider.resources._common import StackfoxResource
from stackfox_provider.resources.incident_category import IncidentCategory
from stackfox_provider.resources.mcp_server import McpServer
from stackfox_provider.resources.team import Team
from stackfox_provider.resources.team_config import TeamConfig
from stackfox_provider.resources.team_token import TeamToken
from stackfox_provider.resources.webhook import Webhook

#: The resource classes stackfox ships.
RESOURCES: tuple[type[StackfoxResource], ...] = (TeamConfig, Webhook, McpServer, Team, TeamToken, IncidentCategory)
#: Properties the engine keeps on every dynamic resource, beside its outputs.
ENGINE_PROPERTIES = frozenset({"__provider", "id"})


@dataclass(frozen=True)
class ResourceType:
    """One resource type as reviews see it."""

    token: str
    service: str
    computed_outputs: frozenset[str]

    @classmethod
    def of(cls, resource: type[StackfoxResource]) -> ResourceType:
        provider = resource.provider_class
        return cls(resource.type_token(), provider.service, frozenset(provider.computed_outputs))


def resource_type(token: str) -> ResourceType | None:
    """The stackfox resource type with this type token (``pulumi-python:dynamic/incidentfox:Webhook``)."""
    return next((found for found in map(ResourceType.of, RESOURCES) if found.token == token), None)


def ignored_properties(token: str) -> frozenset[str]:
    """Properties of a resource of this type that are no setting of a service: never compared in a review."""
    found = resource_type(token)
    return ENGINE_PROPERTIES | (found.computed_outputs if found else frozenset())
