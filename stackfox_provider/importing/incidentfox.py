"""A team's own IncidentFox overrides as the inputs of the resources that declare them, secrets set apart.

Only the team's own overrides are declared, never what it inherits. A value no resource input can hold
as it is (a key of an MCP server entry that ``McpServer`` has no input for, a plain-http webhook to a
public host, a value of another type) is left out and said in a note: a resource never manages it, so
IncidentFox keeps it as it is. Paths another stack manages (the team's ``stackfox`` record) stay that
stack's, and the keys IncidentFox sets itself (``team_name``, ``org_id``, ``team_node_id``) its own.
Secrets become reads of secret stack config (:class:`ConfigSecret`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stackfox_provider.clients.incidentfox.managers import RESERVED_KEY, manager_of
from stackfox_provider.keypaths import KeyPath, dotted, get_path, leaves, nest
from stackfox_provider.resources._common import is_loopback, validate

#: Top-level keys that have resources of their own (one per entry).
WEBHOOKS, MCP_SERVERS = "webhooks", "mcp_servers"
#: Keys IncidentFox sets and refuses to change (400 ``invalid_field``): the service's, never declared.
IMMUTABLE = ("team_name", "org_id", "team_node_id")
#: A top-level key whose values IncidentFox returns in plaintext to every token holder: all of them are secrets.
INTEGRATIONS = "integrations"
#: An MCP ``env`` value that is only ``${VAR}`` placeholders names a variable, it holds no secret.
PLACEHOLDERS = re.compile(r"^(\$\{[A-Za-z_][A-Za-z0-9_]*\})+$")


@dataclass(frozen=True)
class ConfigSecret:
    """A value the generated code reads with ``config.require_secret(key)``; ``where`` is its config path."""

    key: str
    where: str
    value: Any = field(repr=False, compare=False)


@dataclass
class TeamDeclarations:
    """What a team's own overrides become: TeamConfig inputs, one Webhook per event, one McpServer per id."""

    team_config: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # event -> Webhook inputs
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)  # server id -> McpServer inputs
    notes: list[str] = field(default_factory=list)  # what was left out, and why

    def secrets(self) -> list[ConfigSecret]:
        """Every value read from secret config, in the order the module declares them."""
        inputs = [*self.mcp_servers.values(), self.team_config, *self.webhooks.values()]
        return [value for each in inputs for value in leaves(each).values() if isinstance(value, ConfigSecret)]


def team_declarations(own: Mapping[str, Any], *, ours: Callable[[str], bool]) -> TeamDeclarations:
    """Split the team's own overrides into resource inputs, with the providers' own mapping of config paths to
    input paths (``custom``, ``agents.<id>.extra``, ``output_config.extra``); ``ours(stack)``: whether a stack
    the team's record names is the one importing."""
    declared = TeamDeclarations()
    kept = _not_managed_elsewhere(own, ours, declared.notes)
    declared.team_config = _team_config(kept, declared.notes)
    for event, url in sorted((kept.get(WEBHOOKS) or {}).items()):
        if url is not None:
            inputs = _valid("Webhook", f"webhooks.{event}", _webhook(event, url), declared.notes)
            if inputs is not None:
                declared.webhooks[event] = inputs
    for server_id, server in sorted((kept.get(MCP_SERVERS) or {}).items()):
        if isinstance(server, Mapping):
            inputs = _valid("McpServer", f"mcp_servers.{server_id}", _mcp_server(server_id, server), declared.notes)
            if inputs is not None:
                declared.mcp_servers[server_id] = inputs
    _name_secrets(declared)
    return declared


def _not_managed_elsewhere(own: Mapping[str, Any], ours: Callable[[str], bool], notes: list[str]) -> dict[str, Any]:
    """``own`` without the reserved key, nulls (a null declares nothing) and paths another stack manages."""
    kept: dict[KeyPath, Any] = {}
    for path, value in leaves({k: v for k, v in own.items() if k != RESERVED_KEY}).items():
        manager = manager_of(own, path)
        if manager is not None and not ours(manager.stack):
            notes.append(f"{dotted(path)}: managed by stack {manager.stack} ({manager.resource}); left to it")
        elif value is not None:
            kept[path] = value
    return nest(kept)


def _team_config(kept: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    from stackfox_provider.resources.team_config import TeamConfigInputs, TeamConfigProvider

    provider, model = TeamConfigProvider(), TeamConfigInputs.model_construct()
    rest = {key: value for key, value in kept.items() if key not in (WEBHOOKS, MCP_SERVERS, *IMMUTABLE)}
    inputs = nest({provider.input_path(model, path): value for path, value in leaves(rest).items() if value != {}})
    valid = _valid("TeamConfig", "the team's settings", inputs, notes) or {}
    return {name: valid[name] for name in TeamConfigInputs.model_fields if name in valid}  # as the class lists them


def _webhook(event: str, url: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {"event": event, "url": url}
    if isinstance(url, str) and urlsplit(url).scheme == "http" and is_loopback(urlsplit(url).hostname or ""):
        inputs["allow_loopback_http"] = True
    return inputs


def _mcp_server(server_id: str, server: Mapping[str, Any]) -> dict[str, Any]:
    return {"server_id": server_id, **{key: value for key, value in server.items() if value is not None}}


def _valid(kind: str, where: str, inputs: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    """``inputs`` less what the resource's inputs model refuses (each said in ``notes``); None when the
    resource cannot be declared at all (what it requires is refused)."""
    from stackfox_provider.resources.catalog import RESOURCES

    model = next(resource.provider_class.inputs_model for resource in RESOURCES if resource.__name__ == kind)
    for _ in range(20):  # each round drops at least one leaf
        failures = validate(model, inputs).failures
        if not failures:
            return inputs
        flat = leaves(inputs)
        for failure in failures:
            prop, reason = str(failure.property), _without_values(failure.reason)
            dropped = [p for p in flat if dotted(p) == prop or dotted(p).startswith(f"{prop}.")]
            if not dropped or any(len(p) == 1 and p[0] in _required_inputs(kind) for p in dropped):
                notes.append(f"{where}: not declared, {kind} refuses it: {reason}")
                return None
            for path in dropped:
                flat.pop(path, None)
            notes.append(f"{where}: {prop} left out, {kind} refuses it: {reason}")
        inputs = nest(flat)
    return None


def _without_values(reason: str) -> str:
    """A check failure's reason without the value it quotes (it may be a credential) or the list of inputs."""
    reason = re.sub(r" \(got .*?\)(?=;|$)", "", reason)
    return reason.split("; known: ")[0]


def _required_inputs(kind: str) -> tuple[str, ...]:
    """The inputs without which a resource of ``kind`` cannot be declared: refused, the whole entry is left out."""
    return {"Webhook": ("event", "url"), "McpServer": ("server_id", "type", "command", "url")}.get(kind, ())


# --- secrets: values that never go into the generated file ----------------------------------------------------------

#: Words that make a webhook URL's query parameter a credential (``?token=``, ``?sig=``, ``?api_key=``...).
CREDENTIAL_QUERY_WORDS = ("token", "key", "secret", "sig", "password", "auth", "code")
#: Incoming-webhook services whose URL path is itself the credential (anyone with the URL can post).
CREDENTIAL_PATH_HOSTS = (
    "hooks.slack.com",
    "discord.com",
    "discordapp.com",
    "webhook.office.com",
    "outlook.office.com",
    "hooks.zapier.com",
    "chat.googleapis.com",
)


def embeds_credential(url: str) -> bool:
    """Whether a webhook URL carries a credential: ``user:password@``, a query parameter named like one, or a
    host of an incoming-webhook service whose path is the credential."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        return True
    if any(host == known or host.endswith(f".{known}") for known in CREDENTIAL_PATH_HOSTS):
        return True
    names = [name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return any(word in name for name in names for word in CREDENTIAL_QUERY_WORDS)


def config_key(*parts: str) -> str:
    """A Pulumi config key from path parts, in the camelCase stackfox's own keys use: ``mcpGhEnvGithubToken``."""
    words = [word for part in parts for word in re.split(r"[^0-9A-Za-z]+", part) if word]
    return words[0].lower() + "".join(word[:1].upper() + word[1:].lower() for word in words[1:])


def _name_secrets(declared: TeamDeclarations) -> None:
    """Replace each secret value with a :class:`ConfigSecret`: webhook URLs that embed a credential, every MCP
    ``env`` value but ``${VAR}`` placeholders, every ``headers`` value, everything under ``integrations``."""
    found: list[tuple[dict[str, Any], KeyPath, KeyPath, str]] = []  # (inputs, input path, config path, key)
    for event, hook in declared.webhooks.items():
        if embeds_credential(hook["url"]):
            found.append((hook, ("url",), ("webhooks", event), config_key("webhook", event, "url")))
    for server_id, server in declared.mcp_servers.items():
        for section in ("env", "headers"):
            for name, value in (server.get(section) or {}).items():
                if section == "headers" or not PLACEHOLDERS.match(str(value)):
                    at: KeyPath = ("mcp_servers", server_id, section, name)
                    found.append((server, (section, name), at, config_key("mcp", server_id, section, name)))
    for path in leaves(declared.team_config.get("custom", {}).get(INTEGRATIONS) or {}):
        at = (INTEGRATIONS, *path)
        found.append((declared.team_config, ("custom", *at), at, config_key(*at)))
    keys = [key for *_, key in found]
    for inputs, path, where, key in found:
        if keys.count(key) > 1:  # e.g. "X-Api-Key" and "x_api_key": told apart by where they were read
            key += hashlib.sha256(dotted(where).encode()).hexdigest()[:6]
        holder = get_path(inputs, path[:-1]) if len(path) > 1 else inputs
        holder[path[-1]] = ConfigSecret(key, dotted(where), holder[path[-1]])
