"""``TeamConfig``: partial overrides of one IncidentFox team's configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, TypedDict

import pulumi
import pydantic

from stackfox_provider.clients.incidentfox.managers import RESERVED_KEY
from stackfox_provider.keypaths import KeyPath
from stackfox_provider.resources._common import (
    Bool,
    Int,
    Invalid,
    Key,
    Number,
    StackfoxResource,
    Str,
    StrictModel,
    nonblank,
)
from stackfox_provider.resources._incidentfox import ConnectionArgs, IncidentFoxInputs, OnDelete, OwnedPathsProvider

#: Keys with a resource of their own, and which one to use instead.
OWN_RESOURCE_KEYS = {
    "webhooks": "stackfox_provider.incidentfox.Webhook (one per event)",
    "mcp_servers": "stackfox_provider.incidentfox.McpServer (one per server id)",
}


#: Ids of agents, tools, flags and MCP servers: letters, digits, '_' and '-' (they become config path segments).
ID_PATTERN = r"^[A-Za-z0-9_\-]{1,128}$"
Id = Annotated[str, pydantic.StringConstraints(strict=True, pattern=ID_PATTERN)]
#: A routing identifier (a Slack channel id, a repository, a service name).
RoutingId = Annotated[str, nonblank(256)]


class ModelSettings(StrictModel):
    """The model an agent uses."""

    name: Annotated[str, nonblank(200)] | None = pydantic.Field(default=None, description="the model's name")
    temperature: Number | None = pydantic.Field(default=None, ge=0, le=2, description="sampling temperature, 0 to 2")
    max_tokens: Int | None = pydantic.Field(
        default=None, gt=0, description="the most tokens a reply may take (a whole number above 0)"
    )


class AgentModelArgs(TypedDict, total=False):
    """An agent's ``model``, as a program writes it (``ModelSettings`` validates it)."""

    name: pulumi.Input[str | None]
    """the model's name"""
    temperature: pulumi.Input[float | None]
    """sampling temperature, 0 to 2"""
    max_tokens: pulumi.Input[int | None]
    """the most tokens a reply may take (a whole number above 0)"""


class PromptSettings(StrictModel):
    """An agent's prompt, in parts."""

    system: Str | None = pydantic.Field(default=None, description="the system prompt")
    prefix: Str | None = pydantic.Field(default=None, description="text put before each prompt")
    suffix: Str | None = pydantic.Field(default=None, description="text put after each prompt")


class AgentPromptArgs(TypedDict, total=False):
    """An agent's ``prompt`` in parts, as a program writes it (``PromptSettings`` validates it)."""

    system: pulumi.Input[str | None]
    """the system prompt"""
    prefix: pulumi.Input[str | None]
    """text put before each prompt"""
    suffix: pulumi.Input[str | None]
    """text put after each prompt"""


def _extension_keys(extra: dict[str, Any] | None, known: Iterable[str]) -> dict[str, Any] | None:
    """``extra`` holds keys the typed properties do not: never one of theirs, nor ``extra`` itself."""
    for key in extra or {}:
        if key in known:
            raise Invalid("names a typed property", f"set it as {key}=..., not in extra", path=(key,), value=key)
    return extra


class AgentSettings(StrictModel):
    """One agent's settings. Keys IncidentFox added later go in ``extra`` (merged into the agent's config)."""

    enabled: Bool | None = pydantic.Field(default=None, description="whether the agent runs")
    name: Annotated[str, nonblank(200)] | None = pydantic.Field(default=None, description="a display name")
    description: Str | None = pydantic.Field(default=None, description="what the agent does")
    model: ModelSettings | None = pydantic.Field(default=None, description="the model it uses")
    prompt: Str | PromptSettings | None = pydantic.Field(default=None, description="its prompt: text, or its parts")
    max_turns: Int | None = pydantic.Field(
        default=None, gt=0, description="the most turns it takes (a whole number above 0)"
    )
    tools: dict[Id, Bool] | None = pydantic.Field(default=None, description="tool id to enabled")
    sub_agents: dict[Id, Bool] | None = pydantic.Field(default=None, description="sub-agent id to enabled")
    mcps: dict[Id, Bool] | None = pydantic.Field(default=None, description="MCP server id to enabled")
    extra: dict[Key, Any] | None = pydantic.Field(
        default=None, description="keys the typed ones do not cover, merged into the agent's config"
    )

    @pydantic.field_validator("extra")
    @classmethod
    def _extra(cls, extra: dict[str, Any] | None) -> dict[str, Any] | None:
        return _extension_keys(extra, cls.model_fields)


class AgentArgs(TypedDict, total=False):
    """One agent's settings, as a program writes them (``AgentSettings`` validates them)."""

    enabled: pulumi.Input[bool | None]
    """whether the agent runs"""
    name: pulumi.Input[str | None]
    """a display name"""
    description: pulumi.Input[str | None]
    """what the agent does"""
    # A nested object is its TypedDict alone (not in pulumi.Input[...] or a union), so mypy checks a dict literal
    # key by key and names a misspelt key; in a union it only says the whole value does not fit.
    model: AgentModelArgs
    """the model it uses"""
    prompt: pulumi.Input[str | None] | AgentPromptArgs
    """its prompt: text, or its parts"""
    max_turns: pulumi.Input[int | None]
    """the most turns it takes (a whole number above 0)"""
    tools: pulumi.Input[Mapping[str, pulumi.Input[bool]] | None]
    """tool id to enabled"""
    sub_agents: pulumi.Input[Mapping[str, pulumi.Input[bool]] | None]
    """sub-agent id to enabled"""
    mcps: pulumi.Input[Mapping[str, pulumi.Input[bool]] | None]
    """MCP server id to enabled"""
    extra: pulumi.Input[Mapping[str, Any] | None]
    """keys the typed ones do not cover, merged into the agent's config"""


class Routing(StrictModel):
    """Identifiers that route inbound events to this team. Each list replaces the team's list whole."""

    slack_channel_ids: list[RoutingId] | None = pydantic.Field(default=None, description="Slack channel ids")
    incidentio_team_ids: list[RoutingId] | None = pydantic.Field(default=None, description="incident.io team ids")
    incidentio_alert_source_ids: list[RoutingId] | None = pydantic.Field(
        default=None, description="incident.io alert source ids"
    )
    pagerduty_service_ids: list[RoutingId] | None = pydantic.Field(default=None, description="PagerDuty service ids")
    coralogix_team_names: list[RoutingId] | None = pydantic.Field(default=None, description="Coralogix team names")
    github_repos: list[RoutingId] | None = pydantic.Field(default=None, description="GitHub repositories (owner/name)")
    services: list[RoutingId] | None = pydantic.Field(default=None, description="service names")

    @pydantic.field_validator("*")
    @classmethod
    def _no_duplicates(cls, ids: list[str] | None) -> list[str] | None:
        duplicates = sorted({item for item in ids or [] if (ids or []).count(item) > 1})
        if duplicates:
            raise Invalid("repeats an identifier", f"list each identifier once; repeated: {', '.join(duplicates)}")
        return ids


class RoutingArgs(TypedDict, total=False):
    """``routing=``, as a program writes it (``Routing`` validates it); each list replaces the team's whole."""

    slack_channel_ids: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """Slack channel ids"""
    incidentio_team_ids: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """incident.io team ids"""
    incidentio_alert_source_ids: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """incident.io alert source ids"""
    pagerduty_service_ids: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """PagerDuty service ids"""
    coralogix_team_names: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """Coralogix team names"""
    github_repos: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """GitHub repositories (owner/name)"""
    services: pulumi.Input[Sequence[pulumi.Input[str]] | None]
    """service names"""


class OutputConfig(StrictModel):
    """Where and how results go. Keys IncidentFox added later go in ``extra`` (merged into output_config)."""

    default_destinations: list[dict[Key, Any]] | None = pydantic.Field(
        default=None, description='where results go by default, e.g. [{"type": "slack", ...}]'
    )
    trigger_overrides: dict[Key, Annotated[str, nonblank(64)]] | None = pydantic.Field(
        default=None, description="per trigger source, the output mode"
    )
    formatting: dict[Key, Any] | None = pydantic.Field(default=None, description="formatting settings, free-form")
    extra: dict[Key, Any] | None = pydantic.Field(
        default=None, description="keys the typed ones do not cover, merged into output_config"
    )

    @pydantic.field_validator("extra")
    @classmethod
    def _extra(cls, extra: dict[str, Any] | None) -> dict[str, Any] | None:
        return _extension_keys(extra, cls.model_fields)


class OutputConfigArgs(TypedDict, total=False):
    """``output_config=``, as a program writes it (``OutputConfig`` validates it)."""

    default_destinations: pulumi.Input[Sequence[Mapping[str, Any]] | None]
    """where results go by default, e.g. [{"type": "slack", ...}]"""
    trigger_overrides: pulumi.Input[Mapping[str, pulumi.Input[str]] | None]
    """per trigger source, the output mode"""
    formatting: pulumi.Input[Mapping[str, Any] | None]
    """formatting settings, free-form"""
    extra: pulumi.Input[Mapping[str, Any] | None]
    """keys the typed ones do not cover, merged into output_config"""


class TeamConfigInputs(IncidentFoxInputs):
    entrance_agent: Id | None = pydantic.Field(
        default=None, description="the agent that receives incidents first (IncidentFox's default: planner)"
    )
    agents: dict[Id, AgentSettings] | None = pydantic.Field(
        default=None, description="per agent id: its settings (only the keys given are managed)"
    )
    feature_flags: dict[Id, Bool] | None = pydantic.Field(default=None, description="flag name to on/off")
    routing: Routing | None = pydantic.Field(
        default=None, description="identifiers that route inbound events to this team (each list replaced whole)"
    )
    output_config: OutputConfig | None = pydantic.Field(default=None, description="where and how results go")
    tools: dict[Id, Bool] | None = pydantic.Field(default=None, description="tool id to enabled")
    knowledge_source: dict[Key, Any] | None = pydantic.Field(
        default=None, description="knowledge source settings, free-form"
    )
    alerts: dict[Key, Any] | None = pydantic.Field(
        default=None, description='alert settings, free-form (e.g. {"disabled": [...]})'
    )
    custom: dict[Key, Any] | None = pydantic.Field(
        default=None,
        description="any other top-level key of the team's config, free-form (not webhooks, mcp_servers or stackfox)",
    )

    @pydantic.field_validator("custom")
    @classmethod
    def _custom_keys(cls, custom: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in custom or {}:
            if key == RESERVED_KEY:
                raise Invalid("is reserved: stackfox records there which stack manages which paths of the team",
                              "choose another key", path=(key,))  # fmt: skip
            if key in OWN_RESOURCE_KEYS:
                raise Invalid("cannot be set through TeamConfig", f"use {OWN_RESOURCE_KEYS[key]}", path=(key,))
            if key in TYPED_SECTIONS:
                raise Invalid("has a typed TeamConfig property", f"pass it as {key}=... instead of in custom",
                              path=(key,))  # fmt: skip
        return custom

    @pydantic.model_validator(mode="before")
    @classmethod
    def _no_own_resource_keys(cls, data: Any) -> Any:
        for key in OWN_RESOURCE_KEYS.keys() & set(data if isinstance(data, dict) else ()):
            raise Invalid("cannot be set through TeamConfig", f"use {OWN_RESOURCE_KEYS[key]}", path=(key,))
        return data

    @pydantic.model_validator(mode="after")
    def _free_form_keys(self) -> TeamConfigInputs:
        """Keys inside free-form values become config path segments too: no '.' (ambiguous), none empty."""
        for name in ("knowledge_source", "alerts", "custom"):
            _dotless(getattr(self, name), (name,))
        for agent, settings in (self.agents or {}).items():
            _dotless(settings.extra, ("agents", agent, "extra"))
        if self.output_config is not None:
            _dotless(self.output_config.extra, ("output_config", "extra"))
            _dotless(self.output_config.formatting, ("output_config", "formatting"))
        return self


def _dotless(value: Any, path: tuple[str, ...]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and "." in key:
                raise Invalid(
                    "has a key with a '.'", "a '.' would make the config path ambiguous; use '_' or '-'",
                    path=path, value=key,
                )  # fmt: skip
            _dotless(item, (*path, str(key)))


TYPED_SECTIONS = tuple(
    name for name in TeamConfigInputs.model_fields if name not in (*IncidentFoxInputs.model_fields, "custom")
)
VALUE_PROPERTIES = (*TYPED_SECTIONS, "custom")
AGENT_FIELDS = frozenset(AgentSettings.model_fields) - {"extra"}
OUTPUT_FIELDS = frozenset(OutputConfig.model_fields) - {"extra"}


class TeamConfigProvider(OwnedPathsProvider[TeamConfigInputs]):
    """Owns exactly the key paths a ``TeamConfig`` declares, down to each leaf."""

    inputs_model = TeamConfigInputs
    value_properties = VALUE_PROPERTIES
    kind = "TeamConfig"

    def config_path(self, inputs: TeamConfigInputs, input_path: KeyPath) -> KeyPath:
        """``custom.<key>`` is the top-level key; ``agents.<id>.extra.<key>`` and ``output_config.extra.<key>``
        are keys of the agent and of output_config."""
        if input_path[0] == "custom":
            return input_path[1:]
        if input_path[0] == "agents" and len(input_path) > 3 and input_path[2] == "extra":
            return (*input_path[:2], *input_path[3:])
        if input_path[0] == "output_config" and len(input_path) > 2 and input_path[1] == "extra":
            return (input_path[0], *input_path[2:])
        return input_path

    def input_path(self, inputs: TeamConfigInputs, config_path: KeyPath) -> KeyPath:
        if config_path[0] not in TYPED_SECTIONS:
            return ("custom", *config_path)
        if config_path[0] == "agents" and len(config_path) > 2 and config_path[2] not in AGENT_FIELDS:
            return (*config_path[:2], "extra", *config_path[2:])
        if config_path[0] == "output_config" and len(config_path) > 1 and config_path[1] not in OUTPUT_FIELDS:
            return (config_path[0], "extra", *config_path[1:])
        return config_path

    def resource_id(self, inputs: TeamConfigInputs, team_id: str) -> str:
        return f"{team_id}/config"

    def describe(self, inputs: TeamConfigInputs) -> str:
        return "settings"


class TeamConfig(StackfoxResource, module="incidentfox", name="TeamConfig"):
    """Settings of one IncidentFox team, as partial overrides of its inherited configuration.

    Only the paths declared here are managed: other keys, set in the UI or by other stacks, are
    never read back, compared or written. ``webhooks`` and ``mcp_servers`` have resources of their
    own (``Webhook``, ``McpServer``). ``custom`` takes any other top-level key, free-form.
    """

    provider_class = TeamConfigProvider

    team_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        entrance_agent: pulumi.Input[str] | None = None,
        agents: pulumi.Input[Mapping[str, AgentArgs]] | None = None,
        feature_flags: pulumi.Input[Mapping[str, pulumi.Input[bool]]] | None = None,
        routing: pulumi.Input[RoutingArgs] | None = None,
        output_config: pulumi.Input[OutputConfigArgs] | None = None,
        tools: pulumi.Input[Mapping[str, pulumi.Input[bool]]] | None = None,
        knowledge_source: pulumi.Input[Mapping[str, Any]] | None = None,
        alerts: pulumi.Input[Mapping[str, Any]] | None = None,
        custom: pulumi.Input[Mapping[str, Any]] | None = None,
        connection: pulumi.Input[ConnectionArgs] | None = None,
        on_delete: pulumi.Input[OnDelete] | None = None,
        take_over_from: pulumi.Input[str] | None = None,
        adopted: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare settings of one IncidentFox team; only the keys given are managed.

        :param resource_name: the resource's name, unique in the stack among resources of its type
        :param entrance_agent: the agent that receives incidents first (IncidentFox's default: planner)
        :param agents: per agent id: its settings (only the keys given are managed)
        :param feature_flags: flag name to on/off
        :param routing: identifiers that route inbound events to this team (each list replaced whole)
        :param output_config: where and how results go
        :param tools: tool id to enabled
        :param knowledge_source: knowledge source settings, free-form
        :param alerts: alert settings, free-form (e.g. {"disabled": [...]})
        :param custom: any other top-level key of the team's config, free-form (not webhooks, mcp_servers or stackfox)
        :param connection: the IncidentFox team to manage when not the stack's (stackfox:incidentfoxUrl,
            stackfox:incidentfoxToken): {url, token}; the token is kept encrypted in state
        :param on_delete: what deleting the resource does: restore (give back the team's earlier effective config),
            clear (null the paths) or retain (leave them)
        :param take_over_from: the stack (org/project/stack) that manages these paths now, from which this resource may
            take them; without it stackfox refuses paths another stack manages
        :param adopted: set by `stackfox import`: a create that finds every declared value in place writes nothing,
            not even the stack's ownership record, which its first change writes (until then another stack is not
            refused these paths)
        :param opts: Pulumi's options of the resource (depends_on, aliases, protect, ...)
        """
        # Every keyword argument is a field of the inputs model (tests/unit/resources/test_reference.py).
        self._register(resource_name, locals(), opts)
