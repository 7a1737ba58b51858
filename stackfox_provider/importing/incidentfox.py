"""WIP (issue 14, IncidentFox half): a team's own overrides as the inputs of the resources that declare them.

Not wired into ``stackfox import`` yet: adopting them with no write needs ``create()`` to skip the write of the
team's ownership record when nothing else changes (see the issue's closing notes).
"""

from __future__ import annotations

import hashlib
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


# --- secrets: values that never go into the generated file ------------------------------------------------------

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


@dataclass(frozen=True)
class SecretRef:
    """A value read from the team that the generated code reads from secret stack config instead."""

    key: str  # the config key, without the project prefix
    where: str  # the config path it was read from, for the printed steps
    value: str = field(repr=False)


def embeds_credential(url: str) -> bool:
    """Whether a webhook URL carries a credential: ``user:password@``, a query parameter named like one, or a
    host of an incoming-webhook service whose path is the credential."""
    from urllib.parse import parse_qsl, urlsplit

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
    import re

    words = [word for part in parts for word in re.split(r"[^0-9A-Za-z]+", part) if word]
    return words[0].lower() + "".join(word[:1].upper() + word[1:].lower() for word in words[1:])


def secrets_of(declared: TeamDeclarations) -> list[SecretRef]:
    """The values the generated code must read from secret config: webhook URLs that embed a credential, and
    every MCP server's ``env`` and ``headers`` value. Keys are unique and stable across runs."""
    found = [
        SecretRef(config_key("webhook", event, "url"), f"webhooks.{event}", url)
        for event, url in sorted(declared.webhooks.items())
        if embeds_credential(url)
    ]
    for server_id, server in sorted(declared.mcp_servers.items()):
        for section in ("env", "headers"):
            for name, value in sorted((server.get(section) or {}).items()):
                found.append(
                    SecretRef(config_key("mcp", server_id, section, name), f"mcp_servers.{server_id}.{section}.{name}",
                              str(value))
                )  # fmt: skip
    keys = [secret.key for secret in found]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:  # e.g. "X-Api-Key" and "x_api_key": tell them apart by where they were read
        found = [
            SecretRef(
                f"{secret.key}{hashlib.sha256(secret.where.encode()).hexdigest()[:6]}", secret.where, secret.value
            )
            if secret.key in duplicates
            else secret
            for secret in found
        ]
    return found
