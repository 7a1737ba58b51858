"""``McpServer``: one entry of a team's ``mcp_servers``, keyed by its id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import pulumi
import pydantic
from pulumi.dynamic import Resource

from stackfox_provider.clients.incidentfox.paths import KeyPath
from stackfox_provider.resources._incidentfox import (
    IncidentFoxInputs,
    OnDelete,
    OwnedPathsProvider,
    secret_outputs,
)

MCP_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"


class McpServerInputs(IncidentFoxInputs):
    server_id: str = pydantic.Field(pattern=MCP_ID_PATTERN)
    name: str | None = None
    type: Literal["stdio", "http", "sse"] = "stdio"
    command: str | None = None
    args: list[str] | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    env: dict[str, str] | None = None
    enabled_tools: list[str] | None = None
    enabled: bool = True

    @pydantic.model_validator(mode="after")
    def _transport_fields(self) -> McpServerInputs:
        if self.type == "stdio":
            if not self.command:
                raise ValueError("a stdio MCP server needs command (and optionally args)")
            if self.url or self.headers:
                raise ValueError("url and headers apply to http and sse MCP servers, not stdio")
        else:
            parts = urlsplit(self.url or "")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"an {self.type} MCP server needs url, an absolute http(s) URL (got {self.url!r})")
            if self.command or self.args:
                raise ValueError(f"command and args apply to stdio MCP servers, not {self.type}")
        return self


class McpServerProvider(OwnedPathsProvider):
    """Owns the fields it declares under ``mcp_servers.<server_id>``.

    It never writes null into ``mcp_servers`` (the open-source service then fails every later
    write): deleting a server it created retires it with ``enabled: false``.
    """

    inputs_model = McpServerInputs
    identity_properties = ("server_id",)
    value_properties = ("name", "type", "command", "args", "url", "headers", "env", "enabled_tools", "enabled")
    kind = "McpServer"

    def config_path(self, inputs: Mapping[str, Any], input_path: KeyPath) -> KeyPath:
        return ("mcp_servers", str(inputs["server_id"]), *input_path)

    def input_path(self, inputs: Mapping[str, Any], config_path: KeyPath) -> KeyPath:
        return config_path[2:]

    def resource_id(self, inputs: Mapping[str, Any], team_id: str) -> str:
        return f"{team_id}/mcp_servers/{inputs['server_id']}"

    def retirement(self, outputs: Mapping[str, Any], on_delete: OnDelete) -> dict[KeyPath, Any]:
        restored = super().retirement(outputs, on_delete)
        enabled = ("mcp_servers", str(outputs["server_id"]), "enabled")
        if on_delete == "clear" or all(value is None for value in restored.values()):
            # No earlier entry to put back (or asked to clear): retire it rather than null it out.
            return {enabled: False}
        return {path: value for path, value in restored.items() if value is not None}


class McpServer(Resource, module="incidentfox", name="McpServer"):
    """An MCP server IncidentFox's agents can use; ``env`` and ``headers`` are always secrets."""

    server_id: pulumi.Output[str]
    name: pulumi.Output[str]
    type: pulumi.Output[str]
    enabled: pulumi.Output[bool]
    team_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        server_id: pulumi.Input[str],
        name: pulumi.Input[str] | None = None,
        type: pulumi.Input[str] | None = None,
        command: pulumi.Input[str] | None = None,
        args: pulumi.Input[list[pulumi.Input[str]]] | None = None,
        url: pulumi.Input[str] | None = None,
        headers: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        env: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        enabled_tools: pulumi.Input[list[pulumi.Input[str]]] | None = None,
        enabled: pulumi.Input[bool] | None = None,
        connection: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        on_delete: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "server_id": server_id,
            "name": name,
            "type": type,
            "command": command,
            "args": args,
            "url": url,
            "headers": pulumi.Output.secret(headers) if headers is not None else None,
            "env": pulumi.Output.secret(env) if env is not None else None,
            "enabled_tools": enabled_tools,
            "enabled": enabled,
            "connection": pulumi.Output.secret(connection) if connection is not None else None,
            "on_delete": on_delete,
            "team_id": None,
            "owned_paths": None,
            "previous": None,
        }
        super().__init__(McpServerProvider(), resource_name, props, secret_outputs(opts, "env", "headers"))
