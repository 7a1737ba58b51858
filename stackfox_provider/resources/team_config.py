"""``TeamConfig``: partial overrides of one IncidentFox team's configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pydantic
from pulumi.dynamic import Resource

from stackfox_provider.clients.incidentfox.paths import KeyPath
from stackfox_provider.resources._common import StrictModel
from stackfox_provider.resources._incidentfox import IncidentFoxInputs, OwnedPathsProvider, secret_outputs

#: Keys with a resource of their own, and which one to use instead.
OWN_RESOURCE_KEYS = {
    "webhooks": "stackfox_provider.incidentfox.Webhook (one per event)",
    "mcp_servers": "stackfox_provider.incidentfox.McpServer (one per server id)",
}


class ModelSettings(StrictModel):
    name: str | None = None
    temperature: float | None = pydantic.Field(default=None, ge=0, le=2)
    max_tokens: int | None = pydantic.Field(default=None, gt=0)


class PromptSettings(StrictModel):
    system: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class AgentSettings(pydantic.BaseModel):
    """One agent's settings; keys beyond the well-known ones pass through unchecked."""

    model_config = pydantic.ConfigDict(extra="allow")

    enabled: bool | None = None
    name: str | None = None
    description: str | None = None
    model: ModelSettings | None = None
    prompt: str | PromptSettings | None = None
    max_turns: int | None = pydantic.Field(default=None, gt=0)
    tools: dict[str, bool] | None = None
    sub_agents: dict[str, bool] | None = None
    mcps: dict[str, bool] | None = None


class Routing(StrictModel):
    """Identifiers that route inbound events to this team. Each list replaces the team's list whole."""

    slack_channel_ids: list[str] | None = None
    incidentio_team_ids: list[str] | None = None
    incidentio_alert_source_ids: list[str] | None = None
    pagerduty_service_ids: list[str] | None = None
    coralogix_team_names: list[str] | None = None
    github_repos: list[str] | None = None
    services: list[str] | None = None

    @pydantic.field_validator("*")
    @classmethod
    def _no_duplicates(cls, ids: list[str] | None) -> list[str] | None:
        duplicates = sorted({item for item in ids or [] if (ids or []).count(item) > 1})
        if duplicates:
            raise ValueError(f"lists each identifier once; repeated: {', '.join(duplicates)}")
        return ids


class OutputConfig(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    default_destinations: list[dict[str, Any]] | None = None
    trigger_overrides: dict[str, str] | None = None
    formatting: dict[str, Any] | None = None


class TeamConfigInputs(IncidentFoxInputs):
    entrance_agent: str | None = pydantic.Field(default=None, min_length=1)
    agents: dict[str, AgentSettings] | None = None
    feature_flags: dict[str, bool] | None = None
    routing: Routing | None = None
    output_config: OutputConfig | None = None
    tools: dict[str, bool] | None = None
    knowledge_source: dict[str, Any] | None = None
    alerts: dict[str, Any] | None = None
    custom: dict[str, Any] | None = None

    @pydantic.field_validator("custom")
    @classmethod
    def _custom_keys(cls, custom: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in custom or {}:
            if key in OWN_RESOURCE_KEYS:
                raise ValueError(f"{key!r} cannot be set through TeamConfig; use {OWN_RESOURCE_KEYS[key]}")
            if key in TYPED_SECTIONS:
                raise ValueError(f"{key!r} has a typed TeamConfig property; pass it as {key}=... instead of in custom")
        return custom

    @pydantic.model_validator(mode="before")
    @classmethod
    def _no_own_resource_keys(cls, data: Any) -> Any:
        for key in OWN_RESOURCE_KEYS.keys() & set(data if isinstance(data, dict) else ()):
            raise ValueError(f"{key!r} cannot be set through TeamConfig; use {OWN_RESOURCE_KEYS[key]}")
        return data


TYPED_SECTIONS = tuple(
    name for name in TeamConfigInputs.model_fields if name not in (*IncidentFoxInputs.model_fields, "custom")
)
VALUE_PROPERTIES = (*TYPED_SECTIONS, "custom")


class TeamConfigProvider(OwnedPathsProvider):
    """Owns exactly the key paths a ``TeamConfig`` declares, down to each leaf."""

    inputs_model = TeamConfigInputs
    value_properties = VALUE_PROPERTIES
    kind = "TeamConfig"

    def config_path(self, inputs: Mapping[str, Any], input_path: KeyPath) -> KeyPath:
        return input_path[1:] if input_path[0] == "custom" else input_path

    def input_path(self, inputs: Mapping[str, Any], config_path: KeyPath) -> KeyPath:
        return config_path if config_path[0] in TYPED_SECTIONS else ("custom", *config_path)

    def resource_id(self, inputs: Mapping[str, Any], team_id: str) -> str:
        return f"{team_id}/config"

    def describe(self, inputs: Mapping[str, Any]) -> str:
        return "settings"


class TeamConfig(Resource, module="incidentfox", name="TeamConfig"):
    """Settings of one IncidentFox team, as partial overrides of its inherited configuration.

    Only the paths declared here are managed: other keys, set in the UI or by other stacks, are
    never read back, compared or written. ``webhooks`` and ``mcp_servers`` have resources of their
    own (``Webhook``, ``McpServer``). ``custom`` takes any other top-level key, free-form.
    """

    team_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        entrance_agent: pulumi.Input[str] | None = None,
        agents: pulumi.Input[Mapping[str, Any]] | None = None,
        feature_flags: pulumi.Input[Mapping[str, pulumi.Input[bool]]] | None = None,
        routing: pulumi.Input[Mapping[str, Any]] | None = None,
        output_config: pulumi.Input[Mapping[str, Any]] | None = None,
        tools: pulumi.Input[Mapping[str, pulumi.Input[bool]]] | None = None,
        knowledge_source: pulumi.Input[Mapping[str, Any]] | None = None,
        alerts: pulumi.Input[Mapping[str, Any]] | None = None,
        custom: pulumi.Input[Mapping[str, Any]] | None = None,
        connection: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        on_delete: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "entrance_agent": entrance_agent,
            "agents": agents,
            "feature_flags": feature_flags,
            "routing": routing,
            "output_config": output_config,
            "tools": tools,
            "knowledge_source": knowledge_source,
            "alerts": alerts,
            "custom": custom,
            "connection": pulumi.Output.secret(connection) if connection is not None else None,
            "on_delete": on_delete,
            "team_id": None,
            "owned_paths": None,
            "previous": None,
        }
        super().__init__(TeamConfigProvider(resource_name), resource_name, props, secret_outputs(opts))
