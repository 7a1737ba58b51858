"""``McpServer``: one entry of a team's ``mcp_servers``, keyed by its id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal

import pulumi
import pydantic

from stackfox_provider.clients.incidentfox.reset import nullable_parent
from stackfox_provider.keypaths import KeyPath, dotted
from stackfox_provider.resources._common import Bool, Invalid, StackfoxResource, Str, check_url, nonblank
from stackfox_provider.resources._incidentfox import (
    ConnectionArgs,
    History,
    IncidentFoxInputs,
    OnDelete,
    OwnedPathsProvider,
    Retirement,
)

MCP_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,128}$"
#: An environment variable name.
ENV_NAME = Annotated[str, pydantic.StringConstraints(strict=True, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")]
#: An HTTP header name (an RFC 9110 token, without '.', which would make the config path ambiguous).
HEADER_NAME = Annotated[str, pydantic.StringConstraints(strict=True, pattern=r"^[A-Za-z0-9!#$%&'*+^_`|~-]{1,256}$")]
Text = Annotated[str, nonblank(4096)]
#: How IncidentFox's agents reach the server.
McpTransport = Literal["stdio", "http", "sse"]


class McpServerInputs(IncidentFoxInputs):
    server_id: str = pydantic.Field(
        pattern=MCP_ID_PATTERN,
        description="the server's id, its key under mcp_servers (1-128 letters, digits, _ and -)",
    )
    name: Annotated[str, nonblank(200)] | None = pydantic.Field(default=None, description="a display name")
    type: McpTransport = pydantic.Field(
        default="stdio", description="the transport: stdio (command and args) or http/sse (url and headers)"
    )
    command: Text | None = pydantic.Field(default=None, description="stdio: the command that starts the server")
    args: list[Str] | None = pydantic.Field(default=None, description="stdio: the command's arguments (replaced whole)")
    url: Str | None = pydantic.Field(
        default=None, description="http/sse: the server's URL (plain http allowed, e.g. inside the cluster)"
    )
    headers: dict[HEADER_NAME, Str] | None = pydantic.Field(
        default=None, description="http/sse: request headers; always secret"
    )
    env: dict[ENV_NAME, Str] | None = pydantic.Field(
        default=None, description="environment variables of the server; always secret (prefer ${var} placeholders)"
    )
    enabled_tools: list[Text] | None = pydantic.Field(
        default=None, description='the tools agents may use (IncidentFox\'s default is all, ["*"])'
    )
    enabled: Bool = pydantic.Field(default=True, description="whether agents may use the server")

    @pydantic.field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        # Plain http stays allowed: MCP servers often run inside the cluster, next to IncidentFox's agents.
        return url if url is None else check_url(url, http="any", example="https://mcp.example.com/mcp")

    @pydantic.model_validator(mode="after")
    def _transport_fields(self) -> McpServerInputs:
        if self.type == "stdio":
            if not self.command:
                raise Invalid("is required: a stdio MCP server needs command (and optionally args)", path=("command",),
                              value=...)  # fmt: skip
            for field in ("url", "headers"):
                if getattr(self, field):
                    raise Invalid("applies to http and sse MCP servers, not stdio",
                                  "remove it, or set type='http' or 'sse'", path=(field,))  # fmt: skip
        else:
            if not self.url:
                raise Invalid(f"is required: an {self.type} MCP server needs url, an absolute http(s) URL",
                              path=("url",), value=...)  # fmt: skip
            for field in ("command", "args"):
                if getattr(self, field):
                    raise Invalid(f"applies to stdio MCP servers, not {self.type}",
                                  "remove it, or set type='stdio'", path=(field,))  # fmt: skip
        return self


class McpServerProvider(OwnedPathsProvider[McpServerInputs]):
    """Owns the fields it declares under ``mcp_servers.<server_id>``.

    It never writes null at ``mcp_servers`` or at a server's entry (the open-source service then
    fails every later write). Deleting gives back an entry that existed before exactly, its
    ``enabled`` included; a server the stack created stays as a disabled entry whose fields are
    null and whose ``env``/``headers`` keys are gone, so no secret stackfox wrote is left behind.
    """

    inputs_model = McpServerInputs
    secret_inputs = ("connection", "env", "headers")
    identity_properties = ("server_id",)
    value_properties = ("name", "type", "command", "args", "url", "headers", "env", "enabled_tools", "enabled")
    implied_values: ClassVar[Mapping[KeyPath, Any]] = {("type",): "stdio", ("enabled",): True}  # when absent
    kind = "McpServer"

    def config_path(self, inputs: McpServerInputs, input_path: KeyPath) -> KeyPath:
        return ("mcp_servers", inputs.server_id, *input_path)

    def input_path(self, inputs: McpServerInputs, config_path: KeyPath) -> KeyPath:
        return config_path[2:]

    def resource_id(self, inputs: McpServerInputs, team_id: str) -> str:
        return f"{team_id}/mcp_servers/{inputs.server_id}"

    def entry(self, inputs: McpServerInputs) -> KeyPath | None:
        return ("mcp_servers", inputs.server_id)

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


class McpServer(StackfoxResource, module="incidentfox", name="McpServer"):
    """An MCP server IncidentFox's agents can use; ``env`` and ``headers`` are always secrets."""

    provider_class = McpServerProvider

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
        type: pulumi.Input[McpTransport] | None = None,
        command: pulumi.Input[str] | None = None,
        args: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        url: pulumi.Input[str] | None = None,
        headers: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        env: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        enabled_tools: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        enabled: pulumi.Input[bool] | None = None,
        connection: pulumi.Input[ConnectionArgs] | None = None,
        on_delete: pulumi.Input[OnDelete] | None = None,
        take_over_from: pulumi.Input[str] | None = None,
        adopted: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare an MCP server of the team, the fields given of ``mcp_servers.<server_id>``.

        :param resource_name: the resource's name, unique in the stack among resources of its type
        :param server_id: the server's id, its key under mcp_servers (1-128 letters, digits, _ and -)
        :param name: a display name
        :param type: the transport: stdio (command and args) or http/sse (url and headers)
        :param command: stdio: the command that starts the server
        :param args: stdio: the command's arguments (replaced whole)
        :param url: http/sse: the server's URL (plain http allowed, e.g. inside the cluster)
        :param headers: http/sse: request headers; always secret
        :param env: environment variables of the server; always secret (prefer ${var} placeholders)
        :param enabled_tools: the tools agents may use (IncidentFox's default is all, ["*"])
        :param enabled: whether agents may use the server
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
