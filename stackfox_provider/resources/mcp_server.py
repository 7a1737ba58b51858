"""``McpServer``: one entry of a team's ``mcp_servers``, keyed by its id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import pulumi
import pydantic
from pulumi.dynamic import Resource

from stackfox_provider.clients.incidentfox.paths import KeyPath, dotted
from stackfox_provider.clients.incidentfox.reset import nullable_parent
from stackfox_provider.resources._incidentfox import (
    History,
    IncidentFoxInputs,
    OnDelete,
    OwnedPathsProvider,
    Retirement,
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

    It never writes null at ``mcp_servers`` or at a server's entry (the open-source service then
    fails every later write). Deleting gives back an entry that existed before exactly, its
    ``enabled`` included; a server the stack created stays as a disabled entry whose fields are
    null and whose ``env``/``headers`` keys are gone, so no secret stackfox wrote is left behind.
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

    def entry(self, inputs: Mapping[str, Any]) -> KeyPath | None:
        return ("mcp_servers", str(inputs["server_id"]))

    def retirement(self, paths: list[KeyPath], history: History, on_delete: OnDelete) -> Retirement:
        retirement = super().retirement(paths, history, on_delete)
        if not paths:
            return retirement
        entry = paths[0][:2]
        existed = history.entry_existed
        if existed is None:  # recorded before 0.2: only the entry's own earlier values are known
            existed = any(history.prior(path).own for path in paths)
        # A field of the entry itself cannot be reset (its parent is the entry): null it, unless
        # the team inherits a value there, which the shared fallback then writes back.
        fields = [p for p in retirement.removals if nullable_parent(p) is None and history.prior(p).inherited is None]
        retirement.removals = [path for path in retirement.removals if path not in fields]
        retirement.values.update(dict.fromkeys(fields))
        enabled = (*entry, "enabled")
        if on_delete == "clear" or not existed:
            retirement.values[enabled] = False
            retirement.notes.append(
                f"IncidentFox cannot delete an MCP server entry: {dotted(entry)} stays, disabled, with the "
                "fields stackfox set nulled and its env/headers keys removed"
            )
        else:
            if enabled in paths and not history.prior(enabled).own:
                inherited = history.prior(enabled).inherited
                retirement.values[enabled] = True if inherited is None else inherited  # absent meant enabled
                fields.remove(enabled)
            if fields:
                retirement.notes.append(
                    f"IncidentFox cannot delete keys of an MCP server entry: {dotted(entry)} is back as it was, "
                    f"except {', '.join(path[-1] for path in fields)}, which it did not have before and are now null"
                )
        return retirement


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
        super().__init__(McpServerProvider(resource_name), resource_name, props, secret_outputs(opts, "env", "headers"))
